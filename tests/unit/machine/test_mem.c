/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/machine/mem.c: the frame allocator (orders 0, 9, 18,
 * alignment, exhaustion, coalescing), frame counts and queries, physical
 * access bounds, DATALESS scale, the host window, the clock, trace events.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/machine.h>
#include <iommusim/trace.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct mach *new_mach(uint64_t size, enum mach_backing b)
{
	struct mach_config cfg = {.mem_size = size, .backing = b, .seed = 1};
	struct mach *m = NULL;

	cr_assert_eq(mach_create(&cfg, &m), 0);
	return m;
}

static uint64_t free_frames(struct mach *m)
{
	struct mach_mem_stats st;

	mach_mem_stats(m, &st);
	return st.free_frames;
}

Test(mem, create_defaults_and_bad_config)
{
	struct mach *m = NULL;
	struct mach_config bad = {.mem_size = 4096 + 1};

	cr_assert_eq(mach_create(NULL, &m), 0);
	cr_assert_eq(mach_ram_size(m), GiB);
	cr_assert_not_null(mach_fault(m));
	cr_assert_not_null(mach_trace(m));
	struct mach_mem_stats st;
	mach_mem_stats(m, &st);
	cr_assert_eq(st.ram_frames, GiB >> 12);
	cr_assert_eq(st.free_frames, (GiB >> 12) - 1, "pfn 0 is never free");
	cr_assert_eq(st.pinned_frames, 0);
	cr_assert_eq(st.host_frames, 0);
	mach_destroy(m);
	cr_assert_eq(mach_create(&bad, &m), -EINVAL);
	bad.mem_size = 1ULL << 50; /* more frames than the 32-bit links address */
	cr_assert_eq(mach_create(&bad, &m), -EINVAL);
	bad.mem_size = GiB;
	bad.backing = 7;
	cr_assert_eq(mach_create(&bad, &m), -EINVAL);
}

Test(mem, clock)
{
	struct mach *m = new_mach(16 * MiB, MACH_BACKING_OWNED);

	cr_assert_eq(mach_now(m), 0);
	mach_clock_advance(m, 1500);
	mach_clock_advance(m, 500);
	cr_assert_eq(mach_now(m), 2000);
	mach_destroy(m);
}

Test(mem, each_order_aligned_zeroed_and_freed)
{
	struct mach *m = new_mach(4 * GiB, MACH_BACKING_OWNED);
	uint64_t start = free_frames(m);
	static const unsigned orders[] = {MACH_ORDER_4K, MACH_ORDER_2M, MACH_ORDER_1G};

	for (unsigned i = 0; i < 3; i++) {
		unsigned o = orders[i];
		uint64_t pfn = 0;
		struct mach_frame_info fi;
		uint8_t b = 0xff;

		cr_assert_eq(mach_frame_alloc(m, o, &pfn), 0, "order %u", o);
		cr_assert_neq(pfn, 0);
		cr_assert_eq(pfn & ((1ULL << o) - 1), 0, "order %u pfn 0x%llx not aligned", o,
			     (unsigned long long)pfn);
		cr_assert_eq(free_frames(m), start - (1ULL << o));
		cr_assert_eq(mach_frame_query(m, pfn, &fi), 0);
		cr_assert_eq(fi.refcount, 1);
		cr_assert_eq(fi.pincount, 0);
		cr_assert_eq(fi.order, o);
		cr_assert(fi.flags & MACH_FRAME_ALLOCATED);
		cr_assert_eq(!!(fi.flags & MACH_FRAME_COMPOUND), o != 0);
		/* A tail frame reports its head's allocation. */
		uint64_t tail = pfn + (1ULL << o) - 1;
		cr_assert_eq(mach_frame_query(m, tail, &fi), 0);
		cr_assert_eq(fi.order, o);
		cr_assert_eq(fi.refcount, 1);
		/* Zeroed, then dirty it so reuse proves the clearing. */
		cr_assert_eq(mach_phys_read(m, tail << 12, &b, 1), 0);
		cr_assert_eq(b, 0);
		b = 0xab;
		cr_assert_eq(mach_phys_write(m, tail << 12, &b, 1), 0);
		mach_frame_get(m, tail); /* a reference through a tail */
		mach_frame_put(m, pfn);
		cr_assert_eq(free_frames(m), start - (1ULL << o));
		mach_frame_put(m, tail);
		cr_assert_eq(free_frames(m), start);
		cr_assert_eq(mach_frame_query(m, pfn, &fi), 0);
		cr_assert_eq(fi.flags, 0);
		cr_assert_eq(mach_phys_read(m, tail << 12, &b, 1), 0);
		cr_assert_eq(b, 0, "freed memory must read as zeros");
	}
	cr_assert_eq(mach_frame_alloc(m, 3, &(uint64_t){0}), -EINVAL);
	mach_destroy(m);
}

