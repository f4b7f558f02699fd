#include "core/jsoncheck.h"

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

void hive_put_shown(hive_buf *b, const char *s)
{
	size_t i;
	for (i = 0; s[i] && i < 64; i++) {
		unsigned char c = (unsigned char)s[i];
		hive_buf_putc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	if (s[i])
		hive_buf_puts(b, "...");
}

int hive_json_is_clean_string(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}
