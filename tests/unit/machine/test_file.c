/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/machine/file.c: memfd-like files, their page cache,
 * shared and private mappings, truncation (pinned pages live on), file pins.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/machine.h>

#include "machine_fixture.h"

TestSuite(file, .init = setup, .fini = teardown);

static uint64_t free_frames(void)
{
	struct mach_mem_stats st;

	mach_mem_stats(m, &st);
	return st.free_frames;
}

Test(file, pin_pages_and_bounds)
{
	struct mach_file *f;
	uint64_t pfns[4], again[4];
	uint64_t free0 = free_frames();

	cr_assert_eq(mach_file_create(m, 4 * PG, &f), 0);
	cr_assert_eq(mach_file_size(f), 4 * PG);
	cr_assert_eq(mach_file_pin_pages(f, 2, 3, 0, pfns), -EINVAL, "beyond the end");
	cr_assert_eq(mach_file_pin_pages(f, 4, 1, 0, pfns), -EINVAL);
	cr_assert_eq(mach_file_pin_pages(f, 0, 4, MACH_PIN_WRITE, pfns), 4);
	cr_assert_eq(free_frames(), free0 - 4);
	cr_assert_eq(mach_file_pin_pages(f, 0, 4, 0, again), 4);
	cr_assert_arr_eq(again, pfns, sizeof(pfns));
	struct mach_frame_info fi;
	cr_assert_eq(mach_frame_query(m, pfns[1], &fi), 0);
	cr_assert_eq(fi.refcount, 3, "page cache + 2 pins");
	cr_assert_eq(fi.pincount, 2);
	mach_unpin_pages(m, again, 4);
	mach_unpin_pages(m, pfns, 4);
	mach_file_put(f);
	cr_assert_eq(free_frames(), free0, "the last put frees the page cache");
}

Test(file, truncate_keeps_pinned_pages)
{
	struct mach_file *f;
	uint64_t pfns[4];
	uint64_t free0 = free_frames();
	uint8_t b = 0xee, r = 1;

	cr_assert_eq(mach_file_create(m, 4 * PG, &f), 0);
	cr_assert_eq(mach_file_pin_pages(f, 0, 4, MACH_PIN_WRITE, pfns), 4);
	mach_unpin_pages(m, pfns, 2); /* pages 0, 1 stay only in the cache */
	cr_assert_eq(mach_phys_write(m, (pfns[3] << 12) + 7, &b, 1), 0);
	cr_assert_eq(mach_file_truncate(f, PG + 100), 0);
	cr_assert_eq(mach_file_size(f), PG + 100);
	/* Page 2 and 3 left the cache but are pinned: alive, refcount 1. */
	struct mach_frame_info fi;
	cr_assert_eq(mach_frame_query(m, pfns[3], &fi), 0);
	cr_assert_eq(fi.refcount, 1);
	cr_assert_eq(fi.pincount, 1);
	cr_assert_eq(mach_phys_read(m, (pfns[3] << 12) + 7, &r, 1), 0);
	cr_assert_eq(r, 0xee);
	cr_assert_eq(free_frames(), free0 - 4);
	cr_assert_eq(mach_file_pin_pages(f, 2, 1, 0, pfns), -EINVAL);
	/* Growing again gives new zero pages, not the pinned ones. */
	cr_assert_eq(mach_file_truncate(f, 4 * PG), 0);
	uint64_t fresh;
	cr_assert_eq(mach_file_pin_pages(f, 3, 1, 0, &fresh), 1);
	cr_assert_neq(fresh, pfns[3]);
	mach_unpin_pages(m, &fresh, 1);
	mach_unpin_pages(m, pfns + 2, 2);
	cr_assert_eq(free_frames(), free0 - 3, "pages 0, 1 and the new 3 are cached");
	mach_file_put(f);
	cr_assert_eq(free_frames(), free0);
}

Test(file, truncate_zeroes_partial_page)
{
	struct mach_file *f;
	uint64_t pfn;
	uint8_t buf[8];

	cr_assert_eq(mach_file_create(m, PG, &f), 0);
	cr_assert_eq(mach_file_pin_pages(f, 0, 1, 0, &pfn), 1);
	memset(buf, 0x11, sizeof(buf));
	cr_assert_eq(mach_phys_write(m, (pfn << 12) + 96, buf, 8), 0);
	cr_assert_eq(mach_file_truncate(f, 100), 0);
	cr_assert_eq(mach_phys_read(m, (pfn << 12) + 96, buf, 8), 0);
	cr_assert_eq(buf[0], 0x11);
	cr_assert_eq(buf[3], 0x11);
	cr_assert_eq(buf[4], 0);
	mach_unpin_pages(m, &pfn, 1);
	mach_file_put(f);
}

