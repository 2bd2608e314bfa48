/* SPDX-License-Identifier: MIT */
/*
 * Internals of the Intel VT-d driver, shared by its files:
 *   iommu.c   the unit: probe (CAP/ECAP), root and context tables, queued
 *             invalidation, the fault interrupt, endpoints, GET_HW_INFO
 *   domain.c  paging domains: second-stage tables, map/unmap, gather and
 *             sync, attach/block, domain ids, the lazy flush queue
 *
 * Objects
 *   struct intel_iommu  embeds the iommu core's struct iommu_device (refs:
 *                       the creator, each endpoint, each domain it made).
 *   struct intel_dev    embeds struct iommu_dev; one per probed endpoint.
 *   struct intel_domain embeds struct iommu_domain; lists the units it is
 *                       attached on with the domain id it has on each.
 *
 * Locking (outermost first):
 *   iommu->lock (context tables, DID bitmap, an endpoint's context entry)
 *     -> dom->lock (the domain's unit list, flush queue)
 *       -> iommu->qi_lock (the invalidation queue; held across the wait)
 *   iommu->devs_lock and iommu->fault_lock are leaves: the fault interrupt,
 *   which may be delivered while a thread waits under qi_lock (the
 *   platform's poll), takes only those. Page-table updates take no lock:
 *   map/unmap run on disjoint ranges and install tables with cmpxchg.
 */
#ifndef IOMMUSIM_INTEL_PRIV_H
#define IOMMUSIM_INTEL_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu-bp.h>

#include <iommusim/hw.h>
#include <iommusim/platform.h>

#include "iommu/intel/intel.h"
#include "iommu/intel/intel_regs.h"
#include "iommu/iommu.h"

#define INTEL_FAULT_LOG 64
#define INTEL_DOMAIN_MAX_UNITS 8
/* MSI the fault event is programmed with (FEADDR / FEDATA, §11.4.7.3-4). */
#define INTEL_MSI_ADDR 0xfee00000u
#define INTEL_FAULT_VECTOR 0x41u
#define INTEL_PRQ_VECTOR 0x42u /* page request event (PEDATA, §11.4.11.6) */
#define INTEL_PRQ_LOG 64
/* Status values of an invalidation wait slot. */
#define QI_STATUS_FREE 0u
#define QI_STATUS_INUSE 1u
#define QI_STATUS_DONE 2u

#define STAT_INC(iommu, f) __atomic_add_fetch(&(iommu)->stats.f, 1, __ATOMIC_RELAXED)
#define STAT_ADD(iommu, f, n) __atomic_add_fetch(&(iommu)->stats.f, (n), __ATOMIC_RELAXED)

struct intel_dev;

struct intel_iommu {
	struct iommu_device iommu; /* first: container_of */
	struct plat_iommu *pi;
	struct hwm_iommu *hw;
	struct mach *mach;
	struct fault_ctx *fc;
	struct intel_iommu_options opts;

	uint64_t cap, ecap;
	unsigned levels; /* depth of the tables of domains made here */
	unsigned mgaw; /* bits */
	unsigned sagaw; /* CAP.SAGAW */
	uint64_t pgsize_bitmap;
	uint32_t ndoms;
	bool removed;
	bool sm; /* scalable mode: root/context/PASID structures of §9.2, §9.4-§9.6 */
	bool fs; /* domains made here are first-stage (opts.first_stage) */
	uint64_t fs_pgsize_bitmap; /* first-stage page sizes (4K, 2M, FL1GP 1G); 0 without FLTS */

	pthread_mutex_t lock;
	uint64_t root_pa;
	uint64_t ctx_pa[256]; /* context table per bus (scalable: devfn 0-127), 0 = none */
	uint64_t ctx_hi_pa[256]; /* scalable: context table of devfn 128-255 */
	/*
	 * Bitmap of ndoms domain ids (0 reserved), followed in the same
	 * allocation by a bitmap of the ids whose domain is first-stage (their
	 * IOTLB invalidations are PASID-based, §6.5.2.4); did_words each.
	 */
	uint64_t *did_map;
	uint32_t did_words;

	pthread_mutex_t devs_lock;
	struct intel_dev *devs;

	pthread_mutex_t qi_lock;
	uint64_t qi_pa;
	uint64_t *qi_va; /* 2 qwords per 128-bit descriptor */
	uint32_t qi_entries;
	uint32_t qi_tail; /* next free index (software copy of IQT) */
	uint64_t status_pa;
	uint32_t *status_va; /* one wait status dword per queue slot */

	pthread_mutex_t fault_lock;
	uint32_t fault_next; /* next fault recording register to look at */
	struct intel_fault_info flog[INTEL_FAULT_LOG];
	unsigned flog_head, flog_count;

	/* Page request queue (ECAP.PRS), drained under fault_lock. */
	uint64_t prq_pa; /* 0: the unit has no page requests */
	uint64_t *prq_va; /* 4 qwords per 32-byte descriptor */
	uint32_t prq_entries;
	struct intel_page_req_info prlog[INTEL_PRQ_LOG];
	unsigned prlog_head, prlog_count;

