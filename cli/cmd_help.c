/*
 * cmd_help.c - hive help [COMMAND...] | version | completion SHELL, and the
 * hidden `hive __complete -- WORDS...` the completion scripts call.
 *
 * Completion is answered by hive itself from the command table (commands,
 * their options) and from the store (flow, project and task names), so a
 * script never lists a command or a flag and cannot drift from the binary:
 * each shell's script only passes the words typed so far and offers what
 * hive prints, one candidate per line.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "events/buf.h"
#include "events/error.h"

/* ---- help and version ----------------------------------------------------------- */

static const hive_command *lookup(const char *group, const char *name)
{
	const hive_command *const *g = cli_groups();
	for (int i = 0; g[i]; i++)
		for (const hive_command *c = g[i]; c->group; c++)
			if (strcmp(c->group, group) == 0 &&
			    (c->name == NULL ? name == NULL : name && strcmp(c->name, name) == 0))
				return c;
	return NULL;
}

static int group_known(const char *group)
{
	const hive_command *const *g = cli_groups();
	for (int i = 0; g[i]; i++)
		for (const hive_command *c = g[i]; c->group; c++)
			if (strcmp(c->group, group) == 0)
				return 1;
	return 0;
}

/* `hive help flow run` prints what `hive flow run --help` prints;
 * `hive help flow` the group's usage; `hive help` the whole usage. */
static int cmd_help(hive_cli *cli, const cli_args *a)
{
	(void)cli;
	if (a->npos == 0) {
		cli_usage_all(stdout);
		return 0;
	}
	const char *group = a->pos[0], *name = a->npos > 1 ? a->pos[1] : NULL;
	const hive_command *c = lookup(group, name);
	if (!c && name && (c = lookup(group, NULL)) == NULL)
		return hive_error_set(HIVE_ENOTFOUND, "help: no command \"%s %s\"; see hive help %s", group, name,
				      group_known(group) ? group : "");
	if (!c && group_known(group)) {
		cli_group_help(group);
		return 0;
	}
	if (!c)
		return hive_error_set(HIVE_ENOTFOUND, "help: no command \"%s\"; see hive help", group);
	hive_buf h = {0};
	cli_help(c, &h);
	cli_write(h.data, h.len);
	hive_buf_dispose(&h);
	return 0;
}

static int cmd_version(hive_cli *cli, const cli_args *a)
{
	(void)a;
	if (!cli_json_out(cli, json_pack("{s:s}", "version", HIVE_VERSION)))
		printf("hive %s\n", HIVE_VERSION);
	return 0;
}

/* ---- completion scripts ------------------------------------------------------------- */

/* Each script asks `hive __complete -- WORD...` (the words after "hive" up
 * to the one being completed) and offers its lines; no line means "a file
 * name" (--file SPEC.json, hive backup DIR). */
static const char bash_script[] =
	"# bash completion for hive (hive completion bash; installed by make install)\n"
	"_hive() {\n"
	"\tlocal cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\\n'\n"
	"\tCOMPREPLY=($(\"${COMP_WORDS[0]}\" __complete -- \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null))\n"
	"\tif [ ${#COMPREPLY[@]} -eq 0 ]; then\n"
	"\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	"\tfi\n"
	"}\n"
	"complete -F _hive hive\n";

static const char zsh_script[] =
	"#compdef hive\n"
	"# zsh completion for hive (hive completion zsh; installed by make install as _hive)\n"
	"_hive() {\n"
	"\tlocal -a c\n"
	"\tc=(\"${(@f)$(${words[1]} __complete -- \"${(@)words[2,CURRENT]}\" 2>/dev/null)}\")\n"
	"\tif (( ${#c} )) && [[ -n ${c[1]} ]]; then\n"
	"\t\tcompadd -Q -a c\n"
	"\telse\n"
	"\t\t_files\n"
	"\tfi\n"
	"}\n"
	"if [[ ${funcstack[1]} == _hive ]]; then\n"
	"\t_hive \"$@\"\n"
	"else\n"
	"\tcompdef _hive hive\n"
	"fi\n";

static const char fish_script[] =
	"# fish completion for hive (hive completion fish; installed by make install)\n"
	"function __hive_complete\n"
	"\tset -l words (commandline -opc)\n"
	"\t$words[1] __complete -- $words[2..-1] (commandline -ct) 2>/dev/null\n"
	"end\n"
	"complete -c hive -f -a '(__hive_complete)'\n"
	"complete -c hive -l file -r -F\n";

