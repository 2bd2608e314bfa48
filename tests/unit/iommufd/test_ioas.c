// SPDX-License-Identifier: MIT
/*
 * Unit tests of src/iommufd/ioas.c and io_pagetable.c through the uAPI:
 * area rules, automatic IOVA, reserved and allowed ranges, IOVA_RANGES,
 * COPY, the HUGE_PAGES option and alignment, MAP_FILE.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <iommusim/iommufd_test.h>

#include "fixture.h"
#include "iommu/mock/mock.h"

static struct fx f;
static uint32_t ioas;
static uint64_t buf; /* 16 MiB of anonymous memory, 2 MiB aligned */

#define BUF_LEN (16 * MiB)

static void setup(void)
{
	cr_assert_eq(fx_init(&f, 0), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(mach_mmap(f.p, 0, BUF_LEN, RW, MACH_MAP_HUGE_2M, NULL, 0, &buf), 0);
}

static void teardown(void)
{
	cr_assert_eq(fx_fini(&f), 0, "leak at close");
}

TestSuite(ioas, .init = setup, .fini = teardown);

Test(ioas, map_unmap_fixed)
{
	uint64_t unmapped = 0;

	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 1 * MiB), 0);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 1 * MiB), -EEXIST);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 1 * MiB - 4 * KiB), -EEXIST);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 1 * MiB + 60 * KiB), -EEXIST);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 1 * MiB + 64 * KiB), 0, "adjacent");
	/* no splitting */
	cr_assert_eq(fx_unmap(&f, ioas, 1 * MiB, 4 * KiB, NULL), -ENOENT);
	cr_assert_eq(fx_unmap(&f, ioas, 1 * MiB + 4 * KiB, 124 * KiB, NULL), -ENOENT);
	/* a range covering both areas removes both */
	cr_assert_eq(fx_unmap(&f, ioas, 0, 4 * MiB, &unmapped), 0);
	cr_assert_eq(unmapped, 128 * KiB);
	cr_assert_eq(fx_unmap(&f, ioas, 0, 4 * MiB, NULL), -ENOENT, "nothing mapped");
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, &unmapped), 0, "unmap all of empty");
	cr_assert_eq(unmapped, 0);
	cr_assert_eq(fx_unmap(&f, ioas, 0x1000, 0, NULL), -EINVAL);
	cr_assert_eq(fx_unmap(&f, ioas, 0x1000, UINT64_MAX, NULL), -EOVERFLOW);
}

Test(ioas, unmap_all)
{
	uint64_t iova = 0, unmapped = 0;

	for (int i = 0; i < 8; i++) {
		iova = 0;
		cr_assert_eq(fx_map(&f, ioas, buf + i * PG, PG, &iova, MAP_RW), 0);
	}
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, &unmapped), 0);
	cr_assert_eq(unmapped, 8 * PG);
}

Test(ioas, map_errors)
{
	uint64_t iova = 0x100000;
	struct iommu_ioas_map m = {
		.size = sizeof(m), .ioas_id = ioas, .user_va = buf, .length = PG, .flags = MAP_RW
	};

	cr_assert_eq(fx_map(&f, ioas, buf, PG, &iova, 0), -EINVAL, "neither R nor W");
	cr_assert_eq(fx_map(&f, ioas, buf, 0, &iova, MAP_RW), -EINVAL, "zero length");
	cr_assert_eq(fx_map(&f, ioas, buf, PG, &iova, MAP_RW | (1u << 3)), -EOPNOTSUPP);
	m.__reserved = 1;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_MAP, &m), -EOPNOTSUPP);
	cr_assert_eq(fx_map(&f, ioas, buf, UINT64_MAX, &iova, MAP_RW), -EOVERFLOW);
	cr_assert_eq(fx_map(&f, ioas, UINT64_MAX - PG, 2 * PG, &iova, MAP_RW), -EOVERFLOW);
	iova = UINT64_MAX - PG + 1;
	cr_assert_eq(fx_map(&f, ioas, buf, 2 * PG, &iova, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA),
		     -EOVERFLOW);
}

