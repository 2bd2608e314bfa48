// SPDX-License-Identifier: MIT
/*
 * Interval tree tests: random insert/remove/overlap queries checked against
 * a brute-force array, the red-black and augmentation invariants checked
 * after every operation, and span iteration checked against a coverage
 * bitmap over a 64-address universe placed at 0 and at the top of the
 * address space (so UINT64_MAX edges are exercised).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "lib/itree.h"
#include "lib_test_rng.h"

#define POOL 300

struct item {
	struct itree_node node;
	bool in;
};

static uint64_t pick_coord(struct trng *r)
{
	switch (trng_below(r, 8)) {
	case 0:
		return UINT64_MAX - trng_below(r, 64);
	case 1:
		return trng_next(r);
	default:
		return trng_below(r, 1000);
	}
}

static void pick_range(struct trng *r, uint64_t *start, uint64_t *last)
{
	uint64_t a = pick_coord(r), b;

	/* Mostly short ranges so the small universe has real overlap structure. */
	if (trng_below(r, 4) == 0)
		b = pick_coord(r);
	else if (__builtin_add_overflow(a, trng_below(r, 40), &b))
		b = UINT64_MAX;
	*start = a < b ? a : b;
	*last = a < b ? b : a;
}

static void check_query(struct itree_root *root, struct item *pool, uint64_t s, uint64_t l,
			uint64_t seed, int op)
{
	bool seen[POOL] = { 0 };
	struct itree_node *n;
	uint64_t prev_start = 0;
	int got = 0, want = 0;

	itree_for_each (n, root, s, l) {
		struct item *it = (struct item *)n;
		long idx = it - pool;

		cr_assert(idx >= 0 && idx < POOL && it->in, "seed %llu op %d: bogus node",
			  (unsigned long long)seed, op);
		cr_assert(!seen[idx], "seed %llu op %d: node twice", (unsigned long long)seed, op);
		cr_assert(n->start <= l && n->last >= s,
			  "seed %llu op %d: [%llx,%llx] does not overlap [%llx,%llx]",
			  (unsigned long long)seed, op, (unsigned long long)n->start,
			  (unsigned long long)n->last, (unsigned long long)s,
			  (unsigned long long)l);
		cr_assert(n->start >= prev_start, "seed %llu op %d: not in start order",
			  (unsigned long long)seed, op);
		prev_start = n->start;
		seen[idx] = true;
		got++;
	}
	for (int i = 0; i < POOL; i++) {
		if (pool[i].in && pool[i].node.start <= l && pool[i].node.last >= s) {
			want++;
			cr_assert(seen[i],
				  "seed %llu op %d: missed node %d [%llx,%llx] for [%llx,%llx]",
				  (unsigned long long)seed, op, i,
				  (unsigned long long)pool[i].node.start,
				  (unsigned long long)pool[i].node.last, (unsigned long long)s,
				  (unsigned long long)l);
		}
	}
	cr_assert_eq(got, want, "seed %llu op %d", (unsigned long long)seed, op);
}

static void random_ops(uint64_t seed)
{
	struct trng r = { seed };
	struct itree_root root = ITREE_ROOT_INIT;
	struct item *pool = calloc(POOL, sizeof(*pool));
	int count = 0;

	cr_assert_not_null(pool);
	for (int op = 0; op < 2000; op++) {
		unsigned int kind = (unsigned int)trng_below(&r, 10);
		struct item *it = &pool[trng_below(&r, POOL)];

		if (kind < 4) {
			if (!it->in) {
				pick_range(&r, &it->node.start, &it->node.last);
				itree_insert(&root, &it->node);
				it->in = true;
				count++;
			}
		} else if (kind < 7) {
			if (it->in) {
				itree_remove(&root, &it->node);
				it->in = false;
				count--;
			}
		} else {
			uint64_t s, l;

			pick_range(&r, &s, &l);
			check_query(&root, pool, s, l, seed, op);
		}
		cr_assert_eq(itree_check(&root), count, "seed %llu op %d: invariants broken",
			     (unsigned long long)seed, op);
		cr_assert_eq(itree_empty(&root), count == 0, "seed %llu op %d",
			     (unsigned long long)seed, op);
	}
	/* Whole-space query and a full in-order walk, then drain. */
	check_query(&root, pool, 0, UINT64_MAX, seed, -1);
	for (int i = 0; i < POOL; i++) {
		if (pool[i].in) {
			itree_remove(&root, &pool[i].node);
			pool[i].in = false;
			count--;
			cr_assert_eq(itree_check(&root), count, "seed %llu drain",
				     (unsigned long long)seed);
		}
	}
	cr_assert(itree_empty(&root));
	free(pool);
}

