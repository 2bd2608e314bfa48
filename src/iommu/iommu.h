/* SPDX-License-Identifier: MIT */
/*
 * The iommu core: the domain interface every driver implements (mock, Intel
 * VT-d, AMD-Vi, Arm SMMUv3, s390) and the helpers the iommufd core calls.
 *
 * A domain is one I/O page table. The core splits a map request into the
 * largest page sizes the domain's pgsize_bitmap allows given the alignment
 * of iova and paddr, and calls the driver's map_pages() once per run of equal
 * page sizes. Unmap gathers the invalidation range in an iommu_iotlb_gather
 * and calls iotlb_sync() once at the end; the driver must not free table
 * pages or let the caller unpin data pages before that sync completed.
 *
 * Contract used by src/iommufd/ (keep these signatures stable):
 *   iommu_map(), iommu_unmap(), iommu_unmap_fast() + iommu_iotlb_sync(),
 *   iommu_iova_to_phys(), domain->pgsize_bitmap, domain->geometry.
 *
 * Locking: a domain's map/unmap may run from several threads on disjoint
 * IOVA ranges; drivers make that safe. attach/detach are serialized by the
 * caller (iommufd holds the group/device lock).
 */
#ifndef IOMMUSIM_IOMMU_H
#define IOMMUSIM_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mach;
struct iommu_domain;
struct iommu_device;

/* prot bits, as the kernel's IOMMU_READ / IOMMU_WRITE */
#define IOMMU_READ (1 << 0)
#define IOMMU_WRITE (1 << 1)
#define IOMMU_CACHE (1 << 2)
#define IOMMU_NOEXEC (1 << 3)

/* The IOVA range an unmap has to invalidate; last is inclusive. */
struct iommu_iotlb_gather {
	uint64_t start;
	uint64_t end; /* inclusive, as the kernel's gather; start > end = empty */
	size_t pgsize;
	bool queued; /* lazy mode: flushed later by a flush queue */
	/* table pages freed by this unmap, released after the sync (driver-owned list) */
	void *freelist;
};

static inline void iommu_iotlb_gather_init(struct iommu_iotlb_gather *g)
{
	g->start = UINT64_MAX;
	g->end = 0;
	g->pgsize = 0;
	g->queued = false;
	g->freelist = NULL;
}

struct iommu_domain_ops {
	/* Map pgcount pages of pgsize; *mapped = bytes mapped even on error. */
	int (*map_pages)(struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t pgsize,
			 size_t pgcount, int prot, size_t *mapped);
	/* Returns bytes unmapped; adds the range to @gather. */
	size_t (*unmap_pages)(struct iommu_domain *d, uint64_t iova, size_t pgsize,
			      size_t pgcount, struct iommu_iotlb_gather *gather);
	/* Physical address for @iova, or 0 when nothing is mapped there. */
	uint64_t (*iova_to_phys)(struct iommu_domain *d, uint64_t iova);
	void (*iotlb_sync)(struct iommu_domain *d, struct iommu_iotlb_gather *gather);
	void (*flush_iotlb_all)(struct iommu_domain *d);
	void (*free)(struct iommu_domain *d);
};

enum iommu_domain_type {
	IOMMU_DOMAIN_BLOCKED,
	IOMMU_DOMAIN_IDENTITY,
	IOMMU_DOMAIN_PAGING,
	IOMMU_DOMAIN_NESTED,
};

struct iommu_domain {
	enum iommu_domain_type type;
	const struct iommu_domain_ops *ops;
	uint64_t pgsize_bitmap; /* supported page sizes, bit n = 2^n bytes */
	struct {
		uint64_t aperture_start;
		uint64_t aperture_end; /* inclusive, as the kernel's geometry */
		bool force_aperture;
	} geometry;
	struct mach *mach;
	struct iommu_device *owner; /* the driver instance that made it */
};

/* Map [iova, iova + size) to [paddr, ...): split into the largest allowed pages. */
int iommu_map(struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t size, int prot);
/* Unmap and sync; returns bytes unmapped. */
size_t iommu_unmap(struct iommu_domain *d, uint64_t iova, size_t size);
/* Unmap without sync: the caller calls iommu_iotlb_sync(d, gather) once. */
size_t iommu_unmap_fast(struct iommu_domain *d, uint64_t iova, size_t size,
			struct iommu_iotlb_gather *gather);
void iommu_iotlb_sync(struct iommu_domain *d, struct iommu_iotlb_gather *gather);
uint64_t iommu_iova_to_phys(struct iommu_domain *d, uint64_t iova);
void iommu_domain_free(struct iommu_domain *d);

#endif /* IOMMUSIM_IOMMU_H */
