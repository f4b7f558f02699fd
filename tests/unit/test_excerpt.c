/*
 * test_excerpt.c - check-output excerpts keep what a fixer needs.
 *
 * Every input is generated here to look like what a real tool prints (pytest,
 * gcc + make, go test, a Rust panic, binary garbage), and every excerpt goes
 * through check_excerpt(), which asserts the contract that holds for all
 * inputs: valid UTF-8 without control characters, counts that add up with the
 * gap markers, the line and byte limits, and byte-identical repeat runs.
 */
#include "tests/unit/testutil.h"

#include "core/excerpt.h"
#include "events/buf.h"
#include "events/utf8.h"

#include <stdbool.h>
#include <time.h>

/* ------------------------------------------------------------- helpers */

/* An independent strict UTF-8 check (decodes code points and rejects
 * overlongs by value, not by the byte table excerpt.c uses), also rejecting
 * the controls sanitizing removes: C0 except \t \n, DEL, C1. */
static bool valid_text(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };

	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
		           : (c & 0xF8) == 0xF0 ? 4 : 0;
		if (len == 0 || i + len > n)
			return false;
		uint32_t cp = len == 1 ? c : c & (0x7F >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		if ((cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7F && cp <= 0x9F))
			return false;
		i += len;
	}
	return true;
}

static size_t count_input_lines(const char *s, size_t n)
{
	size_t lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += s[i] == '\n';
	return lines + (n > 0 && s[n - 1] != '\n');
}

/* N if line[0..len) is exactly a gap marker "[... N lines omitted]" ("line"
 * iff N == 1), else 0. */
static size_t marker_count(const char *line, size_t len)
{
	char buf[64], text[64];
	size_t n = 0;
	if (len >= sizeof buf || strncmp(line, "[... ", 5) != 0)
		return 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, "[... %zu", &n) != 1 || n == 0)
		return 0;
	snprintf(text, sizeof text, "[... %zu %s omitted]", n, n == 1 ? "line" : "lines");
	return strcmp(buf, text) == 0 ? n : 0;
}

static size_t eff(size_t v, size_t def) { return v ? v : def; }

/* Make the excerpt and assert everything that must hold for any input.
 * The byte bound is exact: strlen(text) <= max_bytes once max_bytes is
 * raised to HIVE_EXCERPT_MIN_BYTES; markers and cut notes count inside it. */
static void check_excerpt(const char *in, size_t n, const hive_excerpt_opts *o, hive_excerpt *e)
{
	hive_excerpt_opts d = o ? *o : (hive_excerpt_opts){ 0 };
	size_t max_lines = eff(d.max_lines, HIVE_EXCERPT_MAX_LINES);
	size_t max_bytes = eff(d.max_bytes, HIVE_EXCERPT_MAX_BYTES);
	if (max_bytes < HIVE_EXCERPT_MIN_BYTES)
		max_bytes = HIVE_EXCERPT_MIN_BYTES;

	hive_excerpt_make(in, n, o, e);
	assert_non_null(e->text);
	size_t len = strlen(e->text);
	assert_true(valid_text(e->text, len));
	assert_int_equal(e->total_lines, count_input_lines(in, n));
	assert_int_equal(e->kept_lines + e->omitted_lines, e->total_lines);
	assert_true(e->kept_lines <= max_lines);
	assert_true(len <= max_bytes);

	/* The text itself accounts for every input line exactly once. */
	size_t kept = 0, omitted = 0;
	bool prev_marker = false;
	for (const char *p = e->text; e->total_lines > 0;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		size_t m = marker_count(p, l);
		assert_false(m > 0 && prev_marker); /* one marker per gap */
		prev_marker = m > 0;
		omitted += m;
		kept += m == 0;
		if (!nl)
			break;
		p = nl + 1;
	}
	assert_int_equal(kept, e->kept_lines);
	assert_int_equal(omitted, e->omitted_lines);
	assert_false(prev_marker); /* the input's last line is always kept */

	/* Deterministic: a second run from a different copy gives the same bytes. */
	char *copy = malloc(n + 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, in, n);
	hive_excerpt again;
	hive_excerpt_make(copy, n, o, &again);
	assert_string_equal(again.text, e->text);
	assert_int_equal(again.kept_lines, e->kept_lines);
	hive_excerpt_dispose(&again);
	free(copy);
}

