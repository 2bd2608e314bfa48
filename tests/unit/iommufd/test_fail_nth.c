// SPDX-License-Identifier: MIT
/*
 * Fault-injection sweeps, as the kernel's iommufd_fail_nth selftest: run a
 * scenario failing the 1st, 2nd, ... injection point (allocations, pins,
 * accounting, driver work) until a run completes without reaching N. Every
 * run must unwind completely: the io_pagetable invariants hold afterwards,
 * and closing the context leaves no pinned frame and no locked_vm or
 * pinned_vm behind.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"

struct dev {
	struct iommufd_access *access;
	uint64_t iova, len;
	uint64_t pfns[16];
};

static void dev_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct dev *d = data;

	if (d->len && d->iova <= iova + length - 1 && iova <= d->iova + d->len - 1) {
		iommufd_access_unpin_pages(d->access, d->iova, d->len);
		d->len = 0;
	}
}

static const struct iommufd_access_ops dev_ops = { .needs_pin_pages = true, .unmap = dev_unmap };

/* Each scenario returns after its first failure; what it built stays for close to clean. */
typedef void (*scenario_fn)(struct fx *f, uint32_t *ioas_out);

static void sc_map_copy(struct fx *f, uint32_t *ioas_out)
{
	uint32_t a, b;
	uint64_t buf, iova = 0, iova2 = 0, iova3 = 0;

	if (fx_ioas_alloc(f, &a) || fx_ioas_alloc(f, &b))
		return;
	*ioas_out = a;
	if (mach_mmap(f->p, 0, 4 * MiB, RW, 0, NULL, 0, &buf))
		return;
	if (fx_reserve(f, a, 0, 16 * MiB - 1) < 0 || fx_reserve(f, b, 0, 16 * MiB - 1) < 0)
		return;
	if (fx_add_domain(f, a, 0) < 0 || fx_add_domain(f, a, 0) < 0 || fx_add_domain(f, b, 0) < 0)
		return;
	if (fx_map(f, a, buf, 1 * MiB + 12 * KiB, &iova, MAP_RW))
		return;
	if (fx_map(f, a, buf + 0x800, 6 * KiB, &iova3, MAP_RW))
		return;
	if (fx_copy(f, b, a, iova, 1 * MiB, &iova2, MAP_RW))
		return;
	if (fx_unmap(f, a, iova, 1 * MiB + 12 * KiB, NULL))
		return;
	fx_unmap(f, b, 0, UINT64_MAX, NULL);
}

static void sc_attach_late(struct fx *f, uint32_t *ioas_out)
{
	uint32_t a;
	uint64_t buf, iova;
	int d;

	if (fx_ioas_alloc(f, &a))
		return;
	*ioas_out = a;
	if (mach_mmap(f->p, 0, 2 * MiB, RW, MACH_MAP_HUGE_2M, NULL, 0, &buf))
		return;
	if (fx_reserve(f, a, 0, 16 * MiB - 1) < 0)
		return;
	for (int i = 0; i < 3; i++) {
		iova = 0;
		if (fx_map(f, a, buf + i * 256 * KiB, 256 * KiB, &iova, MAP_RW))
			return;
	}
	d = fx_add_domain(f, a, 0);
	if (d < 0)
		return;
	if (fx_add_domain(f, a, 0) < 0)
		return;
	fx_del_domain(f, d);
}

static void sc_access(struct fx *f, uint32_t *ioas_out)
{
	static struct dev d;
	uint32_t a;
	uint64_t buf, iova = 0;
	char data[6000];

	memset(&d, 0, sizeof(d));
	if (fx_ioas_alloc(f, &a))
		return;
	*ioas_out = a;
	if (mach_mmap(f->p, 0, 1 * MiB, RW, 0, NULL, 0, &buf))
		return;
	if (fx_reserve(f, a, 0, 16 * MiB - 1) < 0)
		return;
	if (fx_map(f, a, buf, 256 * KiB, &iova, MAP_RW))
		return;
	d.access = iommufd_access_create(f->ictx, a, &dev_ops, &d, NULL);
	if (!d.access)
		return;
	if (iommufd_access_pin_pages(d.access, iova + PG, 8 * PG, d.pfns, IOMMUFD_ACCESS_RW_WRITE))
		goto out;
	d.iova = iova + PG;
	d.len = 8 * PG;
	if (fx_add_domain(f, a, 0) < 0)
		goto out;
	memset(data, 0x5a, sizeof(data));
	if (iommufd_access_rw(d.access, iova + 100, data, sizeof(data), IOMMUFD_ACCESS_RW_WRITE))
		goto out;
	fx_unmap(f, a, 0, UINT64_MAX, NULL);
out:
	if (d.len)
		iommufd_access_unpin_pages(d.access, d.iova, d.len);
	d.len = 0;
	iommufd_access_destroy(d.access);
}

