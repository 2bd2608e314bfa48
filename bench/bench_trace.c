/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of the tracing fast path.
 *
 * trace.emit.off  TRACE() of a disabled event: what every trace point in the
 *                 stack costs when tracing is off (one load and a branch).
 * trace.emit.on   TRACE() of an enabled event into the calling thread's
 *                 buffer, with the buffer collected (and discarded) every
 *                 TRACE_BENCH_BATCH events, so memory stays bounded and the
 *                 amortised cost of collection is part of the item.
 *
 * An item is one TRACE() call of iommu:map (four fields). The state is one
 * trace context owned by the benchmark; nothing is shared between runs.
 */
#include <errno.h>
#include <stdlib.h>

#include <iommusim/trace.h>

#include "bench.h"

#define TRACE_BENCH_BATCH 4096u

struct trace_bench {
	struct trace_ctx *tc;
};

static int trace_bench_setup(void **state, bool on)
{
	struct trace_bench *b;
	int err;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	err = trace_ctx_create(NULL, NULL, &b->tc);
	if (err) {
		free(b);
		return err;
	}
	if (on)
		trace_enable(b->tc, TRACE_EV_iommu_map, true);
	*state = b;
	return 0;
}

static int trace_off_setup(void **state, const struct bench_args *args)
{
	return trace_bench_setup(state, false);
}

static int trace_on_setup(void **state, const struct bench_args *args)
{
	return trace_bench_setup(state, true);
}

static void trace_bench_teardown(void *state)
{
	struct trace_bench *b = state;

	trace_ctx_destroy(b->tc);
	free(b);
}

static int trace_off_run(void *state, uint64_t iterations, struct bench_counters *out)
{
	struct trace_bench *b = state;

	for (uint64_t i = 0; i < iterations; i++) {
		uint64_t iova = i << 12;

		TRACE(b->tc, iommu_map, iova, iova + 4095, iova, 4096);
		BENCH_KEEP(iova);
	}
	out->items = iterations;
	return 0;
}

static int trace_on_run(void *state, uint64_t iterations, struct bench_counters *out)
{
	struct trace_bench *b = state;

	for (uint64_t i = 0; i < iterations; i++) {
		uint64_t iova = i << 12;

		TRACE(b->tc, iommu_map, iova, iova + 4095, iova, 4096);
		if ((i + 1) % TRACE_BENCH_BATCH == 0)
			trace_collect(b->tc, NULL, NULL);
	}
	trace_collect(b->tc, NULL, NULL);
	if (trace_dropped(b->tc))
		return -ENOMEM;
	out->items = iterations;
	return 0;
}

BENCH_REGISTER(trace_emit_off) = {
	.name = "trace.emit.off",
	.item = "one TRACE() of a disabled event (iommu:map, 4 fields)",
	.setup = trace_off_setup,
	.run = trace_off_run,
	.teardown = trace_bench_teardown,
};

BENCH_REGISTER(trace_emit_on) = {
	.name = "trace.emit.on",
	.item = "one TRACE() of an enabled event (iommu:map, 4 fields) into the thread's "
		"buffer, collection amortised",
	.setup = trace_on_setup,
	.run = trace_on_run,
	.teardown = trace_bench_teardown,
};
