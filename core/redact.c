/*
 * redact.c - masking env_passthrough values in stored outputs (redact.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/redact.h"
#include "events/error.h"

static int longer_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

void hive_redact_init(hive_redact *r, const json_t *runtime)
{
	memset(r, 0, sizeof *r);
	const json_t *names = json_object_get(runtime, "env_passthrough"), *name;
	size_t i;
	r->values = hive_xcalloc(json_array_size(names) + 1, sizeof *r->values);
	json_array_foreach(names, i, name) {
		const char *v = json_string_value(name) ? getenv(json_string_value(name)) : NULL;
		if (!v || strlen(v) < HIVE_REDACT_MIN)
			continue;
		r->values[r->n++] = hive_xstrdup(v);
		if (strlen(v) > r->longest)
			r->longest = strlen(v);
	}
	qsort(r->values, r->n, sizeof *r->values, longer_first);
}

void hive_redact_dispose(hive_redact *r)
{
	for (size_t i = 0; r && i < r->n; i++)
		free(r->values[i]);
	if (r)
		free(r->values);
	if (r)
		memset(r, 0, sizeof *r);
}

/* Length of the value that starts at s (at most `avail` bytes), or 0. */
static size_t match_at(const hive_redact *r, const char *s, size_t avail)
{
	for (size_t k = 0; k < r->n; k++) {
		size_t len = strlen(r->values[k]);
		if (len <= avail && s[0] == r->values[k][0] && memcmp(s, r->values[k], len) == 0)
			return len;
	}
	return 0;
}

/*
 * Mask data[0..len) into out.  Unless `last`, the final longest-1 bytes
 * are held back (a value may continue in the next chunk): *used says how
 * many bytes were consumed.  Returns the number of values masked.
 */
static size_t mask_chunk(const hive_redact *r, const char *data, size_t len, int last, hive_buf *out, size_t *used)
{
	size_t keep = last ? 0 : r->longest - 1, i = 0, from = 0, n = 0;
	while (i + keep < len) {
		size_t m = match_at(r, data + i, len - i);
		if (!m) {
			i++;
			continue;
		}
		hive_buf_append(out, data + from, i - from);
		hive_buf_puts(out, HIVE_REDACT_MASK);
		i += m;
		from = i;
		n++;
	}
	hive_buf_append(out, data + from, i - from);
	*used = i;
	return n;
}

size_t hive_redact_buf(const hive_redact *r, hive_buf *b)
{
	if (!r || !r->n || !b->len)
		return 0;
	hive_buf out = {0};
	size_t used, n = mask_chunk(r, b->data, b->len, 1, &out, &used);
	if (n) {
		hive_buf_dispose(b);
		*b = out;
	} else {
		hive_buf_dispose(&out);
	}
	return n;
}

void hive_redact_json(const hive_redact *r, json_t *v)
{
	if (!r || !r->n || !v)
		return;
	if (json_is_string(v)) {
		hive_buf b = {0};
		hive_buf_append(&b, json_string_value(v), json_string_length(v));
		if (hive_redact_buf(r, &b))
			json_string_setn(v, b.data, b.len);
		hive_buf_dispose(&b);
	} else if (json_is_object(v)) {
		const char *key;
		json_t *item;
		json_object_foreach(v, key, item)
			hive_redact_json(r, item);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item)
			hive_redact_json(r, item);
	}
}

static int write_all(int fd, const hive_buf *b)
{
	for (size_t off = 0; off < b->len;) {
		ssize_t w = write(fd, b->data + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Stream in → out, masking; returns the count or -1 (errno set). */
static long mask_stream(const hive_redact *r, int in, int out)
{
	hive_buf pend = {0}, done = {0};
	char chunk[65536];
	long n = 0;
	for (;;) {
		ssize_t got = read(in, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		hive_buf_append(&pend, chunk, (size_t)got);
		size_t used;
		n += (long)mask_chunk(r, pend.data, pend.len, got == 0, &done, &used);
		memmove(pend.data, pend.data + used, pend.len - used);
		pend.len -= used;
		if (write_all(out, &done) != 0)
			break;
		hive_buf_reset(&done);
		if (got == 0) {
			hive_buf_dispose(&pend);
			hive_buf_dispose(&done);
			return n;
		}
	}
	int err = errno;
	hive_buf_dispose(&pend);
	hive_buf_dispose(&done);
	errno = err;
	return -1;
}

long hive_redact_file(const hive_redact *r, const char *path)
{
	if (!r || !r->n)
		return 0;
	int in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	if (in < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (in >= 0)
			close(in);
		return 0; /* missing, or not a file hive wrote: nothing to rewrite */
	}
	hive_buf tmp = {0};
	hive_buf_printf(&tmp, "%s.masked", path);
	unlink(tmp.data);
	int out = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	long n = out < 0 ? -1 : mask_stream(r, in, out);
	int err = errno;
	if (out >= 0 && close(out) != 0 && n >= 0) {
		err = errno;
		n = -1;
	}
	close(in);
	if (n > 0 && rename(tmp.data, path) != 0) {
		err = errno;
		n = -1;
	}
	if (n <= 0)
		unlink(tmp.data);
	if (n < 0)
		unlink(path); /* never keep a secret we could not mask */
	if (n < 0)
		n = hive_error_set(HIVE_ESYSTEM, "cannot mask secrets in \"%s\": %s", path, strerror(err));
	hive_buf_dispose(&tmp);
	return n;
}