Test(mem, exhaustion_and_coalescing)
{
	/* 2 GiB: section 0 holds pfn 0, so exactly one 1 GiB frame exists. */
	struct mach *m = new_mach(2 * GiB, MACH_BACKING_DATALESS);
	uint64_t start = free_frames(m), g, g2;

	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_1G, &g), 0);
	cr_assert_eq(g, 1ULL << 18);
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_1G, &g2), -ENOMEM);

	/* Section 0: 511 2 MiB blocks and 511 frames. Take every frame as 4 KiB. */
	uint64_t n = (1ULL << 18) - 1;
	uint64_t *pfns = malloc(n * sizeof(*pfns));
	for (uint64_t i = 0; i < n; i++) {
		cr_assert_eq(mach_frame_alloc(m, 0, &pfns[i]), 0, "i=%llu", (unsigned long long)i);
		cr_assert(pfns[i] > 0 && pfns[i] < (1ULL << 18));
	}
	cr_assert_eq(free_frames(m), 0);
	cr_assert_eq(mach_frame_alloc(m, 0, &g2), -ENOMEM);
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &g2), -ENOMEM);
	/* Give them all back: blocks coalesce, so 2 MiB allocations work again. */
	for (uint64_t i = 0; i < n; i++)
		mach_frame_put(m, pfns[i]);
	mach_frame_put(m, g);
	cr_assert_eq(free_frames(m), start);
	uint64_t b;
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &b), 0);
	cr_assert_eq(b & 511, 0);
	mach_frame_put(m, b);
	/* ... and the 1 GiB section came back whole. */
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_1G, &g), 0);
	mach_frame_put(m, g);
	free(pfns);
	mach_destroy(m);
}

Test(mem, small_machine_tail_frames)
{
	/* 4 MiB + 12 KiB: block 0 (holding pfn 0), one usable 2 MiB block, 3 odd frames. */
	struct mach *m = new_mach(4 * MiB + 3 * 4096, MACH_BACKING_OWNED);
	uint64_t b, x;

	cr_assert_eq(free_frames(m), ((4 * MiB) >> 12) + 3 - 1);
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &b), 0);
	cr_assert_eq(b, 512);
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &x), -ENOMEM);
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_1G, &x), -ENOMEM);
	mach_frame_put(m, b);
	mach_destroy(m);
}

Test(mem, phys_bounds)
{
	struct mach *m = new_mach(16 * MiB, MACH_BACKING_OWNED);
	uint8_t buf[64], out[64];
	uint64_t end = 16 * MiB;

	memset(buf, 0x5a, sizeof(buf));
	cr_assert_eq(mach_phys_write(m, end - 64, buf, 64), 0);
	cr_assert_eq(mach_phys_read(m, end - 64, out, 64), 0);
	cr_assert_arr_eq(out, buf, 64);
	cr_assert_eq(mach_phys_write(m, end - 63, buf, 64), -EFAULT);
	cr_assert_eq(mach_phys_read(m, end, out, 1), -EFAULT);
	cr_assert_eq(mach_phys_read(m, UINT64_MAX - 8, out, 64), -EFAULT);
	cr_assert_eq(mach_phys_copy(m, 4096, end - 64, 64), 0);
	cr_assert_eq(mach_phys_read(m, 4096, out, 64), 0);
	cr_assert_arr_eq(out, buf, 64);
	cr_assert_eq(mach_phys_copy(m, end - 32, 0, 64), -EFAULT);
	/* Overlapping copy behaves as memmove. */
	for (int i = 0; i < 64; i++)
		buf[i] = (uint8_t)i;
	cr_assert_eq(mach_phys_write(m, 8192, buf, 64), 0);
	cr_assert_eq(mach_phys_copy(m, 8192 + 8, 8192, 56), 0);
	cr_assert_eq(mach_phys_read(m, 8192 + 8, out, 56), 0);
	cr_assert_arr_eq(out, buf, 56);
	uint8_t *p = mach_phys_ptr(m, 8192, 64);
	cr_assert_not_null(p);
	cr_assert_eq(p[8], 0);
	cr_assert_null(mach_phys_ptr(m, end - 8, 16));
	/* Between RAM and the host window there is nothing. */
	cr_assert_eq(mach_phys_read(m, 1ULL << 39, out, 1), -EFAULT);
	uint64_t pfn;
	struct mach_frame_info fi;
	cr_assert_eq(mach_frame_query(m, 0, &fi), -EINVAL);
	cr_assert_eq(mach_frame_query(m, end >> 12, &fi), -EINVAL);
	cr_assert_eq(mach_frame_alloc(m, 0, &pfn), 0);
	mach_frame_put(m, pfn);
	mach_destroy(m);
}

