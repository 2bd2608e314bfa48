/* SPDX-License-Identifier: MIT */
/*
 * Word bitmaps: arrays of unsigned long, bit n in word n / BITS_PER_LONG at
 * position n % BITS_PER_LONG. A bitmap of nbits bits has BITS_TO_LONGS(nbits)
 * words; the bits past nbits in the last word are kept zero by every
 * operation here that takes nbits, and the whole-map queries (weight, empty,
 * full, find) ignore them anyway.
 *
 * Single-bit operations are plain (non-atomic) read-modify-writes: the owner
 * serialises writers. bitmap_alloc() goes through the fallible allocator
 * (injection point "bitmap.alloc") and returns a zeroed map.
 *
 * Note the names differ from Linux: bitmap_set()/bitmap_clear() here act on
 * one bit; the range forms are bitmap_set_range()/bitmap_clear_range().
 */
#ifndef IOMMUSIM_LIB_BITMAP_H
#define IOMMUSIM_LIB_BITMAP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fault_ctx;

#define BITS_PER_LONG (sizeof(unsigned long) * CHAR_BIT)
#define BITS_TO_LONGS(n) (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define BIT_WORD(n) ((n) / BITS_PER_LONG)
#define BIT_MASK(n) (1UL << ((n) % BITS_PER_LONG))
/* Declare an on-stack / embedded bitmap: DECLARE_BITMAP(map, 128); */
#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]

/* A zeroed bitmap of @nbits bits, or NULL on allocation failure. */
unsigned long *bitmap_alloc(struct fault_ctx *fc, size_t nbits);
void bitmap_free(unsigned long *bm);

static inline void bitmap_set(unsigned long *bm, size_t bit)
{
	bm[BIT_WORD(bit)] |= BIT_MASK(bit);
}

static inline void bitmap_clear(unsigned long *bm, size_t bit)
{
	bm[BIT_WORD(bit)] &= ~BIT_MASK(bit);
}

static inline bool bitmap_test(const unsigned long *bm, size_t bit)
{
	return (bm[BIT_WORD(bit)] & BIT_MASK(bit)) != 0;
}

/* Set the bit and return its previous value (not atomic). */
static inline bool bitmap_test_and_set(unsigned long *bm, size_t bit)
{
	bool old = bitmap_test(bm, bit);

	bitmap_set(bm, bit);
	return old;
}

static inline bool bitmap_test_and_clear(unsigned long *bm, size_t bit)
{
	bool old = bitmap_test(bm, bit);

	bitmap_clear(bm, bit);
	return old;
}

/* Set / clear @len bits starting at @start. */
void bitmap_set_range(unsigned long *bm, size_t start, size_t len);
void bitmap_clear_range(unsigned long *bm, size_t start, size_t len);

void bitmap_zero(unsigned long *bm, size_t nbits);
/* Set bits [0, nbits); the tail of the last word stays zero. */
void bitmap_fill(unsigned long *bm, size_t nbits);
void bitmap_copy(unsigned long *dst, const unsigned long *src, size_t nbits);

/* First set / clear bit at or after @start below @nbits; @nbits when none. */
size_t bitmap_find_next_bit(const unsigned long *bm, size_t nbits, size_t start);
size_t bitmap_find_next_zero_bit(const unsigned long *bm, size_t nbits, size_t start);
static inline size_t bitmap_find_first_bit(const unsigned long *bm, size_t nbits)
{
	return bitmap_find_next_bit(bm, nbits, 0);
}
static inline size_t bitmap_find_first_zero_bit(const unsigned long *bm, size_t nbits)
{
	return bitmap_find_next_zero_bit(bm, nbits, 0);
}

/*
 * First run of @len clear bits at or after @start that fits below @nbits and
 * whose first bit is a multiple of @align (a power of two, 0 or 1 for none).
 * Returns its first bit, or @nbits when none (and always for len == 0).
 */
size_t bitmap_find_next_zero_area(const unsigned long *bm, size_t nbits, size_t start, size_t len,
				  size_t align);

/* Number of set bits in [0, nbits). */
size_t bitmap_weight(const unsigned long *bm, size_t nbits);
bool bitmap_empty(const unsigned long *bm, size_t nbits);
bool bitmap_full(const unsigned long *bm, size_t nbits);

#define bitmap_for_each_set_bit(bit, bm, nbits)                           \
	for ((bit) = bitmap_find_next_bit(bm, nbits, 0); (bit) < (nbits); \
	     (bit) = bitmap_find_next_bit(bm, nbits, (bit) + 1))

#endif /* IOMMUSIM_LIB_BITMAP_H */
