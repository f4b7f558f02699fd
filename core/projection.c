/*
 * projection.c - applying events to projections (see projection.h).
 */
#include "core/projection.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/circuit.h"
#include "core/flowindex.h"
#include "core/outcome.h"
#include "core/policy.h"
#include "core/state.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/json.h"

/* ---- kv backends -------------------------------------------------------- */

static json_t *txn_get(hive_kv *kv, const char *key)
{
	return hive_proj_get(kv->impl, "%s", key);
}

static int txn_put(hive_kv *kv, const char *key, json_t *val)
{
	char *s = json_dumps(val, JSON_COMPACT | JSON_SORT_KEYS);
	if (!s)
		return hive_error_set(HIVE_ESYSTEM, "projection %s: cannot encode", key);
	int rc = hive_txn_put(kv->impl, key, s, strlen(s));
	free(s);
	return rc;
}

static int txn_del(hive_kv *kv, const char *key) { return hive_txn_del(kv->impl, key); }

void hive_kv_txn(hive_kv *kv, hive_txn *txn)
{
	*kv = (hive_kv){txn_get, txn_put, txn_del, txn};
}

static json_t *mem_get(hive_kv *kv, const char *key)
{
	json_t *v = json_object_get(kv->impl, key);
	return v ? json_deep_copy(v) : NULL;
}

static int mem_put(hive_kv *kv, const char *key, json_t *val)
{
	json_object_set_new(kv->impl, key, json_deep_copy(val));
	return 0;
}

static int mem_del(hive_kv *kv, const char *key)
{
	json_object_del(kv->impl, key);
	return 0;
}

void hive_kv_memory(hive_kv *kv, json_t *object)
{
	*kv = (hive_kv){mem_get, mem_put, mem_del, object};
}

/* ---- helpers ------------------------------------------------------------ */

