// SPDX-License-Identifier: MIT
/*
 * Unit tests of src/iommufd/pages.c: locked_vm accounting in the three
 * modes (USER, MM, NONE), RLIMIT_MEMLOCK with rollback, pinned_vm, batching
 * under a tiny temporary-memory limit, contiguous runs, two domains.
 */
#include <criterion/criterion.h>

#include "fixture.h"
#include "iommu/mock/mock.h"

static struct fx f;
static uint32_t ioas;
static uint64_t buf;

#define BUF_LEN (8 * MiB)

static void setup(void)
{
	cr_assert_eq(fx_init(&f, 0), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(mach_mmap(f.p, 0, BUF_LEN, RW, 0, NULL, 0, &buf), 0);
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	cr_assert_eq(fx_reserve(&f, ioas, 0, 16 * MiB - 1), 0);
}

static void teardown(void)
{
	cr_assert_eq(fx_fini(&f), 0, "leak at close");
}

TestSuite(pages, .init = setup, .fini = teardown);

Test(pages, user_mode_limit_and_rollback)
{
	uint64_t iova = 0, pinned0;

	mach_proc_set_rlimit_memlock(f.p, 1 * MiB);
	cr_assert_eq(fx_map(&f, ioas, buf, 512 * KiB, &iova, MAP_RW), 0);
	cr_assert_eq(mach_user_locked_vm(f.u), 128);
	cr_assert_eq(mach_proc_locked_vm(f.p), 0, "USER mode charges the user");
	cr_assert_eq(mach_proc_pinned_vm(f.p), 128);
	pinned0 = fx_pinned_frames(&f);

	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf + 1 * MiB, 768 * KiB, &iova, MAP_RW), -ENOMEM);
	cr_assert_eq(mach_user_locked_vm(f.u), 128, "rolled back");
	cr_assert_eq(mach_proc_pinned_vm(f.p), 128);
	cr_assert_eq(fx_pinned_frames(&f), pinned0);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);

	/* the limit counts pages, not maps: exactly up to it is fine */
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf + 1 * MiB, 512 * KiB, &iova, MAP_RW), 0);
	cr_assert_eq(mach_user_locked_vm(f.u), 256);
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(mach_user_locked_vm(f.u), 0);
	cr_assert_eq(mach_proc_pinned_vm(f.p), 0);
}

Test(pages, user_mode_is_per_user)
{
	struct mach_proc *p2;
	struct iommufd_ctx *ictx2;
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	uint64_t iova = 0;

	mach_proc_set_rlimit_memlock(f.p, 1 * MiB);
	cr_assert_eq(fx_map(&f, ioas, buf, 768 * KiB, &iova, MAP_RW), 0);
	/* another process of the same user shares the user's locked_vm */
	cr_assert_eq(mach_proc_create(f.m, f.u, &p2), 0);
	cr_assert_eq(iommufd_ctx_open(p2, &ictx2), 0);
	cr_assert_eq(iommufd_ioctl(ictx2, IOMMU_IOAS_ALLOC, &a), 0);
	cr_assert_eq(mach_user_locked_vm(f.u), 192);
	iommufd_ctx_close(ictx2);
	mach_proc_destroy(p2);
}

Test(pages, mm_mode)
{
	uint64_t val = 1, iova = 0;

	/* RLIMIT_MODE can only change while the context is empty */
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val), -EBUSY);
	fx_teardown(&f);
	cr_assert_eq(fx_init(&f, 0), 0);
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(mach_mmap(f.p, 0, BUF_LEN, RW, 0, NULL, 0, &buf), 0);
	cr_assert_eq(fx_reserve(&f, ioas, 0, 16 * MiB - 1), 0);
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 0);
	mach_proc_set_rlimit_memlock(f.p, 1 * MiB);

	cr_assert_eq(fx_map(&f, ioas, buf, 512 * KiB, &iova, MAP_RW), 0);
	cr_assert_eq(mach_proc_locked_vm(f.p), 128, "MM mode charges the process");
	cr_assert_eq(mach_user_locked_vm(f.u), 0);
	cr_assert_eq(mach_proc_pinned_vm(f.p), 128);
	iova = 0;
	cr_assert_eq(fx_map(&f, ioas, buf + 1 * MiB, 1 * MiB, &iova, MAP_RW), -ENOMEM);
	cr_assert_eq(mach_proc_locked_vm(f.p), 128);
	cr_assert_eq(mach_proc_pinned_vm(f.p), 128);
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(mach_proc_locked_vm(f.p), 0);
}

