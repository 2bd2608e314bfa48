/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the machine layer (include/iommusim/machine.h).
 *
 * Design overview (the invariants each file relies on)
 * ----------------------------------------------------
 * Frames. Every RAM frame has a struct mach_frame in one array reserved with
 * mmap(MAP_NORESERVE): 24 bytes a frame, but only the pages of the array that
 * are touched cost memory, so a 1 TiB machine with 1 GiB pages touches one
 * metadata page per GiB. A frame's reference and pin counts share one 64-bit
 * word (low 32 bits: references, high 32 bits: pins), so a pin -- which takes
 * both -- is a single atomic add. A pin always holds a reference too.
 *
 * Compound frames. A 2 MiB or 1 GiB allocation keeps all of its metadata on
 * its head frame (state = ALLOCATED | COMPOUND | order). Tail frames are never
 * written: their head is found by alignment (frame_head(): is the 1 GiB
 * aligned frame an allocated order-18 head? else the 2 MiB aligned one an
 * order-9 head? else the frame is its own head). That is sound because the
 * head of an allocation is its naturally aligned first frame, and a head's
 * state is reset when the allocation is freed.
 *
 * Allocator. Three free lists (orders 0, 9, 18), doubly linked through the
 * frames' next/prev fields by frame index (0 = nil: pfn 0 is never free).
 * A 1 GiB section is split into 2 MiB blocks on demand, a 2 MiB block into
 * 4 KiB frames on demand; blk_free[] / sec_free[] count the free pieces of
 * a split block / section so that the last free coalesces them back. The
 * whole blocks of the (at most two) partial sections -- section 0, which
 * holds pfn 0, and a last section cut by the end of RAM -- start on no list:
 * blk_seed[] hands them out in order once list 1 is empty, so creating a machine
 * touches no metadata page per block. Partial sections never coalesce. Free
 * frames hold zeros (OWNED backing), cleared before they reach a free list.
 * What needs clearing is known from the dirty bitmap: a bit per frame, set
 * (before the write) by every way to write RAM bytes -- mach_phys_write,
 * mach_phys_copy and mach_phys_ptr, whose pointer may be written through --
 * and cleared when the frame is cleared. A frame whose bit is clear holds
 * zeros, so freeing memory that was faulted in, pinned and never written
 * touches no RAM byte (the host never creates a page just to zero it).
 * Written frames: a huge allocation or a run of contiguous 4 KiB frames is
 * given back to the host with MADV_DONTNEED; a lone 4 KiB frame is checked
 * and cleared with memset only if it holds data.
 *
 * Batched frees. Bulk droppers (page-table zaps, unpins) collect the 4 KiB
 * RAM frames whose last reference they drop in a struct mach_free_batch and
 * free them together: one sort, one clearing pass by contiguous runs, one
 * acquisition of list[0].lock per batch instead of one per frame. A frame in
 * a batch has no reference left and is on no list until the flush, which
 * every batch user does before it returns.
 *
 * Host window. Host-backed frames live at pfns from host_base_pfn (the next
 * 1 TiB boundary at or above the end of RAM) in a second NORESERVE array of
 * struct mach_hframe, each recording the host address of its page.
 *
 * Page tables. A process's page table and a file's page cache are the same
 * radix structure (struct mach_pt): 5 levels of 512 entries indexed by page
 * number (57-bit virtual addresses). A leaf at level 0 maps one 4 KiB frame,
 * at level 1 a 2 MiB head, at level 2 a 1 GiB head. Entries are installed
 * with compare-and-swap, so faults need only the read side of the owner's
 * lock; entries are cleared only under the write side. The table holds one
 * reference on every frame it maps.
 *
 * Locking order (outermost first):
 *   proc->mmap_lock (rw) -> file->lock (rw) -> m->host_lock / free list locks
 *   (order 0 -> 9 -> 18) ;  m->obj_lock is a leaf taken alone.
 */
#ifndef IOMMUSIM_MACHINE_INTERNAL_H
#define IOMMUSIM_MACHINE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iommusim/fault.h>
#include <iommusim/machine.h>
#include <iommusim/trace.h>

