/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/machine/mem.c: the frame allocator (orders 0, 9, 18,
 * alignment, exhaustion, coalescing), frame counts and queries, physical
 * access bounds, DATALESS scale, the host window, the clock, trace events.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/machine.h>
#include <iommusim/trace.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct mach *new_mach(uint64_t size, enum mach_backing b)
{
	struct mach_config cfg = { .mem_size = size, .backing = b, .seed = 1 };
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
	struct mach_config bad = { .mem_size = 4096 + 1 };

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
	static const unsigned orders[] = { MACH_ORDER_4K, MACH_ORDER_2M, MACH_ORDER_1G };

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
	cr_assert_eq(mach_frame_alloc(m, 3, &(uint64_t){ 0 }), -EINVAL);
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
	long n[2] = { 0, 0 };

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

/* ------------------------------------------------ freeing and clearing */

static bool page_reads_zero(struct mach *m, uint64_t pfn)
{
	static uint8_t buf[4096], zero[4096];

	cr_assert_eq(mach_phys_read(m, pfn << 12, buf, sizeof(buf)), 0);
	return memcmp(buf, zero, sizeof(buf)) == 0;
}

Test(mem, every_write_path_is_cleared_on_free)
{
	struct mach *m = new_mach(64 * MiB, MACH_BACKING_OWNED);
	uint64_t a, b, c, h, start = free_frames(m);
	uint8_t x = 0x3c;

	/* Lone 4 KiB frames written through each way to write RAM bytes. */
	cr_assert_eq(mach_frame_alloc(m, 0, &a), 0);
	cr_assert_eq(mach_frame_alloc(m, 0, &b), 0);
	cr_assert_eq(mach_frame_alloc(m, 0, &c), 0);
	cr_assert_eq(mach_phys_write(m, (a << 12) + 4095, &x, 1), 0);
	cr_assert_eq(mach_phys_copy(m, (b << 12) + 100, (a << 12) + 4095, 1), 0);
	uint8_t *p = mach_phys_ptr(m, (c << 12) + 64, 8);
	cr_assert_not_null(p);
	p[7] = 0x99; /* written through the pointer after the call */
	/* A 2 MiB frame written through a pointer to its last page. */
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &h), 0);
	p = mach_phys_ptr(m, (h + 511) << 12, 4096);
	cr_assert_not_null(p);
	p[4095] = 0x11;
	mach_frame_put(m, a);
	mach_frame_put(m, b);
	mach_frame_put(m, c);
	mach_frame_put(m, h);
	cr_assert_eq(free_frames(m), start);
	cr_assert(page_reads_zero(m, a));
	cr_assert(page_reads_zero(m, b));
	cr_assert(page_reads_zero(m, c));
	cr_assert(page_reads_zero(m, h + 511));
	/* Reallocated, they still read as zeros. */
	cr_assert_eq(mach_frame_alloc(m, 0, &a), 0);
	cr_assert(page_reads_zero(m, a));
	mach_frame_put(m, a);
	mach_destroy(m);
}

static int frame_free_cb(const struct trace_record *rec, void *arg)
{
	long *n = arg;

	if (rec->event == TRACE_EV_mach_frame_free)
		(*n)++;
	return 0;
}

/*
 * A 64 MiB process faulted in a shuffled order (so its pfns are scattered
 * over the page table), a third of its pages written, destroyed: every frame
 * comes back (one free event each), reads as zeros, and the 2 MiB blocks
 * coalesce again.
 */
