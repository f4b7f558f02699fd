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

#include "events/buf.h"
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

/* The reference: what jansson alone makes of an envelope, field by field. */
static json_t *reference_envelope(const hive_event *ev)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s}", "seq", (json_int_t)ev->seq, "id", ev->id.s, "time", ev->time,
			      "type", ev->type_name);
	const char *names[4] = {"project_id", "flow_id", "task_id", "attempt_id"};
	const char *vals[4] = {ev->project_id, ev->flow_id, ev->task_id, ev->attempt_id};
	for (int i = 0; i < 4; i++)
		if (vals[i][0])
			json_object_set_new(o, names[i], json_string(vals[i]));
	json_object_set(o, "payload", ev->payload);
	return o;
}

/* The encoder writes the envelope by hand (events/event.c encode_fast):
 * byte for byte what jansson writes, including for strings that need an
 * escape (they take jansson's path) and payloads over its small buffer. */
static void test_encode_matches_jansson(void **state)
{
	(void)state;
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	json_t *payloads[] = {
		json_pack("{s:s,s:i,s:b,s:n,s:[i,i]}", "name", "unit", "exit_code", 3, "passed", 0, "signal", "x", 1, 2),
		json_pack("{s:s}", "text", "caf\xc3\xa9 \"quoted\"\n\x1b[31m"),
		json_pack("{s:s}", "big", big),
		json_object(),
	};
	const char *flows[] = {FID, "weird\"flow", "tab\there", "caf\xc3\xa9"};
	for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		for (size_t f = 0; f < sizeof flows / sizeof flows[0]; f++) {
			hive_event ev;
			hive_event_init(&ev, HIVE_EV_CHECK_COMPLETED, json_incref(payloads[i]));
			hive_event_correlate(&ev, PID, flows[f], TID, f == 3 ? NULL : AID);
			ev.seq = 1234567 + f;
			snprintf(ev.id.s, sizeof ev.id.s, "%s", EID);
			snprintf(ev.time, sizeof ev.time, "%s", TIME);
			char *got = hive_event_encode(&ev);
			json_t *ref = reference_envelope(&ev);
			char *want = json_dumps(ref, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
			assert_string_equal(got, want);
			free(want);
			free(got);
			json_decref(ref);
			hive_event_dispose(&ev);
		}
		json_decref(payloads[i]);
	}
}

/* The payload writer (events/event.c put_value) against jansson's dump,
 * value kind by value kind: every escape it writes itself, integers at
 * both ends, nesting, key order, and what it leaves to jansson (reals,
 * non-ASCII text) -- the whole envelope compared byte for byte. */
