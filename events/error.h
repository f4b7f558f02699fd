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

/*
 * A hint a front end may add after the message.  The layers below the
 * front end never name its flags or commands; they say which hint
 * applies (with one argument, e.g. a task key, where the hint needs it)
 * and the front end words it ("; pass --reset-count" on the command
 * line).  hive_error_set() clears the hint; set it after the message.
 */
typedef enum {
	HIVE_HINT_NONE = 0,
	HIVE_HINT_OTHER_DIR,     /* another data directory could be used */
	HIVE_HINT_RESET_COUNT,   /* the retry could reset the attempt count */
	HIVE_HINT_ADD_TASK,      /* arg: a task the flow could include */
	HIVE_HINT_DISTINCT_KEYS, /* tasks of one flow need distinct keys */
	HIVE_HINT_GIVE_TASK,     /* a flow needs at least one task */
	HIVE_HINT_NEW_FLOW,      /* arg: a task to put in a new flow */
	HIVE_HINT_NO_STORE,      /* the data dir holds no store (a typo?) */
} hive_error_hint;

/* Attach hint (arg may be NULL; copied) to the current error; returns the
 * current code, so `return hive_error_hint_set(...)` works. */
int hive_error_hint_set(hive_error_hint hint, const char *arg);
hive_error_hint hive_error_last_hint(void);
/* The hint's argument; borrowed, "" when none. */
const char *hive_error_last_hint_arg(void);

/* The last message set on this thread; borrowed, valid until the next
 * hive_error_set on this thread. Never NULL ("" when none). */
const char *hive_error_last(void);
int hive_error_last_code(void);
void hive_error_clear(void);

/*
 * 1 when msg names a file system that is full or failing: the words of
 * ENOSPC, EDQUOT, EROFS or EIO as strerror() gives them (libgit2 and hive
 * quote strerror in their messages, so this works whichever layer failed).
 * Such an error is the machine's, not the work's (SPEC section 12: it stops
 * flow run with exit 5 instead of spending a budget).
 */
int hive_error_is_storage_failure(const char *msg);

/* Process exit code for an error code (0..5, SPEC section 9). */
int hive_error_exit_code(int code);
/* Stable machine name for --json output: "failed", "invalid", ... */
const char *hive_error_name(int code);

#endif
