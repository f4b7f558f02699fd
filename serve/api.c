/* api.c - /api/v1: documents, logs, steering (see api.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "events/error.h"
#include "events/json.h"
#include "serve/api.h"
#include "serve/sse.h"

static int is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* 0 or a query's result: the document, or the library's error. */
static enum MHD_Result answer(hive_http_req *r, int rc, json_t *doc)
{
	if (rc) {
		json_decref(doc);
		return hive_http_hive_error(r, rc);
	}
	return hive_http_json(r, 200, hive_doc_wrap(doc)); /* the CLI's --json bytes (hive.h, documents) */
}

/* Refuse a query argument the endpoint does not take. */
#define REFUSE_ARGS(r, ...)                                                     \
	do {                                                                    \
		static const char *const allowed_[] = {__VA_ARGS__, NULL};      \
		enum MHD_Result ret_;                                           \
		if (hive_http_refuse_args(r, allowed_, &ret_))                  \
			return ret_;                                            \
	} while (0)

#define NO_ARGS(r)                                                              \
	do {                                                                    \
		static const char *const none_[] = {NULL};                      \
		enum MHD_Result ret_;                                           \
		if (hive_http_refuse_args(r, none_, &ret_))                     \
			return ret_;                                            \
	} while (0)

/* ---- documents ------------------------------------------------------------------ */

static enum MHD_Result projects(hive_store *s, hive_http_req *r)
{
	NO_ARGS(r);
	json_t *d = NULL;
	int rc = hive_doc_project_list(s, &d);
	return answer(r, rc, d);
}

static enum MHD_Result flows(hive_store *s, hive_http_req *r, char **seg, size_t n)
{
	json_t *d = NULL;
	int rc;
	if (n == 1) {
		REFUSE_ARGS(r, "project");
		rc = hive_doc_flow_list(s, hive_http_arg(r, "project"), &d);
	} else if (n == 2) {
		NO_ARGS(r);
		rc = hive_doc_flow_show(s, seg[1], &d);
	} else if (n == 3 && is(seg[2], "status")) {
		NO_ARGS(r);
		rc = hive_doc_flow_status(s, seg[1], &d);
	} else {
		return hive_http_error(r, 404, "not_found", "no such endpoint: %s", r->raw_uri);
	}
	return answer(r, rc, d);
}

static enum MHD_Result tasks_get(hive_store *s, hive_http_req *r, char **seg, size_t n)
{
	json_t *d = NULL;
	int rc;
	if (n == 1) {
		REFUSE_ARGS(r, "flow", "project");
		hive_task_filter f = {.project_ref = hive_http_arg(r, "project"), .flow_ref = hive_http_arg(r, "flow")};
		rc = hive_doc_task_list(s, &f, &d);
	} else {
		NO_ARGS(r);
		rc = hive_doc_task_show(s, seg[1], &d);
	}
	return answer(r, rc, d);
}

static enum MHD_Result attempt_list(hive_store *s, hive_http_req *r)
{
	REFUSE_ARGS(r, "flow", "task");
	hive_attempt_filter f = {.task_ref = hive_http_arg(r, "task"), .flow_ref = hive_http_arg(r, "flow")};
	json_t *d = NULL;
	int rc = hive_doc_attempt_list(s, &f, &d);
	return answer(r, rc, d);
}

static enum MHD_Result text(hive_http_req *r, const char *ctype, const hive_bytes *b, const char *missing,
			    const char *ref)
{
	if (!b->data)
		return hive_http_error(r, 404, "not_found", "attempt %s has no %s", ref, missing);
	return hive_http_reply(r, 200, ctype, b->data, b->len);
}

/* Without ?check=: the runtime's stdout and stderr, as `attempt inspect
 * --output` prints them. */
static enum MHD_Result runtime_output(hive_http_req *r, const hive_attempt_detail *d)
{
	hive_buf b = {0};
	const hive_bytes *parts[2] = {&d->runtime_stdout, &d->runtime_stderr};
	const char *titles[2] = {"runtime stdout", "runtime stderr"};
	for (int i = 0; i < 2; i++) {
		hive_buf_printf(&b, "--- %s%s\n", titles[i], parts[i]->data ? "" : " (none)");
		if (parts[i]->data) {
			hive_buf_append(&b, parts[i]->data, parts[i]->len);
			if (parts[i]->len && parts[i]->data[parts[i]->len - 1] != '\n')
				hive_buf_putc(&b, '\n');
		}
	}
	enum MHD_Result ret = hive_http_reply(r, 200, "text/plain; charset=utf-8", b.data, b.len);
	hive_buf_dispose(&b);
	return ret;
}

