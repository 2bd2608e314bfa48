/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of the machine's long-term pin path (src/machine/pin.c).
 *
 * pin.4k  mach_pin_user_pages() + mach_unpin_pages() of 512-page batches of
 *         an already-faulted private anonymous 64 MiB region of 4 KiB
 *         pages, walking the region batch after batch.
 * pin.2m  the same over a region backed by 2 MiB pages (each batch is one
 *         huge page, pinned and unpinned 4 KiB page by 4 KiB page as
 *         iommufd does: the pfn array still has one entry per 4 KiB page).
 *
 * An item is one 4 KiB page pinned and unpinned. The state (machine, user,
 * process, faulted region, pfn array) is built in setup(); run() leaves the
 * counts as it found them.
 */
#include <errno.h>
#include <stdlib.h>

#include <iommusim/machine.h>

#include "bench.h"
#include "bench_util.h"

#define PIN_BENCH_REGION (64ULL << 20)
#define PIN_BENCH_BATCH 512ULL

struct pin_bench {
	struct bench_proc bp;
	uint64_t npages, next;
	uint64_t pfns[PIN_BENCH_BATCH];
};

static void pin_teardown(void *state)
{
	struct pin_bench *b = state;

	if (!b)
		return;
	bench_proc_teardown(&b->bp);
	free(b);
}

static int pin_setup(void **state, unsigned flags)
{
	struct mach_config cfg = { .mem_size = 1ULL << 30, .backing = MACH_BACKING_DATALESS };
	struct pin_bench *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	err = bench_proc_setup(&b->bp, &cfg, PIN_BENCH_REGION, flags, false);
	if (err) {
		pin_teardown(b);
		return err;
	}
	b->npages = PIN_BENCH_REGION >> MACH_PAGE_SHIFT;
	*state = b;
	return 0;
}

static int pin_4k_setup(void **state, const struct bench_args *args)
{
	return pin_setup(state, 0);
}

static int pin_2m_setup(void **state, const struct bench_args *args)
{
	return pin_setup(state, MACH_MAP_HUGE_2M);
}

static int pin_run(void *state, uint64_t iterations, struct bench_counters *out)
{
	struct pin_bench *b = state;

	for (uint64_t i = 0; i < iterations; i++) {
		uint64_t va = b->bp.va + (b->next << MACH_PAGE_SHIFT);
		long n = mach_pin_user_pages(b->bp.p, va, PIN_BENCH_BATCH, MACH_PIN_WRITE, b->pfns);

		if (n != (long)PIN_BENCH_BATCH)
			return n < 0 ? (int)n : -EIO;
		mach_unpin_pages(b->bp.m, b->pfns, PIN_BENCH_BATCH);
		b->next = (b->next + PIN_BENCH_BATCH) % b->npages;
	}
	BENCH_KEEP(b->pfns[0]);
	out->items += iterations * PIN_BENCH_BATCH;
	return 0;
}

BENCH_REGISTER(pin_4k) = {
	.name = "pin.4k",
	.item = "one 4 KiB page of a faulted 4 KiB anonymous region pinned and unpinned",
	.setup = pin_4k_setup,
	.run = pin_run,
	.teardown = pin_teardown,
};

BENCH_REGISTER(pin_2m) = {
	.name = "pin.2m",
	.item = "one 4 KiB page of a faulted 2 MiB-page region pinned and unpinned",
	.setup = pin_2m_setup,
	.run = pin_run,
	.teardown = pin_teardown,
};