#include "lib/util.h"

/* Acquire/release forms of util.h's READ_ONCE/WRITE_ONCE. */
#define LOAD_ACQ(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE_REL(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* Virtual addresses and file offsets are limited to 57 bits (5-level paging). */
#define MACH_VA_BITS 57
#define MACH_VA_LIMIT (1ULL << MACH_VA_BITS)
/* Where non-fixed mmap() looks first: above every x86-64 4-level host pointer,
 * so simulated mappings never collide with mach_mmap_host() ones. */
#define MACH_MMAP_BASE (1ULL << 48)
#define MACH_MAX_FRAMES (1ULL << 32) /* free-list links are 32-bit */
#define MACH_HOST_MAX (1ULL << 24) /* host-backed frames at once (64 GiB) */
#define MACH_HOST_ALIGN (1ULL << 40) /* host window starts on a 1 TiB boundary */

/* The count word: references low, pins high. */
#define MACH_REF_ONE 1ULL
#define MACH_PIN_ONE ((1ULL << 32) | 1ULL)
#define MACH_CNT_REFS(c) ((uint32_t)(c))
#define MACH_CNT_PINS(c) ((uint32_t)((c) >> 32))

/* Frame state word: MACH_FRAME_* flags, order in bits 8..15. */
#define MACH_STATE_ORDER(s) (((s) >> 8) & 0xffu)
#define MACH_STATE(flags, order) ((flags) | ((uint32_t)(order) << 8))

struct mach_frame {
	uint64_t count; /* atomic: refs | pins << 32, head frames only */
	uint32_t state; /* atomic: MACH_FRAME_* | order << 8, heads only */
	uint32_t next; /* free list links (frame index, 0 = nil), allocator locks */
	uint32_t prev;
	uint32_t pad;
};

struct mach_hframe {
	uint64_t count; /* as mach_frame; 0 = free slot */
	void *host; /* the caller's page */
	uint32_t next; /* free slot list, m->host_lock */
	uint32_t pad;
};

struct mach_freelist {
	pthread_mutex_t lock;
	uint32_t head;
};

/* Whole 2 MiB blocks [next, end) of a partial 1 GiB section never used yet. */
struct mach_seed {
	uint32_t next, end; /* pfns, list[1].lock */
};

struct mach_pt_node {
	uint64_t e[512];
};

/* A radix table of pfns by page index (see the design overview). */
struct mach_pt {
	struct mach_pt_node *root;
};
#define MACH_PT_LEVELS 5
#define MACH_PT_LEAF 1ULL
/* Largest file (and file page reachable by a mapping): every page index must fit the table. */
#define MACH_FILE_MAX_PAGES (1ULL << (9 * MACH_PT_LEVELS))

struct mach_user {
	struct mach *m;
	uint32_t uid;
	long refs; /* m->obj_lock */
	uint64_t locked_vm; /* atomic */
	struct mach_user *next; /* m->obj_lock */
};

enum mach_region_kind {
	MACH_R_ANON, /* private anonymous: own frames, zero filled */
	MACH_R_FILE_SHARED, /* shared file or shared anon: the file's page cache */
	MACH_R_FILE_PRIVATE, /* private file: a private copy made at first fault */
	MACH_R_HOST, /* the caller's memory through the host window */
};

struct mach_region {
	uint64_t start, end; /* page aligned, end exclusive */
	unsigned prot;
	unsigned order; /* 0, 9 or 18: the frame size backing the region */
	enum mach_region_kind kind;
	struct mach_file *file; /* a reference, for FILE_* kinds */
	uint64_t pgoff; /* file page at start */
};

struct mach_proc {
	struct mach *m;
	struct mach_user *u;
	uint32_t pid;
	pthread_rwlock_t mmap_lock;
	struct mach_region *r; /* sorted by start, disjoint */
	size_t nr, cap;
	struct mach_pt pt;
	uint64_t locked_vm, pinned_vm; /* atomic */
	uint64_t rlimit_memlock; /* atomic */
	bool cap_ipc_lock; /* atomic */
	struct mach_proc *prev, *next; /* m->obj_lock */
};

