/*
 * test_json.c - events/json.h: the checked JSON pack and hive_json_str.
 *
 * What it protects: a NULL string argument (the bug that used to empty an
 * event silently) is refused with an error naming the cause, "o" arguments
 * are still stolen on failure (no leak under valgrind), and a good pack
 * gives the value plain json_pack gives.
 */
#include "testutil.h"

#include <jansson.h>

#include "events/error.h"
#include "events/json.h"

static void pack_refuses_null_string(void **state)
{
	(void)state;
	const char *missing = NULL;
	hive_error_clear();
	json_t *v = hive_json_pack("{s:s,s:s}", "adapter", "exec", "reason", missing);
	assert_null(v);
	assert_int_equal(hive_error_last_code(), HIVE_EFAILED);
	assert_non_null(strstr(hive_error_last(), "building JSON {s:s,s:s}"));
	assert_non_null(strstr(hive_error_last(), "NULL"));
}

static void pack_steals_objects_on_failure(void **state)
{
	(void)state;
	json_t *owned = json_array(); /* stolen by "o" even though the pack fails */
	json_t *v = hive_json_pack("{s:o,s:s}", "list", owned, "name", (const char *)NULL);
	assert_null(v);
	assert_int_equal(hive_error_last_code(), HIVE_EFAILED);
}

static void pack_builds_the_value(void **state)
{
	(void)state;
	json_t *v = hive_json_pack("{s:s,s:i,s:o}", "a", "x", "n", 7, "l", json_array());
	assert_non_null(v);
	json_t *want = json_pack("{s:s,s:i,s:[]}", "a", "x", "n", 7, "l");
	assert_true(json_equal(v, want));
	json_decref(want);
	json_decref(v);
}

static void str_reads_strings_only(void **state)
{
	(void)state;
	json_t *o = json_pack("{s:s,s:i}", "name", "hive", "n", 3);
	assert_string_equal(hive_json_str(o, "name"), "hive");
	assert_null(hive_json_str(o, "n"));      /* not a string */
	assert_null(hive_json_str(o, "absent")); /* no such key */
	assert_null(hive_json_str(NULL, "name"));
	json_decref(o);
}

static void string_repaired_keeps_bad_bytes_visible(void **state)
{
	(void)state;
	json_t *ok = hive_json_string_repaired("caf\xC3\xA9");
	assert_string_equal(json_string_value(ok), "caf\xC3\xA9");
	json_decref(ok);
	json_t *bad = hive_json_string_repaired("a\xFFz"); /* plain json_string refuses this */
	assert_non_null(bad);
	assert_string_equal(json_string_value(bad), "a\xEF\xBF\xBDz");
	json_decref(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pack_refuses_null_string),
		cmocka_unit_test(pack_steals_objects_on_failure),
		cmocka_unit_test(pack_builds_the_value),
		cmocka_unit_test(str_reads_strings_only),
		cmocka_unit_test(string_repaired_keeps_bad_bytes_visible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
