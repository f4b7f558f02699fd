/*
 * test_utf8.c - events/utf8.h: UTF-8 validation and repair.
 *
 * What it protects: every ill-formed sequence becomes U+FFFD (one per
 * maximal subpart), controls that could reach a terminal are replaced,
 * CRLF becomes LF, output is always valid (sanitizing it again changes
 * nothing), cuts land on character boundaries, and the cutting engine
 * never exceeds its limit.
 */
#include "testutil.h"

#include <stdbool.h>

#include "events/buf.h"
#include "events/utf8.h"

/* Sanitized text is a fixed point: sanitizing it again changes nothing. */
static bool clean(const char *s, size_t n)
{
	size_t m;
	char *again = hive_utf8_sanitize(s, n, &m);
	bool same = m == n && memcmp(again, s, n) == 0;
	free(again);
	return same;
}

struct sanitize_case {
	const char *name, *in;
	size_t in_len;
	const char *want;
};

#define FFFD "\xEF\xBF\xBD"
#define CASE(name, in, want) { name, in, sizeof in - 1, want }

static void test_utf8_sanitize_table(void **state)
{
	(void)state;
	static const struct sanitize_case cases[] = {
		CASE("empty", "", ""),
		CASE("ascii and tab", "a\tb\nc", "a\tb\nc"),
		CASE("2-byte", "h\xC3\xA9llo", "h\xC3\xA9llo"),
		CASE("3-byte", "\xE2\x82\xAC", "\xE2\x82\xAC"),
		CASE("4-byte", "\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"),
		CASE("nbsp is not C1", "\xC2\xA0", "\xC2\xA0"),
		CASE("overlong C0 AF", "a\xC0\xAF" "b", "a" FFFD FFFD "b"),
		CASE("overlong E0 80 AF", "\xE0\x80\xAF", FFFD FFFD FFFD),
		CASE("surrogate ED A0 80", "\xED\xA0\x80", FFFD FFFD FFFD),
		CASE("above U+10FFFF", "\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD),
		CASE("F5 lead", "\xF5", FFFD),
		CASE("lone continuation", "\x80", FFFD),
		CASE("truncated at end", "ok\xE2\x82", "ok" FFFD),
		CASE("truncated 4-byte at end", "ok\xF0\x9F\x98", "ok" FFFD),
		CASE("truncated by ASCII", "\xE2\x82" "A", FFFD "A"),
		CASE("0xFF", "\xFF\xFE", FFFD FFFD),
		CASE("NUL", "a\0b", "a" FFFD "b"),
		CASE("escape", "\x1B[31mred", FFFD "[31mred"),
		CASE("DEL", "a\x7F", "a" FFFD),
		CASE("C1 CSI", "\xC2\x9B" "2J", FFFD "2J"),
		CASE("CRLF", "a\r\nb\r\n", "a\nb\n"),
		CASE("lone CR", "a\rb", "a" FFFD "b"),
		CASE("CR CR LF", "\r\r\n", FFFD "\n"),
		CASE("CR at end", "a\r", "a" FFFD),
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t out_len = 12345;
		char *out = hive_utf8_sanitize(cases[i].in, cases[i].in_len, &out_len);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %s: got \"%s\"", cases[i].name, out);
		assert_int_equal(out_len, strlen(cases[i].want));
		assert_true(clean(out, out_len));
		free(out);
	}
	char *out = hive_utf8_sanitize("x", 1, NULL); /* out_len is optional */
	assert_string_equal(out, "x");
	free(out);
}

static void test_utf8_cut_table(void **state)
{
	(void)state;
	static const struct { const char *s; size_t len, max, want; } cases[] = {
		{ "abc", 3, 5, 3 },
		{ "abcdef", 6, 3, 3 },
		{ "\xE2\x82\xAC\xE2\x82\xAC", 6, 6, 6 },
		{ "\xE2\x82\xAC\xE2\x82\xAC", 6, 5, 3 },
		{ "\xE2\x82\xAC\xE2\x82\xAC", 6, 4, 3 },
		{ "\xE2\x82\xAC\xE2\x82\xAC", 6, 3, 3 },
		{ "\xE2\x82\xAC\xE2\x82\xAC", 6, 2, 0 },
		{ "a\xF0\x9F\x98\x80", 5, 4, 1 },
		{ "a\xF0\x9F\x98\x80", 5, 1, 1 },
		{ "a\xF0\x9F\x98\x80", 5, 0, 0 },
		{ "\x80\x80\x80\x80\x80\x80", 6, 4, 4 }, /* invalid: steps back <= 3 */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t got = hive_utf8_cut(cases[i].s, cases[i].len, cases[i].max);
		if (got != cases[i].want)
			fail_msg("case %zu: got %zu, want %zu", i, got, cases[i].want);
	}
}

/* The engine stops between characters, before the limit. */
static void test_utf8_sanitize_into_limit(void **state)
{
	(void)state;
	const char *in = "ab\xE2\x82\xAC" "cd"; /* a b € c d */
	size_t used;
	hive_buf b = {0};
	assert_int_equal(hive_utf8_sanitize_into(in, 7, 4, &b, &used), 2); /* € does not fit */
	assert_int_equal(used, 2);
	assert_int_equal(b.len, 2);
	assert_int_equal(hive_utf8_sanitize_into(in + used, 5, 3, &b, &used), 3);
	assert_int_equal(used, 3);
	assert_int_equal(hive_utf8_sanitize_into("\x01z", 2, 2, NULL, &used), 0); /* U+FFFD is 3 bytes */
	assert_int_equal(used, 0);
	assert_int_equal(hive_utf8_sanitize_into("\x01z", 2, SIZE_MAX, NULL, &used), 4); /* measure only */
	assert_int_equal(used, 2);
	assert_int_equal(memcmp(hive_buf_str(&b), "ab\xE2\x82\xAC", 5), 0);
	hive_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_sanitize_table),
		cmocka_unit_test(test_utf8_cut_table),
		cmocka_unit_test(test_utf8_sanitize_into_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
