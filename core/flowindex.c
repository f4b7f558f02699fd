/*
 * flowindex.c - the scheduling index of a flow (see flowindex.h).
 *
 * Why an index: the pass used to parse every task of the flow (and each
 * pending task's dependencies), at least twice per tick, and the pick
 * walked the task list again: per-tick work grew with the flow, so a
 * 1000-task flow cost about three times a 60-task one per task.  The
 * index turns both into reads of the few tasks that matter: those the
 * pass must act on, those that can start, and counts for the flow's end.
 */
#include "core/flowindex.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/state.h"
#include "events/error.h"
#include "events/id.h"
#include "events/json.h"

/* ---- keys ------------------------------------------------------------------- */

static const char *const set_names[] = {[HIVE_FLOWINDEX_ACT] = "act", [HIVE_FLOWINDEX_START] = "start"};

/* Positions are zero-padded so that key order is the flow's order. */
#define POS_FMT "%010" PRId64

/* ---- categories of pending tasks ------------------------------------------- */

typedef enum { CAT_NONE = -1, CAT_TO_READY, CAT_WAITING, CAT_TO_BLOCK, CAT_BLOCKED, CAT__COUNT } category;

static const char *const cat_names[CAT__COUNT] = {"to_ready", "waiting", "to_block", "blocked"};

static category cat_parse(const char *name)
{
	for (int i = 0; name && i < CAT__COUNT; i++)
		if (strcmp(cat_names[i], name) == 0)
			return (category)i;
	return CAT_NONE;
}

static int dead(hive_task_state st)
{
	return st == HIVE_TASK_FAILED || st == HIVE_TASK_ESCALATED || st == HIVE_TASK_ABORTED;
}

void hive_flowindex_dep_status(hive_kv *kv, const json_t *task, hive_buf *why, int *all_done)
{
	json_t *d;
	size_t i;
	*all_done = 1;
	json_array_foreach(json_object_get(task, "depends_on"), i, d) {
		if (why->len && !*all_done)
			break; /* nothing later can change either answer */
		json_t *dep = json_string_value(d) ? hive_kv_getf(kv, "task/%s", json_string_value(d)) : NULL;
		hive_task_state st = hive_proj_task_state(dep);
		if (st != HIVE_TASK_SUCCESS)
			*all_done = 0;
		if (dep && dead(st) && !why->len)
			hive_buf_printf(why, "dependency %s ended %s", hive_json_str(dep, "key"), hive_task_state_name(st));
		else if (dep && st == HIVE_TASK_PENDING && hive_json_str(dep, "blocked_reason") && !why->len)
			hive_buf_printf(why, "dependency %s is blocked", hive_json_str(dep, "key"));
		json_decref(dep);
	}
}

static category category_of(hive_kv *kv, const json_t *task)
{
	if (hive_proj_task_state(task) != HIVE_TASK_PENDING)
		return CAT_NONE;
	hive_buf why = {0};
	int done;
	hive_flowindex_dep_status(kv, task, &why, &done);
	const char *prev = hive_json_str(task, "blocked_reason");
	category c = !why.len ? (done ? CAT_TO_READY : CAT_WAITING)
			      : (prev && strcmp(prev, why.data) == 0 ? CAT_BLOCKED : CAT_TO_BLOCK);
	hive_buf_dispose(&why);
	return c;
}

static int in_set(hive_flowindex_set set, hive_task_state st, category c)
{
	if (set == HIVE_FLOWINDEX_ACT)
		return c == CAT_TO_READY || c == CAT_TO_BLOCK;
	return st == HIVE_TASK_READY || st == HIVE_TASK_RETRY;
}

/* ---- the counts -------------------------------------------------------------- */

static json_t *new_counts(size_t tasks)
{
	json_t *states = json_object(), *pending = json_object();
	for (int s = 0; s < HIVE_TASK__COUNT; s++)
		json_object_set_new(states, hive_task_state_name((hive_task_state)s), json_integer(0));
	for (int c = 0; c < CAT__COUNT; c++)
		json_object_set_new(pending, cat_names[c], json_integer(0));
	return json_pack("{s:I,s:o,s:o}", "tasks", (json_int_t)tasks, "states", states, "pending", pending);
}

static void bump(json_t *obj, const char *name, int by)
{
	if (name)
		json_object_set_new(obj, name, json_integer(json_integer_value(json_object_get(obj, name)) + by));
}

static void count(json_t *counts, hive_task_state st, category c, int by)
{
	if (st >= 0 && st < HIVE_TASK__COUNT)
		bump(json_object_get(counts, "states"), hive_task_state_name(st), by);
	if (c != CAT_NONE)
		bump(json_object_get(counts, "pending"), cat_names[c], by);
}

