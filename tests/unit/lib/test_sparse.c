// SPDX-License-Identifier: MIT
/*
 * Sparse array tests: random store/erase/load/find/range operations checked
 * against a brute-force reference (an unsorted array of pairs) with the
 * structural invariants checked after every operation; all-or-nothing
 * behaviour of sparse_store_range() and sparse_reserve() under every
 * possible Nth allocation failure; reservations making later stores
 * infallible even with every allocation failing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include <iommusim/fault.h>

#include "lib/sparse.h"
#include "lib_test_rng.h"

#define REF_MAX 4096

struct ref {
	uint64_t idx[REF_MAX], val[REF_MAX];
	int n;
};

static int ref_pos(const struct ref *r, uint64_t i)
{
	for (int k = 0; k < r->n; k++)
		if (r->idx[k] == i)
			return k;
	return -1;
}

static uint64_t ref_load(const struct ref *r, uint64_t i)
{
	int k = ref_pos(r, i);

	return k < 0 ? 0 : r->val[k];
}

static void ref_erase(struct ref *r, uint64_t i)
{
	int k = ref_pos(r, i);

	if (k >= 0) {
		r->n--;
		r->idx[k] = r->idx[r->n];
		r->val[k] = r->val[r->n];
	}
}

static void ref_store(struct ref *r, uint64_t i, uint64_t v)
{
	int k = ref_pos(r, i);

	if (!v) {
		ref_erase(r, i);
	} else if (k >= 0) {
		r->val[k] = v;
	} else {
		cr_assert(r->n < REF_MAX);
		r->idx[r->n] = i;
		r->val[r->n] = v;
		r->n++;
	}
}

/* Smallest reference index in [first, last], or false. */
static bool ref_find(const struct ref *r, uint64_t first, uint64_t last, uint64_t *out)
{
	bool any = false;

	for (int k = 0; k < r->n; k++) {
		if (r->idx[k] >= first && r->idx[k] <= last && (!any || r->idx[k] < *out)) {
			*out = r->idx[k];
			any = true;
		}
	}
	return any;
}

static uint64_t pick_index(struct trng *t)
{
	switch (trng_below(t, 10)) {
	case 0:
		return UINT64_MAX - trng_below(t, 200);
	case 1:
		return trng_next(t);
	case 2:
		return (UINT64_C(1) << (6 * (1 + trng_below(t, 10)))) - 100 + trng_below(t, 200);
	default:
		return trng_below(t, 3000);
	}
}

static uint64_t pick_value(struct trng *t)
{
	return trng_next(t) | 1;
}

/* Compare everything observable with the reference. */
static void compare_all(const struct sparse_array *sa, const struct ref *r, uint64_t seed, int op)
{
	uint64_t i, v;
	int n = 0;

	cr_assert_eq(sparse_check(sa), 0, "seed %llu op %d: invariants", (unsigned long long)seed,
		     op);
	cr_assert_eq(sparse_count(sa), (uint64_t)r->n, "seed %llu op %d: count",
		     (unsigned long long)seed, op);
	cr_assert_eq(sparse_empty(sa), r->n == 0);
	sparse_for_each(sa, i, v, 0, UINT64_MAX)
	{
		cr_assert_eq(v, ref_load(r, i), "seed %llu op %d: index %llx",
			     (unsigned long long)seed, op, (unsigned long long)i);
		n++;
	}
	cr_assert_eq(n, r->n, "seed %llu op %d: iteration count", (unsigned long long)seed, op);
}

