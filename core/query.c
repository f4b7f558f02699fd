/*
 * query.c - the read side of the library API (hive.h): every query runs in
 * one read transaction and returns new documents, so a front end never
 * builds a projection key, never opens a second snapshot, and never
 * re-derives a domain rule (still blocked?, open until?) itself.  Also the
 * loading of spec documents, which reads files but writes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "core/circuit.h"
#include "core/hive.h"
#include "core/projection.h"
#include "core/resolve.h"
#include "core/spec.h"
#include "core/state.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/json.h"

/* A string member, "" when absent: the documents' optional fields read
 * as empty, as the CLI has always shown them. */
static const char *str_of(const json_t *o, const char *k)
{
	const char *v = hive_json_str(o, k);
	return v ? v : "";
}

/* ---- input documents ------------------------------------------------------- */

int hive_spec_file_load(const char *path, const hive_spec_opts *o, json_t **out)
{
	return hive_spec_load(path, o, out);
}

int hive_task_def_load(const json_t *raw, const hive_spec_opts *o, json_t **out)
{
	return hive_task_def_normalize(raw, NULL, "task", o, out);
}

/* ---- one snapshot per query ----------------------------------------------- */

typedef int (*query_fn)(hive_txn *txn, const void *args, json_t **out);

typedef struct {
	query_fn fn;
	const void *args;
	json_t *out;
} query_ctx;

static int query_txn(hive_txn *txn, void *vctx)
{
	query_ctx *c = vctx;
	return c->fn(txn, c->args, &c->out);
}

/* Run fn in one read transaction; *out is set only on success. */
static int run_query(hive_store *s, query_fn fn, const void *args, json_t **out)
{
	query_ctx c = {fn, args, NULL};
	int rc = hive_store_read(s, query_txn, &c);
	if (rc) {
		json_decref(c.out);
		return rc;
	}
	*out = c.out;
	return 0;
}

/* Resolve ref and load its document (new reference in *doc). */
static int load_ref(hive_txn *txn, hive_ref_kind kind, const char *ref, json_t **doc)
{
	hive_id id;
	int rc = hive_resolve(txn, kind, ref, &id);
	if (rc)
		return rc;
	*doc = hive_proj_get(txn, "%s/%s", hive_ref_kind_name(kind), id.s);
	if (kind == HIVE_REF_FLOW) /* its task list is stored apart */
		*doc = hive_proj_flow_whole(txn, *doc);
	if (!*doc)
		return hive_error_set(HIVE_ESYSTEM, "%s %s has no projection; run hive events verify",
				      hive_ref_kind_name(kind), id.s);
	return 0;
}

/* Every document whose key starts with prefix, in key order (appended to
 * the array docs, borrowed). */
static int collect(const char *key, size_t klen, hive_slice val, void *docs)
{
	(void)key;
	(void)klen;
	json_t *d = json_loadb(val.data, val.len, 0, NULL);
	if (d)
		json_array_append_new(docs, d);
	return 0;
}

static int load_all(hive_txn *txn, const char *prefix, json_t **out)
{
	*out = json_array();
	return hive_txn_scan_prefix(txn, prefix, collect, *out);
}

/* Keep the documents of all whose field equals value (NULL keeps all). */
static json_t *where_eq(json_t *all, const char *field, const char *value)
{
	if (!value)
		return all;
	json_t *out = json_array(), *d;
	size_t i;
	json_array_foreach(all, i, d)
		if (strcmp(str_of(d, field), value) == 0)
			json_array_append(out, d);
	json_decref(all);
	return out;
}

/* ---- names next to ids ------------------------------------------------------- */

/* doc[field] = the "name"/"key" member of the document at kind/<doc[id_field]>,
 * when there is one (a task in no flow has no flow name). */
static void add_name(hive_txn *txn, json_t *doc, const char *field, const char *kind, const char *id_field,
		     const char *name_field)
{
	const char *id = hive_json_str(doc, id_field);
	json_t *other = id ? hive_proj_get(txn, "%s/%s", kind, id) : NULL;
	const char *name = hive_json_str(other, name_field);
	if (name)
		json_object_set_new(doc, field, json_string(name));
	json_decref(other);
}

