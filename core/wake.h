/*
 * wake.h - how a runner waiting out a backoff notices the world.
 *
 * `flow run` with nothing startable sleeps until the next retry is due.
 * Steering commands from other processes (flow abort/pause, task
 * abort/retry) only append events; the sleeper must see them at once, not
 * at the old due time, or it holds the flow's lock for an hour after the
 * flow was aborted and a retried task waits the backoff anyway.  So the
 * sleeper waits on the log, as `events stream --follow` does.
 */
#ifndef HIVE_WAKE_H
#define HIVE_WAKE_H

#include <stdint.h>

#include "events/store.h"

/* The last committed seq, to pass as `seen` below.  Read it *before* the
 * step whose outcome decided to sleep, so an event committed while that
 * step ran still wakes the sleeper.  Errors: HIVE_ESYSTEM. */
int hive_wake_mark(hive_store *s, uint64_t *seen_out);

/*
 * Sleep until due_ms (epoch ms, hive_time_now_ms) unless, first, the log
 * gains an event after `seen` that concerns flow_id: one carrying the
 * flow's id or the id of one of its tasks (task_retry_requested and
 * task_aborted carry only the task).  Events of other flows are skipped
 * without waking the caller.  *stop (may be NULL) is checked on every
 * signal (the wait's poll returns EINTR) and at least every 200 ms.
 * Returns 1 when woken by such an event, 0 when due_ms passed or *stop
 * was set, HIVE_ESYSTEM when the log cannot be read.  Never spins: it
 * blocks in hive_store_wait (inotify on the data file).
 */
int hive_wake_wait(hive_store *s, const char *flow_id, uint64_t seen, int64_t due_ms, volatile int *stop);

#endif
