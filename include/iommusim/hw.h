/* SPDX-License-Identifier: MIT */
/*
 * The hardware boundary: what a hardware model (hw-models/) sees of the
 * simulator, and what the simulator sees of a model.
 *
 * Downward (simulator -> model) a model is given a struct hwm_bus when it is
 * created: an ops table over physical memory (read, write, an atomic 64-bit
 * compare-and-exchange for A/D bit updates), an interrupt/MSI write, the
 * simulated clock, plus the machine's fault-injection and trace contexts.
 * That is *all* a model can reach: it never includes anything under src/.
 * Memory accesses return a status (HWM_MEM_*) so a test or the fault layer
 * can make a table read abort or return corrupted data, and the model turns
 * that into the vendor's own fault record.
 *
 * Upward (simulator -> model, again, but through a generic handle) every
 * model, whatever the vendor, is a struct hwm_iommu with one ops table:
 * register access (MMIO), translate one request, process queued commands
 * (single-steppable), destroy. The DMA path of the machine only ever calls
 * hwm_iommu_translate(); the drivers only ever call the MMIO ops (s390, which
 * has no MMIO for translation, adds its modelled instructions in its own
 * vendor header). A new vendor plugs in by filling the ops table.
 *
 * Translation results are data, not callbacks: a struct hwm_xlate is either
 * a translation (output address, page size, permissions) or a fault
 * descriptor carrying the vendor's architectural record bytes, and always the
 * cost of producing it (memory accesses, cache hits, modelled cycles and ns).
 *
 * Threading: translate() may be called from many threads at once on one
 * instance (the DMA path); mmio_read/mmio_write/process_commands may run
 * concurrently with translate(). A model documents its own locking; the hot
 * path (a translation served by the IOTLB) must not allocate and must not
 * take an instance-wide lock.
 */
#ifndef IOMMUSIM_HW_H
#define IOMMUSIM_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fault_ctx;
struct trace_ctx;

/* ------------------------------------------------------------------ bus */

/* Status of one memory access made by a model through the bus. */
enum hwm_mem_status {
	HWM_MEM_OK = 0, /* done */
	HWM_MEM_ABORT = 1, /* access fault: no memory there, or the access was refused */
	HWM_MEM_CORRUPT = 2, /* the data came back but is known bad (poisoned / ECC) */
};

struct hwm_bus_ops {
	/* Read/write @len bytes of physical memory at @pa. Returns HWM_MEM_*. */
	int (*read)(void *ctx, uint64_t pa, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t pa, const void *buf, size_t len);
	/*
	 * Atomic 64-bit compare-and-exchange at @pa (8-byte aligned), for the
	 * hardware's A/D-bit updates. On a mismatch *expected is set to the
	 * current value and HWM_MEM_OK is returned with nothing written; the
	 * caller compares. Returns HWM_MEM_*.
	 */
	int (*cmpxchg64)(void *ctx, uint64_t pa, uint64_t *expected, uint64_t desired);
	/*
	 * Raise an interrupt as an MSI write of @data to @addr (VT-d fault,
	 * invalidation-completion and page-request events; SMMUv3 MSIs). A
	 * wired-interrupt model passes addr 0 and its vector as @data.
	 */
	void (*irq)(void *ctx, uint64_t addr, uint32_t data);
	/* The simulated clock, in nanoseconds. */
	uint64_t (*now)(void *ctx);
};

/*
 * What a model is given. Copied by value into the model at creation; @ops and
 * @ctx must outlive it. @fault and @trace may be NULL.
 */
struct hwm_bus {
	const struct hwm_bus_ops *ops;
	void *ctx;
	struct fault_ctx *fault;
	struct trace_ctx *trace;
};

static inline int hwm_bus_read(const struct hwm_bus *b, uint64_t pa, void *buf, size_t len)
{
	return b->ops->read(b->ctx, pa, buf, len);
}

static inline int hwm_bus_write(const struct hwm_bus *b, uint64_t pa, const void *buf, size_t len)
{
	return b->ops->write(b->ctx, pa, buf, len);
}

static inline uint64_t hwm_bus_now(const struct hwm_bus *b)
{
	return b->ops->now ? b->ops->now(b->ctx) : 0;
}

/* --------------------------------------------------------- cache geometry */

/* Replacement policy of a modelled cache (hw-models/common/hwm_cache.h). */
enum hwm_repl {
	HWM_REPL_LRU = 0,
	HWM_REPL_RR = 1, /* round-robin per set */
	HWM_REPL_RANDOM = 2, /* per-set generator from the model's seed: deterministic */
};