Test(ioas, reserved_fixed_map)
{
	cr_assert_eq(fx_reserve(&f, ioas, 2 * MiB, 4 * MiB - 1), 0);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 2 * MiB - 32 * KiB), -EINVAL);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 3 * MiB), -EINVAL);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 4 * MiB), 0);
	cr_assert_eq(fx_reserve(&f, ioas, 4 * MiB, 4 * MiB), -EADDRINUSE, "over an area");
}

Test(ioas, auto_iova_rules)
{
	uint64_t iova;

	/* never 0, aligned to min(roundup_pow_of_two(len), lowest bit of va) */
	for (uint64_t len = PG; len <= 4 * MiB; len *= 2) {
		iova = 0;
		cr_assert_eq(fx_map(&f, ioas, buf, len, &iova, MAP_RW), 0);
		cr_assert_neq(iova, 0);
		cr_assert_eq(iova % len, 0, "len %llu iova 0x%llx", (unsigned long long)len,
			     (unsigned long long)iova);
	}
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, NULL), 0);

	/* the in-page offset of user_va is kept, and the va's alignment bounds the iova's */
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf + 0x800 + 2 * PG, 3 * PG, &iova, MAP_RW), 0);
	cr_assert_eq(iova % PG, 0x800);
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, NULL), 0);
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf + 3 * PG, 5 * PG, &iova, MAP_RW), 0);
	cr_assert_eq(iova % PG, 0);
	/* any page is fine: the lowest hole after page 0 */
	cr_assert_eq(iova, PG);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
}

Test(ioas, auto_iova_reserved_allowed)
{
	struct iommu_iova_range ranges[2] = { { .start = 16 * MiB, .last = 32 * MiB - 1 },
					      { .start = 64 * MiB, .last = 65 * MiB - 1 } };
	struct iommu_ioas_allow_iovas a = { .size = sizeof(a),
					    .ioas_id = ioas,
					    .num_iovas = 2,
					    .allowed_iovas = (uintptr_t)ranges };
	uint64_t iova;

	cr_assert_eq(fx_reserve(&f, ioas, 0, 16 * MiB + 64 * KiB - 1), 0);
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOW_IOVAS, &a), -EADDRINUSE,
		     "allowed range over a reservation");
	ranges[0].start = 16 * MiB + 64 * KiB;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOW_IOVAS, &a), 0);

	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf, 64 * KiB, &iova, MAP_RW), 0);
	cr_assert_eq(iova, 16 * MiB + 64 * KiB);
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf, 8 * MiB, &iova, MAP_RW), 0);
	cr_assert_eq(iova, 24 * MiB, "8 MiB aligned inside the first allowed range");
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf, 8 * MiB, &iova, MAP_RW), -ENOSPC);
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf, 1 * MiB, &iova, MAP_RW), 0);
	cr_assert_eq(iova, 17 * MiB, "the lowest aligned hole of the first range");
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf, 16 * MiB, &iova, MAP_RW), -ENOSPC);
	/* fill the first range's holes: 1 MiB maps then land in the second range */
	for (int i = 0; i < 6; i++) {
		iova = 0;
		cr_assert_eq(fx_map(&f, ioas, buf, 1 * MiB, &iova, MAP_RW), 0);
		cr_assert(iova >= 18 * MiB && iova < 24 * MiB);
	}
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf, 1 * MiB, &iova, MAP_RW), 0);
	cr_assert_eq(iova, 64 * MiB, "only the second range has room");
	/* a fixed map outside the allowed ranges is still fine: allowed only steers allocation */
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 128 * MiB), 0);
	cr_assert_eq(fx_reserve(&f, ioas, 64 * MiB + PG, 64 * MiB + PG), -EADDRINUSE,
		     "reserve inside an allowed range");

	/* ALLOW_IOVAS argument checks */
	ranges[1].start = ranges[1].last;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOW_IOVAS, &a), -EINVAL, "start >= last");
	ranges[1].start = ranges[0].start;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOW_IOVAS, &a), -EINVAL, "overlap");
	a.__reserved = 1;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOW_IOVAS, &a), -EOPNOTSUPP);
	a.__reserved = 0;
	a.num_iovas = 0;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOW_IOVAS, &a), 0, "clear the list");
}

