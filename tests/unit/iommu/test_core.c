// SPDX-License-Identifier: MIT
/*
 * iommu core tests with a recording driver: page-size splitting (aligned,
 * unaligned iova, unaligned paddr, randomized against a page-by-page greedy
 * reference), rollback of a failed map, gathering and syncing of unmaps,
 * attach / detach / replace rules and the claim of an endpoint.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iommu/iommu.h"
#include "lib/util.h"

#define K4 0x1000ULL
#define M2 0x200000ULL
#define G1 0x40000000ULL

struct call {
	uint64_t iova, paddr;
	size_t pgsize, count;
};

struct rec_domain {
	struct iommu_domain d;
	struct call maps[4096];
	unsigned nmaps;
	struct call unmaps[4096];
	unsigned nunmaps;
	unsigned syncs;
	uint64_t sync_start, sync_end;
	int fail_map_at; /* fail the Nth map_pages call (1-based), 0 never */
	size_t partial; /* bytes the failing call still maps */
	int64_t mapped; /* bytes currently mapped */
};

static int rec_map(struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t pgsize,
		   size_t pgcount, int prot, size_t *mapped)
{
	struct rec_domain *r = container_of(d, struct rec_domain, d);

	cr_assert(IS_ALIGNED(iova, pgsize) && IS_ALIGNED(paddr, pgsize), "unaligned run");
	cr_assert(d->pgsize_bitmap & pgsize, "page size not in the bitmap");
	cr_assert(r->nmaps < 4096);
	r->maps[r->nmaps++] = (struct call){ iova, paddr, pgsize, pgcount };
	if (r->fail_map_at && (int)r->nmaps == r->fail_map_at) {
		*mapped += r->partial;
		r->mapped += (int64_t)r->partial;
		return -ENOMEM;
	}
	*mapped += pgsize * pgcount;
	r->mapped += (int64_t)(pgsize * pgcount);
	return 0;
}

static size_t rec_unmap(struct iommu_domain *d, uint64_t iova, size_t pgsize, size_t pgcount,
			struct iommu_iotlb_gather *g)
{
	struct rec_domain *r = container_of(d, struct rec_domain, d);

	cr_assert(r->nunmaps < 4096);
	r->unmaps[r->nunmaps++] = (struct call){ iova, 0, pgsize, pgcount };
	iommu_iotlb_gather_add_range(g, iova, pgsize * pgcount);
	r->mapped -= (int64_t)(pgsize * pgcount);
	return pgsize * pgcount;
}

static void rec_sync(struct iommu_domain *d, struct iommu_iotlb_gather *g)
{
	struct rec_domain *r = container_of(d, struct rec_domain, d);

	r->syncs++;
	r->sync_start = g->start;
	r->sync_end = g->end;
}

static int attach_rc;
static unsigned blocks;

static int rec_attach(struct iommu_domain *d, struct iommu_dev *dev)
{
	return attach_rc;
}

static void rec_free(struct iommu_domain *d)
{
	free(container_of(d, struct rec_domain, d));
}

static const struct iommu_domain_ops rec_ops = {
	.map_pages = rec_map,
	.unmap_pages = rec_unmap,
	.iotlb_sync = rec_sync,
	.attach_dev = rec_attach,
	.free = rec_free,
};

static uint64_t next_bitmap = K4 | M2 | G1;

static int rec_alloc(struct iommu_device *iommu, struct iommu_dev *dev, uint32_t flags,
		     struct iommu_domain **out)
{
	struct rec_domain *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->d.type = IOMMU_DOMAIN_PAGING;
	r->d.ops = &rec_ops;
	r->d.pgsize_bitmap = next_bitmap;
	*out = &r->d;
	return 0;
}

static void rec_block(struct iommu_dev *dev)
{
	blocks++;
}

static const struct iommu_device_ops rec_iommu_ops = {
	.name = "rec",
	.domain_alloc_paging = rec_alloc,
	.block_dev = rec_block,
};
static const struct iommu_device_ops other_iommu_ops = {
	.name = "other",
	.domain_alloc_paging = rec_alloc,
};