/* Geometry of one modelled cache: sets (a power of two; 1 = fully associative) x ways. */
struct hwm_cache_geom {
	uint32_t sets;
	uint32_t ways;
	enum hwm_repl repl;
};

/* ------------------------------------------------------------------ cost */

/*
 * The cost model: each translation reports what it did and a modelled
 * latency. Defaults (HWM_COST_DEFAULT_*): an IOTLB hit 2 cycles, a hit in
 * another cache (context, PASID, paging-structure, config) 4 cycles, a memory
 * access (a table read or an A/D update) 200 cycles, 500 ps per cycle (a
 * 2 GHz IOMMU clock), i.e. an IOTLB hit is 1 ns and a cold 4-level VT-d walk
 * (root, context, 4 PTEs) about 600 ns. These are round numbers chosen to be
 * easy to reason about, not a measurement of any part; change them per run.
 */
#define HWM_COST_DEFAULT_IOTLB_HIT 2
#define HWM_COST_DEFAULT_CACHE_HIT 4
#define HWM_COST_DEFAULT_MEM_ACCESS 200
#define HWM_COST_DEFAULT_PS_PER_CYCLE 500

struct hwm_cost_config {
	uint32_t iotlb_hit_cycles; /* an IOTLB (or device-TLB) hit */
	uint32_t cache_hit_cycles; /* any other cache hit */
	uint32_t mem_access_cycles; /* one table read or A/D write in memory */
	uint32_t ps_per_cycle; /* picoseconds per modelled cycle */
};

static inline struct hwm_cost_config hwm_cost_config_default(void)
{
	struct hwm_cost_config c = {
		.iotlb_hit_cycles = HWM_COST_DEFAULT_IOTLB_HIT,
		.cache_hit_cycles = HWM_COST_DEFAULT_CACHE_HIT,
		.mem_access_cycles = HWM_COST_DEFAULT_MEM_ACCESS,
		.ps_per_cycle = HWM_COST_DEFAULT_PS_PER_CYCLE,
	};
	return c;
}

/* What one translation cost. @ns is derived: cycles * ps_per_cycle / 1000. */
struct hwm_cost {
	uint32_t mem_accesses; /* table reads and A/D writes */
	uint32_t cache_hits; /* hits in caches other than the IOTLB */
	uint32_t iotlb_hits;
	uint32_t reserved;
	uint64_t cycles;
	uint64_t ns;
};

/* -------------------------------------------------------- requests, results */

enum hwm_vendor {
	HWM_VENDOR_NONE = 0,
	HWM_VENDOR_VTD = 1,
	HWM_VENDOR_AMDVI = 2,
	HWM_VENDOR_SMMUV3 = 3,
	HWM_VENDOR_S390 = 4,
};

/* Access kinds of a request, and permissions of a translation. */
enum hwm_access {
	HWM_ACC_READ = 1u << 0,
	HWM_ACC_WRITE = 1u << 1,
	HWM_ACC_EXEC = 1u << 2,
	HWM_ACC_PRIV = 1u << 3, /* supervisor/privileged request (or a page allowing it) */
	HWM_ACC_USER = 1u << 4, /* perms only: the page is user-accessible */
};

#define HWM_PASID_NONE 0xffffffffu

/* One DMA (or ATS translation) request as the device issues it. */
struct hwm_req {
	uint32_t rid; /* requester: PCI RID (bus<<8|devfn), SMMU stream id, s390 fid */
	uint32_t pasid; /* PASID / substream id, meaningful when has_pasid */
	bool has_pasid;
	bool ats; /* an ATS translation request (answered, never recorded as a fault) */
	uint16_t seg; /* PCI segment, for the model's own bookkeeping */
	uint32_t access; /* HWM_ACC_READ/WRITE/EXEC/PRIV */
	uint64_t iova;
};

enum hwm_xlate_status {
	HWM_XLATE_OK = 0,
	HWM_XLATE_FAULT = 1,
};

#define HWM_FAULT_RECORD_MAX 64

/* A fault, as data: the vendor's reason and its architectural record bytes. */
struct hwm_fault {
	enum hwm_vendor vendor;
	uint32_t reason; /* vendor reason/event code (VT-d fault reason, SMMU event id...) */
	uint32_t len; /* bytes used in @record */
	bool recorded; /* also logged in the model's fault registers/queue */
	bool suppressed; /* logging was suppressed (FPD, ATS, overflow...) */
	uint8_t record[HWM_FAULT_RECORD_MAX]; /* little-endian, as it would be in memory */
};

