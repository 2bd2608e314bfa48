// SPDX-License-Identifier: MIT
/*
 * Unit tests of src/iommufd/access.c: pinning through an IOAS with and
 * without domains (one pin per page however many users), read/write, the
 * unmap callback, replace_ioas.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"
#include "iommufd/iommufd_private.h"

static struct fx f;
static uint32_t ioas;
static uint64_t buf;

#define BUF_LEN (1 * MiB)

/* A pretend device: remembers one pinned range and drops it when asked. */
struct dev {
	struct iommufd_access *access;
	uint64_t iova, len;
	unsigned int unmap_calls;
	uint64_t pfns[64];
};

static void dev_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct dev *d = data;

	d->unmap_calls++;
	if (d->len && d->iova <= iova + length - 1 && iova <= d->iova + d->len - 1) {
		iommufd_access_unpin_pages(d->access, d->iova, d->len);
		d->len = 0;
	}
}

static const struct iommufd_access_ops dev_ops = { .needs_pin_pages = true, .unmap = dev_unmap };

static void setup(void)
{
	cr_assert_eq(fx_init(&f, 0), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(mach_mmap(f.p, 0, BUF_LEN, RW, 0, NULL, 0, &buf), 0);
	cr_assert_eq(fx_reserve(&f, ioas, 0, 16 * MiB - 1), 0);
}

static void teardown(void)
{
	cr_assert_eq(fx_fini(&f), 0, "leak at close");
}

TestSuite(access, .init = setup, .fini = teardown);

static uint64_t va_pfn(uint64_t va)
{
	uint64_t pfn;

	cr_assert_eq(mach_pin_user_pages(f.p, va, 1, 0, &pfn), 1);
	mach_unpin_pages(f.m, &pfn, 1);
	return pfn;
}

Test(access, pin_without_domain)
{
	struct dev d = { 0 };
	uint64_t iova = 0;

	cr_assert_eq(fx_map(&f, ioas, buf, 256 * KiB, &iova, MAP_RW), 0);
	d.access = iommufd_access_create(f.ictx, ioas, &dev_ops, &d, NULL);
	cr_assert_not_null(d.access);
	cr_assert_eq(iommufd_access_pin_pages(d.access, iova + 4 * PG, 8 * PG, d.pfns,
					      IOMMUFD_ACCESS_RW_WRITE),
		     0);
	d.iova = iova + 4 * PG;
	d.len = 8 * PG;
	cr_assert_eq(fx_pinned_frames(&f), 8);
	cr_assert_eq(mach_user_locked_vm(f.u), 8);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(d.pfns[i], va_pfn(buf + (4 + i) * PG));
	/* the same range again: no new pins, same pfns */
	{
		uint64_t p2[8];

		cr_assert_eq(iommufd_access_pin_pages(d.access, iova + 4 * PG, 8 * PG, p2, 0), 0);
		cr_assert_eq(memcmp(p2, d.pfns, sizeof(p2)), 0);
		cr_assert_eq(fx_pinned_frames(&f), 8);
		cr_assert_eq(mach_user_locked_vm(f.u), 8);
		iommufd_access_unpin_pages(d.access, iova + 4 * PG, 8 * PG);
	}
	/* attaching a domain takes the pfns from the access: still one pin per page */
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	cr_assert_eq(fx_pinned_frames(&f), 64);
	cr_assert_eq(mach_user_locked_vm(f.u), 64);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);

	/* unmapping the range calls the device back, which unpins */
	cr_assert_eq(fx_unmap(&f, ioas, iova, 256 * KiB, NULL), 0);
	cr_assert_eq(d.unmap_calls, 1);
	cr_assert_eq(d.len, 0);
	cr_assert_eq(fx_pinned_frames(&f), 0);
	cr_assert_eq(mach_user_locked_vm(f.u), 0);
	iommufd_access_destroy(d.access);
}

Test(access, pin_errors)
{
	struct dev d = { 0 };
	uint64_t iova = 32 * MiB, ro_iova = 64 * MiB, pfns[4];
	struct iommufd_access *nopin;
	static const struct iommufd_access_ops rw_ops = { .unmap = dev_unmap };

	cr_assert_eq(fx_map_fixed(&f, ioas, buf, 64 * KiB, iova), 0);
	cr_assert_eq(fx_map(&f, ioas, buf, 64 * KiB, &ro_iova,
			    IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA),
		     0);
	d.access = iommufd_access_create(f.ictx, ioas, &dev_ops, &d, NULL);
	cr_assert_not_null(d.access);
	cr_assert_null(iommufd_access_create(f.ictx, ioas + 100, &dev_ops, &d, NULL));
	cr_assert_eq(errno, ENOENT);

	cr_assert_eq(iommufd_access_pin_pages(d.access, iova, 0, pfns, 0), -EINVAL);
	cr_assert_eq(iommufd_access_pin_pages(d.access, iova + 60 * KiB, 8 * KiB, pfns, 0), -ENOENT,
		     "runs past the area");
	cr_assert_eq(iommufd_access_pin_pages(d.access, iova + 1, PG, pfns, 0), -EINVAL,
		     "not page aligned");
	cr_assert_eq(iommufd_access_pin_pages(d.access, ro_iova, PG, pfns, IOMMUFD_ACCESS_RW_WRITE),
		     -EPERM);
	cr_assert_eq(iommufd_access_pin_pages(d.access, UINT64_MAX - PG, 2 * PG, pfns, 0),
		     -EOVERFLOW);
	cr_assert_eq(fx_pinned_frames(&f), 0);

	nopin = iommufd_access_create(f.ictx, ioas, &rw_ops, NULL, NULL);
	cr_assert_not_null(nopin);
	cr_assert_eq(iommufd_access_pin_pages(nopin, iova, PG, pfns, 0), -EINVAL,
		     "ops without needs_pin_pages");
	iommufd_access_destroy(nopin);
	iommufd_access_destroy(d.access);
}

