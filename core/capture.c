/*
 * capture.c - bounded capture of one output stream.  See capture.h.
 */
#include "core/capture.h"

#include "events/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_log(hive_capture *c, const char *path)
{
	char eb[128];

	/* The attempt dir is the runtime's to write in: whatever it left at
	 * this name goes, and O_EXCL|O_NOFOLLOW makes sure the file hive
	 * writes is the one it just created, not a FIFO or a link. */
	if (unlink(path) != 0 && errno != ENOENT)
		return hive_error_set(HIVE_ESYSTEM, "cannot replace the output log \"%s\": %s",
		                      path, strerror_r(errno, eb, sizeof eb));
	c->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (c->fd < 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot create the output log \"%s\": %s",
		                      path, strerror_r(errno, eb, sizeof eb));
	c->has_fd = 1;
	return 0;
}

int hive_capture_init(hive_capture *c, const char *path, size_t max_bytes)
{
	memset(c, 0, sizeof *c);
	if (!max_bytes)
		max_bytes = HIVE_OUTPUT_MAX_DEFAULT;
	if (max_bytes < HIVE_CAPTURE_MIN_BYTES)
		max_bytes = HIVE_CAPTURE_MIN_BYTES;
	c->head_max = max_bytes / 2;
	c->tail_max = max_bytes - c->head_max;
	if (path) {
		c->path = hive_xstrdup(path);
		int rc = open_log(c, path);
		if (rc) {
			hive_capture_dispose(c);
			return rc;
		}
	}
	return 0;
}

static void log_write(hive_capture *c, const void *data, size_t n)
{
	const char *p = data;

	while (c->has_fd && !c->write_errno && n) {
		ssize_t w = write(c->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			c->write_errno = errno; /* disk full: keep counting, stop writing */
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Append to the ring, overwriting its oldest bytes. */
static void ring_put(hive_capture *c, const char *p, size_t n)
{
	if (!c->ring)
		c->ring = hive_xmalloc(c->tail_max);
	if (n >= c->tail_max) {
		memcpy(c->ring, p + n - c->tail_max, c->tail_max);
		c->ring_start = 0;
		c->ring_len = c->tail_max;
		return;
	}
	size_t end = (c->ring_start + c->ring_len) % c->tail_max;
	size_t first = n < c->tail_max - end ? n : c->tail_max - end;
	memcpy(c->ring + end, p, first);
	memcpy(c->ring, p + first, n - first);
	c->ring_len += n;
	if (c->ring_len > c->tail_max) {
		c->ring_start = (c->ring_start + c->ring_len - c->tail_max) % c->tail_max;
		c->ring_len = c->tail_max;
	}
}

void hive_capture_feed(hive_capture *c, const void *data, size_t n)
{
	const char *p = data;

	if (!n)
		return;
	c->total_bytes += n;
	c->last = (unsigned char)p[n - 1];
	for (const char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++)
		c->newlines++;
	if (c->head.len < c->head_max) {
		size_t h = c->head_max - c->head.len;
		if (h > n)
			h = n;
		hive_buf_append(&c->head, p, h);
		log_write(c, p, h);
		p += h;
		n -= h;
	}
	if (n)
		ring_put(c, p, n);
}

void hive_capture_finish(hive_capture *c, hive_output *out)
{
	uint64_t left_out = c->total_bytes - c->head.len - c->ring_len;

	memset(out, 0, sizeof *out);
	hive_buf_append(&out->text, c->head.data ? c->head.data : "", c->head.len);
	if (left_out) {
		size_t mark = out->text.len;
		if (c->head.len && c->head.data[c->head.len - 1] != '\n')
			hive_buf_putc(&out->text, '\n');
		hive_buf_printf(&out->text, "[... %llu bytes left out: hive keeps the first %zu and the last "
		                "%zu bytes of an output (HIVE_MAX_OUTPUT_BYTES) ...]\n",
		                (unsigned long long)left_out, c->head_max, c->tail_max);
		out->truncated = 1;
		log_write(c, out->text.data + mark, out->text.len - mark);
	}
	size_t first = c->ring_len < c->tail_max - c->ring_start ? c->ring_len : c->tail_max - c->ring_start;
	size_t tail_at = out->text.len;
	if (c->ring_len) {
		hive_buf_append(&out->text, c->ring + c->ring_start, first);
		hive_buf_append(&out->text, c->ring, c->ring_len - first);
		log_write(c, out->text.data + tail_at, out->text.len - tail_at);
	}
	out->total_bytes = c->total_bytes;
	out->lines = c->newlines + (c->total_bytes && c->last != '\n');
}

void hive_capture_dispose(hive_capture *c)
{
	if (c->has_fd)
		close(c->fd);
	c->has_fd = 0;
	hive_buf_dispose(&c->head);
	free(c->ring);
	free(c->path);
	c->ring = c->path = NULL;
}

void hive_output_dispose(hive_output *o)
{
	hive_buf_dispose(&o->text);
	memset(o, 0, sizeof *o);
}

int hive_capture_limit(const char *name, size_t dflt, size_t *out)
{
	const char *v = getenv(name);
	char *end;

	*out = dflt;
	if (!v || !*v)
		return 0;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
	if (shift)
		end++;
	if (v[0] < '0' || v[0] > '9' || *end || errno || n > (SIZE_MAX >> shift) ||
	    (n << shift) < HIVE_CAPTURE_MIN_BYTES)
		return hive_error_set(HIVE_EINVALID, "%s=%s is not a byte limit; use a whole number of "
		                      "bytes of at least %zu, optionally with K, M or G (e.g. 8M)",
		                      name, v, HIVE_CAPTURE_MIN_BYTES);
	*out = (size_t)(n << shift);
	return 0;
}
