/*
 * backoff.c - see backoff.h.
 */
#include "core/backoff.h"

#include <assert.h>

/* base^e by repeated squaring: O(log e), no libm; overflow gives inf. */
static double pow_int(double base, int e)
{
	double r = 1.0;
	while (e > 0) {
		if (e & 1)
			r *= base;
		e >>= 1;
		if (e)
			base *= base;
	}
	return r;
}

/* min(max, initial × coefficient^(n-1)) in whole ms, before jitter. */
static int64_t backoff_base(const hive_backoff *b, int n)
{
	int64_t max = b->max_ms > 0 ? b->max_ms : 0;
	if (b->initial_ms <= 0 || max == 0)
		return 0;
	double d = (double)b->initial_ms * pow_int(b->coefficient, n < 1 ? 0 : n - 1);
	if (!(d < (double)max)) /* also catches inf and NaN */
		return max;
	if (d <= 0)
		return 0;
	int64_t r = (int64_t)(d + 0.5);
	return r < max ? r : max;
}

int64_t hive_backoff_delay(const hive_backoff *b, int n, hive_rng *rng)
{
	int64_t d = backoff_base(b, n), lo;
	switch (b->jitter) {
	case HIVE_JITTER_NONE:
		return d;
	case HIVE_JITTER_FULL:
		assert(rng);
		return (int64_t)hive_rng_below(rng, (uint64_t)d + 1);
	case HIVE_JITTER_EQUAL:
		assert(rng);
		lo = d / 2;
		return lo + (int64_t)hive_rng_below(rng, (uint64_t)(d - lo) + 1);
	}
	return d;
}
