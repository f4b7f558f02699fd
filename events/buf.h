/*
 * buf.h - a growable byte buffer, always NUL-terminated.
 *
 * A zero-initialised hive_buf is empty and valid.  The caller owns the
 * buffer and releases it with hive_buf_dispose().  Allocation failure aborts
 * (there is no useful recovery for hive from out-of-memory).
 */
#ifndef HIVE_BUF_H
#define HIVE_BUF_H

#include <stddef.h>

typedef struct {
	char *data;  /* NULL or NUL-terminated */
	size_t len;
	size_t cap;
} hive_buf;

void hive_buf_append(hive_buf *b, const void *data, size_t len);
void hive_buf_puts(hive_buf *b, const char *s);
void hive_buf_putc(hive_buf *b, char c);
void hive_buf_printf(hive_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Room for `extra` more bytes (and the NUL) after len, so a caller may
 * write up to extra bytes at data + len and then advance len itself
 * (keeping data[len] == '\0' when it is done). */
void hive_buf_reserve(hive_buf *b, size_t extra);
void hive_buf_reset(hive_buf *b);         /* len = 0, keeps memory */
/* Transfer ownership of the contents (never NULL; "" when empty) to the
 * caller, who frees it with free(); the buffer becomes empty. */
char *hive_buf_detach(hive_buf *b);
void hive_buf_dispose(hive_buf *b);
/* Contents as a string; "" when empty. Borrowed. */
const char *hive_buf_str(const hive_buf *b);

/* Append s[0..len) as text safe to print on one terminal line: the C0
 * controls, DEL and the C1 controls (as UTF-8) become escapes ("\n",
 * "\r", "\t", "\e", else "\xNN"), and so does every byte that is not part
 * of valid UTF-8 (a raw 0x9b is a terminal's CSI).  Valid UTF-8 text is
 * kept as it is.  Used for every user- or runtime-chosen string hive prints
 * (names, titles, paths, errors): no newline, no escape sequence. */
void hive_buf_put_safe(hive_buf *b, const char *s, size_t len);

/* s (NULL = "") made safe as by hive_buf_put_safe, for printf arguments:
 * the result lives in one of 8 thread-local buffers and is valid until
 * the 8th next call in the same thread. */
const char *hive_safe(const char *s);

/* Checked allocation helpers: abort on out-of-memory. */
void *hive_xmalloc(size_t n);
void *hive_xcalloc(size_t n, size_t size);
void *hive_xrealloc(void *p, size_t n);
char *hive_xstrdup(const char *s);
char *hive_xstrndup(const char *s, size_t n);

#endif
