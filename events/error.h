/*
 * error.h - hive's error model, shared by every layer.
 *
 * Functions return 0 on success or one of the small set of negative codes
 * below; the human message for the most recent failure on this thread is
 * kept by hive_error_set() and read with hive_error_last().  The message is
 * one line, says what went wrong, which input, and what to do.
 *
 * It lives in events/ because events/ is the bottom layer: every other layer
 * (core, adapters, cli) may include it, and events/ depends on nothing.
 */
#ifndef HIVE_ERROR_H
#define HIVE_ERROR_H

#include <stdarg.h>

typedef enum {
	HIVE_OK         = 0,
	HIVE_EFAILED    = -1, /* the work failed (exit 1) */
	HIVE_EINVALID   = -2, /* usage or invalid input (exit 2) */
	HIVE_ENOTFOUND  = -3, /* not found (exit 3) */
	HIVE_EAMBIGUOUS = -4, /* ambiguous id or name (exit 3) */
	HIVE_ECONFLICT  = -5, /* conflict or illegal state (exit 4) */
	HIVE_ESYSTEM    = -6, /* storage or system error (exit 5) */
} hive_error_code;

/* Record the message for the current thread and return `code`, so callers
 * can write `return hive_error_set(HIVE_EINVALID, "...", ...);`. */
int hive_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int hive_error_setv(int code, const char *fmt, va_list ap);

/* Prefix the current message with "<prefix>: " (keeps the code). Returns the
 * current code. */
int hive_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last message set on this thread; borrowed, valid until the next
 * hive_error_set on this thread. Never NULL ("" when none). */
const char *hive_error_last(void);
int hive_error_last_code(void);
void hive_error_clear(void);

/* Process exit code for an error code (0..5, SPEC section 9). */
int hive_error_exit_code(int code);
/* Stable machine name for --json output: "failed", "invalid", ... */
const char *hive_error_name(int code);

#endif
