/* metrics.c - /metrics (see metrics.h). */
#include <stdlib.h>
#include <string.h>

#include "events/error.h"
#include "events/json.h"
#include "serve/metrics.h"

/* SPEC sections 2 and 3: always printed, zero or not, so a series never
 * vanishes; anything else the documents hold is printed after them. */
static const char *const task_states[] = {"pending", "ready", "running", "verifying", "success", "retry",
					  "failed", "escalated", "aborted", NULL};
static const char *const outcomes[] = {"success", "check_failed", "runtime_failed", "timeout", "crashed",
				       "runtime_unavailable", "aborted", "interrupted", "none", NULL};
static const char *const circuit_states[] = {"closed", "half_open", "open", NULL};

static void bump(json_t *counts, const char *key)
{
	json_t *v = json_object_get(counts, key);
	json_object_set_new(counts, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static json_t *zeros(const char *const *names)
{
	json_t *o = json_object();
	for (const char *const *n = names; *n; n++)
		json_object_set_new(o, *n, json_integer(0));
	return o;
}

/* A label value, escaped as the text format wants. */
static void put_label(hive_buf *b, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			hive_buf_putc(b, '\\');
		if (*v == '\n')
			hive_buf_puts(b, "\\n");
		else
			hive_buf_putc(b, *v);
	}
}

static void put_family(hive_buf *b, const char *name, const char *help, const char *label, json_t *counts)
{
	hive_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
	const char *k;
	json_t *v;
	json_object_foreach(counts, k, v) {
		hive_buf_printf(b, "%s{%s=\"", name, label);
		put_label(b, k);
		hive_buf_printf(b, "\"} %lld\n", (long long)json_integer_value(v));
	}
}

static int count_field(hive_buf *b, json_t *docs, const char *field, const char *const *names, const char *name,
		       const char *help, const char *label, const char *absent)
{
	json_t *counts = zeros(names), *d;
	size_t i;
	json_array_foreach(docs, i, d) {
		const char *v = hive_json_str(d, field);
		bump(counts, v ? v : absent);
	}
	put_family(b, name, help, label, counts);
	json_decref(counts);
	return 0;
}

static int count_event(uint64_t seq, hive_slice raw, void *ctx)
{
	(void)seq;
	(void)raw;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* Each circuit's state is its last circuit_* event: keyed by flow and
 * the payload's "circuit" (adapter + command + model), or the adapter in
 * events of an older hive. */
static int circuit_event(uint64_t seq, hive_slice raw, void *ctx)
{
	(void)seq;
	json_t *ev = json_loadb(raw.data, raw.len, 0, NULL), *last = ctx;
	const char *type = hive_json_str(ev, "type");
	json_t *p = json_object_get(ev, "payload");
	if (type) {
		hive_buf key = {0};
		const char *flow = hive_json_str(ev, "flow_id"), *ad = hive_json_str(p, "adapter"),
			   *k = hive_json_str(p, "circuit");
		hive_buf_printf(&key, "%s|%s", flow ? flow : "", k ? k : ad ? ad : "");
		const char *state = strcmp(type, "circuit_opened") == 0 ? "open"
				    : strcmp(type, "circuit_half_opened") == 0 ? "half_open" : "closed";
		json_object_set_new(last, hive_buf_str(&key), json_string(state));
		hive_buf_dispose(&key);
	}
	json_decref(ev);
	return 0;
}

static int log_figures(hive_store *s, hive_buf *b)
{
	const char *retry_t[] = {"task_retry_scheduled"};
	const char *circ_t[] = {"circuit_opened", "circuit_half_opened", "circuit_closed"};
	hive_events_query q = {.types = retry_t, .n_types = 1};
	uint64_t retries = 0;
	int rc = hive_events_list(s, &q, count_event, &retries, NULL);
	json_t *last = json_object();
	hive_events_query cq = {.types = circ_t, .n_types = 3};
	if (!rc)
		rc = hive_events_list(s, &cq, circuit_event, last, NULL);
	if (!rc) {
		hive_buf_printf(b, "# HELP hive_retries_scheduled_total Retries scheduled (task_retry_scheduled events).\n"
				   "# TYPE hive_retries_scheduled_total counter\nhive_retries_scheduled_total %llu\n",
				(unsigned long long)retries);
		json_t *counts = zeros(circuit_states), *v;
		const char *k;
		json_object_foreach(last, k, v)
			bump(counts, json_string_value(v));
		put_family(b, "hive_circuits", "Circuit breakers by state (their last circuit event).", "state", counts);
		json_decref(counts);
	}
	json_decref(last);
	return rc;
}

static void serve_figures(hive_sse_hub *hub, hive_buf *b)
{
	hive_sse_stats st;
	hive_sse_hub_stats(hub, &st);
	hive_buf_printf(b,
			"# HELP hive_events_last_seq The newest seq in the log.\n# TYPE hive_events_last_seq gauge\n"
			"hive_events_last_seq %llu\n"
			"# HELP hive_serve_sse_clients Open event streams.\n# TYPE hive_serve_sse_clients gauge\n"
			"hive_serve_sse_clients %u\n"
			"# HELP hive_serve_sse_streams_total Event streams opened since the server started.\n"
			"# TYPE hive_serve_sse_streams_total counter\nhive_serve_sse_streams_total %llu\n"
			"# HELP hive_serve_sse_events_sent_total Events read out to event streams.\n"
			"# TYPE hive_serve_sse_events_sent_total counter\nhive_serve_sse_events_sent_total %llu\n"
			"# HELP hive_serve_follow_lag_events The newest seq minus the furthest-behind stream's position.\n"
			"# TYPE hive_serve_follow_lag_events gauge\nhive_serve_follow_lag_events %llu\n",
			(unsigned long long)st.last_seq, st.clients, (unsigned long long)st.streams_total,
			(unsigned long long)st.events_sent, (unsigned long long)st.max_lag);
}

enum MHD_Result hive_metrics_handle(hive_store *s, hive_sse_hub *hub, hive_http_req *r)
{
	json_t *attempts = NULL, *tasks = NULL;
	hive_buf b = {0};
	int rc = hive_attempt_list(s, NULL, &attempts);
	if (!rc)
		rc = hive_task_list(s, NULL, &tasks);
	if (!rc) {
		count_field(&b, attempts, "outcome", outcomes, "hive_attempts",
			    "Attempts by outcome (\"none\": not finished).", "outcome", "none");
		count_field(&b, tasks, "state", task_states, "hive_tasks", "Tasks by state.", "state", "unknown");
		rc = log_figures(s, &b);
	}
	json_decref(attempts);
	json_decref(tasks);
	enum MHD_Result ret;
	if (rc) {
		ret = hive_http_hive_error(r, rc);
	} else {
		serve_figures(hub, &b);
		ret = hive_http_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
	}
	hive_buf_dispose(&b);
	return ret;
}