Test(mem, proc_destroy_frees_scattered_frames_zeroed)
{
	const uint64_t n = (64 * MiB) >> 12, seed = 20261127;
	struct mach *m = new_mach(256 * MiB, MACH_BACKING_OWNED);
	uint64_t start = free_frames(m), va, *idx = malloc(n * sizeof(*idx));
	uint64_t *pfn = malloc(n * sizeof(*pfn));
	struct mach_user *u;
	struct mach_proc *p;
	uint64_t rng = seed;
	long nfree = 0;

	cr_assert_eq(mach_user_get(m, 1, &u), 0);
	cr_assert_eq(mach_proc_create(m, u, &p), 0);
	cr_assert_eq(mach_mmap(p, 0, n << 12, MACH_PROT_READ | MACH_PROT_WRITE, MACH_MAP_PRIVATE,
			       NULL, 0, &va),
		     0);
	for (uint64_t i = 0; i < n; i++)
		idx[i] = i;
	for (uint64_t i = n - 1; i > 0; i--) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		uint64_t j = (rng >> 33) % (i + 1), t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
	for (uint64_t k = 0; k < n; k++) {
		uint64_t i = idx[k];
		uint32_t mark = (uint32_t)(i | 0x80000000u);
		uint64_t uva = va + (i << 12) + (i & 1023) * 4;

		cr_assert_eq(mach_pin_user_pages(p, va + (i << 12), 1, 0, &pfn[i]), 1);
		mach_unpin_pages(m, &pfn[i], 1);
		if (i % 3 == 0)
			cr_assert_eq(mach_copy_to_user(p, uva, &mark, 4), 0, "seed %llu",
				     (unsigned long long)seed);
	}
	cr_assert_eq(free_frames(m), start - n);
	cr_assert_geq(trace_enable_pattern(mach_trace(m), "mach:frame_free"), 1);
	/* A partial munmap first: a zap of part of the table. */
	cr_assert_eq(mach_munmap(p, va + (1000 << 12), 3000 << 12), 0);
	cr_assert_eq(free_frames(m), start - n + 3000);
	mach_proc_destroy(p);
	mach_user_put(u);
	cr_assert_eq(trace_collect(mach_trace(m), frame_free_cb, &nfree), (long)n);
	cr_assert_eq(trace_dropped(mach_trace(m)), 0);
	cr_assert_eq(nfree, (long)n, "one mach:frame_free per frame");
	cr_assert_eq(free_frames(m), start);
	for (uint64_t i = 0; i < n; i += 1 + (i % 7))
		cr_assert(page_reads_zero(m, pfn[i]), "page %llu (pfn 0x%llx), seed %llu",
			  (unsigned long long)i, (unsigned long long)pfn[i],
			  (unsigned long long)seed);
	/* Everything coalesced: every whole 2 MiB block is allocatable. */
	uint64_t blk[127];
	for (int i = 0; i < 127; i++)
		cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &blk[i]), 0, "i=%d", i);
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &(uint64_t){ 0 }), -ENOMEM);
	for (int i = 0; i < 127; i++)
		mach_frame_put(m, blk[i]);
	free(idx);
	free(pfn);
	mach_destroy(m);
}

/* Frames whose last reference goes with their last pin (after munmap): the unpin frees them. */
Test(mem, unpin_frees_written_frames_zeroed)
{
	const uint64_t n = 1500;
	struct mach *m = new_mach(64 * MiB, MACH_BACKING_OWNED);
	uint64_t start = free_frames(m), va, *pfn = malloc(n * sizeof(*pfn));
	struct mach_user *u;
	struct mach_proc *p;
	uint8_t x = 0xee;

	cr_assert_eq(mach_user_get(m, 1, &u), 0);
	cr_assert_eq(mach_proc_create(m, u, &p), 0);
	cr_assert_eq(mach_mmap(p, 0, n << 12, MACH_PROT_READ | MACH_PROT_WRITE, MACH_MAP_PRIVATE,
			       NULL, 0, &va),
		     0);
	cr_assert_eq(mach_pin_user_pages(p, va, n, MACH_PIN_WRITE, pfn), (long)n);
	cr_assert_eq(mach_munmap(p, va, n << 12), 0);
	cr_assert_eq(free_frames(m), start - n, "pinned frames outlive munmap");
	for (uint64_t i = 0; i < n; i += 2)
		cr_assert_eq(mach_phys_write(m, (pfn[i] << 12) + 17, &x, 1), 0);
	mach_unpin_pages(m, pfn, n);
	cr_assert_eq(free_frames(m), start);
	for (uint64_t i = 0; i < n; i++)
		cr_assert(page_reads_zero(m, pfn[i]), "i=%llu", (unsigned long long)i);
	mach_proc_destroy(p);
	mach_user_put(u);
	free(pfn);
	mach_destroy(m);
}

/*
 * The whole blocks of partial sections come out lowest first and ascending,
 * before any whole section is split: 1.5 GiB = section 0 (511 blocks after
 * the one holding pfn 0) and half a section (256 blocks).
 */
Test(mem, partial_section_blocks_in_order)
{
	struct mach *m = new_mach(GiB + GiB / 2, MACH_BACKING_DATALESS);
	uint64_t start = free_frames(m), *b = malloc(767 * sizeof(*b));

	for (int i = 0; i < 767; i++) {
		cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &b[i]), 0, "i=%d", i);
		cr_assert_eq(b[i],
			     i < 511 ? (uint64_t)(i + 1) << 9
				     : (1ULL << 18) + ((uint64_t)(i - 511) << 9),
			     "i=%d pfn 0x%llx", i, (unsigned long long)b[i]);
	}
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &(uint64_t){ 0 }), -ENOMEM);
	cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_1G, &(uint64_t){ 0 }), -ENOMEM);
	/* Given back, all of them can be taken again. */
	for (int i = 0; i < 767; i++)
		mach_frame_put(m, b[i]);
	cr_assert_eq(free_frames(m), start);
	for (int i = 0; i < 767; i++)
		cr_assert_eq(mach_frame_alloc(m, MACH_ORDER_2M, &b[i]), 0, "again i=%d", i);
	for (int i = 0; i < 767; i++)
		mach_frame_put(m, b[i]);
	/* 4 KiB frames split the partial sections' blocks too. */
	uint64_t f;
	cr_assert_eq(mach_frame_alloc(m, 0, &f), 0);
	cr_assert_lt(f, 512, "block 0's own frames go first");
	mach_frame_put(m, f);
	cr_assert_eq(free_frames(m), start);
	free(b);
	mach_destroy(m);
}