/* What a person types next to an id: a task's flow name; an attempt's
 * task key and flow name (so FLOW/KEY#N can be shown). */
static void add_names(hive_txn *txn, hive_ref_kind kind, json_t *doc)
{
	if (kind == HIVE_REF_TASK || kind == HIVE_REF_ATTEMPT)
		add_name(txn, doc, "flow_name", "flow", "flow_id", "name");
	if (kind == HIVE_REF_ATTEMPT)
		add_name(txn, doc, "task_key", "task", "task_id", "key");
}

static void add_names_all(hive_txn *txn, hive_ref_kind kind, json_t *docs)
{
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d)
		add_names(txn, kind, d);
}

/* ---- show: one document by reference ---------------------------------------- */

typedef struct {
	hive_ref_kind kind;
	const char *ref;
} show_args;

/* A task document gets "result_branch" next to its "result_commit": the
 * branch hive/<flow>/<key> of the flow its succeeding attempt ran in (the
 * task's last attempt; docs/lifecycle.md). */
static void add_result_branch(hive_txn *txn, json_t *t)
{
	if (!hive_json_str(t, "result_commit"))
		return;
	json_t *a = hive_proj_attempt(txn, str_of(t, "last_attempt_id"));
	const char *fid = hive_json_str(a, "flow_id") ? hive_json_str(a, "flow_id") : hive_json_str(t, "flow_id");
	json_t *f = fid ? hive_proj_flow(txn, fid) : NULL;
	if (hive_json_str(f, "name")) {
		hive_buf b = {0};
		hive_buf_printf(&b, "hive/%s/%s", hive_json_str(f, "name"), str_of(t, "key"));
		json_object_set_new(t, "result_branch", json_string(b.data));
		hive_buf_dispose(&b);
	}
	json_decref(f);
	json_decref(a);
}

static int show_q(hive_txn *txn, const void *args, json_t **out)
{
	const show_args *a = args;
	int rc = load_ref(txn, a->kind, a->ref, out);
	if (!rc && a->kind == HIVE_REF_TASK)
		add_result_branch(txn, *out);
	if (!rc)
		add_names(txn, a->kind, *out);
	return rc;
}

static int show(hive_store *s, hive_ref_kind kind, const char *ref, json_t **out)
{
	show_args a = {kind, ref};
	return run_query(s, show_q, &a, out);
}

int hive_project_show(hive_store *s, const char *ref, json_t **out) { return show(s, HIVE_REF_PROJECT, ref, out); }
int hive_flow_show(hive_store *s, const char *ref, json_t **out) { return show(s, HIVE_REF_FLOW, ref, out); }
int hive_task_show(hive_store *s, const char *ref, json_t **out) { return show(s, HIVE_REF_TASK, ref, out); }
int hive_attempt_show(hive_store *s, const char *ref, json_t **out) { return show(s, HIVE_REF_ATTEMPT, ref, out); }

/* ---- projects and flows ------------------------------------------------------ */

static int project_list_q(hive_txn *txn, const void *args, json_t **out)
{
	(void)args;
	return load_all(txn, "project/", out);
}

int hive_project_list(hive_store *s, json_t **out)
{
	return run_query(s, project_list_q, NULL, out);
}

static int flow_list_q(hive_txn *txn, const void *project_ref, json_t **out)
{
	json_t *p = NULL;
	int rc = project_ref ? load_ref(txn, HIVE_REF_PROJECT, project_ref, &p) : 0;
	if (!rc && !(rc = load_all(txn, "flow/", out)))
		*out = where_eq(*out, "project_id", p ? str_of(p, "id") : NULL);
	for (size_t i = 0; !rc && i < json_array_size(*out); i++) /* task lists are stored apart */
		json_array_set_new(*out, i, hive_proj_flow_whole(txn, json_incref(json_array_get(*out, i))));
	json_decref(p);
	return rc;
}

int hive_flow_list(hive_store *s, const char *project_ref, json_t **out)
{
	return run_query(s, flow_list_q, project_ref, out);
}

/* ---- flow status --------------------------------------------------------------- */

