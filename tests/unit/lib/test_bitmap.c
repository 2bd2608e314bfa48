// SPDX-License-Identifier: MIT
/*
 * Bitmap tests: random single-bit and range operations on sizes around word
 * boundaries, every query checked against a bool array; allocation failure.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include <iommusim/fault.h>

#include "lib/bitmap.h"
#include "lib_test_rng.h"

static size_t ref_next(const bool *ref, size_t nbits, size_t start, bool val)
{
	for (size_t i = start; i < nbits; i++)
		if (ref[i] == val)
			return i;
	return nbits;
}

static size_t ref_zero_area(const bool *ref, size_t nbits, size_t start, size_t len, size_t align)
{
	size_t a = align > 1 ? align : 1;

	if (!len)
		return nbits;

	for (size_t i = (start + a - 1) / a * a; i + len <= nbits; i += a) {
		bool ok = true;

		for (size_t k = 0; k < len && ok; k++)
			ok = !ref[i + k];
		if (ok)
			return i;
	}
	return nbits;
}

static void check_all(const unsigned long *bm, const bool *ref, size_t nbits, uint64_t seed, int op)
{
	size_t w = 0;

	for (size_t i = 0; i < nbits; i++) {
		cr_assert_eq(bitmap_test(bm, i), ref[i], "seed %llu op %d bit %zu",
			     (unsigned long long)seed, op, i);
		w += ref[i];
	}
	cr_assert_eq(bitmap_weight(bm, nbits), w, "seed %llu op %d weight",
		     (unsigned long long)seed, op);
	cr_assert_eq(bitmap_empty(bm, nbits), w == 0);
	cr_assert_eq(bitmap_full(bm, nbits), w == nbits);
	/* Bits past nbits in the last word stay clear. */
	if (nbits % BITS_PER_LONG)
		cr_assert_eq(bm[BIT_WORD(nbits)] >> (nbits % BITS_PER_LONG), 0UL,
			     "seed %llu op %d: tail bits set", (unsigned long long)seed, op);
}

static void random_ops(uint64_t seed, size_t nbits)
{
	struct trng t = { seed };
	unsigned long *bm = bitmap_alloc(NULL, nbits);
	bool *ref = calloc(nbits + 1, sizeof(bool));

	cr_assert(bm && ref);
	cr_assert(bitmap_empty(bm, nbits));
	for (int op = 0; op < 1500; op++) {
		unsigned int kind = (unsigned int)trng_below(&t, 10);
		size_t a = (size_t)trng_below(&t, nbits);
		size_t len = (size_t)trng_below(&t, nbits - a + 1);

		switch (kind) {
		case 0:
			bitmap_set(bm, a);
			ref[a] = true;
			break;
		case 1:
			bitmap_clear(bm, a);
			ref[a] = false;
			break;
		case 2:
			cr_assert_eq(bitmap_test_and_set(bm, a), ref[a]);
			ref[a] = true;
			break;
		case 3:
			cr_assert_eq(bitmap_test_and_clear(bm, a), ref[a]);
			ref[a] = false;
			break;
		case 4:
			bitmap_set_range(bm, a, len);
			for (size_t k = 0; k < len; k++)
				ref[a + k] = true;
			break;
		case 5:
			bitmap_clear_range(bm, a, len);
			for (size_t k = 0; k < len; k++)
				ref[a + k] = false;
			break;
		case 6: {
			size_t s = (size_t)trng_below(&t, nbits + 2);

			cr_assert_eq(bitmap_find_next_bit(bm, nbits, s),
				     ref_next(ref, nbits, s, true),
				     "seed %llu op %d next_bit from %zu", (unsigned long long)seed,
				     op, s);
			cr_assert_eq(bitmap_find_next_zero_bit(bm, nbits, s),
				     ref_next(ref, nbits, s, false),
				     "seed %llu op %d next_zero from %zu", (unsigned long long)seed,
				     op, s);
			break;
		}
		case 7: {
			size_t l = (size_t)trng_below(&t, 20), al = (size_t)1 << trng_below(&t, 4);

			cr_assert_eq(bitmap_find_next_zero_area(bm, nbits, a, l, al),
				     ref_zero_area(ref, nbits, a, l, al),
				     "seed %llu op %d zero_area start %zu len %zu align %zu",
				     (unsigned long long)seed, op, a, l, al);
			break;
		}
		case 8:
			if (trng_below(&t, 8) == 0) {
				bitmap_fill(bm, nbits);
				for (size_t k = 0; k < nbits; k++)
					ref[k] = true;
			}
			break;
		default:
			if (trng_below(&t, 8) == 0) {
				bitmap_zero(bm, nbits);
				for (size_t k = 0; k < nbits; k++)
					ref[k] = false;
			}
			break;
		}
		check_all(bm, ref, nbits, seed, op);
	}

	unsigned long *copy = bitmap_alloc(NULL, nbits);
	size_t bit, n = 0;

	cr_assert_not_null(copy);
	bitmap_copy(copy, bm, nbits);
	check_all(copy, ref, nbits, seed, -1);
	bitmap_for_each_set_bit(bit, copy, nbits)
	{
		cr_assert(ref[bit]);
		n++;
	}
	cr_assert_eq(n, bitmap_weight(bm, nbits));
	bitmap_free(copy);
	bitmap_free(bm);
	free(ref);
}

Test(bitmap, random_sizes)
{
	static const size_t sizes[] = { 1, 5, 63, 64, 65, 127, 128, 129, 200, 1000 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		random_ops(1000 + i, sizes[i]);
}

Test(bitmap, declare_and_edges)
{
	DECLARE_BITMAP(bm, 130);

	bitmap_zero(bm, 130);
	cr_assert_eq(bitmap_find_first_bit(bm, 130), 130);
	cr_assert_eq(bitmap_find_first_zero_bit(bm, 130), 0);
	bitmap_set_range(bm, 0, 130);
	cr_assert(bitmap_full(bm, 130));
	cr_assert_eq(bitmap_find_next_zero_bit(bm, 130, 0), 130);
	cr_assert_eq(bitmap_weight(bm, 130), 130);
	bitmap_clear_range(bm, 63, 2);
	cr_assert_eq(bitmap_find_next_zero_bit(bm, 130, 0), 63);
	cr_assert_eq(bitmap_find_next_bit(bm, 130, 63), 65);
	cr_assert_eq(bitmap_find_next_zero_area(bm, 130, 0, 2, 1), 63);
	cr_assert_eq(bitmap_find_next_zero_area(bm, 130, 0, 2, 2), 130);
	cr_assert_eq(bitmap_find_next_zero_area(bm, 130, 0, 3, 1), 130);
	cr_assert_eq(bitmap_find_next_bit(bm, 130, 500), 130, "start past the end");
	bitmap_set_range(bm, 5, 0); /* empty range is a no-op */
	cr_assert_eq(bitmap_weight(bm, 130), 128);
}

Test(bitmap, alloc_failure)
{
	struct fault_ctx *fc = NULL;
	unsigned long *bm;

	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
	fault_set_nth(fc, 1);
	cr_assert_null(bitmap_alloc(fc, 100));
	fault_disarm(fc);
	bm = bitmap_alloc(fc, 100);
	cr_assert_not_null(bm);
	cr_assert(bitmap_empty(bm, 100));
	bitmap_free(bm);
	bitmap_free(NULL);
	fault_ctx_destroy(fc);
}