static bool has(const hive_excerpt *e, const char *needle)
{
	return strstr(e->text, needle) != NULL;
}

/* The excerpt ends with exactly this line (the verdict). */
static void assert_ends_with(const hive_excerpt *e, const char *line)
{
	size_t t = strlen(e->text), l = strlen(line);
	assert_true(t >= l);
	assert_string_equal(e->text + t - l, line);
	assert_true(t == l || e->text[t - l - 1] == '\n');
}

/* ------------------------------------------------- realistic tool output */

static void pytest_pass_lines(hive_buf *b, size_t from, size_t to)
{
	static const char *mods[] = { "test_api", "test_models", "test_views", "test_utils" };
	for (size_t i = from; i < to; i++)
		hive_buf_printf(b, "tests/%s.py::test_case_%03zu PASSED%*s[%3zu%%]\n",
		                mods[i % 4], i, 30, "", i * 100 / 300);
}

/* pytest -v: 300 tests, one failure whose report sits in the middle. */
static char *make_pytest(size_t *len)
{
	hive_buf b = { 0 };
	hive_buf_puts(&b, "============================= test session starts ==============================\n"
	                  "platform linux -- Python 3.11.4, pytest-7.4.0, pluggy-1.2.0\n"
	                  "rootdir: /home/ci/app\ncollected 300 items\n\n");
	pytest_pass_lines(&b, 0, 100);
	/* "error" inside a test name is not an error: must not be chosen. */
	hive_buf_puts(&b, "tests/test_views.py::test_error_page_renders PASSED                  [ 33%]\n");
	pytest_pass_lines(&b, 101, 150);
	hive_buf_puts(&b,
		"=================================== FAILURES ===================================\n"
		"__________________________________ test_login __________________________________\n\n"
		"client = <FlaskClient <Flask 'app'>>\n\n"
		"    def test_login():\n"
		"        resp = client.post(\"/login\", json={\"user\": \"ada\", \"password\": \"s3cret\"})\n"
		">       assert resp.status == 200\n"
		"E       assert 401 == 200\n"
		"E        +  where 401 = <WrapperTestResponse 17 bytes [401 UNAUTHORIZED]>.status\n\n"
		"tests/test_auth.py:12: AssertionError\n");
	pytest_pass_lines(&b, 150, 299);
	hive_buf_puts(&b, "=========================== short test summary info ============================\n"
	                  "=========== 1 failed, 299 passed in 3.2s ===========\n");
	*len = b.len;
	return hive_buf_detach(&b);
}

/* gcc: the real error first, then a flood of notes, then make gives up. */
static char *make_gcc(size_t *len)
{
	hive_buf b = { 0 };
	hive_buf_puts(&b, "src/auth.c:42:5: error: 'token' undeclared (first use in this function)\n");
	for (size_t i = 0; i < 500; i++) {
		switch (i % 3) {
		case 0:
			hive_buf_printf(&b, "src/auth.h:%zu:%zu: note: in definition of macro 'TOKEN_FIELD_%zu'\n",
			                10 + i, 5 + i % 17, i);
			break;
		case 1:
			hive_buf_printf(&b, "  %3zu | #define TOKEN_FIELD_%zu(x) ((x)->tok[%zu])\n", 10 + i, i, i);
			break;
		default:
			hive_buf_puts(&b, "      |                          ^~~\n");
		}
	}
	hive_buf_puts(&b, "make: *** [Makefile:10: all] Error 1\n");
	*len = b.len;
	return hive_buf_detach(&b);
}

/* go test -v: 400 lines of service logs, a failing test in the middle. */
static char *make_go(size_t *len)
{
	hive_buf b = { 0 };
	for (size_t i = 0; i < 400; i++) {
		if (i == 200)
			hive_buf_puts(&b, "=== RUN   TestLogin\n"
			                  "--- FAIL: TestLogin (0.00s)\n"
			                  "    auth_test.go:31: expected 200, got 401\n");
		if (i % 20 == 0)
			hive_buf_printf(&b, "=== RUN   TestHandler%03zu\n--- PASS: TestHandler%03zu (0.00s)\n", i, i);
		else
			hive_buf_printf(&b, "2024/05/01 12:%02zu:%02zu INFO request handled method=GET "
			                    "path=/api/items/%zu status=200 dur=%zums\n",
			                i / 60, i % 60, i, i % 13);
	}
	hive_buf_puts(&b, "FAIL\nFAIL\texample.com/auth\t0.012s\n");
	*len = b.len;
	return hive_buf_detach(&b);
}

