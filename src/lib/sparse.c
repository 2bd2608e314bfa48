// SPDX-License-Identifier: MIT
/*
 * Sparse index array: a 64-way radix tree (see sparse.h for the structure,
 * the invariants and the reservation rules).
 *
 * Heights: a node at height h (1 = leaf) selects its slot with index bits
 * [6(h-1), 6h). A tree of height h covers indices below 2^(6h); height 11
 * covers everything (its top slot uses only 4 bits).
 *
 * Every mutating operation with a failure path works in two phases: first
 * allocate every node it will need (the only step that can fail), then
 * modify values, which cannot fail. On an allocation failure the nodes made
 * so far are still empty, and prune() frees them again together with any
 * root levels added by growth, so the array is exactly as before.
 */
#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>

#include "sparse.h"
#include "util.h"

#define SPARSE_BITS 6
#define SPARSE_SLOTS (1u << SPARSE_BITS)
#define SPARSE_MASK (SPARSE_SLOTS - 1)
#define SPARSE_MAX_HEIGHT 11

struct sparse_node {
	uint64_t present; /* slot holds a value (leaf) or a child (internal) */
	uint64_t reserved; /* leaf only: slot reserved for a future store */
	union {
		struct sparse_node *child[SPARSE_SLOTS];
		uint64_t value[SPARSE_SLOTS];
	};
};

static inline unsigned int shift_of(unsigned int height)
{
	return SPARSE_BITS * (height - 1);
}

static inline unsigned int slot_of(uint64_t index, unsigned int height)
{
	return (unsigned int)(index >> shift_of(height)) & SPARSE_MASK;
}

/* Largest index a tree of this height covers. */
static inline uint64_t height_max(unsigned int height)
{
	if (height == 0)
		return 0;
	if (SPARSE_BITS * height >= 64)
		return UINT64_MAX;
	return (UINT64_C(1) << (SPARSE_BITS * height)) - 1;
}

/* Smallest height covering @index (at least 1). */
static unsigned int height_for(uint64_t index)
{
	unsigned int h = 1;

	while (height_max(h) < index)
		h++;
	return h;
}

/* Span of indices under one slot of a node at @height, minus one. */
static inline uint64_t slot_span_last(unsigned int height)
{
	return height_max(height - 1);
}

/*
 * First and last slot of a node (at @height, covering from @base) that
 * intersect [first, last]; the range must intersect the node. The top node
 * of a height-11 tree has only 16 usable slots, hence clamping to the node's
 * own last index rather than assuming slot 63.
 */
static inline unsigned int slot_lo(uint64_t first, uint64_t base, unsigned int height)
{
	return first <= base ? 0 : slot_of(first, height);
}

static inline unsigned int slot_hi(uint64_t last, uint64_t base, unsigned int height)
{
	uint64_t end = base + height_max(height); /* a node never extends past UINT64_MAX */

	return slot_of(last < end ? last : end, height);
}

static inline bool node_empty(const struct sparse_node *n, unsigned int height)
{
	return !n->present && (height > 1 || !n->reserved);
}

void sparse_init(struct sparse_array *sa, struct fault_ctx *fc)
{
	sa->root = NULL;
	sa->height = 0;
	sa->count = 0;
	sa->fc = fc;
}

static void free_subtree(struct sparse_node *n, unsigned int height)
{
	if (height > 1) {
		uint64_t m = n->present;

		while (m) {
			unsigned int s = (unsigned int)__builtin_ctzll(m);

			m &= m - 1;
			free_subtree(n->child[s], height - 1);
		}
	}
	fault_free(n);
}

void sparse_destroy(struct sparse_array *sa)
{
	if (sa->root)
		free_subtree(sa->root, sa->height);
	sa->root = NULL;
	sa->height = 0;
	sa->count = 0;
}

static struct sparse_node *node_alloc(struct sparse_array *sa)
{
	return fault_zalloc(sa->fc, "sparse.node", sizeof(struct sparse_node));
}