static void random_ops(uint64_t seed, int ops)
{
	struct trng t = { seed };
	struct sparse_array sa;
	struct ref *r = calloc(1, sizeof(*r));
	uint64_t vals[300];

	cr_assert_not_null(r);
	sparse_init(&sa, NULL);
	for (int op = 0; op < ops; op++) {
		unsigned int kind = (unsigned int)trng_below(&t, 20);
		uint64_t i = pick_index(&t), j, v, got;

		if (kind < 7) {
			v = pick_value(&t);
			cr_assert_eq(sparse_store(&sa, i, v), 0);
			ref_store(r, i, v);
		} else if (kind < 10) {
			/* Erase a present index half the time, a random one otherwise. */
			if (r->n && trng_below(&t, 2))
				i = r->idx[trng_below(&t, (uint64_t)r->n)];
			cr_assert_eq(sparse_erase(&sa, i), ref_load(r, i),
				     "seed %llu op %d: erase %llx", (unsigned long long)seed, op,
				     (unsigned long long)i);
			ref_erase(r, i);
		} else if (kind < 13) {
			cr_assert_eq(sparse_load(&sa, i), ref_load(r, i),
				     "seed %llu op %d: load %llx", (unsigned long long)seed, op,
				     (unsigned long long)i);
		} else if (kind < 16) {
			uint64_t last = trng_below(&t, 4) ? i + trng_below(&t, 5000) : UINT64_MAX;
			uint64_t idx = i, want = 0;
			bool have;

			if (last < i)
				last = UINT64_MAX;
			have = ref_find(r, i, last, &want);
			got = sparse_find(&sa, &idx, last);
			cr_assert_eq(got != 0, have, "seed %llu op %d: find [%llx,%llx]",
				     (unsigned long long)seed, op, (unsigned long long)i,
				     (unsigned long long)last);
			if (have) {
				cr_assert_eq(idx, want, "seed %llu op %d", (unsigned long long)seed,
					     op);
				cr_assert_eq(got, ref_load(r, want));
			} else {
				cr_assert_eq(idx, i, "find moved *index on a miss");
			}
		} else if (kind < 18) {
			uint64_t len = trng_below(&t, 300);

			j = i + len < i ? UINT64_MAX : i + len;
			for (uint64_t k = 0; k <= j - i; k++)
				vals[k] = trng_below(&t, 8) ? pick_value(&t) : 0;
			cr_assert_eq(sparse_store_range(&sa, i, j, vals), 0);
			for (uint64_t k = 0; k <= j - i; k++)
				ref_store(r, i + k, vals[k]);
		} else {
			uint64_t len = trng_below(&t, 4) ? trng_below(&t, 500) : trng_next(&t);

			j = i + len < i ? UINT64_MAX : i + len;
			sparse_erase_range(&sa, i, j);
			for (int k = r->n - 1; k >= 0; k--)
				if (r->idx[k] >= i && r->idx[k] <= j)
					ref_erase(r, r->idx[k]);
		}
		if (op % 16 == 0 || kind >= 16)
			compare_all(&sa, r, seed, op);
		else
			cr_assert_eq(sparse_count(&sa), (uint64_t)r->n);
	}
	compare_all(&sa, r, seed, ops);
	/* Drain through erase so emptiness frees every node (checked by sparse_check). */
	while (r->n) {
		uint64_t i = r->idx[0];

		cr_assert_eq(sparse_erase(&sa, i), r->val[0]);
		ref_erase(r, i);
	}
	compare_all(&sa, r, seed, -1);
	cr_assert_null(sa.root, "seed %llu: nodes left after draining", (unsigned long long)seed);
	sparse_destroy(&sa);
	free(r);
}

Test(sparse, random_ops_seeds)
{
	static const uint64_t seeds[] = { 1, 5, 77, 0xfeedface, 987654321ULL };

	for (size_t k = 0; k < sizeof(seeds) / sizeof(seeds[0]); k++)
		random_ops(seeds[k], 2000);
}

Test(sparse, destroy_frees_populated)
{
	struct sparse_array sa;

	sparse_init(&sa, NULL);
	for (uint64_t i = 0; i < 5000; i += 7)
		cr_assert_eq(sparse_store(&sa, i * 0x10001, i + 1), 0);
	cr_assert_eq(sparse_store(&sa, UINT64_MAX, 3), 0);
	cr_assert_eq(sparse_load(&sa, UINT64_MAX), 3);
	cr_assert_eq(sparse_check(&sa), 0);
	sparse_destroy(&sa); /* LSan reports anything left behind */
	cr_assert(sparse_empty(&sa));
}

Test(sparse, find_edges)
{
	struct sparse_array sa;
	uint64_t i, v;
	int n = 0;

	sparse_init(&sa, NULL);
	cr_assert_eq(sparse_store(&sa, 0, 10), 0);
	cr_assert_eq(sparse_store(&sa, UINT64_MAX, 20), 0);
	cr_assert_eq(sparse_store(&sa, UINT64_MAX - 64, 30), 0);
	i = 1;
	cr_assert_eq(sparse_find(&sa, &i, UINT64_MAX - 1), 30);
	cr_assert_eq(i, UINT64_MAX - 64);
	i = UINT64_MAX;
	cr_assert_eq(sparse_find(&sa, &i, UINT64_MAX), 20);
	cr_assert_eq(sparse_find_after(&sa, &i, UINT64_MAX), 0);
	i = 5;
	cr_assert_eq(sparse_find(&sa, &i, 4), 0, "first > last finds nothing");
	sparse_for_each(&sa, i, v, 0, UINT64_MAX) n++;
	cr_assert_eq(n, 3);
	cr_assert_eq(sparse_store(&sa, 7, 0), 0, "storing 0 erases");
	cr_assert_eq(sparse_count(&sa), 3);
	cr_assert_eq(sparse_store_range(&sa, 9, 8, NULL), -EINVAL);
	cr_assert_eq(sparse_reserve(&sa, 9, 8), -EINVAL);
	sparse_erase_range(&sa, 0, UINT64_MAX);
	cr_assert(sparse_empty(&sa));
	cr_assert_null(sa.root);
	sparse_destroy(&sa);
}

