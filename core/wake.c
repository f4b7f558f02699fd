/*
 * wake.c - a backoff sleep that wakes on the flow's events (see wake.h).
 */
#include <jansson.h>

#include "core/projection.h"
#include "core/wake.h"
#include "events/error.h"
#include "events/id.h"

/* Longest blind spot for *stop: a signal that lands just before poll()
 * is seen at the next slice. */
#define WAKE_SLICE_MS 200

int hive_wake_mark(hive_store *s, uint64_t *seen_out)
{
	return hive_store_last_seq(s, seen_out);
}

typedef struct {
	const char *flow_id;
	uint64_t after, last;
	int hit;
} concern_ctx;

static int stop_at_first(uint64_t seq, hive_slice raw, void *ctx)
{
	(void)seq;
	(void)raw;
	(void)ctx;
	return 1;
}

static int any_after(hive_txn *txn, hive_event_filter *f)
{
	int rc = hive_txn_scan(txn, f, stop_at_first, NULL);
	return rc < 0 ? rc : rc > 0;
}

/* Does any event after c->after name the flow or one of its tasks?  One
 * index lookup per id: never a scan of the log. */
static int concern_txn(hive_txn *txn, void *vctx)
{
	concern_ctx *c = vctx;
	c->last = hive_txn_last_seq(txn);
	hive_event_filter f = {.flow_id = c->flow_id, .after = c->after, .limit = 1};
	int rc = any_after(txn, &f);
	json_t *flow = rc ? NULL : hive_proj_flow(txn, c->flow_id), *id;
	size_t i;
	json_array_foreach(json_object_get(flow, "task_ids"), i, id) {
		hive_event_filter tf = {.task_id = json_string_value(id), .after = c->after, .limit = 1};
		if (!tf.task_id || (rc = any_after(txn, &tf)) != 0)
			break;
	}
	json_decref(flow);
	if (rc < 0)
		return rc;
	c->hit = rc;
	return 0;
}

int hive_wake_wait(hive_store *s, const char *flow_id, uint64_t seen, int64_t due_ms, volatile int *stop)
{
	while (!(stop && *stop)) {
		int64_t left = due_ms - hive_time_now_ms();
		if (left <= 0)
			return 0;
		if (!hive_store_wait(s, seen, left < WAKE_SLICE_MS ? (int)left : WAKE_SLICE_MS, -1))
			continue; /* slice over, or a signal: look at *stop and the clock */
		concern_ctx c = {.flow_id = flow_id, .after = seen};
		int rc = hive_store_read(s, concern_txn, &c);
		if (rc)
			return rc;
		if (c.hit)
			return 1;
		seen = c.last;
	}
	return 0;
}
