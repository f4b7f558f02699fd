/*
 * fuzz_excerpt.c - the excerpter (hive_excerpt_make) and the UTF-8
 * helpers it is built on (events/utf8.h), fed what a check or runtime may
 * print.
 *
 * Properties, from excerpt.h: the text is valid UTF-8 without controls
 * other than '\t' and '\n'; strlen(text) <= the effective max_bytes;
 * total_lines counts lines as the header defines them and kept + omitted
 * == total.  Each input is
 * excerpted with the defaults and with small limits derived from its
 * length (deterministic, so a saved input replays the same way).
 */
#include <string.h>

#include "core/excerpt.h"
#include "events/utf8.h"
#include "tests/fuzz/check_text.h"
#include "tests/fuzz/fuzz.h"

static size_t count_lines(const uint8_t *d, size_t n)
{
	size_t lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += d[i] == '\n';
	return lines + (n > 0 && d[n - 1] != '\n');
}

static void check_excerpt(const uint8_t *data, size_t size, const hive_excerpt_opts *o)
{
	hive_excerpt e;
	size_t max_bytes = o && o->max_bytes ? o->max_bytes : HIVE_EXCERPT_MAX_BYTES;
	if (max_bytes < HIVE_EXCERPT_MIN_BYTES)
		max_bytes = HIVE_EXCERPT_MIN_BYTES;

	hive_excerpt_make((const char *)data, size, o, &e);
	fuzz_require(e.text != NULL);
	size_t len = strlen(e.text);
	fuzz_require(len <= max_bytes);
	fuzz_require(fuzz_utf8_valid(e.text, len));
	fuzz_require(fuzz_no_controls(e.text, len, "\t\n"));
	fuzz_require(e.total_lines == count_lines(data, size));
	fuzz_require(e.kept_lines + e.omitted_lines == e.total_lines);
	fuzz_require(e.kept_lines <= e.total_lines);
	hive_excerpt_dispose(&e);
	fuzz_require(e.text == NULL);
	hive_excerpt_dispose(&e);
}

static void check_sanitize(const uint8_t *data, size_t size)
{
	size_t len = 0;
	char *s = hive_utf8_sanitize((const char *)data, size, &len);
	fuzz_require(s && strlen(s) == len);
	fuzz_require(fuzz_utf8_valid(s, len));
	fuzz_require(fuzz_no_controls(s, len, "\t\n"));
	/* text that was already clean comes back unchanged */
	if (memchr(data, '\r', size) == NULL && fuzz_utf8_valid((const char *)data, size) &&
	    fuzz_no_controls((const char *)data, size, "\t\n"))
		fuzz_require(len == size && memcmp(s, data, size) == 0);
	for (size_t max = 0; max <= 8 && max <= len; max++) {
		size_t cut = hive_utf8_cut(s, len, len - max);
		fuzz_require(cut <= len - max && cut + 3 >= len - max);
		fuzz_require(fuzz_utf8_valid(s, cut));
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hive_excerpt_opts small = {
		.max_lines = 1 + size % 23,
		.max_line_bytes = 1 + (size * 7) % 301,
		.max_bytes = (size * 13) % 2000,
	};
	check_excerpt(data, size, NULL);
	check_excerpt(data, size, &small);
	check_sanitize(data, size);
	return 0;
}
