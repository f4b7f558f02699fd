#include "events/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *hive_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("hive: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *hive_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p) {
		fputs("hive: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *hive_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("hive: out of memory\n", stderr);
		abort();
	}
	return q;
}

char *hive_xstrndup(const char *s, size_t n)
{
	char *d = hive_xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *hive_xstrdup(const char *s) { return hive_xstrndup(s, strlen(s)); }

static void grow(hive_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = hive_xrealloc(b->data, cap);
	b->cap = cap;
}

void hive_buf_reserve(hive_buf *b, size_t extra) { grow(b, extra); }

void hive_buf_append(hive_buf *b, const void *data, size_t len)
{
	grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void hive_buf_puts(hive_buf *b, const char *s) { hive_buf_append(b, s, strlen(s)); }
void hive_buf_putc(hive_buf *b, char c) { hive_buf_append(b, &c, 1); }

void hive_buf_printf(hive_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void hive_buf_reset(hive_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *hive_buf_detach(hive_buf *b)
{
	char *s = b->data ? b->data : hive_xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void hive_buf_dispose(hive_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *hive_buf_str(const hive_buf *b) { return b->data ? b->data : ""; }

/* Length of the valid UTF-8 sequence at s[0..n) (2-4), or 0 if there is
 * none (overlong forms, surrogates and code points past U+10FFFF count as
 * invalid). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (!len || len > n || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

void hive_buf_put_safe(hive_buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n = c >= 0x80 ? utf8_seq(s + i, len - i) : 1;
		int c1 = n == 2 && c == 0xc2 && s[i + 1] < 0xa0; /* U+0080..U+009F */
		if (c >= 0x20 && c != 0x7f && n && !c1) {
			hive_buf_append(b, s + i, n);
			i += n;
			continue;
		}
		if (c == '\n' || c == '\r' || c == '\t' || c == 0x1b)
			hive_buf_printf(b, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 'e');
		else
			hive_buf_printf(b, "\\x%02x", c);
		i++; /* a C1 control: its second byte is escaped on the next turn */
	}
}

const char *hive_safe(const char *s)
{
	static _Thread_local hive_buf ring[8];
	static _Thread_local unsigned next;
	hive_buf *b = &ring[next++ % 8];
	hive_buf_reset(b);
	if (s)
		hive_buf_put_safe(b, s, strlen(s));
	return hive_buf_str(b);
}
