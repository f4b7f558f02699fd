/*
 * circuit.c - the circuit breaker.  See circuit.h.
 */
#include "core/circuit.h"

#include "core/emit.h"
#include "core/jsoncheck.h"
#include "core/projection.h"
#include "events/error.h"
#include "events/id.h"
#include "events/json.h"
#include "events/sha256.h"

#include <stdio.h>
#include <stdlib.h>

#include <limits.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Configuration                                                      */
/* ------------------------------------------------------------------ */

static const char *const circuit_keys[] = {"failure_threshold", "reset_timeout", NULL};
static const char *const circuit_canon_keys[] = {"failure_threshold", "reset_timeout_ms", NULL};

void hive_circuit_config_default(hive_circuit_config *c)
{
	c->enabled = 1;
	c->failure_threshold = 5;
	c->reset_timeout_ms = 60000;
}

static int parse_circuit(const json_t *obj, const char *path, int canon, hive_circuit_config *out)
{
	const char *const *keys = canon ? circuit_canon_keys : circuit_keys;
	hive_circuit_config c;
	int rc;
	hive_circuit_config_default(&c);
	if (obj) {
		if ((rc = hive_jsoncheck_keys(obj, path, keys, canon)) ||
		    (rc = hive_jsoncheck_int(obj, path, keys[0], 1, HIVE_CIRCUIT_THRESHOLD_LIMIT, &c.failure_threshold)) ||
		    (rc = hive_jsoncheck_ms(obj, path, keys[1], canon, &c.reset_timeout_ms)))
			return rc;
	}
	*out = c;
	return 0;
}

int hive_circuit_config_parse(const json_t *obj, const char *where, hive_circuit_config *out)
{
	return parse_circuit(obj, where ? where : "circuit_breaker", 0, out);
}

int hive_circuit_config_from_json(const json_t *canonical, hive_circuit_config *out)
{
	if (!canonical)
		return hive_jsoncheck_fail("circuit_breaker", NULL, "missing");
	return parse_circuit(canonical, "circuit_breaker", 1, out);
}

json_t *hive_circuit_config_to_json(const hive_circuit_config *c)
{
	return json_pack("{s:i, s:I}", "failure_threshold", c->failure_threshold,
	                 "reset_timeout_ms", (json_int_t)c->reset_timeout_ms);
}

static const char *const circuit_names[] = {"closed", "open", "half_open"};

const char *hive_circuit_state_name(hive_circuit_state s)
{
	if ((unsigned)s > HIVE_CIRCUIT_HALF_OPEN)
		return "unknown";
	return circuit_names[s];
}

hive_circuit_state hive_circuit_state_parse(const char *name)
{
	for (int s = HIVE_CIRCUIT_CLOSED; name && s <= HIVE_CIRCUIT_HALF_OPEN; s++)
		if (strcmp(name, circuit_names[s]) == 0)
			return (hive_circuit_state)s;
	return HIVE_CIRCUIT_CLOSED;
}

/* ------------------------------------------------------------------ */
/* The state machine                                                  */
/* ------------------------------------------------------------------ */

hive_circuit_verdict hive_circuit_classify(hive_outcome o)
{
	switch (o) {
	case HIVE_OUTCOME_RUNTIME_FAILED:
	case HIVE_OUTCOME_TIMEOUT:
	case HIVE_OUTCOME_RUNTIME_UNAVAILABLE:
		return HIVE_CIRCUIT_FAILURE;
	case HIVE_OUTCOME_SUCCESS:
	case HIVE_OUTCOME_CHECK_FAILED:
	case HIVE_OUTCOME_CRASHED:
		return HIVE_CIRCUIT_SUCCESS;
	case HIVE_OUTCOME_ABORTED:
	case HIVE_OUTCOME_INTERRUPTED: /* a signal to the runner says nothing of the runtime */
	case HIVE_OUTCOME__COUNT:
		break;
	}
	return HIVE_CIRCUIT_IGNORED;
}

int hive_circuit_failures_after(hive_circuit_state state, int failures, hive_outcome o)
{
	if (state == HIVE_CIRCUIT_OPEN)
		return failures;
	switch (hive_circuit_classify(o)) {
	case HIVE_CIRCUIT_FAILURE:
		return failures < INT_MAX ? failures + 1 : INT_MAX;
	case HIVE_CIRCUIT_SUCCESS:
		return 0;
	case HIVE_CIRCUIT_IGNORED:
		break;
	}
	return failures;
}

