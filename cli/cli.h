/*
 * cli.h - the command-line layer: the declarative command table, the flag
 * parser that reads it, and output helpers shared by the cli/cmd_*.c files.
 *
 * Each cmd_<group>.c exports one table of hive_command entries written with
 * designated initialisers (name, options, positionals, usage tail, help,
 * handler); main.c lists the tables.  dispatch parses argv against the
 * entry BEFORE calling its handler, which receives the parsed values, so a
 * handler only calls the library (core/hive.h) and prints.  Usage lines,
 * `--help` and docs/cli.md are generated from the same entries.  Adding a
 * command is one entry in its group's table; a new group is one file plus
 * one line in main.c's list.  Handlers return a HIVE_E* code (0 = success)
 * with hive_error_last() set; main turns that into the message and exit code.
 */
#ifndef HIVE_CLI_H
#define HIVE_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "core/hive.h"
#include "events/buf.h"

typedef struct {
	const char *dir;   /* resolved data dir */
	int dir_is_default; /* neither --dir nor $HIVE_DIR chose it */
	int json;          /* --json */
	int color;         /* colour on (cli_color_wanted: --color, NO_COLOR, CLICOLOR_FORCE, TERM, a tty) */
	hive_store *store; /* opened on first use by cli_store() */
	int exit_status;   /* non-zero: main exits with it after reporting (128 + signal) */
	int may_create;    /* the command may create the data dir (it adds the first things) */
	char *dir_error;   /* why no data dir could be chosen (dir is NULL then) */
} hive_cli;

/* The store, opened on first use; NULL with the error set on failure. */
hive_store *cli_store(hive_cli *cli, int *rc);

/* ---- the command table ------------------------------------------------------ */

#define CLI_MAX_OPTS 12
#define CLI_MAX_ARGS 3

typedef enum {
	CLI_FLAG, /* --name: present or not */
	CLI_STR,  /* --name VALUE, once */
	CLI_LIST, /* --name VALUE, repeatable */
	CLI_U64,  /* --name N, a non-negative integer */
} cli_opt_kind;

/* One option of a command.  A table's options end at the first entry
 * without a name. */
typedef struct {
	const char *name;  /* without dashes: "flow" matches --flow X and --flow=X */
	cli_opt_kind kind;
	const char *arg;   /* the value's name in usage ("F", "NAME=CMD"); NULL for CLI_FLAG */
	const char *help;  /* one line for --help */
	int required;      /* shown without brackets; dispatch refuses its absence */
} cli_opt;

typedef struct cli_args cli_args;

typedef struct {
	const char *group;             /* "events" */
	const char *name;              /* "list"; NULL for a one-word command (hive demo) */
	cli_opt opts[CLI_MAX_OPTS];
	const char *args[CLI_MAX_ARGS]; /* positional names in order ("FLOW"); their count is the most accepted */
	int min_args;                  /* how many are required; the rest are optional */
	const char *usage;             /* NULL: generated from args and opts; else the synopsis
	                                * after the command words, for forms the generator cannot say */
	const char *help;              /* what it does: a few lines, each ending in '\n' */
	const char *exit;              /* its exit codes: "0 ok, 3 not found." */
	int creates_store;             /* it adds the first things, so it may create a missing data dir;
	                                * every other command refuses one (a typo in --dir) */
	int (*run)(hive_cli *cli, const cli_args *a);
} hive_command;

/* What dispatch parsed for a handler.  Strings are borrowed from argv. */
typedef struct {
	const char **v;
	size_t n;
} cli_list;

struct cli_args {
	const hive_command *cmd;
	const char *pos[CLI_MAX_ARGS];
	int npos;
	struct {
		int seen;                /* how many times it was given */
		const char *str;         /* CLI_STR */
		unsigned long long u64;  /* CLI_U64 */
		cli_list list;           /* CLI_LIST (allocated) */
	} v[CLI_MAX_OPTS];
};

/* The global flags (--json, --dir, --color, --help, --version).  They are
 * taken only where a flag stands, never as the value of another flag
 * (`--reason --json` records "--json"). */
typedef struct {
	int help, version, json;
	const char *dir;   /* --dir PATH (borrowed from argv) */
	const char *color; /* --color auto|always|never (validated) */
} cli_globals;

/* Take the global flag at argv[*i] into g (advancing *i past its value):
 * 1 when it was one, 0 when it is not a global flag, or HIVE_EINVALID
 * (--dir or --color without a usable value). */