/* A Rust panic followed by a 200-line backtrace. */
static char *make_rust(size_t *len)
{
	hive_buf b = { 0 };
	hive_buf_puts(&b, "   Compiling myapp v0.1.0 (/home/ci/myapp)\n"
	                  "    Finished dev [unoptimized + debuginfo] target(s) in 1.02s\n"
	                  "     Running `target/debug/myapp`\n"
	                  "thread 'main' panicked at 'index out of bounds: the len is 3 but the index is 5', "
	                  "src/main.rs:10:5\n"
	                  "stack backtrace:\n");
	for (size_t i = 0; i < 100; i++) {
		if (i == 40) {
			hive_buf_printf(&b, "  %zu: myapp::lookup\n             at ./src/main.rs:10:5\n", i);
			continue;
		}
		hive_buf_printf(&b, "  %zu: std::rt::lang_start_internal::{{closure}}::h%016zx\n"
		                    "             at /rustc/90c541806f23a127002de5b4038be731ba1458ca"
		                    "/library/std/src/rt.rs:%zu:%zu\n", i, i * 7919, 100 + i, 5 + i % 9);
	}
	*len = b.len;
	return hive_buf_detach(&b);
}

/* -------------------------------------------------------------- tests */

/* pytest: the assertion explanation from the middle and the verdict from the
 * end both survive; noise that merely mentions "error" in a name does not. */
static void test_pytest_failure_and_summary(void **state)
{
	(void)state;
	size_t n;
	char *in = make_pytest(&n);
	hive_excerpt e;
	check_excerpt(in, n, NULL, &e);

	assert_true(e.total_lines > 300);
	assert_true(has(&e, "\nE       assert 401 == 200\n"));
	assert_true(has(&e, ">       assert resp.status == 200"));
	assert_true(has(&e, "tests/test_auth.py:12: AssertionError"));
	assert_ends_with(&e, "=========== 1 failed, 299 passed in 3.2s ===========");
	assert_true(has(&e, " lines omitted]"));
	assert_false(has(&e, "test_error_page_renders"));
	assert_true(e.kept_lines <= HIVE_EXCERPT_MAX_LINES); /* the head fill is capped */
	assert_int_equal(e.kept_lines + e.omitted_lines, e.total_lines);
	hive_excerpt_dispose(&e);
	free(in);
}

/* gcc: the first error (the real one) and make's verdict survive. */
static void test_gcc_first_error_and_make_line(void **state)
{
	(void)state;
	size_t n;
	char *in = make_gcc(&n);
	hive_excerpt e;
	check_excerpt(in, n, NULL, &e);

	assert_int_equal(e.total_lines, 502);
	const char *first = "src/auth.c:42:5: error: 'token' undeclared (first use in this function)\n";
	assert_true(strncmp(e.text, first, strlen(first)) == 0);
	assert_ends_with(&e, "make: *** [Makefile:10: all] Error 1");
	assert_true(e.omitted_lines > 400);
	hive_excerpt_dispose(&e);
	free(in);
}

/* go test: the failing test and its message from the middle, and the
 * package verdict (with its tabs) from the end. */
static void test_go_failure_in_the_middle(void **state)
{
	(void)state;
	size_t n;
	char *in = make_go(&n);
	hive_excerpt e;
	check_excerpt(in, n, NULL, &e);

	assert_true(has(&e, "--- FAIL: TestLogin (0.00s)\n    auth_test.go:31: expected 200, got 401\n"));
	assert_true(has(&e, "=== RUN   TestLogin\n--- FAIL"));
	assert_ends_with(&e, "FAIL\nFAIL\texample.com/auth\t0.012s");
	assert_true(e.omitted_lines > 300);
	hive_excerpt_dispose(&e);
	free(in);
}

/* Rust: the panic line survives a 200-line backtrace; so does the frame in
 * the user's own code. */