static struct iommu_device iommu, other;
static struct iommu_dev dev, dev2, odev;

static void setup(void)
{
	iommu_device_init(&iommu, &rec_iommu_ops, NULL);
	iommu_device_init(&other, &other_iommu_ops, NULL);
	iommu_dev_init(&dev, &iommu, 1, "dev1");
	iommu_dev_init(&dev2, &iommu, 2, "dev2");
	iommu_dev_init(&odev, &other, 3, "odev");
	attach_rc = 0;
	blocks = 0;
	next_bitmap = K4 | M2 | G1;
}

static struct rec_domain *new_domain(uint64_t bitmap)
{
	struct iommu_domain *d;

	next_bitmap = bitmap;
	cr_assert_eq(iommu_domain_alloc_paging(&dev, 0, &d), 0);
	return container_of(d, struct rec_domain, d);
}

TestSuite(core, .init = setup);

Test(core, split_aligned_runs)
{
	struct rec_domain *r = new_domain(K4 | M2 | G1);

	cr_assert_eq(iommu_map(&r->d, 0, 0, M2 + 3 * K4, IOMMU_READ), 0);
	cr_assert_eq(r->nmaps, 2);
	cr_assert_eq(r->maps[0].pgsize, M2);
	cr_assert_eq(r->maps[0].count, 1);
	cr_assert_eq(r->maps[1].iova, M2);
	cr_assert_eq(r->maps[1].pgsize, K4);
	cr_assert_eq(r->maps[1].count, 3);
	cr_assert_eq(iommu_unmap(&r->d, 0, M2 + 3 * K4), M2 + 3 * K4);
	cr_assert_eq(r->mapped, 0);
	iommu_domain_free(&r->d);
}

Test(core, split_unaligned_iova_start)
{
	struct rec_domain *r = new_domain(K4 | M2);
	uint64_t iova = 5 * M2 - 2 * K4;

	/* Same offset in iova and paddr: 2 small, 3 huge, then small to the end. */
	cr_assert_eq(iommu_map(&r->d, iova, iova + 7 * M2, 4 * M2, IOMMU_READ | IOMMU_WRITE), 0);
	cr_assert_eq(r->nmaps, 3);
	cr_assert_eq(r->maps[0].pgsize, K4);
	cr_assert_eq(r->maps[0].count, 2);
	cr_assert_eq(r->maps[1].iova, 5 * M2);
	cr_assert_eq(r->maps[1].pgsize, M2);
	cr_assert_eq(r->maps[1].count, 3);
	cr_assert_eq(r->maps[2].iova, 8 * M2);
	cr_assert_eq(r->maps[2].pgsize, K4);
	cr_assert_eq(r->maps[2].count, (M2 - 2 * K4) / K4);
	iommu_domain_free(&r->d);
}

Test(core, split_paddr_not_congruent)
{
	struct rec_domain *r = new_domain(K4 | M2);

	/* iova 2 MiB aligned, paddr only 4 KiB: no huge page can ever be used, one run. */
	cr_assert_eq(iommu_map(&r->d, 4 * M2, 4 * M2 + K4, 3 * M2, IOMMU_READ), 0);
	cr_assert_eq(r->nmaps, 1);
	cr_assert_eq(r->maps[0].pgsize, K4);
	cr_assert_eq(r->maps[0].count, 3 * M2 / K4);
	iommu_domain_free(&r->d);
}

Test(core, split_rejects_misaligned)
{
	struct rec_domain *r = new_domain(K4 | M2);

	cr_assert_eq(iommu_map(&r->d, K4 / 2, 0, K4, IOMMU_READ), -EINVAL);
	cr_assert_eq(iommu_map(&r->d, 0, 8, K4, IOMMU_READ), -EINVAL);
	cr_assert_eq(iommu_map(&r->d, 0, 0, K4 + 1, IOMMU_READ), -EINVAL);
	cr_assert_eq(r->nmaps, 0);
	cr_assert_eq(iommu_unmap(&r->d, 1, K4), 0);
	cr_assert_eq(r->nunmaps, 0);
	iommu_domain_free(&r->d);
}

