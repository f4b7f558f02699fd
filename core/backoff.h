/*
 * backoff.h - the delay before the next attempt (SPEC section 4): exponential
 * growth capped at a maximum, then seeded jitter.  Pure; needs no libm
 * (powers are computed by repeated squaring).
 */
#ifndef HIVE_BACKOFF_H
#define HIVE_BACKOFF_H

#include <stdint.h>

#include "core/rng.h"

typedef enum { HIVE_JITTER_NONE, HIVE_JITTER_FULL, HIVE_JITTER_EQUAL } hive_jitter;

typedef struct {
	int64_t initial_ms, max_ms; /* 0..HIVE_DURATION_MAX_MS */
	double coefficient;         /* >= 1 */
	hive_jitter jitter;
} hive_backoff;

/*
 * Delay in ms before attempt n+1, where n >= 1 is the number of attempts
 * already used in the budget (n < 1 is treated as 1):
 *   d = min(max, initial × coefficient^(n-1)), rounded to the nearest ms,
 * computed in double and clamped before converting, so huge n cannot
 * overflow.  Then jitter: none → d; full → uniform integer in [0, d];
 * equal → floor(d/2) + uniform integer in [0, d - floor(d/2)] (so within
 * [d/2, d]).  `rng` may be NULL only when jitter is none; one draw is taken
 * from it otherwise.
 */
int64_t hive_backoff_delay(const hive_backoff *b, int n, hive_rng *rng);

#endif
