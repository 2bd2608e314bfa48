// SPDX-License-Identifier: MIT
/*
 * Device objects through the uAPI and the test command: attaching a mock
 * device to an IOAS (automatic domain, 2 KiB alignment, aperture), a new
 * domain filled from existing areas, automatic-domain reuse, replace,
 * EBUSY rules, reserved regions of a device, and fail-nth sweeps over the
 * attach paths (nothing leaks, nothing drifts, a retry succeeds).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"
#include "iommu/mock/mock.h"
#include "iommufd/device.h"
#include "selftest_util.h"

static struct fx f;

static void setup(void)
{
	cr_assert_eq(fx_init(&f, 0), 0);
}

static void teardown(void)
{
	cr_assert_eq(fx_fini(&f), 0, "leak at close");
}

TestSuite(device, .init = setup, .fini = teardown);

Test(device, mock_domain_sets_alignment_and_aperture)
{
	struct iommu_iova_range r;
	uint32_t ioas, stdev, hwpt, idev, n;

	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(st_alignment(&f, ioas, &r, &n), 1);
	cr_assert_eq(st_mock_domain(&f, ioas, &stdev, &hwpt, &idev), 0);
	cr_assert(stdev && hwpt && idev);
	cr_assert(stdev != hwpt && hwpt != idev && stdev != idev);
	cr_assert_eq(st_alignment(&f, ioas, &r, &n), 2048);
	cr_assert_eq(n, 1);
	cr_assert_eq(r.start, MOCK_APERTURE_START);
	cr_assert_eq(r.last, MOCK_APERTURE_LAST);

	/* In use: neither the device, its HWPT nor the IOAS can be destroyed. */
	cr_assert_eq(fx_destroy(&f, idev), -EBUSY);
	cr_assert_eq(fx_destroy(&f, hwpt), -EBUSY);
	cr_assert_eq(fx_destroy(&f, ioas), -EBUSY);

	/* Destroying the selftest device detaches; the automatic domain goes with it. */
	cr_assert_eq(fx_destroy(&f, stdev), 0);
	cr_assert_eq(fx_destroy(&f, hwpt), -ENOENT);
	cr_assert_eq(fx_destroy(&f, idev), -ENOENT);
	cr_assert_eq(st_alignment(&f, ioas, &r, &n), 1);
	cr_assert_eq(r.start, 0);
	cr_assert_eq(fx_destroy(&f, ioas), 0);
}

Test(device, bad_targets)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = 4242 };
	uint32_t ioas, stdev;

	cr_assert_eq(st_cmd(&f, &c), -ENOENT);
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(st_mock_domain(&f, ioas, &stdev, NULL, NULL), 0);
	/* A selftest object is not something a device can attach to. */
	c.id = stdev;
	cr_assert_eq(st_cmd(&f, &c), -EINVAL);
	cr_assert_eq(st_mock_domain_flags(&f, ioas, 1u << 20, NULL, NULL, NULL), -EINVAL);
}

Test(device, new_domain_is_filled_from_existing_areas)
{
	uint64_t va = fx_mmap(&f, 1 * MiB, RW, 0), iova = 32 * MiB,
		 va2 = fx_mmap(&f, 64 * KiB, RW, 0);
	uint32_t ioas, hwpt, stdev;

	cr_assert(va && va2);
	st_fill(&f, va, 1 * MiB, 3);
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(fx_map_fixed(&f, ioas, va, 1 * MiB, iova), 0);
	/* As the kernel: with no domain and no access nothing needs the pages pinned. */
	cr_assert_eq(st_check_refs(&f, va, 1 * MiB, 0), 0);
	cr_assert_eq(st_mock_domain(&f, ioas, &stdev, &hwpt, NULL), 0);
	cr_assert_eq(st_check_map(&f, hwpt, iova, 1 * MiB, va), 0);
	cr_assert_eq(st_check_refs(&f, va, 1 * MiB, 1), 0, "still pinned once");

	/* New maps land in the domain too; a wrong expectation is refused. */
	cr_assert_eq(fx_map_fixed(&f, ioas, va2, 64 * KiB, 40 * MiB), 0);
	cr_assert_eq(st_check_map(&f, hwpt, 40 * MiB, 64 * KiB, va2), 0);
	cr_assert_eq(st_check_map(&f, hwpt, 40 * MiB, 64 * KiB, va), -EINVAL);
	cr_assert_eq(st_check_map(&f, hwpt, 40 * MiB + 1, 2048, va2), -EINVAL);

	cr_assert_eq(fx_unmap(&f, ioas, iova, 1 * MiB, NULL), 0);
	cr_assert_eq(st_check_map(&f, hwpt, iova, 2048, va), -EINVAL);
	cr_assert_eq(st_check_refs(&f, va, 1 * MiB, 0), 0);
	cr_assert_eq(fx_destroy(&f, stdev), 0);
}