Test(itree, random_ops_seeds)
{
	static const uint64_t seeds[] = { 1, 2, 3, 42, 0xdeadbeef, 12345678901ULL };

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		random_ops(seeds[i]);
}

Test(itree, equal_starts_keep_insertion_order)
{
	struct itree_root root;
	struct itree_node n[50];
	struct itree_node *it;
	int i = 0;

	itree_init(&root);
	for (int k = 0; k < 50; k++) {
		n[k].start = 7;
		n[k].last = 7 + (uint64_t)(k % 5);
		itree_insert(&root, &n[k]);
	}
	cr_assert_eq(itree_check(&root), 50);
	itree_for_each (it, &root, 0, UINT64_MAX) {
		cr_assert_eq(it, &n[i], "position %d", i);
		i++;
	}
	cr_assert_eq(i, 50);
	i = 0;
	itree_for_each (it, &root, 11, 11)
		i++;
	cr_assert_eq(i, 10); /* last == 11 for k % 5 == 4 */
}

Test(itree, top_of_address_space)
{
	struct itree_root root = ITREE_ROOT_INIT;
	struct itree_node all = { .start = 0, .last = UINT64_MAX };
	struct itree_node top = { .start = UINT64_MAX, .last = UINT64_MAX };
	struct itree_node *it;
	int c = 0;

	itree_insert(&root, &all);
	itree_insert(&root, &top);
	itree_for_each (it, &root, UINT64_MAX, UINT64_MAX)
		c++;
	cr_assert_eq(c, 2);
	cr_assert_eq(itree_iter_first(&root, 5, 5), &all);
	cr_assert_null(itree_iter_next(&all, 5, 5));
	itree_remove(&root, &all);
	cr_assert_null(itree_iter_first(&root, 0, UINT64_MAX - 1));
	cr_assert_eq(itree_iter_first(&root, 0, UINT64_MAX), &top);
	itree_remove(&root, &top);
	cr_assert(itree_empty(&root));
}

/* Spans ------------------------------------------------------------------ */

struct exp_span {
	bool hole;
	uint64_t start, last;
};

/* Expected spans of [a, b] (offsets in the 64-address universe at base). */
static int expected_spans(uint64_t cover, uint64_t base, unsigned int a, unsigned int b,
			  struct exp_span *out)
{
	int n = 0;

	for (unsigned int i = a; i <= b; i++) {
		bool hole = !((cover >> i) & 1);

		if (n && out[n - 1].hole == hole) {
			out[n - 1].last = base + i;
		} else {
			out[n].hole = hole;
			out[n].start = out[n].last = base + i;
			n++;
		}
	}
	return n;
}

static void check_spans(struct itree_root *root, uint64_t cover, uint64_t base, unsigned int a,
			unsigned int b, uint64_t seed, int round)
{
	struct exp_span exp[64];
	struct itree_span span;
	int n = expected_spans(cover, base, a, b, exp), i = 0;

	itree_for_each_span (&span, root, base + a, base + b) {
		cr_assert(i < n, "seed %llu round %d: extra span", (unsigned long long)seed, round);
		cr_assert_eq(span.is_hole, exp[i].hole, "seed %llu round %d span %d kind",
			     (unsigned long long)seed, round, i);
		if (span.is_hole) {
			cr_assert(span.start_hole == exp[i].start && span.last_hole == exp[i].last,
				  "seed %llu round %d span %d: hole [%llx,%llx] want [%llx,%llx]",
				  (unsigned long long)seed, round, i,
				  (unsigned long long)span.start_hole,
				  (unsigned long long)span.last_hole,
				  (unsigned long long)exp[i].start,
				  (unsigned long long)exp[i].last);
		} else {
			cr_assert(span.start_used == exp[i].start && span.last_used == exp[i].last,
				  "seed %llu round %d span %d: used [%llx,%llx] want [%llx,%llx]",
				  (unsigned long long)seed, round, i,
				  (unsigned long long)span.start_used,
				  (unsigned long long)span.last_used,
				  (unsigned long long)exp[i].start,
				  (unsigned long long)exp[i].last);
		}
		i++;
	}
	cr_assert_eq(i, n, "seed %llu round %d: %d spans, want %d", (unsigned long long)seed, round,
		     i, n);
}