struct mach_file {
	struct mach *m;
	long refs; /* atomic */
	pthread_rwlock_t lock;
	uint64_t size; /* bytes, f->lock */
	struct mach_pt pc;
	struct mach_file *prev, *next; /* m->obj_lock */
};

struct mach {
	struct fault_ctx *fc;
	struct trace_ctx *tc;
	uint64_t clock; /* atomic */
	uint64_t seed;

	uint64_t mem_size, nframes;
	enum mach_backing backing;
	struct mach_frame *frames; /* NORESERVE mmap, nframes entries */
	size_t frames_bytes;
	uint8_t *ram; /* OWNED: NORESERVE mmap of mem_size bytes */
	uint64_t *dirty; /* OWNED: a bit per frame, possibly written since cleared */
	size_t dirty_bytes;
	uint16_t *blk_free; /* free 4 KiB frames of each split 2 MiB block, list[0].lock */
	uint16_t *sec_free; /* free 2 MiB blocks of each split 1 GiB section, list[1].lock */
	struct mach_freelist list[3]; /* orders 0, 9, 18 */
	struct mach_seed blk_seed[2]; /* section 0 and a partial last section */
	unsigned nblk_seed;
	uint64_t free_frames, pinned_frames, host_frames; /* atomic */

	uint64_t host_base_pfn;
	struct mach_hframe *host; /* NORESERVE mmap, MACH_HOST_MAX entries */
	size_t host_bytes;
	pthread_mutex_t host_lock;
	uint32_t host_next; /* bump index, host_lock (atomic reads) */
	uint32_t host_free_head; /* free slot list, host_lock */

	pthread_mutex_t obj_lock;
	struct mach_user *users;
	struct mach_proc *procs;
	struct mach_file *files;
	uint32_t next_pid; /* obj_lock */
	bool dying; /* set by mach_destroy (single-threaded): frees skip clearing */
};

/* 4 KiB RAM frames whose last reference is gone, freed together (see above). */
#define MACH_FREE_BATCH 512
struct mach_free_batch {
	uint32_t n;
	uint32_t pfn[MACH_FREE_BATCH];
};

/* What a pin call has taken so far (see mach_pt_pin). */
struct mach_pin_delta {
	uint64_t pages; /* pfns[] entries pinned */
	uint64_t newly; /* frames whose pin count left 0: for m->pinned_frames */
};

/* mem.c */
int mach_frame_alloc_internal(struct mach *m, unsigned order, uint64_t *pfn);
void mach_frame_unref(struct mach *m, uint64_t head, unsigned order, uint64_t sub);
/* Return an allocation whose last reference is gone to its allocator. */
void mach_frame_free_head(struct mach *m, uint64_t head, unsigned order);
/* As mach_frame_free_head, but 4 KiB RAM frames wait in @b for the next flush. */
void mach_frame_free_head_batch(struct mach *m, struct mach_free_batch *b, uint64_t head,
				unsigned order);
/* As mach_frame_unref, freeing through @b. */
void mach_frame_unref_batch(struct mach *m, struct mach_free_batch *b, uint64_t head,
			    unsigned order, uint64_t sub);
/* Free every frame waiting in @b; @b is empty (and reusable) afterwards. */
void mach_free_batch_flush(struct mach *m, struct mach_free_batch *b);
int mach_host_frame_alloc(struct mach *m, void *host, uint64_t *pfn);
static inline bool mach_pfn_is_host(const struct mach *m, uint64_t pfn)
{
	return pfn >= m->host_base_pfn;
}

