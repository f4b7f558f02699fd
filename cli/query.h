/*
 * query.h - read helpers shared by the command files: resolve a reference
 * and load projection documents in one read transaction.
 */
#ifndef HIVE_CLI_QUERY_H
#define HIVE_CLI_QUERY_H

#include <jansson.h>

#include "cli/cli.h"
#include "core/resolve.h"

/* Resolve ref and load "<kind>/<id>" (new reference in *doc). */
int cli_load(hive_cli *cli, hive_ref_kind kind, const char *ref, json_t **doc);
/* Every document whose key starts with prefix (new array reference). */
int cli_load_all(hive_cli *cli, const char *prefix, json_t **docs);
/* Load "<fmt>" keys (new reference or NULL) in a fresh read transaction. */
json_t *cli_get(hive_cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A blob's bytes (new string, NUL-terminated) or NULL. */
char *cli_blob(hive_cli *cli, const char *hex, size_t *len);

const char *cli_jstr(const json_t *o, const char *k);
/* Print with --json as one document (stolen), else nothing. Returns 1 when printed. */
int cli_json_out(hive_cli *cli, json_t *doc);

#endif