static void sc_accounting(struct fx *f, uint32_t *ioas_out)
{
	uint32_t a;
	uint64_t buf, iova = 0, val = 1;

	if (fx_option(f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val))
		return;
	if (fx_ioas_alloc(f, &a))
		return;
	*ioas_out = a;
	mach_proc_set_rlimit_memlock(f->p, 1 * MiB);
	if (mach_mmap(f->p, 0, 2 * MiB, RW, 0, NULL, 0, &buf))
		return;
	if (fx_reserve(f, a, 0, 16 * MiB - 1) < 0 || fx_add_domain(f, a, 0) < 0)
		return;
	if (fx_map(f, a, buf, 512 * KiB, &iova, MAP_RW))
		return;
	iova = 0;
	fx_map(f, a, buf + 1 * MiB, 768 * KiB, &iova, MAP_RW); /* over the limit */
	fx_unmap(f, a, 0, UINT64_MAX, NULL);
}

static void sc_ranges(struct fx *f, uint32_t *ioas_out)
{
	struct iommu_iova_range r[3] = { { 16 * MiB, 32 * MiB - 1 }, { 64 * MiB, 80 * MiB - 1 } };
	struct iommu_ioas_allow_iovas al = { .size = sizeof(al),
					     .num_iovas = 2,
					     .allowed_iovas = (uintptr_t)r };
	struct iommu_ioas_iova_ranges rg = { .size = sizeof(rg),
					     .num_iovas = 3,
					     .allowed_iovas = (uintptr_t)r };
	uint32_t a;
	uint64_t buf, iova = 0;

	if (fx_ioas_alloc(f, &a))
		return;
	*ioas_out = a;
	al.ioas_id = rg.ioas_id = a;
	if (fx_ioctl(f, IOMMU_IOAS_ALLOW_IOVAS, &al))
		return;
	if (fx_add_domain(f, a, 0) < 0)
		return;
	if (mach_mmap(f->p, 0, 1 * MiB, RW, 0, NULL, 0, &buf))
		return;
	if (fx_map(f, a, buf, 1 * MiB, &iova, MAP_RW))
		return;
	fx_ioctl(f, IOMMU_IOAS_IOVA_RANGES, &rg);
}

static void sweep(scenario_fn fn, const char *name)
{
	uint64_t n;

	for (n = 0;; n++) {
		struct fx f;
		struct fault_ctx *fc;
		uint32_t ioas = 0;
		int rc;

		cr_assert_eq(fx_init(&f, 64 * MiB), 0);
		fc = mach_fault(f.m);
		if (n)
			fault_set_nth(fc, n);
		fn(&f, &ioas);
		if (n) {
			bool fired = fault_nth_fired(fc);

			fault_disarm(fc);
			if (!fired) {
				cr_assert_eq(fx_fini(&f), 0);
				break;
			}
		}
		if (ioas)
			cr_assert_eq(fx_check_ioas(&f, ioas), 0,
				     "%s: invariants broken at nth=%llu", name,
				     (unsigned long long)n);
		rc = fx_fini(&f);
		cr_assert_eq(rc, 0, "%s: leak (%d) at nth=%llu", name, rc, (unsigned long long)n);
	}
	cr_assert_gt(n, 10, "%s: the sweep reached only %llu points", name, (unsigned long long)n);
	cr_log_info("%s: %llu injection points", name, (unsigned long long)n);
}

Test(fail_nth, map_copy)
{
	sweep(sc_map_copy, "map_copy");
}

Test(fail_nth, attach_late)
{
	sweep(sc_attach_late, "attach_late");
}

Test(fail_nth, access)
{
	sweep(sc_access, "access");
}

Test(fail_nth, accounting)
{
	sweep(sc_accounting, "accounting");
}

Test(fail_nth, ranges)
{
	sweep(sc_ranges, "ranges");
}
