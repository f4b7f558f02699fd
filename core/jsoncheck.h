/*
 * jsoncheck.h - small pieces shared by the validators of user-written JSON
 * (flow specs, retry policies, runtime objects), so that every message
 * names types and lists choices the same way.
 */
#ifndef HIVE_JSONCHECK_H
#define HIVE_JSONCHECK_H

#include <jansson.h>

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

#endif
