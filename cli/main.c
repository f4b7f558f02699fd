/*
 * main.c - hive's entry point: global flags, the command table, help,
 * and turning an error code into its one-line message and exit code.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "events/buf.h"
#include "events/error.h"

/* Every command group's table; a new group is one line here. */
static const hive_command *const groups[] = {
	hive_cmds_project,
	hive_cmds_task,
	hive_cmds_flow,
	hive_cmds_attempt,
	hive_cmds_events,
	hive_cmds_demo,
	hive_cmds_backup,
	hive_cmds_gc,
	hive_cmds_serve,
	hive_cmds_help,
	NULL,
};

const hive_command *const *cli_groups(void)
{
	return groups;
}

hive_store *cli_store(hive_cli *cli, int *rc)
{
	if (!cli->store) {
		if (!cli->dir) {
			*rc = hive_error_set(HIVE_EINVALID, "%s", cli->dir_error);
			return NULL;
		}
		hive_store_opts o;
		hive_upgrade_opts_init(&o); /* upgrades a store of an older hive */
		o.trap_damage = 1;          /* a damaged data.mdb: one line, exit 5 */
		const char *d = getenv("HIVE_DURABILITY");
		if (d && *d && hive_store_durability_parse(d, &o.durability) != 0) {
			*rc = hive_error_set(HIVE_EINVALID, "HIVE_DURABILITY=%s is not a mode; use durable or relaxed", d);
			return NULL;
		}
		/* Only the commands that add the first things to a store may
		 * create one: a read-only or rejected command, or a typo in
		 * --dir, must not leave an empty store behind. */
		o.must_exist = !cli->may_create;
		if ((*rc = hive_store_open(cli->dir, &o, &cli->store)))
			return NULL;
	}
	*rc = 0;
	return cli->store;
}

/* The data dir of SPEC section 9, or NULL with *why (new string) when the
 * environment names none usable: a relative XDG_DATA_HOME (the XDG spec
 * says to ignore it) or no HOME would put the store under whatever the
 * current directory happens to be. */
static char *default_dir(char **why)
{
	const char *d = getenv("HIVE_DIR"), *home = getenv("HOME");
	hive_buf b = {0};
	*why = NULL;
	if (d && *d) {
		hive_buf_puts(&b, d);
	} else if ((d = getenv("XDG_DATA_HOME")) && *d) {
		if (d[0] != '/') {
			hive_buf_printf(&b, "XDG_DATA_HOME=%s is not an absolute path, so hive will not put its data "
					"there; make it absolute, or set HIVE_DIR or pass --dir", d);
			*why = hive_buf_detach(&b);
			return NULL;
		}
		hive_buf_printf(&b, "%s/hive", d);
	} else if (home && home[0] == '/') {
		hive_buf_printf(&b, "%s/.local/share/hive", home);
	} else {
		hive_buf_puts(&b, "no data dir: HOME is not set (or not absolute) and neither HIVE_DIR nor "
			      "XDG_DATA_HOME is; set HIVE_DIR or pass --dir");
		*why = hive_buf_detach(&b);
		return NULL;
	}
	return hive_buf_detach(&b);
}

void cli_usage_all(FILE *out)
{
	fprintf(out, "hive %s - an event-sourced task orchestrator\n\nusage:\n", HIVE_VERSION);
	for (int g = 0; groups[g]; g++)
		for (const hive_command *c = groups[g]; c->group; c++) {
			hive_buf u = {0};
			cli_usage(c, &u);
			fprintf(out, "  %s\n", u.data);
			hive_buf_dispose(&u);
		}
	fputs("\nglobal flags (where a flag may stand; \"--\" ends flags):\n"
	      "  --dir PATH   data directory (else $HIVE_DIR, $XDG_DATA_HOME/hive, ~/.local/share/hive)\n"
	      "  --json       machine output: one JSON document with \"schema\": 2 (events: NDJSON as stored)\n"
	      "  --color WHEN auto (default), always or never; auto honours NO_COLOR, CLICOLOR_FORCE, TERM=dumb\n"
	      "  --help       help for any command\n"
	      "  --version    print the version (also -V, -v, hive version)\n"
	      "\nexit codes: 0 ok, 1 work failed, 2 usage/invalid input, 3 not found/ambiguous,\n"
	      "            4 conflict/illegal state, 5 storage/system error\n", out);
}

