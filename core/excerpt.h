/*
 * excerpt.h - bounded, fixer-oriented excerpts of check output.
 *
 * When a check fails, the next attempt is told what it printed (SPEC
 * section 6).  Outputs can be megabytes of noise around one useful line, and
 * the useful line is not at a fixed end: compilers print the real error
 * first, test runners print the verdict last, stack traces bury the panic in
 * the middle.  An excerpt therefore keeps lines by priority (see
 * hive_excerpt_make) rather than a plain head or tail, and marks every gap
 * with how many lines it hides.
 *
 * Input is whatever a process wrote: any bytes, invalid UTF-8, NULs, CRLF,
 * no trailing newline.  Output is always valid UTF-8 text containing no
 * control characters other than '\t' and '\n', and is deterministic: the same
 * bytes and options give the same excerpt, byte for byte, on every machine.
 *
 * Lines: the input is split at '\n'; a '\r' directly before a '\n' is
 * dropped (CRLF); a final '\n' ends the last line rather than starting an
 * empty one.  So "" has 0 lines, "\n" has 1 (empty) line, "a\nb" has 2.
 *
 * What a terminal would show is what is matched and rendered: ANSI escape
 * sequences (CSI such as colours, OSC such as window titles, and short ESC
 * sequences) are removed, and a '\r' not followed by '\n' is a carriage
 * return: the line is what was written after the last one ("10%\r100%"
 * is "100%"; "done\r" stays "done").  Line numbers and counts are those of
 * the raw input (a '\n' is never removed).
 */
#ifndef HIVE_EXCERPT_H
#define HIVE_EXCERPT_H

#include <stddef.h>

/* Defaults used when an option is 0. */
#define HIVE_EXCERPT_MAX_LINES      50
#define HIVE_EXCERPT_MAX_LINE_BYTES 400
#define HIVE_EXCERPT_MAX_BYTES      16384
/* max_bytes is raised to at least this, so a gap marker plus a (cut) last
 * line always fit: the byte limit is then a hard limit, with no overhead. */
#define HIVE_EXCERPT_MIN_BYTES      128

typedef struct {
	/* Input lines kept at most; gap markers are not counted.  0 -> 50. */
	size_t max_lines;
	/* A kept line whose sanitized text is longer is cut to at most this
	 * many bytes at a UTF-8 boundary, followed by " [... N bytes cut]",
	 * N being the bytes of the original line left out.  0 -> 400. */
	size_t max_line_bytes;
	/* Hard limit on strlen(text).  0 -> 16384; values below
	 * HIVE_EXCERPT_MIN_BYTES are raised to it.  When the kept lines do not
	 * fit, kept lines are dropped lowest priority first; if only the last
	 * line is left and it still does not fit, it is cut further. */
	size_t max_bytes;
} hive_excerpt_opts;

/* A caller-owned struct filled by hive_excerpt_make; release its memory with
 * hive_excerpt_dispose. */
typedef struct {
	/* Kept lines in their original order joined with '\n' (no trailing
	 * newline), each run of left-out lines replaced by one line
	 * "[... N lines omitted]" ("line" when N is 1).  Owned by the struct.
	 * Never NULL after hive_excerpt_make; "" for empty input. */
	char *text;
	size_t total_lines;   /* lines in the input */
	size_t kept_lines;    /* input lines present in text (maybe cut) */
	size_t omitted_lines; /* total_lines - kept_lines == sum of the Ns */
} hive_excerpt;

/*
 * Fill *out with an excerpt of data[0..len) (data may be NULL when len is 0;
 * opts may be NULL for all defaults).  Cannot fail; allocation failure
 * aborts, like the rest of hive.  Linear in len (10 MB: tens of ms); extra
 * memory is one bit per input line plus a few words per candidate line, and
 * a cleaned copy of the input when it holds an ESC or a bare '\r'.
 *
 * If every line fits in max_lines and the sanitized, line-cut text fits in
 * max_bytes, text is the whole input.  Otherwise lines are chosen, each
 * step only while the max_lines budget lasts:
 *   1. the first 3 error-looking lines, each with 1 line before and up to 2
 *      after; then the first unified-diff hunks that fit whole ("@@ -a,b
 *      +c,d @@" and the lines its counts announce, with the file's "diff",
 *      "index", "---", "+++" lines); the first hunk even if only its start
 *      fits (both capped so the tail below always gets its share);
 *   2. the tail: the last max(min(10, ceil(max_lines/2)), max_lines/4) lines;
 *   3. every other error-looking line with the same context, earliest
 *      first; the other hunks; then lines that only name a source location
 *      ("file.c:12:") and carry no success word (PASS, passed, OK);
 *   4. the first few lines of the head (at most 5);
 *   5. what is left of the budget, from the end backwards (the lines next
 *      to the tail), so max_lines lines are kept when the input has them.
 * "Error-looking" is a fixed, case-sensitive list of markers printed by
 * compilers, test runners and runtimes (see excerpt.c); a line inside a
 * hunk is never one (it is data).  If the result is over max_bytes, kept
 * lines are dropped in the reverse of the order they were chosen, except
 * the input's last line, which is always kept.
 */
void hive_excerpt_make(const char *data, size_t len, const hive_excerpt_opts *opts,
                       hive_excerpt *out);
/* Free e->text and zero *e.  Safe on a zeroed struct and twice. */
void hive_excerpt_dispose(hive_excerpt *e);


#endif
