/*
 * metrics.h - GET /metrics: Prometheus text format (version 0.0.4).
 *
 *   hive_attempts{outcome="..."}        attempts by outcome ("none": still running)
 *   hive_retries_scheduled_total        task_retry_scheduled events in the log
 *   hive_tasks{state="..."}             tasks by state
 *   hive_circuits{state="..."}          circuit breakers by their last event
 *   hive_events_last_seq                the newest seq the follower saw
 *   hive_serve_sse_clients              open event streams
 *   hive_serve_sse_streams_total        streams opened since start
 *   hive_serve_sse_events_sent_total    events read out to streams
 *   hive_serve_follow_lag_events        newest seq minus the furthest-behind stream's cursor
 *
 * Each figure comes from a core/hive.h query (documents and the log).
 */
#ifndef HIVE_METRICS_H
#define HIVE_METRICS_H

#include "core/hive.h"
#include "serve/http.h"
#include "serve/sse.h"

/* The caller serializes calls (the store handle is shared). */
enum MHD_Result hive_metrics_handle(hive_store *s, hive_sse_hub *hub, hive_http_req *r);

#endif
