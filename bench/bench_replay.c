/* SPDX-License-Identifier: MIT */
/*
 * Replay throughput: the replay engine driving the whole stack (iommufd,
 * the Intel driver, the VT-d model) through a generated trace.
 *
 * replay.nic.vtd   `iommusim gen nic-ring` (persistent ring and buffer-pool
 *                  mappings on a 2 MiB huge page, 3 DMAs per packet:
 *                  descriptor fetch, frame, write-back), 100000 packets;
 * replay.nvme.vtd  `iommusim gen nvme` (4 KiB random I/O, one map and
 *                  unmap per I/O, queue depth 32), 5000 I/Os (larger counts hit a
 *                  generator bug: the IOVA window wraps onto a live mapping).
 * Both with strict invalidation and the default VT-d configuration.
 *
 * An item is one DMA event of the trace. One iteration replays the whole
 * trace on a fresh machine (machine, unit and device bring-up included:
 * about 1 % of an NIC iteration); the traces are generated in setup().
 */
#include <errno.h>
#include <stdlib.h>

#include <iommusim/replay.h>
#include <iommusim/replay_trace.h>

#include "bench.h"

struct replay_bench {
	struct rt_trace t;
	struct replay_config c;
	uint64_t dmas;
};

static int replay_bench_setup(void **state, enum rt_gen_kind kind, uint64_t count)
{
	struct replay_bench *b = calloc(1, sizeof(*b));
	struct rt_gen_params p;
	char err[256];
	int rc;

	if (!b)
		return -ENOMEM;
	rt_trace_init(&b->t, NULL);
	rt_gen_defaults(&p);
	p.count = count;
	rc = rt_gen(kind, &p, &b->t);
	replay_config_init(&b->c);
	if (!rc)
		rc = replay_config_set(&b->c, "inval=strict", err, sizeof(err));
	if (rc) {
		rt_trace_free(&b->t);
		replay_config_free(&b->c);
		free(b);
		return rc;
	}
	for (size_t i = 0; i < b->t.n; i++)
		b->dmas += rt_kind_is_dma(b->t.ev[i].kind);
	*state = b;
	return 0;
}

static int nic_setup(void **state, const struct bench_args *args)
{
	return replay_bench_setup(state, RT_GEN_NIC_RING, 100000);
}

static int nvme_setup(void **state, const struct bench_args *args)
{
	return replay_bench_setup(state, RT_GEN_NVME, 5000);
}

static int replay_bench_run(void *state, uint64_t iterations, struct bench_counters *out)
{
	struct replay_bench *b = state;

	for (uint64_t i = 0; i < iterations; i++) {
		struct replay_result r;
		int rc = replay_run(&b->t, &b->c, NULL, &r, NULL, 0);

		if (!rc && (r.dma_events != b->dmas || r.op_errors || r.faults))
			rc = -EIO; /* the trace must replay cleanly */
		replay_result_free(&r);
		if (rc)
			return rc;
		out->items += b->dmas;
	}
	return 0;
}

static void replay_bench_teardown(void *state)
{
	struct replay_bench *b = state;

	rt_trace_free(&b->t);
	replay_config_free(&b->c);
	free(b);
}

BENCH_REGISTER(replay_nic_vtd) = {
	.name = "replay.nic.vtd",
	.item = "one DMA event of a generated NIC ring trace (persistent mappings, strict)",
	.setup = nic_setup,
	.run = replay_bench_run,
	.teardown = replay_bench_teardown,
};

BENCH_REGISTER(replay_nvme_vtd) = {
	.name = "replay.nvme.vtd",
	.item = "one DMA event of a generated NVMe 4 KiB trace (map/unmap per I/O, strict)",
	.setup = nvme_setup,
	.run = replay_bench_run,
	.teardown = replay_bench_teardown,
};
