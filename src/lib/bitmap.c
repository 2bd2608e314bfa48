// SPDX-License-Identifier: MIT
/*
 * Word bitmaps (see bitmap.h). Range operations work a word at a time: a
 * partial first word, whole middle words, a partial last word. Searches
 * complement the word for zero-bit searches and mask off bits below the
 * start and at or above nbits, so stray tail bits never leak into results.
 */
#include <string.h>

#include <iommusim/fault.h>

#include "bitmap.h"
#include "util.h"

/* Bits [b, BITS_PER_LONG) of a word. */
static inline unsigned long mask_from(size_t b)
{
	return ~0UL << (b % BITS_PER_LONG);
}

/* Bits [0, b % BITS_PER_LONG) of a word, all bits when b is a word multiple. */
static inline unsigned long mask_below_end(size_t b)
{
	size_t r = b % BITS_PER_LONG;

	return r ? ~0UL >> (BITS_PER_LONG - r) : ~0UL;
}

unsigned long *bitmap_alloc(struct fault_ctx *fc, size_t nbits)
{
	size_t words = BITS_TO_LONGS(nbits);

	return fault_calloc(fc, "bitmap.alloc", words ? words : 1, sizeof(unsigned long));
}

void bitmap_free(unsigned long *bm)
{
	fault_free(bm);
}

static void range_op(unsigned long *bm, size_t start, size_t len, bool set)
{
	size_t w, wlast, end;
	unsigned long m;

	if (!len)
		return;
	end = start + len; /* exclusive; callers keep it within the map */
	w = BIT_WORD(start);
	wlast = BIT_WORD(end - 1);
	for (; w <= wlast; w++) {
		m = ~0UL;
		if (w == BIT_WORD(start))
			m &= mask_from(start);
		if (w == wlast)
			m &= mask_below_end(end);
		if (set)
			bm[w] |= m;
		else
			bm[w] &= ~m;
	}
}

void bitmap_set_range(unsigned long *bm, size_t start, size_t len)
{
	range_op(bm, start, len, true);
}

void bitmap_clear_range(unsigned long *bm, size_t start, size_t len)
{
	range_op(bm, start, len, false);
}

void bitmap_zero(unsigned long *bm, size_t nbits)
{
	memset(bm, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

void bitmap_fill(unsigned long *bm, size_t nbits)
{
	size_t words = BITS_TO_LONGS(nbits);

	if (!words)
		return;
	memset(bm, 0xff, words * sizeof(unsigned long));
	bm[words - 1] &= mask_below_end(nbits);
}

void bitmap_copy(unsigned long *dst, const unsigned long *src, size_t nbits)
{
	memcpy(dst, src, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

static size_t find_next(const unsigned long *bm, size_t nbits, size_t start, unsigned long invert)
{
	size_t w, words = BITS_TO_LONGS(nbits);
	unsigned long v;

	if (start >= nbits)
		return nbits;
	w = BIT_WORD(start);
	v = (bm[w] ^ invert) & mask_from(start);
	for (;;) {
		if (w == words - 1)
			v &= mask_below_end(nbits);
		if (v) {
			size_t bit = w * BITS_PER_LONG + (size_t)__builtin_ctzl(v);

			return bit < nbits ? bit : nbits;
		}
		if (++w >= words)
			return nbits;
		v = bm[w] ^ invert;
	}
}

size_t bitmap_find_next_bit(const unsigned long *bm, size_t nbits, size_t start)
{
	return find_next(bm, nbits, start, 0);
}

size_t bitmap_find_next_zero_bit(const unsigned long *bm, size_t nbits, size_t start)
{
	return find_next(bm, nbits, start, ~0UL);
}

size_t bitmap_find_next_zero_area(const unsigned long *bm, size_t nbits, size_t start, size_t len,
				  size_t align)
{
	size_t mask = align > 1 ? align - 1 : 0;

	if (!len)
		return nbits;
	for (;;) {
		size_t first = bitmap_find_next_zero_bit(bm, nbits, start), aligned, busy;

		if (first >= nbits)
			return nbits;
		if (check_add_overflow(first, mask, &aligned))
			return nbits;
		aligned &= ~mask;
		if (aligned >= nbits || len > nbits - aligned)
			return nbits;
		busy = bitmap_find_next_bit(bm, aligned + len, aligned);
		if (busy >= aligned + len)
			return aligned;
		start = busy + 1;
	}
}

size_t bitmap_weight(const unsigned long *bm, size_t nbits)
{
	size_t w, words = BITS_TO_LONGS(nbits), total = 0;

	for (w = 0; w < words; w++) {
		unsigned long v = bm[w];

		if (w == words - 1)
			v &= mask_below_end(nbits);
		total += (size_t)__builtin_popcountl(v);
	}
	return total;
}

bool bitmap_empty(const unsigned long *bm, size_t nbits)
{
	return bitmap_find_next_bit(bm, nbits, 0) >= nbits;
}

bool bitmap_full(const unsigned long *bm, size_t nbits)
{
	return bitmap_find_next_zero_bit(bm, nbits, 0) >= nbits;
}
