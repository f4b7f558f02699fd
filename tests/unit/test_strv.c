/*
 * test_strv.c - events/strv.h: NULL-terminated string vectors.
 * Leaks show under `make valgrind` (every string and the vector are freed).
 */
#include "testutil.h"

#include "events/strv.h"

static void push_copies_and_terminates(void **state)
{
	(void)state;
	hive_strv s = {0};
	char word[8] = "one";
	hive_strv_push(&s, word);
	strcpy(word, "two"); /* the vector holds its own copy */
	hive_strv_push(&s, word);
	for (int i = 0; i < 20; i++) /* grows past the first allocation */
		hive_strv_push(&s, "x");
	assert_int_equal(s.n, 22);
	assert_string_equal(s.v[0], "one");
	assert_string_equal(s.v[1], "two");
	assert_null(s.v[22]);
	assert_int_equal(hive_strv_len(s.v), 22);
	hive_strv_free(s.v);
}

static void len_and_free_accept_null(void **state)
{
	(void)state;
	assert_int_equal(hive_strv_len(NULL), 0);
	hive_strv_free(NULL);
	char **empty = calloc(1, sizeof *empty);
	assert_int_equal(hive_strv_len(empty), 0);
	hive_strv_free(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(push_copies_and_terminates),
		cmocka_unit_test(len_and_free_accept_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
