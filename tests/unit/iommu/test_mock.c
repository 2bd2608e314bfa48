// SPDX-License-Identifier: MIT
/*
 * Mock driver tests: geometry and page sizes, iova_to_phys for small and
 * huge mappings (huge entries and flagged leaves), double map, iotlb_sync
 * counting, hw_info, reserved regions, device flags, endpoint names (the
 * id in decimal), and map/unmap from several threads on disjoint ranges
 * checked with iova_to_phys.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>

#include <iommusim/iommufd.h>
#include <iommusim/iommufd_test.h>

#include "iommu/iommu.h"
#include "iommu/mock/mock.h"

#define SZ MOCK_IO_PAGE_SIZE
#define HUGE MOCK_HUGE_PAGE_SIZE

static struct iommu_device *mi;
static struct iommu_dev *dev, *hdev;

static void setup(void)
{
	cr_assert_eq(mock_iommu_create(NULL, &mi), 0);
	cr_assert_eq(mock_dev_create(mi, 1, 0, &dev), 0);
	cr_assert_eq(mock_dev_create(mi, 2, MOCK_FLAGS_DEVICE_HUGE_IOVA, &hdev), 0);
}

static void teardown(void)
{
	mock_dev_destroy(dev);
	mock_dev_destroy(hdev);
	cr_assert_eq(mi->refs, 1, "every endpoint and domain gave its reference back");
	iommu_device_put(mi);
}

TestSuite(mock, .init = setup, .fini = teardown);

static struct iommu_domain *alloc(struct iommu_dev *d)
{
	struct iommu_domain *dom;

	cr_assert_eq(iommu_domain_alloc_paging(d, 0, &dom), 0);
	return dom;
}

static void stats(struct iommu_domain *d, struct mock_domain_stats *st)
{
	mock_domain_stats(d, st);
}

Test(mock, geometry)
{
	struct iommu_domain *d = alloc(dev), *h = alloc(hdev);

	cr_assert_eq(d->pgsize_bitmap, 2048);
	cr_assert_eq(h->pgsize_bitmap, 2048 | (1 << 20));
	cr_assert_eq(d->geometry.aperture_start, 1ULL << 24);
	cr_assert_eq(d->geometry.aperture_end, (1ULL << 31) - 1);
	cr_assert(iommu_domain_is_mock(d));
	iommu_domain_free(d);
	iommu_domain_free(h);
}

Test(mock, map_lookup_unmap_small)
{
	struct iommu_domain *d = alloc(dev);
	struct mock_domain_stats st;
	struct mock_pte pte;
	uint64_t iova = MOCK_APERTURE_START + 3 * SZ;

	cr_assert_eq(iommu_map(d, iova, 0x12345800, 5 * SZ, IOMMU_READ), 0);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(iommu_iova_to_phys(d, iova + i * SZ + 17), 0x12345800 + i * SZ + 17);
	cr_assert_eq(iommu_iova_to_phys(d, iova - SZ), 0);
	cr_assert_eq(iommu_iova_to_phys(d, iova + 5 * SZ), 0);
	cr_assert_eq(mock_domain_lookup(d, iova, &pte), 0);
	cr_assert(pte.start);
	cr_assert_eq(pte.prot, IOMMU_READ);
	cr_assert_eq(mock_domain_lookup(d, iova + 4 * SZ, &pte), 0);
	cr_assert(pte.last);

	cr_assert_eq(iommu_map(d, iova + SZ, 0, SZ, IOMMU_READ), -EEXIST, "double map");
	cr_assert_eq(iommu_iova_to_phys(d, iova + SZ), 0x12345800 + SZ, "the old map is kept");

	stats(d, &st);
	cr_assert_eq(st.mapped_bytes, 5 * SZ);
	cr_assert_eq(st.warnings, 1);
	cr_assert_eq(iommu_unmap(d, iova, 5 * SZ), 5 * SZ);
	stats(d, &st);
	cr_assert_eq(st.mapped_bytes, 0);
	cr_assert_eq(st.iotlb_syncs, 1, "one sync per iommu_unmap");
	cr_assert_eq(st.warnings, 1, "the unmap started and ended where the map did");
	cr_assert_eq(iommu_iova_to_phys(d, iova), 0);
	iommu_domain_free(d);
}

Test(mock, unmap_marker_warnings)
{
	struct iommu_domain *d = alloc(dev);
	struct mock_domain_stats st;

	cr_assert_eq(iommu_map(d, 0x1000000, 0x800000, 8 * SZ, IOMMU_WRITE), 0);
	/* iommufd never splits an area: the kernel mock would WARN here. */
	cr_assert_eq(iommu_unmap(d, 0x1000000 + SZ, 2 * SZ), 2 * SZ);
	stats(d, &st);
	cr_assert_eq(st.warnings, 2);
	iommu_unmap(d, 0x1000000, 8 * SZ);
	iommu_domain_free(d);
}