Test(device, automatic_domain_is_shared)
{
	uint32_t ioas, s1, s2, h1, h2, hh;

	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(st_mock_domain(&f, ioas, &s1, &h1, NULL), 0);
	/* As the kernel: a compatible automatic domain of the IOAS is reused. */
	cr_assert_eq(st_mock_domain(&f, ioas, &s2, &h2, NULL), 0);
	cr_assert_eq(h1, h2);
	/* A huge-capable device can use it too (the mock does not refuse it). */
	cr_assert_eq(st_mock_domain_flags(&f, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA, NULL, &hh, NULL),
		     0);
	cr_assert_eq(hh, h1);
	cr_assert_eq(fx_destroy(&f, s1), 0);
	cr_assert_eq(fx_destroy(&f, h1), -EBUSY, "still used by the second device");
	cr_assert_eq(fx_destroy(&f, s2), 0);
}

Test(device, two_domains_kept_identical)
{
	uint64_t va = fx_mmap(&f, 256 * KiB, RW, 0), va2 = fx_mmap(&f, 128 * KiB, RW, 0);
	uint32_t ioas, stdev, idev, h1, h2;
	uint64_t iova = 48 * MiB;

	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(fx_map_fixed(&f, ioas, va, 256 * KiB, iova), 0);
	cr_assert_eq(st_mock_domain(&f, ioas, &stdev, &h1, &idev), 0);
	cr_assert_eq(st_hwpt_alloc(&f, idev, ioas, 0, &h2), 0);
	cr_assert_neq(h1, h2);
	cr_assert_eq(st_check_map(&f, h2, iova, 256 * KiB, va), 0, "filled on creation");
	cr_assert_eq(fx_map_fixed(&f, ioas, va2, 128 * KiB, 1 * GiB), 0);
	cr_assert_eq(st_check_map(&f, h1, 1 * GiB, 128 * KiB, va2), 0);
	cr_assert_eq(st_check_map(&f, h2, 1 * GiB, 128 * KiB, va2), 0);
	cr_assert_eq(st_check_refs(&f, va2, 128 * KiB, 1), 0, "two domains, one pin");
	cr_assert_eq(fx_unmap(&f, ioas, 1 * GiB, 128 * KiB, NULL), 0);
	cr_assert_eq(st_check_map(&f, h1, 1 * GiB, 2048, va2), -EINVAL);
	cr_assert_eq(st_check_map(&f, h2, 1 * GiB, 2048, va2), -EINVAL);
	cr_assert_eq(st_check_refs(&f, va2, 128 * KiB, 0), 0);
	/* The explicit HWPT is not in use: it can go, the other stays. */
	cr_assert_eq(fx_destroy(&f, h2), 0);
	cr_assert_eq(st_check_map(&f, h1, iova, 256 * KiB, va), 0);
}