int cli_global_take(int argc, char **argv, int *i, cli_globals *g);

/*
 * Parse argv (the words after the command's name: flags anywhere, "--"
 * ends flags) against cmd's options and positionals into *a.  Errors
 * (HIVE_EINVALID) name the flag or argument and point at
 * `hive <cmd> --help`; a required option missing is one too.  Release *a
 * with cli_args_dispose, also after an error.
 */
int cli_parse(const hive_command *cmd, int argc, char **argv, cli_args *a);
/* cli_parse that also takes the global flags where a flag stands (the
 * command's own flags first) into *g.  A --help stops the parse: nothing
 * after it is checked, and a missing argument is not an error then. */
int cli_parse_globals(const hive_command *cmd, int argc, char **argv, cli_args *a, cli_globals *g);
void cli_args_dispose(cli_args *a);

/* The parsed values by option name; the name must be in the command's
 * table (asserted).  str: NULL when not given; u64: dflt when not given;
 * list: empty when not given. */
const char *cli_str(const cli_args *a, const char *name);
int cli_flag(const cli_args *a, const char *name);
int cli_seen(const cli_args *a, const char *name);
unsigned long long cli_u64(const cli_args *a, const char *name, unsigned long long dflt);
const cli_list *cli_list_of(const cli_args *a, const char *name);

/* A stop request (cli/stop.c): SIGINT and SIGTERM (and SIGHUP when
 * with_hup) make *read_fd readable instead of killing the process, so a
 * long-running command ends cleanly.  cli_stop_requested consumes one
 * request (1) or says there is none (0); cli_stop_close undoes the pipe.
 * Errors: HIVE_ESYSTEM naming command. */
int cli_stop_open(const char *command, int with_hup, int *read_fd);
int cli_stop_requested(void);
void cli_stop_close(void);

/* The person a command acts for (cli/actor.c): --actor NAME, else
 * $HIVE_ACTOR when set and not empty, else the login name (the passwd
 * entry of our uid, else $LOGNAME); NULL when none is known.  Borrowed. */
const char *cli_actor(const cli_args *a);
/* The --actor option, for the table of every command a person steers with. */
#define CLI_ACTOR_OPT                                                                                    \
	{.name = "actor", .kind = CLI_STR, .arg = "NAME",                                                \
	 .help = "who acts, recorded in its events (default: $HIVE_ACTOR, else your login name)"}

/* "project create" / "demo": the words that name cmd, as messages use them. */
void cli_command_words(const hive_command *cmd, hive_buf *out);
/* The usage line, "hive flow abort FLOW [--reason TEXT]". */
void cli_usage(const hive_command *cmd, hive_buf *out);
/* The whole --help text: usage, help, options, exit codes. */
void cli_help(const hive_command *cmd, hive_buf *out);

/* ---- output -------------------------------------------------------------- */

/* Write, treating a closed pipe as a quiet end: returns -1 on EPIPE. */
int cli_write(const char *data, size_t len);
/* Print a JSON document (stolen) on one line to stdout, with "schema": 2
 * first (hive_doc_wrap). */
int cli_print_json(json_t *doc);
/* Print with --json as one document (stolen), else nothing (doc released).
 * Returns 1 when printed. */
int cli_json_out(hive_cli *cli, json_t *doc);
/* A string member of a document, "" when absent or not a string. */
const char *cli_jstr(const json_t *o, const char *k);
/* How text output shows an id (SPEC section 12): the shortest prefix of at
 * least 13 characters no other stored object of kind ("project", "flow",
 * "task", "attempt") shares, so it can be typed back.  buf: CLI_ID_LEN
 * bytes; returns buf.  The whole id when the store is not open. */
#define CLI_ID_LEN (HIVE_ID_LEN + 1)
const char *cli_id(hive_cli *cli, const char *kind, const char *id, char *buf);
/* ANSI colour helpers: empty strings when colour is off. */
const char *cli_color(const hive_cli *cli, const char *code);
/* Whether output is coloured: --color always|never decides; else (auto)
 * never with NO_COLOR (non-empty), always with CLICOLOR_FORCE (non-empty,
 * not "0"), never with TERM=dumb, else when stdout is a terminal.  Never
 * with --json. */
int cli_color_wanted(const char *mode, int json);

#endif
