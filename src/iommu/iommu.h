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
 *
 * Beyond domains (see docs/iommu-core.md for the driver writer's view):
 *   struct iommu_device  one IOMMU hardware instance and its driver ops;
 *                        refcounted (every domain it allocated and every
 *                        endpoint behind it hold a reference).
 *   struct iommu_dev     an endpoint as the iommu core sees it: its id on the
 *                        bus, the iommu_device it sits behind, the domain it
 *                        is attached to (NULL = blocked), its reserved
 *                        regions and PASID capability.
 *   attach / detach / replace move an endpoint between domains; a domain
 *   is compatible with an endpoint when both belong to the same driver
 *   (same ops table), as the kernel's domain->owner check.
 *
 * Trace events: iommu:map / iommu:unmap once per iommu_map / iommu_unmap
 * call (the kernel's text), iommu:attach_device_to_domain,
 * iommu:detach_device_from_domain and iommu:io_page_fault.
 */
#ifndef IOMMUSIM_IOMMU_H
#define IOMMUSIM_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mach;
struct iommu_domain;
struct iommu_device;
struct iommu_dev;

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

/* Grow @g to cover [iova, iova + size). */
static inline void iommu_iotlb_gather_add_range(struct iommu_iotlb_gather *g, uint64_t iova,
						size_t size)
{
	uint64_t last = iova + size - 1;

	if (g->start > iova)
		g->start = iova;
	if (g->end < last)
		g->end = last;
}

/* True when @g already holds a range and [iova, iova + size) does not touch it. */
static inline bool iommu_iotlb_gather_is_disjoint(const struct iommu_iotlb_gather *g, uint64_t iova,
						  size_t size)
{
	uint64_t start = iova, end = iova + size - 1;

	return g->end != 0 && (end + 1 < g->start || start > g->end + 1);
}

static inline bool iommu_iotlb_gather_empty(const struct iommu_iotlb_gather *g)
{
	return g->start > g->end;
}

struct iommu_domain_ops {
	/* Map pgcount pages of pgsize; *mapped = bytes mapped even on error. */
	int (*map_pages)(struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t pgsize,
			 size_t pgcount, int prot, size_t *mapped);
	/* Returns bytes unmapped; adds the range to @gather. */
	size_t (*unmap_pages)(struct iommu_domain *d, uint64_t iova, size_t pgsize, size_t pgcount,
			      struct iommu_iotlb_gather *gather);
	/* Physical address for @iova, or 0 when nothing is mapped there. */
	uint64_t (*iova_to_phys)(struct iommu_domain *d, uint64_t iova);
	void (*iotlb_sync)(struct iommu_domain *d, struct iommu_iotlb_gather *gather);
	void (*flush_iotlb_all)(struct iommu_domain *d);
	void (*free)(struct iommu_domain *d);
	/*
	 * Optional. Make @dev translate through @d. Called with @dev blocked or
	 * attached to another domain of the same driver (replace): on failure
	 * the device must still use what it used before.
	 */
	int (*attach_dev)(struct iommu_domain *d, struct iommu_dev *dev);
	/* Optional: make a just-mapped range visible (non-coherent walkers). */
	int (*iotlb_sync_map)(struct iommu_domain *d, uint64_t iova, size_t size);
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
	struct iommu_device *owner; /* the driver instance that made it (holds a reference) */
	unsigned int attached; /* endpoints attached, atomic; must be 0 at free */
	uint32_t alloc_flags; /* IOMMU_HWPT_ALLOC_* the domain was made with */
};

/* ------------------------------------------------------ reserved regions */

/* The kernel's enum iommu_resv_type. */
enum iommu_resv_type {
	IOMMU_RESV_DIRECT, /* must stay identity mapped */
	IOMMU_RESV_DIRECT_RELAXABLE, /* identity mapped, may be given up for assignment */
	IOMMU_RESV_RESERVED, /* never mapped */
	IOMMU_RESV_MSI, /* hardware MSI window */
	IOMMU_RESV_SW_MSI, /* software-managed MSI window */
};

struct iommu_resv_region {
	uint64_t start;
	uint64_t length;
	int prot;
	enum iommu_resv_type type;
};

/* --------------------------------------------------- the IOMMU instance */

/* The kernel's enum iommu_cap (the values iommufd asks about). */
enum iommu_cap {
	IOMMU_CAP_CACHE_COHERENCY,
	IOMMU_CAP_NOEXEC,
	IOMMU_CAP_PRE_BOOT_PROTECTION,
	IOMMU_CAP_ENFORCE_CACHE_COHERENCY,
	IOMMU_CAP_DEFERRED_FLUSH,
	IOMMU_CAP_DIRTY_TRACKING,
};

/* Driver-wide operations of an IOMMU instance. */
struct iommu_device_ops {
	const char *name; /* driver name, a static string (io_page_fault prints it) */
	/*
	 * Allocate an empty paging domain usable by @dev (may be NULL: any
	 * endpoint of this instance). @flags are IOMMU_HWPT_ALLOC_* values the
	 * core already validated against what iommufd knows; the driver answers
	 * -EOPNOTSUPP for flags it cannot honour. The core sets d->owner,
	 * d->mach and d->alloc_flags after a successful call.
	 */
	int (*domain_alloc_paging)(struct iommu_device *iommu, struct iommu_dev *dev,
				   uint32_t flags, struct iommu_domain **out);
	/*
	 * Put @dev in the blocked state (no DMA translates): what detaching
	 * means. Never fails. Optional.
	 */
	void (*block_dev)(struct iommu_dev *dev);
	/*
	 * Copy up to @max reserved regions of @dev into @out; return how many
	 * @dev has (which may exceed @max), or a negative errno. Optional.
	 */
	int (*get_resv_regions)(struct iommu_dev *dev, struct iommu_resv_region *out, size_t max);
	/*
	 * Describe the hardware. *@type is the requested IOMMU_HW_INFO_TYPE_*
	 * (0 = the driver's default) and returns the type written. Copies
	 * min(@len, size of the data) bytes to @buf and returns the full size,
	 * or a negative errno (-EOPNOTSUPP for a type the driver lacks).
	 * NULL: the driver reports IOMMU_HW_INFO_TYPE_NONE with no data.
	 */
	long (*hw_info)(struct iommu_dev *dev, uint32_t *type, void *buf, size_t len);
	bool (*capable)(struct iommu_dev *dev, enum iommu_cap cap);
	/* Free the instance once its last reference is gone. */
	void (*release)(struct iommu_device *iommu);
};

struct iommu_device {
	const struct iommu_device_ops *ops;
	struct mach *mach;
	unsigned int refs; /* atomic; the creator holds the first */
	void *priv; /* driver data */
};

/* Initialise an instance the driver embedded in its own structure (refs = 1). */
void iommu_device_init(struct iommu_device *iommu, const struct iommu_device_ops *ops,
		       struct mach *m);
void iommu_device_get(struct iommu_device *iommu);
/* Drop a reference; the last one calls ops->release. */
void iommu_device_put(struct iommu_device *iommu);

/* ------------------------------------------------------------ endpoints */

#define IOMMU_DEV_MAX_RESV 8

/* An endpoint as the iommu core sees it (the kernel's struct device + dev_iommu). */
struct iommu_dev {
	uint32_t id; /* requester / stream / function id on its bus */
	const char *name; /* must outlive the trace context (static or long-lived) */
	struct iommu_device *iommu; /* the instance it sits behind (holds a reference) */
	struct iommu_domain *domain; /* current domain, NULL = blocked; under the caller's lock */
	uint32_t max_pasids; /* 0: no PASID capability, else 1 << width */
	uint32_t pasid_caps; /* IOMMU_HW_CAP_PCI_PASID_EXEC / _PRIV */
	bool pci; /* a PCI function (PASID caps are reported for PCI only) */
	void *dma_owner; /* who claimed it (an iommufd device), atomic; NULL = none */
	void *priv; /* driver data */
};

/*
 * Claim @dev for user-space DMA (the kernel's iommu_device_claim_dma_owner):
 * -EBUSY when another owner holds it. Release never fails.
 */
int iommu_dev_claim(struct iommu_dev *dev, void *owner);
void iommu_dev_unclaim(struct iommu_dev *dev, void *owner);

/* Bind @dev to @iommu (takes a reference) in the blocked state. */
void iommu_dev_init(struct iommu_dev *dev, struct iommu_device *iommu, uint32_t id,
		    const char *name);
/* The endpoint must be detached. Drops the reference on its instance. */
void iommu_dev_release(struct iommu_dev *dev);

/* Allocate a paging domain for @dev; @flags as domain_alloc_paging. 0 or -errno. */
int iommu_domain_alloc_paging(struct iommu_dev *dev, uint32_t flags, struct iommu_domain **out);
/* True when @d may be attached to @dev (same driver). */
bool iommu_domain_compatible(const struct iommu_domain *d, const struct iommu_dev *dev);

/*
 * Attach a blocked @dev to @d: -EBUSY when @dev is attached already,
 * -EINVAL when @d belongs to another driver, or the driver's error.
 */
int iommu_attach_device(struct iommu_domain *d, struct iommu_dev *dev);
/* Back to blocked. Never fails. */
void iommu_detach_device(struct iommu_domain *d, struct iommu_dev *dev);
/*
 * Move an attached (or blocked) @dev to @d without passing through the
 * blocked state. On failure @dev still uses its old domain.
 */
int iommu_replace_device(struct iommu_dev *dev, struct iommu_domain *d);

/* Copy up to @max reserved regions; returns how many @dev has, or -errno. */
int iommu_get_resv_regions(struct iommu_dev *dev, struct iommu_resv_region *out, size_t max);
bool iommu_dev_capable(struct iommu_dev *dev, enum iommu_cap cap);
/* As ops->hw_info, with NONE / no data when the driver has none. */
long iommu_dev_hw_info(struct iommu_dev *dev, uint32_t *type, void *buf, size_t len);

/*
 * Report a translation fault of @dev at @iova (IOMMU_FAULT_READ/WRITE in
 * @flags): emits iommu:io_page_fault. Returns -ENOSYS: nobody handled it
 * (fault objects hook in here later).
 */
#define IOMMU_FAULT_READ 0x0
#define IOMMU_FAULT_WRITE 0x1
int iommu_report_fault(struct iommu_dev *dev, uint64_t iova, int flags);

/*
 * The page size iommu_map would use at (iova, paddr) with @size bytes left,
 * and in *count how many of them in a row before a larger size becomes
 * possible. Exposed for drivers and tests.
 */
size_t iommu_pgsize(const struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t size,
		    size_t *count);

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