/* Drop root levels whose only used slot is 0, and a root that is empty. */
static void shrink(struct sparse_array *sa)
{
	while (sa->root) {
		struct sparse_node *r = sa->root;

		if (node_empty(r, sa->height)) {
			fault_free(r);
			sa->root = NULL;
			sa->height = 0;
			return;
		}
		if (sa->height == 1 || r->present != 1)
			return;
		sa->root = r->child[0];
		sa->height--;
		fault_free(r);
	}
}

/*
 * Free every empty node whose range intersects [first, last] under @n (a
 * node at @height covering indices from @base). Returns true when @n itself
 * is empty afterwards (the caller frees it and clears its slot).
 */
static bool prune_sub(struct sparse_node *n, unsigned int height, uint64_t base, uint64_t first,
		      uint64_t last)
{
	if (height > 1) {
		uint64_t span = slot_span_last(height);
		unsigned int s0 = slot_lo(first, base, height);
		unsigned int s1 = slot_hi(last, base, height);

		for (unsigned int s = s0; s <= s1; s++) {
			struct sparse_node *c = n->child[s];
			uint64_t cbase = base + (uint64_t)s * (span + 1);

			if (!c)
				continue;
			if (prune_sub(c, height - 1, cbase, first, last)) {
				fault_free(c);
				n->child[s] = NULL;
				n->present &= ~(UINT64_C(1) << s);
			}
		}
	}
	return node_empty(n, height);
}

static void prune(struct sparse_array *sa, uint64_t first, uint64_t last)
{
	if (!sa->root)
		return;
	if (first > height_max(sa->height))
		return shrink(sa);
	if (prune_sub(sa->root, sa->height, 0, first, min(last, height_max(sa->height)))) {
		fault_free(sa->root);
		sa->root = NULL;
		sa->height = 0;
	}
	shrink(sa);
}

/* Grow the root until it covers @index. -ENOMEM leaves extra levels (prune them). */
static int grow(struct sparse_array *sa, uint64_t index)
{
	unsigned int want = height_for(index);

	if (!sa->root) {
		/* An empty tree starts at the needed height directly. */
		sa->root = node_alloc(sa);
		if (!sa->root)
			return -ENOMEM;
		sa->height = want;
		return 0;
	}
	while (sa->height < want) {
		struct sparse_node *r = node_alloc(sa);

		if (!r)
			return -ENOMEM;
		r->child[0] = sa->root;
		r->present = 1;
		sa->root = r;
		sa->height++;
	}
	return 0;
}

/*
 * Make sure every leaf covering [first, last] exists under @n. The only
 * failing step; leaves any new node empty on -ENOMEM.
 */
static int populate_sub(struct sparse_array *sa, struct sparse_node *n, unsigned int height,
			uint64_t base, uint64_t first, uint64_t last)
{
	uint64_t span;
	unsigned int s0, s1;

	if (height == 1)
		return 0;
	span = slot_span_last(height);
	s0 = slot_lo(first, base, height);
	s1 = slot_hi(last, base, height);
	for (unsigned int s = s0; s <= s1; s++) {
		uint64_t cbase = base + (uint64_t)s * (span + 1);
		int ret;

		if (!n->child[s]) {
			n->child[s] = node_alloc(sa);
			if (!n->child[s])
				return -ENOMEM;
			n->present |= UINT64_C(1) << s;
		}
		ret = populate_sub(sa, n->child[s], height - 1, cbase, first, last);
		if (ret)
			return ret;
	}
	return 0;
}

static int populate(struct sparse_array *sa, uint64_t first, uint64_t last)
{
	int ret = grow(sa, last);

	if (!ret)
		ret = populate_sub(sa, sa->root, sa->height, 0, first, last);
	if (ret)
		prune(sa, first, last);
	return ret;
}

/* The leaf holding @index, or NULL. */
static struct sparse_node *leaf_of(const struct sparse_array *sa, uint64_t index)
{
	struct sparse_node *n = sa->root;
	unsigned int h = sa->height;

	if (!n || index > height_max(h))
		return NULL;
	while (h > 1 && n) {
		n = n->child[slot_of(index, h)];
		h--;
	}
	return n;
}

