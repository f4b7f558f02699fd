/* http.c - requests and replies of `hive serve` (see http.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "events/error.h"
#include "serve/http.h"

hive_http_req *hive_http_req_new(struct hive_serve *srv, const char *raw_uri)
{
	hive_http_req *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->srv = srv;
	r->raw_uri = hive_xstrdup(raw_uri ? raw_uri : "");
	return r;
}

static void free_segments(char **seg, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(seg[i]);
	free(seg);
}

void hive_http_req_free(hive_http_req *r)
{
	if (!r)
		return;
	free(r->raw_uri);
	free_segments(r->seg, r->nseg);
	hive_buf_dispose(&r->body);
	free(r);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One segment [s, s+len) %-decoded into a new string; NULL when bad. */
static char *decode_segment(const char *s, size_t len)
{
	hive_buf b = {0};
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 2 < len ? hexval(s[i + 1]) : -1, lo = i + 2 < len ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				hive_buf_dispose(&b);
				return NULL;
			}
			hive_buf_putc(&b, (char)(hi * 16 + lo));
			i += 2;
		} else {
			hive_buf_putc(&b, c);
		}
	}
	const char *v = hive_buf_str(&b);
	if (!*v || strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
		hive_buf_dispose(&b);
		return NULL;
	}
	return hive_buf_detach(&b);
}

int hive_http_split_path(const char *raw, char ***seg, size_t *n)
{
	if (raw[0] != '/')
		return -1;
	size_t end = strcspn(raw, "?#");
	char **out = NULL;
	size_t count = 0;
	const char *p = raw + 1, *stop = raw + end;
	while (p < stop) {
		const char *slash = memchr(p, '/', (size_t)(stop - p));
		const char *e = slash ? slash : stop;
		char *s = decode_segment(p, (size_t)(e - p));
		if (!s) {
			/* "/" alone and a trailing "/" are fine; anything else empty is not */
			if (e == p && e == stop)
				break;
			free_segments(out, count);
			return -1;
		}
		char **grown = realloc(out, (count + 1) * sizeof *out);
		if (!grown)
			abort();
		out = grown;
		out[count++] = s;
		p = slash ? slash + 1 : stop;
	}
	*seg = out;
	*n = count;
	return 0;
}

enum MHD_Result hive_http_reply(hive_http_req *r, unsigned status, const char *ctype, const void *data,
				size_t len)
{
	struct MHD_Response *resp = hive_mhd.create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	hive_mhd.add_response_header(resp, "Content-Type", ctype);
	hive_mhd.add_response_header(resp, "Cache-Control", "no-store");
	hive_mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = hive_mhd.queue_response(r->conn, status, resp);
	hive_mhd.destroy_response(resp);
	return ret;
}

enum MHD_Result hive_http_json(hive_http_req *r, unsigned status, json_t *doc)
{
	char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!s)
		return hive_http_reply(r, 500, "application/json", "{\"schema\":2,\"error\":{\"code\":\"system\","
				       "\"message\":\"cannot encode the document\"}}\n", 81);
	hive_buf b = {0};
	hive_buf_puts(&b, s);
	hive_buf_putc(&b, '\n');
	free(s);
	enum MHD_Result ret = hive_http_reply(r, status, "application/json", b.data, b.len);
	hive_buf_dispose(&b);
	return ret;
}

enum MHD_Result hive_http_error(hive_http_req *r, unsigned status, const char *code, const char *fmt, ...)
{
	hive_buf m = {0};
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	hive_buf_put_safe(&m, msg ? msg : "", msg ? strlen(msg) : 0);
	free(msg);
	json_t *doc = json_pack("{s:i,s:{s:s,s:s}}", "schema", 2, "error", "code", code, "message", hive_buf_str(&m));
	hive_buf_dispose(&m);
	return hive_http_json(r, status, doc);
}

static unsigned status_of(int rc)
{
	switch (rc) {
	case HIVE_EINVALID: return 400;
	case HIVE_ENOTFOUND: return 404;
	case HIVE_EAMBIGUOUS: return 400;
	case HIVE_ECONFLICT: return 409;
	default: return 500;
	}
}

enum MHD_Result hive_http_hive_error(hive_http_req *r, int rc)
{
	return hive_http_error(r, status_of(rc), hive_error_name(rc), "%s", hive_error_last());
}

const char *hive_http_arg(hive_http_req *r, const char *name)
{
	return hive_mhd.lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *hive_http_header(hive_http_req *r, const char *name)
{
	return hive_mhd.lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

typedef struct {
	const char *const *allowed;
	const char *bad;
} args_check;

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	(void)value;
	args_check *c = cls;
	for (const char *const *a = c->allowed; *a; a++)
		if (strcmp(*a, key) == 0)
			return MHD_YES;
	c->bad = key;
	return MHD_NO;
}

int hive_http_refuse_args(hive_http_req *r, const char *const *allowed, enum MHD_Result *ret)
{
	args_check c = {allowed, NULL};
	hive_mhd.get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, check_arg, &c);
	if (!c.bad)
		return 0;
	hive_buf known = {0};
	for (const char *const *a = allowed; *a; a++)
		hive_buf_printf(&known, "%s%s", a == allowed ? "" : ", ", *a);
	*ret = hive_http_error(r, 400, "invalid", "unknown query parameter \"%s\"; this endpoint takes: %s", c.bad,
			       known.len ? hive_buf_str(&known) : "none");
	hive_buf_dispose(&known);
	return 1;
}

int hive_http_parse_u64(const char *s, uint64_t *out)
{
	if (!s || !*s || strlen(s) > 20)
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}
