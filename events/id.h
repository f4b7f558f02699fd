/*
 * id.h - UUIDv7 identifiers and timestamps for events and entities.
 *
 * A UUIDv7 starts with a 48-bit Unix millisecond timestamp, so ids sort by
 * creation time.  Ids are always printed in full, lowercase, 36 chars.
 */
#ifndef HIVE_ID_H
#define HIVE_ID_H

#include <stddef.h>
#include <stdint.h>

#define HIVE_ID_LEN 36
typedef struct { char s[HIVE_ID_LEN + 1]; } hive_id;

/* Fill *out with a new UUIDv7: 48 bits of Unix milliseconds, 74 random bits
 * from getrandom(2), fetched a page at a time per thread and never handed
 * out twice (not to another thread, not to a forked child: see id.c).
 * Thread-safe and fork-safe. */
void hive_id_new(hive_id *out);
/* 1 if s is a well-formed lowercase UUID string of exactly 36 chars. */
int hive_id_valid(const char *s);
/* UTC wall-clock time "2026-11-23T13:45:01.123456Z" into out (>= 28 bytes;
 * a smaller n gets it truncated, NUL-terminated).  Thread-safe. */
void hive_time_now(char *out, size_t n);
/* Wall clock in milliseconds since the epoch. */
int64_t hive_time_now_ms(void);
/* Format a wall-clock millisecond time as "2026-11-23T13:45:01.123Z". */
void hive_time_format_ms(int64_t ms, char *out, size_t n);
/* Parse the formats above back into ms since epoch; -1 on error. */
int64_t hive_time_parse_ms(const char *s);

#endif
