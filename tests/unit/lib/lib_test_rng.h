/* SPDX-License-Identifier: MIT */
/*
 * Deterministic generator for the lib unit tests: splitmix64 seeded by the
 * test, so every failure names a seed that reproduces it.
 */
#ifndef IOMMUSIM_TEST_LIB_RNG_H
#define IOMMUSIM_TEST_LIB_RNG_H

#include <stdint.h>

struct trng {
	uint64_t s;
};

static inline uint64_t trng_next(struct trng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform-ish in [0, n) (n > 0); the modulo bias does not matter here. */
static inline uint64_t trng_below(struct trng *r, uint64_t n)
{
	return trng_next(r) % n;
}

#endif
