/*
 * engine.h - fixtures for the engine unit tests (projection, state,
 * schedule, resolve, finish): a real LMDB store in a fresh temp dir, and
 * events emitted through hive_emit() exactly as the commands emit them
 * (append + apply in one write transaction), so what a test reads back is
 * what the store holds.
 *
 * Ids are fixed, hex-only UUID-shaped strings built from a one-letter tag
 * and a number, so a test can name them, and can choose ids that share a
 * prefix (resolve tests).
 */
#ifndef HIVE_TEST_ENGINE_H
#define HIVE_TEST_ENGINE_H

#include "testutil.h"

#include <jansson.h>
#include <stdarg.h>

#include "core/policy.h"
#include "core/projection.h"
#include "events/error.h"
#include "events/event.h"
#include "events/store.h"

typedef struct {
	char *dir;
	hive_store *s;
} eng;

static inline void eng_open(eng *e)
{
	e->dir = tu_tmpdir();
	assert_int_equal(hive_store_open(e->dir, NULL, &e->s), 0);
}

static inline void eng_close(eng *e)
{
	if (e->s)
		hive_store_close(e->s);
	if (e->dir) {
		tu_rmrf(e->dir);
		free(e->dir);
	}
	e->s = NULL;
	e->dir = NULL;
}

/* cmocka setup/teardown that put an eng in *state. */
static int eng_setup(void **state) __attribute__((unused));
static int eng_setup(void **state)
{
	eng *e = calloc(1, sizeof *e);
	eng_open(e);
	*state = e;
	return 0;
}

static int eng_teardown(void **state) __attribute__((unused));
static int eng_teardown(void **state)
{
	eng *e = *state;
	eng_close(e);
	free(e);
	kill_children();
	return 0;
}

/* A fixed id: "<c>0000000-0000-7000-8000-<n as 12 hex digits>" where c is a
 * hex digit naming the kind (a attempt, b project, c flow, d task). */
static inline const char *eng_id(char c, unsigned n)
{
	static char ring[32][HIVE_ID_LEN + 1];
	static unsigned next;
	char *s = ring[next++ % 32];
	snprintf(s, HIVE_ID_LEN + 1, "%c0000000-0000-7000-8000-%012x", c, n);
	return s;
}

#define PROJ_ID "b0000000-0000-7000-8000-000000000001"

typedef struct {
	hive_event_type type;
	const char *project, *flow, *task, *attempt;
	json_t *payload; /* stolen by the event */
} eng_ev;

static int eng_emit_fn(hive_txn *txn, void *vctx)
{
	eng_ev *x = vctx;
	hive_event ev;
	hive_event_init(&ev, x->type, json_incref(x->payload));
	hive_event_correlate(&ev, x->project, x->flow, x->task, x->attempt);
	int rc = hive_emit(txn, &ev);
	hive_event_dispose(&ev);
	return rc;
}

/* Emit one event (payload stolen; NULL = {}) in its own write transaction
 * and return what the store returned: 0, or the refusal's code. */
static inline int eng_emit(eng *e, hive_event_type type, const char *flow, const char *task,
			   const char *attempt, json_t *payload)
{
	eng_ev x = {type, PROJ_ID, flow, task, attempt, payload ? payload : json_object()};
	int rc = hive_store_write(e->s, eng_emit_fn, &x);
	json_decref(x.payload);
	return rc;
}

/* The same, from JSON text (asserts it parses). */
static inline int eng_emits(eng *e, hive_event_type type, const char *flow, const char *task,
			    const char *attempt, const char *payload_json)
{
	json_error_t jerr;
	json_t *p = json_loads(payload_json ? payload_json : "{}", 0, &jerr);
	if (!p)
		fail_msg("bad test payload %s: %s", payload_json, jerr.text);
	return eng_emit(e, type, flow, task, attempt, p);
}

/* Append an event to the log WITHOUT applying it: a log as an older or
 * broken writer might have left it, for replay tests. */
static int eng_raw_fn(hive_txn *txn, void *vctx)
{
	eng_ev *x = vctx;
	hive_event ev;
	hive_event_init(&ev, x->type, json_incref(x->payload));
	hive_event_correlate(&ev, x->project, x->flow, x->task, x->attempt);
	int rc = hive_txn_append(txn, &ev);
	hive_event_dispose(&ev);
	return rc;
}

