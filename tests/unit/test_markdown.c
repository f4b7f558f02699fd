/*
 * test_markdown.c - core/markdown.h: quoting text in the Markdown hive
 * writes (prompt code spans, fenced diffs in retry contexts).
 */
#include "testutil.h"

#include "core/markdown.h"

static void fence_outgrows_the_text(void **state)
{
	(void)state;
	assert_int_equal(hive_markdown_fence_len("", 1), 1);
	assert_int_equal(hive_markdown_fence_len("plain", 1), 1);
	assert_int_equal(hive_markdown_fence_len("a`b", 1), 2);
	assert_int_equal(hive_markdown_fence_len("``x` ```", 1), 4); /* the longest run counts */
	assert_int_equal(hive_markdown_fence_len("```md\n```", 3), 4); /* a fence in a diff */
	assert_int_equal(hive_markdown_fence_len("no fence", 3), 3);   /* at least min */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fence_outgrows_the_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