static void test_rust_panic_line(void **state)
{
	(void)state;
	size_t n;
	char *in = make_rust(&n);
	hive_excerpt e;
	check_excerpt(in, n, NULL, &e);

	assert_int_equal(e.total_lines, 205);
	assert_true(has(&e, "thread 'main' panicked at 'index out of bounds: the len is 3 but "
	                    "the index is 5', src/main.rs:10:5\n"));
	assert_true(has(&e, "  40: myapp::lookup\n             at ./src/main.rs:10:5\n"));
	assert_true(has(&e, "lines omitted]"));
	hive_excerpt_dispose(&e);
	free(in);
}

/* A check that hung and was killed printed a few lines: all of them come
 * back unchanged, with no marker. */
static void test_small_output_stays_whole(void **state)
{
	(void)state;
	const char *in = "Running integration suite (timeout 300s)...\n"
	                 "connecting to postgres at localhost:5432\n"
	                 "waiting for server to accept connections\n";
	hive_excerpt e;
	check_excerpt(in, strlen(in), NULL, &e);

	assert_string_equal(e.text, "Running integration suite (timeout 300s)...\n"
	                            "connecting to postgres at localhost:5432\n"
	                            "waiting for server to accept connections");
	assert_int_equal(e.total_lines, 3);
	assert_int_equal(e.kept_lines, 3);
	assert_int_equal(e.omitted_lines, 0);
	hive_excerpt_dispose(&e);
}

/* A 20 KB line of 3-byte characters is cut on a character boundary (399,
 * not 400 bytes) and says how much of the original went. */
static void test_huge_single_line_is_cut(void **state)
{
	(void)state;
	hive_buf b = { 0 }, want = { 0 };
	for (size_t i = 0; i < 6827; i++)
		hive_buf_puts(&b, "\xE2\x82\xAC"); /* € */
	assert_int_equal(b.len, 20481);
	hive_excerpt e;
	check_excerpt(b.data, b.len, NULL, &e);

	for (size_t i = 0; i < 133; i++)
		hive_buf_puts(&want, "\xE2\x82\xAC");
	hive_buf_printf(&want, " [... %d bytes cut]", 20481 - 399);
	assert_string_equal(e.text, want.data);
	assert_int_equal(e.kept_lines, 1);
	assert_int_equal(e.omitted_lines, 0);
	hive_excerpt_dispose(&e);

	/* Per-line limit above the byte budget: the line is cut to the budget. */
	hive_excerpt_opts o = { .max_line_bytes = 100000, .max_bytes = 1000 };
	check_excerpt(b.data, b.len, &o, &e);
	assert_true(strlen(e.text) <= 1000 && strlen(e.text) > 900);
	assert_true(has(&e, " bytes cut]"));
	hive_excerpt_dispose(&e);
	hive_buf_dispose(&b);
	hive_buf_dispose(&want);
}

/* Random bytes (fixed seed) with NULs, 0xFF, lone CRs and escapes: valid
 * text comes out, within the limits, whatever the options. */
static void test_binary_garbage(void **state)
{
	(void)state;
	size_t n = 256 * 1024;
	unsigned char *in = malloc(n);
	assert_non_null(in);
	uint32_t x = 0x12345678;
	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u; /* LCG: same bytes on every run */
		in[i] = (unsigned char)(x >> 24);
	}
	in[0] = 0, in[1] = 0xFF, in[2] = '\r', in[3] = 0x1B, in[n - 1] = 0xF0;
	const hive_excerpt_opts opts[] = {
		{ 0 }, { .max_lines = 1 }, { .max_lines = 1000, .max_line_bytes = 7 },
		{ .max_bytes = 300 }, { .max_lines = 100000, .max_line_bytes = 100000, .max_bytes = 1 << 20 },
	};
	for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
		hive_excerpt e;
		check_excerpt((const char *)in, n, &opts[k], &e);
		assert_true(e.kept_lines >= 1);
		hive_excerpt_dispose(&e);
	}
	free(in);
}

