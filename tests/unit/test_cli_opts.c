/*
 * test_cli_opts.c - the command line's option parser and the usage/help
 * generated from a command table entry (cli/opts.c).
 *
 * What it protects: --flag=value and --flag value, repeatable lists,
 * integers, flags anywhere among positionals, "--" ending the flags, and
 * the one-line errors (their words are part of the interface): missing
 * value, unknown flag, a value given to a flag, a value given twice, a bad
 * integer, too many or too few positionals, a required option missing.
 */
#include "tests/unit/testutil.h"

#include "cli/cli.h"
#include "events/error.h"

static int run_nothing(hive_cli *cli, const cli_args *a)
{
	(void)cli;
	(void)a;
	return 0;
}

static const hive_command cmd = {
	.group = "thing", .name = "make",
	.args = {"NAME", "OTHER"}, .min_args = 1,
	.opts = {
		{.name = "repo", .kind = CLI_STR, .arg = "PATH", .help = "where", .required = 1},
		{.name = "label", .kind = CLI_STR, .arg = "TEXT", .help = "a label"},
		{.name = "tag", .kind = CLI_LIST, .arg = "T", .help = "a tag (repeatable)"},
		{.name = "count", .kind = CLI_U64, .arg = "N", .help = "how many"},
		{.name = "force", .kind = CLI_FLAG, .arg = NULL, .help = "do it anyway"},
	},
	.help = "Make a thing.\n",
	.exit = "0 ok.",
	.run = run_nothing,
};

/* Parse the words (NULL-terminated) into *a; returns the code. */
static int parse(cli_args *a, const char **words)
{
	char *argv[32];
	int argc = 0;
	while (words[argc]) {
		argv[argc] = (char *)words[argc];
		argc++;
	}
	return cli_parse(&cmd, argc, argv, a);
}

/* The parse must fail with HIVE_EINVALID and a message containing want. */
static void refused(const char **words, const char *want)
{
	cli_args a;
	assert_int_equal(parse(&a, words), HIVE_EINVALID);
	if (!strstr(hive_error_last(), want))
		fail_msg("message \"%s\" lacks \"%s\"", hive_error_last(), want);
	cli_args_dispose(&a);
}

static void test_values_both_spellings(void **state)
{
	(void)state;
	cli_args a;
	const char *w[] = {"--repo=/r", "n", "--label", "x y", "--tag", "a", "--tag=b", "--count=7", "--force",
			   "o", NULL};
	assert_int_equal(parse(&a, w), 0);
	assert_string_equal(cli_str(&a, "repo"), "/r");
	assert_string_equal(cli_str(&a, "label"), "x y");
	const cli_list *tags = cli_list_of(&a, "tag");
	assert_int_equal(tags->n, 2);
	assert_string_equal(tags->v[0], "a");
	assert_string_equal(tags->v[1], "b");
	assert_int_equal(cli_u64(&a, "count", 1), 7);
	assert_true(cli_flag(&a, "force"));
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "n");
	assert_string_equal(a.pos[1], "o");
	cli_args_dispose(&a);
}

static void test_defaults_when_absent(void **state)
{
	(void)state;
	cli_args a;
	const char *w[] = {"n", "--repo", "/r", NULL};
	assert_int_equal(parse(&a, w), 0);
	assert_null(cli_str(&a, "label"));
	assert_int_equal(cli_list_of(&a, "tag")->n, 0);
	assert_int_equal(cli_u64(&a, "count", 42), 42);
	assert_false(cli_flag(&a, "force"));
	assert_int_equal(cli_seen(&a, "count"), 0);
	assert_int_equal(a.npos, 1);
	cli_args_dispose(&a);
}

/* After "--" every word is a positional, even one that looks like a flag. */
static void test_dashdash_ends_flags(void **state)
{
	(void)state;
	cli_args a;
	const char *w[] = {"--repo", "/r", "--", "--force", "-x", NULL};
	assert_int_equal(parse(&a, w), 0);
	assert_false(cli_flag(&a, "force"));
	assert_int_equal(a.npos, 2);
	assert_string_equal(a.pos[0], "--force");
	assert_string_equal(a.pos[1], "-x");
	cli_args_dispose(&a);
	/* a value that starts with dashes is taken as the value */
	const char *v[] = {"n", "--repo", "/r", "--label", "--force", NULL};
	assert_int_equal(parse(&a, v), 0);
	assert_string_equal(cli_str(&a, "label"), "--force");
	assert_false(cli_flag(&a, "force"));
	cli_args_dispose(&a);
}

