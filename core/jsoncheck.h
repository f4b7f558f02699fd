/*
 * jsoncheck.h - the one kit of the validators of user-written JSON (flow
 * specs, retry policies, circuit breakers, runtime objects), so that every
 * message names its field, types and choices the same way.
 *
 * Paths: a field is named by its full path, "tasks[0].retry.backoff.max".
 * The top level has the empty path "", whose fields are plain "<key>".
 * `key` arguments are ours (string literals), never user input; user text
 * goes through hive_put_shown.
 *
 * Errors: the hive_jsoncheck_* functions that return int return 0 or
 * HIVE_EINVALID with one line "<path>: <what is wrong and what to do>" in
 * hive_error_last(); on error the output argument is left untouched.
 */
#ifndef HIVE_JSONCHECK_H
#define HIVE_JSONCHECK_H

#include <jansson.h>

#include <stdint.h>

#include "events/buf.h"

/* "an object", "a string", "null", ... for messages; "nothing" for NULL. */
const char *hive_json_type_name(const json_t *v);
/* Index of s in the NULL-terminated names, or -1. */
int hive_name_index(const char *s, const char *const *names);
/* Append "a, b, c" to b. */
void hive_names_join(hive_buf *b, const char *const *names);
/* Append user text s to an error message: at most 64 bytes ("..." after),
 * control bytes as '?', so a hostile value keeps the message one short line. */
void hive_put_shown(hive_buf *b, const char *s);
/* 1 when s is a valid environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
int hive_env_name_valid(const char *s);
/* 1 when v is a string without embedded NUL bytes (they would silently
 * cut an argv element or an environment value). */
int hive_json_is_clean_string(const json_t *v);

/* HIVE_EINVALID "<path>[.<key>]: <message>" (key NULL: just the path). */
int hive_jsoncheck_fail(const char *path, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* HIVE_EINVALID "<path>[.<key>]: <what> "<shown value>"<rest>": a message
 * that quotes user text through hive_put_shown. */
int hive_jsoncheck_fail_value(const char *path, const char *key, const char *what,
                              const char *value, const char *rest);
/* HIVE_EINVALID with the built message `m`, which is disposed. */
int hive_jsoncheck_fail_buf(hive_buf *m);
/* Append "<path>.<key>" ("<key>" when path is ""; just path when key NULL). */
void hive_jsoncheck_put_path(hive_buf *b, const char *path, const char *key);
/* New string "<path>.<key>" followed by "[i]" when i >= 0 (key NULL: no
 * ".<key>"); free() it. */
char *hive_jsoncheck_path(const char *path, const char *key, long i);

/* `v` must be an object whose keys are all in the NULL-terminated `keys`;
 * with `all`, every key in `keys` must also be present (canonical forms). */
int hive_jsoncheck_keys(const json_t *v, const char *path, const char *const *keys, int all);
/* Optional integer field in [min, max]; absent → *out unchanged. */
int hive_jsoncheck_int(const json_t *obj, const char *path, const char *key, int min, int max,
                       int *out);
/* Optional string field, one of the NULL-terminated `names`; *out becomes
 * its index. */
int hive_jsoncheck_enum(const json_t *obj, const char *path, const char *key,
                        const char *const *names, int *out);
/* Optional duration field: a string like "2s" (core/duration.h), or with
 * `canon` integer milliseconds from 0 to HIVE_DURATION_MAX_MS. */
int hive_jsoncheck_ms(const json_t *obj, const char *path, const char *key, int canon,
                      int64_t *out);

#endif