/* Exact gap marker format, singular for one line, leading gaps too. */
static void test_gap_marker_format(void **state)
{
	(void)state;
	hive_excerpt_opts o = { .max_lines = 3 };
	hive_excerpt e;

	check_excerpt("error: x\na\nb\nc\n", 15, &o, &e);
	assert_string_equal(e.text, "error: x\n[... 1 line omitted]\nb\nc");
	hive_excerpt_dispose(&e);

	check_excerpt("error: x\na\nb\nc\nd", 16, &o, &e);
	assert_string_equal(e.text, "error: x\n[... 2 lines omitted]\nc\nd");
	assert_int_equal(e.omitted_lines, 2);
	hive_excerpt_dispose(&e);

	/* No error anywhere: tail first, then the head from the top. */
	hive_buf b = { 0 };
	for (int i = 0; i < 10; i++)
		hive_buf_printf(&b, "line %d\n", i);
	check_excerpt(b.data, b.len, &o, &e);
	assert_string_equal(e.text, "line 0\n[... 7 lines omitted]\nline 8\nline 9");
	hive_excerpt_dispose(&e);

	/* The error is in the middle of a long run: markers on both sides. */
	o.max_lines = 6;
	hive_buf_reset(&b);
	for (int i = 0; i < 40; i++)
		hive_buf_printf(&b, i == 20 ? "panic: nil map\n" : "ok %d\n", i);
	check_excerpt(b.data, b.len, &o, &e);
	assert_string_equal(e.text, "[... 19 lines omitted]\nok 19\npanic: nil map\nok 21\n"
	                            "[... 15 lines omitted]\nok 37\nok 38\nok 39");
	hive_excerpt_dispose(&e);
	hive_buf_dispose(&b);
}

/* Every line looks like an error: the first ones and the tail still win,
 * and the scan stops classifying once it knows enough. */
static void test_errors_everywhere(void **state)
{
	(void)state;
	hive_buf b = { 0 };
	for (int i = 0; i < 5000; i++)
		hive_buf_printf(&b, "src/gen.c:%d:1: error: unknown type name 'T%d'\n", i + 1, i);
	hive_excerpt_opts o = { .max_lines = 5 };
	hive_excerpt e;
	check_excerpt(b.data, b.len, &o, &e);
	assert_string_equal(e.text, "src/gen.c:1:1: error: unknown type name 'T0'\n"
	                            "src/gen.c:2:1: error: unknown type name 'T1'\n"
	                            "[... 4995 lines omitted]\n"
	                            "src/gen.c:4998:1: error: unknown type name 'T4997'\n"
	                            "src/gen.c:4999:1: error: unknown type name 'T4998'\n"
	                            "src/gen.c:5000:1: error: unknown type name 'T4999'");
	hive_excerpt_dispose(&e);
	hive_buf_dispose(&b);
}

/* Over the byte budget: low-priority lines go first; the first error and
 * the verdict stay, and the text fits exactly. */
static void test_byte_budget_drops_low_priority_first(void **state)
{
	(void)state;
	hive_buf b = { 0 };
	hive_buf_puts(&b, "src/a.c:1:1: error: expected ';' before '}' token\n");
	for (int i = 0; i < 60; i++)
		hive_buf_printf(&b, "[%02d] %0300d\n", i, i);
	hive_buf_puts(&b, "VERDICT: 1 failed\n");
	hive_excerpt_opts o = { .max_bytes = 2000 };
	hive_excerpt e;
	check_excerpt(b.data, b.len, &o, &e);

	assert_true(strlen(e.text) <= 2000);
	assert_true(has(&e, "src/a.c:1:1: error: expected ';' before '}' token\n"));
	assert_ends_with(&e, "VERDICT: 1 failed");
	/* Bytes, not lines, were the limit: fewer lines than the tail alone. */
	assert_true(e.kept_lines < 12);
	/* The first error's context outranks the start of the tail. */
	assert_true(has(&e, "\n[00] 000"));
	assert_false(has(&e, "\n[50] 000"));
	hive_excerpt_dispose(&e);
	hive_buf_dispose(&b);
}

/* A max_bytes below the floor is raised to it; the last line survives,
 * cut, behind one marker. */
static void test_tiny_byte_budget_keeps_last_line(void **state)
{
	(void)state;
	hive_buf b = { 0 };
	for (int i = 0; i < 1000; i++)
		hive_buf_printf(&b, "error %d: %0390d\n", i, i);
	for (int i = 0; i < 5000; i++)
		hive_buf_putc(&b, 'Z');
	hive_excerpt_opts o = { .max_bytes = 1, .max_line_bytes = 100000 };
	hive_excerpt e;
	check_excerpt(b.data, b.len, &o, &e);

	assert_int_equal(e.kept_lines, 1);
	assert_true(strncmp(e.text, "[... 1000 lines omitted]\nZZZ", 28) == 0);
	assert_true(has(&e, "Z [... "));
	assert_true(strlen(e.text) <= HIVE_EXCERPT_MIN_BYTES);
	hive_excerpt_dispose(&e);
	hive_buf_dispose(&b);
}

