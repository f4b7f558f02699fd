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