Test(file, shared_and_private_mappings)
{
	struct mach_file *f;
	uint64_t s, pv, pfn, fpfn;
	char out[6] = "";

	cr_assert_eq(mach_file_create(m, 2 * PG, &f), 0);
	cr_assert_eq(mach_mmap(p, 0, 2 * PG, RW, MACH_MAP_SHARED, f, 0, &s), 0);
	cr_assert_eq(mach_mmap(p, 0, PG, RW, 0, f, PG, &pv), 0);
	cr_assert_eq(mach_copy_to_user(p, s + PG, "hello", 6), 0);
	cr_assert_eq(mach_file_pin_pages(f, 1, 1, 0, &fpfn), 1);
	cr_assert_eq(mach_pin_user_pages(p, s + PG, 1, 0, &pfn), 1);
	cr_assert_eq(pfn, fpfn, "a shared mapping uses the page cache");
	mach_unpin_pages(m, &pfn, 1);
	/* A private mapping copies at first fault; its writes stay private. */
	cr_assert_eq(mach_copy_from_user(p, out, pv, 6), 0);
	cr_assert_str_eq(out, "hello");
	cr_assert_eq(mach_copy_to_user(p, pv, "world", 6), 0);
	cr_assert_eq(mach_copy_from_user(p, out, s + PG, 6), 0);
	cr_assert_str_eq(out, "hello");
	cr_assert_eq(mach_pin_user_pages(p, pv, 1, MACH_PIN_WRITE, &pfn), 1);
	cr_assert_neq(pfn, fpfn);
	mach_unpin_pages(m, &pfn, 1);
	/* Truncation: the shared mapping beyond the end faults (SIGBUS). */
	cr_assert_eq(mach_file_truncate(f, PG), 0);
	cr_assert_eq(mach_pin_user_pages(p, s, 2, 0, &pfn), -EFAULT);
	cr_assert_eq(mach_copy_from_user(p, out, s + PG, 1), -EFAULT);
	cr_assert_eq(mach_phys_read(m, fpfn << 12, out, 6), 0);
	cr_assert_str_eq(out, "hello", "the pinned page lives on");
	mach_unpin_pages(m, &fpfn, 1);
	/* The mappings hold the file: a put by its creator does not free it. */
	mach_file_put(f);
	cr_assert_eq(mach_copy_to_user(p, s, "x", 1), 0);
	cr_assert_eq(mach_munmap(p, s, 2 * PG), 0);
	cr_assert_eq(mach_munmap(p, pv, PG), 0);
}

Test(file, leaked_objects_freed_by_destroy)
{
	struct mach_file *f;
	struct mach_proc *q;
	uint64_t va, pfn;

	/* Left for mach_destroy() (LSan checks it frees them). */
	cr_assert_eq(mach_file_create(m, PG, &f), 0);
	cr_assert_eq(mach_proc_create(m, u, &q), 0);
	cr_assert_eq(mach_mmap(q, 0, PG, RW, MACH_MAP_SHARED, f, 0, &va), 0);
	cr_assert_eq(mach_pin_user_pages(q, va, 1, 0, &pfn), 1);
}

/*
 * A write through a shared mapping whose page-cache table node cannot be
 * allocated fails with -ENOMEM and changes nothing (it used to install the
 * new page through a NULL slot).
 */
Test(file, write_fails_cleanly_when_table_node_alloc_fails)
{
	struct fault_ctx *fc = mach_fault(m);
	struct mach_file *f;
	uint64_t s, free0;
	char out[3] = "";

	cr_assert_eq(mach_file_create(m, PG, &f), 0);
	cr_assert_eq(mach_mmap(p, 0, PG, RW, MACH_MAP_SHARED, f, 0, &s), 0);
	free0 = free_frames();
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALLOC, "mach.pt_alloc"), 0);
	fault_set_nth(fc, 1);
	cr_assert_eq(mach_copy_to_user(p, s, "hi", 3), -ENOMEM);
	cr_assert(fault_nth_fired(fc));
	fault_disarm(fc);
	cr_assert_eq(free_frames(), free0, "a frame was taken by the failed write");
	cr_assert_eq(mach_copy_from_user(p, out, s, 3), 0);
	cr_assert_eq(out[0], 0, "the failed write left data behind");
	cr_assert_eq(mach_copy_to_user(p, s, "hi", 3), 0);
	cr_assert_eq(mach_copy_from_user(p, out, s, 3), 0);
	cr_assert_str_eq(out, "hi");
	mach_file_put(f);
	cr_assert_eq(mach_munmap(p, s, PG), 0);
}
