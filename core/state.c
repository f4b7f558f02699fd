#include "core/state.h"

#include <string.h>

static const char *const task_names[HIVE_TASK__COUNT] = {
	"pending", "ready", "running", "verifying", "success", "retry", "failed", "escalated", "aborted",
};

static const char *const flow_names[HIVE_FLOW__COUNT] = {
	"created", "running", "paused", "completed", "failed", "aborted",
};

const char *hive_task_state_name(hive_task_state s)
{
	return s >= 0 && s < HIVE_TASK__COUNT ? task_names[s] : "unknown";
}

hive_task_state hive_task_state_parse(const char *name)
{
	for (int i = 0; name && i < HIVE_TASK__COUNT; i++)
		if (strcmp(task_names[i], name) == 0)
			return (hive_task_state)i;
	return HIVE_TASK_UNKNOWN;
}

#define B(s) (1u << HIVE_TASK_##s)

/* legal[from] = set of states `from` may move to. */
static const unsigned legal[HIVE_TASK__COUNT] = {
	[HIVE_TASK_PENDING]   = B(READY) | B(ABORTED),
	[HIVE_TASK_READY]     = B(RUNNING) | B(ABORTED),
	[HIVE_TASK_RUNNING]   = B(VERIFYING) | B(RETRY) | B(FAILED) | B(ABORTED),
	[HIVE_TASK_VERIFYING] = B(SUCCESS) | B(RETRY) | B(FAILED) | B(ABORTED),
	[HIVE_TASK_SUCCESS]   = 0,
	/* -> success from retry, failed, escalated: `hive task accept` (SPEC section 12) */
	[HIVE_TASK_RETRY]     = B(RUNNING) | B(PENDING) | B(ABORTED) | B(SUCCESS),
	[HIVE_TASK_FAILED]    = B(ESCALATED) | B(PENDING) | B(SUCCESS),
	[HIVE_TASK_ESCALATED] = B(PENDING) | B(SUCCESS),
	[HIVE_TASK_ABORTED]   = B(PENDING), /* only by joining a new flow (SPEC section 12) */
};

#undef B

int hive_task_transition_legal(hive_task_state from, hive_task_state to)
{
	if (from < 0 || from >= HIVE_TASK__COUNT || to < 0 || to >= HIVE_TASK__COUNT)
		return 0;
	return (legal[from] >> to) & 1u;
}

int hive_task_state_final(hive_task_state s)
{
	return s == HIVE_TASK_SUCCESS || s == HIVE_TASK_FAILED || s == HIVE_TASK_ESCALATED ||
	       s == HIVE_TASK_ABORTED;
}

const char *hive_flow_state_name(hive_flow_state s)
{
	return s >= 0 && s < HIVE_FLOW__COUNT ? flow_names[s] : "unknown";
}

hive_flow_state hive_flow_state_parse(const char *name)
{
	for (int i = 0; name && i < HIVE_FLOW__COUNT; i++)
		if (strcmp(flow_names[i], name) == 0)
			return (hive_flow_state)i;
	return HIVE_FLOW_UNKNOWN;
}

int hive_flow_state_ended(hive_flow_state s)
{
	return s == HIVE_FLOW_COMPLETED || s == HIVE_FLOW_ABORTED;
}
