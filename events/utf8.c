/*
 * utf8.c - UTF-8 validation and repair.  See utf8.h.
 */
#include "events/utf8.h"

#include <stdbool.h>
#include <stdint.h>

#define REPLACEMENT     "\xEF\xBF\xBD" /* U+FFFD */
#define REPLACEMENT_LEN 3

/* ---------------------------------------------------------------- UTF-8 */

/* Length of the well-formed sequence starting s[0..n), or 0 when it is
 * ill-formed; then *bad gets the length of its maximal ill-formed subpart
 * (>= 1), the bytes one U+FFFD stands for.  Ranges from Unicode Table 3-7:
 * they exclude overlongs (C0, C1, E0 80..9F, F0 80..8F), surrogates
 * (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF). */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF; /* range of byte 2 */
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		need = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		need = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
	else if (c >= 0xF0 && c <= 0xF4)
		need = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
	else {
		*bad = 1;
		return 0;
	}
	size_t i = 1;
	for (; i < need && i < n; i++) {
		unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
		if (s[i] < l || s[i] > h)
			break;
	}
	if (i == need)
		return need;
	*bad = i;
	return 0;
}

/* A well-formed sequence that must not reach a prompt or a terminal: C0
 * controls except tab (newline is handled by the caller), DEL, and the C1
 * controls U+0080..U+009F (C2 80..C2 9F), which include CSI. */
static bool utf8_is_control(const unsigned char *s, size_t seq)
{
	if (seq == 1)
		return (s[0] < 0x20 && s[0] != '\t') || s[0] == 0x7F;
	return seq == 2 && s[0] == 0xC2 && s[1] < 0xA0;
}

static bool plain_ascii(unsigned char c)
{
	return (c >= 0x20 && c < 0x7F) || c == '\t' || c == '\n';
}

size_t hive_utf8_sanitize_into(const char *data, size_t n, size_t limit, hive_buf *out,
                               size_t *used)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0, w = 0;

	while (i < n) {
		size_t run = 0; /* fast path: a run of plain ASCII copied at once */
		while (i + run < n && run < limit - w && plain_ascii(s[i + run]))
			run++;
		if (run > 0) {
			if (out)
				hive_buf_append(out, s + i, run);
			i += run, w += run;
			continue;
		}
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			i++; /* CRLF -> LF: the '\n' comes next */
			continue;
		}
		size_t bad = 0, seq = utf8_seq(s + i, n - i, &bad);
		bool ok = seq > 0 && !utf8_is_control(s + i, seq);
		size_t width = ok ? seq : REPLACEMENT_LEN;
		if (width > limit - w)
			break;
		if (out)
			hive_buf_append(out, ok ? (const void *)(s + i) : REPLACEMENT, width);
		i += seq > 0 ? seq : bad, w += width;
	}
	*used = i;
	return w;
}

char *hive_utf8_sanitize(const char *data, size_t len, size_t *out_len)
{
	hive_buf b = {0};
	size_t used;

	hive_utf8_sanitize_into(data, len, SIZE_MAX, &b, &used);
	if (out_len)
		*out_len = b.len;
	return hive_buf_detach(&b);
}

size_t hive_utf8_cut(const char *s, size_t len, size_t max_bytes)
{
	const unsigned char *u = (const unsigned char *)s;

	if (len <= max_bytes)
		return len;
	/* u[max_bytes] is the first byte left out; if it continues a
	 * sequence, the sequence's lead is at most 3 bytes back. */
	size_t cut = max_bytes;
	for (int k = 0; k < 3 && cut > 0 && (u[cut] & 0xC0) == 0x80; k++)
		cut--;
	return (u[cut] & 0xC0) == 0x80 ? max_bytes : cut;
}