/* Reference: page by page, the largest size fitting alignment and what is left. */
static size_t greedy(uint64_t bitmap, uint64_t iova, uint64_t paddr, uint64_t left)
{
	for (int b = 63; b >= 0; b--) {
		uint64_t sz = 1ULL << b;

		if ((bitmap & sz) && sz <= left && IS_ALIGNED(iova | paddr, sz))
			return sz;
	}
	return 0;
}

Test(core, split_random_matches_greedy)
{
	const uint64_t seed = 0x5eed1234;
	uint64_t s = seed;
	static const uint64_t bitmaps[] = { K4 | M2 | G1, K4 | 0x10000 | M2, 0x800 | 0x100000,
					    K4 | 0x8000 | 0x40000 | M2 };

	for (int iter = 0; iter < 300; iter++) {
		uint64_t bitmap = bitmaps[iter % 4], min = bitmap & -bitmap;
		struct rec_domain *r;
		uint64_t iova, paddr, size, ci, cp, left;

		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		iova = ((s >> 20) % (8 * 1024)) * min + ((iter & 1) ? G1 : 0);
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		paddr = (iter % 3 == 0) ? iova : ((s >> 20) % (8 * 1024)) * min;
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		size = (1 + (s >> 20) % 1024) * min * ((iter % 5 == 0) ? 64 : 1);

		r = new_domain(bitmap);
		cr_assert_eq(iommu_map(&r->d, iova, paddr, size, IOMMU_READ), 0,
			     "seed %#llx iter %d", (unsigned long long)seed, iter);
		ci = iova;
		cp = paddr;
		left = size;
		for (unsigned c = 0; c < r->nmaps; c++) {
			cr_assert_eq(r->maps[c].iova, ci);
			cr_assert_eq(r->maps[c].paddr, cp);
			for (size_t k = 0; k < r->maps[c].count; k++) {
				cr_assert_eq(r->maps[c].pgsize, greedy(bitmap, ci, cp, left),
					     "seed %#llx iter %d iova %#llx",
					     (unsigned long long)seed, iter,
					     (unsigned long long)ci);
				ci += r->maps[c].pgsize;
				cp += r->maps[c].pgsize;
				left -= r->maps[c].pgsize;
			}
			/* Runs are maximal: the next run uses another size. */
			if (c + 1 < r->nmaps)
				cr_assert_neq(r->maps[c].pgsize, r->maps[c + 1].pgsize);
		}
		cr_assert_eq(left, 0);
		cr_assert_eq(iommu_unmap(&r->d, iova, size), size);
		cr_assert_eq(r->mapped, 0);
		iommu_domain_free(&r->d);
	}
}

Test(core, failed_map_is_rolled_back)
{
	struct rec_domain *r = new_domain(K4 | M2);

	r->fail_map_at = 2;
	r->partial = 2 * K4;
	cr_assert_eq(iommu_map(&r->d, M2 - 4 * K4, M2 - 4 * K4, 2 * M2, IOMMU_READ), -ENOMEM);
	/* First run (4 x 4K) plus 2 pages of the failing one were undone. */
	cr_assert_eq(r->mapped, 0);
	cr_assert_geq(r->nunmaps, 1);
	cr_assert_eq(r->unmaps[0].iova, M2 - 4 * K4);
	cr_assert_eq(r->syncs, 1);
	iommu_domain_free(&r->d);
}

