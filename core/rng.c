/*
 * rng.c - splitmix64.  See rng.h.
 */
#include "core/rng.h"

void hive_rng_seed(hive_rng *r, uint64_t seed) { r->state = seed; }

uint64_t hive_rng_next(hive_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

double hive_rng_unit(hive_rng *r)
{
	return (double)(hive_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t hive_rng_below(hive_rng *r, uint64_t bound)
{
	if (bound == 0)
		return 0;
	/* Reject the top sliver so every residue is equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % bound, x;
	do
		x = hive_rng_next(r);
	while (x >= limit);
	return x % bound;
}