/* The head of the allocation holding @pfn, and its order (see "Compound frames"). */
static inline uint64_t mach_frame_head(struct mach *m, uint64_t pfn, unsigned *order)
{
	uint64_t h;
	uint32_t s;

	if (unlikely(mach_pfn_is_host(m, pfn))) {
		*order = 0;
		return pfn;
	}
	h = pfn & ~((1ULL << MACH_ORDER_1G) - 1);
	s = READ_ONCE(m->frames[h].state);
	if (unlikely((s & MACH_FRAME_ALLOCATED) && MACH_STATE_ORDER(s) == MACH_ORDER_1G)) {
		*order = MACH_ORDER_1G;
		return h;
	}
	h = pfn & ~((1ULL << MACH_ORDER_2M) - 1);
	s = READ_ONCE(m->frames[h].state);
	if ((s & MACH_FRAME_ALLOCATED) && MACH_STATE_ORDER(s) == MACH_ORDER_2M) {
		*order = MACH_ORDER_2M;
		return h;
	}
	*order = 0;
	return pfn;
}

/* The count word of frame @pfn (RAM or host window). */
static inline uint64_t *mach_frame_count(struct mach *m, uint64_t pfn)
{
	if (unlikely(mach_pfn_is_host(m, pfn)))
		return &m->host[pfn - m->host_base_pfn].count;
	return &m->frames[pfn].count;
}

/* pt.c */
int mach_pt_init(struct mach *m, struct mach_pt *pt);
void mach_pt_destroy(struct mach *m, struct mach_pt *pt);
uint64_t *mach_pt_slot(struct mach *m, struct mach_pt *pt, uint64_t idx, unsigned level, bool alloc,
		       int *err);
void mach_pt_zap(struct mach *m, struct mach_pt *pt, uint64_t first, uint64_t end);
/*
 * Fill the empty leaf @slot with allocation @pfn of @order, which brings one
 * reference for the table; if another thread filled it first, drop that
 * reference. Returns the entry now there (ours or the racer's).
 */
uint64_t mach_pt_fill(struct mach *m, uint64_t *slot, uint64_t pfn, unsigned order);

/* file.c */
int mach_file_create_internal(struct mach *m, uint64_t size, struct mach_file **out);
void mach_file_free_all(struct mach *m);
long mach_file_pin_range(struct mach_file *f, uint64_t pgoff, uint64_t npages, uint64_t *pfns,
			 int beyond_err, struct mach_pin_delta *pinned_delta);
int mach_file_access(struct mach_file *f, uint64_t pgoff, unsigned off, void *buf, size_t len,
		     bool write);
int mach_file_copy_page(struct mach_file *f, uint64_t pgoff, uint64_t dst_pfn);

/* pin.c */
/* Fill the empty entry @slot for page @idx; store the entry now there in *entry. */
typedef int (*mach_fault_fn)(void *arg, uint64_t idx, uint64_t *slot, uint64_t *entry);
/*
 * Pin pages [idx, idx + n) of a table whose leaves are at level 0 into
 * pfns[0, n), faulting holes in with @fault; returns 0 or -errno. Pins stay
 * taken on failure too: pinned_delta->pages grows by the pfns[] entries
 * pinned (n on success, a prefix on failure) and pinned_delta->newly by the
 * frames whose pin count left 0. The outermost caller adds newly to
 * m->pinned_frames and, on failure, unpins everything once.
 */
int mach_pt_pin(struct mach *m, struct mach_pt *pt, uint64_t idx, uint64_t n, uint64_t *pfns,
		struct mach_pin_delta *pinned_delta, mach_fault_fn fault, void *arg);

/* Unpin without tracing (rollback paths); see mach_unpin_pages(). */
void mach_unpin_internal(struct mach *m, const uint64_t *pfns, uint64_t npages);
/* Fault page @idx of region @r in (mmap_lock held); *pa = its physical address. */
int mach_region_page(struct mach_proc *p, struct mach_region *r, uint64_t idx, uint64_t *pa);

/* proc.c */
/* The region containing @va, or NULL (mmap_lock held). */
struct mach_region *mach_region_find(struct mach_proc *p, uint64_t va);
void mach_proc_destroy_all(struct mach *m);
void mach_user_free_all(struct mach *m);

#endif /* IOMMUSIM_MACHINE_INTERNAL_H */
