/* SPDX-License-Identifier: MIT */
/*
 * The io_pagetable: what one IOAS maps, and the iopt_pages objects behind it.
 *
 * struct io_pagetable
 *   area_itree      iova ranges of struct iopt_area, never overlapping. An
 *                   area whose ->pages is NULL is being created or destroyed:
 *                   its iova range is taken but nobody else may touch it
 *                   (unmap answers EBUSY, COPY/access see a hole).
 *   allowed_itree   struct iopt_allowed: when not empty, automatic IOVA is
 *                   chosen only inside these ranges and no reservation may
 *                   intersect them.
 *   reserved_itree  struct iopt_reserved with an owner (a domain's outside-
 *                   aperture ranges, a device's reserved regions, the
 *                   selftest's ADD_RESERVED with owner NULL). No area may
 *                   intersect a reserved range.
 *   domains         every iommu_domain attached, each holding exactly the
 *                   contents of every area that has pages.
 *   iova_alignment  max of the domains' smallest page size, the accesses'
 *                   alignment and PAGE_SIZE when large pages are disabled.
 *
 * struct iopt_pages (pages.c): a run of user memory (a process VA range) or
 *   of a file, in 4 KiB page indexes 0 .. npages - 1. Shared by every area
 *   that maps part of it (IOAS_COPY puts one iopt_pages into many IOASes), so
 *   a page is pinned and accounted once. A page index is pinned exactly when
 *   it is covered by domains_itree (areas whose domains hold the pfn) or by
 *   access_itree (in-kernel accesses, pfns kept in pinned_pfns). PFNs are
 *   found, in order of preference: pinned_pfns, an area's storage domain
 *   (read back with iova_to_phys), pinning the source.
 *
 * Locking, outermost first:
 *   domains_rwsem (write: attach/detach a domain, change alignment; read:
 *   map from filling the domains through publishing area->pages, unmap from
 *   marking an area busy through removing it, so a writer never sees an
 *   area half filled; an area with NULL pages a writer does see holds
 *   nothing in any domain and is skipped) → iova_rwsem (the three trees and
 *   area->pages; held only for tree updates, never across pinning or a
 *   domain fill) → pages->mutex (domains_itree, access_itree, pinned_pfns,
 *   npinned, area->storage_domain and area->num_accesses; num_accesses
 *   changes with iova_rwsem held for read as well, so unmap reads it under
 *   the iova write lock alone) → access_lock (access_list; a leaf).
 *   Map pins and fills domains holding only domains_rwsem for read and the
 *   pages' own mutex, so maps and unmaps of disjoint ranges run in parallel.
 */
#ifndef IOMMUSIM_IOMMUFD_IO_PAGETABLE_H
#define IOMMUSIM_IOMMUFD_IO_PAGETABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/itree.h"
#include "lib/list.h"
#include "lib/sparse.h"

struct iommu_domain;
struct iommufd_ctx;
struct iommufd_access;
struct mach_file;

#define IOPT_PAGE_SIZE 4096ULL
#define IOPT_PAGE_SHIFT 12

struct io_pagetable {
	struct iommufd_ctx *ictx;

	pthread_rwlock_t domains_rwsem;
	struct iommu_domain **domains; /* [0, ndomains); domains[0] is the default storage */
	unsigned int ndomains;
	unsigned int domains_cap;

	pthread_rwlock_t iova_rwsem;
	struct itree_root area_itree;
	struct itree_root allowed_itree;
	struct itree_root reserved_itree;
	bool disable_large_pages;
	uint64_t iova_alignment;

	pthread_mutex_t access_lock; /* leaf */
	struct list_head access_list; /* struct iommufd_access.iopt_node, by iopt_access_id */
	uint64_t next_access_id;
};

struct iopt_allowed {
	struct itree_node node;
};

struct iopt_reserved {
	struct itree_node node;
	void *owner;
};

struct iopt_area {
	struct itree_node node; /* iova [start, last] in iopt->area_itree */
	struct itree_node pages_node; /* page indexes in pages->domains_itree */
	struct io_pagetable *iopt;
	struct iopt_pages *pages;
	struct iommu_domain *storage_domain; /* under pages->mutex */
	unsigned int page_offset; /* byte offset of node.start within its first page */
	int iommu_prot;
	bool prevent_access; /* an unmap is waiting for accesses to leave */
	unsigned int num_accesses; /* under pages->mutex and iova_rwsem (read) */
};

enum iopt_address_type {
	IOPT_ADDRESS_USER = 0,
	IOPT_ADDRESS_FILE = 1,
};

