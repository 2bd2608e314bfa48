/* SPDX-License-Identifier: MIT */
/*
 * Intrusive interval tree over inclusive uint64_t ranges [start, last].
 *
 * A red-black tree ordered by start (equal starts: later insertions go to the
 * right, so iteration order among equal starts is insertion order), augmented
 * with subtree_last = the largest `last` in the node's subtree. That maximum
 * lets an overlap query skip every subtree that ends before the query starts,
 * so finding the first overlap is O(log n) and each further one amortised
 * O(log n). Overlapping and identical ranges are allowed.
 *
 * Invariants (checked by itree_check() in tests):
 *  - binary-search order on start; red nodes have black children; every
 *    root-to-NULL path has the same number of black nodes; the root is black;
 *  - node->subtree_last == max(node->last, left->subtree_last,
 *    right->subtree_last); start <= last for every node.
 *
 * The tree never allocates: the caller embeds struct itree_node in its own
 * object and owns its memory. Locking: none; the owner serialises all calls
 * (readers may run concurrently with each other only).
 *
 * Span iteration walks the addresses of [first, last] rather than the nodes,
 * and reports maximal alternating runs: a hole touches no node, a used span
 * is covered entirely by the union of nodes. Nodes that overlap or merely
 * touch (a.last + 1 == b.start) join into one used span. Ranges ending at
 * UINT64_MAX are handled: nothing here computes last + 1 without a check.
 */
#ifndef IOMMUSIM_LIB_ITREE_H
#define IOMMUSIM_LIB_ITREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct itree_node {
	uint64_t start, last; /* set by the caller before itree_insert(), then read-only */
	/* private below */
	struct itree_node *parent, *left, *right;
	uint64_t subtree_last;
	int color;
};

struct itree_root {
	struct itree_node *root;
};

#define ITREE_ROOT_INIT \
	{               \
		NULL    \
	}

void itree_init(struct itree_root *root);
bool itree_empty(const struct itree_root *root);

/* Insert @node; node->start <= node->last must hold. Overlaps are allowed. */
void itree_insert(struct itree_root *root, struct itree_node *node);
/* Remove @node, which must be in @root. */
void itree_remove(struct itree_root *root, struct itree_node *node);

/* First node overlapping [start, last] in order of start, and the next one. */
struct itree_node *itree_iter_first(struct itree_root *root, uint64_t start, uint64_t last);
struct itree_node *itree_iter_next(struct itree_node *node, uint64_t start, uint64_t last);

#define itree_for_each(node, root, start, last)                \
	for (node = itree_iter_first(root, start, last); node; \
	     node = itree_iter_next(node, start, last))

/* In-order walk of every node (by start): first/next, NULL at the end. */
struct itree_node *itree_first(const struct itree_root *root);
struct itree_node *itree_next(const struct itree_node *node);

/*
 * Debug check of every invariant above. Returns the node count, or -1 when an
 * invariant is broken. O(n): tests and debug builds only.
 */
long itree_check(const struct itree_root *root);

/*
 * Span iteration over [first, last] (first <= last): alternates holes and used
 * spans, each maximal. Exactly one of the pairs is meaningful at a time:
 * start_hole/last_hole when is_hole, start_used/last_used otherwise. Both are
 * clipped to [first, last]. The tree must not change during the iteration.
 */
struct itree_span {
	bool is_hole;
	uint64_t start_hole, last_hole;
	uint64_t start_used, last_used;
	/* private */
	struct itree_root *root;
	uint64_t next; /* first address not yet reported */
	uint64_t last_index;
	bool at_end; /* the current span reaches last_index */
	bool done;
};

void itree_span_first(struct itree_span *s, struct itree_root *root, uint64_t first, uint64_t last);
void itree_span_next(struct itree_span *s);
bool itree_span_done(const struct itree_span *s);

#define itree_for_each_span(span, root, first, last)                            \
	for (itree_span_first(span, root, first, last); !itree_span_done(span); \
	     itree_span_next(span))

#endif /* IOMMUSIM_LIB_ITREE_H */