Test(device, replace)
{
	uint64_t va = fx_mmap(&f, 64 * KiB, RW, 0), vb = fx_mmap(&f, 64 * KiB, RW, 0);
	uint32_t a, b, stdev, idev, ha, hb, pt;

	cr_assert_eq(fx_ioas_alloc(&f, &a), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &b), 0);
	cr_assert_eq(fx_map_fixed(&f, a, va, 64 * KiB, 64 * MiB), 0);
	cr_assert_eq(fx_map_fixed(&f, b, vb, 64 * KiB, 64 * MiB), 0);
	cr_assert_eq(st_mock_domain(&f, a, &stdev, &ha, &idev), 0);
	cr_assert_eq(st_hwpt_alloc(&f, idev, b, 0, &hb), 0);

	pt = hb;
	cr_assert_eq(st_replace(&f, stdev, &pt), 0);
	cr_assert_eq(pt, hb);
	cr_assert_eq(st_check_map(&f, hb, 64 * MiB, 64 * KiB, vb), 0);
	/* The automatic domain of IOAS a lost its only device and is gone. */
	cr_assert_eq(st_check_map(&f, ha, 64 * MiB, 2048, va), -ENOENT);
	cr_assert_eq(st_alignment(&f, a, NULL, NULL), 1);
	cr_assert_eq(fx_destroy(&f, hb), -EBUSY);

	/* Replace onto an IOAS: a new automatic domain there. */
	pt = a;
	cr_assert_eq(st_replace(&f, stdev, &pt), 0);
	cr_assert_neq(pt, a);
	cr_assert_eq(st_check_map(&f, pt, 64 * MiB, 64 * KiB, va), 0);
	cr_assert_eq(fx_destroy(&f, hb), 0, "no longer attached");

	/* Replacing onto what is already attached is a no-op. */
	ha = pt;
	cr_assert_eq(st_replace(&f, stdev, &pt), 0);
	cr_assert_eq(pt, ha);
	pt = 9999;
	cr_assert_eq(st_replace(&f, stdev, &pt), -ENOENT);
	pt = ha;
	cr_assert_eq(st_replace(&f, idev, &pt), -ENOENT, "replace names the selftest object");
}

Test(device, reserved_regions_follow_the_device)
{
	uint64_t va = fx_mmap(&f, 64 * KiB, RW, 0);
	struct iommu_dev *mdev;
	struct iommufd_device *idev;
	uint32_t ioas, id, pt;
	int rc;

	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(mock_iommu_add_resv_region(f.mock, 0x40000000, 0x100000, IOMMU_RESV_SW_MSI),
		     0);
	cr_assert_eq(mock_dev_create(f.mock, 7, 0, &mdev), 0);
	idev = iommufd_device_bind(f.ictx, mdev, &id, &rc);
	cr_assert_not_null(idev);
	cr_assert_null(iommufd_device_bind(f.ictx, mdev, &id, &rc));
	cr_assert_eq(rc, -EBUSY, "an endpoint binds once");

	/* An area already over the region: attaching fails and changes nothing. */
	cr_assert_eq(fx_map_fixed(&f, ioas, va, 64 * KiB, 0x40000000), 0);
	pt = ioas;
	cr_assert_eq(iommufd_device_attach(idev, &pt), -EADDRINUSE);
	cr_assert_eq(st_alignment(&f, ioas, NULL, NULL), 1);
	cr_assert_null(mdev->domain);
	cr_assert_eq(fx_unmap(&f, ioas, 0x40000000, 64 * KiB, NULL), 0);

	pt = ioas;
	cr_assert_eq(iommufd_device_attach(idev, &pt), 0);
	cr_assert_neq(fx_map_fixed(&f, ioas, va, 64 * KiB, 0x40000000 + 0x80000), 0);
	cr_assert_eq(fx_map_fixed(&f, ioas, va, 64 * KiB, 0x40100000), 0);
	iommufd_device_detach(idev);
	cr_assert_eq(fx_map_fixed(&f, ioas, va, 64 * KiB, 0x40000000), 0, "released on detach");
	iommufd_device_unbind(idev);
	mock_dev_destroy(mdev);
}

/* ------------------------------------------------------------ sweeps */