/* Set one slot of an existing leaf; keeps count and present in step. */
static void leaf_set(struct sparse_array *sa, struct sparse_node *leaf, unsigned int s,
		     uint64_t value)
{
	uint64_t bit = UINT64_C(1) << s;

	if (leaf->present & bit)
		sa->count--;
	leaf->value[s] = value;
	if (value) {
		leaf->present |= bit;
		sa->count++;
	} else {
		leaf->present &= ~bit;
	}
}

int sparse_store(struct sparse_array *sa, uint64_t index, uint64_t value)
{
	struct sparse_node *leaf;
	int ret;

	if (!value) {
		sparse_erase(sa, index);
		return 0;
	}
	leaf = leaf_of(sa, index);
	if (!leaf) {
		ret = populate(sa, index, index);
		if (ret)
			return ret;
		leaf = leaf_of(sa, index);
	}
	leaf_set(sa, leaf, index & SPARSE_MASK, value);
	return 0;
}

int sparse_store_range(struct sparse_array *sa, uint64_t first, uint64_t last,
		       const uint64_t *values)
{
	bool any_zero = false;
	uint64_t i;
	int ret;

	if (first > last)
		return -EINVAL;
	ret = populate(sa, first, last);
	if (ret)
		return ret;
	/* Point of no return: every leaf exists. */
	for (i = first;; i++) {
		struct sparse_node *leaf = leaf_of(sa, i);
		uint64_t v = values[i - first];

		leaf_set(sa, leaf, i & SPARSE_MASK, v);
		if (!v) {
			leaf->reserved &= ~(UINT64_C(1) << (i & SPARSE_MASK));
			any_zero = true;
		}
		if (i == last)
			break;
	}
	if (any_zero)
		prune(sa, first, last);
	return 0;
}

uint64_t sparse_load(const struct sparse_array *sa, uint64_t index)
{
	const struct sparse_node *leaf = leaf_of(sa, index);

	return leaf ? leaf->value[index & SPARSE_MASK] : 0;
}

uint64_t sparse_erase(struct sparse_array *sa, uint64_t index)
{
	struct sparse_node *leaf = leaf_of(sa, index);
	unsigned int s = index & SPARSE_MASK;
	uint64_t old;

	if (!leaf)
		return 0;
	old = leaf->value[s];
	leaf_set(sa, leaf, s, 0);
	leaf->reserved &= ~(UINT64_C(1) << s);
	if (node_empty(leaf, 1))
		prune(sa, index, index);
	return old;
}

/* Clear values and/or reservations of [first, last] under @n. */
static void clear_sub(struct sparse_array *sa, struct sparse_node *n, unsigned int height,
		      uint64_t base, uint64_t first, uint64_t last, bool values)
{
	unsigned int s0 = slot_lo(first, base, height);
	unsigned int s1 = slot_hi(last, base, height);
	uint64_t mask;

	if (height == 1) {
		/* Bits s0..s1 inclusive; s1 - s0 + 1 can be 64. */
		mask = (UINT64_MAX >> (63 - (s1 - s0))) << s0;
		n->reserved &= ~mask;
		if (values) {
			sa->count -= popcount64(n->present & mask);
			n->present &= ~mask;
			for (unsigned int s = s0; s <= s1; s++)
				n->value[s] = 0;
		}
		return;
	}
	uint64_t span = slot_span_last(height);

	for (unsigned int s = s0; s <= s1; s++) {
		if (n->child[s])
			clear_sub(sa, n->child[s], height - 1, base + (uint64_t)s * (span + 1),
				  first, last, values);
	}
}

static void clear_range(struct sparse_array *sa, uint64_t first, uint64_t last, bool values)
{
	if (!sa->root || first > last || first > height_max(sa->height))
		return;
	last = min(last, height_max(sa->height));
	clear_sub(sa, sa->root, sa->height, 0, first, last, values);
	prune(sa, first, last);
}

void sparse_erase_range(struct sparse_array *sa, uint64_t first, uint64_t last)
{
	clear_range(sa, first, last, true);
}

void sparse_release(struct sparse_array *sa, uint64_t first, uint64_t last)
{
	clear_range(sa, first, last, false);
}

