/*
 * test_duration.c - core/duration.h: parsing and formatting durations.
 * Pure functions: every accepted form, every rejected form with its
 * message, exact formatting, and format → parse round trips.
 */
#include "testutil.h"

#include "core/duration.h"
#include "core/rng.h"
#include "events/error.h"

/* ------------------------------------------------------------------ */
/* Durations                                                          */
/* ------------------------------------------------------------------ */

static void test_duration_parse_valid(void **state)
{
	(void)state;
	static const struct { const char *s; int64_t ms; } cases[] = {
		{"0", 0}, {"0s", 0}, {"0ms", 0}, {"0.0h", 0},
		{"250ms", 250}, {"1s", 1000}, {"1.5s", 1500}, {".5s", 500},
		{"2m", 120000}, {"1h", 3600000}, {"1h30m", 5400000},
		{"4.2s", 4200}, {"0.001s", 1}, {"1.0000000000000s", 1000},
		{"1m0.5s", 60500}, {"1.5h", 5400000}, {"0.25m", 15000},
		{"1h2m3s4ms", 3723004}, {"90s", 90000}, {"007s", 7000},
		{"9007199254740992ms", HIVE_DURATION_MAX_MS},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t ms = -1;
		if (hive_duration_parse(cases[i].s, &ms) != 0)
			fail_msg("\"%s\" rejected: %s", cases[i].s, hive_error_last());
		if (ms != cases[i].ms)
			fail_msg("\"%s\" → %lld, want %lld", cases[i].s, (long long)ms, (long long)cases[i].ms);
	}
}

static void test_duration_parse_invalid(void **state)
{
	(void)state;
	static const struct { const char *s; const char *why; } cases[] = {
		{"", "(use e.g."}, {"-1s", "must not be negative"}, {"-0s", "must not be negative"},
		{"5x", "(use e.g."}, {"5", "(use e.g."}, {"s", "(use e.g."},
		{"1 s", "(use e.g."}, {" 1s", "(use e.g."}, {"1s ", "(use e.g."},
		{"1S", "(use e.g."}, {"1.s", "(use e.g."}, {"1e3ms", "(use e.g."},
		{"+1s", "(use e.g."}, {"1h-1m", "(use e.g."}, {"1sms", "(use e.g."},
		{"1d", "(use e.g."}, {"1.2.3s", "(use e.g."}, {".s", "(use e.g."},
		{"1.5ms", "finer than a millisecond"}, {"0.0001s", "finer than a millisecond"},
		{"0.0000000001h", "finer than a millisecond"},
		{"9007199254740993ms", "too large"}, {"99999999999999999999999h", "too large"},
		{"2501999793h", "too large"}, {"9007199254740992ms1ms", "too large"},
		{"1.5ms5x", "(use e.g."}, /* syntax beats range */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t ms = 42;
		hive_error_clear();
		if (hive_duration_parse(cases[i].s, &ms) != HIVE_EINVALID)
			fail_msg("\"%s\" accepted as %lld", cases[i].s, (long long)ms);
		assert_int_equal(ms, 42);
		const char *msg = hive_error_last();
		if (!strstr(msg, "invalid duration \"") || !strstr(msg, cases[i].s) ||
		    !strstr(msg, cases[i].why))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].s, msg, cases[i].why);
	}
	int64_t ms;
	assert_int_equal(hive_duration_parse(NULL, &ms), HIVE_EINVALID);
	/* Control bytes never reach the one-line message. */
	assert_int_equal(hive_duration_parse("1\nx", &ms), HIVE_EINVALID);
	assert_null(strchr(hive_error_last(), '\n'));
}

static void test_duration_format(void **state)
{
	(void)state;
	static const struct { int64_t ms; const char *s; } cases[] = {
		{0, "0s"}, {1, "1ms"}, {250, "250ms"}, {999, "999ms"}, {1000, "1s"},
		{4200, "4.2s"}, {4250, "4.25s"}, {1001, "1.001s"}, {59999, "59.999s"},
		{60000, "1m"}, {60500, "1m0.5s"}, {90000, "1m30s"}, {120000, "2m"},
		{3600000, "1h"}, {5400000, "1h30m"}, {3723456, "1h2m3.456s"},
		{3600001, "1h0.001s"}, {90000000, "25h"}, {-1500, "-1.5s"},
		{HIVE_DURATION_MAX_MS, "2501999792h59m0.992s"},
	};
	char out[HIVE_DURATION_FMT_MAX];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		hive_duration_format(cases[i].ms, out, sizeof out);
		assert_string_equal(out, cases[i].s);
	}
	hive_duration_format(INT64_MIN, out, sizeof out); /* no overflow, fits */
	assert_string_equal(out, "-2562047788015h12m55.808s");
	char small[4];
	hive_duration_format(5400000, small, sizeof small);
	assert_string_equal(small, "1h3");
}

/* format → parse is the identity, on edges and on seeded random values. */
static void test_duration_round_trip(void **state)
{
	(void)state;
	hive_rng rng;
	hive_rng_seed(&rng, 7);
	char out[HIVE_DURATION_FMT_MAX];
	for (int i = 0; i < 20000; i++) {
		int64_t ms = i < 3000 ? i * 997 : (int64_t)(hive_rng_next(&rng) >> (11 + i % 40));
		int64_t back = -1;
		hive_duration_format(ms, out, sizeof out);
		if (hive_duration_parse(out, &back) != 0 || back != ms)
			fail_msg("%lld → \"%s\" → %lld", (long long)ms, out, (long long)back);
	}
}

static void test_duration_format_truncates(void **state)
{
	(void)state;
	char small[4] = "xxx";
	hive_duration_format(5400000, small, sizeof small); /* "1h30m" */
	assert_string_equal(small, "1h3");
	hive_duration_format(1000, small, 0); /* writes nothing */
	assert_string_equal(small, "1h3");
	char big[HIVE_DURATION_FMT_MAX];
	hive_duration_format(INT64_MIN, big, sizeof big); /* the longest there is fits */
	assert_int_equal(big[0], '-');
	assert_true(strlen(big) < sizeof big - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse_valid),
		cmocka_unit_test(test_duration_parse_invalid),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_duration_round_trip),
		cmocka_unit_test(test_duration_format_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