static int cmd_completion(hive_cli *cli, const cli_args *a)
{
	(void)cli;
	const char *sh = a->pos[0], *text = NULL;
	if (strcmp(sh, "bash") == 0)
		text = bash_script;
	else if (strcmp(sh, "zsh") == 0)
		text = zsh_script;
	else if (strcmp(sh, "fish") == 0)
		text = fish_script;
	else
		return hive_error_set(HIVE_EINVALID, "completion: no script for shell \"%s\"; use bash, zsh or fish", sh);
	cli_write(text, strlen(text));
	return 0;
}

/* ---- hive __complete -- WORD... ------------------------------------------------------------ */

static const char *const global_flags[] = {"--dir", "--json", "--help", "--version", NULL};

static void offer(const char *cand, const char *cur)
{
	if (cand && strncmp(cand, cur, strlen(cur)) == 0)
		printf("%s\n", cand);
}

/* Names of the store's flows, projects or tasks (FLOW/KEY): a store that
 * cannot be opened offers nothing (completion never creates one). */
static void offer_names(hive_cli *cli, const char *what, const char *cur)
{
	int rc;
	hive_store *s = cli_store(cli, &rc);
	json_t *list = NULL, *flows = NULL, *d;
	size_t i;
	if (!s)
		return;
	if (strcmp(what, "PROJECT") == 0 && hive_project_list(s, &list) == 0) {
		json_array_foreach(list, i, d) offer(cli_jstr(d, "name"), cur);
	} else if (strcmp(what, "FLOW") == 0 && hive_flow_list(s, NULL, &list) == 0) {
		json_array_foreach(list, i, d) offer(cli_jstr(d, "name"), cur);
	} else if (strcmp(what, "TASK") == 0 && hive_flow_list(s, NULL, &flows) == 0 &&
		   hive_task_list(s, NULL, &list) == 0) {
		json_array_foreach(list, i, d) {
			size_t j;
			json_t *f;
			json_array_foreach(flows, j, f) if (strcmp(cli_jstr(f, "id"), cli_jstr(d, "flow_id")) == 0) {
				hive_buf r = {0};
				hive_buf_printf(&r, "%s/%s", cli_jstr(f, "name"), cli_jstr(d, "key"));
				offer(r.data, cur);
				hive_buf_dispose(&r);
			}
		}
	}
	json_decref(list);
	json_decref(flows);
}

/* What an option's or positional's value is: "FLOW", "PROJECT", "TASK"
 * or NULL (anything; the shell offers files). */
static const char *value_kind(const char *name)
{
	if (!name)
		return NULL;
	if (strcmp(name, "FLOW") == 0 || strcmp(name, "flow") == 0)
		return "FLOW";
	if (strcmp(name, "PROJECT") == 0 || strcmp(name, "project") == 0)
		return "PROJECT";
	if (strcmp(name, "TASK") == 0 || strcmp(name, "task") == 0)
		return "TASK";
	return NULL;
}

static const cli_opt *opt_named(const hive_command *c, const char *word)
{
	if (strncmp(word, "--", 2) != 0)
		return NULL;
	for (int i = 0; i < CLI_MAX_OPTS && c->opts[i].name; i++)
		if (strcmp(c->opts[i].name, word + 2) == 0)
			return &c->opts[i];
	return NULL;
}

/* The arguments of command c: words[0..n) were typed after its name, cur
 * is being completed. */
static void complete_args(hive_cli *cli, const hive_command *c, char **words, int n, const char *cur)
{
	int npos = 0;
	for (int i = 0; i < n; i++) {
		const cli_opt *o = opt_named(c, words[i]);
		if (o && o->kind != CLI_FLAG) {
			if (i == n - 1) { /* cur is this option's value */
				offer_names(cli, value_kind(o->name), cur);
				return;
			}
			i++;
		} else if (strcmp(words[i], "--dir") == 0) {
			i++;
		} else if (words[i][0] != '-') {
			npos++;
		}
	}
	if (cur[0] == '-') {
		for (int i = 0; i < CLI_MAX_OPTS && c->opts[i].name; i++) {
			hive_buf f = {0};
			hive_buf_printf(&f, "--%s", c->opts[i].name);
			offer(f.data, cur);
			hive_buf_dispose(&f);
		}
		for (int i = 0; global_flags[i]; i++)
			offer(global_flags[i], cur);
	} else if (npos < CLI_MAX_ARGS && c->args[npos]) {
		offer_names(cli, value_kind(c->args[npos]), cur);
	}
}