	struct intel_iommu_stats stats; /* atomics */
};

struct intel_dev {
	struct iommu_dev dev; /* first */
	struct intel_iommu *iommu;
	struct plat_dev *pd;
	struct intel_dev *next; /* in iommu->devs */
	uint8_t bus, devfn;
	uint16_t did; /* in the context (scalable: PASID) entry, when present */
	bool ctx_present; /* translating: legacy context entry / RID_PASID entry present */
	/* Scalable mode: the context entry and the endpoint's PASID directory and table. */
	bool sm_ctx;
	uint64_t pasid_dir_pa, pasid_tbl_pa;
	/*
	 * ATS: ats is decided at probe (ECAP.DT and the device's capability with
	 * opts.ats, or its Enable bit already set); ats_owned when the driver set
	 * the Enable bit (cleared at release). ats_tag (atomic) is INTEL_ATS_ON |
	 * DID from before the entry allowing translation requests is made present
	 * until after the invalidations that clear it completed: IOTLB flushes of
	 * that DID add a device-TLB invalidation for every endpoint tagged so.
	 */
	bool ats, ats_owned;
	uint32_t ats_tag;
};

#define INTEL_ATS_ON 0x10000u

/* One unit a domain is attached on. */
struct intel_dom_unit {
	struct intel_iommu *iommu;
	uint16_t did;
	unsigned refs; /* endpoints of that unit attached */
};

/*
 * Table pages waiting for an invalidation to complete, then for an RCU
 * grace period (urcu-bp, see domain.c), before they are freed. @next is
 * used only once the list is stranded (its invalidation failed), linking it
 * on intel_domain.stranded.
 */
struct intel_freelist {
	struct intel_freelist *next;
	size_t n, cap;
	uint64_t pfn[];
};

/* Lazy mode: one queued flush. */
struct intel_fq_entry {
	uint64_t start, end;
	struct intel_freelist *fl;
};

struct intel_domain {
	struct iommu_domain domain; /* first */
	struct mach *mach;
	struct fault_ctx *fc;
	struct intel_iommu *maker;
	unsigned levels;
	bool fs; /* first-stage tables (§9.7) */
	uint64_t tbl_attrs; /* bits of an entry pointing at a table */
	uint64_t pgd_pa;
	bool snp;
	uint64_t tables; /* atomic: table pages held, top included */

	pthread_mutex_t lock;
	struct intel_dom_unit units[INTEL_DOMAIN_MAX_UNITS];
	unsigned nunits;
	/* atomic, written under lock: units[] entries whose unit has CAP.CM */
	uint32_t cm_units;

	/* Lazy mode, under lock. */
	bool lazy;
	uint32_t fq_size;
	uint64_t fq_timeout_ns;
	struct intel_fq_entry *fq;
	uint32_t fq_n;
	uint64_t fq_first_ns;
	/*
	 * Under lock: freelists whose invalidation failed (timeout), linked by
	 * their @next (pushing one allocates nothing); freed at domain free.
	 */
	struct intel_freelist *stranded;
};

static inline struct intel_iommu *to_intel_iommu(struct iommu_device *d)
{
	return (struct intel_iommu *)d;
}

static inline struct intel_dev *to_intel_dev(struct iommu_dev *d)
{
	return (struct intel_dev *)d;
}

static inline struct intel_domain *to_intel_domain(struct iommu_domain *d)
{
	return (struct intel_domain *)d;
}

/* iommu.c */
int intel_qi_submit(struct intel_iommu *iommu, const uint64_t *desc, unsigned n);
int intel_flush_iotlb(struct intel_iommu *iommu, uint16_t did, uint64_t start, uint64_t end,
		      bool ih, bool devtlb);
int intel_flush_iotlb_domain(struct intel_iommu *iommu, uint16_t did);
int intel_ctx_set(struct intel_iommu *iommu, struct intel_dev *info, uint16_t did, uint64_t pgd_pa,
		  unsigned levels, bool fs);
void intel_ctx_clear(struct intel_iommu *iommu, struct intel_dev *info);
int intel_did_alloc(struct intel_iommu *iommu, uint16_t *did);
void intel_did_free(struct intel_iommu *iommu, uint16_t did);
void intel_did_set_fs(struct intel_iommu *iommu, uint16_t did, bool fs);
void *intel_phys_ptr(struct mach *m, uint64_t pa);
unsigned intel_aw_for_levels(unsigned levels);

/* domain.c */
extern const struct iommu_domain_ops intel_domain_ops;
int intel_domain_alloc_paging(struct iommu_device *iommu, struct iommu_dev *dev, uint32_t flags,
			      struct iommu_domain **out);
void intel_block_dev(struct iommu_dev *dev);

#endif /* IOMMUSIM_INTEL_PRIV_H */
