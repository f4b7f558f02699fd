/*
 * duration.h - durations in whole milliseconds: parse "1h30m", format them
 * back exactly.  Pure functions, no I/O.
 *
 * Errors: hive_duration_parse returns 0 or HIVE_EINVALID with one line in
 * hive_error_last() that quotes the input, e.g.
 *   invalid duration "5x" (use e.g. 500ms, 2s, 1m, 1h)
 * On error the output argument is left untouched.
 */
#ifndef HIVE_DURATION_H
#define HIVE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Largest accepted duration: 2^53 ms (about 285,000 years).  Exactly
 * representable as a double, and far enough from INT64_MAX that
 * `now_ms + duration` cannot overflow. */
#define HIVE_DURATION_MAX_MS ((int64_t)1 << 53)

/* Parse a duration into whole milliseconds.  Accepted: "0", or one or more
 * <number><unit> groups with unit ms, s, m or h and an optional decimal
 * fraction: "250ms", "1s", "1.5s", ".5s", "2m", "1h", "1h30m", "0s".
 * Rejected with HIVE_EINVALID (message quotes the input): NULL or empty,
 * negative, missing or unknown unit, spaces, exponents, a bare number other
 * than 0, a value finer than a millisecond ("1.5ms", "0.0001s"), and values
 * above HIVE_DURATION_MAX_MS.  The message carries no field name: callers
 * prefix it with theirs. */
int hive_duration_parse(const char *s, int64_t *ms_out);

/* Buffer size that always holds hive_duration_format's output. */
#define HIVE_DURATION_FMT_MAX 32

/* Short, exact, deterministic human text for `ms`: "0s", "250ms", "4.2s",
 * "1m30s", "1h30m", "1h2m3.456s" (negative values get a leading '-').  The
 * output always parses back to the same value with hive_duration_parse.
 * Truncated (and still NUL-terminated) when n is too small; n == 0 writes
 * nothing. */
void hive_duration_format(int64_t ms, char *out, size_t n);

#endif