/* ---- one task ------------------------------------------------------------------- */

/* Put or delete the task's entry in a set as membership changed. */
static int set_member(hive_kv *kv, const char *flow_id, hive_flowindex_set set, int64_t pos, const char *task_id,
		      int was, int is)
{
	char key[512];
	if (was == is)
		return 0;
	snprintf(key, sizeof key, "sched/%s/%s/" POS_FMT, flow_id, set_names[set], pos);
	if (!is)
		return kv->del(kv, key);
	json_t *v = json_pack("{s:s}", "id", task_id);
	int rc = kv->put(kv, key, v);
	json_decref(v);
	return rc;
}

/* The task's record, sets and counts as its state and category now say.
 * *dependants (may be NULL): new reference to the record's list, or NULL. */
static int reindex(hive_kv *kv, const char *flow_id, const json_t *task, json_t **dependants)
{
	const char *task_id = hive_json_str(task, "id");
	json_t *rec = task_id ? hive_kv_getf(kv, "sched/%s/task/%s", flow_id, task_id) : NULL;
	if (dependants)
		*dependants = json_incref(json_object_get(rec, "dependants"));
	if (!rec)
		return 0;
	hive_task_state was_st = hive_task_state_parse(hive_json_str(rec, "state")), st = hive_proj_task_state(task);
	category was_c = cat_parse(hive_json_str(rec, "pending")), c = category_of(kv, task);
	int rc = 0;
	if (st != was_st || c != was_c) {
		int64_t pos = json_integer_value(json_object_get(rec, "pos"));
		json_t *counts = hive_kv_getf(kv, "sched/%s", flow_id);
		if (counts) {
			count(counts, was_st, was_c, -1);
			count(counts, st, c, +1);
			rc = hive_kv_putf(kv, counts, "sched/%s", flow_id);
			json_decref(counts);
		}
		for (int set = 0; set <= HIVE_FLOWINDEX_START && !rc; set++)
			rc = set_member(kv, flow_id, (hive_flowindex_set)set, pos, task_id,
					in_set((hive_flowindex_set)set, was_st, was_c), in_set((hive_flowindex_set)set, st, c));
		json_object_set_new(rec, "state", json_string(hive_task_state_name(st)));
		if (c == CAT_NONE)
			json_object_del(rec, "pending");
		else
			json_object_set_new(rec, "pending", json_string(cat_names[c]));
		if (!rc)
			rc = hive_kv_putf(kv, rec, "sched/%s/task/%s", flow_id, task_id);
	}
	json_decref(rec);
	return rc;
}

int hive_flowindex_task_changed(hive_kv *kv, const char *task_id)
{
	json_t *t = hive_kv_getf(kv, "task/%s", task_id), *deps = NULL, *d;
	const char *flow_id = hive_json_str(t, "flow_id");
	int rc = flow_id ? reindex(kv, flow_id, t, &deps) : 0;
	size_t i;
	/* a dependant's category reads this task: look at each again */
	json_array_foreach(deps, i, d) {
		json_t *dt = rc || !json_string_value(d) ? NULL : hive_kv_getf(kv, "task/%s", json_string_value(d));
		const char *dflow = hive_json_str(dt, "flow_id");
		if (dflow && strcmp(dflow, flow_id) == 0)
			rc = reindex(kv, flow_id, dt, NULL);
		json_decref(dt);
	}
	json_decref(deps);
	json_decref(t);
	return rc;
}

/* ---- a new flow ------------------------------------------------------------------- */

/* recs[i] = {"pos": i} and, for each task, its dependants among the
 * flow's tasks (in the flow's order). */
static json_t *new_records(hive_kv *kv, const json_t *task_ids)
{
	json_t *recs = json_array(), *where = json_object(), *id, *d;
	size_t i, j;
	json_array_foreach(task_ids, i, id) {
		json_array_append_new(recs, json_pack("{s:I}", "pos", (json_int_t)i));
		if (json_string_value(id))
			json_object_set_new(where, json_string_value(id), json_integer((json_int_t)i));
	}
	json_array_foreach(task_ids, i, id) {
		json_t *t = json_string_value(id) ? hive_kv_getf(kv, "task/%s", json_string_value(id)) : NULL;
		json_array_foreach(json_object_get(t, "depends_on"), j, d) {
			json_t *at = json_string_value(d) ? json_object_get(where, json_string_value(d)) : NULL;
			json_t *rec = at ? json_array_get(recs, (size_t)json_integer_value(at)) : NULL;
			if (!rec)
				continue;
			if (!json_object_get(rec, "dependants"))
				json_object_set_new(rec, "dependants", json_array());
			json_array_append_new(json_object_get(rec, "dependants"), json_string(json_string_value(id)));
		}
		json_decref(t);
	}
	json_decref(where);
	return recs;
}

