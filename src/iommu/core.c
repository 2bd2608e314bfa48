/* SPDX-License-Identifier: MIT */
/*
 * The iommu core: page-size splitting, map/unmap with gathered
 * invalidation, and moving endpoints between domains.
 *
 * Splitting (iommu_pgsize): at each step the page size is the largest one
 * in the domain's pgsize_bitmap that is no larger than what is left and to
 * which both iova and paddr are aligned. The step covers as many pages of
 * that size as fit before the addresses reach an alignment where a larger
 * size becomes usable, so one driver call maps a whole run of equal pages.
 * A larger size can only ever become usable when iova and paddr agree
 * modulo it; when they do not, the run extends to the end.
 *
 * Map: iommu_map validates alignment against the smallest page size,
 * calls map_pages once per run and, on failure, unmaps whatever was mapped
 * by this call before returning the error, so a failed map leaves the
 * domain as it was. iommu:map is emitted once, on success, with the
 * caller's whole range (as the kernel does).
 *
 * Unmap: iommu_unmap_fast walks the range in the same runs and lets the
 * driver add each run to the gather; nothing is invalidated until
 * iommu_iotlb_sync. It stops at the first run the driver reports as not
 * mapped. iommu:unmap is emitted once per call with the requested size and
 * the size actually unmapped.
 *
 * Attach: an endpoint's current domain (iommu_dev::domain) changes only
 * here, under the caller's serialisation. Each attached endpoint counts in
 * domain->attached so a domain cannot be freed while in use (asserted).
 *
 * Locking: none of its own. map/unmap only read immutable domain fields and
 * call the driver, which handles concurrency on disjoint ranges.
 */
#include <assert.h>
#include <errno.h>

#include <iommusim/fault.h>
#include <iommusim/machine.h>
#include <iommusim/trace.h>

#include "iommu/iommu.h"
#include "lib/util.h"

static struct trace_ctx *domain_trace(const struct iommu_domain *d)
{
	return d->mach ? mach_trace(d->mach) : NULL;
}

/* ------------------------------------------------------ page-size split */

size_t iommu_pgsize(const struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t size,
		    size_t *count)
{
	uint64_t bitmap = d->pgsize_bitmap;
	uint64_t addr_merge = iova | paddr;
	uint64_t candidates, larger, pgsize, next, to_next;
	unsigned int shift;

	/* Sizes no larger than what is left... */
	candidates = bitmap & (fls64(size) >= 64 ? ~0ULL : ((1ULL << fls64(size)) - 1));
	/* ...and to which both addresses are aligned. */
	if (addr_merge)
		candidates &=
			(1ULL << (ffs64(addr_merge) - 1)) | ((1ULL << (ffs64(addr_merge) - 1)) - 1);
	assert(candidates);
	shift = fls64(candidates) - 1;
	pgsize = 1ULL << shift;

	/* How far until the next larger size could start being used? */
	larger = bitmap & ~((pgsize << 1) - 1);
	if (shift == 63)
		larger = 0;
	if (larger) {
		next = 1ULL << (ffs64(larger) - 1);
		to_next = next - (addr_merge & (next - 1));
		/*
		 * Only if iova and paddr can both be aligned to it at the same
		 * time, and a whole larger page still fits after getting there.
		 */
		if (!((iova ^ paddr) & (next - 1)) && to_next + next <= size)
			size = to_next;
	}
	if (count)
		*count = size >> shift;
	return pgsize;
}

static size_t min_pgsize(const struct iommu_domain *d)
{
	return (size_t)1 << (ffs64(d->pgsize_bitmap) - 1);
}

/* -------------------------------------------------------------- map */

static int iommu_map_nosync(struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t size,
			    int prot)
{
	const struct iommu_domain_ops *ops = d->ops;
	uint64_t orig_iova = iova;
	size_t orig_size = size;
	size_t min_sz;
	int rc = 0;

	if (!ops || !ops->map_pages || d->type != IOMMU_DOMAIN_PAGING || !d->pgsize_bitmap)
		return -ENODEV;
	min_sz = min_pgsize(d);
	if (!IS_ALIGNED(iova | paddr | size, min_sz))
		return -EINVAL;
	if (size == 0)
		return 0;
	if (iova + size - 1 < iova)
		return -EOVERFLOW;

	while (size) {
		size_t count, pgsize, mapped = 0;

		pgsize = iommu_pgsize(d, iova, paddr, size, &count);
		rc = ops->map_pages(d, iova, paddr, pgsize, count, prot, &mapped);
		size -= mapped;
		iova += mapped;
		paddr += mapped;
		if (rc)
			break;
		/* A driver that mapped less without an error would loop forever. */
		if (!mapped) {
			rc = -EIO;
			break;
		}
	}
	if (rc) {
		/* Leave the domain as it was: undo what this call mapped. */
		if (orig_size - size)
			iommu_unmap(d, orig_iova, orig_size - size);
		return rc;
	}
	return 0;
}