Test(mock, huge_entries)
{
	struct iommu_domain *h = alloc(hdev);
	struct mock_domain_stats st;
	struct mock_pte pte;
	uint64_t iova = 16 * HUGE;

	/* Congruent addresses: one huge entry per MiB. */
	cr_assert_eq(iommu_map(h, iova, 5 * HUGE, 2 * HUGE + SZ, IOMMU_READ | IOMMU_WRITE), 0);
	cr_assert_eq(mock_domain_lookup(h, iova + 12345, &pte), 0);
	cr_assert_eq(pte.pgsize, HUGE);
	cr_assert_eq(pte.paddr, 5 * HUGE + 12345);
	cr_assert_eq(iommu_iova_to_phys(h, iova + HUGE + 7), 6 * HUGE + 7);
	cr_assert_eq(mock_domain_lookup(h, iova + 2 * HUGE, &pte), 0);
	cr_assert_eq(pte.pgsize, SZ);
	stats(h, &st);
	cr_assert_eq(st.mapped_bytes, 2 * HUGE + SZ);
	cr_assert_eq(iommu_unmap(h, iova, 2 * HUGE + SZ), 2 * HUGE + SZ);
	stats(h, &st);
	cr_assert_eq(st.mapped_bytes, 0);
	cr_assert_eq(iommu_iova_to_phys(h, iova + 5), 0);

	/* A leaf node now exists at iova + 2 MiB: a huge map there becomes flagged leaves. */
	cr_assert_eq(iommu_map(h, iova + 2 * HUGE, 9 * HUGE, HUGE, IOMMU_READ), 0);
	cr_assert_eq(mock_domain_lookup(h, iova + 2 * HUGE + 3 * SZ + 1, &pte), 0);
	cr_assert_eq(pte.pgsize, HUGE);
	cr_assert_eq(pte.paddr, 9 * HUGE + 3 * SZ + 1);
	cr_assert_eq(iommu_unmap(h, iova + 2 * HUGE, HUGE), HUGE);
	stats(h, &st);
	cr_assert_eq(st.mapped_bytes, 0);
	cr_assert_eq(st.warnings, 0);

	/* Not congruent: small pages only, even on a huge-capable domain. */
	cr_assert_eq(iommu_map(h, iova, 5 * HUGE + SZ, HUGE, IOMMU_READ), 0);
	cr_assert_eq(mock_domain_lookup(h, iova, &pte), 0);
	cr_assert_eq(pte.pgsize, SZ);
	cr_assert_eq(iommu_unmap(h, iova, HUGE), HUGE);
	stats(h, &st);
	cr_assert_eq(st.mapped_bytes, 0);
	iommu_domain_free(h);
}

Test(mock, flags_hw_info_resv)
{
	struct iommu_test_hw_info info = { 0 };
	struct iommu_resv_region r[2];
	struct iommu_dev *p;
	uint32_t type = IOMMU_HW_INFO_TYPE_DEFAULT;
	struct iommu_domain *d;

	cr_assert_eq(mock_dev_create(mi, 3, 1u << 7, &p), -EINVAL);
	cr_assert_eq(mock_dev_create(mi, 3, MOCK_FLAGS_DEVICE_PASID, &p), 0);
	cr_assert_eq(p->max_pasids, 1u << MOCK_PASID_WIDTH);
	cr_assert_str_eq(p->name, "iommufd_mock3");
	mock_dev_destroy(p);

	cr_assert_eq(iommu_dev_hw_info(dev, &type, &info, sizeof(info)), sizeof(info));
	cr_assert_eq(type, IOMMU_HW_INFO_TYPE_SELFTEST);
	cr_assert_eq(info.test_reg, IOMMU_HW_INFO_SELFTEST_REGVAL);
	type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	cr_assert_eq(iommu_dev_hw_info(dev, &type, &info, sizeof(info)), -EOPNOTSUPP);
	cr_assert(iommu_dev_capable(dev, IOMMU_CAP_CACHE_COHERENCY));

	cr_assert_eq(iommu_get_resv_regions(dev, r, 2), 0, "no reserved regions by default");
	cr_assert_eq(mock_iommu_add_resv_region(mi, 0xfee00000, 0x100000, IOMMU_RESV_MSI), 0);
	cr_assert_eq(iommu_get_resv_regions(dev, r, 2), 1);
	cr_assert_eq(r[0].start, 0xfee00000);
	cr_assert_eq(r[0].type, IOMMU_RESV_MSI);

	cr_assert_eq(iommu_domain_alloc_paging(dev, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &d),
		     -EOPNOTSUPP);
	cr_assert_eq(iommu_domain_alloc_paging(dev, IOMMU_HWPT_ALLOC_NEST_PARENT, &d), 0);
	cr_assert_eq(d->alloc_flags, IOMMU_HWPT_ALLOC_NEST_PARENT);
	cr_assert_eq(iommu_attach_device(d, dev), 0);
	iommu_detach_device(d, dev);
	iommu_domain_free(d);
}