/* The command words: groups (and one-word commands) first, then a group's
 * command names. */
static void complete_words(int nth, const char *group, const char *cur)
{
	const hive_command *const *g = cli_groups();
	const char *last = NULL;
	for (int i = 0; g[i]; i++)
		for (const hive_command *c = g[i]; c->group; c++) {
			if (nth == 0 && (!last || strcmp(last, c->group) != 0) && c->group[0] != '_')
				offer(c->group, cur);
			else if (nth == 1 && c->name && strcmp(c->group, group) == 0)
				offer(c->name, cur);
			last = c->group;
		}
}

/* `hive help flow ru<TAB>` completes command words like `hive flow ru`. */
static int complete_help(char **w, int n, const char *cur)
{
	if (n >= 1 && strcmp(w[0], "help") == 0 && n <= 2) {
		complete_words(n - 1, n == 2 ? w[1] : NULL, cur);
		return 1;
	}
	return 0;
}

int cli_complete(hive_cli *cli, int argc, char **argv)
{
	/* argv: the words after "hive", the last one being completed; --dir
	 * and the global flags may stand anywhere (main parsed none of them,
	 * they came after "--"), so take --dir here for the names. */
	if (argc > 0 && strcmp(argv[0], "--") == 0) {
		argc--;
		argv++;
	}
	if (argc < 1)
		return 0;
	const char *cur = argv[argc - 1];
	char *w[64];
	int n = 0;
	for (int i = 0; i < argc - 1 && n < 64; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc - 1) {
			cli->dir = argv[++i]; /* borrowed from argv; main frees only its own copy */
			continue;
		}
		if (strncmp(argv[i], "--dir=", 6) == 0) {
			cli->dir = argv[i] + 6;
			continue;
		}
		if (strcmp(argv[i], "--json") == 0 || strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			continue;
		w[n++] = argv[i];
	}
	if (n > 0 && strcmp(w[n - 1], "--dir") == 0)
		return 0; /* a directory: the shell's own file completion */
	if (n == 0 && cur[0] == '-') {
		for (int i = 0; global_flags[i]; i++)
			offer(global_flags[i], cur);
		return 0;
	}
	if (n == 0) {
		complete_words(0, NULL, cur);
		return 0;
	}
	if (complete_help(w, n, cur))
		return 0;
	const hive_command *c = n >= 2 ? lookup(w[0], w[1]) : NULL;
	if (c) {
		complete_args(cli, c, w + 2, n - 2, cur);
	} else if ((c = lookup(w[0], NULL)) != NULL) {
		complete_args(cli, c, w + 1, n - 1, cur);
	} else if (n == 1) {
		complete_words(1, w[0], cur);
	}
	return 0;
}

const hive_command hive_cmds_help[] = {
	{
		.group = "help",
		.args = {"GROUP", "COMMAND"},
		.help = "Help for a command (what hive GROUP COMMAND --help prints), a group's commands, or every\n"
			"command.  Installed documentation: man hive, man hive-GROUP (hive-flow, hive-task, ...), and\n"
			"the files of docs/ (installed under share/doc/hive).\n",
		.exit = "0 ok, 3 no such command.",
		.run = cmd_help,
	},
	{
		.group = "version",
		.help = "Print hive's version (also hive --version, -V, -v).\n",
		.exit = "0.",
		.run = cmd_version,
	},
	{
		.group = "completion",
		.args = {"SHELL"}, .min_args = 1,
		.help = "Print the completion script for bash, zsh or fish.  It completes commands, options and flow,\n"
			"project and task names by asking hive itself.  Load it with\n"
			"  source <(hive completion bash)       (bash; or install it: make install)\n"
			"  source <(hive completion zsh)        (zsh, after compinit)\n"
			"  hive completion fish | source        (fish)\n",
		.exit = "0 ok, 2 unknown shell.",
		.run = cmd_completion,
	},
	{0},
};
