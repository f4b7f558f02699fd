/*
 * opts.c - the command table read two ways: argv parsed against an entry
 * (cli_parse), and the entry's usage line and --help text generated from
 * it (see cli.h).
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "events/buf.h"
#include "events/error.h"

static int n_opts(const hive_command *cmd)
{
	int n = 0;
	while (n < CLI_MAX_OPTS && cmd->opts[n].name)
		n++;
	return n;
}

static int n_args(const hive_command *cmd)
{
	int n = 0;
	while (n < CLI_MAX_ARGS && cmd->args[n])
		n++;
	return n;
}

void cli_command_words(const hive_command *cmd, hive_buf *out)
{
	hive_buf_puts(out, cmd->group);
	if (cmd->name)
		hive_buf_printf(out, " %s", cmd->name);
}

/* ---- parsing ------------------------------------------------------------------ */

typedef struct {
	const char *cmd; /* "flow create", for messages */
	const hive_command *def;
	cli_args *a;
	cli_globals *g;  /* NULL: global flags are not taken here */
} parser;

static int find_opt(const hive_command *cmd, const char *name, size_t len)
{
	for (int i = 0; i < n_opts(cmd); i++)
		if (strlen(cmd->opts[i].name) == len && strncmp(cmd->opts[i].name, name, len) == 0)
			return i;
	return -1;
}

static int parse_u64(const parser *p, const char *flag, const char *s, unsigned long long *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-')
		goto bad;
	*out = strtoull(s, &end, 10);
	if (errno || *end)
		goto bad;
	return 0;
bad:
	return hive_error_set(HIVE_EINVALID, "%s: --%s needs a non-negative integer, got \"%s\"", p->cmd, flag, s);
}

/* 1 when s is UTF-8 (jansson's own check: what it refuses could never be
 * recorded, and would otherwise fail later with an unclear error). */
static int is_utf8(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

/* Every value but a file to read becomes part of an event or a lookup of
 * recorded text, so it must be UTF-8; said once here, naming the input. */
static int check_utf8(const parser *p, const char *dashes, const char *what, const char *val)
{
	if (is_utf8(val))
		return 0;
	return hive_error_set(HIVE_EINVALID, "%s: %s%s must be UTF-8 text", p->cmd, dashes, what);
}

static int store_value(const parser *p, int i, const char *val)
{
	const cli_opt *o = &p->def->opts[i];
	if (!(o->arg && strcmp(o->arg, "SPEC.json") == 0) && check_utf8(p, "--", o->name, val))
		return HIVE_EINVALID;
	switch (o->kind) {
	case CLI_STR:
		if (p->a->v[i].seen > 1)
			return hive_error_set(HIVE_EINVALID, "%s: --%s given twice; give it once", p->cmd, o->name);
		p->a->v[i].str = val;
		return 0;
	case CLI_LIST: {
		cli_list *l = &p->a->v[i].list;
		l->v = hive_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
		l->v[l->n++] = val;
		return 0;
	}
	case CLI_U64:
		return parse_u64(p, o->name, val, &p->a->v[i].u64);
	default:
		return 0;
	}
}

static int parse_flag(const parser *p, char *arg, int argc, char **argv, int *i)
{
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	int k = find_opt(p->def, name, len);
	if (k < 0)
		return hive_error_set(HIVE_EINVALID, "%s: unknown flag --%.*s; see hive %s --help",
				      p->cmd, (int)len, name, p->cmd);
	const cli_opt *o = &p->def->opts[k];
	p->a->v[k].seen++;
	if (o->kind == CLI_FLAG)
		return eq ? hive_error_set(HIVE_EINVALID, "%s: --%s takes no value", p->cmd, o->name) : 0;
	const char *val = eq ? eq + 1 : NULL;
	if (!val) {
		if (*i + 1 >= argc)
			return hive_error_set(HIVE_EINVALID, "%s: --%s needs a value; see hive %s --help",
					      p->cmd, o->name, p->cmd);
		val = argv[++*i];
	}
	return store_value(p, k, val);
}

/* "--name" or "--name=..." names one of the command's own options. */
static int own_flag(const parser *p, const char *w)
{
	const char *name = w + 2, *eq = strchr(name, '=');
	return find_opt(p->def, name, eq ? (size_t)(eq - name) : strlen(name)) >= 0;
}

/* A --help or -h standing after word i: asking for help wins over a
 * mistake before it (hive events list --bogus --help). */
static int help_later(const parser *p, int argc, char **argv, int i)
{
	if (!p->g)
		return 0;
	for (int k = i + 1; k < argc && strcmp(argv[k], "--") != 0; k++)
		if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0)
			return p->g->help = 1;
	return 0;
}