/* Fault injection ---------------------------------------------------------- */

static struct fault_ctx *make_fc(void)
{
	struct fault_ctx *fc = NULL;

	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
	cr_assert_not_null(fc);
	return fc;
}

/* Pre-populate a few entries, including ones that force a tall tree. */
static void prefill(struct sparse_array *sa, struct ref *r, int variant)
{
	static const uint64_t idx[] = { 3, 64, 4095, 70000, UINT64_C(1) << 40, UINT64_MAX - 5 };
	int n = variant % 3 == 0 ? 0 : variant % 3 == 1 ? 3 : 6;

	for (int k = 0; k < n; k++) {
		cr_assert_eq(sparse_store(sa, idx[k], idx[k] + 1), 0);
		ref_store(r, idx[k], idx[k] + 1);
	}
}

/* Store ranges under every Nth allocation failure until the call completes. */
static void store_range_nth(uint64_t first, uint64_t last, int variant)
{
	struct fault_ctx *fc = make_fc();
	struct ref *r = calloc(1, sizeof(*r));
	uint64_t *vals = calloc(last - first + 1, sizeof(*vals));
	bool done = false;
	uint64_t failures = 0;

	cr_assert(r && vals);
	for (uint64_t k = 0; k <= last - first; k++)
		vals[k] = (k * 2654435761u) | 1;
	for (uint64_t nth = 1; !done; nth++) {
		struct sparse_array sa;
		bool fired;
		int ret;

		cr_assert(nth < 10000, "no end to failures");
		r->n = 0;
		sparse_init(&sa, fc);
		prefill(&sa, r, variant);
		fault_set_nth(fc, nth);
		ret = sparse_store_range(&sa, first, last, vals);
		fired = fault_nth_fired(fc);
		fault_disarm(fc);
		if (ret == 0) {
			cr_assert(!fired, "variant %d nth %llu: success after failure", variant,
				  (unsigned long long)nth);
			for (uint64_t k = 0; k <= last - first; k++)
				ref_store(r, first + k, vals[k]);
			done = true;
		} else {
			cr_assert_eq(ret, -ENOMEM);
			cr_assert(fired);
			failures++;
		}
		/* Either everything changed or nothing did. */
		compare_all(&sa, r, (uint64_t)variant, (int)nth);
		for (uint64_t k = 0; k <= last - first; k++)
			cr_assert_eq(sparse_load(&sa, first + k), ref_load(r, first + k));
		sparse_destroy(&sa);
	}
	/* From an empty array every range needs nodes, so the sweep must have failed. */
	if (variant == 0)
		cr_assert(failures >= 1, "variant %d: injection never fired", variant);
	free(vals);
	free(r);
	fault_ctx_destroy(fc);
}

Test(sparse, store_range_all_or_nothing)
{
	for (int variant = 0; variant < 3; variant++) {
		store_range_nth(0, 10, variant);
		store_range_nth(60, 200, variant);
		store_range_nth(4000, 4200, variant);
		store_range_nth((UINT64_C(1) << 36) - 70, (UINT64_C(1) << 36) + 70, variant);
		store_range_nth(UINT64_MAX - 130, UINT64_MAX, variant);
	}
}

Test(sparse, store_and_reserve_nth)
{
	struct fault_ctx *fc = make_fc();

	/* Single store: fails cleanly at every allocation of a tall path. */
	for (uint64_t nth = 1;; nth++) {
		struct sparse_array sa;
		int ret;

		sparse_init(&sa, fc);
		cr_assert_eq(sparse_store(&sa, 1, 1), 0);
		fault_set_nth(fc, nth);
		ret = sparse_store(&sa, UINT64_MAX - 1, 9);
		fault_disarm(fc);
		cr_assert_eq(sparse_check(&sa), 0);
		if (ret == 0) {
			cr_assert_eq(sparse_load(&sa, UINT64_MAX - 1), 9);
			/* Height 1 -> 11: ten new roots plus a path of ten nodes. */
			cr_assert_eq(nth, 21, "allocations for a tall store: %llu",
				     (unsigned long long)nth - 1);
			sparse_destroy(&sa);
			break;
		}
		cr_assert_eq(ret, -ENOMEM);
		cr_assert_eq(sparse_count(&sa), 1);
		cr_assert_eq(sparse_load(&sa, 1), 1);
		cr_assert_eq(sa.height, 1, "growth not undone");
		sparse_destroy(&sa);
	}

	/* Reserve: fails cleanly too, leaving no reservation or node behind. */
	for (uint64_t nth = 1;; nth++) {
		struct sparse_array sa;
		int ret;

		sparse_init(&sa, fc);
		fault_set_nth(fc, nth);
		ret = sparse_reserve(&sa, 100, 100000);
		fault_disarm(fc);
		if (ret == 0) {
			cr_assert_eq(sparse_check(&sa), 0);
			cr_assert_gt(nth, 10, "reserve of 100k slots allocates many nodes");
			sparse_destroy(&sa);
			break;
		}
		cr_assert_eq(ret, -ENOMEM);
		cr_assert_null(sa.root);
		sparse_destroy(&sa);
	}
	fault_ctx_destroy(fc);
}