static void test_errors(void **state)
{
	(void)state;
	refused((const char *[]){"n", "--repo", NULL}, "thing make: --repo needs a value; see hive thing make --help");
	refused((const char *[]){"n", "--repo", "/r", "--bogus", NULL},
		"thing make: unknown flag --bogus; see hive thing make --help");
	refused((const char *[]){"n", "--repo", "/r", "--bogus=1", NULL}, "unknown flag --bogus;");
	refused((const char *[]){"n", "--repo", "/r", "-f", NULL}, "thing make: unknown flag -f; see hive thing make --help");
	refused((const char *[]){"n", "--repo", "/r", "--force=yes", NULL}, "thing make: --force takes no value");
	refused((const char *[]){"n", "--repo", "/r", "--label", "a", "--label=b", NULL},
		"thing make: --label given twice; give it once");
	refused((const char *[]){"n", "--repo", "/r", "--count", "-1", NULL},
		"thing make: --count needs a non-negative integer, got \"-1\"");
	refused((const char *[]){"n", "--repo", "/r", "--count=12x", NULL}, "got \"12x\"");
	refused((const char *[]){"n", "--repo", "/r", "--count=", NULL}, "got \"\"");
}

static void test_arity(void **state)
{
	(void)state;
	refused((const char *[]){"--repo", "/r", NULL}, "thing make: missing argument; see hive thing make --help");
	refused((const char *[]){"a", "b", "c", "--repo", "/r", NULL},
		"thing make: unexpected argument \"c\"; see hive thing make --help");
	refused((const char *[]){"a", NULL}, "thing make: --repo PATH is required");
	/* a parse error is reported before a missing required option */
	refused((const char *[]){"a", "--bogus", NULL}, "unknown flag --bogus");
}

static void test_usage_and_help(void **state)
{
	(void)state;
	hive_buf b = {0};
	cli_usage(&cmd, &b);
	assert_string_equal(b.data, "hive thing make NAME [OTHER] --repo PATH [--label TEXT] [--tag T]... [--count N] [--force]");
	hive_buf_dispose(&b);
	cli_help(&cmd, &b);
	assert_non_null(strstr(b.data, "usage: hive thing make NAME"));
	assert_non_null(strstr(b.data, "Make a thing.\n"));
	assert_non_null(strstr(b.data, "  --label TEXT  a label\n"));
	assert_non_null(strstr(b.data, "  --force       do it anyway\n"));
	assert_non_null(strstr(b.data, "Exit: 0 ok.\n"));
	hive_buf_dispose(&b);
	hive_command alt = cmd;
	alt.usage = "--repo PATH | hive thing make OTHER";
	cli_usage(&alt, &b);
	assert_string_equal(b.data, "hive thing make --repo PATH | hive thing make OTHER");
	hive_buf_dispose(&b);
}

/* Parse with the global flags taken where a flag stands. */
static int parse_g(cli_args *a, cli_globals *g, const char **words)
{
	char *argv[32];
	int argc = 0;
	while (words[argc]) {
		argv[argc] = (char *)words[argc];
		argc++;
	}
	memset(g, 0, sizeof *g);
	return cli_parse_globals(&cmd, argc, argv, a, g);
}

/* Global flags are taken only where a flag stands: as another flag's
 * value, or after "--", they are that value or a positional. */
static void test_globals_only_where_flags_stand(void **state)
{
	(void)state;
	cli_args a;
	cli_globals g;
	const char *w1[] = {"--repo", "/r", "--label", "--json", "n", "--dir=/d", "--color", "never", NULL};
	assert_int_equal(parse_g(&a, &g, w1), 0);
	assert_string_equal(cli_str(&a, "label"), "--json");
	assert_int_equal(g.json, 0);
	assert_string_equal(g.dir, "/d");
	assert_string_equal(g.color, "never");
	cli_args_dispose(&a);
	const char *w2[] = {"--json", "--repo=/r", "--", "--help", "--dir", "x", NULL};
	assert_int_equal(parse_g(&a, &g, w2), HIVE_EINVALID); /* two positionals, then one too many */
	cli_args_dispose(&a);
	const char *w3[] = {"--json", "--repo=/r", "--", "--help", NULL};
	assert_int_equal(parse_g(&a, &g, w3), 0);
	assert_int_equal(g.json, 1);
	assert_int_equal(g.help, 0);
	assert_string_equal(a.pos[0], "--help");
	cli_args_dispose(&a);
	/* help wins over what is missing or wrong before it */
	const char *w4[] = {"--frobnicate", "-h", NULL};
	assert_int_equal(parse_g(&a, &g, w4), 0);
	assert_int_equal(g.help, 1);
	cli_args_dispose(&a);
	const char *w5[] = {"n", "--repo=/r", "--color=sometimes", NULL};
	assert_int_equal(parse_g(&a, &g, w5), HIVE_EINVALID);
	assert_non_null(strstr(hive_error_last(), "--color sometimes: use auto, always or never"));
	cli_args_dispose(&a);
	const char *w6[] = {"n", "--repo=/r", "--dir=", NULL};
	assert_int_equal(parse_g(&a, &g, w6), HIVE_EINVALID);
	cli_args_dispose(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_both_spellings),
		cmocka_unit_test(test_defaults_when_absent),
		cmocka_unit_test(test_dashdash_ends_flags),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_arity),
		cmocka_unit_test(test_usage_and_help),
		cmocka_unit_test(test_globals_only_where_flags_stand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