static inline void eng_append_raw(eng *e, hive_event_type type, const char *flow, const char *task,
				  json_t *payload)
{
	eng_ev x = {type, PROJ_ID, flow, task, NULL, payload};
	assert_int_equal(hive_store_write(e->s, eng_raw_fn, &x), 0);
	json_decref(payload);
}

typedef struct {
	char key[512];
	json_t *doc;
	uint64_t seq;
} eng_get_ctx;

static int eng_get_fn(hive_txn *txn, void *vctx)
{
	eng_get_ctx *c = vctx;
	c->doc = c->key[0] ? hive_proj_get(txn, "%s", c->key) : NULL;
	c->seq = hive_txn_last_seq(txn);
	return 0;
}

/* A projection document: new reference, or NULL when absent. */
static json_t *eng_get(eng *e, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static json_t *eng_get(eng *e, const char *fmt, ...)
{
	eng_get_ctx c = {0};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c.key, sizeof c.key, fmt, ap);
	va_end(ap);
	assert_int_equal(hive_store_read(e->s, eng_get_fn, &c), 0);
	return c.doc;
}

static inline uint64_t eng_last_seq(eng *e)
{
	eng_get_ctx c = {0};
	assert_int_equal(hive_store_read(e->s, eng_get_fn, &c), 0);
	return c.seq;
}

/* The member at a dotted path ("a.b", "a.0" indexes arrays) of doc, borrowed. */
static inline json_t *eng_at(json_t *doc, const char *path)
{
	if (!path)
		return doc;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	json_t *v = doc;
	for (char *save = NULL, *part = strtok_r(buf, ".", &save); v && part; part = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(part, NULL, 10)) : json_object_get(v, part);
	return v;
}

/* The string at path, or "" (never NULL, so assert_string_equal reads well). */
static inline const char *eng_str(json_t *doc, const char *path)
{
	const char *s = json_string_value(eng_at(doc, path));
	return s ? s : "";
}

/* Assert doc[path] (path NULL: doc itself) equals the JSON text want;
 * prints both on failure. */
static inline void eng_expect(json_t *doc, const char *what, const char *path, const char *want)
{
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
	if (!w)
		fail_msg("bad expected JSON %s", want);
	json_t *got = eng_at(doc, path);
	if (!got || !json_equal(got, w)) {
		char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		json_decref(w);
		fail_msg("%s.%s: got %s, expected %s", what, path, g ? g : "(absent)", want);
	}
	json_decref(w);
}

typedef struct {
	uint64_t after;
	json_t *out;
} eng_scan_ctx;

static int eng_scan_one(uint64_t seq, hive_slice raw, void *vctx)
{
	eng_scan_ctx *c = vctx;
	(void)seq;
	json_t *ev = json_loadb(raw.data, raw.len, 0, NULL);
	assert_non_null(ev);
	json_array_append_new(c->out, ev);
	return 0;
}

static int eng_scan_fn(hive_txn *txn, void *vctx)
{
	eng_scan_ctx *c = vctx;
	hive_event_filter f = {.after = c->after};
	return hive_txn_scan(txn, &f, eng_scan_one, c);
}

/* The envelopes of every event after seq `after`, as a new JSON array. */
static inline json_t *eng_events_after(eng *e, uint64_t after)
{
	eng_scan_ctx c = {after, json_array()};
	assert_int_equal(hive_store_read(e->s, eng_scan_fn, &c), 0);
	return c.out;
}

/* "type" or "type:<payload member>" of each event after `after`, joined by
 * spaces, into buf: a compact picture of what a step emitted. */
static inline const char *eng_types_after(eng *e, uint64_t after, const char *member, char *buf, size_t n)
{
	json_t *evs = eng_events_after(e, after), *ev;
	size_t i, len = 0;
	buf[0] = '\0';
	json_array_foreach(evs, i, ev) {
		const char *m = member ? json_string_value(json_object_get(json_object_get(ev, "payload"), member)) : NULL;
		len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s%s%s", i ? " " : "",
					json_string_value(json_object_get(ev, "type")), m ? ":" : "", m ? m : "");
	}
	json_decref(evs);
	return buf;
}

