/*
 * duration.c - parse and format durations.  See duration.h.
 */
#include "core/duration.h"

#include "core/jsoncheck.h"
#include "events/buf.h"
#include "events/error.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define DURATION_HINT "(use e.g. 500ms, 2s, 1m, 1h)"

enum { DUR_OK, DUR_SYNTAX, DUR_TOO_FINE, DUR_TOO_BIG };

static int duration_error(const char *s, int why)
{
	hive_buf m = {0};
	hive_buf_puts(&m, "invalid duration \"");
	hive_put_shown(&m, s ? s : "");
	hive_buf_putc(&m, '"');
	if (why == DUR_TOO_FINE)
		hive_buf_puts(&m, ": finer than a millisecond " DURATION_HINT);
	else if (why == DUR_TOO_BIG)
		hive_buf_puts(&m, ": too large (the limit is about 285000 years)");
	else if (s && *s == '-')
		hive_buf_puts(&m, ": must not be negative " DURATION_HINT);
	else
		hive_buf_puts(&m, " " DURATION_HINT);
	return hive_jsoncheck_fail_buf(&m);
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parse "<digits>[.<digits>]" at *pp.  The integer part saturates above the
 * limit (*big); the fraction keeps 9 digits (enough: with units up to 1h a
 * non-zero digit past the 7th can never give whole milliseconds), and *fine
 * is set when a non-zero digit lies beyond them. */
static int parse_number(const char **pp, uint64_t *ip, uint64_t *fnum, uint64_t *fden,
                        int *big, int *fine)
{
	const char *p = *pp;
	int ndig = 0;
	for (; is_digit(*p); p++, ndig++) {
		*ip = *ip * 10 + (uint64_t)(*p - '0');
		if (*ip > (uint64_t)HIVE_DURATION_MAX_MS) {
			*big = 1;
			*ip = (uint64_t)HIVE_DURATION_MAX_MS + 1;
		}
	}
	if (*p == '.') {
		if (!is_digit(*++p))
			return -1;
		for (; is_digit(*p); p++, ndig++) {
			if (*fden < 1000000000u) {
				*fnum = *fnum * 10 + (uint64_t)(*p - '0');
				*fden *= 10;
			} else if (*p != '0') {
				*fine = 1;
			}
		}
	}
	*pp = p;
	return ndig ? 0 : -1;
}

/* Parse a unit at *pp into its length in ms; 0 when there is none we know. */
static uint64_t parse_unit(const char **pp)
{
	const char *p = *pp;
	uint64_t unit = 0;
	if (p[0] == 'm' && p[1] == 's')
		unit = 1, p += 2;
	else if (p[0] == 's')
		unit = 1000, p++;
	else if (p[0] == 'm')
		unit = 60000, p++;
	else if (p[0] == 'h')
		unit = 3600000, p++;
	*pp = p;
	return unit;
}

/* One "<number><unit>" group; adds its value to *total (saturating). */
static int parse_group(const char **pp, uint64_t *total)
{
	uint64_t ip = 0, fnum = 0, fden = 1, unit;
	int big = 0, fine = 0;
	if (parse_number(pp, &ip, &fnum, &fden, &big, &fine) < 0 || !(unit = parse_unit(pp)))
		return DUR_SYNTAX;
	if (big || ip > (uint64_t)HIVE_DURATION_MAX_MS / unit)
		return DUR_TOO_BIG;
	if (fine || (fnum * unit) % fden)
		return DUR_TOO_FINE;
	uint64_t ms = ip * unit + fnum * unit / fden;
	if (ms > (uint64_t)HIVE_DURATION_MAX_MS - *total)
		return DUR_TOO_BIG;
	*total += ms;
	return DUR_OK;
}

int hive_duration_parse(const char *s, int64_t *ms_out)
{
	if (!s || !*s || *s == '-')
		return duration_error(s, DUR_SYNTAX);
	if (strcmp(s, "0") == 0) {
		*ms_out = 0;
		return 0;
	}
	/* A syntax error anywhere beats a range problem in an earlier group. */
	uint64_t total = 0;
	int worst = DUR_OK;
	for (const char *p = s; *p;) {
		int rc = parse_group(&p, &total);
		if (rc == DUR_SYNTAX)
			return duration_error(s, DUR_SYNTAX);
		if (rc != DUR_OK && worst == DUR_OK)
			worst = rc;
	}
	if (worst != DUR_OK)
		return duration_error(s, worst);
	*ms_out = (int64_t)total;
	return 0;
}

/* Seconds with up to 3 decimals, trailing zeros dropped: "3", "4.2", "0.5". */
static int format_seconds(char *out, size_t n, uint64_t s, uint64_t ms)
{
	if (!ms)
		return snprintf(out, n, "%llus", (unsigned long long)s);
	assert(ms < 1000);
	char frac[4] = {(char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10), 0};
	for (int i = 2; i > 0 && frac[i] == '0'; i--)
		frac[i] = '\0';
	return snprintf(out, n, "%llu.%ss", (unsigned long long)s, frac);
}

void hive_duration_format(int64_t ms, char *out, size_t n)
{
	if (!out || n == 0)
		return;
	/* Our own digits only, bounded: at most 26 bytes for any int64. */
	char tmp[64];
	size_t len = 0;
	uint64_t u = ms < 0 ? 0 - (uint64_t)ms : (uint64_t)ms;
	if (ms < 0)
		tmp[len++] = '-';
	uint64_t h = u / 3600000, m = u / 60000 % 60, s = u / 1000 % 60, rest = u % 1000;
	if (u < 1000) {
		snprintf(tmp + len, sizeof tmp - len, u ? "%llums" : "0s", (unsigned long long)u);
	} else {
		if (h)
			len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%lluh", (unsigned long long)h);
		if (m)
			len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%llum", (unsigned long long)m);
		if (s || rest)
			format_seconds(tmp + len, sizeof tmp - len, s, rest);
	}
	snprintf(out, n, "%s", tmp);
}