Test(mem, dataless_1tib)
{
	struct mach *m = new_mach(1ULL << 40, MACH_BACKING_DATALESS);
	uint64_t pfns[1023], x;
	uint8_t b = 0x77;

	cr_assert_eq(mach_ram_size(m), 1ULL << 40);
	/* 1024 sections, the first holds pfn 0: 1023 1 GiB frames. */
	for (int i = 0; i < 1023; i++)
		cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_1G, &pfns[i]), 0, "i=%d", i);
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_1G, &x), -ENOMEM);
	cr_assert_null(mach_phys_ptr(m, pfns[5] << 12, 8));
	cr_assert_eq(mach_phys_write(m, pfns[5] << 12, &b, 1), 0);
	cr_assert_eq(mach_phys_read(m, pfns[5] << 12, &b, 1), 0);
	cr_assert_eq(b, 0, "dataless reads zeros");
	for (int i = 0; i < 1023; i++)
		mach_frame_put(m, pfns[i]);
	cr_assert_eq(free_frames(m), (1ULL << 28) - 1);
	mach_destroy(m);
}

static int count_cb(const struct trace_record *rec, void *arg)
{
	long *n = arg;

	if (rec->event == TRACE_EV_mach_frame_alloc || rec->event == TRACE_EV_mach_frame_free)
		n[rec->event == TRACE_EV_mach_frame_free]++;
	return 0;
}

Test(mem, trace_and_fault_point)
{
	struct mach *m = new_mach(16 * MiB, MACH_BACKING_OWNED);
	uint64_t pfn;
	long n[2] = {0, 0};

	cr_assert_geq(trace_enable_pattern(mach_trace(m), "mach:*"), 6);
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &pfn), 0);
	mach_frame_put(m, pfn);
	cr_assert_eq(trace_collect(mach_trace(m), count_cb, n), 2);
	cr_assert_eq(n[0], 1);
	cr_assert_eq(n[1], 1);

	cr_assert_eq(fault_set_filter(mach_fault(m), FAULT_CLASS_ALLOC, "mach.frame_alloc"), 0);
	fault_set_nth(mach_fault(m), 1);
	cr_assert_eq(mach_frame_alloc(m, 0, &pfn), -ENOMEM);
	cr_assert(fault_nth_fired(mach_fault(m)));
	fault_disarm(mach_fault(m));
	cr_assert_eq(mach_frame_alloc(m, 0, &pfn), 0);
	mach_frame_put(m, pfn);
	mach_destroy(m);
}

Test(mem, two_machines_share_nothing)
{
	struct mach *a = new_mach(16 * MiB, MACH_BACKING_OWNED);
	struct mach *b = new_mach(16 * MiB, MACH_BACKING_OWNED);
	uint64_t pa, pb;
	uint8_t x = 1, y = 0;

	cr_assert_eq(mach_frame_alloc(a, 0, &pa), 0);
	cr_assert_eq(mach_frame_alloc(b, 0, &pb), 0);
	cr_assert_eq(pa, pb);
	cr_assert_eq(mach_phys_write(a, pa << 12, &x, 1), 0);
	cr_assert_eq(mach_phys_read(b, pb << 12, &y, 1), 0);
	cr_assert_eq(y, 0);
	mach_clock_advance(a, 5);
	cr_assert_eq(mach_now(b), 0);
	mach_destroy(a);
	mach_destroy(b);
}
