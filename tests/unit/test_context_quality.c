/*
 * test_context_quality.c - does the excerpt keep what a fixer needs?
 *
 * Each fixture in tests/fixtures/outputs/ is the output of a real tool,
 * recorded on a real run (gcc and clang through make, ctest over a
 * Unity-style runner, python unittest, cargo test, node --test on a
 * terminal, git clone --progress plus cargo test --color=always on a
 * terminal, golden files ending in `git diff --exit-code`, an agent runtime
 * dying with a Python traceback).  NAME.keys lists the lines a fixer needs
 * (a substring each; '#' lines are comments), as a terminal shows them.
 *
 * For every fixture the excerpt as the retry context makes it (default
 * options: 50 lines, 16 KiB) must hold every key line, be valid UTF-8 with
 * no control characters (so no raw escape codes) and fit 16 KiB.  Naive
 * rules get the same number of bytes: the first N, the last N, and N/2 of
 * each end; they see the raw output (made valid UTF-8, as hive would show
 * it), since cleaning terminal output is part of what is measured.  hive's
 * recall must be 100% and at least each rule's on every fixture, and
 * strictly above each rule's over the suite.  The table is printed.
 *
 * Runs from the repository root (as make does); HIVE_FIXTURES overrides
 * the directory.
 */
#include "testutil.h"

#include "core/excerpt.h"
#include "events/buf.h"
#include "events/utf8.h"

#include <stdbool.h>

#define CONTEXT_MAX 16384

static const char *const fixtures[] = {
	"gcc_make", "clang_make_color", "ctest_unity", "py_unittest", "cargo_test",
	"node_test_tty", "progress_color", "golden_diff", "runtime_traceback",
};
#define N_FIXTURES (sizeof fixtures / sizeof fixtures[0])

enum { RULE_HIVE, RULE_HEAD, RULE_TAIL, RULE_BOTH, N_RULES };
static const char *const rule_names[N_RULES] = { "hive", "first N", "last N", "head+tail" };

static char *read_fixture(const char *name, const char *ext, size_t *len)
{
	const char *dir = getenv("HIVE_FIXTURES") ? getenv("HIVE_FIXTURES") : "tests/fixtures/outputs";
	char path[512];
	snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s (run from the repository root)", path);
	hive_buf b = { 0 };
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		hive_buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	hive_buf_putc(&b, '\0');
	return hive_buf_detach(&b);
}

/* Key lines found in text / key lines, over the .keys file's lines. */
static void recall(const char *text, char *keys, size_t *found, size_t *total, bool report)
{
	*found = *total = 0;
	for (char *k = keys; *k;) {
		char *nl = strchr(k, '\n');
		if (nl)
			*nl = '\0';
		if (*k && *k != '#') {
			(*total)++;
			if (strstr(text, k))
				(*found)++;
			else if (report)
				print_message("    missing: %s\n", k);
		}
		if (!nl)
			break;
		*nl = '\n';
		k = nl + 1;
	}
}

/* What a naive rule shows of raw[0..len) in n bytes, as valid UTF-8. */
static char *naive(int rule, const char *raw, size_t len, size_t n)
{
	hive_buf b = { 0 };
	if (n >= len)
		hive_buf_append(&b, raw, len);
	else if (rule == RULE_HEAD)
		hive_buf_append(&b, raw, n);
	else if (rule == RULE_TAIL)
		hive_buf_append(&b, raw + len - n, n);
	else {
		hive_buf_append(&b, raw, n / 2);
		hive_buf_puts(&b, "\n[...]\n");
		hive_buf_append(&b, raw + len - (n - n / 2), n - n / 2);
	}
	char *t = hive_utf8_sanitize(b.data ? b.data : "", b.len, NULL);
	hive_buf_dispose(&b);
	return t;
}

static void assert_clean_text(const char *text)
{
	size_t len = strlen(text), clean_len;
	char *again = hive_utf8_sanitize(text, len, &clean_len);
	/* valid UTF-8 and no control but '\t' and '\n': sanitizing changes nothing */
	assert_int_equal(clean_len, len);
	assert_memory_equal(again, text, len);
	free(again);
	assert_null(strstr(text, "\xEF\xBF\xBD")); /* no escape code turned into U+FFFD */
	assert_null(strstr(text, "[0m"));
	assert_null(strstr(text, "[31m"));
}

static void test_every_key_line_and_beats_naive_rules(void **state)
{
	(void)state;
	size_t sum_found[N_RULES] = { 0 }, sum_total = 0, sum_bytes = 0;

	print_message("%-18s %7s %6s %6s | %-9s %-9s %-9s %-9s\n", "fixture", "raw B", "lines",
	              "hive B", rule_names[0], rule_names[1], rule_names[2], rule_names[3]);
	for (size_t i = 0; i < N_FIXTURES; i++) {
		size_t len, klen, found[N_RULES], total = 0;
		char *raw = read_fixture(fixtures[i], "out", &len);
		char *keys = read_fixture(fixtures[i], "keys", &klen);
		hive_excerpt e;
		hive_excerpt_make(raw, len, NULL, &e);
		size_t n = strlen(e.text);

		assert_true(n <= CONTEXT_MAX);
		assert_clean_text(e.text);
		recall(e.text, keys, &found[RULE_HIVE], &total, true);
		for (int r = RULE_HEAD; r < N_RULES; r++) {
			char *t = naive(r, raw, len, n);
			size_t tot;
			recall(t, keys, &found[r], &tot, false);
			free(t);
		}
		print_message("%-18s %7zu %6zu %6zu | %2zu/%-6zu %2zu/%-6zu %2zu/%-6zu %2zu/%-6zu\n",
		              fixtures[i], len, e.total_lines, n, found[0], total, found[1], total,
		              found[2], total, found[3], total);
		assert_true(total > 0);
		assert_int_equal(found[RULE_HIVE], total);
		for (int r = 0; r < N_RULES; r++) {
			assert_true(found[RULE_HIVE] >= found[r]);
			sum_found[r] += found[r];
		}
		sum_total += total;
		sum_bytes += n;
		hive_excerpt_dispose(&e);
		free(raw);
		free(keys);
	}
	print_message("%-18s %7s %6s %6zu | ", "all", "", "", sum_bytes);
	for (int r = 0; r < N_RULES; r++)
		print_message("%5.1f%%    ", 100.0 * (double)sum_found[r] / (double)sum_total);
	print_message("(recall of %zu key lines)\n", sum_total);
	for (int r = RULE_HEAD; r < N_RULES; r++)
		assert_true(sum_found[RULE_HIVE] > sum_found[r]);
}

/* Same bytes in, same excerpt out: the context must be reproducible. */
static void test_fixtures_excerpt_deterministically(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIXTURES; i++) {
		size_t len;
		char *raw = read_fixture(fixtures[i], "out", &len);
		char *copy = malloc(len + 1);
		assert_non_null(copy);
		memcpy(copy, raw, len + 1);
		hive_excerpt a, b;
		hive_excerpt_make(raw, len, NULL, &a);
		hive_excerpt_make(copy, len, NULL, &b);
		assert_string_equal(a.text, b.text);
		hive_excerpt_dispose(&a);
		hive_excerpt_dispose(&b);
		free(copy);
		free(raw);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_line_and_beats_naive_rules),
		cmocka_unit_test(test_fixtures_excerpt_deterministically),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