Test(ioas, iova_ranges)
{
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges c = {
		.size = sizeof(c), .ioas_id = ioas, .num_iovas = 4, .allowed_iovas = (uintptr_t)r
	};

	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_IOVA_RANGES, &c), 0);
	cr_assert_eq(c.num_iovas, 1);
	cr_assert_eq(r[0].start, 0);
	cr_assert_eq(r[0].last, UINT64_MAX);
	cr_assert_eq(c.out_iova_alignment, 1);

	cr_assert_eq(fx_reserve(&f, ioas, 1 * MiB, 2 * MiB - 1), 0);
	cr_assert_eq(fx_reserve(&f, ioas, 8 * MiB, 9 * MiB - 1), 0);
	c.num_iovas = 1;
	memset(r, 0, sizeof(r));
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_IOVA_RANGES, &c), -EMSGSIZE);
	cr_assert_eq(c.num_iovas, 3, "tells how many are needed");
	cr_assert_eq(r[0].start, 0);
	cr_assert_eq(r[0].last, 1 * MiB - 1);
	cr_assert_eq(r[1].start, 0, "entries beyond num_iovas untouched");
	c.num_iovas = 0;
	c.allowed_iovas = 0;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_IOVA_RANGES, &c), -EMSGSIZE);
	cr_assert_eq(c.num_iovas, 3);
	c.num_iovas = 4;
	c.allowed_iovas = (uintptr_t)r;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_IOVA_RANGES, &c), 0);
	cr_assert_eq(r[1].start, 2 * MiB);
	cr_assert_eq(r[1].last, 8 * MiB - 1);
	cr_assert_eq(r[2].start, 9 * MiB);
	cr_assert_eq(r[2].last, UINT64_MAX);
}

Test(ioas, domain_aperture_and_alignment)
{
	struct iommu_iova_range r[4];
	struct iommu_ioas_iova_ranges c = {
		.size = sizeof(c), .ioas_id = ioas, .num_iovas = 4, .allowed_iovas = (uintptr_t)r
	};
	uint64_t iova = 0;

	/* an area outside the mock aperture (16 MiB .. 2 GiB-1) blocks the attach */
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 1 * MiB), 0);
	cr_assert_eq(fx_add_domain(&f, ioas, 0), -EADDRINUSE);
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_IOVA_RANGES, &c), 0);
	cr_assert_eq(c.num_iovas, 1);
	cr_assert_eq(r[0].start, 16 * MiB);
	cr_assert_eq(r[0].last, 2 * GiB - 1);
	cr_assert_eq(c.out_iova_alignment, 2048);

	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 1 * MiB), -EINVAL, "reserved");
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, 16 * MiB + 1024), -EINVAL, "misaligned");
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 1024, 16 * MiB), -EINVAL, "length misaligned");
	cr_assert_eq(fx_map(&f, ioas, buf, 64 * KiB, &iova, MAP_RW), 0);
	cr_assert_geq(iova, 16 * MiB);
	cr_assert(fx_dom_maps(&f, 0, iova, buf));
	cr_assert(fx_dom_maps(&f, 0, iova + 64 * KiB - 1, buf + 64 * KiB - 1));
	cr_assert(fx_dom_empty_at(&f, 0, iova + 64 * KiB));
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
}

Test(ioas, map_faults_with_domain)
{
	uint64_t iova = 0, ro = fx_mmap(&f, 64 * KiB, MACH_PROT_READ, 0);
	uint64_t half = fx_mmap(&f, 64 * KiB, RW, 0);
	uint64_t pinned;

	cr_assert_eq(mach_munmap(f.p, half + 32 * KiB, 32 * KiB), 0);
	cr_assert_eq(fx_reserve(&f, ioas, 0, 16 * MiB - 1), 0);
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	pinned = fx_pinned_frames(&f);
	/* unmapped memory */
	cr_assert_eq(fx_map(&f, ioas, 0x7000000000ULL, 64 * KiB, &iova, MAP_RW), -EFAULT);
	/* half mapped: nothing may stay pinned */
	cr_assert_eq(fx_map(&f, ioas, half, 64 * KiB, &iova, MAP_RW), -EFAULT);
	cr_assert_eq(fx_pinned_frames(&f), pinned);
	/* writable map of read-only memory */
	cr_assert_eq(fx_map(&f, ioas, ro, 64 * KiB, &iova, MAP_RW), -EPERM);
	cr_assert_eq(fx_map(&f, ioas, ro, 64 * KiB, &iova, IOMMU_IOAS_MAP_READABLE), 0);
	cr_assert(fx_dom_maps(&f, 0, iova, ro));
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
}