/* Line splitting: empty input, a lone newline, CRLF, no final newline. */
static void test_line_splitting(void **state)
{
	(void)state;
	hive_excerpt e;

	check_excerpt(NULL, 0, NULL, &e);
	assert_string_equal(e.text, "");
	assert_int_equal(e.total_lines, 0);
	hive_excerpt_dispose(&e);
	hive_excerpt_dispose(&e); /* twice is harmless */

	check_excerpt("\n", 1, NULL, &e);
	assert_string_equal(e.text, "");
	assert_int_equal(e.total_lines, 1);
	assert_int_equal(e.kept_lines, 1);
	hive_excerpt_dispose(&e);

	check_excerpt("a\r\nb\r\n\r\nc", 9, NULL, &e);
	assert_string_equal(e.text, "a\nb\n\nc");
	assert_int_equal(e.total_lines, 4);
	hive_excerpt_dispose(&e);
}

/* 10 MB of logs with one error in the middle: the error is found.  (Timing
 * is printed, not asserted; a quadratic pass would show up as a hang.) */
static void test_ten_megabytes(void **state)
{
	(void)state;
	hive_buf chunk = { 0 }, b = { 0 };
	for (size_t i = 0; i < 1000; i++) /* 1000 distinct log lines, ~75 KB */
		hive_buf_printf(&chunk, "2024-05-01T12:00:00.%06zuZ INFO worker=%zu processed job id=%zu "
		                        "in %zu ms\n", i * 997 % 1000000, i % 16, i, i % 97);
	while (b.len < 10u << 20) {
		if (b.len >= 5u << 20 && b.len < (5u << 20) + chunk.len)
			hive_buf_puts(&b, "2024-05-01T12:00:00.080000Z ERROR worker=7 job 80000: "
			                  "connection reset by peer\n");
		hive_buf_append(&b, chunk.data, chunk.len);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	hive_excerpt e;
	hive_excerpt_make(b.data, b.len, NULL, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("excerpt of %zu bytes, %zu lines: %.1f ms\n", b.len, e.total_lines,
	              (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	assert_true(has(&e, "\n2024-05-01T12:00:00.080000Z ERROR worker=7 job 80000: "
	                    "connection reset by peer\n"));
	assert_true(e.kept_lines <= HIVE_EXCERPT_MAX_LINES);
	hive_excerpt_dispose(&e);

	/* Pathological: 1 MB of empty lines (a line per byte). */
	hive_buf_reset(&b);
	memset(chunk.data, '\n', chunk.len);
	while (b.len < (1u << 20))
		hive_buf_append(&b, chunk.data, b.len + chunk.len <= (1u << 20) ? chunk.len : (1u << 20) - b.len);
	check_excerpt(b.data, b.len, NULL, &e);
	assert_int_equal(e.total_lines, 1u << 20);
	char marker[64];
	snprintf(marker, sizeof marker, "[... %zu lines omitted]", e.omitted_lines);
	assert_true(has(&e, marker)); /* one gap: head lines, then the tail */
	assert_int_equal(e.kept_lines + e.omitted_lines, 1u << 20);
	hive_excerpt_dispose(&e);
	hive_buf_dispose(&b);
	hive_buf_dispose(&chunk);
}

static uint32_t lcg(uint32_t *x)
{
	*x = *x * 1664525u + 1013904223u;
	return *x >> 8;
}

/* Hundreds of generated outputs (fixed seed) mixing tool lines, CRLF, long
 * lines, raw bytes and odd options: the contract of check_excerpt holds for
 * every one. */
static void test_random_inputs_keep_the_contract(void **state)
{
	(void)state;
	static const char *pieces[] = {
		"src/x.c:3:1: error: boom", "ok 1 - fine", "", "E       assert 1 == 2",
		"--- FAIL: TestX (0.01s)", "\tat com.x.Y(Y.java:10)", "FAILED x.py::t - E",
		"caf\xC3\xA9 \xE2\x82\xAC\xF0\x9F\x98\x80", "progress 10%\rprogress 20%",
		"[... 3 lines omitted]ish", "thread 'main' panicked at src/lib.rs:1:1:",
	};
	hive_buf b = { 0 };
	uint32_t x = 42;
	for (int round = 0; round < 200; round++) {
		hive_buf_reset(&b);
		size_t lines = lcg(&x) % 120;
		for (size_t i = 0; i < lines; i++) {
			switch (lcg(&x) % 6) {
			case 0: /* raw bytes, NULs and all */
				for (size_t k = lcg(&x) % 40; k > 0; k--) {
					unsigned char c = (unsigned char)lcg(&x);
					hive_buf_putc(&b, (char)(c == '\n' ? 'n' : c));
				}
				break;
			case 1: /* a long line */
				for (size_t k = lcg(&x) % 1500; k > 0; k--)
					hive_buf_puts(&b, k % 7 ? "x" : "\xC3\xA9");
				break;
			default:
				hive_buf_puts(&b, pieces[lcg(&x) % (sizeof pieces / sizeof pieces[0])]);
			}
			hive_buf_puts(&b, lcg(&x) % 4 ? "\n" : "\r\n");
		}
		if (b.len > 0 && lcg(&x) % 2)
			b.len--; /* no final newline (or a lone '\r' at the end) */
		hive_excerpt_opts o = { lcg(&x) % 25, lcg(&x) % 60, lcg(&x) % 3 ? lcg(&x) % 3000 : 0 };
		hive_excerpt e;
		check_excerpt(b.data ? b.data : "", b.len, &o, &e);
		hive_excerpt_dispose(&e);
	}
	hive_buf_dispose(&b);
}


/* A red verdict among green noise: the escape codes neither hide the word
 * from the matcher nor reach the text; a progress line shows its last state. */
static void test_ansi_and_carriage_returns(void **state)
{
	(void)state;
	hive_buf b = { 0 };
	hive_buf_puts(&b, "\x1b]0;runner\x07" "collecting 10%\rcollecting 55%\rcollected 402 items\n");
	for (int i = 0; i < 200; i++)
		hive_buf_printf(&b, "\x1b[32mPASSED\x1b[0m test_case_%d\n", i);
	hive_buf_puts(&b, "\x1b[1;31mFAILED\x1b[0m test_login (status 401)\n");
	for (int i = 200; i < 400; i++)
		hive_buf_printf(&b, "\x1b[32mPASSED\x1b[0m test_case_%d\n", i);
	hive_buf_puts(&b, "\x1b[31m1 failed\x1b[0m, 400 passed\x1b[K\n");
	hive_excerpt e;
	check_excerpt(b.data, b.len, NULL, &e);
	assert_true(has(&e, "\nFAILED test_login (status 401)\n"));
	assert_true(has(&e, "1 failed, 400 passed"));
	assert_true(strncmp(e.text, "collected 402 items\n", 20) == 0);
	assert_null(strchr(e.text, 0x1b));
	assert_false(has(&e, "\xEF\xBF\xBD")); /* no U+FFFD left by escapes */
	assert_false(has(&e, "10%"));
	assert_int_equal(e.total_lines, 403);
	hive_excerpt_dispose(&e);
	hive_buf_dispose(&b);
}

/* A golden-file failure: the first hunks are kept whole, and a line of test
 * data saying "error" inside a hunk is not taken for a failure line. */
static void test_diff_hunks_kept_whole(void **state)
{
	(void)state;
	hive_buf b = { 0 };
	for (int i = 0; i < 40; i++)
		hive_buf_printf(&b, "running case %d ... done\n", i);
	for (int f = 0; f < 11; f++) {
		hive_buf_printf(&b, "diff --git a/t/out%d.txt b/t/out%d.txt\n", f, f);
		hive_buf_printf(&b, "index 1111111..2222222 100644\n--- a/t/out%d.txt\n+++ b/t/out%d.txt\n", f, f);
		hive_buf_printf(&b, "@@ -3,7 +3,7 @@ section\n");
		hive_buf_puts(&b, " key = 1\n error = no such file\n name = x\n");
		hive_buf_printf(&b, "-value = %d\n+value = %d\n", f, f + 100);
		hive_buf_puts(&b, " a = 1\n b = 2\n c = 3\n");
	}
	hive_excerpt e;
	check_excerpt(b.data, b.len, NULL, &e);
	assert_true(has(&e, "diff --git a/t/out0.txt b/t/out0.txt\n"));
	assert_true(has(&e, "--- a/t/out0.txt\n+++ b/t/out0.txt\n@@ -3,7 +3,7 @@ section\n"));
	assert_true(has(&e, "-value = 0\n+value = 100\n a = 1\n b = 2\n c = 3\n"));
	assert_true(has(&e, "-value = 1\n+value = 101\n"));
	assert_true(has(&e, "-value = 2\n+value = 102\n"));
	assert_true(has(&e, "-value = 10\n+value = 110\n a = 1\n b = 2\n c = 3")); /* the tail */
	hive_excerpt_dispose(&e);
	hive_buf_dispose(&b);
}

/* Unity prints "file:line:test:PASS" for every test: those lines name a
 * location but are not evidence; the one FAIL and the summary are kept,
 * and the line budget the caller gives is used, not a quarter of it. */
static void test_pass_lines_do_not_crowd_and_budget_is_used(void **state)
{
	(void)state;
	hive_buf b = { 0 };
	for (int i = 0; i < 300; i++) {
		if (i == 150)
			hive_buf_puts(&b, "test_parser.c:412:test_nested_arrays:FAIL: Expected 3 Was 2\n");
		else
			hive_buf_printf(&b, "test_parser.c:%d:test_case_%d:PASS\n", 100 + i, i);
	}
	hive_buf_puts(&b, "\n-----------------------\n300 Tests 1 Failures 0 Ignored\nFAIL\n");
	hive_excerpt_opts o = { .max_lines = 20 };
	hive_excerpt e;
	check_excerpt(b.data, b.len, &o, &e);
	assert_true(has(&e, "test_nested_arrays:FAIL: Expected 3 Was 2"));
	assert_true(has(&e, "300 Tests 1 Failures 0 Ignored"));
	assert_int_equal(e.kept_lines, 20);
	hive_excerpt_dispose(&e);

	o.max_lines = 200;
	check_excerpt(b.data, b.len, &o, &e);
	assert_int_equal(e.kept_lines, 200);
	hive_excerpt_dispose(&e);
	hive_buf_dispose(&b);
}

/* hive_buf_put_safe: what hive prints of a user- or runtime-chosen string
 * is one line with no terminal control, and valid text is kept. */
static void test_put_safe_makes_one_safe_line(void **state)
{
	(void)state;
	const char in[] = "ok \xc3\xa9\xe2\x9c\x93 \x1b[31mred\nnext\r\ttab\x7f \xc2\x9b" "2J \xff\xc3 \xed\xa0\x80 \\";
	hive_buf b = {0};
	hive_buf_put_safe(&b, in, sizeof in - 1);
	assert_string_equal(b.data, "ok \xc3\xa9\xe2\x9c\x93 \\e[31mred\\nnext\\r\\ttab\\x7f \\xc2\\x9b2J "
	                            "\\xff\\xc3 \\xed\\xa0\\x80 \\");
	hive_buf_dispose(&b);
	assert_string_equal(hive_safe(NULL), "");
	assert_string_equal(hive_safe("a\nb"), "a\\nb");
}
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pytest_failure_and_summary),
		cmocka_unit_test(test_put_safe_makes_one_safe_line),
		cmocka_unit_test(test_gcc_first_error_and_make_line),
		cmocka_unit_test(test_go_failure_in_the_middle),
		cmocka_unit_test(test_rust_panic_line),
		cmocka_unit_test(test_small_output_stays_whole),
		cmocka_unit_test(test_huge_single_line_is_cut),
		cmocka_unit_test(test_binary_garbage),
		cmocka_unit_test(test_gap_marker_format),
		cmocka_unit_test(test_errors_everywhere),
		cmocka_unit_test(test_byte_budget_drops_low_priority_first),
		cmocka_unit_test(test_tiny_byte_budget_keeps_last_line),
		cmocka_unit_test(test_line_splitting),
		cmocka_unit_test(test_ten_megabytes),
		cmocka_unit_test(test_random_inputs_keep_the_contract),
		cmocka_unit_test(test_ansi_and_carriage_returns),
		cmocka_unit_test(test_diff_hunks_kept_whole),
		cmocka_unit_test(test_pass_lines_do_not_crowd_and_budget_is_used),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