static enum MHD_Result check_output(hive_http_req *r, const hive_attempt_detail *d, const char *name,
				    const char *ref)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(d->attempt, "checks"), i, c)
		if (i < d->n_checks && is(hive_json_str(c, "name") ? hive_json_str(c, "name") : "", name))
			return text(r, "text/plain; charset=utf-8", &d->check_output[i], "stored output of that check",
				    ref);
	return hive_http_error(r, 404, "not_found", "attempt %s ran no check named \"%s\"", ref, name);
}

static enum MHD_Result attempt_part(hive_http_req *r, const hive_attempt_detail *d, const char *part,
				    const char *ref)
{
	if (is(part, "context")) {
		const char *md = hive_json_str(json_object_get(d->attempt, "context"), "context");
		hive_bytes b = {(char *)md, md ? strlen(md) : 0};
		return text(r, "text/markdown; charset=utf-8", &b,
			    "retry context: it was the task's first attempt", ref);
	}
	if (is(part, "diff"))
		return text(r, "text/plain; charset=utf-8", &d->diff, "stored diff", ref);
	const char *check = hive_http_arg(r, "check");
	return check ? check_output(r, d, check, ref) : runtime_output(r, d);
}

static enum MHD_Result attempts(hive_store *s, hive_http_req *r, char **seg, size_t n)
{
	if (n == 1)
		return attempt_list(s, r);
	const char *part = n == 3 ? seg[2] : NULL;
	if (n > 3 || (part && !is(part, "context") && !is(part, "diff") && !is(part, "output")))
		return hive_http_error(r, 404, "not_found", "no such endpoint: %s", r->raw_uri);
	if (part && is(part, "output"))
		REFUSE_ARGS(r, "check");
	else
		NO_ARGS(r);
	unsigned what = !part ? 0 : is(part, "diff") ? HIVE_INSPECT_DIFF : is(part, "output") ? HIVE_INSPECT_OUTPUT : 0;
	hive_attempt_detail d;
	int rc = hive_attempt_inspect(s, seg[1], what, &d);
	if (rc)
		return hive_http_hive_error(r, rc);
	enum MHD_Result ret = part ? attempt_part(r, &d, part, seg[1])
				   : hive_http_json(r, 200, hive_doc_wrap(json_incref(d.attempt)));
	hive_attempt_detail_dispose(&d);
	return ret;
}

/* ---- the log as NDJSON ------------------------------------------------------------ */

/* GET /api/v1/events reads in batches while MHD sends, so a long log is
 * never held in memory; it ends at the last seq of the first snapshot
 * (like `events list`, one answer, not a follow). */
typedef struct {
	hive_store *s;
	hive_sse_filter f;          /* the same filters as the stream, resolved once */
	uint64_t after, end, left; /* left: events still allowed (UINT64_MAX = no limit) */
	hive_buf out;
	size_t off;
	int done;
} ndjson;

static void ndjson_free(void *cls)
{
	ndjson *nj = cls;
	hive_sse_filter_dispose(&nj->f);
	hive_buf_dispose(&nj->out);
	free(nj);
}

static int put_line(uint64_t seq, hive_slice raw, void *ctx)
{
	ndjson *nj = ctx;
	if (seq > nj->end || !nj->left) {
		nj->done = 1;
		return 1;
	}
	hive_buf_append(&nj->out, raw.data, raw.len);
	hive_buf_putc(&nj->out, '\n');
	nj->after = seq;
	nj->left--;
	return 0;
}

static int ndjson_fill(ndjson *nj)
{
	hive_events_query q = {.flow_ref = nj->f.flow, .task_ref = nj->f.task, .attempt_ref = nj->f.attempt,
			       .types = (const char *const *)nj->f.types, .n_types = nj->f.n_types,
			       .after = nj->after, .limit = 1000};
	size_t before = nj->out.len;
	uint64_t last = 0;
	int rc = hive_events_list(nj->s, &q, put_line, nj, &last);
	if (nj->end == UINT64_MAX)
		nj->end = last; /* the first batch fixes the snapshot's end */
	if (!rc && (nj->out.len == before || nj->after >= nj->end || !nj->left))
		nj->done = 1;
	return rc;
}

static ssize_t ndjson_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	ndjson *nj = cls;
	while (nj->off >= nj->out.len) {
		if (nj->done)
			return MHD_CONTENT_READER_END_OF_STREAM;
		hive_buf_reset(&nj->out);
		nj->off = 0;
		if (ndjson_fill(nj) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR; /* the status is sent: cut the answer short */
	}
	size_t n = nj->out.len - nj->off < max ? nj->out.len - nj->off : max;
	memcpy(buf, nj->out.data + nj->off, n);
	nj->off += n;
	return (ssize_t)n;
}