void cli_group_help(const char *group)
{
	printf("usage:\n");
	for (int g = 0; groups[g]; g++)
		for (const hive_command *c = groups[g]; c->group; c++)
			if (strcmp(c->group, group) == 0) {
				hive_buf u = {0};
				cli_usage(c, &u);
				printf("  %s\n", u.data);
				hive_buf_dispose(&u);
			}
	printf("\nsee hive %s COMMAND --help\n", group);
}

static int group_exists(const char *group)
{
	for (int g = 0; groups[g]; g++)
		for (const hive_command *c = groups[g]; c->group; c++)
			if (strcmp(c->group, group) == 0)
				return 1;
	return 0;
}

/* "GROUP needs a command: a, b, c; see ...", one line, so a bare group
 * says what it can do without a second run with --help. */
static int group_needs_command(const char *group)
{
	hive_buf m = {0};
	const char *sep = "";
	for (int g = 0; groups[g]; g++)
		for (const hive_command *c = groups[g]; c->group; c++)
			if (strcmp(c->group, group) == 0 && c->name) {
				hive_buf_printf(&m, "%s%s", sep, c->name);
				sep = ", ";
			}
	int rc = hive_error_set(HIVE_EINVALID, "%s needs a command: %s; see hive %s --help", group,
	                        m.data ? m.data : "", group);
	hive_buf_dispose(&m);
	return rc;
}

static const hive_command *find_command(const char *group, const char *name)
{
	for (int g = 0; groups[g]; g++)
		for (const hive_command *c = groups[g]; c->group; c++)
			if (strcmp(c->group, group) == 0 &&
			    (c->name == NULL ? name == NULL : name && strcmp(c->name, name) == 0))
				return c;
	return NULL;
}

/* The global flags before the command's words (strict: only they may
 * stand there) or between them (not strict: the first other flag is the
 * command's, e.g. hive gc --branches). */
static int leading_globals(int argc, char **argv, int *i, cli_globals *g, int strict)
{
	while (*i < argc && argv[*i][0] == '-' && strcmp(argv[*i], "--") != 0) {
		int rc = cli_global_take(argc, argv, i, g);
		if (rc < 0)
			return rc;
		if (rc == 0 && !strict)
			return 0;
		if (rc == 0)
			return hive_error_set(HIVE_EINVALID, "unknown flag %s; see hive --help", argv[*i]);
		(*i)++;
	}
	return 0;
}

/* The command line's words for a hint of the library (events/error.h):
 * the library never names flags. */
static void put_hint(hive_buf *b)
{
	const char *arg = hive_error_last_hint_arg();
	switch (hive_error_last_hint()) {
	case HIVE_HINT_OTHER_DIR: hive_buf_puts(b, "; pass --dir to use another"); break;
	case HIVE_HINT_RESET_COUNT: hive_buf_puts(b, "; pass --reset-count"); break;
	case HIVE_HINT_ADD_TASK: hive_buf_printf(b, "; add --task %s", arg); break;
	case HIVE_HINT_DISTINCT_KEYS: hive_buf_puts(b, "; give them distinct --key"); break;
	case HIVE_HINT_GIVE_TASK: hive_buf_puts(b, "; give at least one --task"); break;
	case HIVE_HINT_NEW_FLOW: hive_buf_printf(b, ": hive flow create PROJECT --task %s", arg); break;
	case HIVE_HINT_NO_STORE:
		hive_buf_puts(b, "; check --dir or HIVE_DIR (a typo?), or start one with hive project create or "
				 "hive flow create");
		break;
	default: break;
	}
}

static int report(int rc, int json)
{
	if (rc == 0)
		return 0;
	hive_buf msg = {0};
	hive_buf_puts(&msg, hive_error_last());
	put_hint(&msg);
	if (json) {
		json_t *e = hive_doc_error(rc, hive_buf_str(&msg));
		char *s = json_dumps(e, JSON_COMPACT);
		fprintf(stderr, "%s\n", s);
		free(s);
		json_decref(e);
	} else {
		fprintf(stderr, "hive: %s\n", hive_buf_str(&msg));
	}
	hive_buf_dispose(&msg);
	return hive_error_exit_code(rc);
}

static int print_help(const hive_command *cmd)
{
	hive_buf h = {0};
	cli_help(cmd, &h);
	fputs(h.data, stdout);
	hive_buf_dispose(&h);
	return 0;
}

/* `hive __commands` (not in the usage): every command's words, one per
 * line, for tests/tools/gen_cli_doc.sh. */