int iommu_map(struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t size, int prot)
{
	int rc;

	rc = iommu_map_nosync(d, iova, paddr, size, prot);
	if (rc)
		return rc;
	if (d->ops->iotlb_sync_map && size) {
		rc = d->ops->iotlb_sync_map(d, iova, size);
		if (rc) {
			iommu_unmap(d, iova, size);
			return rc;
		}
	}
	if (size)
		TRACE(domain_trace(d), iommu_map, iova, iova + size, paddr, size);
	return 0;
}

/* ------------------------------------------------------------ unmap */

size_t iommu_unmap_fast(struct iommu_domain *d, uint64_t iova, size_t size,
			struct iommu_iotlb_gather *gather)
{
	const struct iommu_domain_ops *ops = d->ops;
	uint64_t orig_iova = iova;
	size_t unmapped = 0;

	if (!ops || !ops->unmap_pages || d->type != IOMMU_DOMAIN_PAGING || !d->pgsize_bitmap)
		return 0;
	if (!IS_ALIGNED(iova | size, min_pgsize(d)) || size == 0)
		return 0;
	if (iova + size - 1 < iova)
		return 0;

	while (unmapped < size) {
		size_t count, pgsize, done;

		pgsize = iommu_pgsize(d, iova, iova, size - unmapped, &count);
		done = ops->unmap_pages(d, iova, pgsize, count, gather);
		if (!done)
			break;
		iova += done;
		unmapped += done;
	}
	TRACE(domain_trace(d), iommu_unmap, orig_iova, orig_iova + size, size, unmapped);
	return unmapped;
}

void iommu_iotlb_sync(struct iommu_domain *d, struct iommu_iotlb_gather *gather)
{
	if (d->ops && d->ops->iotlb_sync && !iommu_iotlb_gather_empty(gather))
		d->ops->iotlb_sync(d, gather);
	iommu_iotlb_gather_init(gather);
}

size_t iommu_unmap(struct iommu_domain *d, uint64_t iova, size_t size)
{
	struct iommu_iotlb_gather gather;
	size_t ret;

	iommu_iotlb_gather_init(&gather);
	ret = iommu_unmap_fast(d, iova, size, &gather);
	iommu_iotlb_sync(d, &gather);
	return ret;
}

uint64_t iommu_iova_to_phys(struct iommu_domain *d, uint64_t iova)
{
	if (d->type == IOMMU_DOMAIN_IDENTITY)
		return iova;
	if (d->type != IOMMU_DOMAIN_PAGING || !d->ops || !d->ops->iova_to_phys)
		return 0;
	return d->ops->iova_to_phys(d, iova);
}

/* ---------------------------------------------------- domains, devices */

void iommu_device_init(struct iommu_device *iommu, const struct iommu_device_ops *ops,
		       struct mach *m)
{
	iommu->ops = ops;
	iommu->mach = m;
	iommu->refs = 1;
	iommu->priv = NULL;
}

void iommu_device_get(struct iommu_device *iommu)
{
	__atomic_add_fetch(&iommu->refs, 1, __ATOMIC_RELAXED);
}

void iommu_device_put(struct iommu_device *iommu)
{
	if (!iommu)
		return;
	if (__atomic_sub_fetch(&iommu->refs, 1, __ATOMIC_ACQ_REL) == 0 && iommu->ops->release)
		iommu->ops->release(iommu);
}

void iommu_dev_init(struct iommu_dev *dev, struct iommu_device *iommu, uint32_t id,
		    const char *name)
{
	dev->id = id;
	dev->name = name ? name : "iommu_dev";
	dev->iommu = iommu;
	dev->domain = NULL;
	dev->max_pasids = 0;
	dev->pasid_caps = 0;
	dev->pci = false;
	dev->dma_owner = NULL;
	dev->priv = NULL;
	iommu_device_get(iommu);
}

void iommu_dev_release(struct iommu_dev *dev)
{
	assert(!dev->domain);
	iommu_device_put(dev->iommu);
	dev->iommu = NULL;
}