/* Still blocked: a dependency has ended badly or is blocked itself (a
 * `task retry` of the dependency lifts an earlier block).  seen memoizes
 * the verdict per task id, so a wide DAG costs one visit per task. */
static int still_blocked(hive_txn *txn, const json_t *t, json_t *seen)
{
	json_t *known = json_object_get(seen, str_of(t, "id"));
	if (known)
		return json_is_true(known);
	size_t i;
	json_t *d;
	int blocked = 0;
	json_array_foreach(json_object_get(t, "depends_on"), i, d) {
		json_t *dep = hive_proj_task(txn, json_string_value(d));
		hive_task_state st = hive_proj_task_state(dep);
		blocked = st == HIVE_TASK_FAILED || st == HIVE_TASK_ESCALATED || st == HIVE_TASK_ABORTED ||
			  (st == HIVE_TASK_PENDING && *str_of(dep, "blocked_reason") && still_blocked(txn, dep, seen));
		json_decref(dep);
		if (blocked)
			break;
	}
	json_object_set_new(seen, str_of(t, "id"), json_boolean(blocked));
	return blocked;
}

/* Until when an open circuit holds the runtime back, in ms; 0 when it is
 * not open (the same reading as the runner's). */
static int64_t circuit_open_until(hive_txn *txn, const char *flow_id, const json_t *runtime)
{
	hive_circuit c;
	hive_circuit_config cfg;
	char key[HIVE_CIRCUIT_KEY_LEN];
	hive_circuit_key(runtime, key);
	hive_circuit_load(txn, flow_id, key, &c, &cfg);
	return cfg.enabled && c.state == HIVE_CIRCUIT_OPEN ? c.opened_at_ms + cfg.reset_timeout_ms : 0;
}

/* Why the runtime could not start (the last attempt's summary: "cannot
 * start "./agent.sh" in ...: No such file or directory — is it committed
 * at the flow's base?"), so flow status says it, not only attempt inspect. */
static void unavailable_note(hive_txn *txn, const json_t *t, hive_buf *b)
{
	json_t *a = hive_proj_attempt(txn, str_of(t, "last_attempt_id"));
	if (*str_of(a, "summary"))
		hive_buf_printf(b, "%s%s", b->len ? ": " : "", str_of(a, "summary"));
	json_decref(a);
}

static void task_note(hive_txn *txn, const json_t *flow, const json_t *t, json_t *seen, hive_buf *b)
{
	hive_task_state st = hive_proj_task_state(t);
	if (*str_of(t, "blocked_reason") && st == HIVE_TASK_PENDING && still_blocked(txn, t, seen))
		hive_buf_printf(b, "blocked: %s", str_of(t, "blocked_reason"));
	else if (st == HIVE_TASK_PENDING && json_array_size(json_object_get(t, "depends_on")))
		hive_buf_puts(b, "waiting for its dependencies");
	else if (st == HIVE_TASK_RETRY && *str_of(t, "next_attempt_at"))
		hive_buf_printf(b, "next attempt due %s", str_of(t, "next_attempt_at"));
	else if (json_is_string(json_object_get(t, "reason")))
		hive_buf_puts(b, str_of(t, "reason"));
	if (hive_proj_task_last_outcome(t) == HIVE_OUTCOME_RUNTIME_UNAVAILABLE && st != HIVE_TASK_SUCCESS)
		unavailable_note(txn, t, b);
	if (st != HIVE_TASK_READY && st != HIVE_TASK_RETRY)
		return;
	const char *adapter = str_of(json_object_get(t, "runtime"), "adapter");
	int64_t until = circuit_open_until(txn, str_of(flow, "id"), json_object_get(t, "runtime"));
	if (until) {
		char when[40];
		hive_time_format_ms(until, when, sizeof when);
		size_t i;
		json_t *w;
		hive_buf_printf(b, "%swaiting for the circuit breaker: %s", b->len ? "; " : "", adapter);
		json_array_foreach(json_object_get(json_object_get(t, "runtime"), "command"), i, w)
			hive_buf_printf(b, " %s", json_string_value(w));
		hive_buf_printf(b, " is open until %s", when);
	}
}

/* The circuit of one runtime (new reference): key, adapter, command, model,
 * state, consecutive_failures, failure_threshold, reset_timeout_ms, and for
 * an open one opened_at and reopens_at (when a probe may start). */
