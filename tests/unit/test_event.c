/*
 * test_event.c - the event envelope codec and the catalog (SPEC section 8).
 *
 * What it protects: every catalog type survives encode -> decode with the
 * same fields and payload; the envelope is written in its documented order
 * with absent correlation fields left out; a type this build does not know
 * decodes as HIVE_EV_UNKNOWN and keeps its name; and every malformed or
 * incomplete stored event is rejected with a message naming the problem
 * (line/column for JSON syntax, the field otherwise).
 */
#include "testutil.h"

#include <jansson.h>

#include "events/error.h"
#include "events/event.h"

#define PID "0194a1b2-0000-7000-8000-000000000001"
#define FID "0194a1b2-0000-7000-8000-000000000002"
#define TID "0194a1b2-0000-7000-8000-000000000003"
#define AID "0194a1b2-0000-7000-8000-000000000004"
#define EID "0194a1b2-0000-7000-8000-0000000000ee"
#define TIME "2026-11-23T13:45:01.123456Z"

/* Decode `json`, expecting HIVE_EINVALID and a message containing `want`. */
static void expect_rejected(const char *json, const char *want)
{
	hive_event ev;
	hive_error_clear();
	int rc = hive_event_decode(json, strlen(json), &ev);
	if (rc != HIVE_EINVALID || !strstr(hive_error_last(), want))
		fail_msg("decode(%s): rc %d, message \"%s\"; wanted HIVE_EINVALID naming %s", json, rc,
			 hive_error_last(), want);
	assert_null(ev.payload); /* nothing leaks on failure */
}

/* The catalog: names unique, non-empty, mapped both ways; out-of-range
 * types have no kind. */
static void test_catalog_names_round_trip(void **state)
{
	(void)state;
	for (int t = 1; t < HIVE_EV__COUNT; t++) {
		const hive_event_kind *k = hive_event_kind_of((hive_event_type)t);
		assert_non_null(k);
		assert_int_equal(k->type, t);
		assert_true(strlen(k->name) > 0);
		assert_int_equal(hive_event_type_from_name(k->name), t);
		assert_string_equal(hive_event_type_name((hive_event_type)t), k->name);
		assert_true(k->required & HIVE_CORR_PROJECT); /* every known event names its project */
		for (int u = 1; u < t; u++)
			assert_string_not_equal(hive_event_kind_of((hive_event_type)u)->name, k->name);
	}
	assert_null(hive_event_kind_of(HIVE_EV_UNKNOWN));
	assert_null(hive_event_kind_of(HIVE_EV__COUNT));
	assert_int_equal(hive_event_type_from_name("no_such_type"), HIVE_EV_UNKNOWN);
	assert_int_equal(hive_event_type_from_name(""), HIVE_EV_UNKNOWN);
	/* a few contract names from SPEC section 8 */
	assert_int_equal(hive_event_type_from_name("check_completed"), HIVE_EV_CHECK_COMPLETED);
	assert_int_equal(hive_event_type_from_name("retry_context_assembled"), HIVE_EV_RETRY_CONTEXT_ASSEMBLED);
	assert_int_equal(hive_event_type_from_name("circuit_half_opened"), HIVE_EV_CIRCUIT_HALF_OPENED);
}

/* Position of `"key":` in s, or -1. */
static long key_pos(const char *s, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(s, pat);
	return p ? p - s : -1;
}

/* Every catalog type: encode -> decode gives the same envelope and
 * payload; the envelope is in contract order and carries exactly the
 * correlation fields that were set (the ones the catalog requires). */
