/*
 * test_emit.c - core/emit.h: the one init/correlate/emit/dispose helper.
 *
 * What it protects: an event whose payload could not be built (NULL) is
 * refused with HIVE_EFAILED and nothing reaches the log (it used to be
 * appended as an empty {} payload); a good event is appended with the
 * correlation ids of the document it was emitted for.  Real LMDB store in a
 * temp dir.
 */
#include "engine.h"

#include "core/emit.h"
#include "events/error.h"
#include "events/event.h"
#include "events/json.h"
#include "events/store.h"

#define PID "0194a1b2-0000-7000-8000-0000000000aa"
#define FID "f1000000-0000-7000-8000-000000000001"
#define TID "71000000-0000-7000-8000-000000000001"

static int emit_null_fn(hive_txn *txn, void *ctx)
{
	(void)ctx;
	return hive_emit_new(txn, HIVE_EV_PROJECT_CREATED, NULL, PID, NULL, NULL, NULL);
}

static void null_payload_is_refused(void **state)
{
	eng *e = *state;
	assert_int_equal(hive_store_write(e->s, emit_null_fn, NULL), HIVE_EFAILED);
	assert_non_null(strstr(hive_error_last(), "project_created"));
	assert_int_equal(eng_last_seq(e), 0);
}

/* A task document without "state": task_state_changed cannot say "from". */
static int state_without_from_fn(hive_txn *txn, void *ctx)
{
	(void)ctx;
	json_t *task = json_pack("{s:s,s:s,s:s}", "id", TID, "project_id", PID, "flow_id", FID);
	int rc = hive_emit_task_state(txn, task, HIVE_TASK_READY, "test");
	json_decref(task);
	return rc;
}

static void missing_string_is_refused(void **state)
{
	eng *e = *state;
	assert_int_equal(hive_store_write(e->s, state_without_from_fn, NULL), HIVE_EFAILED);
	assert_int_equal(eng_last_seq(e), 0);
}

static int emit_flow_fn(hive_txn *txn, void *ctx)
{
	(void)ctx;
	int rc = hive_emit_new(txn, HIVE_EV_PROJECT_CREATED,
			       hive_json_pack("{s:s,s:s,s:s}", "name", "p", "repo", "/tmp", "description", ""),
			       PID, NULL, NULL, NULL);
	json_t *flow = json_pack("{s:s,s:s}", "id", FID, "project_id", PID);
	if (!rc)
		rc = hive_emit_for_flow(txn, flow, HIVE_EV_FLOW_CREATED,
					hive_json_pack("{s:s,s:[],s:{}}", "name", "f", "task_ids", "defaults"));
	json_decref(flow);
	return rc;
}

static int read_event_fn(hive_txn *txn, void *ctx)
{
	hive_slice raw;
	int rc = hive_txn_event_raw(txn, 2, &raw);
	if (!rc)
		rc = hive_event_decode(raw.data, raw.len, ctx);
	return rc;
}

static void good_event_is_correlated(void **state)
{
	eng *e = *state;
	assert_int_equal(hive_store_write(e->s, emit_flow_fn, NULL), 0);
	assert_int_equal(eng_last_seq(e), 2);
	hive_event ev;
	assert_int_equal(hive_store_read(e->s, read_event_fn, &ev), 0);
	assert_int_equal(ev.type, HIVE_EV_FLOW_CREATED);
	assert_string_equal(ev.project_id, PID);
	assert_string_equal(ev.flow_id, FID);
	assert_string_equal(ev.task_id, "");
	assert_string_equal(hive_json_str(ev.payload, "name"), "f");
	hive_event_dispose(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(null_payload_is_refused, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(missing_string_is_refused, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(good_event_is_correlated, eng_setup, eng_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
