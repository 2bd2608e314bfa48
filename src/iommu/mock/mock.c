/* SPDX-License-Identifier: MIT */
/*
 * The mock IOMMU driver (see mock.h for what it models).
 *
 * Page table: a radix tree over the IOVA page number (iova >> 11), 9 bits
 * per level, 6 levels (level 0 = leaf, 512 entries of 2 KiB each; level 5
 * uses the top 8 bits). A slot above the leaves holds 0 (empty), a pointer
 * to the next node (low bit clear, nodes are 8-byte aligned), or, at level
 * 1 only, a huge entry (low bit set) mapping 1 MiB at once. A leaf entry is
 * the 2 KiB-aligned physical address ORed with MOCK_PTE_* flags; 0 means
 * not mapped.
 *
 * Invariants:
 *  - Nodes are never freed before the domain is: once a slot points at a
 *    node it keeps pointing at it. That is what makes lock-free walks safe
 *    against concurrent map/unmap, at the cost of keeping empty nodes.
 *  - A huge range is represented either by a level-1 huge entry (when the
 *    slot was empty) or by 512 leaf entries flagged HUGE (when a leaf node
 *    already existed there from an earlier small mapping); lookups and
 *    unmaps accept both.
 *
 * Concurrency: map and unmap of disjoint IOVA ranges may run in parallel.
 * Intermediate nodes are installed with compare-and-swap (the loser frees
 * its node and follows the winner's); leaf entries are installed with
 * compare-and-swap too (a non-zero old value is a double map: -EEXIST) and
 * cleared with an atomic exchange. Lookups use acquire loads only.
 * Counters are atomics.
 *
 * Fault injection: "mock.map_pages" (class ALLOC, answered -ENOENT as the
 * kernel mock's own failure point does), "mock.pt_node", "mock.domain",
 * "mock.iommu", "mock.dev" (allocations).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/iommufd.h>
#include <iommusim/iommufd_test.h>
#include <iommusim/machine.h>

#include "iommu/mock/mock.h"
#include "lib/util.h"

#define MOCK_LEVELS 6
#define MOCK_BITS 9
#define MOCK_SLOTS (1u << MOCK_BITS)
#define MOCK_PAGE_SHIFT 11

#define MOCK_PTE_VALID (1ULL << 0)
#define MOCK_PTE_START (1ULL << 1) /* first page of a map_pages call */
#define MOCK_PTE_LAST (1ULL << 2) /* last page of a map_pages call */
#define MOCK_PTE_HUGE (1ULL << 3) /* part of a 1 MiB mapping */
#define MOCK_PTE_READ (1ULL << 4)
#define MOCK_PTE_WRITE (1ULL << 5)
#define MOCK_PTE_ADDR_MASK (~(MOCK_IO_PAGE_SIZE - 1))

_Static_assert(MOCK_IO_PAGE_SIZE == (1ULL << MOCK_PAGE_SHIFT), "mock page shift");
_Static_assert(MOCK_HUGE_PAGE_SIZE == (1ULL << (MOCK_PAGE_SHIFT + MOCK_BITS)), "mock huge size");

struct mock_node {
	uint64_t slot[MOCK_SLOTS];
};

struct mock_iommu {
	struct iommu_device iommu; /* first: container_of and the ops check */
	struct iommu_resv_region resv[MOCK_MAX_RESV];
	unsigned int nresv;
};

struct mock_dev {
	struct iommu_dev dev;
	uint32_t flags;
};

struct mock_domain {
	struct iommu_domain domain;
	struct fault_ctx *fc;
	struct mock_node *root;
	bool check_markers; /* the kernel mock checks START/LAST only without huge pages */
	uint64_t iotlb_syncs;
	uint64_t flush_all;
	uint64_t table_nodes;
	uint64_t warnings;
	int64_t mapped_bytes;
};

static const struct iommu_domain_ops mock_domain_ops;
static const struct iommu_device_ops mock_iommu_ops;

static struct mock_domain *to_mock_domain(struct iommu_domain *d)
{
	return container_of(d, struct mock_domain, domain);
}

static struct mock_iommu *to_mock_iommu(struct iommu_device *iommu)
{
	return container_of(iommu, struct mock_iommu, iommu);
}