static void random_spans(uint64_t seed, uint64_t base)
{
	struct trng r = { seed };
	struct itree_node nodes[8];

	for (int round = 0; round < 400; round++) {
		struct itree_root root = ITREE_ROOT_INIT;
		uint64_t cover = 0;
		int k = (int)trng_below(&r, 8);

		for (int j = 0; j < k; j++) {
			unsigned int s = (unsigned int)trng_below(&r, 64);
			unsigned int l =
				s + (unsigned int)trng_below(&r, 64 - s < 12 ? 64 - s : 12);

			nodes[j].start = base + s;
			nodes[j].last = base + l;
			cover |= (l - s == 63 ? UINT64_MAX : ((UINT64_C(1) << (l - s + 1)) - 1))
				 << s;
			itree_insert(&root, &nodes[j]);
		}
		unsigned int a = (unsigned int)trng_below(&r, 64);
		unsigned int b = a + (unsigned int)trng_below(&r, 64 - a);

		check_spans(&root, cover, base, a, b, seed, round);
		check_spans(&root, cover, base, 0, 63, seed, round);
	}
}

Test(itree, span_random_low)
{
	random_spans(7, 0);
	random_spans(99, 0);
	random_spans(2024, 1000);
}

Test(itree, span_random_top)
{
	random_spans(7, UINT64_MAX - 63);
	random_spans(31337, UINT64_MAX - 63);
}

Test(itree, span_edges)
{
	struct itree_root root = ITREE_ROOT_INIT;
	struct itree_node a = { .start = 0, .last = 9 }, b = { .start = 10, .last = 19 };
	struct itree_node c = { .start = UINT64_MAX - 1, .last = UINT64_MAX };
	struct itree_node all = { .start = 0, .last = UINT64_MAX };
	struct itree_span s;
	int n = 0;

	/* Empty tree: one hole over everything. */
	itree_for_each_span (&s, &root, 0, UINT64_MAX) {
		cr_assert(s.is_hole && s.start_hole == 0 && s.last_hole == UINT64_MAX);
		n++;
	}
	cr_assert_eq(n, 1);

	/* Touching nodes merge; the top node ends the walk exactly at UINT64_MAX. */
	itree_insert(&root, &a);
	itree_insert(&root, &b);
	itree_insert(&root, &c);
	itree_span_first(&s, &root, 0, UINT64_MAX);
	cr_assert(!s.is_hole && s.start_used == 0 && s.last_used == 19);
	itree_span_next(&s);
	cr_assert(s.is_hole && s.start_hole == 20 && s.last_hole == UINT64_MAX - 2);
	itree_span_next(&s);
	cr_assert(!s.is_hole && s.start_used == UINT64_MAX - 1 && s.last_used == UINT64_MAX);
	itree_span_next(&s);
	cr_assert(itree_span_done(&s));
	itree_span_next(&s); /* stays done */
	cr_assert(itree_span_done(&s));

	/* Single address query at the very top. */
	n = 0;
	itree_for_each_span (&s, &root, UINT64_MAX, UINT64_MAX) {
		cr_assert(!s.is_hole && s.start_used == UINT64_MAX && s.last_used == UINT64_MAX);
		n++;
	}
	cr_assert_eq(n, 1);

	/* A node covering everything: one used span, clipped to the query. */
	itree_insert(&root, &all);
	n = 0;
	itree_for_each_span (&s, &root, 5, 500) {
		cr_assert(!s.is_hole && s.start_used == 5 && s.last_used == 500);
		n++;
	}
	cr_assert_eq(n, 1);
	cr_assert_eq(itree_check(&root), 4);
}