json_t *hive_kv_getf(hive_kv *kv, const char *fmt, ...)
{
	char key[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(key, sizeof key, fmt, ap);
	va_end(ap);
	return kv->get(kv, key);
}

int hive_kv_putf(hive_kv *kv, json_t *val, const char *fmt, ...)
{
	char key[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(key, sizeof key, fmt, ap);
	va_end(ap);
	return kv->put(kv, key, val);
}

#define P(ev) ((ev)->payload)
#define PSTR(ev, k) json_string_value(json_object_get((ev)->payload, k))

static int bad_event(const hive_event *ev, const char *what)
{
	return hive_error_set(HIVE_ECONFLICT, "event %llu (%s): %s", (unsigned long long)ev->seq,
			      ev->type_name, what);
}

/* Copy every payload member into doc (doc borrowed). */
static void merge_payload(json_t *doc, const hive_event *ev)
{
	json_object_update(doc, P(ev));
}

/* put_doc, or only release doc when an earlier step failed (rc). */
static int put_doc_unless(int rc, hive_kv *kv, const char *kind, const char *id, json_t *doc);

/* Load a document that must exist; NULL with the error set otherwise. */
static json_t *must_get(hive_kv *kv, const hive_event *ev, const char *kind, const char *id)
{
	json_t *d = hive_kv_getf(kv, "%s/%s", kind, id);
	if (!d) {
		char msg[160];
		snprintf(msg, sizeof msg, "unknown %s %s", kind, id);
		bad_event(ev, msg);
	}
	return d;
}

static int put_doc(hive_kv *kv, const char *kind, const char *id, json_t *doc)
{
	int rc = hive_kv_putf(kv, doc, "%s/%s", kind, id);
	json_decref(doc);
	return rc;
}

static int put_doc_unless(int rc, hive_kv *kv, const char *kind, const char *id, json_t *doc)
{
	if (rc) {
		json_decref(doc);
		return rc;
	}
	return put_doc(kv, kind, id, doc);
}

/* ---- projects, tasks, flows ----------------------------------------------- */

static int apply_project_created(hive_kv *kv, const hive_event *ev)
{
	const char *name = PSTR(ev, "name");
	if (!name)
		return bad_event(ev, "payload has no name");
	json_t *existing = hive_kv_getf(kv, "name/project/%s", name);
	if (existing) {
		json_decref(existing);
		return hive_error_set(HIVE_ECONFLICT, "a project named \"%s\" already exists", name);
	}
	json_t *doc = json_deep_copy(P(ev));
	json_object_set_new(doc, "id", json_string(ev->project_id));
	json_object_set_new(doc, "created_at", json_string(ev->time));
	json_t *ref = json_pack("{s:s}", "id", ev->project_id);
	int rc = hive_kv_putf(kv, ref, "name/project/%s", name);
	json_decref(ref);
	return put_doc_unless(rc, kv, "project", ev->project_id, doc);
}

static int apply_task_created(hive_kv *kv, const hive_event *ev)
{
	json_t *doc = json_deep_copy(P(ev));
	json_object_set_new(doc, "id", json_string(ev->task_id));
	json_object_set_new(doc, "project_id", json_string(ev->project_id));
	json_object_set_new(doc, "created_at", json_string(ev->time));
	json_object_set_new(doc, "state", json_string("pending"));
	json_object_set_new(doc, "attempts", json_integer(0));
	json_object_set_new(doc, "attempt_ids", json_array());
	json_object_set_new(doc, "budget_used", json_array());
	json_object_set_new(doc, "flow_id", json_null());
	const char *key = PSTR(ev, "key");
	json_t *empty = json_object();
	int rc = key ? hive_kv_putf(kv, empty, "taskkey/%s/%s", key, ev->task_id) : 0;
	json_decref(empty);
	return put_doc_unless(rc, kv, "task", ev->task_id, doc);
}

/* retry.deadline (SPEC 12): the instant the first attempt since the last
 * reset recorded in attempt_started; a reset or a new flow clears it. */
static void deadline_clear(json_t *task)
{
	json_object_del(task, "deadline_at");
	json_object_del(task, "deadline_at_ms");
}

static int attach_task(hive_kv *kv, const hive_event *ev, const char *task_id)
{
	json_t *task = must_get(kv, ev, "task", task_id);
	if (!task)
		return HIVE_ECONFLICT;
	const char *cur = json_string_value(json_object_get(task, "flow_id"));
	if (cur) {
		json_t *flow = hive_kv_getf(kv, "flow/%s", cur);
		hive_flow_state st = hive_proj_flow_state(flow);
		if (st != HIVE_FLOW_UNKNOWN && !hive_flow_state_ended(st)) {
			/* cur is borrowed from task: report before releasing it */
			const char *fname = json_string_value(json_object_get(flow, "name"));
			int rc = hive_error_set(HIVE_ECONFLICT, "task %s is already in flow %s (%s), which has not ended",
						task_id, fname ? fname : "?", cur);
			json_decref(flow);
			json_decref(task);
			return rc;
		}
		json_decref(flow);
	}
	json_object_set_new(task, "flow_id", json_string(ev->flow_id));
	deadline_clear(task); /* a new flow: a new retry.deadline */
	/* a new flow has its own base and worktree: commits of an earlier
	 * flow must not decide where this one's attempts start — unless the
	 * task already succeeded: it will not run again, and its dependants
	 * build on its result */
	if (hive_proj_task_state(task) != HIVE_TASK_SUCCESS) {
		json_object_del(task, "base_commit");
		json_object_del(task, "last_commit");
		json_object_del(task, "result_commit");
	}
	return put_doc(kv, "task", task_id, task);
}

static int apply_flow_created(hive_kv *kv, const hive_event *ev)
{
	const char *name = PSTR(ev, "name");
	json_t *ids = json_object_get(P(ev), "task_ids");
	if (!name || !json_is_array(ids))
		return bad_event(ev, "payload needs name and task_ids");
	/* SPEC section 12: a name can be reused once the flow holding it has
	 * ended (the command also checks that its result branches are gone);
	 * the index then names the newest flow */
	json_t *existing = hive_kv_getf(kv, "name/flow/%s", name);
	const char *holder_id = hive_json_str(existing, "id");
	json_t *holder = holder_id ? hive_kv_getf(kv, "flow/%s", holder_id) : NULL;
	int live = existing && !hive_flow_state_ended(hive_proj_flow_state(holder));
	json_decref(holder);
	json_decref(existing);
	if (live)
		return hive_error_set(HIVE_ECONFLICT, "a flow named \"%s\" already exists and has not ended; pick another name",
				      name);
	size_t i;
	json_t *id;
	int rc = 0;
	json_array_foreach(ids, i, id) {
		if ((rc = attach_task(kv, ev, json_string_value(id))))
			return rc;
	}
	json_t *doc = json_deep_copy(P(ev));
	json_object_set_new(doc, "id", json_string(ev->flow_id));
	json_object_set_new(doc, "project_id", json_string(ev->project_id));
	json_object_set_new(doc, "created_at", json_string(ev->time));
	json_object_set_new(doc, "state", json_string("created"));
	/* the task list never changes and is as long as the flow: stored
	 * apart, so the flow document a tick reads stays small (schema 4;
	 * hive_proj_flow puts it back) */
	json_object_del(doc, "task_ids");
	json_t *list = json_pack("{s:O}", "task_ids", ids);
	rc = hive_kv_putf(kv, list, "flowtasks/%s", ev->flow_id);
	json_decref(list);
	json_t *ref = json_pack("{s:s}", "id", ev->flow_id);
	if (!rc)
		rc = hive_kv_putf(kv, ref, "name/flow/%s", name);
	json_decref(ref);
	rc = put_doc_unless(rc, kv, "flow", ev->flow_id, doc);
	return rc ? rc : hive_flowindex_flow_created(kv, ev->flow_id, ids);
}

/* Flow transitions: from-set for each event. */
static int apply_flow_state(hive_kv *kv, const hive_event *ev, unsigned from_mask, hive_flow_state to)
{
	json_t *flow = must_get(kv, ev, "flow", ev->flow_id);
	if (!flow)
		return HIVE_ECONFLICT;
	const char *cur = hive_json_str(flow, "state");
	hive_flow_state st = hive_proj_flow_state(flow);
	if (st == HIVE_FLOW_UNKNOWN || !((from_mask >> st) & 1u)) {
		/* cur is borrowed from flow: report before releasing it */
		int rc = hive_error_set(HIVE_ECONFLICT, "flow %s is %s; it cannot become %s",
					ev->flow_id, cur ? cur : "?", hive_flow_state_name(to));
		json_decref(flow);
		return rc;
	}
	json_object_set_new(flow, "state", json_string(hive_flow_state_name(to)));
	json_object_set_new(flow, "state_since", json_string(ev->time));
	const char *reason = PSTR(ev, "reason");
	if (reason)
		json_object_set_new(flow, "reason", json_string(reason));
	else
		json_object_del(flow, "reason"); /* a reason belongs to the state it explained */
	const char *base = PSTR(ev, "base_commit");
	if (base)
		json_object_set_new(flow, "base_commit", json_string(base));
	return put_doc(kv, "flow", ev->flow_id, flow);
}

#define FB(s) (1u << HIVE_FLOW_##s)

static int apply_flow_event(hive_kv *kv, const hive_event *ev)
{
	switch (ev->type) {
	case HIVE_EV_FLOW_STARTED:   return apply_flow_state(kv, ev, FB(CREATED), HIVE_FLOW_RUNNING);
	case HIVE_EV_FLOW_PAUSED:    return apply_flow_state(kv, ev, FB(RUNNING), HIVE_FLOW_PAUSED);
	case HIVE_EV_FLOW_RESUMED:   return apply_flow_state(kv, ev, FB(PAUSED) | FB(FAILED), HIVE_FLOW_RUNNING);
	case HIVE_EV_FLOW_COMPLETED: return apply_flow_state(kv, ev, FB(RUNNING), HIVE_FLOW_COMPLETED);
	case HIVE_EV_FLOW_FAILED:    return apply_flow_state(kv, ev, FB(RUNNING), HIVE_FLOW_FAILED);
	case HIVE_EV_FLOW_ABORTED:
		return apply_flow_state(kv, ev, FB(CREATED) | FB(RUNNING) | FB(PAUSED) | FB(FAILED), HIVE_FLOW_ABORTED);
	default: return 0;
	}
}

#undef FB

/* ---- tasks ------------------------------------------------------------------ */

static int apply_task_state_changed(hive_kv *kv, const hive_event *ev)
{
	json_t *task = must_get(kv, ev, "task", ev->task_id);
	if (!task)
		return HIVE_ECONFLICT;
	const char *cur = hive_json_str(task, "state");
	const char *from = PSTR(ev, "from"), *to = PSTR(ev, "to");
	hive_task_state f = hive_task_state_parse(from), t = hive_task_state_parse(to);
	hive_task_state c = hive_proj_task_state(task);
	int rc = 0;
	if (f == HIVE_TASK_UNKNOWN || t == HIVE_TASK_UNKNOWN)
		rc = bad_event(ev, "from/to are not task states");
	else if (f != c)
		rc = hive_error_set(HIVE_ECONFLICT, "task %s is %s, not %s", ev->task_id, cur, from);
	else if (!hive_task_transition_legal(f, t))
		rc = hive_error_set(HIVE_ECONFLICT, "task %s: illegal transition %s -> %s (event %llu)",
				    ev->task_id, from, to, (unsigned long long)ev->seq);
	else if (t == HIVE_TASK_SUCCESS && f != HIVE_TASK_VERIFYING && !json_is_true(json_object_get(task, "accepting")))
		/* only `task accept` makes a task succeed without its checks */
		rc = hive_error_set(HIVE_ECONFLICT, "task %s: illegal transition %s -> %s without task_accepted (event %llu)",
				    ev->task_id, from, to, (unsigned long long)ev->seq);
	if (rc) {
		json_decref(task);
		return rc;
	}
	json_object_set_new(task, "state", json_string(to));
	json_object_set_new(task, "state_since", json_string(ev->time));
	json_object_del(task, "accepting");
	json_t *reason = json_object_get(P(ev), "reason");
	json_object_set(task, "reason", reason ? reason : json_null());
	if (t == HIVE_TASK_RUNNING || t == HIVE_TASK_PENDING) {
		json_object_del(task, "next_attempt_at");
		json_object_del(task, "next_attempt_at_ms");
	}
	if (t == HIVE_TASK_READY)
		json_object_del(task, "blocked_reason");
	rc = put_doc(kv, "task", ev->task_id, task);
	return rc ? rc : hive_flowindex_task_changed(kv, ev->task_id);
}

/* Merge the payload into the task (task_blocked, task_retry_scheduled...). */
static int apply_task_note(hive_kv *kv, const hive_event *ev, const char *field)
{
	json_t *task = must_get(kv, ev, "task", ev->task_id);
	if (!task)
		return HIVE_ECONFLICT;
	json_object_set(task, field, P(ev));
	if (ev->type == HIVE_EV_TASK_BLOCKED)
		json_object_set(task, "blocked_reason", json_object_get(P(ev), "reason"));
	if (ev->type == HIVE_EV_TASK_RETRY_SCHEDULED) {
		json_object_set(task, "next_attempt_at", json_object_get(P(ev), "not_before"));
		json_object_set(task, "next_attempt_at_ms", json_object_get(P(ev), "not_before_ms"));
	}
	int rc = put_doc(kv, "task", ev->task_id, task);
	if (!rc && ev->type == HIVE_EV_TASK_BLOCKED) /* its dependants read blocked_reason */
		rc = hive_flowindex_task_changed(kv, ev->task_id);
	return rc;
}

static void deadline_note(json_t *task, const hive_event *ev)
{
	json_t *ms = json_object_get(P(ev), "deadline_at_ms");
	if (!json_is_integer(ms))
		return;
	json_object_set(task, "deadline_at_ms", ms);
	json_object_set(task, "deadline_at", json_object_get(P(ev), "deadline_at"));
}

static int apply_retry_requested(hive_kv *kv, const hive_event *ev)
{
	json_t *task = must_get(kv, ev, "task", ev->task_id);
	if (!task)
		return HIVE_ECONFLICT;
	if (json_is_true(json_object_get(P(ev), "reset_count"))) {
		json_object_set_new(task, "budget_used", json_array());
		deadline_clear(task); /* the next attempt starts a new retry.deadline */
	}
	json_t *mode = json_object_get(P(ev), "mode");
	if (json_is_string(mode))
		json_object_set(task, "mode", mode);
	json_object_set_new(task, "retry_requests",
			    json_integer(json_integer_value(json_object_get(task, "retry_requests")) + 1));
	/* a person's note stays the task's guidance until another replaces it */
	const char *note = PSTR(ev, "note");
	if (note) {
		json_t *g = json_pack("{s:s,s:s,s:I}", "note", note, "time", ev->time, "before_attempt",
				      json_integer_value(json_object_get(task, "attempts")) + 1);
		const char *actor = PSTR(ev, "actor");
		if (actor)
			json_object_set_new(g, "actor", json_string(actor));
		json_object_set_new(task, "guidance", g);
	}
	return put_doc(kv, "task", ev->task_id, task);
}

/* A person's `task edit`: each changed field takes its "after" value; the
 * edit is kept (with its before/after) for the next retry context. */
static int apply_task_edited(hive_kv *kv, const hive_event *ev)
{
	json_t *task = must_get(kv, ev, "task", ev->task_id);
	if (!task)
		return HIVE_ECONFLICT;
	const char *field;
	json_t *change, *changes = json_object_get(P(ev), "changes");
	if (!json_is_object(changes)) {
		json_decref(task);
		return bad_event(ev, "payload has no changes object");
	}
	json_object_foreach(changes, field, change)
		json_object_set(task, field, json_object_get(change, "after"));
	json_t *edits = json_object_get(task, "edits");
	if (!json_is_array(edits)) {
		edits = json_array();
		json_object_set_new(task, "edits", edits);
	}
	json_t *e = json_deep_copy(P(ev));
	json_object_set_new(e, "time", json_string(ev->time));
	json_array_append_new(edits, e);
	/* `task edit` changes neither; an event that did would change what
	 * the task and its dependants wait for (the dependants lists of the
	 * flow's index stay those of flow_created) */
	int deps = json_object_get(changes, "depends_on") || json_object_get(changes, "key");
	int rc = put_doc(kv, "task", ev->task_id, task);
	return rc || !deps ? rc : hive_flowindex_task_changed(kv, ev->task_id);
}

/* A person's `task accept`: the accepted checkpoint is the task's result
 * (the task_state_changed to success follows in the same transaction). */
static int apply_task_accepted(hive_kv *kv, const hive_event *ev)
{
	json_t *task = must_get(kv, ev, "task", ev->task_id);
	if (!task)
		return HIVE_ECONFLICT;
	hive_task_state st = hive_proj_task_state(task);
	const char *commit = PSTR(ev, "commit");
	int rc = 0;
	if (st != HIVE_TASK_FAILED && st != HIVE_TASK_ESCALATED && st != HIVE_TASK_RETRY)
		rc = bad_event(ev, "the task is not failed, escalated or retry");
	else if (!commit)
		rc = bad_event(ev, "payload has no commit");
	if (rc) {
		json_decref(task);
		return rc;
	}
	json_object_set_new(task, "result_commit", json_string(commit));
	json_object_del(task, "next_attempt_at"); /* a retry it waited for will not run */
	json_object_del(task, "next_attempt_at_ms");
	json_t *a = json_deep_copy(P(ev));
	json_object_set_new(a, "time", json_string(ev->time));
	json_object_set_new(task, "accepted", a);
	json_object_set_new(task, "accepting", json_true()); /* the next change may be -> success */
	return put_doc(kv, "task", ev->task_id, task);
}

/* task_rebased (core/land.c): the task's next attempts start from the new
 * base, in every retry mode, so the old line of checkpoints is forgotten. */
static int apply_task_rebased(hive_kv *kv, const hive_event *ev)
{
	const char *to = PSTR(ev, "to");
	json_t *task = must_get(kv, ev, "task", ev->task_id);
	if (!task)
		return HIVE_ECONFLICT;
	if (!to) {
		json_decref(task);
		return bad_event(ev, "payload needs to");
	}
	json_object_set_new(task, "base_commit", json_string(to));
	json_object_del(task, "last_commit");
	json_object_set(task, "rebased", P(ev));
	return put_doc(kv, "task", ev->task_id, task);
}

/* flow_rebased moves the flow's base; flow_landed records its landed branch. */
static int apply_flow_note(hive_kv *kv, const hive_event *ev, const char *field)
{
	json_t *flow = must_get(kv, ev, "flow", ev->flow_id);
	if (!flow)
		return HIVE_ECONFLICT;
	json_object_set(flow, field, P(ev));
	const char *to = PSTR(ev, "to");
	if (ev->type == HIVE_EV_FLOW_REBASED && to)
		json_object_set_new(flow, "base_commit", json_string(to));
	return put_doc(kv, "flow", ev->flow_id, flow);
}

/* ---- attempts ---------------------------------------------------------------- */

static json_t *attempt_doc(hive_kv *kv, const hive_event *ev)
{
	json_t *a = hive_kv_getf(kv, "attempt/%s", ev->attempt_id);
	if (!a) {
		a = json_object();
		json_object_set_new(a, "id", json_string(ev->attempt_id));
		json_object_set_new(a, "task_id", json_string(ev->task_id));
		json_object_set_new(a, "flow_id", json_string(ev->flow_id));
		json_object_set_new(a, "project_id", json_string(ev->project_id));
		json_object_set_new(a, "checks", json_array());
	}
	return a;
}

static int apply_attempt_started(hive_kv *kv, const hive_event *ev)
{
	json_t *task = must_get(kv, ev, "task", ev->task_id);
	if (!task)
		return HIVE_ECONFLICT;
	if (hive_proj_task_state(task) != HIVE_TASK_RUNNING) {
		json_decref(task);
		return hive_error_set(HIVE_ECONFLICT, "task %s: attempt_started while not running", ev->task_id);
	}
	json_t *a = attempt_doc(kv, ev);
	merge_payload(a, ev);
	json_object_set_new(a, "state", json_string("running"));
	json_object_set_new(a, "started_at", json_string(ev->time));
	json_object_set_new(task, "attempts", json_integer(json_integer_value(json_object_get(task, "attempts")) + 1));
	json_array_append_new(json_object_get(task, "attempt_ids"), json_string(ev->attempt_id));
	json_object_set_new(task, "running_attempt", json_string(ev->attempt_id));
	json_object_set_new(task, "last_attempt_id", json_string(ev->attempt_id));
	/* `task retry --mode` chose how this attempt's worktree starts; later
	 * retries follow the policy again (issue 10) */
	json_object_del(task, "mode");
	deadline_note(task, ev);
	json_t *base = json_object_get(P(ev), "task_base_commit");
	if (json_is_string(base) && !json_object_get(task, "base_commit"))
		json_object_set(task, "base_commit", base);
	int rc = put_doc(kv, "attempt", ev->attempt_id, a);
	return put_doc_unless(rc, kv, "task", ev->task_id, task);
}

/* runtime_started/exited, changes_recorded, attempt_crashed, context: the
 * payload lands under one field of the attempt. */
/* An attempt is immutable once completed (SPEC section 1): a step event
 * that arrives after, e.g. from a runner whose attempt a person aborted,
 * is refused and its transaction written nowhere. */
static int refuse_completed(json_t *a, const hive_event *ev)
{
	const char *st = json_string_value(json_object_get(a, "state"));
	if (!st || strcmp(st, "completed") != 0)
		return 0;
	int rc = hive_error_set(HIVE_ECONFLICT, "attempt %s has completed; it cannot take %s",
				ev->attempt_id, ev->type_name);
	json_decref(a);
	return rc;
}

static int apply_attempt_field(hive_kv *kv, const hive_event *ev, const char *field)
{
	json_t *a = attempt_doc(kv, ev);
	int rc = refuse_completed(a, ev);
	if (rc)
		return rc;
	json_object_set(a, field, P(ev));
	return put_doc(kv, "attempt", ev->attempt_id, a);
}

static int apply_check_completed(hive_kv *kv, const hive_event *ev)
{
	json_t *a = attempt_doc(kv, ev);
	int rc = refuse_completed(a, ev);
	if (rc)
		return rc;
	json_array_append(json_object_get(a, "checks"), P(ev));
	json_object_del(a, "current_check"); /* its process group is gone */
	return put_doc(kv, "attempt", ev->attempt_id, a);
}

/* Count the attempt against its budget: the implicit budget counts every
 * attempt, explicit ones only the outcomes they route. */
static void count_budget(json_t *task, hive_outcome outcome)
{
	hive_retry_policy p;
	hive_retry_policy_of(task, &p);
	int idx = p.n_budgets == 0 ? 0 : hive_retry_policy_budget_for(&p, outcome);
	if (idx < 0 || outcome == HIVE_OUTCOME_SUCCESS || outcome == HIVE_OUTCOME_INTERRUPTED)
		return; /* an interrupted attempt is never charged (SPEC 12) */
	json_t *used = json_object_get(task, "budget_used");
	while ((int)json_array_size(used) <= idx)
		json_array_append_new(used, json_integer(0));
	json_array_set_new(used, (size_t)idx, json_integer(json_integer_value(json_array_get(used, (size_t)idx)) + 1));
}

/* A runtime's consecutive failures across the flow's tasks (circuit),
 * keyed as the attempt started (attempt_started.circuit; the adapter name
 * for attempts of an older hive), only in a flow that configures the
 * breaker (SPEC 12: off unless configured). */
static int count_circuit(hive_kv *kv, const hive_event *ev, json_t *attempt, hive_outcome outcome)
{
	const char *adapter = json_string_value(json_object_get(attempt, "runtime"));
	const char *key = json_string_value(json_object_get(attempt, "circuit"));
	if (!key)
		key = adapter;
	if (!key || hive_circuit_classify(outcome) == HIVE_CIRCUIT_IGNORED)
		return 0;
	json_t *flow = hive_kv_getf(kv, "flow/%s", ev->flow_id);
	int on = hive_circuit_configured(flow);
	json_decref(flow);
	if (!on)
		return 0;
	json_t *c = hive_kv_getf(kv, "circuit/%s/%s", ev->flow_id, key);
	if (!c)
		c = json_pack("{s:s,s:s,s:i}", "adapter", adapter ? adapter : key, "state", "closed",
			      "consecutive_failures", 0);
	/* the circuit's own rule (circuit.h), so the count here and the state
	 * machine's never disagree */
	int n = hive_circuit_failures_after(hive_circuit_state_parse(json_string_value(json_object_get(c, "state"))),
					    (int)json_integer_value(json_object_get(c, "consecutive_failures")), outcome);
	json_object_set_new(c, "consecutive_failures", json_integer(n));
	int rc = hive_kv_putf(kv, c, "circuit/%s/%s", ev->flow_id, key);
	json_decref(c);
	return rc;
}

static int apply_attempt_completed(hive_kv *kv, const hive_event *ev)
{
	json_t *task = must_get(kv, ev, "task", ev->task_id);
	if (!task)
		return HIVE_ECONFLICT;
	json_t *a = attempt_doc(kv, ev);
	if (!hive_proj_attempt_running(a)) {
		json_decref(task);
		json_decref(a);
		return hive_error_set(HIVE_ECONFLICT, "attempt %s is not running; it cannot complete", ev->attempt_id);
	}
	int outcome = hive_outcome_parse(PSTR(ev, "outcome"));
	if (outcome < 0) {
		json_decref(task);
		json_decref(a);
		return bad_event(ev, "unknown outcome");
	}
	merge_payload(a, ev);
	json_object_set_new(a, "state", json_string("completed"));
	json_object_set_new(a, "completed_at", json_string(ev->time));
	count_budget(task, outcome);
	json_object_set_new(task, "running_attempt", json_null());
	json_object_set_new(task, "last_outcome", json_string(hive_outcome_name(outcome)));
	const char *commit = json_string_value(json_object_get(json_object_get(a, "changes"), "commit"));
	if (commit)
		json_object_set_new(task, "last_commit", json_string(commit));
	if (outcome == HIVE_OUTCOME_SUCCESS && commit)
		json_object_set_new(task, "result_commit", json_string(commit));
	int rc = count_circuit(kv, ev, a, outcome);
	if (!rc)
		rc = put_doc(kv, "attempt", ev->attempt_id, a);
	else
		json_decref(a);
	return put_doc_unless(rc, kv, "task", ev->task_id, task);
}

static int apply_circuit(hive_kv *kv, const hive_event *ev, const char *state)
{
	const char *adapter = PSTR(ev, "adapter");
	const char *key = PSTR(ev, "circuit"); /* absent in events of an older hive: keyed by adapter */
	if (!adapter)
		return bad_event(ev, "payload has no adapter");
	if (!key)
		key = adapter;
	json_t *c = hive_kv_getf(kv, "circuit/%s/%s", ev->flow_id, key);
	if (!c)
		c = json_pack("{s:s,s:i}", "adapter", adapter, "consecutive_failures", 0);
	merge_payload(c, ev);
	json_object_set_new(c, "state", json_string(state));
	if (strcmp(state, "closed") == 0)
		json_object_set_new(c, "consecutive_failures", json_integer(0));
	int rc = hive_kv_putf(kv, c, "circuit/%s/%s", ev->flow_id, key);
	json_decref(c);
	return rc;
}

int hive_apply(hive_kv *kv, const hive_event *ev)
{
	switch (ev->type) {
	case HIVE_EV_PROJECT_CREATED:         return apply_project_created(kv, ev);
	case HIVE_EV_TASK_CREATED:            return apply_task_created(kv, ev);
	case HIVE_EV_FLOW_CREATED:            return apply_flow_created(kv, ev);
	case HIVE_EV_FLOW_STARTED:
	case HIVE_EV_FLOW_PAUSED:
	case HIVE_EV_FLOW_RESUMED:
	case HIVE_EV_FLOW_COMPLETED:
	case HIVE_EV_FLOW_FAILED:
	case HIVE_EV_FLOW_ABORTED:            return apply_flow_event(kv, ev);
	case HIVE_EV_TASK_STATE_CHANGED:      return apply_task_state_changed(kv, ev);
	case HIVE_EV_TASK_READY:              return apply_task_note(kv, ev, "last_ready");
	case HIVE_EV_TASK_BLOCKED:            return apply_task_note(kv, ev, "last_blocked");
	case HIVE_EV_TASK_RETRY_SCHEDULED:    return apply_task_note(kv, ev, "retry_scheduled");
	case HIVE_EV_TASK_ESCALATED:          return apply_task_note(kv, ev, "escalated");
	case HIVE_EV_TASK_ABORTED:            return apply_task_note(kv, ev, "aborted");
	case HIVE_EV_TASK_RETRY_REQUESTED:    return apply_retry_requested(kv, ev);
	case HIVE_EV_TASK_EDITED:             return apply_task_edited(kv, ev);
	case HIVE_EV_TASK_ACCEPTED:           return apply_task_accepted(kv, ev);
	case HIVE_EV_RETRY_CONTEXT_ASSEMBLED: return apply_attempt_field(kv, ev, "context");
	case HIVE_EV_ATTEMPT_STARTED:         return apply_attempt_started(kv, ev);
	case HIVE_EV_RUNTIME_STARTED:         return apply_attempt_field(kv, ev, "runtime_started");
	case HIVE_EV_RUNTIME_EXITED:          return apply_attempt_field(kv, ev, "runtime_exited");
	case HIVE_EV_CHANGES_RECORDED:        return apply_attempt_field(kv, ev, "changes");
	case HIVE_EV_CHECK_STARTED:           return apply_attempt_field(kv, ev, "current_check");
	case HIVE_EV_CHECK_COMPLETED:         return apply_check_completed(kv, ev);
	case HIVE_EV_ATTEMPT_COMPLETED:       return apply_attempt_completed(kv, ev);
	case HIVE_EV_ATTEMPT_CRASHED:         return apply_attempt_field(kv, ev, "crashed");
	case HIVE_EV_CIRCUIT_OPENED:          return apply_circuit(kv, ev, "open");
	case HIVE_EV_CIRCUIT_HALF_OPENED:     return apply_circuit(kv, ev, "half_open");
	case HIVE_EV_CIRCUIT_CLOSED:          return apply_circuit(kv, ev, "closed");
	case HIVE_EV_TASK_REBASED:            return apply_task_rebased(kv, ev);
	case HIVE_EV_FLOW_REBASED:            return apply_flow_note(kv, ev, "rebased");
	case HIVE_EV_FLOW_LANDED:             return apply_flow_note(kv, ev, "landed");
	default:                              return 0; /* unknown: kept in the log only */
	}
}

int hive_emit(hive_txn *txn, hive_event *ev)
{
	int rc = hive_txn_append(txn, ev);
	if (rc)
		return rc;
	hive_kv kv;
	hive_kv_txn(&kv, txn);
	return hive_apply(&kv, ev);
}

json_t *hive_proj_get(hive_txn *txn, const char *fmt, ...)
{
	char key[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(key, sizeof key, fmt, ap);
	va_end(ap);
	hive_slice v;
	if (hive_txn_get(txn, key, &v) != 0)
		return NULL;
	return json_loadb(v.data, v.len, 0, NULL);
}

/* ---- typed access ----------------------------------------------------------- */

json_t *hive_proj_project(hive_txn *txn, const char *project_id)
{
	return project_id ? hive_proj_get(txn, "project/%s", project_id) : NULL;
}

json_t *hive_proj_task(hive_txn *txn, const char *task_id)
{
	return task_id ? hive_proj_get(txn, "task/%s", task_id) : NULL;
}

json_t *hive_proj_flow_head(hive_txn *txn, const char *flow_id)
{
	return flow_id ? hive_proj_get(txn, "flow/%s", flow_id) : NULL;
}

json_t *hive_proj_flow_task_ids(hive_txn *txn, const char *flow_id)
{
	json_t *doc = flow_id ? hive_proj_get(txn, "flowtasks/%s", flow_id) : NULL;
	json_t *ids = json_incref(json_object_get(doc, "task_ids"));
	json_decref(doc);
	return ids ? ids : json_array();
}

json_t *hive_proj_flow_whole(hive_txn *txn, json_t *head)
{
	if (!json_is_object(head))
		return head;
	json_t *out = json_object(), *v;
	const char *k;
	int placed = 0;
	/* stored with sorted keys: task_ids goes where it always was, so a
	 * document printed in order looks as it did before schema 4 */
	json_object_foreach(head, k, v) {
		if (!placed && strcmp(k, "task_ids") > 0) {
			json_object_set_new(out, "task_ids", hive_proj_flow_task_ids(txn, hive_json_str(head, "id")));
			placed = 1;
		}
		json_object_set(out, k, v);
	}
	if (!placed)
		json_object_set_new(out, "task_ids", hive_proj_flow_task_ids(txn, hive_json_str(head, "id")));
	json_decref(head);
	return out;
}

json_t *hive_proj_flow(hive_txn *txn, const char *flow_id)
{
	return hive_proj_flow_whole(txn, hive_proj_flow_head(txn, flow_id));
}

json_t *hive_proj_attempt(hive_txn *txn, const char *attempt_id)
{
	return attempt_id ? hive_proj_get(txn, "attempt/%s", attempt_id) : NULL;
}

json_t *hive_proj_circuit(hive_txn *txn, const char *flow_id, const char *adapter)
{
	return flow_id && adapter ? hive_proj_get(txn, "circuit/%s/%s", flow_id, adapter) : NULL;
}

hive_task_state hive_proj_task_state(const json_t *task)
{
	return hive_task_state_parse(hive_json_str(task, "state"));
}

hive_flow_state hive_proj_flow_state(const json_t *flow)
{
	return hive_flow_state_parse(hive_json_str(flow, "state"));
}

int hive_proj_attempt_running(const json_t *attempt)
{
	const char *st = hive_json_str(attempt, "state");
	return st && strcmp(st, "running") == 0;
}

int hive_proj_attempt_outcome(const json_t *attempt)
{
	return hive_outcome_parse(hive_json_str(attempt, "outcome"));
}

int hive_proj_task_last_outcome(const json_t *task)
{
	return hive_outcome_parse(hive_json_str(task, "last_outcome"));
}

/* ---- verify and rebuild: the replay ------------------------------------------- */

/*
 * The replay's own kv: documents are shared, not copied.  A get returns
 * the stored document itself, which hive_apply changes in place before
 * putting it back, so an attempt with thousands of check events costs
 * linear time (hive_kv_memory copies the document on every get and put:
 * quadratic).  Unlike hive_kv_memory, an event refused half-way may leave
 * part of its changes behind; the replay reports every refusal anyway.
 */
static json_t *shared_get(hive_kv *kv, const char *key)
{
	return json_incref(json_object_get(kv->impl, key));
}

static int shared_put(hive_kv *kv, const char *key, json_t *val)
{
	json_object_set(kv->impl, key, val);
	return 0;
}

typedef struct {
	json_t *mem;
	hive_kv kv;
	void (*report)(const char *msg, void *ctx);
	void *ctx;
	uint64_t problems;
} replay_state;

static void replay_init(replay_state *rs, void (*report)(const char *msg, void *ctx), void *ctx)
{
	*rs = (replay_state){.mem = json_object(), .report = report, .ctx = ctx};
	rs->kv = (hive_kv){shared_get, shared_put, mem_del, rs->mem};
}

static void vproblem(replay_state *rs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vproblem(replay_state *rs, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	rs->problems++;
	if (rs->report)
		rs->report(msg, rs->ctx);
}

/* Apply one event of the log to the replay; a refusal is a problem of the
 * log (hive_emit never commits an event apply refuses), not an error. */
static int replay_apply(const hive_event *ev, void *ctx)
{
	replay_state *rs = ctx;
	if (hive_apply(&rs->kv, ev) != 0) {
		const char *msg = hive_error_last();
		if (strncmp(msg, "event ", 6) == 0) /* already names the event */
			vproblem(rs, "replay: %s", msg);
		else
			vproblem(rs, "replay: event %llu (%s): %s", (unsigned long long)ev->seq, ev->type_name, msg);
	}
	return 0;
}

static void replay_report(const char *msg, void *ctx)
{
	replay_state *rs = ctx;
	if (rs->report)
		rs->report(msg, rs->ctx);
}

/* Projections are stored as txn_put encodes them, so encoding the
 * replayed document the same way and comparing it with the stored bytes
 * as it is produced settles nearly every case (encoding is much cheaper
 * than parsing, and nothing is allocated); only when the bytes differ is
 * the stored document parsed and compared as JSON. */
typedef struct {
	const char *p;
	size_t left;
	int differs;
} byte_cmp;

static int cmp_chunk(const char *buf, size_t n, void *ctx)
{
	byte_cmp *c = ctx;
	if (n > c->left || memcmp(buf, c->p, n) != 0) {
		c->differs = 1;
		return -1; /* stops the encoder */
	}
	c->p += n;
	c->left -= n;
	return 0;
}

/* The fast path of same_document: walk the replayed document and the
 * stored bytes together, as txn_put's encoding (JSON_COMPACT |
 * JSON_SORT_KEYS) would lay them out, without running the encoder (which
 * goes through a callback per token and decodes every string as UTF-8:
 * most of verify's time above parsing).  It answers 1 only when the stored
 * bytes are a JSON text of exactly the replayed document; anything it does
 * not handle (reals) or lays out otherwise answers 0
 * and same_document falls back to the encoder and json_equal. */
typedef struct {
	const char *p, *end;
} byte_cursor;

static int take(byte_cursor *c, const char *s, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return 0;
	c->p += n;
	return 1;
}

/* One escape as the encoder writes it (jansson's dump_string). */
static int take_escape(byte_cursor *c, unsigned char ch)
{
	static const char short_form[] = {['"'] = '"', ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
					  ['\n'] = 'n',  ['\r'] = 'r',   ['\t'] = 't'};
	char seq[8];
	if (ch < sizeof short_form && short_form[ch])
		return take(c, (char[]){'\\', short_form[ch]}, 2);
	return take(c, seq, (size_t)snprintf(seq, sizeof seq, "\\u%04X", ch));
}

static int take_string(byte_cursor *c, const char *s, size_t n)
{
	if (!take(c, "\"", 1))
		return 0;
	size_t run = 0; /* bytes written as they are, not yet compared */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\') {
			run++;
			continue;
		}
		if (!take(c, s + i - run, run) || !take_escape(c, ch))
			return 0;
		run = 0;
	}
	return take(c, s + n - run, run) && take(c, "\"", 1);
}

static int match_value(byte_cursor *c, json_t *v);

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int match_object(byte_cursor *c, json_t *o)
{
	size_t n = json_object_size(o), i = 0;
	const char *small[32];
	const char **keys = n <= 32 ? small : hive_xmalloc(n * sizeof *keys);
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof *keys, cmp_key);
	int ok = take(c, "{", 1);
	for (i = 0; ok && i < n; i++)
		ok = (i == 0 || take(c, ",", 1)) && take_string(c, keys[i], strlen(keys[i])) && take(c, ":", 1) &&
		     match_value(c, json_object_get(o, keys[i]));
	ok = ok && take(c, "}", 1);
	if (keys != small)
		free(keys);
	return ok;
}

static int match_value(byte_cursor *c, json_t *v)
{
	char num[32];
	if (!v)
		return 0; /* a key with a NUL byte: left to the encoder */
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return match_object(c, v);
	case JSON_ARRAY: {
		int ok = take(c, "[", 1);
		for (size_t i = 0; ok && i < json_array_size(v); i++)
			ok = (i == 0 || take(c, ",", 1)) && match_value(c, json_array_get(v, i));
		return ok && take(c, "]", 1);
	}
	case JSON_STRING:
		return take_string(c, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return take(c, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
	case JSON_TRUE:
		return take(c, "true", 4);
	case JSON_FALSE:
		return take(c, "false", 5);
	case JSON_NULL:
		return take(c, "null", 4);
	default:
		return 0; /* reals: left to the encoder */
	}
}

static int same_document(hive_slice stored, json_t *replayed)
{
	byte_cursor fast = {stored.data, stored.data + stored.len};
	if (match_value(&fast, replayed) && fast.p == fast.end)
		return 1;
	byte_cmp c = {stored.data, stored.len, 0};
	if (json_dump_callback(replayed, cmp_chunk, &c, JSON_COMPACT | JSON_SORT_KEYS) == 0 && !c.differs &&
	    c.left == 0)
		return 1;
	json_t *doc = json_loadb(stored.data, stored.len, 0, NULL);
	int same = doc && json_equal(doc, replayed);
	json_decref(doc);
	return same;
}

static int compare_stored(const char *key, size_t klen, hive_slice val, void *ctx)
{
	replay_state *rs = ctx;
	char *k = hive_xstrndup(key, klen);
	json_t *replayed = json_object_get(rs->mem, k);
	if (!replayed)
		vproblem(rs, "projection %s is stored but a replay does not produce it", k);
	else if (!same_document(val, replayed))
		vproblem(rs, "projection %s differs from a replay of the log", k);
	json_object_del(rs->mem, k);
	free(k);
	return 0;
}

int hive_projection_verify(hive_txn *txn, void (*report)(const char *msg, void *ctx), void *ctx,
			   uint64_t *events_out, uint64_t *problems)
{
	replay_state rs;
	replay_init(&rs, report, ctx);
	hive_verify_opts o = {.report = replay_report, .each = replay_apply, .ctx = &rs};
	uint64_t log_problems = 0;
	int rc = hive_txn_verify_with(txn, &o, events_out, &log_problems);
	if (!rc)
		rc = hive_txn_scan_prefix(txn, "", compare_stored, &rs);
	const char *key;
	json_t *v;
	json_object_foreach(rs.mem, key, v)
		vproblem(&rs, "projection %s is missing from the store (a replay produces it)", key);
	json_decref(rs.mem);
	*problems = log_problems + rs.problems;
	return rc;
}

/* hive_txn_scan callback for the rebuild: decode, apply, go on. */
static int rebuild_one(uint64_t seq, hive_slice raw, void *ctx)
{
	(void)seq;
	hive_event ev;
	if (hive_event_decode(raw.data, raw.len, &ev) != 0)
		return 0; /* `events verify` names it */
	replay_apply(&ev, ctx);
	hive_event_dispose(&ev);
	return 0;
}

int hive_projection_rebuild(hive_txn *txn, uint64_t *problems)
{
	replay_state rs;
	replay_init(&rs, NULL, NULL);
	hive_event_filter all = {0};
	int rc = hive_txn_scan(txn, &all, rebuild_one, &rs);
	if (!rc)
		rc = hive_txn_clear_projections(txn);
	hive_kv out;
	hive_kv_txn(&out, txn);
	const char *key;
	json_t *v;
	json_object_foreach(rs.mem, key, v) {
		if (rc)
			break;
		rc = out.put(&out, key, v);
	}
	json_decref(rs.mem);
	*problems = rs.problems;
	return rc;
}