Test(ioas, map_without_domain_is_lazy)
{
	uint64_t iova = 0;

	cr_assert_eq(fx_reserve(&f, ioas, 0, 16 * MiB - 1), 0);
	/* with no domain and no access nothing is pinned, so even bad memory maps */
	cr_assert_eq(fx_map(&f, ioas, 0x7000000000ULL, 64 * KiB, &iova, MAP_RW), 0);
	cr_assert_eq(fx_pinned_frames(&f), 0);
	/* ... but attaching a domain then has to pin it and fails, changing nothing */
	cr_assert_eq(fx_add_domain(&f, ioas, 0), -EFAULT);
	cr_assert_eq(fx_unmap(&f, ioas, iova, 64 * KiB, NULL), 0);
}

Test(ioas, attach_fills_existing_areas)
{
	uint64_t iova[4];

	/* keep automatic IOVA inside the mock aperture */
	cr_assert_eq(fx_reserve(&f, ioas, 0, 16 * MiB - 1), 0);
	for (int i = 0; i < 4; i++) {
		iova[i] = 0;
		cr_assert_eq(fx_map(&f, ioas, buf + i * MiB, MiB, &iova[i], MAP_RW), 0);
	}
	cr_assert_eq(fx_pinned_frames(&f), 0);
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	cr_assert_eq(mach_user_locked_vm(f.u), 4 * MiB / PG);
	for (int i = 0; i < 4; i++)
		cr_assert(fx_dom_maps(&f, 0, iova[i] + 5 * PG + 3, buf + i * MiB + 5 * PG + 3));
	/* a second domain is filled from the first: no new pins */
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 1);
	cr_assert_eq(mach_user_locked_vm(f.u), 4 * MiB / PG);
	for (int i = 0; i < 4; i++)
		cr_assert(fx_dom_maps(&f, 1, iova[i], buf + i * MiB));
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
	/* detaching the storage domain keeps the pins in the other */
	fx_del_domain(&f, 0);
	cr_assert_eq(mach_user_locked_vm(f.u), 4 * MiB / PG);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
	cr_assert_eq(fx_unmap(&f, ioas, iova[1], MiB, NULL), 0);
	cr_assert(fx_dom_empty_at(&f, 1, iova[1]));
	/* (frames of 2 MiB pages count as pinned while any part is: check locked_vm) */
	cr_assert_eq(mach_user_locked_vm(f.u), 3 * MiB / PG);
	fx_del_domain(&f, 1);
	cr_assert_eq(fx_pinned_frames(&f), 0);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
}