struct iopt_pages {
	unsigned int refcount; /* atomic */
	pthread_mutex_t mutex;
	uint64_t npages;
	uint64_t npinned; /* page indexes pinned (each once), == pages accounted */

	struct mach *mach;
	struct mach_proc *source_proc;
	struct mach_user *source_user; /* a reference */
	struct fault_ctx *fc;
	struct trace_ctx *tc;
	const size_t *temp_limit; /* the context's cap on batch memory */

	enum iopt_address_type type;
	uint64_t uptr; /* USER: page-aligned VA of index 0 */
	struct mach_file *file; /* FILE: a reference */
	uint64_t start; /* FILE: page-aligned byte offset of index 0 */
	bool writable;
	int account_mode; /* enum iopt_account_mode */

	struct sparse_array pinned_pfns; /* index -> pfn, for accesses */
	struct itree_root access_itree; /* struct iopt_pages_access */
	struct itree_root domains_itree; /* iopt_area.pages_node of filled areas */
};

struct iopt_pages_access {
	struct itree_node node;
	unsigned int users;
};

/* ------------------------------------------------------- area helpers */

static inline uint64_t iopt_area_iova(const struct iopt_area *a)
{
	return a->node.start;
}
static inline uint64_t iopt_area_last_iova(const struct iopt_area *a)
{
	return a->node.last;
}
static inline uint64_t iopt_area_length(const struct iopt_area *a)
{
	return a->node.last - a->node.start + 1;
}
static inline uint64_t iopt_area_index(const struct iopt_area *a)
{
	return a->pages_node.start;
}
static inline uint64_t iopt_area_last_index(const struct iopt_area *a)
{
	return a->pages_node.last;
}
/* Byte offset into the pages of @iova (inside the area). */
static inline uint64_t iopt_area_start_byte(const struct iopt_area *a, uint64_t iova)
{
	return (iova - a->node.start) + a->page_offset + a->pages_node.start * IOPT_PAGE_SIZE;
}
static inline uint64_t iopt_area_iova_to_index(const struct iopt_area *a, uint64_t iova)
{
	return iopt_area_start_byte(a, iova) / IOPT_PAGE_SIZE;
}
/* First iova of page @index inside the area. */
static inline uint64_t iopt_area_index_to_iova(const struct iopt_area *a, uint64_t index)
{
	if (index == a->pages_node.start)
		return a->node.start;
	return a->node.start - a->page_offset + (index - a->pages_node.start) * IOPT_PAGE_SIZE;
}
/* Last iova of page @index inside the area. */
static inline uint64_t iopt_area_index_to_last_iova(const struct iopt_area *a, uint64_t index)
{
	if (index == a->pages_node.last)
		return a->node.last;
	return a->node.start - a->page_offset + (index + 1 - a->pages_node.start) * IOPT_PAGE_SIZE -
	       1;
}

/*
 * Walk the areas that cover [iova, last_iova] without a gap, in order; the
 * walk stops at the first gap or at an area still being built (NULL pages).
 * iopt_area_contig_done() tells whether the whole range was covered.
 * Held: iova_rwsem.
 */
struct iopt_area_contig_iter {
	uint64_t cur_iova;
	uint64_t last_iova;
	struct iopt_area *area;
};
struct iopt_area *iopt_area_contig_init(struct iopt_area_contig_iter *iter,
					struct io_pagetable *iopt, uint64_t iova,
					uint64_t last_iova);
struct iopt_area *iopt_area_contig_next(struct iopt_area_contig_iter *iter);
static inline bool iopt_area_contig_done(const struct iopt_area_contig_iter *iter)
{
	return iter->area && iter->area->node.last >= iter->last_iova;
}
/* The current slice starts and ends on page boundaries (the access API needs whole pages). */
static inline bool iopt_area_contig_is_aligned(const struct iopt_area_contig_iter *iter)
{
	if (iopt_area_start_byte(iter->area, iter->cur_iova) % IOPT_PAGE_SIZE)
		return false;
	if (!iopt_area_contig_done(iter) &&
	    iopt_area_start_byte(iter->area, iter->area->node.last) % IOPT_PAGE_SIZE !=
		    IOPT_PAGE_SIZE - 1)
		return false;
	return true;
}
#define iopt_for_each_contig_area(iter, area, iopt, iova, last_iova)          \
	for (area = iopt_area_contig_init(iter, iopt, iova, last_iova); area; \
	     area = iopt_area_contig_next(iter))

