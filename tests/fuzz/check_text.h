/*
 * check_text.h - text properties the fuzz targets assert: well-formed
 * UTF-8 (Unicode 15, table 3-7) and "one safe line" for error messages.
 * Header-only so each target stays one file plus replay.c.
 */
#ifndef HIVE_FUZZ_CHECK_TEXT_H
#define HIVE_FUZZ_CHECK_TEXT_H

#include <stddef.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s[0..n), 0 if ill-formed. */
static inline size_t fuzz_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return len;
}

/* s[0..n) is well-formed UTF-8. */
static inline int fuzz_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t k = fuzz_utf8_seq(p + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* No C0 control other than those in `allowed`, no DEL, no C1 control
 * (U+0080..U+009F, encoded C2 80..C2 9F): nothing that moves a terminal. */
static inline int fuzz_no_controls(const char *s, size_t n, const char *allowed)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		if ((p[i] < 0x20 && !(p[i] && strchr(allowed, p[i]))) || p[i] == 0x7F)
			return 0;
		if (p[i] == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F)
			return 0;
	}
	return 1;
}

/* An error message as hive prints it: non-empty, one line, no control. */
static inline int fuzz_one_line(const char *msg)
{
	return msg && *msg && fuzz_no_controls(msg, strlen(msg), "");
}

#endif
