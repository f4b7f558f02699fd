/*
 * json.c - see json.h.
 */
#include "events/json.h"

#include "events/error.h"
#include "events/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *hive_json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

json_t *hive_json_pack(const char *fmt, ...)
{
	json_error_t err;
	va_list ap;
	va_start(ap, fmt);
	json_t *v = json_vpack_ex(&err, 0, fmt, ap);
	va_end(ap);
	if (!v)
		hive_error_set(HIVE_EFAILED, "building JSON %s: %s (at position %d)", fmt, err.text,
			       err.position);
	return v;
}

json_t *hive_json_string_repaired(const char *s)
{
	json_t *v = json_string(s);
	if (!v) {
		size_t n;
		char *clean = hive_utf8_sanitize(s, strlen(s), &n);
		v = json_stringn(clean, n);
		free(clean);
	}
	if (!v) {
		fputs("hive: out of memory\n", stderr);
		abort();
	}
	return v;
}