static void set_transition(int *t, int v)
{
	if (t)
		*t = v;
}

/* Has `timeout` ms passed from `since` to `now`?  Overflow-free; a clock
 * that went backwards counts as "not yet". */
static int elapsed(int64_t since, int64_t now, int64_t timeout)
{
	if (now < since)
		return timeout <= 0;
	return (uint64_t)now - (uint64_t)since >= (uint64_t)(timeout > 0 ? timeout : 0);
}

int hive_circuit_allow(hive_circuit *c, const hive_circuit_config *cfg, int64_t now_ms,
                       int *transition)
{
	set_transition(transition, -1);
	if (!cfg->enabled)
		return 1;
	switch (c->state) {
	case HIVE_CIRCUIT_CLOSED:
		return 1;
	case HIVE_CIRCUIT_OPEN:
		if (!elapsed(c->opened_at_ms, now_ms, cfg->reset_timeout_ms))
			return 0;
		c->state = HIVE_CIRCUIT_HALF_OPEN;
		c->probe_in_flight = 1;
		set_transition(transition, HIVE_CIRCUIT_HALF_OPEN);
		return 1;
	case HIVE_CIRCUIT_HALF_OPEN:
		if (c->probe_in_flight)
			return 0;
		c->probe_in_flight = 1;
		return 1;
	}
	return 0;
}

static int circuit_open(hive_circuit *c, int64_t now_ms)
{
	c->state = HIVE_CIRCUIT_OPEN;
	c->opened_at_ms = now_ms;
	c->probe_in_flight = 0;
	return HIVE_CIRCUIT_OPEN;
}

static int circuit_failure(hive_circuit *c, const hive_circuit_config *cfg, int64_t now_ms)
{
	c->consecutive_failures = hive_circuit_failures_after(c->state, c->consecutive_failures,
							      HIVE_OUTCOME_RUNTIME_FAILED);
	if (c->state == HIVE_CIRCUIT_HALF_OPEN ||
	    c->consecutive_failures >= cfg->failure_threshold)
		return circuit_open(c, now_ms);
	return -1;
}

static int circuit_success(hive_circuit *c)
{
	int was_half_open = c->state == HIVE_CIRCUIT_HALF_OPEN;
	c->consecutive_failures = 0;
	c->state = HIVE_CIRCUIT_CLOSED;
	c->probe_in_flight = 0;
	return was_half_open ? HIVE_CIRCUIT_CLOSED : -1;
}

void hive_circuit_record(hive_circuit *c, const hive_circuit_config *cfg, hive_outcome outcome,
                         int64_t now_ms, int *transition)
{
	set_transition(transition, -1);
	if (!cfg->enabled || c->state == HIVE_CIRCUIT_OPEN)
		return;
	switch (hive_circuit_classify(outcome)) {
	case HIVE_CIRCUIT_IGNORED:
		if (c->state == HIVE_CIRCUIT_HALF_OPEN)
			c->probe_in_flight = 0;
		break;
	case HIVE_CIRCUIT_FAILURE:
		set_transition(transition, circuit_failure(c, cfg, now_ms));
		break;
	case HIVE_CIRCUIT_SUCCESS:
		set_transition(transition, circuit_success(c));
		break;
	}
}

/* ------------------------------------------------------------------ */
/* In the store                                                       */
/* ------------------------------------------------------------------ */

static void circuit_from(const json_t *doc, hive_circuit *c)
{
	memset(c, 0, sizeof *c);
	c->state = hive_circuit_state_parse(hive_json_str(doc, "state"));
	c->consecutive_failures = (int)json_integer_value(json_object_get(doc, "consecutive_failures"));
	c->opened_at_ms = json_integer_value(json_object_get(doc, "opened_at_ms"));
	c->probe_in_flight = c->state == HIVE_CIRCUIT_HALF_OPEN;
}

int hive_circuit_configured(const json_t *flow)
{
	return json_is_object(json_object_get(json_object_get(flow, "defaults"), "circuit_breaker"));
}