static void test_payload_writer_matches_jansson(void **state)
{
	(void)state;
	char controls[40];
	for (int i = 0; i < 32; i++)
		controls[i] = (char)(i + 1 < 32 ? i + 1 : 0x7f);
	controls[32] = '\0';
	json_t *payloads[] = {
		json_pack("{s:s,s:s,s:s}", "ctl", controls, "quote\"key\\", "\"\\/", "empty", ""),
		json_pack("{s:I,s:I,s:I,s:i,s:i}", "max", (json_int_t)INT64_MAX, "min", (json_int_t)INT64_MIN, "neg",
			  (json_int_t)-42, "zero", 0, "ten", 10),
		json_loads("{\"a\":[],\"o\":{},\"nested\":[[],{},[1,[2,[3]]]],\"deep\":{\"x\":{\"y\":{\"z\":null}}}}", 0,
			   NULL),
		json_pack("{s:b,s:b,s:n,s:f}", "t", 1, "f", 0, "n", "real", 0.1),
		json_pack("{s:f,s:f}", "one", 1.0, "big", 1e300),
		json_pack("{s:s}", "utf8", "\xe2\x80\x98quoted\xe2\x80\x99 \xf0\x9f\x90\x9d"),
		json_pack("{s:s}", "caf\xc3\xa9", "key is not ASCII"),
		json_pack("{s:[s,f,s]}", "mixed", "ascii", 2.5, "\xc3\xa9"),
	};
	/* members in insertion order, not sorted */
	json_t *order = json_object();
	json_object_set_new(order, "zeta", json_integer(1));
	json_object_set_new(order, "alpha", json_integer(2));
	json_object_set_new(order, "mid", json_stringn("nul\0inside", 10));
	for (size_t i = 0; i <= sizeof payloads / sizeof payloads[0]; i++) {
		json_t *p = i < sizeof payloads / sizeof payloads[0] ? payloads[i] : order;
		assert_non_null(p);
		hive_event ev;
		hive_event_init(&ev, HIVE_EV_CHECK_COMPLETED, p);
		hive_event_correlate(&ev, PID, FID, TID, AID);
		ev.seq = 18;
		snprintf(ev.id.s, sizeof ev.id.s, "%s", EID);
		snprintf(ev.time, sizeof ev.time, "%s", TIME);
		char *got = hive_event_encode(&ev);
		json_t *ref = reference_envelope(&ev);
		char *want = json_dumps(ref, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		assert_string_equal(got, want);
		free(want);
		free(got);
		json_decref(ref);
		hive_event_dispose(&ev);
	}
}

/* The envelope's strings are checked 8 bytes at a time (put_field's
 * word_not_plain): every byte value at every position of a 1- to 20-byte
 * correlation id still gives jansson's bytes, escape or not. */
static void test_envelope_bytes_every_value_and_position(void **state)
{
	(void)state;
	for (size_t len = 1; len <= 20; len++)
		for (size_t at = 0; at < len; at++)
			for (int byte = 1; byte < 256; byte++) {
				char id[HIVE_ID_LEN + 1];
				memset(id, 'a', len);
				id[len] = '\0';
				id[at] = (char)byte;
				if (byte >= 0x80) /* alone, not UTF-8: jansson refuses it (a UTF-8 id: test_encode_matches_jansson) */
					continue;
				hive_event ev;
				hive_event_init(&ev, HIVE_EV_TASK_READY, json_object());
				hive_event_correlate(&ev, PID, id, TID, NULL);
				ev.seq = 5;
				snprintf(ev.id.s, sizeof ev.id.s, "%s", EID);
				snprintf(ev.time, sizeof ev.time, "%s", TIME);
				char *got = hive_event_encode(&ev);
				json_t *ref = reference_envelope(&ev);
				char *want = json_dumps(ref, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
				if (strcmp(got, want) != 0)
					fail_msg("byte 0x%02x at %zu of %zu: got %s, want %s", byte, at, len, got, want);
				free(want);
				free(got);
				json_decref(ref);
				hive_event_dispose(&ev);
			}
}

/* {"k": [[...[1]...]]}: a payload whose deepest value is at `levels`
 * (the payload object is level 1), as text. */
static char *nested_payload(int levels)
{
	hive_buf b = {0};
	hive_buf_puts(&b, "{\"k\":");
	for (int i = 0; i < levels - 2; i++)
		hive_buf_putc(&b, '[');
	hive_buf_putc(&b, '1');
	for (int i = 0; i < levels - 2; i++)
		hive_buf_putc(&b, ']');
	hive_buf_putc(&b, '}');
	return hive_buf_detach(&b);
}

/* The depth cap (HIVE_EVENT_MAX_DEPTH) decides alike on the decoder's
 * fast path (hive's own layout) and its full parse (any other layout):
 * it used to be one level apart (a payload 2048 deep passed the fast path
 * and failed the full parse).  The encoder's side is in test_store
 * (append refuses a deeper payload). */
static void test_payload_depth_cap(void **state)
{
	(void)state;
	const int levels[] = {2, HIVE_EVENT_MAX_DEPTH - 1, HIVE_EVENT_MAX_DEPTH, HIVE_EVENT_MAX_DEPTH + 1, 2047, 2048, 2049};
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		char *payload = nested_payload(levels[i]);
		int want_ok = levels[i] <= HIVE_EVENT_MAX_DEPTH;
		const char *layouts[] = {"{\"seq\":3,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"payload\":%s}",
					 "{\"seq\":3, \"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"payload\":%s}"};
		for (int l = 0; l < 2; l++) {
			hive_buf text = {0};
			hive_buf_printf(&text, layouts[l], payload);
			hive_event ev;
			hive_error_clear();
			int rc = hive_event_decode(text.data, text.len, &ev);
			if (want_ok != (rc == 0))
				fail_msg("depth %d, layout %d: decode rc %d (%s)", levels[i], l, rc, hive_error_last());
			if (rc == 0) {
				assert_true(hive_event_payload_depth_ok(ev.payload));
				hive_event_dispose(&ev);
			} else {
				assert_int_equal(rc, HIVE_EINVALID);
				assert_null(ev.payload);
				if (levels[i] <= 2047) /* jansson parses it; hive's cap refuses it */
					assert_non_null(strstr(hive_error_last(), "nests deeper than 1000 levels"));
			}
			hive_buf_dispose(&text);
		}
		json_t *parsed = json_loads(payload, 0, NULL);
		if (parsed) /* jansson parses the payload alone up to 2048 */
			assert_int_equal(hive_event_payload_depth_ok(parsed), want_ok);
		json_decref(parsed);
		free(payload);
	}
	assert_true(hive_event_payload_depth_ok(NULL));
	/* a cycle is too deep, not a hang */
	json_t *a = json_array(), *b = json_array();
	json_array_append(a, b);
	json_array_append(b, a);
	assert_false(hive_event_payload_depth_ok(a));
	json_array_clear(b);
	json_decref(b);
	json_decref(a);
}

/* The decoder reads hive's own layout by hand (decode_fast) and leaves
 * everything else to jansson: for each text, the decoded event is the
 * one a full parse gives (or both reject it). */
static void expect_same_as_full_parse(const char *text)
{
	hive_event ev;
	int rc = hive_event_decode(text, strlen(text), &ev);
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	json_t *payload = json_object_get(o, "payload");
	int full_ok = json_is_object(payload) && json_integer_value(json_object_get(o, "seq")) >= 1;
	if (!full_ok) {
		if (rc == 0)
			fail_msg("decode accepted what a full parse rejects: %s", text);
		json_decref(o);
		return;
	}
	if (rc != 0)
		fail_msg("decode rejected %s: %s", text, hive_error_last());
	json_t *ref = reference_envelope(&ev);
	/* every field the event carries is the full parse's, and no other */
	const char *k;
	json_t *v;
	json_object_foreach(ref, k, v)
		if (!json_equal(v, json_object_get(o, k)))
			fail_msg("field %s differs from a full parse of %s", k, text);
	json_object_foreach(o, k, v)
		if (!json_object_get(ref, k) && strcmp(k, "extra") != 0)
			fail_msg("field %s of %s was dropped", k, text);
	json_decref(ref);
	json_decref(o);
	hive_event_dispose(&ev);
}

static void test_decode_fast_path_agrees(void **state)
{
	(void)state;
	const char *base = "{\"seq\":7,\"id\":\"" EID "\",\"time\":\"" TIME "\",\"type\":\"check_completed\","
			   "\"project_id\":\"" PID "\",\"flow_id\":\"" FID "\",\"task_id\":\"" TID "\",\"attempt_id\":\"" AID
			   "\",\"payload\":";
	char text[2048];
	const char *tails[] = {
		"{\"name\":\"unit\",\"passed\":true}}", /* the usual */
		"{}}",
		"{} }",                                 /* whitespace before the brace */
		"{\"a\":{\"b\":[1,2,{\"c\":\"}\"}]}}}",  /* braces inside the payload */
		"{\"a\":1},\"extra\":2}",               /* a field after the payload */
		"{\"a\":1,\"a\":2}}",                   /* duplicate payload keys */
		"{},\"payload\":{}}",                   /* duplicate payload field */
		"[1]}",                                 /* not an object */
		"{\"a\":1}}}",                          /* trailing garbage */
		"{\"a\":\"\\u00e9\"}}",
		"{\"a\":1}",                            /* truncated */
	};
	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		snprintf(text, sizeof text, "%s%s", base, tails[i]);
		expect_same_as_full_parse(text);
	}
	const char *whole[] = {
		"{\"seq\":07,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"payload\":{}}",
		"{\"seq\":0,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"payload\":{}}",
		"{\"seq\":1.5,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"payload\":{}}",
		"{\"seq\":99999999999999999999,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"payload\":{}}",
		"{\"seq\":1,\"id\":\"\\u0061\",\"time\":\"t\",\"type\":\"x\",\"payload\":{}}",
		"{\"seq\":1,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"flow_id\":\"f\",\"flow_id\":\"g\",\"payload\":{}}",
		"{\"seq\":1,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"task_id\":\"t\",\"flow_id\":\"f\",\"payload\":{}}",
		"{\"seq\":1,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"payload\":{}} ",
		"{\"seq\":1, \"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"payload\":{}}",
		"{\"seq\":1,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"payload\":{\"k\":\"\xff\"}}",
	};
	for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
		expect_same_as_full_parse(whole[i]);
	/* the decoder's own rules hold on the fast path too */
	expect_rejected("{\"seq\":1,\"id\":\"a\",\"time\":\"t\",\"type\":\"flow_started\",\"project_id\":\"p\","
			"\"payload\":{}}", "\"flow_id\" is required");
	expect_rejected("{\"seq\":1,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"flow_id\":\"\",\"payload\":{}}", "flow_id");
	expect_rejected("{\"seq\":1,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"flow_id\":null,\"payload\":{}}", "flow_id");
	char long_id[200];
	snprintf(long_id, sizeof long_id, "{\"seq\":1,\"id\":\"a\",\"time\":\"t\",\"type\":\"x\",\"flow_id\":\"%037d\","
		 "\"payload\":{}}", 0);
	expect_rejected(long_id, "flow_id");
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
		cmocka_unit_test(test_encode_matches_jansson),
		cmocka_unit_test(test_decode_fast_path_agrees),
		cmocka_unit_test(test_payload_writer_matches_jansson),
		cmocka_unit_test(test_envelope_bytes_every_value_and_position),
		cmocka_unit_test(test_payload_depth_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
