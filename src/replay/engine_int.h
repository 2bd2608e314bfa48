/* SPDX-License-Identifier: MIT */
/*
 * The replay engine's private state, shared by engine.c (setup, native
 * events, the DMA path), engine_linux.c (Linux-derived events) and
 * engine_trace.c (the --trace-out writer). See engine.c for the invariants.
 */
#ifndef IOMMUSIM_REPLAY_ENGINE_INT_H
#define IOMMUSIM_REPLAY_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <iommusim/hw.h>
#include <iommusim/platform.h>
#include <iommusim/replay.h>

#include "iommu/iommu.h"
#include "iommufd/device.h"
#include "lib/itree.h"
#include "lib/sparse.h"
#include "replay/engine.h"

#define RP_MAX_UNITS 8
#define RP_MAX_PROCS 8
#define RP_MAX_FILES 16
#define RP_AS_CACHE 4

struct trace_perfetto;

/* One live mapping in the reference map. */
struct rp_ref {
	struct itree_node node; /* first: [start, last] of the mapping */
	uint32_t perms; /* HWM_ACC_READ / HWM_ACC_WRITE the mapping allows */
	uint64_t pa; /* Linux mappings: physical address of node.start; else 0 */
};

/* The reference map of one IOAS (or the Linux domain). Nodes never overlap. */
struct rp_as {
	struct itree_root ref;
	struct rp_ref *cache[RP_AS_CACHE]; /* recently hit nodes; cleared on any removal */
	unsigned cache_next;
	uint64_t nrefs;
	uint32_t trace_id, fd_id;
	struct rp_as *next; /* engine's list, for teardown */
};

/* A trace IOAS or HWPT id; live while engine.pt_idx points at it. */
struct rp_pt {
	uint32_t trace_id, fd_id;
	struct rp_as *as; /* an IOAS's own map; a HWPT's parent IOAS map */
	bool hwpt;
};

/* A tagged mapping; tags[] is dense (destroying an IOAS swap-removes its tags). */
struct rp_tag {
	uint32_t tag; /* never 0 */
	struct rp_as *as;
	uint64_t iova, len;
};

struct rp_unit {
	uint32_t name; /* trace string id (0 for the implicit Linux unit) */
	const struct replay_model *model;
	void *cfg;
	struct replay_settings s;
	struct replay_unit_hw hw;
	unsigned ndevs;
};

struct rp_dev {
	uint32_t name; /* trace string id */
	struct rp_unit *unit;
	struct plat_dev *pd;
	struct iommu_dev *idev; /* the driver's endpoint */
	struct iommufd_device *fdev; /* native: bound to the context */
	uint32_t fd_id;
	struct rp_as *as; /* reference map of what the RID is attached to */
	struct iommu_domain *lx_dom; /* Linux: attached to the shared domain */
	uint32_t track; /* Perfetto track */
	uint64_t busy_until; /* Perfetto: end of the last DMA span on the track */
	struct rp_dev *next;
};

struct rp_proc {
	uint32_t pid;
	struct mach_proc *p;
};

struct rp_file {
	uint32_t name;
	struct mach_file *f;
	int fd;
};

struct engine {
	const struct rt_trace *t;
	const struct replay_config *c;
	const struct replay_opts *o;
	struct replay_result *res;
	char *err;
	size_t errlen;
	struct replay_settings s; /* engine keys of the run's settings */

	struct mach *m;
	struct mach_user *user;
	struct rp_proc procs[RP_MAX_PROCS];
	unsigned nprocs;
	struct iommufd_ctx *ictx;
	uint32_t ctx_pid;
	struct rp_unit units[RP_MAX_UNITS];
	unsigned nunits;
	struct rp_file files[RP_MAX_FILES];
	unsigned nfiles;

	struct rp_dev **dev_by_str; /* [t->str.n] */
	struct rp_dev *devs;
	unsigned ndevs;
	struct rp_pt *pts;
	unsigned npts, cappts;
	struct sparse_array pt_idx; /* trace id -> index + 1 in pts[] of the live entry */
	struct rp_tag *tags;
	unsigned ntags, captags;
	struct sparse_array tag_idx; /* tag -> index + 1 in tags[] */
	struct rp_as *ases;
	uint64_t live_maps;

	/* Linux-derived events */
	struct rp_unit *lx_unit;
	struct iommu_domain *lx_dom;
	struct rp_as lx_as;
	struct rp_dev *lx_phantom; /* made when a map comes before any device */
	uint8_t lx_next_bus;

	/* Event trace */
	bool tracing;
	struct trace_perfetto *pw;
	uint64_t tr_dma, tr_hits, tr_xlates; /* for the hit-rate counter */

	uint64_t ev_index;
	const struct rt_event *cur;
	bool failed; /* an error that must stop the run even without an err buffer */
};

void rp_err(struct engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rp_machine(struct engine *e, uint64_t mem);
int rp_unit_add(struct engine *e, uint32_t name, const char *vendor, const char *cfgtext,
		struct rp_unit **out);
struct rp_unit *rp_unit_find(struct engine *e, uint32_t name);
int rp_dev_add(struct engine *e, struct rp_unit *u, uint32_t name, const struct plat_dev_config *dc,
	       struct rp_dev **out);
struct iommu_domain *rp_dev_domain(struct rp_dev *d);

void rp_as_init(struct rp_as *as);
int rp_ref_add(struct engine *e, struct rp_as *as, uint64_t iova, uint64_t len, uint32_t perms,
	       uint64_t pa);
int rp_ref_remove(struct engine *e, struct rp_as *as, uint64_t start, uint64_t last);
void rp_ref_clear(struct engine *e, struct rp_as *as);
struct rp_ref *rp_ref_lookup(struct rp_as *as, uint64_t iova);

int rp_dma(struct engine *e, struct rp_dev *d, struct rp_as *as, uint32_t pasid, uint64_t iova,
	   uint64_t len, uint32_t access);

/* The HWM_ACC_* access a trace direction (RT_DIR_*) makes; none or rw is both. */
static inline uint32_t rp_dir_access(uint8_t dir)
{
	switch (dir) {
	case RT_DIR_READ:
		return HWM_ACC_READ;
	case RT_DIR_WRITE:
		return HWM_ACC_WRITE;
	default:
		return HWM_ACC_READ | HWM_ACC_WRITE;
	}
}

/* engine_linux.c */
int rp_linux_event(struct engine *e, const struct rt_event *ev);
void rp_linux_teardown(struct engine *e);

/* engine_trace.c: all no-ops unless o->trace_out is set */
/* 0, or a negative errno reported with rp_err() (bad pattern, writer failure) */
int rp_trace_start(struct engine *e);
void rp_trace_track(struct engine *e, struct rp_dev *d);
void rp_trace_xlate(struct engine *e, struct rp_dev *d, uint64_t iova, const struct hwm_xlate *x,
		    uint64_t offset_ns);
void rp_trace_dma(struct engine *e, struct rp_dev *d, uint32_t pasid, uint64_t iova, uint64_t len,
		  uint32_t access, uint64_t cost_ns, const struct hwm_xlate *fault, bool stale);
void rp_trace_depth(struct engine *e);
void rp_trace_drain(struct engine *e);
void rp_trace_stop(struct engine *e);

#endif /* IOMMUSIM_REPLAY_ENGINE_INT_H */