static int list_commands(void)
{
	for (int g = 0; groups[g]; g++)
		for (const hive_command *c = groups[g]; c->group; c++) {
			hive_buf w = {0};
			cli_command_words(c, &w);
			printf("%s\n", w.data);
			hive_buf_dispose(&w);
		}
	return 0;
}

/* The data dir, colour and --json the parsed globals chose; *dir is the
 * data dir (new string: a command may point cli->dir elsewhere meanwhile). */
static void cli_setup(hive_cli *cli, const cli_globals *g, char **dir)
{
	const char *env_dir = getenv("HIVE_DIR");
	*dir = g->dir ? hive_xstrdup(g->dir) : default_dir(&cli->dir_error);
	cli->dir = *dir;
	/* HIVE_DIR= (set but empty) is unset, as everywhere */
	cli->dir_is_default = !g->dir && !(env_dir && *env_dir);
	cli->json = g->json;
	cli->color = cli_color_wanted(g->color, g->json);
}

static int print_version(const cli_globals *g)
{
	if (g->json)
		cli_print_json(json_pack("{s:i,s:s}", "schema", 2, "version", HIVE_VERSION));
	else
		printf("hive %s\n", HIVE_VERSION);
	return 0;
}

/* The command named by the words at argv[*i] (globals may stand between
 * them), advancing *i past them; NULL with the error set, or with *done
 * when a help or version was printed instead. */
static const hive_command *find_words(int argc, char **argv, int *i, cli_globals *g, int *done, int *rc)
{
	if ((*rc = leading_globals(argc, argv, i, g, 1)))
		return NULL;
	if (g->version) {
		*done = 1;
		*rc = print_version(g);
		return NULL;
	}
	if (*i >= argc || strcmp(argv[*i], "--") == 0) {
		*done = g->help;
		if (g->help)
			cli_usage_all(stdout);
		else
			*rc = hive_error_set(HIVE_EINVALID, "no command given; see hive --help");
		return NULL;
	}
	const char *group = argv[(*i)++];
	if (strcmp(group, "__commands") == 0) {
		*done = 1;
		*rc = list_commands();
		return NULL;
	}
	if ((*rc = leading_globals(argc, argv, i, g, 0)))
		return NULL;
	const char *name = *i < argc ? argv[*i] : NULL;
	const hive_command *cmd = find_command(group, name);
	if (cmd) {
		(*i)++;
		return cmd;
	}
	if ((cmd = find_command(group, NULL))) /* single-word commands: hive demo */
		return cmd;
	if (!group_exists(group)) {
		*rc = hive_error_set(HIVE_EINVALID, "unknown command \"%s\"; see hive --help", group);
	} else if (g->help && !name) {
		*done = 1;
		cli_group_help(group);
	} else if (!name) {
		*rc = group_needs_command(group);
	} else {
		*rc = hive_error_set(HIVE_EINVALID, "unknown command \"%s %s\"; see hive %s --help", group, name, group);
	}
	return NULL;
}

static int dispatch(hive_cli *cli, cli_globals *g, int argc, char **argv, char **dir)
{
	int i = 1, done = 0, rc = 0;
	if (argc > 1 && strcmp(argv[1], "__complete") == 0) { /* the completion scripts: hive __complete -- WORD... */
		cli_setup(cli, g, dir);
		return cli_complete(cli, argc - 2, argv + 2);
	}
	const hive_command *cmd = find_words(argc, argv, &i, g, &done, &rc);
	if (!cmd)
		return rc;
	cli_args a;
	rc = cli_parse_globals(cmd, argc - i, argv + i, &a, g);
	if (!rc && g->help)
		rc = print_help(cmd);
	else if (!rc && g->version)
		rc = print_version(g);
	else if (!rc) {
		cli_setup(cli, g, dir);
		cli->may_create = cmd->creates_store;
		rc = cmd->run(cli, &a);
	}
	cli_args_dispose(&a);
	return rc;
}

int main(int argc, char **argv)
{
	cli_globals g = {0};
	hive_cli cli = {0};
	char *dir = NULL;
	signal(SIGPIPE, SIG_IGN);
	int rc = dispatch(&cli, &g, argc, argv, &dir);
	fflush(stdout); /* a failure here is a closed pipe: a quiet end, not an error */
	hive_store_close(cli.store);
	free(dir);
	free(cli.dir_error);
	rc = report(rc, g.json);
	return cli.exit_status ? cli.exit_status : rc;
}
