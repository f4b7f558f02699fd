/*
 * emit.c - see emit.h.
 */
#include "core/emit.h"

#include "core/projection.h"
#include "events/error.h"
#include "events/json.h"

/* Thread-local: a runner thread and a person's command in the same
 * process (hive serve) never mix their events' attribution. */
static _Thread_local const char *emit_actor;

void hive_emit_actor_begin(const char *actor) { emit_actor = actor && *actor ? actor : NULL; }

void hive_emit_actor_end(void) { emit_actor = NULL; }

int hive_emit_new(hive_txn *txn, hive_event_type type, json_t *payload, const char *project_id,
		  const char *flow_id, const char *task_id, const char *attempt_id)
{
	if (!payload)
		return hive_error_set(HIVE_EFAILED, "cannot record %s: its payload could not be built",
				      hive_event_type_name(type));
	if (emit_actor && !json_object_get(payload, "actor"))
		json_object_set_new(payload, "actor", json_string(emit_actor));
	hive_event ev;
	hive_event_init(&ev, type, payload);
	hive_event_correlate(&ev, project_id, flow_id, task_id, attempt_id);
	int rc = hive_emit(txn, &ev);
	hive_event_dispose(&ev);
	return rc;
}

int hive_emit_for_task(hive_txn *txn, const json_t *task, hive_event_type type, json_t *payload,
		       const char *attempt_id)
{
	return hive_emit_new(txn, type, payload, hive_json_str(task, "project_id"),
			     hive_json_str(task, "flow_id"), hive_json_str(task, "id"), attempt_id);
}

int hive_emit_for_flow(hive_txn *txn, const json_t *flow, hive_event_type type, json_t *payload)
{
	return hive_emit_new(txn, type, payload, hive_json_str(flow, "project_id"),
			     hive_json_str(flow, "id"), NULL, NULL);
}

int hive_emit_for_task_flow(hive_txn *txn, const json_t *task, hive_event_type type,
			    json_t *payload)
{
	return hive_emit_new(txn, type, payload, hive_json_str(task, "project_id"),
			     hive_json_str(task, "flow_id"), NULL, NULL);
}

int hive_emit_task_state(hive_txn *txn, const json_t *task, hive_task_state to, const char *reason)
{
	json_t *p = hive_json_pack("{s:s,s:s}", "from", hive_json_str(task, "state"), "to", hive_task_state_name(to));
	if (p && reason)
		json_object_set_new(p, "reason", json_string(reason));
	return hive_emit_for_task(txn, task, HIVE_EV_TASK_STATE_CHANGED, p, NULL);
}