static enum MHD_Result events(hive_store *s, hive_http_req *r)
{
	REFUSE_ARGS(r, "after", "flow", "task", "attempt", "type", "limit");
	uint64_t after = 0, limit = 0;
	const char *a = hive_http_arg(r, "after"), *l = hive_http_arg(r, "limit");
	if (a && hive_http_parse_u64(a, &after))
		return hive_http_error(r, 400, "invalid", "after=%s is not a seq (a non-negative integer)", a);
	if (l && hive_http_parse_u64(l, &limit))
		return hive_http_error(r, 400, "invalid", "limit=%s is not a non-negative integer", l);
	ndjson *nj = calloc(1, sizeof *nj);
	if (!nj)
		abort();
	*nj = (ndjson){.s = s, .after = after, .end = UINT64_MAX, .left = limit ? limit : UINT64_MAX};
	int rc = hive_sse_filter_init(s, r, &nj->f);
	if (!rc)
		rc = ndjson_fill(nj); /* now: a bad reference is a 4xx, not a cut answer */
	if (rc) {
		ndjson_free(nj);
		return hive_http_hive_error(r, rc);
	}
	struct MHD_Response *resp = hive_mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, ndjson_read, nj,
								      ndjson_free);
	if (!resp) {
		ndjson_free(nj);
		return MHD_NO;
	}
	hive_mhd.add_response_header(resp, "Content-Type", "application/x-ndjson");
	hive_mhd.add_response_header(resp, "Cache-Control", "no-store");
	hive_mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = hive_mhd.queue_response(r->conn, 200, resp);
	hive_mhd.destroy_response(resp);
	return ret;
}

/* ---- steering ----------------------------------------------------------------------- */

/* A member a POST body may have: 's' a string, 'b' a boolean, 'n' a
 * whole number from 1. */
typedef struct {
	const char *name;
	char type;
} body_member;

static int member_ok(const json_t *v, char type)
{
	switch (type) {
	case 'b': return json_is_boolean(v);
	case 'n': return json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 1000000;
	default: return json_is_string(v);
	}
}

/* The POST body: a JSON object of members in m (ended by a NULL name),
 * each of its type.  *out = new reference ({} for an empty body). */
static int body_of(hive_http_req *r, const body_member *m, json_t **out)
{
	*out = NULL;
	if (r->body.len == 0) {
		*out = json_object();
		return 0;
	}
	json_error_t je;
	json_t *b = json_loadb(r->body.data, r->body.len, 0, &je);
	if (!json_is_object(b)) {
		json_decref(b);
		return hive_error_set(HIVE_EINVALID, "the request body is not a JSON object%s%s", b ? "" : ": ",
				      b ? "" : je.text);
	}
	const char *k;
	json_t *v;
	json_object_foreach(b, k, v) {
		const body_member *e = m;
		while (e->name && !is(e->name, k))
			e++;
		int rc = 0;
		if (!e->name)
			rc = hive_error_set(HIVE_EINVALID, "body member \"%s\" is not one this endpoint takes", k);
		else if (!member_ok(v, e->type))
			rc = hive_error_set(HIVE_EINVALID, "body member \"%s\" must be %s", k,
					    e->type == 'b' ? "a boolean" : e->type == 'n' ? "a number from 1" : "a string");
		if (rc) {
			json_decref(b);
			return rc;
		}
	}
	*out = b;
	return 0;
}

/* The task's document after a change, as the CLI prints it. */
static enum MHD_Result task_after(hive_store *s, hive_http_req *r, int rc, const char *task)
{
	json_t *d = NULL;
	if (!rc)
		rc = hive_task_show(s, task, &d);
	return answer(r, rc, d);
}

static enum MHD_Result retry(hive_store *s, hive_http_req *r, const char *task)
{
	static const body_member m[] = {{"actor", 's'}, {"mode", 's'}, {"reset_count", 'b'}, {"note", 's'}, {0}};
	json_t *b;
	int rc = body_of(r, m, &b);
	hive_task_retry_opts o = {.actor = hive_json_str(b, "actor"), .mode = hive_json_str(b, "mode"),
				  .reset_count = json_is_true(json_object_get(b, "reset_count")),
				  .note = hive_json_str(b, "note")};
	if (!rc)
		rc = hive_task_retry(s, task, &o);
	enum MHD_Result ret = task_after(s, r, rc, task);
	json_decref(b);
	return ret;
}