int hive_flowindex_flow_created(hive_kv *kv, const char *flow_id, const json_t *task_ids)
{
	json_t *recs = new_records(kv, task_ids), *counts = new_counts(json_array_size(task_ids)), *id;
	size_t i;
	int rc = 0;
	json_array_foreach(task_ids, i, id) {
		json_t *t = json_string_value(id) ? hive_kv_getf(kv, "task/%s", json_string_value(id)) : NULL;
		json_t *rec = json_array_get(recs, i);
		hive_task_state st = hive_proj_task_state(t);
		category c = t ? category_of(kv, t) : CAT_NONE;
		json_decref(t);
		if (!t)
			continue; /* the pass reports a task without a document */
		json_object_set_new(rec, "state", json_string(hive_task_state_name(st)));
		if (c != CAT_NONE)
			json_object_set_new(rec, "pending", json_string(cat_names[c]));
		count(counts, st, c, +1);
		for (int set = 0; set <= HIVE_FLOWINDEX_START && !rc; set++)
			rc = set_member(kv, flow_id, (hive_flowindex_set)set, (int64_t)i, json_string_value(id), 0,
					in_set((hive_flowindex_set)set, st, c));
		if (!rc)
			rc = hive_kv_putf(kv, rec, "sched/%s/task/%s", flow_id, json_string_value(id));
		if (rc)
			break;
	}
	if (!rc)
		rc = hive_kv_putf(kv, counts, "sched/%s", flow_id);
	json_decref(counts);
	json_decref(recs);
	return rc;
}

/* ---- reading ------------------------------------------------------------------------ */

int hive_flowindex_counts_get(hive_txn *txn, const char *flow_id, hive_flowindex_counts *out)
{
	memset(out, 0, sizeof *out);
	json_t *doc = hive_proj_get(txn, "sched/%s", flow_id);
	if (!doc)
		return hive_error_set(HIVE_ESYSTEM, "flow %s has no scheduling index; run hive events verify", flow_id);
	json_t *states = json_object_get(doc, "states"), *pending = json_object_get(doc, "pending");
	out->tasks = json_integer_value(json_object_get(doc, "tasks"));
	for (int s = 0; s < HIVE_TASK__COUNT; s++)
		out->state[s] = json_integer_value(json_object_get(states, hive_task_state_name((hive_task_state)s)));
	out->to_ready = json_integer_value(json_object_get(pending, cat_names[CAT_TO_READY]));
	out->waiting = json_integer_value(json_object_get(pending, cat_names[CAT_WAITING]));
	out->to_block = json_integer_value(json_object_get(pending, cat_names[CAT_TO_BLOCK]));
	out->blocked = json_integer_value(json_object_get(pending, cat_names[CAT_BLOCKED]));
	json_decref(doc);
	return 0;
}

typedef struct {
	size_t plen;
	int64_t after, pos;
	char *task_id;
	int found;
} next_ctx;

static int next_cb(const char *key, size_t klen, hive_slice val, void *vctx)
{
	next_ctx *c = vctx;
	char digits[24];
	size_t n = klen - c->plen;
	if (n == 0 || n >= sizeof digits)
		return 0;
	memcpy(digits, key + c->plen, n);
	digits[n] = '\0';
	int64_t pos = strtoll(digits, NULL, 10);
	if (pos <= c->after)
		return 0;
	json_t *doc = json_loadb(val.data, val.len, 0, NULL);
	const char *id = hive_json_str(doc, "id");
	if (id) {
		snprintf(c->task_id, HIVE_ID_LEN + 1, "%s", id);
		c->pos = pos;
		c->found = 1;
	}
	json_decref(doc);
	return c->found;
}

int hive_flowindex_next(hive_txn *txn, const char *flow_id, hive_flowindex_set set, int64_t after, int64_t *pos,
			char *task_id)
{
	char prefix[512];
	snprintf(prefix, sizeof prefix, "sched/%s/%s/", flow_id, set_names[set]);
	next_ctx c = {.plen = strlen(prefix), .after = after, .task_id = task_id};
	int rc = hive_txn_scan_prefix(txn, prefix, next_cb, &c);
	if (c.found) {
		*pos = c.pos;
		return 0;
	}
	return rc ? rc : HIVE_ENOTFOUND;
}