void hive_circuit_key(const json_t *runtime, char key[HIVE_CIRCUIT_KEY_LEN])
{
	const char *adapter = hive_json_str(runtime, "adapter");
	json_t *id = json_pack("[s?,O?,O?,O?]", adapter, json_object_get(runtime, "command"),
			       json_object_get(runtime, "args"), json_object_get(runtime, "model"));
	char *text = id ? json_dumps(id, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	char hex[65];
	hive_sha256_hex(text ? text : "", text ? strlen(text) : 0, hex);
	snprintf(key, HIVE_CIRCUIT_KEY_LEN, "%.78s-%.16s", adapter ? adapter : "none", hex);
	free(text);
	json_decref(id);
}

int hive_circuit_load(hive_txn *txn, const char *flow_id, const char *key, hive_circuit *c,
		      hive_circuit_config *cfg)
{
	json_t *flow = hive_proj_flow_head(txn, flow_id);
	json_t *cb = json_object_get(json_object_get(flow, "defaults"), "circuit_breaker");
	if (!hive_circuit_configured(flow)) {
		hive_circuit_config_default(cfg);
		cfg->enabled = 0; /* off unless configured (SPEC 12) */
	} else if (hive_circuit_config_from_json(cb, cfg) != 0) {
		hive_circuit_config_default(cfg);
		hive_error_clear(); /* a guard: flow_created carries a valid one */
	}
	json_decref(flow);
	json_t *doc = hive_proj_circuit(txn, flow_id, key);
	circuit_from(doc, c);
	/* half-open: the probe is in flight only while its attempt runs (a
	 * person may have aborted it; then the next attempt probes) */
	const char *probe = hive_json_str(doc, "probe_attempt");
	if (c->state == HIVE_CIRCUIT_HALF_OPEN && probe) {
		json_t *a = hive_proj_attempt(txn, probe);
		c->probe_in_flight = hive_proj_attempt_running(a);
		json_decref(a);
	}
	json_decref(doc);
	return 0;
}

/* New reference: what names a circuit in its events. */
static json_t *circuit_payload(const char *key, const json_t *runtime)
{
	const char *adapter = hive_json_str(runtime, "adapter");
	return hive_json_pack("{s:s,s:s,s:O?,s:O?}", "adapter", adapter ? adapter : "exec", "circuit", key,
			      "command", json_object_get(runtime, "command"), "model",
			      json_object_get(runtime, "model"));
}

int hive_circuit_note_start(hive_txn *txn, const json_t *task, const char *attempt_id, int64_t now_ms)
{
	const json_t *runtime = json_object_get(task, "runtime");
	char key[HIVE_CIRCUIT_KEY_LEN];
	hive_circuit_key(runtime, key);
	hive_circuit circ;
	hive_circuit_config cfg;
	hive_circuit_load(txn, hive_json_str(task, "flow_id"), key, &circ, &cfg);
	int was = circ.state, transition = -1;
	if (!hive_circuit_allow(&circ, &cfg, now_ms, &transition))
		return hive_error_set(HIVE_ECONFLICT, "circuit %s is open", key);
	if (!cfg.enabled || (transition != HIVE_CIRCUIT_HALF_OPEN && was != HIVE_CIRCUIT_HALF_OPEN))
		return 0;
	json_t *p = circuit_payload(key, runtime);
	if (p)
		json_object_set_new(p, "probe_attempt", json_string(attempt_id));
	return hive_emit_for_task_flow(txn, task, HIVE_EV_CIRCUIT_HALF_OPENED, p);
}

int hive_circuit_note_outcome(hive_txn *txn, const json_t *task, const char *key, const json_t *runtime,
			      hive_circuit *c, const hive_circuit_config *cfg, hive_outcome outcome,
			      int64_t now_ms)
{
	int transition = -1;
	hive_circuit_record(c, cfg, outcome, now_ms, &transition);
	if (transition != HIVE_CIRCUIT_OPEN && transition != HIVE_CIRCUIT_CLOSED)
		return 0;
	json_t *p = circuit_payload(key, runtime);
	if (p && transition == HIVE_CIRCUIT_OPEN) {
		char at[40];
		hive_time_format_ms(c->opened_at_ms + cfg->reset_timeout_ms, at, sizeof at);
		json_object_set_new(p, "failures", json_integer(c->consecutive_failures));
		json_object_set_new(p, "opened_at_ms", json_integer((json_int_t)c->opened_at_ms));
		json_object_set_new(p, "reset_timeout_ms", json_integer((json_int_t)cfg->reset_timeout_ms));
		json_object_set_new(p, "reopens_at", json_string(at)); /* when a probe may start */
	}
	return hive_emit_for_task_flow(txn, task, transition == HIVE_CIRCUIT_OPEN ? HIVE_EV_CIRCUIT_OPENED
						  : HIVE_EV_CIRCUIT_CLOSED, p);
}
