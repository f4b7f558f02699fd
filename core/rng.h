/*
 * rng.h - deterministic randomness for backoff jitter.  The seed and the
 * draws are recorded in events, so a replay never re-rolls dice.
 */
#ifndef HIVE_RNG_H
#define HIVE_RNG_H

#include <stdint.h>

/* splitmix64: tiny, fast, and the same sequence on every platform for the
 * same seed.  Any seed (0 included) is fine.  Not for cryptography. */
typedef struct { uint64_t state; } hive_rng;

void hive_rng_seed(hive_rng *r, uint64_t seed);
uint64_t hive_rng_next(hive_rng *r);
/* Uniform in [0, 1), 53 bits. */
double hive_rng_unit(hive_rng *r);
/* Uniform integer in [0, bound) without modulo bias; 0 when bound == 0. */
uint64_t hive_rng_below(hive_rng *r, uint64_t bound);

#endif