static json_t *circuit_doc(hive_txn *txn, const char *flow_id, const json_t *runtime)
{
	char key[HIVE_CIRCUIT_KEY_LEN];
	hive_circuit_key(runtime, key);
	hive_circuit c;
	hive_circuit_config cfg;
	hive_circuit_load(txn, flow_id, key, &c, &cfg);
	json_t *d = json_pack("{s:s,s:O?,s:O?,s:O?,s:s,s:i,s:i,s:I}", "key", key, "adapter",
			      json_object_get(runtime, "adapter"), "command", json_object_get(runtime, "command"),
			      "model", json_object_get(runtime, "model"), "state", hive_circuit_state_name(c.state),
			      "consecutive_failures", c.consecutive_failures, "failure_threshold",
			      cfg.failure_threshold, "reset_timeout_ms", (json_int_t)cfg.reset_timeout_ms);
	if (d && c.state == HIVE_CIRCUIT_OPEN) {
		char at[40];
		hive_time_format_ms(c.opened_at_ms, at, sizeof at);
		json_object_set_new(d, "opened_at", json_string(at));
		hive_time_format_ms(c.opened_at_ms + cfg.reset_timeout_ms, at, sizeof at);
		json_object_set_new(d, "reopens_at", json_string(at));
	}
	return d;
}

/* The flow's circuits, one per distinct runtime of its tasks, in task
 * order; [] when the flow configures no circuit breaker (SPEC 12: off). */
static json_t *circuits_of(hive_txn *txn, const json_t *flow)
{
	json_t *list = json_array(), *seen = json_object(), *id;
	size_t i;
	if (!hive_circuit_configured(flow)) {
		json_decref(seen);
		return list;
	}
	json_array_foreach(json_object_get(flow, "task_ids"), i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		const json_t *rt = json_object_get(t, "runtime");
		char key[HIVE_CIRCUIT_KEY_LEN];
		hive_circuit_key(rt, key);
		if (t && !json_object_get(seen, key)) {
			json_object_set_new(seen, key, json_true());
			json_array_append_new(list, circuit_doc(txn, str_of(flow, "id"), rt));
		}
		json_decref(t);
	}
	json_decref(seen);
	return list;
}

static int flow_status_q(hive_txn *txn, const void *flow_ref, json_t **out)
{
	json_t *f = NULL;
	int rc = load_ref(txn, HIVE_REF_FLOW, flow_ref, &f);
	if (rc)
		return rc;
	json_t *tasks = json_array(), *id, *seen = json_object();
	size_t i;
	json_array_foreach(json_object_get(f, "task_ids"), i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		if (!t)
			continue;
		hive_buf note = {0};
		task_note(txn, f, t, seen, &note);
		json_object_set_new(t, "note", json_string(hive_buf_str(&note)));
		add_result_branch(txn, t);
		hive_buf_dispose(&note);
		json_array_append_new(tasks, t);
	}
	json_decref(seen);
	*out = json_pack("{s:o,s:o,s:o}", "flow", f, "tasks", tasks, "circuits", circuits_of(txn, f));
	return 0;
}

int hive_flow_status(hive_store *s, const char *flow_ref, json_t **out)
{
	return run_query(s, flow_status_q, flow_ref, out);
}

/* One task projection at a time, dropped before the next: the memory a
 * count needs does not grow with the flow (hive_flow_status of a
 * 1000-task flow holds 1.4 MB of JSON, 11 MB of heap). */
static int flow_counts_q(hive_txn *txn, const void *flow_ref, json_t **out)
{
	json_t *f = NULL, *id;
	int rc = load_ref(txn, HIVE_REF_FLOW, flow_ref, &f);
	if (rc)
		return rc;
	json_t *counts = json_object();
	size_t i;
	json_array_foreach(json_object_get(f, "task_ids"), i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		const char *st = hive_json_str(t, "state");
		if (st)
			json_object_set_new(counts, st, json_integer(json_integer_value(json_object_get(counts, st)) + 1));
		json_decref(t);
	}
	json_decref(f);
	*out = counts;
	return 0;
}

