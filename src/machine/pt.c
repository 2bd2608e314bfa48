/* SPDX-License-Identifier: MIT */
/*
 * The radix table of pfns used both as a process page table (indexed by
 * virtual page number) and as a file's page cache (indexed by file page).
 *
 * Structure: MACH_PT_LEVELS levels of 512 64-bit entries, level 4 at the
 * root. An entry is 0 (empty), a pointer to the next level's node (bit 0
 * clear: nodes are 4 KiB aligned... at least 8-byte aligned), or a leaf
 * (pfn << 12 | MACH_PT_LEAF). A leaf at level L maps an allocation of order
 * 9 * L: level 0 a 4 KiB frame, level 1 a 2 MiB head, level 2 a 1 GiB head.
 * The table owns one reference on each frame a leaf names.
 *
 * Locking rules: the table has no lock of its own; its owner's rwlock
 * (proc->mmap_lock, file->lock) is the rule.
 *   - Read side: lookups, and filling empty entries (interior nodes and
 *     leaves) with compare-and-swap; a loser frees what it built. Entries are
 *     published with release and read with acquire so that a winner's frame
 *     metadata and node contents are visible.
 *   - Write side: clearing entries and freeing nodes (mach_pt_zap), which no
 *     reader can observe half done. The frames a zap frees are freed as a
 *     batch (internal.h, "Batched frees") before the zap returns.
 */
#include <errno.h>

#include "internal.h"

#define PT_BITS 9
#define PT_MASK 511ULL

int mach_pt_init(struct mach *m, struct mach_pt *pt)
{
	pt->root = fault_zalloc(m->fc, "mach.pt_alloc", sizeof(*pt->root));
	return pt->root ? 0 : -ENOMEM;
}

/* Install @want in an empty @slot; returns the entry now there (ours or a racer's). */
static uint64_t pt_install(uint64_t *slot, uint64_t want, bool *won)
{
	uint64_t cur = 0;

	*won = __atomic_compare_exchange_n(slot, &cur, want, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
	return *won ? want : cur;
}

uint64_t mach_pt_fill(struct mach *m, uint64_t *slot, uint64_t pfn, unsigned order)
{
	bool won;
	uint64_t e = pt_install(slot, (pfn << MACH_PAGE_SHIFT) | MACH_PT_LEAF, &won);

	if (!won)
		mach_frame_unref(m, pfn, order, MACH_REF_ONE);
	return e;
}

/*
 * The entry for page @idx at @level (0, 1 or 2), walking down from the root
 * and, when @alloc, creating missing interior nodes. NULL when a node is
 * missing and !@alloc (*err = 0) or cannot be allocated (*err = -ENOMEM).
 */
uint64_t *mach_pt_slot(struct mach *m, struct mach_pt *pt, uint64_t idx, unsigned level, bool alloc,
		       int *err)
{
	struct mach_pt_node *n = pt->root;

	for (unsigned lvl = MACH_PT_LEVELS - 1; lvl > level; lvl--) {
		uint64_t *s = &n->e[(idx >> (PT_BITS * lvl)) & PT_MASK];
		uint64_t e = LOAD_ACQ(*s);

		if (unlikely(!e)) {
			struct mach_pt_node *nn;
			bool won;

			if (!alloc) {
				*err = 0;
				return NULL;
			}
			nn = fault_zalloc(m->fc, "mach.pt_alloc", sizeof(*nn));
			if (!nn) {
				*err = -ENOMEM;
				return NULL;
			}
			e = pt_install(s, (uint64_t)(uintptr_t)nn, &won);
			if (!won)
				fault_free(nn);
		}
		/* A huge leaf above @level would mean the caller's region order and
		 * the table disagree: an internal bug. */
		if (unlikely(e & MACH_PT_LEAF))
			__builtin_trap();
		n = (struct mach_pt_node *)(uintptr_t)e;
	}
	return &n->e[(idx >> (PT_BITS * level)) & PT_MASK];
}

static void put_leaf(struct mach *m, struct mach_free_batch *b, uint64_t e, unsigned lvl)
{
	uint64_t pfn = e >> MACH_PAGE_SHIFT;

	mach_frame_unref_batch(m, b, pfn, lvl * PT_BITS, MACH_REF_ONE);
}

/*
 * Zap pages [first, end) under node @n of level @lvl covering pages from @base.
 * Frames freed go through @b (the caller flushes it).
 */
static void zap_node(struct mach *m, struct mach_free_batch *b, struct mach_pt_node *n,
		     unsigned lvl, uint64_t base, uint64_t first, uint64_t end)
{
	uint64_t span = 1ULL << (PT_BITS * lvl); /* pages per entry */
	uint64_t i0 = first > base ? (first - base) / span : 0;

	for (uint64_t i = i0; i < 512; i++) {
		uint64_t s = base + i * span, e = s + span;

		if (s >= end)
			break;
		uint64_t ent = n->e[i];
		if (!ent)
			continue;
		if (ent & MACH_PT_LEAF) {
			/* Callers never cut a huge leaf in part (regions enforce it). */
			n->e[i] = 0;
			put_leaf(m, b, ent, lvl);
			continue;
		}
		struct mach_pt_node *c = (struct mach_pt_node *)(uintptr_t)ent;
		zap_node(m, b, c, lvl - 1, s, max(first, s), min(end, e));
		if (first <= s && e <= end) {
			n->e[i] = 0;
			fault_free(c);
		}
	}
}

void mach_pt_zap(struct mach *m, struct mach_pt *pt, uint64_t first, uint64_t end)
{
	struct mach_free_batch b;

	if (pt->root && first < end) {
		b.n = 0;
		zap_node(m, &b, pt->root, MACH_PT_LEVELS - 1, 0, first, end);
		mach_free_batch_flush(m, &b);
	}
}

void mach_pt_destroy(struct mach *m, struct mach_pt *pt)
{
	struct mach_free_batch b;

	if (!pt->root)
		return;
	b.n = 0;
	zap_node(m, &b, pt->root, MACH_PT_LEVELS - 1, 0, 0, 1ULL << (PT_BITS * MACH_PT_LEVELS));
	mach_free_batch_flush(m, &b);
	fault_free(pt->root);
	pt->root = NULL;
}