Test(pages, none_mode_with_cap_ipc_lock)
{
	uint64_t iova = 0;

	mach_proc_set_rlimit_memlock(f.p, 64 * KiB);
	mach_proc_set_cap_ipc_lock(f.p, true);
	cr_assert_eq(fx_map(&f, ioas, buf, 2 * MiB, &iova, MAP_RW), 0);
	cr_assert_eq(mach_user_locked_vm(f.u), 0);
	cr_assert_eq(mach_proc_locked_vm(f.p), 0);
	cr_assert_eq(mach_proc_pinned_vm(f.p), 512, "pinned_vm is always updated");
	cr_assert_eq(fx_unmap(&f, ioas, iova, 2 * MiB, NULL), 0);
	cr_assert_eq(mach_proc_pinned_vm(f.p), 0);
}

Test(pages, tiny_temp_memory)
{
	uint64_t iova = 0;

	/* one pfn per batch: every path walks page by page */
	iommufd_ctx_set_temp_memory_limit(f.ictx, 8);
	cr_assert_eq(fx_map(&f, ioas, buf + 0x800, 1 * MiB, &iova, MAP_RW), 0);
	cr_assert_eq(iova % PG, 0x800);
	for (uint64_t off = 0; off < 1 * MiB; off += 60 * KiB + 8)
		cr_assert(fx_dom_maps(&f, 0, iova + off, buf + 0x800 + off));
	cr_assert_eq(fx_add_domain(&f, ioas, 0), 1);
	cr_assert(fx_dom_maps(&f, 1, iova + 4 * PG, buf + 0x800 + 4 * PG));
	cr_assert_eq(fx_pinned_frames(&f), 257);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
	cr_assert_eq(fx_unmap(&f, ioas, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(fx_pinned_frames(&f), 0);
	iommufd_ctx_set_temp_memory_limit(f.ictx, 0);
}

Test(pages, contiguous_runs_map_large)
{
	uint64_t va, iova = 0;
	struct mock_pte pte;
	struct mock_domain_stats st;

	fx_del_domain(&f, 0);
	cr_assert_eq(fx_add_domain(&f, ioas, MOCK_FLAGS_DEVICE_HUGE_IOVA), 1);
	cr_assert_eq(mach_mmap(f.p, 0, 4 * MiB, RW, MACH_MAP_HUGE_2M, NULL, 0, &va), 0);
	cr_assert_eq(fx_map(&f, ioas, va, 4 * MiB, &iova, MAP_RW), 0);
	cr_assert_eq(mock_domain_lookup(f.doms[1].domain, iova + 1 * MiB, &pte), 0);
	cr_assert_eq(pte.pgsize, MOCK_HUGE_PAGE_SIZE);
	mock_domain_stats(f.doms[1].domain, &st);
	cr_assert_eq(st.mapped_bytes, 4 * MiB);
	cr_assert_eq(st.warnings, 0);
}

Test(pages, two_domains_identical)
{
	uint64_t iova[3] = { 0, 0, 0 };

	cr_assert_eq(fx_add_domain(&f, ioas, 0), 1);
	cr_assert_eq(fx_map(&f, ioas, buf, 1 * MiB, &iova[0], MAP_RW), 0);
	cr_assert_eq(fx_map(&f, ioas, buf + 3 * MiB + 0x800, 12 * KiB, &iova[1], MAP_RW), 0);
	cr_assert_eq(fx_map(&f, ioas, buf + 0x800, 2 * KiB, &iova[2], MAP_RW), 0,
		     "a sub-page map shares the page");
	cr_assert_eq(fx_pinned_frames(&f), 256 + 4, "page 0 is one frame, pinned twice");
	for (int d = 0; d < 2; d++) {
		cr_assert(fx_dom_maps(&f, d, iova[0] + 100 * PG, buf + 100 * PG));
		cr_assert(fx_dom_maps(&f, d, iova[1], buf + 3 * MiB + 0x800));
		cr_assert(fx_dom_maps(&f, d, iova[1] + 12 * KiB - 1,
				      buf + 3 * MiB + 0x800 + 12 * KiB - 1));
		cr_assert(fx_dom_maps(&f, d, iova[2], buf + 0x800));
	}
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
	cr_assert_eq(fx_unmap(&f, ioas, iova[1], 12 * KiB, NULL), 0);
	for (int d = 0; d < 2; d++)
		cr_assert(fx_dom_empty_at(&f, d, iova[1]));
	cr_assert_eq(fx_pinned_frames(&f), 256);
}
