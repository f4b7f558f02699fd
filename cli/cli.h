/*
 * cli.h - the command-line layer: the command table, flag parsing and
 * output helpers shared by the cli/cmd_*.c files.
 *
 * Each cmd_<group>.c exports one NULL-terminated table of hive_command;
 * main.c lists the tables.  Adding a command is adding an entry (and a
 * file for a new group).  A command parses its flags, calls the library,
 * prints; it returns a HIVE_E* code (0 = success) with hive_error_last()
 * set, and main turns that into the message and exit code.
 */
#ifndef HIVE_CLI_H
#define HIVE_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "core/hive.h"

typedef struct {
	const char *dir;   /* resolved data dir */
	int dir_is_default; /* neither --dir nor $HIVE_DIR chose it */
	int json;          /* --json */
	int color;         /* stdout is a terminal and NO_COLOR is unset */
	hive_store *store; /* opened on first use by cli_store() */
} hive_cli;

typedef struct {
	const char *group;  /* "events" */
	const char *name;   /* "list" */
	const char *usage;  /* "hive events list [--flow F] ..." */
	const char *help;   /* a few lines of what it does, flags, exit codes */
	int (*run)(hive_cli *cli, int argc, char **argv); /* argv[0] = first word after the name */
} hive_command;

/* The store, opened on first use; NULL with the error set on failure. */
hive_store *cli_store(hive_cli *cli, int *rc);

/* ---- flags --------------------------------------------------------------- */

typedef struct {
	const char **v;
	size_t n;
} cli_list;

typedef enum { CLI_FLAG, CLI_STR, CLI_LIST, CLI_U64 } cli_opt_kind;

typedef struct {
	const char *name;   /* without dashes: "flow" matches --flow X and --flow=X */
	cli_opt_kind kind;
	void *dest;         /* int*, const char**, cli_list*, unsigned long long* */
	int seen;           /* set by cli_parse */
} cli_opt;

/*
 * Parse argv (flags anywhere, "--" ends flags) into opts and positionals.
 * Positionals are stored in pos[0..*npos); between min_pos and max_pos
 * are accepted.  Errors (HIVE_EINVALID) name the flag or argument and
 * point at `hive <cmd> --help`.  Strings are borrowed from argv; lists
 * are allocated (free with cli_list_free).
 */
int cli_parse(const char *cmd, int argc, char **argv, cli_opt *opts,
	      const char **pos, int min_pos, int max_pos, int *npos);
void cli_list_free(cli_list *l);

/* ---- output -------------------------------------------------------------- */

/* Write, treating a closed pipe as a quiet end: returns -1 on EPIPE. */
int cli_write(const char *data, size_t len);
/* Print a JSON document (stolen) on one line to stdout. */
int cli_print_json(json_t *doc);
/* Print with --json as one document (stolen), else nothing (doc released).
 * Returns 1 when printed. */
int cli_json_out(hive_cli *cli, json_t *doc);
/* A string member of a document, "" when absent or not a string. */
const char *cli_jstr(const json_t *o, const char *k);
/* ANSI colour helpers: empty strings when colour is off. */
const char *cli_color(const hive_cli *cli, const char *code);

#endif