Test(core, unmap_gathers_then_syncs_once)
{
	struct rec_domain *r = new_domain(K4 | M2);
	struct iommu_iotlb_gather g;
	uint64_t iova = 3 * M2 - K4;

	cr_assert_eq(iommu_map(&r->d, iova, iova, 2 * M2 + 2 * K4, IOMMU_WRITE), 0);
	iommu_iotlb_gather_init(&g);
	cr_assert(iommu_iotlb_gather_empty(&g));
	cr_assert_eq(iommu_unmap_fast(&r->d, iova, 2 * M2 + 2 * K4, &g), 2 * M2 + 2 * K4);
	cr_assert_eq(r->nunmaps, 3);
	cr_assert_eq(r->syncs, 0, "unmap_fast must not sync");
	cr_assert_eq(g.start, iova);
	cr_assert_eq(g.end, iova + 2 * M2 + 2 * K4 - 1);
	iommu_iotlb_sync(&r->d, &g);
	cr_assert_eq(r->syncs, 1);
	cr_assert_eq(r->sync_start, iova);
	cr_assert(iommu_iotlb_gather_empty(&g), "sync resets the gather");
	/* An empty gather is not synced. */
	iommu_iotlb_sync(&r->d, &g);
	cr_assert_eq(r->syncs, 1);
	cr_assert(iommu_iotlb_gather_is_disjoint(
		&(struct iommu_iotlb_gather){ .start = 0, .end = K4 - 1 }, 3 * K4, K4));
	iommu_domain_free(&r->d);
}

Test(core, attach_detach_replace)
{
	struct rec_domain *a = new_domain(K4), *b = new_domain(K4);
	struct iommu_domain *o;

	cr_assert_eq(iommu_domain_alloc_paging(&odev, 0, &o), 0);
	cr_assert_eq(iommu_attach_device(o, &dev), -EINVAL, "another driver's domain");
	cr_assert_eq(iommu_attach_device(&a->d, &dev), 0);
	cr_assert_eq(dev.domain, &a->d);
	cr_assert_eq(a->d.attached, 1);
	cr_assert_eq(iommu_attach_device(&b->d, &dev), -EBUSY, "already attached");
	cr_assert_eq(iommu_attach_device(&a->d, &dev2), 0, "a domain serves several endpoints");
	cr_assert_eq(a->d.attached, 2);

	attach_rc = -ENOSPC;
	cr_assert_eq(iommu_replace_device(&dev, &b->d), -ENOSPC);
	cr_assert_eq(dev.domain, &a->d, "a failed replace keeps the old domain");
	attach_rc = 0;
	cr_assert_eq(iommu_replace_device(&dev, &b->d), 0);
	cr_assert_eq(dev.domain, &b->d);
	cr_assert_eq(a->d.attached, 1);
	cr_assert_eq(b->d.attached, 1);
	cr_assert_eq(blocks, 0, "replace never passes through blocked");

	iommu_detach_device(&b->d, &dev);
	iommu_detach_device(&a->d, &dev2);
	cr_assert_eq(blocks, 2);
	cr_assert_null(dev.domain);
	cr_assert_eq(a->d.attached + b->d.attached, 0);
	cr_assert_eq(iommu.refs, 1 + 2 + 2, "creator + 2 endpoints + 2 domains");
	iommu_domain_free(&a->d);
	iommu_domain_free(&b->d);
	iommu_domain_free(o);
	cr_assert_eq(iommu.refs, 1 + 2);
	iommu_dev_release(&dev);
	iommu_dev_release(&dev2);
	iommu_dev_release(&odev);
	cr_assert_eq(iommu.refs, 1);
}

Test(core, claim)
{
	int a, b;

	cr_assert_eq(iommu_dev_claim(&dev, &a), 0);
	cr_assert_eq(iommu_dev_claim(&dev, &b), -EBUSY);
	iommu_dev_unclaim(&dev, &b); /* not the owner: no effect */
	cr_assert_eq(iommu_dev_claim(&dev, &b), -EBUSY);
	iommu_dev_unclaim(&dev, &a);
	cr_assert_eq(iommu_dev_claim(&dev, &b), 0);
}

Test(core, hw_info_and_caps_default)
{
	uint32_t type = 7;
	char buf[4];

	cr_assert_eq(iommu_dev_hw_info(&dev, &type, buf, sizeof(buf)), 0);
	cr_assert_eq(type, 0, "no hw_info op: IOMMU_HW_INFO_TYPE_NONE");
	cr_assert_not(iommu_dev_capable(&dev, IOMMU_CAP_DIRTY_TRACKING));
	cr_assert_eq(iommu_get_resv_regions(&dev, NULL, 0), 0);
	cr_assert_eq(iommu_report_fault(&dev, 0x1000, IOMMU_FAULT_WRITE), -ENOSYS);
}