struct hwm_xlate {
	enum hwm_xlate_status status;
	/* Translation (status OK): */
	uint64_t pa; /* output address of req->iova (page base + offset) */
	uint64_t page_size; /* size of the translation unit containing it (4K, 2M, 1G...) */
	uint32_t perms; /* HWM_ACC_* granted for the whole page */
	/* Fault (status FAULT): */
	struct hwm_fault fault;
	/* Both: */
	struct hwm_cost cost;
};

static inline uint64_t hwm_xlate_page_base(const struct hwm_xlate *x)
{
	return x->pa & ~(x->page_size - 1);
}

/* Counters any model keeps; vendors add their own in their header. */
struct hwm_stats {
	uint64_t translations; /* requests translated (hwm_translate calls) */
	/* IOTLB lookups: a request probes once per page size the IOTLB may hold, so with
	 * several sizes present misses can outnumber requests */
	uint64_t iotlb_hits, iotlb_misses, iotlb_fills, iotlb_evictions, iotlb_invalidations;
	uint64_t walks, walk_mem_accesses;
	uint64_t faults, faults_recorded;
	uint64_t commands; /* commands / invalidation descriptors processed */
	uint64_t checker_warnings; /* protocol-checker findings */
	uint64_t injected; /* hardware fault injections that fired */
};

/* ------------------------------------------------------------------ model */

struct hwm_iommu;

struct hwm_iommu_ops {
	/*
	 * Register access at byte offset @off of the model's MMIO window, @size
	 * 4 or 8 (naturally aligned). Returns 0, or -EINVAL for an offset or
	 * size the model does not decode (reads of unimplemented registers in
	 * range return 0, as hardware reads reserved registers).
	 */
	int (*mmio_read)(struct hwm_iommu *iommu, uint64_t off, unsigned size, uint64_t *val);
	int (*mmio_write)(struct hwm_iommu *iommu, uint64_t off, unsigned size, uint64_t val);
	/* Translate one request. Returns 0 (the answer is in *out), or -errno on misuse. */
	int (*translate)(struct hwm_iommu *iommu, const struct hwm_req *req, struct hwm_xlate *out);
	/*
	 * Process at most @max queued commands (0 = until the queue is empty or
	 * stopped). Returns how many were consumed.
	 */
	long (*process_commands)(struct hwm_iommu *iommu, unsigned max);
	void (*get_stats)(struct hwm_iommu *iommu, struct hwm_stats *out);
	void (*destroy)(struct hwm_iommu *iommu);
};

/* The generic handle; a model embeds it and recovers itself with container_of. */
struct hwm_iommu {
	const struct hwm_iommu_ops *ops;
	enum hwm_vendor vendor;
	const char *name; /* "vtd", "amdvi", "smmuv3", "s390" */
	uint64_t mmio_size; /* bytes of register window */
};

static inline int hwm_mmio_read(struct hwm_iommu *i, uint64_t off, unsigned size, uint64_t *val)
{
	return i->ops->mmio_read(i, off, size, val);
}

static inline int hwm_mmio_write(struct hwm_iommu *i, uint64_t off, unsigned size, uint64_t val)
{
	return i->ops->mmio_write(i, off, size, val);
}

static inline int hwm_translate(struct hwm_iommu *i, const struct hwm_req *req,
				struct hwm_xlate *out)
{
	return i->ops->translate(i, req, out);
}

static inline long hwm_process_commands(struct hwm_iommu *i, unsigned max)
{
	return i->ops->process_commands(i, max);
}

static inline void hwm_get_stats(struct hwm_iommu *i, struct hwm_stats *out)
{
	i->ops->get_stats(i, out);
}

/* Teardown never fails; NULL is a no-op. */
static inline void hwm_destroy(struct hwm_iommu *i)
{
	if (i)
		i->ops->destroy(i);
}

/* Static name of a vendor ("vtd", ...). */
static inline const char *hwm_vendor_name(enum hwm_vendor v)
{
	switch (v) {
	case HWM_VENDOR_VTD:
		return "vtd";
	case HWM_VENDOR_AMDVI:
		return "amdvi";
	case HWM_VENDOR_SMMUV3:
		return "smmuv3";
	case HWM_VENDOR_S390:
		return "s390";
	default:
		return "none";
	}
}

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_HW_H */