Test(access, rw)
{
	static const struct iommufd_access_ops rw_ops = { .unmap = dev_unmap };
	struct iommufd_access *a;
	uint64_t iova = 0, ro_iova = 0;
	char out[10000], in[10000];

	for (unsigned i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 1);
	cr_assert_eq(fx_map(&f, ioas, buf + 0x800, 64 * KiB, &iova, MAP_RW), 0);
	cr_assert_eq(fx_map(&f, ioas, buf, 64 * KiB, &ro_iova, IOMMU_IOAS_MAP_READABLE), 0);
	a = iommufd_access_create(f.ictx, ioas, &rw_ops, NULL, NULL);
	cr_assert_not_null(a);

	/* through the process's memory (nothing pinned) */
	cr_assert_eq(iommufd_access_rw(a, iova + 100, out, sizeof(out), IOMMUFD_ACCESS_RW_WRITE),
		     0);
	cr_assert_eq(mach_copy_from_user(f.p, in, buf + 0x800 + 100, sizeof(in)), 0);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	memset(in, 0, sizeof(in));
	cr_assert_eq(iommufd_access_rw(a, iova + 100, in, sizeof(in), 0), 0);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);
	/* through a domain's pfns */
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	memset(in, 0, sizeof(in));
	cr_assert_eq(iommufd_access_rw(a, iova + 100, in, sizeof(in), IOMMUFD_ACCESS_RW_KTHREAD),
		     0);
	cr_assert_eq(memcmp(in, out, sizeof(in)), 0);

	cr_assert_eq(iommufd_access_rw(a, ro_iova, out, 16, IOMMUFD_ACCESS_RW_WRITE), -EPERM);
	cr_assert_eq(iommufd_access_rw(a, iova + 64 * KiB - 8, in, 16, 0), -ENOENT);
	cr_assert_eq(iommufd_access_rw(a, iova, in, 0, 0), -EINVAL);
	iommufd_access_destroy(a);
}

Test(access, unmap_waits_for_every_access)
{
	struct dev d1 = { 0 }, d2 = { 0 };
	uint64_t iova = 0;

	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	cr_assert_eq(fx_map(&f, ioas, buf, 128 * KiB, &iova, MAP_RW), 0);
	d1.access = iommufd_access_create(f.ictx, ioas, &dev_ops, &d1, NULL);
	d2.access = iommufd_access_create(f.ictx, ioas, &dev_ops, &d2, NULL);
	cr_assert_eq(iommufd_access_pin_pages(d1.access, iova, 4 * PG, d1.pfns, 0), 0);
	d1.iova = iova;
	d1.len = 4 * PG;
	cr_assert_eq(iommufd_access_pin_pages(d2.access, iova + 2 * PG, 4 * PG, d2.pfns, 0), 0);
	d2.iova = iova + 2 * PG;
	d2.len = 4 * PG;
	cr_assert_eq(d1.pfns[2], d2.pfns[0], "pinned once, shared");
	cr_assert_eq(fx_pinned_frames(&f), 32);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(d1.len + d2.len, 0);
	cr_assert_eq(fx_pinned_frames(&f), 0);
	iommufd_access_destroy(d1.access);
	iommufd_access_destroy(d2.access);
}

Test(access, replace_ioas)
{
	struct dev d = { 0 };
	uint32_t ioas2;
	uint64_t iova = 0, iova2 = 0;

	cr_assert_eq(fx_ioas_alloc(&f, &ioas2), 0);
	cr_assert_eq(fx_map(&f, ioas, buf, 64 * KiB, &iova, MAP_RW), 0);
	cr_assert_eq(fx_map(&f, ioas2, buf + 64 * KiB, 64 * KiB, &iova2, MAP_RW), 0);
	d.access = iommufd_access_create(f.ictx, ioas, &dev_ops, &d, NULL);
	cr_assert_eq(iommufd_access_pin_pages(d.access, iova, PG, d.pfns, 0), 0);
	d.iova = iova;
	d.len = PG;
	cr_assert_eq(iommufd_access_replace_ioas(d.access, ioas2 + 7), -ENOENT);
	cr_assert_eq(iommufd_access_replace_ioas(d.access, ioas2), 0);
	cr_assert_eq(d.len, 0, "replace asks the device to unpin everything");
	cr_assert_eq(fx_pinned_frames(&f), 0);
	cr_assert_eq(fx_destroy(&f, ioas), 0, "the old IOAS is free");
	cr_assert_eq(fx_destroy(&f, ioas2), -EBUSY);
	cr_assert_eq(iommufd_access_pin_pages(d.access, iova2, PG, d.pfns, 0), 0);
	cr_assert_eq(d.pfns[0], va_pfn(buf + 64 * KiB));
	iommufd_access_unpin_pages(d.access, iova2, PG);
	iommufd_access_destroy(d.access);
}