Test(ioas, copy_shares_one_pin)
{
	uint32_t ioas2;
	uint64_t iova = 0, iova2 = 0, iova3 = 0;

	cr_assert_eq(fx_ioas_alloc(&f, &ioas2), 0);
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	cr_assert_eq(fx_add_domain(&f, ioas2, 0), 1);
	cr_assert_eq(fx_map(&f, ioas, buf, 2 * MiB, &iova, MAP_RW), 0);
	cr_assert_eq(fx_pinned_frames(&f), 512);
	cr_assert_eq(mach_proc_pinned_vm(f.p), 512);

	cr_assert_eq(fx_copy(&f, ioas2, ioas, iova, 2 * MiB, &iova2, MAP_RW), 0);
	cr_assert_eq(mach_user_locked_vm(f.u), 512, "COPY pins nothing new");
	cr_assert_eq(mach_proc_pinned_vm(f.p), 512);
	cr_assert(fx_dom_maps(&f, 1, iova2 + 7 * PG, buf + 7 * PG));
	/* a sub-range of the area can be copied too */
	cr_assert_eq(fx_copy(&f, ioas2, ioas, iova + 4 * PG, 8 * PG, &iova3, MAP_RW), 0);
	cr_assert(fx_dom_maps(&f, 1, iova3, buf + 4 * PG));
	/* a range with a hole cannot */
	cr_assert_eq(fx_copy(&f, ioas2, ioas, iova, 4 * MiB, &iova3, MAP_RW), -ENOENT);
	cr_assert_eq(fx_copy(&f, ioas2, ioas + 9, iova, 4 * PG, &iova3, MAP_RW), -ENOENT);

	/* the source goes; the copies keep the pages pinned */
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(fx_pinned_frames(&f), 512);
	cr_assert(fx_dom_maps(&f, 1, iova2, buf));
	cr_assert_eq(fx_unmap(&f, ioas2, iova2, 2 * MiB, NULL), 0);
	cr_assert_eq(mach_proc_pinned_vm(f.p), 8);
	cr_assert_eq(fx_unmap(&f, ioas2, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(fx_pinned_frames(&f), 0);
	cr_assert_eq(mach_proc_pinned_vm(f.p), 0);
}

Test(ioas, huge_pages_option)
{
	uint64_t val = 0, iova = 0, iova2 = 0;
	struct iommu_iova_range r[2];
	struct iommu_ioas_iova_ranges c = {
		.size = sizeof(c), .ioas_id = ioas, .num_iovas = 2, .allowed_iovas = (uintptr_t)r
	};

	cr_assert_eq(fx_option(&f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas, &val), 0);
	cr_assert_eq(val, 1, "default on");
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_GET, ioas + 1, &val),
		     -ENOENT);
	val = 2;
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &val),
		     -EINVAL);
	val = 0;
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &val), 0);
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_IOVA_RANGES, &c), 0);
	cr_assert_eq(c.out_iova_alignment, PG, "disabling large pages forces page alignment");
	cr_assert_eq(fx_map(&f, ioas, buf + 0x800, PG, &iova, MAP_RW), -EINVAL);

	/* with a huge-iova mock domain: 2 MiB-backed memory maps page by page */
	cr_assert_eq(fx_add_domain(&f, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA), 0);
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf, 2 * MiB, &iova, MAP_RW), 0);
	{
		struct mock_pte pte;

		cr_assert_eq(mock_domain_lookup(f.doms[0].domain, iova, &pte), 0);
		cr_assert_eq(pte.pgsize, MOCK_IO_PAGE_SIZE);
		cr_assert(pte.start);
		cr_assert_eq(mock_domain_lookup(f.doms[0].domain, iova + PG, &pte), 0);
		cr_assert(pte.start, "each 4 KiB page is its own map");
	}
	val = 1;
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &val), 0);
	/* cannot disable again once domains hold areas */
	val = 0;
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_HUGE_PAGES, IOMMU_OPTION_OP_SET, ioas, &val),
		     -EINVAL);
	/* enabled again: a new 2 MiB map uses huge IO pages */
	cr_assert_eq(fx_map(&f, ioas, buf + 2 * MiB, 2 * MiB, &iova2, MAP_RW), 0);
	{
		struct mock_pte pte;

		cr_assert_eq(mock_domain_lookup(f.doms[0].domain, iova2, &pte), 0);
		cr_assert_eq(pte.pgsize, MOCK_HUGE_PAGE_SIZE);
	}
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
}

Test(ioas, map_file)
{
	struct mach_file *file;
	struct iommu_ioas_map_file c = { .size = sizeof(c), .flags = MAP_RW, .ioas_id = ioas };
	int fd;

	cr_assert_eq(mach_file_create(f.m, 1 * MiB, &file), 0);
	fd = iommufd_ctx_install_file(f.ictx, file);
	cr_assert_geq(fd, 3);
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	c.fd = 99;
	c.length = 64 * KiB;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_MAP_FILE, &c), -EBADF);
	c.fd = fd;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_MAP_FILE, &c), 0);
	cr_assert_geq(c.iova, 16 * MiB);
	cr_assert_eq(fx_pinned_frames(&f), 16);
	c.start = 1 * MiB - 32 * KiB;
	c.iova = 0;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_MAP_FILE, &c), -EINVAL, "beyond the end of the file");
	cr_assert_eq(fx_pinned_frames(&f), 16);
	mach_file_put(file);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
}
