/*
 * projection.h - current state, derived from events.
 *
 * Projections are JSON documents under string keys:
 *   project/<id>  flow/<id>  task/<id>  attempt/<id>
 *   flowtasks/<flow-id>                      -> {"task_ids": [...]}
 *   circuit/<flow-id>/<adapter>
 *   name/project/<name>, name/flow/<name>    -> {"id": ...}
 *   taskkey/<key>/<task-id>                  -> {} (bare-key lookup)
 *   sched/<flow-id>...                       the flow's scheduling index
 *                                            (core/flowindex.h, schema 3)
 * hive_apply() is the only code that changes them.  It is a pure function
 * of the event (it never reads the clock), so applying the whole log to an
 * empty store reproduces the stored projections exactly; `events verify`
 * does that in memory and compares.
 *
 * hive_apply() also enforces the state machine: an event that would make
 * an illegal transition is refused (HIVE_ECONFLICT, the message names the
 * event, the task and both states) and nothing is applied.
 *
 * ---- The documents: the one place their fields are written down ----------
 * (docs/events.md points here.)  "<- event" says which event sets a field;
 * a field without one is set at creation.  Timestamps are the event's time.
 * Read the typed fields through the accessors below, not by their names.
 *
 * project/<id>   id, name, repo (absolute path), description, created_at
 *
 * task/<id>      the task_created payload (key, title, description,
 *                depends_on [task ids], checks [{name, command, required,
 *                timeout_ms}], runtime {adapter, command, ...}, retry
 *                {canonical policy, core/policy.h}), plus
 *   id, project_id, created_at
 *   flow_id            the flow it is in, null until one takes it (<- flow_created)
 *   state              a hive_task_state name; state_since, reason
 *                      (the last change's reason or null) (<- task_state_changed)
 *   attempts           attempts started; attempt_ids [ids], last_attempt_id,
 *                      running_attempt (id, or null once it completed)
 *                      (<- attempt_started, attempt_completed)
 *   budget_used        [attempts counted per budget: index i = budgets[i],
 *                      index 0 = the implicit budget] (<- attempt_completed;
 *                      emptied by task_retry_requested{reset_count})
 *   last_outcome       a hive_outcome name (<- attempt_completed)
 *   base_commit        where its attempts start in its current flow
 *                      (<- attempt_started.task_base_commit; cleared when it
 *                      joins a new flow unless it succeeded; <- task_rebased.to,
 *                      which also drops last_commit)
 *   rebased            the payload of the last task_rebased
 *   last_commit, result_commit   the last checkpoint; the successful one
 *   next_attempt_at, next_attempt_at_ms   when a scheduled retry is due
 *                      (<- task_retry_scheduled; cleared on -> running/pending)
 *   blocked_reason     why it cannot run (<- task_blocked; cleared on -> ready)
 *   mode, retry_requests   (<- task_retry_requested)
 *   last_ready, last_blocked, retry_scheduled, escalated, aborted
 *                      the payload of the last such note event
 *
 * flow/<id>      id, project_id, name, task_ids [ids], defaults {...}, created_at
 *                (task_ids is stored apart, under flowtasks/<id> as
 *                {"task_ids": [...]}: hive_proj_flow returns it in place,
 *                hive_proj_flow_head without it)
 *   state              a hive_flow_state name; state_since; reason (of the
 *                      state it explains, else absent) (<- flow_* events)
 *   base_commit        the repo's HEAD at flow_started (<- flow_rebased.to)
 *   rebased, landed    the payload of the last flow_rebased, flow_landed
 *
 * attempt/<id>   id, task_id, flow_id, project_id, and the attempt_started
 *                payload (attempt_number, runtime = adapter name, worktree,
 *                base_commit, context_sha256, ...), plus
 *   state              "running", then "completed" (immutable after)
 *   started_at, completed_at
 *   checks             [check_completed payloads, in order]
 *   current_check      the running check (<- check_started; removed when it completes)
 *   context, runtime_started, runtime_exited, changes, crashed
 *                      the payloads of retry_context_assembled, runtime_started,
 *                      runtime_exited, changes_recorded, attempt_crashed
 *   outcome, duration_ms, failed_checks, summary   (<- attempt_completed)
 *
 * circuit/<flow-id>/<adapter>   the breaker of one runtime adapter in a flow
 *   adapter, state ("closed", "open", "half_open"), consecutive_failures
 *                      (<- attempt_completed), and the payload of the last
 *                      circuit_* event (failures, opened_at_ms,
 *                      reset_timeout_ms, probe_attempt)
 *
 * name/project/<name>, name/flow/<name>   {"id": ...}
 * taskkey/<key>/<task-id>                 {} (bare-key lookup)
 *
 * sched/<flow-id>, sched/<flow-id>/task/<task-id>, sched/<flow-id>/act/<pos>,
 * sched/<flow-id>/start/<pos>   the scheduling index: counts of the flow's
 *                    tasks by state and by what the pass would do with a
 *                    pending one, each task's place and dependants, the
 *                    pending tasks the next pass acts on and the tasks that
 *                    can start (<- flow_created, task_state_changed,
 *                    task_blocked; core/flowindex.h has the fields).  Only
 *                    the scheduler reads them; no document shows them.
 */
