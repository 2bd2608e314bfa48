/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by every layer: alignment and power-of-two arithmetic
 * on uint64_t, bit scans through the compiler builtins, typed min/max,
 * container_of, overflow-checked addition and relaxed single-copy atomics.
 *
 * Everything here is a macro or a static inline function with no state.
 * Alignment helpers take power-of-two alignments only (not checked: callers
 * validate user input with is_power_of_2() first). ALIGN_UP can overflow
 * when @x is within @a of UINT64_MAX; use align_up_overflow() where the
 * input comes from outside.
 */
#ifndef IOMMUSIM_LIB_UTIL_H
#define IOMMUSIM_LIB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

/* Power-of-two alignment on uint64_t (a must be a power of two). */
#define ALIGN_DOWN(x, a) ((uint64_t)(x) & ~((uint64_t)(a)-1))
#define ALIGN_UP(x, a) ALIGN_DOWN((uint64_t)(x) + ((uint64_t)(a)-1), (a))
#define IS_ALIGNED(x, a) (((uint64_t)(x) & ((uint64_t)(a)-1)) == 0)

/* ALIGN_UP that reports overflow: returns true (and leaves *out alone) on wrap. */
static inline bool align_up_overflow(uint64_t x, uint64_t a, uint64_t *out)
{
	uint64_t t;

	if (__builtin_add_overflow(x, a - 1, &t))
		return true;
	*out = t & ~(a - 1);
	return false;
}

static inline bool is_power_of_2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* Find last set: 1-based index of the highest set bit, 0 for 0. */
static inline unsigned int fls64(uint64_t x)
{
	return x ? 64 - (unsigned int)__builtin_clzll(x) : 0;
}

/* Find first set: 1-based index of the lowest set bit, 0 for 0. */
static inline unsigned int ffs64(uint64_t x)
{
	return (unsigned int)__builtin_ffsll((long long)x);
}

/* Number of set bits. */
static inline unsigned int popcount64(uint64_t x)
{
	return (unsigned int)__builtin_popcountll(x);
}

/* Floor of log2; ilog2(0) is undefined and returns 0 here. */
static inline unsigned int ilog2(uint64_t x)
{
	return x ? fls64(x) - 1 : 0;
}

/*
 * Smallest power of two >= x. roundup_pow_of_two(0) == 1. Returns 0 when the
 * result does not fit (x > 2^63): callers that accept such inputs check it.
 */
static inline uint64_t roundup_pow_of_two(uint64_t x)
{
	if (x <= 1)
		return 1;
	if (x > (UINT64_C(1) << 63))
		return 0;
	return UINT64_C(1) << fls64(x - 1);
}

/* Largest power of two <= x; 0 for 0. */
static inline uint64_t rounddown_pow_of_two(uint64_t x)
{
	return x ? UINT64_C(1) << (fls64(x) - 1) : 0;
}

/* Typed min/max: evaluate each argument once. Use min_t() to mix types. */
#ifndef min
#define min(a, b)                                  \
	({                                         \
		__auto_type _min_a = (a);          \
		__auto_type _min_b = (b);          \
		_min_a < _min_b ? _min_a : _min_b; \
	})
#endif
#ifndef max
#define max(a, b)                                  \
	({                                         \
		__auto_type _max_a = (a);          \
		__auto_type _max_b = (b);          \
		_max_a > _max_b ? _max_a : _max_b; \
	})
#endif
#define min_t(type, a, b) min((type)(a), (type)(b))
#define max_t(type, a, b) max((type)(a), (type)(b))
#define clamp(v, lo, hi) min(max((v), (lo)), (hi))

/* True when a + b overflows the type of *d; *d gets the wrapped sum. */
#define check_add_overflow(a, b, d) __builtin_add_overflow((a), (b), (d))
#define check_sub_overflow(a, b, d) __builtin_sub_overflow((a), (b), (d))
#define check_mul_overflow(a, b, d) __builtin_mul_overflow((a), (b), (d))

/* Single-copy accesses for data shared without a lock (relaxed ordering). */
#define READ_ONCE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

#endif /* IOMMUSIM_LIB_UTIL_H */