/* One word (and a flag's value) at argv[*i]: 0, 1 (help wanted) or an error. */
static int parse_word(const parser *p, int argc, char **argv, int *i, int *dashdash)
{
	char *w = argv[*i];
	cli_args *a = p->a;
	int rc;
	if (!*dashdash && strcmp(w, "--") == 0) {
		*dashdash = 1;
		return 0;
	}
	/* a global flag where a flag stands (a flag's value never gets here) */
	if (!*dashdash && p->g && w[0] == '-' && !(w[1] == '-' && own_flag(p, w)) &&
	    (rc = cli_global_take(argc, argv, i, p->g)) != 0)
		return rc < 0 ? rc : p->g->help;
	if (!*dashdash && w[0] == '-' && w[1] == '-' && w[2])
		return parse_flag(p, w, argc, argv, i);
	if (!*dashdash && w[0] == '-' && w[1])
		return hive_error_set(HIVE_EINVALID, "%s: unknown flag %s; see hive %s --help", p->cmd, w, p->cmd);
	if (a->npos >= n_args(p->def))
		return hive_error_set(HIVE_EINVALID, "%s: unexpected argument \"%s\"; see hive %s --help",
				      p->cmd, w, p->cmd);
	if ((rc = check_utf8(p, "", p->def->args[a->npos], w)))
		return rc;
	a->pos[a->npos++] = w;
	return 0;
}

static int parse_words(const parser *p, int argc, char **argv)
{
	int dashdash = 0;
	for (int i = 0; i < argc; i++) {
		int rc = parse_word(p, argc, argv, &i, &dashdash);
		if (rc > 0)
			return rc; /* help wanted: the rest is not checked */
		if (rc < 0)
			return help_later(p, argc, argv, i) ? 1 : rc;
	}
	if (p->g && p->g->help)
		return 1; /* help wanted (before the command's words): nothing is missing */
	if (p->a->npos < p->def->min_args)
		return hive_error_set(HIVE_EINVALID, "%s: missing argument; see hive %s --help", p->cmd, p->cmd);
	return 0;
}

static int check_required(const parser *p)
{
	for (int i = 0; i < n_opts(p->def); i++) {
		const cli_opt *o = &p->def->opts[i];
		if (o->required && !p->a->v[i].seen)
			return hive_error_set(HIVE_EINVALID, "%s: --%s%s%s is required", p->cmd, o->name,
					      o->arg ? " " : "", o->arg ? o->arg : "");
	}
	return 0;
}

int cli_global_take(int argc, char **argv, int *i, cli_globals *g)
{
	const char *w = argv[*i];
	if (strcmp(w, "--json") == 0) {
		g->json = 1;
	} else if (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
		g->help = 1;
	} else if (strcmp(w, "--version") == 0 || strcmp(w, "-V") == 0 || strcmp(w, "-v") == 0) {
		g->version = 1;
	} else if (strcmp(w, "--dir") == 0 || strncmp(w, "--dir=", 6) == 0) {
		if (!w[5] && *i + 1 >= argc)
			return hive_error_set(HIVE_EINVALID, "--dir needs a path");
		g->dir = w[5] ? w + 6 : argv[++*i];
		if (!*g->dir)
			return hive_error_set(HIVE_EINVALID, "--dir needs a non-empty path");
	} else if (strcmp(w, "--color") == 0 || strncmp(w, "--color=", 8) == 0) {
		if (!w[7] && *i + 1 >= argc)
			return hive_error_set(HIVE_EINVALID, "--color needs a value: auto, always or never");
		const char *v = w[7] ? w + 8 : argv[++*i];
		if (strcmp(v, "auto") != 0 && strcmp(v, "always") != 0 && strcmp(v, "never") != 0)
			return hive_error_set(HIVE_EINVALID, "--color %s: use auto, always or never", v);
		g->color = v;
	} else {
		return 0;
	}
	return 1;
}

