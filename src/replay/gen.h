/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers for the workload generators (gen_*.c): a seeded
 * splitmix64 generator and one-line emitters for each event kind. Errors are
 * sticky: after an allocation failure every emitter writes into a scratch
 * event and gen_finish() returns the error, so generator bodies need no
 * error checks between events. Internal to src/replay/.
 */
#ifndef IOMMUSIM_REPLAY_GEN_H
#define IOMMUSIM_REPLAY_GEN_H

#include <errno.h>

#include <iommusim/fault.h>
#include <iommusim/replay_trace.h>

#include "rt_schema.h"

struct gen {
	struct rt_trace *t;
	const struct rt_gen_params *p;
	uint64_t rng;
	uint32_t iommu; /* instance name id */
	int err;
	uint64_t pending_ns; /* time not yet emitted (gen_time) */
	struct rt_event scratch;
};

static inline uint64_t gen_rand(struct gen *g)
{
	return rt_mix64(g->rng += UINT64_C(0x9e3779b97f4a7c15));
}

/* Uniform in [0, n), n > 0 (modulo bias is irrelevant at these sizes). */
static inline uint64_t gen_below(struct gen *g, uint64_t n)
{
	return gen_rand(g) % n;
}

void gen_begin(struct gen *g, struct rt_trace *t, const struct rt_gen_params *p, uint64_t mem);
int gen_finish(struct gen *g);
struct rt_event *gen_ev(struct gen *g, enum rt_kind kind);
uint32_t gen_str(struct gen *g, const char *s);
uint32_t gen_device(struct gen *g, const char *name, unsigned bus, unsigned dev, unsigned fn,
		    unsigned pasid_bits, uint16_t flags);
void gen_mmap(struct gen *g, uint32_t pid, uint64_t va, uint64_t len, uint16_t flags);
void gen_ioas(struct gen *g, uint32_t id);
void gen_attach(struct gen *g, uint32_t dev, uint32_t pt, uint32_t pasid);
void gen_map(struct gen *g, uint32_t ioas, uint64_t iova, uint32_t pid, uint64_t va, uint64_t len,
	     uint32_t tag);
void gen_unmap(struct gen *g, uint32_t ioas, uint64_t iova, uint64_t len, uint32_t tag);
void gen_dma(struct gen *g, uint32_t dev, enum rt_dir dir, uint64_t iova, uint64_t len);
void gen_time(struct gen *g, uint64_t ns);
void gen_flush(struct gen *g, uint32_t ioas);

int rt_gen_nic(const struct rt_gen_params *p, bool perpacket, struct rt_trace *t);
int rt_gen_nvme(const struct rt_gen_params *p, struct rt_trace *t);
int rt_gen_gpu(const struct rt_gen_params *p, struct rt_trace *t);
int rt_gen_mix(const struct rt_gen_params *p, struct rt_trace *t);

#endif /* IOMMUSIM_REPLAY_GEN_H */