struct sweep_arg {
	uint32_t ioas;
	uint64_t va;
	uint64_t len;
	uint32_t stdev, idev, hwpt;
};

static int setup_areas(struct fx *fx, void *p)
{
	struct sweep_arg *a = p;
	int rc;

	a->len = 256 * KiB;
	a->va = fx_mmap(fx, a->len, RW, 0);
	rc = fx_ioas_alloc(fx, &a->ioas);
	if (rc)
		return rc;
	/* Four areas, so a fill can fail part-way through. */
	for (int i = 0; i < 4; i++) {
		rc = fx_map_fixed(fx, a->ioas, a->va + i * 64 * KiB, 64 * KiB,
				  32 * MiB + (uint64_t)i * MiB);
		if (rc)
			return rc;
	}
	return 0;
}

static int run_mock_domain(struct fx *fx, void *p)
{
	struct sweep_arg *a = p;

	return st_mock_domain(fx, a->ioas, &a->stdev, &a->hwpt, &a->idev);
}

static void check_areas(struct fx *fx, struct sweep_arg *a, uint32_t hwpt)
{
	for (int i = 0; i < 4; i++)
		cr_assert_eq(st_check_map(fx, hwpt, 32 * MiB + (uint64_t)i * MiB, 64 * KiB,
					  a->va + i * 64 * KiB),
			     0);
	cr_assert_eq(st_check_refs(fx, a->va, a->len, 1), 0);
}

static void verify_mock_domain(struct fx *fx, void *p, int rc)
{
	struct sweep_arg *a = p;

	cr_assert_eq(fx_check_ioas(fx, a->ioas), 0);
	int refs_rc = st_check_refs(fx, a->va, a->len, rc ? 0 : 1);

	/* A failed attach leaves the pages as unpinned as before it. */
	cr_assert_eq(refs_rc, 0, "no pin drift (run rc %d, check rc %d)", rc, refs_rc);
	if (rc) {
		/* Nothing half-attached: the IOAS is as before and a retry works. */
		cr_assert_eq(st_alignment(fx, a->ioas, NULL, NULL), 1);
		cr_assert_eq(run_mock_domain(fx, a), 0);
	}
	check_areas(fx, a, a->hwpt);
	cr_assert_eq(fx_destroy(fx, a->stdev), 0);
	cr_assert_eq(st_check_refs(fx, a->va, a->len, 0), 0, "unpinned with the last domain");
}

Test(device, fail_nth_mock_domain_attach)
{
	struct sweep_arg a = { 0 };
	unsigned n = st_sweep(setup_areas, run_mock_domain, verify_mock_domain, &a);

	cr_assert_gt(n, 3, "the attach path passes several injection points (%u)", n);
}

static int setup_second_domain(struct fx *fx, void *p)
{
	struct sweep_arg *a = p;
	int rc = setup_areas(fx, p);

	if (rc)
		return rc;
	return st_mock_domain(fx, a->ioas, &a->stdev, NULL, &a->idev);
}

static int run_hwpt_alloc(struct fx *fx, void *p)
{
	struct sweep_arg *a = p;

	return st_hwpt_alloc(fx, a->idev, a->ioas, 0, &a->hwpt);
}

static void verify_hwpt_alloc(struct fx *fx, void *p, int rc)
{
	struct sweep_arg *a = p;

	cr_assert_eq(fx_check_ioas(fx, a->ioas), 0);
	if (rc)
		cr_assert_eq(run_hwpt_alloc(fx, a), 0, "retry after failure");
	check_areas(fx, a, a->hwpt);
	cr_assert_eq(fx_destroy(fx, a->hwpt), 0);
	cr_assert_eq(fx_destroy(fx, a->stdev), 0);
}

Test(device, fail_nth_second_domain_fill)
{
	struct sweep_arg a = { 0 };
	unsigned n = st_sweep(setup_second_domain, run_hwpt_alloc, verify_hwpt_alloc, &a);

	cr_assert_gt(n, 3, "(%u)", n);
}