int iommu_dev_claim(struct iommu_dev *dev, void *owner)
{
	void *expected = NULL;

	if (!__atomic_compare_exchange_n(&dev->dma_owner, &expected, owner, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return -EBUSY;
	return 0;
}

void iommu_dev_unclaim(struct iommu_dev *dev, void *owner)
{
	void *expected = owner;

	__atomic_compare_exchange_n(&dev->dma_owner, &expected, NULL, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
}

int iommu_domain_alloc_paging(struct iommu_dev *dev, uint32_t flags, struct iommu_domain **out)
{
	struct iommu_device *iommu = dev->iommu;
	struct iommu_domain *d = NULL;
	int rc;

	if (!iommu->ops->domain_alloc_paging)
		return -EOPNOTSUPP;
	rc = iommu->ops->domain_alloc_paging(iommu, dev, flags, &d);
	if (rc)
		return rc;
	d->owner = iommu;
	d->mach = iommu->mach;
	d->alloc_flags = flags;
	d->attached = 0;
	iommu_device_get(iommu);
	*out = d;
	return 0;
}

void iommu_domain_free(struct iommu_domain *d)
{
	struct iommu_device *owner;

	if (!d)
		return;
	assert(__atomic_load_n(&d->attached, __ATOMIC_RELAXED) == 0);
	owner = d->owner;
	if (d->ops && d->ops->free)
		d->ops->free(d);
	iommu_device_put(owner);
}

bool iommu_domain_compatible(const struct iommu_domain *d, const struct iommu_dev *dev)
{
	return d->owner && dev->iommu && d->owner->ops == dev->iommu->ops;
}

static int domain_attach_dev(struct iommu_domain *d, struct iommu_dev *dev)
{
	int rc = 0;

	if (!iommu_domain_compatible(d, dev))
		return -EINVAL;
	if (d->ops && d->ops->attach_dev)
		rc = d->ops->attach_dev(d, dev);
	if (rc)
		return rc;
	__atomic_add_fetch(&d->attached, 1, __ATOMIC_RELAXED);
	TRACE(domain_trace(d), iommu_attach_device_to_domain, TRACE_STR(dev->name));
	return 0;
}

int iommu_attach_device(struct iommu_domain *d, struct iommu_dev *dev)
{
	int rc;

	if (dev->domain)
		return -EBUSY;
	rc = domain_attach_dev(d, dev);
	if (rc)
		return rc;
	dev->domain = d;
	return 0;
}

void iommu_detach_device(struct iommu_domain *d, struct iommu_dev *dev)
{
	assert(dev->domain == d);
	if (dev->domain != d)
		return;
	if (dev->iommu->ops->block_dev)
		dev->iommu->ops->block_dev(dev);
	dev->domain = NULL;
	__atomic_sub_fetch(&d->attached, 1, __ATOMIC_RELAXED);
	TRACE(domain_trace(d), iommu_detach_device_from_domain, TRACE_STR(dev->name));
}

int iommu_replace_device(struct iommu_dev *dev, struct iommu_domain *d)
{
	struct iommu_domain *old = dev->domain;
	int rc;

	if (old == d)
		return 0;
	rc = domain_attach_dev(d, dev);
	if (rc)
		return rc;
	dev->domain = d;
	if (old)
		__atomic_sub_fetch(&old->attached, 1, __ATOMIC_RELAXED);
	return 0;
}

int iommu_get_resv_regions(struct iommu_dev *dev, struct iommu_resv_region *out, size_t max)
{
	if (!dev->iommu->ops->get_resv_regions)
		return 0;
	return dev->iommu->ops->get_resv_regions(dev, out, max);
}

bool iommu_dev_capable(struct iommu_dev *dev, enum iommu_cap cap)
{
	return dev->iommu->ops->capable && dev->iommu->ops->capable(dev, cap);
}

long iommu_dev_hw_info(struct iommu_dev *dev, uint32_t *type, void *buf, size_t len)
{
	if (!dev->iommu->ops->hw_info) {
		*type = 0; /* IOMMU_HW_INFO_TYPE_NONE */
		return 0;
	}
	return dev->iommu->ops->hw_info(dev, type, buf, len);
}

int iommu_report_fault(struct iommu_dev *dev, uint64_t iova, int flags)
{
	struct trace_ctx *tc = dev->iommu->mach ? mach_trace(dev->iommu->mach) : NULL;

	TRACE(tc, iommu_io_page_fault, TRACE_STR(dev->iommu->ops->name), TRACE_STR(dev->name), iova,
	      (uint64_t)(unsigned int)flags);
	return -ENOSYS;
}