static void test_every_type_round_trips(void **state)
{
	(void)state;
	for (int t = 1; t < HIVE_EV__COUNT; t++) {
		const hive_event_kind *k = hive_event_kind_of((hive_event_type)t);
		json_t *payload = json_pack("{s:s, s:i, s:b, s:[s,s], s:{s:n}, s:s}", "name", k->name,
					    "n", t * 1000, "flag", t % 2, "list", "a", "b", "nested", "x",
					    "text", "caf\xc3\xa9 \"quoted\"\n\ttab");
		hive_event ev;
		hive_event_init(&ev, (hive_event_type)t, payload);
		hive_event_correlate(&ev, PID, (k->required & HIVE_CORR_FLOW) ? FID : NULL,
				     (k->required & HIVE_CORR_TASK) ? TID : NULL,
				     (k->required & HIVE_CORR_ATTEMPT) ? AID : "");
		ev.seq = (uint64_t)t + 41;
		snprintf(ev.id.s, sizeof ev.id.s, "%s", EID);
		snprintf(ev.time, sizeof ev.time, "%s", TIME);

		char *json = hive_event_encode(&ev);
		assert_non_null(json);
		/* envelope order: seq, id, time, type, correlation..., payload last */
		assert_int_equal(key_pos(json, "seq"), 1);
		assert_true(key_pos(json, "id") > key_pos(json, "seq"));
		assert_true(key_pos(json, "time") > key_pos(json, "id"));
		assert_true(key_pos(json, "type") > key_pos(json, "time"));
		assert_true(key_pos(json, "project_id") > key_pos(json, "type"));
		assert_true(key_pos(json, "payload") > key_pos(json, "project_id"));
		const char *corr[] = {"flow_id", "task_id", "attempt_id"};
		unsigned bits[] = {HIVE_CORR_FLOW, HIVE_CORR_TASK, HIVE_CORR_ATTEMPT};
		for (int i = 0; i < 3; i++) {
			long p = key_pos(json, corr[i]);
			if (k->required & bits[i])
				assert_true(p > key_pos(json, "project_id") && p < key_pos(json, "payload"));
			else if (p >= 0 && p < key_pos(json, "payload"))
				fail_msg("%s: absent field %s was written: %s", k->name, corr[i], json);
		}
		assert_null(strchr(json, '\n')); /* one event = one line */

		hive_event back;
		int rc = hive_event_decode(json, strlen(json), &back);
		if (rc)
			fail_msg("%s: decode failed: %s", k->name, hive_error_last());
		assert_int_equal(back.type, t);
		assert_string_equal(back.type_name, k->name);
		assert_int_equal(back.seq, ev.seq);
		assert_string_equal(back.id.s, EID);
		assert_string_equal(back.time, TIME);
		assert_string_equal(back.project_id, ev.project_id);
		assert_string_equal(back.flow_id, ev.flow_id);
		assert_string_equal(back.task_id, ev.task_id);
		assert_string_equal(back.attempt_id, ev.attempt_id);
		assert_true(json_equal(back.payload, ev.payload));
		/* encoding the decoded event gives the same bytes */
		char *again = hive_event_encode(&back);
		assert_string_equal(again, json);
		free(again);
		free(json);
		hive_event_dispose(&back);
		hive_event_dispose(&ev);
		assert_null(ev.payload);
	}
}

/* init with a NULL payload gives an empty object, which is encoded; the
 * exact bytes of a minimal envelope. */
/* A NULL payload stays NULL (hive_store_append refuses such an event:
 * test_store's test_null_payload_refused); encoding one for display
 * still gives {}. */
static void test_null_payload_stays_null(void **state)
{
	(void)state;
	hive_event ev;
	hive_event_init(&ev, HIVE_EV_PROJECT_CREATED, NULL);
	assert_null(ev.payload);
	hive_event_correlate(&ev, PID, NULL, NULL, NULL);
	ev.seq = 1;
	snprintf(ev.id.s, sizeof ev.id.s, "%s", EID);
	snprintf(ev.time, sizeof ev.time, "%s", TIME);
	char *json = hive_event_encode(&ev);
	assert_string_equal(json, "{\"seq\":1,\"id\":\"" EID "\",\"time\":\"" TIME
			    "\",\"type\":\"project_created\",\"project_id\":\"" PID "\",\"payload\":{}}");
	free(json);
	/* an event whose payload was released still encodes {} (and leaks
	 * nothing: run under ASan/valgrind) */
	hive_event_dispose(&ev);
	json = hive_event_encode(&ev);
	assert_non_null(strstr(json, ",\"payload\":{}}"));
	free(json);
}

/* A type from a newer hive decodes as HIVE_EV_UNKNOWN with its stored name,
 * without required correlation fields, and keeps its payload. */
static void test_unknown_type_is_kept(void **state)
{
	(void)state;
	const char *json = "{\"seq\":9,\"id\":\"" EID "\",\"time\":\"" TIME "\",\"type\":\"quantum_entangled\","
			   "\"flow_id\":\"" FID "\",\"payload\":{\"spin\":[1,-1]},\"extra_field\":true}";
	hive_event ev;
	assert_int_equal(hive_event_decode(json, strlen(json), &ev), 0);
	assert_int_equal(ev.type, HIVE_EV_UNKNOWN);
	assert_string_equal(ev.type_name, "quantum_entangled");
	assert_string_equal(ev.flow_id, FID);
	assert_string_equal(ev.project_id, "");
	assert_int_equal(json_array_size(json_object_get(ev.payload, "spin")), 2);
	hive_event_dispose(&ev);
}