/* Endpoint names are the id in decimal, as the kernel's ("iommufd_mock%u"). */
Test(mock, dev_names_decimal)
{
	static const struct {
		uint32_t id;
		const char *name;
	} want[] = {
		{ 0, "iommufd_mock0" },	  { 7, "iommufd_mock7" },   { 8, "iommufd_mock8" },
		{ 9, "iommufd_mock9" },	  { 10, "iommufd_mock10" }, { 19, "iommufd_mock19" },
		{ 20, "iommufd_mock20" }, { 59, "iommufd_mock59" }, { 63, "iommufd_mock63" },
	};
	struct iommu_dev *p;
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_assert_eq(mock_dev_create(mi, want[i].id, 0, &p), 0);
		cr_expect_str_eq(p->name, want[i].name, "id %u", want[i].id);
		mock_dev_destroy(p);
	}
	/* Past the static table: the bare prefix. */
	cr_assert_eq(mock_dev_create(mi, 64, 0, &p), 0);
	cr_expect_str_eq(p->name, "iommufd_mock");
	mock_dev_destroy(p);
}

/* ------------------------------------------------------ concurrency */

#define THREADS 4
#define REGION (32ULL << 20)
#define ROUNDS 6

struct worker {
	struct iommu_domain *d;
	unsigned idx;
	int errors;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	uint64_t base = MOCK_APERTURE_START + w->idx * REGION;
	uint64_t seed = 0x1234 + w->idx;

	for (int round = 0; round < ROUNDS; round++) {
		/* Chunks of varying size, some huge-congruent, some not. */
		uint64_t off = 0;

		while (off < REGION) {
			uint64_t len;
			uint64_t pa;

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			len = (1 + (seed >> 33) % 700) * SZ;
			if (off + len > REGION)
				len = REGION - off;
			pa = (seed & 1) ? (1ULL << 40) + base + off : (1ULL << 41) + off + SZ;
			if (iommu_map(w->d, base + off, pa, len, IOMMU_READ | IOMMU_WRITE))
				w->errors++;
			if (iommu_iova_to_phys(w->d, base + off + len - 1) != pa + len - 1)
				w->errors++;
			if (iommu_iova_to_phys(w->d, base + off) != pa)
				w->errors++;
			if (iommu_unmap(w->d, base + off, len) != len)
				w->errors++;
			if (iommu_iova_to_phys(w->d, base + off) != 0)
				w->errors++;
			/* Keep every other chunk mapped until the end of the round. */
			if (seed & 2) {
				if (iommu_map(w->d, base + off, pa, len, IOMMU_READ))
					w->errors++;
			}
			off += len;
		}
		iommu_unmap(w->d, base, REGION);
		if (iommu_iova_to_phys(w->d, base + REGION / 2))
			w->errors++;
	}
	return NULL;
}

static void run_threads(struct iommu_dev *d)
{
	struct iommu_domain *dom = alloc(d);
	struct mock_domain_stats st;
	struct worker w[THREADS];
	pthread_t t[THREADS];

	for (unsigned i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .d = dom, .idx = i };
		cr_assert_eq(pthread_create(&t[i], NULL, worker, &w[i]), 0);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].errors, 0, "thread %u (seed %#x)", i, 0x1234 + i);
	}
	stats(dom, &st);
	cr_assert_eq(st.mapped_bytes, 0);
	iommu_domain_free(dom);
}

Test(mock, concurrent_disjoint_small)
{
	run_threads(dev);
}

Test(mock, concurrent_disjoint_huge)
{
	run_threads(hdev);
}