int cli_parse_globals(const hive_command *cmd, int argc, char **argv, cli_args *a, cli_globals *g)
{
	memset(a, 0, sizeof *a);
	a->cmd = cmd;
	hive_buf words = {0};
	cli_command_words(cmd, &words);
	parser p = {words.data, cmd, a, g};
	int rc = parse_words(&p, argc, argv);
	if (rc == 1) /* --help */
		rc = 0;
	else if (!rc)
		rc = check_required(&p);
	hive_buf_dispose(&words);
	return rc;
}

int cli_parse(const hive_command *cmd, int argc, char **argv, cli_args *a)
{
	return cli_parse_globals(cmd, argc, argv, a, NULL);
}

void cli_args_dispose(cli_args *a)
{
	for (int i = 0; i < CLI_MAX_OPTS; i++)
		free(a->v[i].list.v);
	memset(a, 0, sizeof *a);
}

/* ---- the parsed values ----------------------------------------------------------- */

/* The option's slot; asking for a name the table lacks is a programming
 * error in the handler, not something a user can cause. */
static int slot(const cli_args *a, const char *name, cli_opt_kind kind)
{
	int i = find_opt(a->cmd, name, strlen(name));
	assert(i >= 0 && a->cmd->opts[i].kind == kind);
	(void)kind;
	return i;
}

const char *cli_str(const cli_args *a, const char *name)
{
	return a->v[slot(a, name, CLI_STR)].str;
}

int cli_flag(const cli_args *a, const char *name)
{
	return a->v[slot(a, name, CLI_FLAG)].seen > 0;
}

int cli_seen(const cli_args *a, const char *name)
{
	int i = find_opt(a->cmd, name, strlen(name));
	assert(i >= 0);
	return a->v[i].seen;
}

unsigned long long cli_u64(const cli_args *a, const char *name, unsigned long long dflt)
{
	int i = slot(a, name, CLI_U64);
	return a->v[i].seen ? a->v[i].u64 : dflt;
}

const cli_list *cli_list_of(const cli_args *a, const char *name)
{
	return &a->v[slot(a, name, CLI_LIST)].list;
}

/* ---- usage and help --------------------------------------------------------------- */

static void opt_synopsis(const cli_opt *o, hive_buf *out)
{
	hive_buf_printf(out, "%s--%s", o->required ? "" : "[", o->name);
	if (o->arg)
		hive_buf_printf(out, " %s", o->arg);
	if (!o->required)
		hive_buf_putc(out, ']');
	if (o->kind == CLI_LIST)
		hive_buf_puts(out, "...");
}

void cli_usage(const hive_command *cmd, hive_buf *out)
{
	hive_buf_puts(out, "hive ");
	cli_command_words(cmd, out);
	if (cmd->usage) {
		hive_buf_printf(out, " %s", cmd->usage);
		return;
	}
	for (int i = 0; i < n_args(cmd); i++)
		hive_buf_printf(out, i < cmd->min_args ? " %s" : " [%s]", cmd->args[i]);
	for (int i = 0; i < n_opts(cmd); i++) {
		hive_buf_putc(out, ' ');
		opt_synopsis(&cmd->opts[i], out);
	}
}

/* "--flow F", the left column of the options list. */
static void opt_label(const cli_opt *o, hive_buf *out)
{
	hive_buf_printf(out, "--%s", o->name);
	if (o->arg)
		hive_buf_printf(out, " %s", o->arg);
}

static void options_help(const hive_command *cmd, hive_buf *out)
{
	size_t width = 0;
	for (int i = 0; i < n_opts(cmd); i++) {
		hive_buf l = {0};
		opt_label(&cmd->opts[i], &l);
		width = l.len > width ? l.len : width;
		hive_buf_dispose(&l);
	}
	if (n_opts(cmd))
		hive_buf_puts(out, "Options:\n");
	for (int i = 0; i < n_opts(cmd); i++) {
		hive_buf l = {0};
		opt_label(&cmd->opts[i], &l);
		hive_buf_printf(out, "  %-*s  %s\n", (int)width, l.data, cmd->opts[i].help ? cmd->opts[i].help : "");
		hive_buf_dispose(&l);
	}
}

void cli_help(const hive_command *cmd, hive_buf *out)
{
	hive_buf_puts(out, "usage: ");
	cli_usage(cmd, out);
	hive_buf_puts(out, "\n\n");
	if (cmd->help)
		hive_buf_puts(out, cmd->help);
	options_help(cmd, out);
	if (cmd->exit)
		hive_buf_printf(out, "Exit: %s\n", cmd->exit);
}
