#include "events/error.h"
#include "events/buf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HIVE_ERROR_MAX 2048

static _Thread_local char last_msg[HIVE_ERROR_MAX];
static _Thread_local int last_code;
static _Thread_local hive_error_hint last_hint;
static _Thread_local char last_hint_arg[256];

int hive_error_setv(int code, const char *fmt, va_list ap)
{
	/* An error is one line whatever it quotes (a path with a newline, a
	 * name with ESC[31m): control characters become escapes here, once,
	 * for every message. */
	char raw[HIVE_ERROR_MAX];
	hive_buf safe = {0};
	vsnprintf(raw, sizeof raw, fmt, ap);
	hive_buf_put_safe(&safe, raw, strlen(raw));
	snprintf(last_msg, sizeof last_msg, "%s", hive_buf_str(&safe));
	hive_buf_dispose(&safe);
	last_code = code;
	last_hint = HIVE_HINT_NONE;
	last_hint_arg[0] = '\0';
	return code;
}

int hive_error_hint_set(hive_error_hint hint, const char *arg)
{
	last_hint = hint;
	snprintf(last_hint_arg, sizeof last_hint_arg, "%s", arg ? arg : "");
	return last_code;
}

hive_error_hint hive_error_last_hint(void) { return last_hint; }
const char *hive_error_last_hint_arg(void) { return last_hint_arg; }

int hive_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hive_error_setv(code, fmt, ap);
	va_end(ap);
	return code;
}

int hive_error_prefix(const char *fmt, ...)
{
	char prefix[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return last_code;
	size_t plen = strlen(prefix);
	memcpy(prefix + plen, ": ", 3);
	plen += 2;
	size_t old = strnlen(last_msg, sizeof last_msg - 1);
	if (plen + old >= sizeof last_msg)
		old = sizeof last_msg - 1 - plen;
	memmove(last_msg + plen, last_msg, old);
	memcpy(last_msg, prefix, plen);
	last_msg[plen + old] = '\0';
	return last_code;
}

const char *hive_error_last(void) { return last_msg; }
int hive_error_last_code(void) { return last_code; }
void hive_error_clear(void)
{
	last_msg[0] = '\0';
	last_code = 0;
	last_hint = HIVE_HINT_NONE;
	last_hint_arg[0] = '\0';
}

int hive_error_is_storage_failure(const char *msg)
{
	static const int errs[] = {ENOSPC, EDQUOT, EROFS, EIO};
	for (size_t i = 0; msg && i < sizeof errs / sizeof errs[0]; i++)
		if (strstr(msg, strerror(errs[i])))
			return 1;
	return 0;
}

int hive_error_exit_code(int code)
{
	switch (code) {
	case HIVE_OK: return 0;
	case HIVE_EFAILED: return 1;
	case HIVE_EINVALID: return 2;
	case HIVE_ENOTFOUND:
	case HIVE_EAMBIGUOUS: return 3;
	case HIVE_ECONFLICT: return 4;
	default: return 5;
	}
}

const char *hive_error_name(int code)
{
	switch (code) {
	case HIVE_OK: return "ok";
	case HIVE_EFAILED: return "failed";
	case HIVE_EINVALID: return "invalid";
	case HIVE_ENOTFOUND: return "not_found";
	case HIVE_EAMBIGUOUS: return "ambiguous";
	case HIVE_ECONFLICT: return "conflict";
	default: return "system";
	}
}