static struct mock_dev *to_mock_dev(struct iommu_dev *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

static unsigned int mock_idx(uint64_t iova, unsigned int level)
{
	return (unsigned int)(iova >> (MOCK_PAGE_SHIFT + MOCK_BITS * level)) & (MOCK_SLOTS - 1);
}

static void mock_warn(struct mock_domain *md)
{
	__atomic_add_fetch(&md->warnings, 1, __ATOMIC_RELAXED);
}

static uint64_t prot_bits(int prot)
{
	return ((prot & IOMMU_READ) ? MOCK_PTE_READ : 0) |
	       ((prot & IOMMU_WRITE) ? MOCK_PTE_WRITE : 0);
}

/*
 * Descend to the node at @target level covering @iova, creating missing
 * nodes when @alloc. -ENOENT: absent (no alloc); -ENOMEM; -EEXIST: a huge
 * entry sits where a table was needed (*huge_slot points at it).
 */
static int mock_walk(struct mock_domain *md, uint64_t iova, unsigned int target, bool alloc,
		     struct mock_node **out, uint64_t **huge_slot)
{
	struct mock_node *node = md->root;

	for (unsigned int lvl = MOCK_LEVELS - 1; lvl > target; lvl--) {
		uint64_t *slot = &node->slot[mock_idx(iova, lvl)];
		uint64_t v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

		if (!v) {
			struct mock_node *n;
			uint64_t expected = 0;

			if (!alloc)
				return -ENOENT;
			n = fault_zalloc(md->fc, "mock.pt_node", sizeof(*n));
			if (!n)
				return -ENOMEM;
			if (__atomic_compare_exchange_n(slot, &expected, (uint64_t)(uintptr_t)n,
							false, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				v = (uint64_t)(uintptr_t)n;
				__atomic_add_fetch(&md->table_nodes, 1, __ATOMIC_RELAXED);
			} else {
				fault_free(n); /* another thread won: use its node */
				v = expected;
			}
		}
		if (v & MOCK_PTE_VALID) {
			if (huge_slot)
				*huge_slot = slot;
			return -EEXIST;
		}
		node = (struct mock_node *)(uintptr_t)v;
	}
	*out = node;
	return 0;
}

/* ------------------------------------------------------------------ map */

static int mock_map_small(struct mock_domain *md, uint64_t iova, uint64_t paddr, size_t npages,
			  uint64_t flags, uint64_t first_flag, uint64_t last_flag, size_t *mapped)
{
	while (npages) {
		struct mock_node *leaf;
		unsigned int i = mock_idx(iova, 0);
		int rc;

		rc = mock_walk(md, iova, 0, true, &leaf, NULL);
		if (rc) {
			if (rc == -EEXIST)
				mock_warn(md);
			return rc;
		}
		for (; i < MOCK_SLOTS && npages; i++, npages--) {
			uint64_t expected = 0;
			uint64_t e = paddr | flags | MOCK_PTE_VALID;

			if (first_flag) {
				e |= first_flag;
				first_flag = 0;
			}
			if (npages == 1)
				e |= last_flag;
			if (!__atomic_compare_exchange_n(&leaf->slot[i], &expected, e, false,
							 __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
				mock_warn(md);
				return -EEXIST;
			}
			*mapped += MOCK_IO_PAGE_SIZE;
			iova += MOCK_IO_PAGE_SIZE;
			paddr += MOCK_IO_PAGE_SIZE;
		}
	}
	return 0;
}

static int mock_map_huge(struct mock_domain *md, uint64_t iova, uint64_t paddr, uint64_t flags,
			 uint64_t marker_first, uint64_t marker_last, size_t *mapped)
{
	struct mock_node *l1;
	uint64_t *slot, expected = 0, v;
	size_t done = 0;
	int rc;

	rc = mock_walk(md, iova, 1, true, &l1, NULL);
	if (rc) {
		if (rc == -EEXIST)
			mock_warn(md);
		return rc;
	}
	slot = &l1->slot[mock_idx(iova, 1)];
	v = paddr | flags | MOCK_PTE_VALID | MOCK_PTE_HUGE | marker_first | marker_last;
	if (__atomic_compare_exchange_n(slot, &expected, v, false, __ATOMIC_RELEASE,
					__ATOMIC_ACQUIRE)) {
		*mapped += MOCK_HUGE_PAGE_SIZE;
		return 0;
	}
	if (expected & MOCK_PTE_VALID) {
		mock_warn(md);
		return -EEXIST;
	}
	/* A leaf node already lives here: write the huge page as 512 flagged entries. */
	rc = mock_map_small(md, iova, paddr, MOCK_SLOTS, flags | MOCK_PTE_HUGE, marker_first,
			    marker_last, &done);
	*mapped += done;
	return rc;
}

static int mock_map_pages(struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t pgsize,
			  size_t pgcount, int prot, size_t *mapped)
{
	struct mock_domain *md = to_mock_domain(d);
	uint64_t flags = prot_bits(prot);
	size_t before = *mapped;
	int rc = 0;

	if (fault_should_fail(md->fc, FAULT_CLASS_ALLOC, "mock.map_pages"))
		return -ENOENT;
	if ((iova | paddr) % MOCK_IO_PAGE_SIZE || pgsize % MOCK_IO_PAGE_SIZE ||
	    !(d->pgsize_bitmap & pgsize)) {
		mock_warn(md);
		return -EINVAL;
	}

	if (pgsize == MOCK_IO_PAGE_SIZE) {
		rc = mock_map_small(md, iova, paddr, pgcount, flags, MOCK_PTE_START, MOCK_PTE_LAST,
				    mapped);
	} else {
		for (size_t n = 0; n < pgcount && !rc; n++) {
			rc = mock_map_huge(md, iova, paddr, flags, n == 0 ? MOCK_PTE_START : 0,
					   n + 1 == pgcount ? MOCK_PTE_LAST : 0, mapped);
			iova += pgsize;
			paddr += pgsize;
		}
	}
	__atomic_add_fetch(&md->mapped_bytes, (int64_t)(*mapped - before), __ATOMIC_RELAXED);
	return rc;
}

/* ---------------------------------------------------------------- unmap */

/* Clear one leaf entry; returns the old value. */
static uint64_t mock_clear(uint64_t *slot)
{
	if (!__atomic_load_n(slot, __ATOMIC_RELAXED))
		return 0;
	return __atomic_exchange_n(slot, 0, __ATOMIC_ACQ_REL);
}

static size_t mock_unmap_pages(struct iommu_domain *d, uint64_t iova, size_t pgsize, size_t pgcount,
			       struct iommu_iotlb_gather *gather)
{
	struct mock_domain *md = to_mock_domain(d);
	uint64_t start = iova, end = iova + pgsize * pgcount;
	int64_t cleared = 0;
	bool first = true;

	if (iova % MOCK_IO_PAGE_SIZE || pgsize % MOCK_IO_PAGE_SIZE) {
		mock_warn(md);
		return 0;
	}

	while (iova < end) {
		struct mock_node *node;
		uint64_t *huge = NULL;
		uint64_t old;
		int rc;

		if (pgsize >= MOCK_HUGE_PAGE_SIZE && IS_ALIGNED(iova, MOCK_HUGE_PAGE_SIZE)) {
			/* A whole 1 MiB slot: a huge entry or a leaf node to empty. */
			rc = mock_walk(md, iova, 1, false, &node, &huge);
			if (rc == 0) {
				uint64_t *slot = &node->slot[mock_idx(iova, 1)];
				uint64_t v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

				if (v & MOCK_PTE_VALID) {
					if (mock_clear(slot))
						cleared += MOCK_HUGE_PAGE_SIZE;
				} else if (v) {
					struct mock_node *leaf = (struct mock_node *)(uintptr_t)v;

					for (unsigned int i = 0; i < MOCK_SLOTS; i++)
						if (mock_clear(&leaf->slot[i]))
							cleared += MOCK_IO_PAGE_SIZE;
				}
			}
			iova += MOCK_HUGE_PAGE_SIZE;
			first = false;
			continue;
		}

		rc = mock_walk(md, iova, 0, false, &node, &huge);
		if (rc == -EEXIST) {
			/* A small unmap inside a huge entry: allowed only on its boundary. */
			if (!IS_ALIGNED(iova, MOCK_HUGE_PAGE_SIZE) ||
			    end - iova < MOCK_HUGE_PAGE_SIZE) {
				mock_warn(md);
				end = iova;
				break;
			}
			if (mock_clear(huge))
				cleared += MOCK_HUGE_PAGE_SIZE;
			iova += MOCK_HUGE_PAGE_SIZE;
			first = false;
			continue;
		}
		if (rc) {
			/* No leaf node: skip to the next one (nothing mapped there). */
			iova = ALIGN_DOWN(iova, MOCK_HUGE_PAGE_SIZE) + MOCK_HUGE_PAGE_SIZE;
			first = false;
			continue;
		}
		for (unsigned int i = mock_idx(iova, 0); i < MOCK_SLOTS && iova < end; i++) {
			old = mock_clear(&node->slot[i]);
			if (old) {
				cleared += MOCK_IO_PAGE_SIZE;
				/*
				 * iommufd unmaps exactly what it mapped, so a run
				 * starts where a map started and ends where one ended.
				 */
				if (md->check_markers && first && !(old & MOCK_PTE_START))
					mock_warn(md);
				if (md->check_markers && iova + MOCK_IO_PAGE_SIZE == end &&
				    !(old & MOCK_PTE_LAST))
					mock_warn(md);
			}
			first = false;
			iova += MOCK_IO_PAGE_SIZE;
		}
	}
	if (iova > end)
		iova = end;
	__atomic_sub_fetch(&md->mapped_bytes, cleared, __ATOMIC_RELAXED);
	if (end > start)
		iommu_iotlb_gather_add_range(gather, start, end - start);
	/* Like the kernel mock, holes count as unmapped: the caller's range is done. */
	return end - start;
}

/* --------------------------------------------------------------- lookup */

int mock_domain_lookup(struct iommu_domain *d, uint64_t iova, struct mock_pte *pte)
{
	struct mock_domain *md = to_mock_domain(d);
	struct mock_node *leaf;
	uint64_t *huge = NULL, e, pgsize;
	int rc;

	rc = mock_walk(md, iova, 0, false, &leaf, &huge);
	if (rc == -EEXIST) {
		e = __atomic_load_n(huge, __ATOMIC_ACQUIRE);
		pgsize = MOCK_HUGE_PAGE_SIZE;
		if (!(e & MOCK_PTE_VALID))
			return -ENOENT; /* unmapped and replaced meanwhile */
	} else if (rc) {
		return -ENOENT;
	} else {
		e = __atomic_load_n(&leaf->slot[mock_idx(iova, 0)], __ATOMIC_ACQUIRE);
		pgsize = (e & MOCK_PTE_HUGE) ? MOCK_HUGE_PAGE_SIZE : MOCK_IO_PAGE_SIZE;
		if (!e)
			return -ENOENT;
		/* Flagged-huge leaf entries each map their own 2 KiB. */
		if (e & MOCK_PTE_HUGE) {
			pte->paddr = (e & MOCK_PTE_ADDR_MASK) + (iova & (MOCK_IO_PAGE_SIZE - 1));
			goto fill;
		}
	}
	pte->paddr = (e & MOCK_PTE_ADDR_MASK & ~(pgsize - 1)) + (iova & (pgsize - 1));
fill:
	pte->pgsize = pgsize;
	pte->prot =
		((e & MOCK_PTE_READ) ? IOMMU_READ : 0) | ((e & MOCK_PTE_WRITE) ? IOMMU_WRITE : 0);
	pte->start = e & MOCK_PTE_START;
	pte->last = e & MOCK_PTE_LAST;
	return 0;
}

static uint64_t mock_iova_to_phys(struct iommu_domain *d, uint64_t iova)
{
	struct mock_pte pte;

	if (mock_domain_lookup(d, iova, &pte))
		return 0;
	return pte.paddr;
}

static void mock_iotlb_sync(struct iommu_domain *d, struct iommu_iotlb_gather *gather)
{
	__atomic_add_fetch(&to_mock_domain(d)->iotlb_syncs, 1, __ATOMIC_RELAXED);
}

static void mock_flush_iotlb_all(struct iommu_domain *d)
{
	__atomic_add_fetch(&to_mock_domain(d)->flush_all, 1, __ATOMIC_RELAXED);
}

static void mock_free_node(struct mock_node *n, unsigned int level)
{
	if (level > 0) {
		for (unsigned int i = 0; i < MOCK_SLOTS; i++) {
			uint64_t v = n->slot[i];

			if (v && !(v & MOCK_PTE_VALID))
				mock_free_node((struct mock_node *)(uintptr_t)v, level - 1);
		}
	}
	fault_free(n);
}

static void mock_domain_free(struct iommu_domain *d)
{
	struct mock_domain *md = to_mock_domain(d);

	mock_free_node(md->root, MOCK_LEVELS - 1);
	fault_free(md);
}

static int mock_attach_dev(struct iommu_domain *d, struct iommu_dev *dev)
{
	/* The kernel mock refuses only dirty-tracking domains on NO_DIRTY devices. */
	return 0;
}

void mock_domain_stats(struct iommu_domain *d, struct mock_domain_stats *st)
{
	struct mock_domain *md = to_mock_domain(d);

	st->iotlb_syncs = __atomic_load_n(&md->iotlb_syncs, __ATOMIC_RELAXED);
	st->flush_all = __atomic_load_n(&md->flush_all, __ATOMIC_RELAXED);
	st->mapped_bytes = (uint64_t)__atomic_load_n(&md->mapped_bytes, __ATOMIC_RELAXED);
	st->table_nodes = __atomic_load_n(&md->table_nodes, __ATOMIC_RELAXED);
	st->warnings = __atomic_load_n(&md->warnings, __ATOMIC_RELAXED);
}

bool iommu_domain_is_mock(const struct iommu_domain *d)
{
	return d && d->ops == &mock_domain_ops;
}

static const struct iommu_domain_ops mock_domain_ops = {
	.map_pages = mock_map_pages,
	.unmap_pages = mock_unmap_pages,
	.iova_to_phys = mock_iova_to_phys,
	.iotlb_sync = mock_iotlb_sync,
	.flush_iotlb_all = mock_flush_iotlb_all,
	.free = mock_domain_free,
	.attach_dev = mock_attach_dev,
};

/* ------------------------------------------------------------ instance */

static int mock_domain_alloc_paging(struct iommu_device *iommu, struct iommu_dev *dev,
				    uint32_t flags, struct iommu_domain **out)
{
	/* Dirty tracking is not modelled: refused as a driver without it would. */
	const uint32_t supported = IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_PASID;
	struct fault_ctx *fc = iommu->mach ? mach_fault(iommu->mach) : NULL;
	struct mock_domain *md;

	if (flags & ~supported)
		return -EOPNOTSUPP;
	md = fault_zalloc(fc, "mock.domain", sizeof(*md));
	if (!md)
		return -ENOMEM;
	md->root = fault_zalloc(fc, "mock.pt_node", sizeof(*md->root));
	if (!md->root) {
		fault_free(md);
		return -ENOMEM;
	}
	md->fc = fc;
	md->domain.type = IOMMU_DOMAIN_PAGING;
	md->domain.ops = &mock_domain_ops;
	md->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (dev && (to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_HUGE_IOVA))
		md->domain.pgsize_bitmap |= MOCK_HUGE_PAGE_SIZE;
	md->check_markers = !(md->domain.pgsize_bitmap & MOCK_HUGE_PAGE_SIZE);
	md->domain.geometry.aperture_start = MOCK_APERTURE_START;
	md->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	md->domain.geometry.force_aperture = true;
	*out = &md->domain;
	return 0;
}

static int mock_get_resv_regions(struct iommu_dev *dev, struct iommu_resv_region *out, size_t max)
{
	struct mock_iommu *mi = to_mock_iommu(dev->iommu);

	for (unsigned int i = 0; i < mi->nresv && i < max; i++)
		out[i] = mi->resv[i];
	return (int)mi->nresv;
}

static long mock_hw_info(struct iommu_dev *dev, uint32_t *type, void *buf, size_t len)
{
	struct iommu_test_hw_info info = {
		.flags = 0,
		.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL,
	};

	if (*type != IOMMU_HW_INFO_TYPE_DEFAULT && *type != IOMMU_HW_INFO_TYPE_SELFTEST)
		return -EOPNOTSUPP;
	*type = IOMMU_HW_INFO_TYPE_SELFTEST;
	memcpy(buf, &info, min(len, sizeof(info)));
	return sizeof(info);
}

static bool mock_capable(struct iommu_dev *dev, enum iommu_cap cap)
{
	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return true;
	default:
		/* IOMMU_CAP_DIRTY_TRACKING: the kernel's mock has it, ours does not (yet). */
		return false;
	}
}

static void mock_iommu_release(struct iommu_device *iommu)
{
	fault_free(to_mock_iommu(iommu));
}

static const struct iommu_device_ops mock_iommu_ops = {
	.name = "iommufd_mock",
	.domain_alloc_paging = mock_domain_alloc_paging,
	.get_resv_regions = mock_get_resv_regions,
	.hw_info = mock_hw_info,
	.capable = mock_capable,
	.release = mock_iommu_release,
};

/* @m may be NULL (unit tests): no fault injection, no tracing. */
int mock_iommu_create(struct mach *m, struct iommu_device **out)
{
	struct mock_iommu *mi;

	mi = fault_zalloc(m ? mach_fault(m) : NULL, "mock.iommu", sizeof(*mi));
	if (!mi)
		return -ENOMEM;
	iommu_device_init(&mi->iommu, &mock_iommu_ops, m);
	*out = &mi->iommu;
	return 0;
}

bool iommu_device_is_mock(const struct iommu_device *iommu)
{
	return iommu && iommu->ops == &mock_iommu_ops;
}

int mock_iommu_add_resv_region(struct iommu_device *iommu, uint64_t start, uint64_t length,
			       enum iommu_resv_type type)
{
	struct mock_iommu *mi = to_mock_iommu(iommu);

	if (!length || start + length - 1 < start)
		return -EINVAL;
	if (mi->nresv >= MOCK_MAX_RESV)
		return -ENOSPC;
	mi->resv[mi->nresv++] = (struct iommu_resv_region){
		.start = start,
		.length = length,
		.prot = IOMMU_READ | IOMMU_WRITE,
		.type = type,
	};
	return 0;
}

/*
 * Static names, so trace records can point at them after the device is gone:
 * "iommufd_mock<id>" in decimal for ids 0..63. MOCK_NAMES10_(t) is the ten
 * names of tens digit t (t empty: the single digits), pasting t before each
 * last digit.
 */
#define MOCK_NAME_(n) "iommufd_mock" #n
#define MOCK_NAMES10_(t)                                                                          \
	MOCK_NAME_(t##0), MOCK_NAME_(t##1), MOCK_NAME_(t##2), MOCK_NAME_(t##3), MOCK_NAME_(t##4), \
		MOCK_NAME_(t##5), MOCK_NAME_(t##6), MOCK_NAME_(t##7), MOCK_NAME_(t##8),           \
		MOCK_NAME_(t##9)
static const char *const mock_names[] = {
	MOCK_NAMES10_(),  MOCK_NAMES10_(1), MOCK_NAMES10_(2), MOCK_NAMES10_(3), MOCK_NAMES10_(4),
	MOCK_NAMES10_(5), MOCK_NAME_(60),   MOCK_NAME_(61),   MOCK_NAME_(62),	MOCK_NAME_(63),
};
_Static_assert(sizeof(mock_names) / sizeof(mock_names[0]) == 64, "ids 0..63 are named");

int mock_dev_create(struct iommu_device *iommu, uint32_t id, uint32_t dev_flags,
		    struct iommu_dev **out)
{
	const uint32_t valid =
		MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA | MOCK_FLAGS_DEVICE_PASID;
	struct mock_dev *md;

	if (!iommu_device_is_mock(iommu))
		return -EINVAL;
	if (dev_flags & ~valid)
		return -EINVAL;
	md = fault_zalloc(iommu->mach ? mach_fault(iommu->mach) : NULL, "mock.dev", sizeof(*md));
	if (!md)
		return -ENOMEM;
	md->flags = dev_flags;
	iommu_dev_init(&md->dev, iommu, id,
		       id < ARRAY_SIZE(mock_names) ? mock_names[id] : "iommufd_mock");
	if (dev_flags & MOCK_FLAGS_DEVICE_PASID)
		md->dev.max_pasids = 1u << MOCK_PASID_WIDTH;
	*out = &md->dev;
	return 0;
}

void mock_dev_destroy(struct iommu_dev *dev)
{
	if (!dev)
		return;
	iommu_dev_release(dev);
	fault_free(to_mock_dev(dev));
}

uint32_t mock_dev_flags(const struct iommu_dev *dev)
{
	return container_of(dev, const struct mock_dev, dev)->flags;
}