int hive_flow_task_counts(hive_store *s, const char *flow_ref, json_t **out)
{
	return run_query(s, flow_counts_q, flow_ref, out);
}

/* ---- tasks ----------------------------------------------------------------------- */

static int by_id(const void *a, const void *b)
{
	return strcmp(str_of(*(json_t *const *)a, "id"), str_of(*(json_t *const *)b, "id"));
}

/* A new array holding the documents of arr sorted with cmp. */
static json_t *sorted(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(arr);
	json_t **v = hive_xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(arr);
	return out;
}

/* The flow's tasks, read through its task list (not every task). */
static json_t *flow_tasks(hive_txn *txn, const json_t *flow)
{
	json_t *out = json_array(), *id;
	size_t i;
	json_array_foreach(json_object_get(flow, "task_ids"), i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		if (t)
			json_array_append_new(out, t);
	}
	return sorted(out, by_id);
}

static int task_list_q(hive_txn *txn, const void *args, json_t **out)
{
	const hive_task_filter *f = args;
	json_t *p = NULL, *fl = NULL;
	int rc = 0;
	if (f->state && hive_task_state_parse(f->state) == HIVE_TASK_UNKNOWN)
		return hive_error_set(HIVE_EINVALID, "no task state \"%s\"; use pending, ready, running, verifying, "
				      "success, retry, failed, escalated or aborted", f->state);
	if (f->project_ref)
		rc = load_ref(txn, HIVE_REF_PROJECT, f->project_ref, &p);
	if (!rc && f->flow_ref)
		rc = load_ref(txn, HIVE_REF_FLOW, f->flow_ref, &fl);
	if (!rc && fl)
		*out = flow_tasks(txn, fl);
	else if (!rc)
		rc = load_all(txn, "task/", out);
	if (!rc) {
		*out = where_eq(*out, "project_id", p ? str_of(p, "id") : NULL);
		*out = where_eq(*out, "state", f->state);
		add_names_all(txn, HIVE_REF_TASK, *out);
	}
	json_decref(p);
	json_decref(fl);
	return rc;
}

int hive_task_list(hive_store *s, const hive_task_filter *f, json_t **out)
{
	hive_task_filter none = {0};
	return run_query(s, task_list_q, f ? f : &none, out);
}

/* ---- attempts ---------------------------------------------------------------- */

static int by_number(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(str_of(x, "task_id"), str_of(y, "task_id"));
	if (c)
		return c;
	json_int_t nx = json_integer_value(json_object_get(x, "attempt_number"));
	json_int_t ny = json_integer_value(json_object_get(y, "attempt_number"));
	return nx < ny ? -1 : nx > ny;
}

typedef struct {
	hive_txn *txn;
	json_t *docs;
} started_ctx;

/* Each attempt_started event names one attempt: load its document. */
static int on_started(uint64_t seq, hive_slice raw, void *vctx)
{
	(void)seq;
	started_ctx *c = vctx;
	json_t *ev = json_loadb(raw.data, raw.len, 0, NULL);
	const char *id = json_string_value(json_object_get(ev, "attempt_id"));
	json_t *a = hive_proj_attempt(c->txn, id);
	if (a)
		json_array_append_new(c->docs, a);
	json_decref(ev);
	return 0;
}

/* The attempts of a task and/or flow through the log's indexes: only
 * their attempt_started events are read, never the other attempts. */
static int indexed_attempts(hive_txn *txn, const char *task_id, const char *flow_id, json_t **out)
{
	const char *type = hive_event_type_name(HIVE_EV_ATTEMPT_STARTED);
	hive_event_filter f = {.task_id = task_id, .flow_id = flow_id, .types = &type, .n_types = 1};
	started_ctx c = {txn, json_array()};
	int rc = hive_txn_scan(txn, &f, on_started, &c);
	*out = c.docs;
	return rc;
}