static enum MHD_Result accept_task(hive_store *s, hive_http_req *r, const char *task)
{
	static const body_member m[] = {{"actor", 's'}, {"reason", 's'}, {"attempt", 'n'}, {0}};
	json_t *b;
	int rc = body_of(r, m, &b);
	hive_task_accept_opts o = {.actor = hive_json_str(b, "actor"), .reason = hive_json_str(b, "reason"),
				   .attempt = (int)json_integer_value(json_object_get(b, "attempt"))};
	if (!rc)
		rc = hive_task_accept(s, task, &o, NULL);
	enum MHD_Result ret = task_after(s, r, rc, task);
	json_decref(b);
	return ret;
}

static enum MHD_Result abort_task(hive_store *s, hive_http_req *r, const char *task)
{
	static const body_member m[] = {{"actor", 's'}, {"reason", 's'}, {0}};
	json_t *b;
	int rc = body_of(r, m, &b);
	if (!rc)
		rc = hive_task_abort(s, task, &(hive_act_opts){.actor = hive_json_str(b, "actor"),
							       .reason = hive_json_str(b, "reason")});
	json_decref(b);
	return answer(r, rc, rc ? NULL : json_pack("{s:s,s:s}", "task", task, "state", "aborted"));
}

/* A POST changes state, so a page on another site must not be able to
 * send one with the cookie: every POST (an empty body too) must say
 * Content-Type: application/json, which a form cannot send without a CORS
 * preflight we never answer; and a browser's Origin / Sec-Fetch-Site,
 * when sent, must name this server. */
static int cross_site(hive_http_req *r, enum MHD_Result *ret)
{
	const char *ct = hive_http_header(r, "Content-Type"), *origin = hive_http_header(r, "Origin");
	const char *host = hive_http_header(r, "Host"), *site = hive_http_header(r, "Sec-Fetch-Site");
	size_t n = ct ? strcspn(ct, "; \t") : 0;
	if (!ct || n != 16 || strncasecmp(ct, "application/json", 16) != 0) {
		*ret = hive_http_error(r, 415, "invalid", "every POST must be Content-Type: application/json "
				       "(an empty body too; it means {})");
		return 1;
	}
	if (origin && (!host || strncmp(origin, "http://", 7) != 0 || strcasecmp(origin + 7, host) != 0)) {
		*ret = hive_http_error(r, 403, "forbidden", "cross-site POST refused: Origin %s is not http://%s",
				       origin, host ? host : "(no Host)");
		return 1;
	}
	if (site && strcmp(site, "same-origin") != 0) {
		*ret = hive_http_error(r, 403, "forbidden", "cross-site POST refused: Sec-Fetch-Site is %s, not "
				       "same-origin", site);
		return 1;
	}
	return 0;
}

static enum MHD_Result tasks(hive_store *s, hive_http_req *r, char **seg, size_t n)
{
	int post = is(r->method, "POST");
	if (n <= 2 && !post)
		return tasks_get(s, r, seg, n);
	if (n == 3 && post) {
		NO_ARGS(r);
		enum MHD_Result ret;
		if (cross_site(r, &ret))
			return ret;
		if (is(seg[2], "retry"))
			return retry(s, r, seg[1]);
		if (is(seg[2], "abort"))
			return abort_task(s, r, seg[1]);
		if (is(seg[2], "accept"))
			return accept_task(s, r, seg[1]);
	}
	if (n == 3 && !post && (is(seg[2], "retry") || is(seg[2], "abort") || is(seg[2], "accept")))
		return hive_http_error(r, 405, "invalid", "%s takes POST", r->raw_uri);
	if (n <= 2 && post)
		return hive_http_error(r, 405, "invalid", "%s takes GET", r->raw_uri);
	return hive_http_error(r, 404, "not_found", "no such endpoint: %s", r->raw_uri);
}

enum MHD_Result hive_api_handle(hive_store *s, hive_http_req *r, char **seg, size_t n)
{
	const char *top = seg[0];
	if (is(top, "tasks"))
		return tasks(s, r, seg, n);
	if (!is(r->method, "GET") && !is(r->method, "HEAD"))
		return hive_http_error(r, 405, "invalid", "%s takes GET", r->raw_uri);
	if (is(top, "projects") && n == 1)
		return projects(s, r);
	if (is(top, "flows") && n <= 3)
		return flows(s, r, seg, n);
	if (is(top, "attempts"))
		return attempts(s, r, seg, n);
	if (is(top, "events") && n == 1)
		return events(s, r);
	return hive_http_error(r, 404, "not_found", "no such endpoint: %s", r->raw_uri);
}
