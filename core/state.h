/*
 * state.h - task and flow states, and the legal transitions (SPEC section 2).
 *
 * The same table is consulted when a command emits a task_state_changed
 * event and when events are applied to projections (live or in a replay),
 * so an illegal transition can never be applied silently.
 */
#ifndef HIVE_STATE_H
#define HIVE_STATE_H

typedef enum {
	HIVE_TASK_UNKNOWN = -1, /* not a state: what parsing an unknown name gives */
	HIVE_TASK_PENDING,
	HIVE_TASK_READY,
	HIVE_TASK_RUNNING,
	HIVE_TASK_VERIFYING,
	HIVE_TASK_SUCCESS,
	HIVE_TASK_RETRY,
	HIVE_TASK_FAILED,
	HIVE_TASK_ESCALATED,
	HIVE_TASK_ABORTED,
	HIVE_TASK__COUNT
} hive_task_state;

/* Name ("pending", ...; "unknown" out of range) and parse (HIVE_TASK_UNKNOWN,
 * i.e. -1, when NULL or unknown).  Task states cross function boundaries
 * as this enum; the names exist only in documents and events. */
const char *hive_task_state_name(hive_task_state s);
hive_task_state hive_task_state_parse(const char *name);

/* 1 when from -> to is legal.  Besides SPEC section 2, any state that has
 * not ended may go to `aborted` (a person's `hive task abort` or
 * `hive flow abort`); docs/architecture.md records this choice; and
 * retry, failed and escalated may go to `success` (a person's `hive task
 * accept`, SPEC section 12; the projection also requires the task_accepted
 * event right before: core/projection.h). */
int hive_task_transition_legal(hive_task_state from, hive_task_state to);

/* success, failed, escalated, aborted: nothing more happens without a person. */
int hive_task_state_final(hive_task_state s);

typedef enum {
	HIVE_FLOW_UNKNOWN = -1, /* not a state: what parsing an unknown name gives */
	HIVE_FLOW_CREATED,
	HIVE_FLOW_RUNNING,
	HIVE_FLOW_PAUSED,
	HIVE_FLOW_COMPLETED,
	HIVE_FLOW_FAILED,
	HIVE_FLOW_ABORTED,
	HIVE_FLOW__COUNT
} hive_flow_state;

const char *hive_flow_state_name(hive_flow_state s);
/* HIVE_FLOW_UNKNOWN (-1) when NULL or unknown. */
hive_flow_state hive_flow_state_parse(const char *name);
/* completed or aborted (a failed flow can run again after `task retry`). */
int hive_flow_state_ended(hive_flow_state s);

#endif