static int attempt_list_q(hive_txn *txn, const void *args, json_t **out)
{
	const hive_attempt_filter *f = args;
	hive_id task, flow;
	int rc = f->task_ref ? hive_resolve(txn, HIVE_REF_TASK, f->task_ref, &task) : 0;
	if (!rc && f->flow_ref)
		rc = hive_resolve(txn, HIVE_REF_FLOW, f->flow_ref, &flow);
	if (!rc && (f->task_ref || f->flow_ref))
		rc = indexed_attempts(txn, f->task_ref ? task.s : NULL, f->flow_ref ? flow.s : NULL, out);
	else if (!rc)
		rc = load_all(txn, "attempt/", out);
	if (!rc) {
		*out = sorted(*out, by_number);
		add_names_all(txn, HIVE_REF_ATTEMPT, *out);
	}
	return rc;
}

int hive_attempt_list(hive_store *s, const hive_attempt_filter *f, json_t **out)
{
	hive_attempt_filter none = {0};
	return run_query(s, attempt_list_q, f ? f : &none, out);
}

/* ---- id display ------------------------------------------------------------------ */

typedef struct {
	hive_ref_kind kind;
	const char *id;
	char *out;
} display_ctx;

static int display_txn(hive_txn *txn, void *vctx)
{
	display_ctx *c = vctx;
	hive_resolve_display(txn, c->kind, c->id, c->out);
	return 0;
}

void hive_id_display(hive_store *s, const char *kind, const char *id, char *out)
{
	static const char *const kinds[] = {"project", "flow", "task", "attempt"};
	snprintf(out, HIVE_ID_LEN + 1, "%s", id ? id : "");
	for (int k = 0; k < 4; k++)
		if (kind && strcmp(kind, kinds[k]) == 0) {
			display_ctx c = {(hive_ref_kind)k, id, out};
			hive_store_read(s, display_txn, &c);
		}
}

typedef struct {
	hive_ref_kind kind;
	const char *ref;
	char *out;
} ref_ctx;

static int ref_txn(hive_txn *txn, void *vctx)
{
	ref_ctx *c = vctx;
	hive_id id;
	int rc = hive_resolve(txn, c->kind, c->ref, &id);
	if (!rc)
		memcpy(c->out, id.s, HIVE_ID_LEN + 1);
	return rc;
}

int hive_ref_resolve(hive_store *s, const char *kind, const char *ref, char *out)
{
	static const char *const kinds[] = {"project", "flow", "task", "attempt"};
	for (int k = 1; k < 4; k++)
		if (kind && strcmp(kind, kinds[k]) == 0) {
			ref_ctx c = {(hive_ref_kind)k, ref, out};
			return hive_store_read(s, ref_txn, &c);
		}
	return hive_error_set(HIVE_EINVALID, "cannot resolve a reference of kind %s", kind ? kind : "(none)");
}

/* ---- attempt detail ------------------------------------------------------------ */

static void blob_copy(hive_txn *txn, const char *hex, hive_bytes *out)
{
	hive_slice v;
	if (!hex || !*hex || hive_txn_blob_get(txn, hex, &v) != 0)
		return;
	out->data = hive_xstrndup(v.data, v.len);
	out->len = v.len;
}

typedef struct {
	const char *ref;
	unsigned what;
	hive_attempt_detail *d;
} inspect_ctx;

static int inspect_txn(hive_txn *txn, void *vctx)
{
	inspect_ctx *c = vctx;
	hive_attempt_detail *d = c->d;
	int rc = load_ref(txn, HIVE_REF_ATTEMPT, c->ref, &d->attempt);
	if (rc)
		return rc;
	add_names(txn, HIVE_REF_ATTEMPT, d->attempt);
	if (c->what & HIVE_INSPECT_DIFF)
		blob_copy(txn, str_of(json_object_get(d->attempt, "changes"), "diff_blob"), &d->diff);
	if (!(c->what & HIVE_INSPECT_OUTPUT))
		return 0;
	const json_t *ex = json_object_get(d->attempt, "runtime_exited");
	const json_t *checks = json_object_get(d->attempt, "checks");
	blob_copy(txn, str_of(ex, "stdout_blob"), &d->runtime_stdout);
	blob_copy(txn, str_of(ex, "stderr_blob"), &d->runtime_stderr);
	d->n_checks = json_array_size(checks);
	d->check_output = hive_xcalloc(d->n_checks ? d->n_checks : 1, sizeof *d->check_output);
	for (size_t i = 0; i < d->n_checks; i++)
		blob_copy(txn, str_of(json_array_get(checks, i), "output_blob"), &d->check_output[i]);
	return 0;
}

