/*
 * utf8.h - UTF-8 validation and repair, written once for every layer
 * (check output excerpts, prompts, retry contexts, safe printing).
 * Pure functions on bytes; allocation failure aborts (as in buf.h).
 */
#ifndef HIVE_UTF8_H
#define HIVE_UTF8_H

#include <stddef.h>

#include "events/buf.h"

/*
 * Valid UTF-8 text from arbitrary bytes, as a new string the caller frees
 * with free(); *out_len (if non-NULL) gets its length.
 *
 * Each ill-formed sequence (bad lead byte, overlong form, surrogate, code
 * point above U+10FFFF, sequence truncated by the end or by a bad byte) is
 * replaced by U+FFFD, one per maximal ill-formed subpart (Unicode 15, 3.9).
 * NUL, the other C0 controls except '\t' and '\n', DEL and the C1 controls
 * U+0080..U+009F are replaced by U+FFFD as well, so no terminal escape or
 * NUL survives.  "\r\n" becomes "\n"; any other '\r' is a control (U+FFFD).
 */
char *hive_utf8_sanitize(const char *data, size_t len, size_t *out_len);

/*
 * The length to cut s[0..len) to so that it is at most max_bytes long and
 * does not end inside a UTF-8 sequence: len itself when len <= max_bytes.
 * Meant for valid UTF-8; on other bytes it still returns <= max_bytes and
 * steps back at most 3 bytes.
 */
size_t hive_utf8_cut(const char *s, size_t len, size_t max_bytes);

/*
 * The engine behind hive_utf8_sanitize, for callers that cut as they go
 * (excerpt lines): append the sanitized form of data[0..n) to out (or only
 * measure it when out is NULL), stopping before the first character that
 * would take the output past `limit` bytes.  Returns the bytes produced;
 * *used gets the input consumed (n when everything fit).  Stopping only
 * between characters is what makes a cut land on a UTF-8 boundary.
 */
size_t hive_utf8_sanitize_into(const char *data, size_t n, size_t limit, hive_buf *out,
                               size_t *used);

#endif
