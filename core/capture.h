/*
 * capture.h - bounded capture of one output stream of a program.
 *
 * hive reads what a runtime or a check writes from a pipe it holds
 * (core/proc.h, stdout_capture) and feeds it here.  Nothing is re-opened
 * by path afterwards, so a runtime that replaces its log file with a FIFO
 * or a symlink changes nothing hive reads and cannot make it block.
 *
 * Memory and disk stay bounded whatever the program writes: the first
 * half of max_bytes (the head) is kept as it arrives, the last half (the
 * tail) in a ring; everything in between is counted and dropped.  The log
 * file, if any, receives the head as it arrives and, at the end, one
 * marker line saying how much was left out, then the tail.  Bytes and
 * lines are counted over the whole stream, so the line count and the tail
 * are the real ones even for gigabytes of output.
 *
 * Lines are counted as excerpt.h splits them: "" has 0, "a\nb" has 2.
 */
#ifndef HIVE_CAPTURE_H
#define HIVE_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "events/buf.h"

/* Kept of one output when HIVE_MAX_OUTPUT_BYTES is not set. */
#define HIVE_OUTPUT_MAX_DEFAULT ((size_t)8 << 20)
/* Kept of a checkpoint's diff when HIVE_MAX_DIFF_BYTES is not set. */
#define HIVE_DIFF_MAX_DEFAULT   ((size_t)4 << 20)
/* Smallest accepted limit: a marker line and some text on each side. */
#define HIVE_CAPTURE_MIN_BYTES  ((size_t)1024)

/* A caller-owned capture: fill with hive_capture_init, feed, then
 * hive_capture_finish and hive_capture_dispose.  Fields are read-only to
 * callers; total_bytes and lines are final after hive_capture_finish. */
typedef struct {
	int fd;                 /* the log file hive writes, when has_fd */
	int has_fd;
	size_t head_max, tail_max;
	hive_buf head;          /* the first head_max bytes */
	char *ring;             /* the last tail_max bytes after the head, circular */
	size_t ring_start, ring_len;
	uint64_t total_bytes;   /* everything the program wrote */
	uint64_t newlines;
	unsigned char last;     /* the last byte written, for the line count */
	int write_errno;        /* first error writing the log file, 0 if none */
	char *path;             /* new string: the log file's path, for messages */
} hive_capture;

/* What was kept of a finished capture (caller-owned, hive_output_dispose). */
typedef struct {
	hive_buf text;          /* head, then (if truncated) the marker line and the tail */
	uint64_t total_bytes;   /* bytes the program wrote */
	uint64_t lines;         /* lines in all of them */
	int truncated;          /* 1 if bytes were left out of text */
} hive_output;

/* Start a capture keeping at most max_bytes (0 = HIVE_OUTPUT_MAX_DEFAULT;
 * smaller values are raised to HIVE_CAPTURE_MIN_BYTES), writing the log to
 * path (NULL = no file).  Whatever is at path is removed first (a planted
 * FIFO, symlink or file) and a new regular file is created with
 * O_EXCL|O_NOFOLLOW, mode 0600: hive never writes through a name the
 * program chose.  Errors: HIVE_ESYSTEM naming the path (c is then
 * disposed and safe to dispose again). */
int hive_capture_init(hive_capture *c, const char *path, size_t max_bytes);

/* Account for data[0..n).  Cannot fail: an error writing the log file is
 * remembered (write_errno) and the file is left as it is, while the
 * counts and the memory copy go on. */
void hive_capture_feed(hive_capture *c, const void *data, size_t n);

/* Complete the log file (marker and tail) and fill *out (its text is new;
 * out is overwritten).  The capture keeps its counts; dispose it after. */
void hive_capture_finish(hive_capture *c, hive_output *out);

/* Close the file and free memory.  Safe on a zeroed struct, after a
 * failed init, and twice. */
void hive_capture_dispose(hive_capture *c);

void hive_output_dispose(hive_output *o);

/* A byte limit from the environment variable `name`: a whole number of
 * bytes with an optional K, M or G suffix (powers of 1024).  Unset or
 * empty gives dflt.  Errors: HIVE_EINVALID naming the variable, for
 * anything else or a value below HIVE_CAPTURE_MIN_BYTES. */
int hive_capture_limit(const char *name, size_t dflt, size_t *out);

#endif
