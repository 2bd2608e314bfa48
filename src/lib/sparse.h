/* SPDX-License-Identifier: MIT */
/*
 * Sparse index array: a radix tree mapping uint64_t index -> uint64_t value,
 * 0 meaning "no entry" (so stored values are never 0). A small xarray.
 *
 * Structure: a tree of 64-way nodes of height 1..11 (6 index bits per level;
 * 11 levels cover 66 >= 64 bits). A node at height 1 is a leaf holding 64
 * values, higher nodes hold 64 child pointers. Each node keeps a `present`
 * mask (slot holds a value / a child) and a leaf keeps a `reserved` mask.
 * The root's height grows on demand to cover the highest index stored and
 * shrinks again when only slot 0 of the root is used.
 *
 * Invariants: a leaf exists only while it has a present or reserved slot; an
 * internal node exists only while it has a child; count == number of
 * present values. Empty nodes are freed eagerly (erase, release, failure
 * unwinding), so memory follows the content.
 *
 * Reservations: sparse_reserve(first, last) allocates every node covering the
 * range and marks the slots reserved, so a later sparse_store() or
 * sparse_store_range() inside the range cannot fail. A reservation stays
 * until the slot is erased (sparse_erase/sparse_erase_range) or released
 * (sparse_release); storing into a reserved slot keeps the reservation.
 * Reserved slots read as 0 and are not counted.
 *
 * Allocations: one fault_zalloc(fc, "sparse.node", ...) per node. Every
 * fallible call either succeeds or leaves the array unchanged.
 *
 * Locking: none; the owner serialises writers. Readers (load, find, count)
 * do not modify the array and may run concurrently with each other.
 */
#ifndef IOMMUSIM_LIB_SPARSE_H
#define IOMMUSIM_LIB_SPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fault_ctx;
struct sparse_node;

struct sparse_array {
	/* private */
	struct sparse_node *root;
	unsigned int height; /* 0 when root == NULL */
	uint64_t count;
	struct fault_ctx *fc;
};

void sparse_init(struct sparse_array *sa, struct fault_ctx *fc);
/* Free every node (and drop every reservation). Never fails. */
void sparse_destroy(struct sparse_array *sa);

/* @value != 0 (a 0 value erases). Returns 0 or -ENOMEM with nothing changed. */
int sparse_store(struct sparse_array *sa, uint64_t index, uint64_t value);
/*
 * Store values[0 .. last - first] at first..last: all or nothing.
 * Zero values erase their slot. Returns 0, -ENOMEM (nothing changed) or
 * -EINVAL (first > last).
 */
int sparse_store_range(struct sparse_array *sa, uint64_t first, uint64_t last,
		       const uint64_t *values);
uint64_t sparse_load(const struct sparse_array *sa, uint64_t index);
/* Returns the old value (0 if none); drops a reservation; frees empty nodes. */
uint64_t sparse_erase(struct sparse_array *sa, uint64_t index);
void sparse_erase_range(struct sparse_array *sa, uint64_t first, uint64_t last);

/*
 * Next present index >= *index and <= last: returns its value and sets
 * *index; returns 0 (and leaves *index alone) when there is none.
 */
uint64_t sparse_find(const struct sparse_array *sa, uint64_t *index, uint64_t last);
/* Same, but strictly after *index (safe at *index == UINT64_MAX). */
uint64_t sparse_find_after(const struct sparse_array *sa, uint64_t *index, uint64_t last);

uint64_t sparse_count(const struct sparse_array *sa);
bool sparse_empty(const struct sparse_array *sa);

/* Reserve nodes for [first, last]: later stores there cannot fail. 0/-ENOMEM/-EINVAL. */
int sparse_reserve(struct sparse_array *sa, uint64_t first, uint64_t last);
/* Drop reservations in [first, last] (stored values stay); frees empty nodes. */
void sparse_release(struct sparse_array *sa, uint64_t first, uint64_t last);

/* Debug check of the invariants; returns 0 or -1. O(nodes): tests only. */
int sparse_check(const struct sparse_array *sa);

/* Iterate present entries of [first, last] in index order. */
#define sparse_for_each(sa, index, value, first, last)                        \
	for (index = (first), value = sparse_find(sa, &(index), last); value; \
	     value = sparse_find_after(sa, &(index), last))

#endif /* IOMMUSIM_LIB_SPARSE_H */
