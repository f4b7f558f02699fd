/*
 * json.h - the two jansson idioms every layer repeats, written once.
 *
 * Bottom layer (events/): depends on jansson and events/error.h only.
 */
#ifndef HIVE_JSON_H
#define HIVE_JSON_H

#include <jansson.h>

/* The string member `key` of object `o`: borrowed (valid while `o` holds
 * it), or NULL when `o` is NULL, `key` is absent, or the member is not a
 * string. */
const char *hive_json_str(const json_t *o, const char *key);

/* A new JSON string holding s (not NULL).  JSON strings must be valid
 * UTF-8 and s need not be (file names, a runtime's output), so an
 * ill-formed s is repaired with U+FFFD (events/utf8.h) rather than lost.
 * Never NULL (allocation failure aborts). */
json_t *hive_json_string_repaired(const char *s);

/*
 * json_pack with the failure made loud.  Plain json_pack returns NULL when a
 * "s" argument is NULL (one missing string), and a NULL payload used to
 * become an empty event; this one sets an error naming the cause instead.
 *
 * Returns a new reference, or NULL with HIVE_EFAILED set in
 * hive_error_last(), e.g.
 *   building JSON {s:s}: NULL string (at position 4)
 * As with json_pack, "o" arguments are stolen even on failure.
 */
json_t *hive_json_pack(const char *fmt, ...);

#endif
