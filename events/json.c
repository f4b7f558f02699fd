/*
 * json.c - see json.h.
 */
#include "events/json.h"

#include "events/error.h"

#include <stdarg.h>

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