/*
 * Next maximal sub-range of [*pos, last] covered by neither @t1 nor @t2 (@t2
 * may be NULL). Returns false when there is none; otherwise sets *hs and *hl and
 * advances *pos past it.
 */
bool iopt_next_hole(struct itree_root *t1, struct itree_root *t2, uint64_t *pos, uint64_t last,
		    uint64_t *hs, uint64_t *hl);

/* ----------------------------------------------- io_pagetable (io_pagetable.c) */

int iopt_init_table(struct io_pagetable *iopt, struct iommufd_ctx *ictx);
void iopt_destroy_table(struct io_pagetable *iopt);

#define IOPT_ALLOC_IOVA (1u << 0)

int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt, uint64_t *iova,
			uint64_t uptr, uint64_t length, int iommu_prot, unsigned int flags);
int iopt_map_file_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt, uint64_t *iova,
			struct mach_file *file, uint64_t start, uint64_t length, int iommu_prot,
			unsigned int flags);
/* COPY: map what [src_iova, +length) of @src maps, sharing its iopt_pages. */
int iopt_copy(struct io_pagetable *src, uint64_t src_iova, struct io_pagetable *dst,
	      uint64_t *dst_iova, uint64_t length, int iommu_prot, unsigned int flags);
int iopt_unmap_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length, uint64_t *unmapped);
int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped);
/*
 * Make each of @iovas the last byte of an area, splitting the area that
 * covers it (VFIO type1 v1 unmap of part of a mapping). Stops at the first
 * failure: EBUSY while the area is being (un)mapped, EINVAL when an access
 * pins it, the split is misaligned, or its domains may use large pages.
 */
int iopt_cut_iova(struct io_pagetable *iopt, const uint64_t *iovas, size_t num_iovas);

/* Replaces the allowed list with @nodes (struct iopt_allowed), swapping it out. */
int iopt_set_allow_iova(struct io_pagetable *iopt, struct itree_root *allowed);

/* Domains: see iommufd_private.h for the contract H5 relies on. */
int iopt_table_add_domain(struct io_pagetable *iopt, struct iommu_domain *domain);
void iopt_table_remove_domain(struct io_pagetable *iopt, struct iommu_domain *domain);
/* Takes iova_rwsem itself. -EADDRINUSE when an area or allowed range intersects. */
int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last, void *owner);
void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner);

int iopt_disable_large_pages(struct io_pagetable *iopt);
void iopt_enable_large_pages(struct io_pagetable *iopt);

int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access);
void iopt_remove_access(struct io_pagetable *iopt, struct iommufd_access *access);

/* Debug/test: check every invariant of the table and its pages. 0 or -1. */
int iopt_check_invariants(struct io_pagetable *iopt);

/* ------------------------------------------------------- pages (pages.c) */

struct iopt_pages *iopt_alloc_user_pages(struct iommufd_ctx *ictx, uint64_t uptr, uint64_t length,
					 bool writable, int *err);
struct iopt_pages *iopt_alloc_file_pages(struct iommufd_ctx *ictx, struct mach_file *file,
					 uint64_t start, uint64_t length, bool writable, int *err);
void iopt_get_pages(struct iopt_pages *pages);
void iopt_put_pages(struct iopt_pages *pages);

/* Fill every domain of the area's iopt (held: domains_rwsem read) with the area. */
int iopt_area_fill_domains(struct iopt_area *area, struct iopt_pages *pages);
void iopt_area_unfill_domains(struct iopt_area *area, struct iopt_pages *pages);
/* One domain (attach): held domains_rwsem write + iova_rwsem + pages->mutex. */
int iopt_area_fill_domain(struct iopt_area *area, struct iommu_domain *domain);
/* Unmap @domain only (another domain still stores the pfns). */
void iopt_area_unmap_domain(struct iopt_area *area, struct iommu_domain *domain);
/* Unmap @domain and unpin whatever only it held; area already out of domains_itree. */
void iopt_area_unfill_domain(struct iopt_area *area, struct iopt_pages *pages,
			     struct iommu_domain *domain);

int iopt_area_add_access(struct iopt_area *area, uint64_t start_index, uint64_t last_index,
			 uint64_t *out_pfns, unsigned int flags);
void iopt_area_remove_access(struct iopt_area *area, uint64_t start_index, uint64_t last_index);
int iopt_pages_rw_access(struct iopt_pages *pages, uint64_t start_byte, void *data, uint64_t length,
			 unsigned int flags);

int iopt_pages_check(struct iopt_pages *pages);

#endif /* IOMMUSIM_IOMMUFD_IO_PAGETABLE_H */