/* JSON syntax errors name the line and column. */
static void test_malformed_json_has_position(void **state)
{
	(void)state;
	expect_rejected("{\"seq\": 1,\n  \"id\": }", "line 2 column");
	expect_rejected("{\"seq\": 1,\n  \"id\": }", "invalid JSON");
	expect_rejected("", "invalid JSON");
	expect_rejected("{\"seq\":1", "line 1 column");
	/* trailing garbage after the object */
	expect_rejected("{\"seq\":1} x", "invalid JSON");
	/* duplicate keys would make "the stored event" ambiguous */
	expect_rejected("{\"seq\":1,\"seq\":2,\"id\":\"" EID "\",\"time\":\"" TIME
			"\",\"type\":\"x\",\"payload\":{}}", "invalid JSON");
	expect_rejected("[1,2]", "not a JSON object");
}

/* Each required envelope field, when missing, is named in the error. */
static void test_missing_fields_are_named(void **state)
{
	(void)state;
	const char *seq = "\"seq\":3", *id = "\"id\":\"" EID "\"", *time = "\"time\":\"" TIME "\"",
		   *type = "\"type\":\"flow_started\"", *proj = "\"project_id\":\"" PID "\"",
		   *flow = "\"flow_id\":\"" FID "\"", *payload = "\"payload\":{}";
	const char *parts[] = {seq, id, time, type, proj, flow, payload};
	const char *names[] = {"\"seq\"", "\"id\"", "\"time\"", "\"type\"", "\"project_id\"", "\"flow_id\"",
			       "\"payload\""};
	char buf[1024];
	/* the full event is valid */
	snprintf(buf, sizeof buf, "{%s,%s,%s,%s,%s,%s,%s}", seq, id, time, type, proj, flow, payload);
	hive_event ev;
	assert_int_equal(hive_event_decode(buf, strlen(buf), &ev), 0);
	hive_event_dispose(&ev);
	for (int drop = 0; drop < 7; drop++) {
		size_t n = 0;
		n += (size_t)snprintf(buf + n, sizeof buf - n, "{");
		int first = 1;
		for (int i = 0; i < 7; i++) {
			if (i == drop)
				continue;
			n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", first ? "" : ",", parts[i]);
			first = 0;
		}
		snprintf(buf + n, sizeof buf - n, "}");
		expect_rejected(buf, names[drop]);
	}
	/* the correlation error says which type needs it and which event */
	snprintf(buf, sizeof buf, "{%s,%s,%s,%s,%s,%s}", seq, id, time, type, proj, payload);
	expect_rejected(buf, "event seq 3: field \"flow_id\" is required for type \"flow_started\"");
	/* attempt-level types need the attempt id */
	snprintf(buf, sizeof buf, "{%s,%s,%s,\"type\":\"check_completed\",%s,%s,\"task_id\":\"" TID "\",%s}",
		 seq, id, time, proj, flow, payload);
	expect_rejected(buf, "\"attempt_id\" is required for type \"check_completed\"");
}

/* Fields of the wrong type or value are rejected, naming the field. */
static void test_wrong_field_types(void **state)
{
	(void)state;
	expect_rejected("{\"seq\":\"1\",\"id\":\"" EID "\",\"time\":\"" TIME "\",\"type\":\"x\",\"payload\":{}}",
			"\"seq\"");
	expect_rejected("{\"seq\":0,\"id\":\"" EID "\",\"time\":\"" TIME "\",\"type\":\"x\",\"payload\":{}}",
			"\"seq\"");
	expect_rejected("{\"seq\":-4,\"id\":\"" EID "\",\"time\":\"" TIME "\",\"type\":\"x\",\"payload\":{}}",
			"\"seq\"");
	expect_rejected("{\"seq\":1,\"id\":7,\"time\":\"" TIME "\",\"type\":\"x\",\"payload\":{}}", "\"id\"");
	expect_rejected("{\"seq\":1,\"id\":\"" EID "\",\"time\":\"\",\"type\":\"x\",\"payload\":{}}", "\"time\"");
	expect_rejected("{\"seq\":1,\"id\":\"" EID "\",\"time\":\"" TIME "\",\"type\":\"x\",\"payload\":[]}",
			"\"payload\" must be an object");
	expect_rejected("{\"seq\":1,\"id\":\"" EID "\",\"time\":\"" TIME "\",\"type\":\"x\",\"flow_id\":\""
			FID "-too-long\",\"payload\":{}}", "\"flow_id\"");
	expect_rejected("{\"seq\":1,\"id\":\"" EID "\",\"time\":\"" TIME "\",\"type\":\"x\",\"task_id\":null,"
			"\"payload\":{}}", "\"task_id\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalog_names_round_trip),
		cmocka_unit_test(test_every_type_round_trips),
		cmocka_unit_test(test_null_payload_stays_null),
		cmocka_unit_test(test_unknown_type_is_kept),
		cmocka_unit_test(test_malformed_json_has_position),
		cmocka_unit_test(test_missing_fields_are_named),
		cmocka_unit_test(test_wrong_field_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