int hive_attempt_inspect(hive_store *s, const char *attempt_ref, unsigned what, hive_attempt_detail *out)
{
	memset(out, 0, sizeof *out);
	inspect_ctx c = {attempt_ref, what, out};
	int rc = hive_store_read(s, inspect_txn, &c);
	if (rc)
		hive_attempt_detail_dispose(out);
	return rc;
}

void hive_attempt_detail_dispose(hive_attempt_detail *d)
{
	json_decref(d->attempt);
	free(d->diff.data);
	free(d->runtime_stdout.data);
	free(d->runtime_stderr.data);
	for (size_t i = 0; i < d->n_checks; i++)
		free(d->check_output[i].data);
	free(d->check_output);
	memset(d, 0, sizeof *d);
}

/* ---- the log ---------------------------------------------------------------------- */

static int type_seen(uint64_t seq, hive_slice raw, void *ctx)
{
	(void)seq;
	(void)raw;
	(void)ctx;
	return 1;
}

/* A type must be in the catalog or already in the log (a type written by
 * a newer hive): an exact lookup in the type index, not a prefix. */
static int check_types(hive_txn *txn, const hive_events_query *q)
{
	for (size_t i = 0; i < q->n_types; i++) {
		const char *t = q->types[i];
		if (hive_event_type_from_name(t) != HIVE_EV_UNKNOWN)
			continue;
		hive_event_filter f = {.types = &t, .n_types = 1, .limit = 1};
		if (hive_txn_scan(txn, &f, type_seen, NULL) != 1)
			return hive_error_set(HIVE_EINVALID,
					      "--type %s: no such event type; see docs/events.md for the catalog", t);
	}
	return 0;
}

typedef struct {
	const hive_events_query *q;
	hive_event_fn fn;
	void *ctx;
	uint64_t last_seq;
} events_ctx;

/* Resolve the references inside the read transaction that scans. */
static int events_txn(hive_txn *txn, void *vctx)
{
	events_ctx *c = vctx;
	const hive_events_query *q = c->q;
	hive_id flow, task, attempt;
	hive_event_filter f = {.types = q->types, .n_types = q->n_types, .after = q->after,
			       .limit = q->limit, .tail = q->tail};
	int rc = check_types(txn, q);
	if (!rc && q->flow_ref && !(rc = hive_resolve(txn, HIVE_REF_FLOW, q->flow_ref, &flow)))
		f.flow_id = flow.s;
	if (!rc && q->task_ref && !(rc = hive_resolve(txn, HIVE_REF_TASK, q->task_ref, &task)))
		f.task_id = task.s;
	if (!rc && q->attempt_ref && !(rc = hive_resolve(txn, HIVE_REF_ATTEMPT, q->attempt_ref, &attempt)))
		f.attempt_id = attempt.s;
	if (rc)
		return rc;
	rc = hive_txn_scan(txn, &f, c->fn, c->ctx);
	c->last_seq = hive_txn_last_seq(txn);
	return rc > 0 ? 0 : rc;
}

int hive_events_list(hive_store *s, const hive_events_query *q, hive_event_fn fn, void *ctx,
		     uint64_t *last_seq)
{
	events_ctx c = {q, fn, ctx, 0};
	int rc = hive_store_read(s, events_txn, &c);
	if (!rc && last_seq)
		*last_seq = c.last_seq;
	return rc;
}

typedef struct {
	void (*report)(const char *msg, void *ctx);
	void *ctx;
	uint64_t events, problems;
} verify_ctx;

static int verify_txn(hive_txn *txn, void *vctx)
{
	verify_ctx *c = vctx;
	return hive_projection_verify(txn, c->report, c->ctx, &c->events, &c->problems);
}

int hive_events_verify(hive_store *s, void (*report)(const char *msg, void *ctx), void *ctx,
		       uint64_t *events, uint64_t *problems)
{
	verify_ctx c = {report, ctx, 0, 0};
	int rc = hive_store_read(s, verify_txn, &c);
	*events = c.events;
	*problems = c.problems;
	return rc;
}