/* ---- building a project, tasks and a flow ---------------------------------------- */

static inline void eng_project(eng *e, const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "{\"name\":\"%s\",\"repo\":\"/nonexistent/repo\",\"description\":\"\"}", name);
	assert_int_equal(eng_emits(e, HIVE_EV_PROJECT_CREATED, NULL, NULL, NULL, p), 0);
}

/* The canonical retry policy for the user-form JSON text (NULL = defaults). */
static inline json_t *eng_policy(const char *retry_json)
{
	json_t *obj = retry_json ? json_loads(retry_json, 0, NULL) : NULL;
	hive_retry_policy p;
	if (hive_retry_policy_parse(obj, NULL, NULL, &p) != 0)
		fail_msg("bad test policy %s: %s", retry_json ? retry_json : "(default)", hive_error_last());
	json_decref(obj);
	return hive_retry_policy_to_json(&p);
}

/* Task `key` with id task_id depending on the task ids in deps (NULL
 * terminated, may be NULL), retry policy in user form (NULL = default). */
static inline void eng_task(eng *e, const char *task_id, const char *key, const char *const *deps,
			    const char *retry_json)
{
	json_t *d = json_array();
	for (size_t i = 0; deps && deps[i]; i++)
		json_array_append_new(d, json_string(deps[i]));
	json_t *p = json_pack("{s:s,s:s,s:o,s:o,s:{s:s}}", "key", key, "title", key, "depends_on", d, "retry",
			      eng_policy(retry_json), "runtime", "adapter", "exec");
	assert_int_equal(eng_emit(e, HIVE_EV_TASK_CREATED, NULL, task_id, NULL, p), 0);
}

/* Flow `name` over the task ids (NULL terminated); defaults JSON text or NULL. */
static inline void eng_flow(eng *e, const char *flow_id, const char *name, const char *const *tasks,
			    const char *defaults_json)
{
	json_t *ids = json_array();
	for (size_t i = 0; tasks[i]; i++)
		json_array_append_new(ids, json_string(tasks[i]));
	json_t *defaults = defaults_json ? json_loads(defaults_json, 0, NULL) : json_object();
	assert_non_null(defaults);
	json_t *p = json_pack("{s:s,s:o,s:o}", "name", name, "task_ids", ids, "defaults", defaults);
	assert_int_equal(eng_emit(e, HIVE_EV_FLOW_CREATED, flow_id, NULL, NULL, p), 0);
}

static inline void eng_flow_start(eng *e, const char *flow_id)
{
	assert_int_equal(eng_emits(e, HIVE_EV_FLOW_STARTED, flow_id, NULL, NULL,
				   "{\"base_commit\":\"0123456789abcdef0123456789abcdef01234567\"}"), 0);
}

/* Move a task through the given states ("ready", "running", ...), one
 * task_state_changed each, asserting each is accepted. */
static inline void eng_move(eng *e, const char *flow_id, const char *task_id, ...)
{
	va_list ap;
	va_start(ap, task_id);
	for (const char *to; (to = va_arg(ap, const char *));) {
		json_t *t = eng_get(e, "task/%s", task_id);
		assert_non_null(t);
		json_t *p = json_pack("{s:s,s:s}", "from", eng_str(t, "state"), "to", to);
		json_decref(t);
		int rc = eng_emit(e, HIVE_EV_TASK_STATE_CHANGED, flow_id, task_id, NULL, p);
		if (rc)
			fail_msg("task %s -> %s refused: %s", task_id, to, hive_error_last());
	}
	va_end(ap);
}

/* attempt_started for a running task (attempt number n, runtime exec). */
static inline void eng_attempt(eng *e, const char *flow_id, const char *task_id, const char *attempt_id, int n)
{
	json_t *p = json_pack("{s:i,s:s,s:s}", "attempt_number", n, "runtime", "exec", "worktree", "/wt");
	int rc = eng_emit(e, HIVE_EV_ATTEMPT_STARTED, flow_id, task_id, attempt_id, p);
	if (rc)
		fail_msg("attempt_started refused: %s", hive_error_last());
}

#endif