int sparse_reserve(struct sparse_array *sa, uint64_t first, uint64_t last)
{
	int ret;
	uint64_t i;

	if (first > last)
		return -EINVAL;
	ret = populate(sa, first, last);
	if (ret)
		return ret;
	/* One leaf at a time: set the reserved bits of its part of the range. */
	for (i = first;;) {
		struct sparse_node *leaf = leaf_of(sa, i);
		unsigned int s0 = i & SPARSE_MASK;
		unsigned int s1 = (last - i) >= (uint64_t)(SPARSE_MASK - s0)
					  ? SPARSE_MASK
					  : s0 + (unsigned int)(last - i);

		leaf->reserved |= (UINT64_MAX >> (63 - (s1 - s0))) << s0;
		if (last - i <= (uint64_t)(s1 - s0))
			break;
		i += s1 - s0 + 1;
	}
	return 0;
}

/*
 * First present index in [first, last] under @n (covering from @base).
 * Returns its value and sets *found, or 0.
 */
static uint64_t find_sub(const struct sparse_node *n, unsigned int height, uint64_t base,
			 uint64_t first, uint64_t last, uint64_t *found)
{
	unsigned int s0 = slot_lo(first, base, height);
	unsigned int s1 = slot_hi(last, base, height);
	/* Slots s0..s1 of the present mask. */
	uint64_t m = n->present & ((UINT64_MAX >> (63 - (s1 - s0))) << s0);

	if (height == 1) {
		if (!m)
			return 0;
		unsigned int s = (unsigned int)__builtin_ctzll(m);

		*found = base + s;
		return n->value[s];
	}
	uint64_t span = slot_span_last(height);

	while (m) {
		unsigned int s = (unsigned int)__builtin_ctzll(m);
		uint64_t v;

		m &= m - 1;
		/* A child holding only reservations yields nothing: try the next. */
		v = find_sub(n->child[s], height - 1, base + (uint64_t)s * (span + 1), first, last,
			     found);
		if (v)
			return v;
	}
	return 0;
}

uint64_t sparse_find(const struct sparse_array *sa, uint64_t *index, uint64_t last)
{
	uint64_t first = *index, found = 0, v;

	if (!sa->root || first > last || first > height_max(sa->height))
		return 0;
	last = min(last, height_max(sa->height));
	v = find_sub(sa->root, sa->height, 0, first, last, &found);
	if (v)
		*index = found;
	return v;
}

uint64_t sparse_find_after(const struct sparse_array *sa, uint64_t *index, uint64_t last)
{
	uint64_t i;
	uint64_t v;

	if (*index >= last)
		return 0; /* also covers *index == UINT64_MAX */
	i = *index + 1;
	v = sparse_find(sa, &i, last);
	if (v)
		*index = i;
	return v;
}

uint64_t sparse_count(const struct sparse_array *sa)
{
	return sa->count;
}

bool sparse_empty(const struct sparse_array *sa)
{
	return sa->count == 0;
}

/* Returns the number of values under @n, or -1 on a broken invariant. */
static long check_sub(const struct sparse_node *n, unsigned int height, bool is_root)
{
	long total = 0;

	if (node_empty(n, height))
		return -1;
	if (height == 1) {
		for (unsigned int s = 0; s < SPARSE_SLOTS; s++) {
			bool p = (n->present >> s) & 1;

			if (p != (n->value[s] != 0))
				return -1;
		}
		return popcount64(n->present);
	}
	if (n->reserved)
		return -1;
	if (is_root && n->present == 1)
		return -1; /* should have been shrunk */
	for (unsigned int s = 0; s < SPARSE_SLOTS; s++) {
		bool p = (n->present >> s) & 1;
		long c;

		if (p != (n->child[s] != NULL))
			return -1;
		if (!p)
			continue;
		c = check_sub(n->child[s], height - 1, false);
		if (c < 0)
			return -1;
		total += c;
	}
	return total;
}

int sparse_check(const struct sparse_array *sa)
{
	long c;

	if (!sa->root)
		return (sa->height == 0 && sa->count == 0) ? 0 : -1;
	if (sa->height < 1 || sa->height > SPARSE_MAX_HEIGHT)
		return -1;
	c = check_sub(sa->root, sa->height, true);
	if (c < 0 || (uint64_t)c != sa->count)
		return -1;
	return 0;
}
