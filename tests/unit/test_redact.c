/*
 * test_redact.c - env_passthrough values are masked in what hive stores
 * (core/redact.h): buffers, JSON verdicts and output files, including a
 * value that straddles the file's read chunks.
 */
#include "tests/unit/testutil.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "core/redact.h"
#include "events/error.h"

/* A redact set from env_passthrough names, with these variables set. */
static void setup_set(hive_redact *r)
{
	setenv("HIVETEST_KEY", "sk-live-1234567890", 1);
	setenv("HIVETEST_SUB", "live-1234", 1); /* inside KEY: KEY must be masked whole */
	setenv("HIVETEST_SHORT", "abc", 1);      /* < HIVE_REDACT_MIN: left alone */
	unsetenv("HIVETEST_UNSET");
	json_t *rt = json_pack("{s:[s,s,s,s]}", "env_passthrough", "HIVETEST_SUB", "HIVETEST_KEY", "HIVETEST_SHORT",
			       "HIVETEST_UNSET");
	hive_redact_init(r, rt);
	json_decref(rt);
}

static char *masked(const hive_redact *r, const char *text, size_t *n)
{
	hive_buf b = {0};
	hive_buf_puts(&b, text);
	*n = hive_redact_buf(r, &b);
	return hive_buf_detach(&b);
}

static void test_buffer_masks_every_occurrence_longest_first(void **state)
{
	(void)state;
	hive_redact r;
	setup_set(&r);
	assert_int_equal(r.n, 2);
	size_t n;
	char *s = masked(&r, "key=sk-live-1234567890\nagain sk-live-1234567890 and live-1234 abc\n", &n);
	assert_string_equal(s, "key=***\nagain *** and *** abc\n");
	assert_int_equal(n, 3);
	free(s);
	s = masked(&r, "nothing here", &n);
	assert_string_equal(s, "nothing here");
	assert_int_equal(n, 0);
	free(s);
	s = masked(&r, "sk-live-123", &n); /* a prefix at the very end is not the value */
	assert_string_equal(s, "sk-live-123");
	free(s);
	hive_redact_dispose(&r);
}

static void test_no_passthrough_masks_nothing(void **state)
{
	(void)state;
	hive_redact r;
	json_t *rt = json_pack("{s:[]}", "env_passthrough");
	hive_redact_init(&r, rt);
	json_decref(rt);
	assert_int_equal(r.n, 0);
	size_t n;
	char *s = masked(&r, "sk-live-1234567890", &n);
	assert_string_equal(s, "sk-live-1234567890");
	free(s);
	hive_redact_dispose(&r);
	hive_redact_init(&r, NULL); /* a runtime without the key */
	assert_int_equal(r.n, 0);
	hive_redact_dispose(&r);
}

static void test_json_strings_are_masked(void **state)
{
	(void)state;
	hive_redact r;
	setup_set(&r);
	json_t *v = json_pack("{s:s,s:{s:[s,i]}}", "summary", "used sk-live-1234567890 ok", "deep", "list",
			      "x sk-live-1234567890", 7);
	hive_redact_json(&r, v);
	char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"deep\":{\"list\":[\"x ***\",7]},\"summary\":\"used *** ok\"}");
	free(text);
	json_decref(v);
	hive_redact_dispose(&r);
}

/* A value across the 64 KiB read boundary of the streaming rewrite. */
static void test_file_masked_in_place_across_chunks(void **state)
{
	(void)state;
	hive_redact r;
	setup_set(&r);
	char *dir = tu_tmpdir(), path[4200];
	snprintf(path, sizeof path, "%s/stdout.log", dir);
	size_t pad = 65536 - 5, total = pad + 200;
	char *text = malloc(total + 1);
	memset(text, 'x', total);
	memcpy(text + pad, "sk-live-1234567890", 18);
	memcpy(text + 10, "sk-live-1234567890", 18);
	text[total] = 0;
	tu_write_file(path, text);
	assert_int_equal(hive_redact_file(&r, path), 2);
	char *back = tu_read_file(path);
	assert_non_null(back);
	assert_null(strstr(back, "sk-live"));
	assert_int_equal(strlen(back), total - 2 * 18 + 2 * 3);
	assert_int_equal(memcmp(back + 10, "***x", 4), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(back);
	/* nothing to mask: the file is not rewritten */
	tu_write_file(path, "clean\n");
	assert_int_equal(stat(path, &st), 0);
	ino_t ino = st.st_ino;
	assert_int_equal(hive_redact_file(&r, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_ino == ino);
	free(text);
	tu_rmrf(dir);
	free(dir);
	hive_redact_dispose(&r);
}

/* A symlink or FIFO planted where a log should be is not followed or
 * opened for reading (a FIFO would block for ever); a missing file is 0. */
static void test_file_that_is_not_a_regular_file_is_left_alone(void **state)
{
	(void)state;
	hive_redact r;
	setup_set(&r);
	char *dir = tu_tmpdir(), target[4200], link[4200], fifo[4200];
	snprintf(target, sizeof target, "%s/elsewhere", dir);
	snprintf(link, sizeof link, "%s/stdout.log", dir);
	snprintf(fifo, sizeof fifo, "%s/stderr.log", dir);
	tu_write_file(target, "sk-live-1234567890\n");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(hive_redact_file(&r, link), 0);
	assert_int_equal(hive_redact_file(&r, fifo), 0);
	char *back = tu_read_file(target);
	assert_string_equal(back, "sk-live-1234567890\n");
	free(back);
	char missing[4200];
	snprintf(missing, sizeof missing, "%s/none.log", dir);
	assert_int_equal(hive_redact_file(&r, missing), 0);
	tu_rmrf(dir);
	free(dir);
	hive_redact_dispose(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buffer_masks_every_occurrence_longest_first),
		cmocka_unit_test(test_no_passthrough_masks_nothing),
		cmocka_unit_test(test_json_strings_are_masked),
		cmocka_unit_test(test_file_masked_in_place_across_chunks),
		cmocka_unit_test(test_file_that_is_not_a_regular_file_is_left_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
