/*
 * jsoncheck.c - see jsoncheck.h.
 */
#include "core/jsoncheck.h"

#include "core/duration.h"
#include "events/error.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *hive_json_type_name(const json_t *v)
{
	if (!v)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

int hive_name_index(const char *s, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void hive_names_join(hive_buf *b, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		hive_buf_printf(b, "%s%s", i ? ", " : "", names[i]);
}

int hive_env_name_valid(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

/* Length of the well-formed UTF-8 sequence at s (NUL-terminated), 0 when
 * ill-formed (Unicode table 3-7: no overlongs, surrogates, > U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xF5 ? 0 : s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
	unsigned char lo = s[0] == 0xE0 ? 0xA0 : s[0] == 0xF0 ? 0x90 : 0x80;
	unsigned char hi = s[0] == 0xED ? 0x9F : s[0] == 0xF4 ? 0x8F : 0xBF;
	if (n == 0)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return n;
}

/* Found by tests/fuzz: bytes above 0x7f used to pass as they were, so
 * ill-formed UTF-8 and the C1 controls (U+0080..U+009F, e.g. U+009B, the
 * one-character CSI) reached the terminal.  Whole sequences are kept, so
 * the cut never splits a character. */
void hive_put_shown(hive_buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	while (u[i] && i < 64) {
		size_t n = u[i] < 0x80 ? 1 : utf8_len(u + i);
		if (n == 0 || u[i] < 0x20 || u[i] == 0x7f || (u[i] == 0xC2 && u[i + 1] <= 0x9F)) {
			hive_buf_putc(b, '?');
			i += n ? n : 1;
			continue;
		}
		hive_buf_append(b, s + i, n);
		i += n;
	}
	if (u[i])
		hive_buf_puts(b, "...");
}

int hive_json_is_clean_string(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

void hive_jsoncheck_put_path(hive_buf *b, const char *path, const char *key)
{
	hive_buf_puts(b, path);
	if (key && *path)
		hive_buf_putc(b, '.');
	if (key)
		hive_buf_puts(b, key);
}

char *hive_jsoncheck_path(const char *path, const char *key, long i)
{
	hive_buf b = {0};
	hive_jsoncheck_put_path(&b, path, key);
	if (i >= 0)
		hive_buf_printf(&b, "[%ld]", i);
	return hive_buf_detach(&b);
}

int hive_jsoncheck_fail_buf(hive_buf *m)
{
	int rc = hive_error_set(HIVE_EINVALID, "%s", hive_buf_str(m));
	hive_buf_dispose(m);
	return rc;
}

int hive_jsoncheck_fail(const char *path, const char *key, const char *fmt, ...)
{
	hive_buf m = {0};
	va_list ap;
	va_start(ap, fmt);
	hive_error_setv(HIVE_EINVALID, fmt, ap);
	va_end(ap);
	hive_jsoncheck_put_path(&m, path, key);
	hive_buf_printf(&m, "%s%s", m.len ? ": " : "", hive_error_last());
	return hive_jsoncheck_fail_buf(&m);
}

int hive_jsoncheck_fail_value(const char *path, const char *key, const char *what,
                              const char *value, const char *rest)
{
	hive_buf m = {0};
	hive_jsoncheck_put_path(&m, path, key);
	hive_buf_printf(&m, ": %s \"", what);
	hive_put_shown(&m, value);
	hive_buf_printf(&m, "\"%s", rest);
	return hive_jsoncheck_fail_buf(&m);
}

static int unknown_key(const char *path, const char *key, const char *const *allowed)
{
	hive_buf m = {0};
	hive_jsoncheck_put_path(&m, path, "");
	hive_put_shown(&m, key);
	hive_buf_puts(&m, ": unknown key (allowed: ");
	hive_names_join(&m, allowed);
	hive_buf_putc(&m, ')');
	return hive_jsoncheck_fail_buf(&m);
}

int hive_jsoncheck_keys(const json_t *v, const char *path, const char *const *keys, int all)
{
	const char *key;
	json_t *item;
	if (!json_is_object(v))
		return hive_jsoncheck_fail(path, NULL, "must be an object, got %s", hive_json_type_name(v));
	json_object_foreach((json_t *)v, key, item) {
		if (hive_name_index(key, keys) < 0)
			return unknown_key(path, key, keys);
	}
	for (int i = 0; all && keys[i]; i++)
		if (!json_object_get(v, keys[i]))
			return hive_jsoncheck_fail(path, keys[i], "missing (the canonical form lists every field)");
	return 0;
}

int hive_jsoncheck_int(const json_t *obj, const char *path, const char *key, int min, int max,
                       int *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_integer(v))
		return hive_jsoncheck_fail(path, key, "must be an integer from %d to %d, got %s", min, max,
		                           hive_json_type_name(v));
	json_int_t n = json_integer_value(v);
	if (n < min || n > max)
		return hive_jsoncheck_fail(path, key, "must be from %d to %d, got %" JSON_INTEGER_FORMAT,
		                           min, max, n);
	*out = (int)n;
	return 0;
}

int hive_jsoncheck_enum(const json_t *obj, const char *path, const char *key,
                        const char *const *names, int *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	int i = json_is_string(v) ? hive_name_index(json_string_value(v), names) : -1;
	if (i < 0) {
		hive_buf m = {0};
		hive_jsoncheck_put_path(&m, path, key);
		hive_buf_puts(&m, ": must be one of ");
		hive_names_join(&m, names);
		if (json_is_string(v)) {
			hive_buf_puts(&m, ", got \"");
			hive_put_shown(&m, json_string_value(v));
			hive_buf_putc(&m, '"');
		} else {
			hive_buf_printf(&m, ", got %s", hive_json_type_name(v));
		}
		return hive_jsoncheck_fail_buf(&m);
	}
	*out = i;
	return 0;
}

int hive_jsoncheck_ms(const json_t *obj, const char *path, const char *key, int canon,
                      int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (canon) {
		json_int_t n = json_integer_value(v);
		if (!json_is_integer(v) || n < 0 || n > HIVE_DURATION_MAX_MS)
			return hive_jsoncheck_fail(path, key,
			                           "must be an integer number of milliseconds from 0 to %lld",
			                           (long long)HIVE_DURATION_MAX_MS);
		*out = n;
		return 0;
	}
	if (!json_is_string(v))
		return hive_jsoncheck_fail(path, key, "must be a duration string such as \"2s\", got %s",
		                           hive_json_type_name(v));
	if (hive_duration_parse(json_string_value(v), out) < 0) {
		char *at = hive_jsoncheck_path(path, key, -1);
		int rc = hive_error_prefix("%s", at);
		free(at);
		return rc;
	}
	return 0;
}