#ifndef HIVE_PROJECTION_H
#define HIVE_PROJECTION_H

#include <jansson.h>

#include "core/state.h"
#include "events/event.h"
#include "events/store.h"

/* Where projections live: an LMDB write transaction, or memory. */
typedef struct hive_kv hive_kv;
struct hive_kv {
	json_t *(*get)(hive_kv *kv, const char *key);              /* new reference or NULL */
	int (*put)(hive_kv *kv, const char *key, json_t *val);     /* val borrowed */
	int (*del)(hive_kv *kv, const char *key);
	void *impl;
};

/* A kv over a store transaction (read-only use is fine with a read txn). */
void hive_kv_txn(hive_kv *kv, hive_txn *txn);
/* A kv over a JSON object mapping key -> document (borrowed). */
void hive_kv_memory(hive_kv *kv, json_t *object);

/* kv->get and kv->put of a key made from a printf format (keys longer than
 * 511 bytes are cut: hive's keys are a prefix and one or two ids). */
json_t *hive_kv_getf(hive_kv *kv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* val borrowed. */
int hive_kv_putf(hive_kv *kv, json_t *val, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Apply one event.  Unknown types are ignored (kept in the log only). */
int hive_apply(hive_kv *kv, const hive_event *ev);

/* Append ev to the log and apply it in the same transaction. */
int hive_emit(hive_txn *txn, hive_event *ev);

/* Read a projection document: new reference, or NULL when absent. */
json_t *hive_proj_get(hive_txn *txn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The documents by id: new reference, or NULL when absent (or id NULL). */
json_t *hive_proj_project(hive_txn *txn, const char *project_id);
json_t *hive_proj_task(hive_txn *txn, const char *task_id);
json_t *hive_proj_flow(hive_txn *txn, const char *flow_id);
/* The flow document without task_ids, as stored (schema 4): a few hundred
 * bytes whatever the flow's size, for readers that do not need the list
 * (a tick of `flow run` reads it several times).  New reference or NULL. */
json_t *hive_proj_flow_head(hive_txn *txn, const char *flow_id);
/* The flow's task ids: new reference, [] for an unknown flow. */
json_t *hive_proj_flow_task_ids(hive_txn *txn, const char *flow_id);
/* head (stolen) with its task_ids put back, in the place sorted keys give
 * it: new reference (head itself when NULL or not an object). */
json_t *hive_proj_flow_whole(hive_txn *txn, json_t *head);
json_t *hive_proj_attempt(hive_txn *txn, const char *attempt_id);
json_t *hive_proj_circuit(hive_txn *txn, const char *flow_id, const char *adapter);

/* Typed fields of a document (borrowed; NULL allowed).  States come back
 * as enums, HIVE_*_UNKNOWN when the document or its state is missing or
 * unknown.  Strings are borrowed from the document. */
hive_task_state hive_proj_task_state(const json_t *task);
hive_flow_state hive_proj_flow_state(const json_t *flow);
/* 1 while the attempt runs (it has not completed). */
int hive_proj_attempt_running(const json_t *attempt);
/* The completed attempt's hive_outcome (core/policy.h), or -1 when it has
 * none yet (or an unknown one). */
int hive_proj_attempt_outcome(const json_t *attempt);
/* The task's last outcome, as above. */
int hive_proj_task_last_outcome(const json_t *task);

/*
 * `events verify`: one pass over the log (hive_txn_verify_with) that also
 * replays it in memory, then every stored projection compared with the
 * replay.  Each problem is reported (one line) and counted; *events_out is
 * the number of events read.  Time linear in the log; memory holds the
 * replayed projections, not the log.
 */
int hive_projection_verify(hive_txn *txn, void (*report)(const char *msg, void *ctx), void *ctx,
			   uint64_t *events_out, uint64_t *problems);

/*
 * Replace every stored projection by a replay of the whole log (write
 * txn), through the same replay as hive_projection_verify.  Events the
 * replay refuses are skipped and counted in *problems (`events verify`
 * names them).  Used to upgrade a store written by an older hive.
 */
int hive_projection_rebuild(hive_txn *txn, uint64_t *problems);

#endif