Test(sparse, reserve_then_store_cannot_fail)
{
	struct fault_ctx *fc = make_fc();
	struct sparse_array sa;
	uint64_t vals[100];
	uint64_t first = (UINT64_C(1) << 30) - 1000, last = (UINT64_C(1) << 30) + 1000;

	for (int k = 0; k < 100; k++)
		vals[k] = (uint64_t)k + 1;
	sparse_init(&sa, fc);
	cr_assert_eq(sparse_reserve(&sa, first, last), 0);
	cr_assert_eq(sparse_reserve(&sa, UINT64_MAX - 3, UINT64_MAX), 0);
	cr_assert_eq(sparse_check(&sa), 0);
	cr_assert(sparse_empty(&sa), "reservations are not entries");
	cr_assert_eq(sparse_load(&sa, first), 0);

	/* From here every allocation fails. */
	fault_set_probability(fc, 1000000, 1);
	for (uint64_t i = first; i <= last; i += 3)
		cr_assert_eq(sparse_store(&sa, i, i), 0, "store %llx in reserved range",
			     (unsigned long long)i);
	cr_assert_eq(sparse_store_range(&sa, first + 1, first + 100, vals), 0);
	cr_assert_eq(sparse_store(&sa, UINT64_MAX, 5), 0);
	cr_assert_eq(sparse_store(&sa, first - 10000, 1), -ENOMEM, "outside: allocation needed");
	cr_assert_eq(sparse_store_range(&sa, last - 10, last + 100, vals), -ENOMEM);
	/* The failed range left the earlier strided stores in it untouched. */
	for (uint64_t i = last - 10; i <= last; i++)
		cr_assert_eq(sparse_load(&sa, i), (i - first) % 3 ? 0 : i);
	cr_assert_eq(sparse_load(&sa, last + 1), 0, "failed range left nothing");
	cr_assert_eq(sparse_check(&sa), 0);

	/* Storing a value keeps the reservation: erase-free overwrite stays infallible. */
	cr_assert_eq(sparse_store(&sa, first + 1, 77), 0);
	/* Erasing drops it; erase itself never allocates. */
	cr_assert_eq(sparse_erase(&sa, first + 2), 2);
	fault_disarm(fc);

	/* Release drops the remaining reservations; values stay; empty leaves go. */
	uint64_t before = sparse_count(&sa);

	sparse_release(&sa, 0, UINT64_MAX);
	cr_assert_eq(sparse_count(&sa), before);
	cr_assert_eq(sparse_load(&sa, first + 1), 77);
	cr_assert_eq(sparse_check(&sa), 0);
	sparse_erase_range(&sa, 0, UINT64_MAX);
	cr_assert_null(sa.root, "released and erased: no node left");
	sparse_destroy(&sa);
	fault_ctx_destroy(fc);
}

Test(sparse, release_frees_unused_reservation)
{
	struct sparse_array sa;

	sparse_init(&sa, NULL);
	cr_assert_eq(sparse_reserve(&sa, 0, 1 << 20), 0);
	cr_assert_not_null(sa.root);
	cr_assert_eq(sparse_store(&sa, 12345, 1), 0);
	sparse_release(&sa, 0, 1 << 20);
	cr_assert_eq(sparse_check(&sa), 0);
	cr_assert_eq(sparse_load(&sa, 12345), 1);
	cr_assert_eq(sparse_erase(&sa, 12345), 1);
	cr_assert_null(sa.root);
	/* A reservation alone keeps its leaf until the slot is erased. */
	cr_assert_eq(sparse_reserve(&sa, 9, 9), 0);
	cr_assert_not_null(sa.root);
	cr_assert_eq(sparse_erase(&sa, 9), 0);
	cr_assert_null(sa.root);
	sparse_destroy(&sa);
}
