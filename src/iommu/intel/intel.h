/* SPDX-License-Identifier: MIT */
/*
 * The Intel VT-d driver (src/iommu/intel/): public entry points for the
 * platform glue, iommufd integration and tests.
 *
 * One struct intel_iommu drives one DMA-remapping unit (a struct plat_iommu
 * of vendor VT-d). It sees the hardware only through its registers
 * (hwm_mmio_read/write), simulated physical memory (its own table and queue
 * frames) and the interrupt the platform delivers; it never looks inside the
 * model. Probing reads CAP/ECAP, builds the root table, enables queued
 * invalidation and translation and installs the fault handler.
 *
 * intel_iommu_probe_device() makes an iommu core endpoint (struct
 * iommu_dev) for a platform device behind the unit; it starts blocked
 * (context entry not present). Domains come from the iommu core
 * (iommu_domain_alloc_paging) and attach through it.
 *
 * See docs/hw/intel-driver.md.
 */
#ifndef IOMMUSIM_INTEL_H
#define IOMMUSIM_INTEL_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/iommu.h"

struct plat_iommu;
struct plat_dev;
struct intel_iommu;

/* Which translation structures the driver programs (§3.4). */
enum intel_iommu_mode {
	INTEL_MODE_AUTO =
		0, /* scalable when ECAP.SMTS and ECAP.SLTS are set (Linux), else legacy */
	INTEL_MODE_LEGACY = 1, /* legacy root/context entries, TTM = 00 */
	INTEL_MODE_SCALABLE = 2, /* scalable mode, -ENODEV without SMTS + SLTS */
};

struct intel_iommu_options {
	enum intel_iommu_mode mode; /* intel_iommu_options_default(): LEGACY (see iommu.c) */
	/*
	 * Lazy invalidation: unmaps queue their IOTLB flush (and the table
	 * pages they freed) in a flush queue, flushed by one domain-selective
	 * invalidation when it holds fq_size entries or its oldest entry is
	 * fq_timeout_ns old (simulated time, checked at each unmap), or on
	 * flush_iotlb_all. Default false: strict.
	 */
	bool lazy;
	uint32_t fq_size; /* default 256 */
	uint64_t fq_timeout_ns; /* default 10 ms */
	/* Simulated time after which a busy-wait on the hardware gives up; default 1 s. */
	uint64_t timeout_ns;
	/* Force the table depth (3, 4 or 5 levels) instead of choosing from SAGAW/MGAW. */
	unsigned levels;
	/*
	 * ATS (PCIe Address Translation Services, VT-d §4): on a unit with
	 * ECAP.DT, an endpoint whose PCI function has the ATS capability gets
	 * translation requests allowed (legacy context TT = 01, §9.3; scalable
	 * context DTE, §9.4) and its ATS Enable bit set by the driver, and every
	 * IOTLB invalidation of its domain is followed by a device-TLB
	 * invalidation (§6.5.2.5). Default false: the replay goldens were
	 * recorded without ATS. An endpoint whose ATS Enable bit is already set
	 * (plat_dev_set_ats) when it is probed uses its device TLB whatever this
	 * says.
	 */
	bool ats;
	/*
	 * First-stage domains (§3.6, §9.7: x86-64 tables, PGTT = 001,
	 * PASID-based IOTLB invalidation): paging domains this unit makes use the
	 * first stage instead of the second. Needs scalable mode and ECAP.FLTS
	 * (-ENODEV at probe otherwise). 4-level; 5-level with levels = 5 and
	 * CAP.FL5LP; 2 MiB pages, 1 GiB with CAP.FL1GP. Default false.
	 */
	bool first_stage;
	/*
	 * Testing only: issue no device-TLB invalidations at all, so a test can
	 * show the stale device-TLB entries they remove. Never in real use.
	 */
	bool skip_devtlb_inval;
};

/* Fill @o with the defaults above (NULL options at probe mean these). */
void intel_iommu_options_default(struct intel_iommu_options *o);

/*
 * Bring up the unit @pi (vendor VT-d): -ENODEV for another vendor or a unit
 * without queued invalidation or any usable SAGAW, -ETIMEDOUT when the
 * hardware does not acknowledge a command, -ENOMEM. @opts may be NULL.
 */
int intel_iommu_probe(struct plat_iommu *pi, const struct intel_iommu_options *opts,
		      struct intel_iommu **out);
/*
 * Disable translation and queued invalidation and drop the creator's
 * reference; the unit is freed when its last domain and endpoint are gone.
 */
void intel_iommu_remove(struct intel_iommu *iommu);
struct iommu_device *intel_iommu_device(struct intel_iommu *iommu);
struct intel_iommu *intel_iommu_from_device(struct iommu_device *dev);

/*
 * An endpoint for @pd (which must sit behind this unit): blocked, with the
 * device's PASID capability. -EINVAL, -EEXIST (already probed), -ENOMEM.
 */
int intel_iommu_probe_device(struct intel_iommu *iommu, struct plat_dev *pd,
			     struct iommu_dev **out);
/* The endpoint must be detached (blocked). Never fails. */
void intel_iommu_release_device(struct iommu_dev *dev);
struct plat_dev *intel_iommu_dev_plat(struct iommu_dev *dev);

/* One fault as the handler read it from a fault recording register (§11.4.7.6). */
struct intel_fault_info {
	uint16_t sid;
	uint8_t reason; /* FR */
	bool read; /* T: 1 = read request */
	bool pasid_present;
	uint32_t pasid;
	uint64_t addr; /* page address */
};

struct intel_iommu_stats {
	uint64_t faults; /* fault records read and cleared */
	uint64_t fault_overflows; /* PFO seen */
	uint64_t fault_irqs; /* fault events handled */
	uint64_t qi_descriptors; /* descriptors submitted (waits included) */
	uint64_t qi_waits; /* wait descriptors completed */
	uint64_t qi_errors; /* IQE/ITE/ICE seen */
	uint64_t iotlb_psi; /* page-selective IOTLB invalidations */
	uint64_t iotlb_dsi; /* domain-selective */
	uint64_t iotlb_global;
	uint64_t cc_invalidations; /* context-cache invalidations */
	uint64_t devtlb_invalidations; /* device-TLB (type 3) descriptors issued */
	uint64_t pc_invalidations; /* PASID-cache invalidations (scalable mode) */
	uint64_t tables_live; /* page-table pages allocated and not yet freed */
	uint64_t fq_flushes; /* lazy mode: flush-queue flushes */
	uint64_t prq_requests; /* page request descriptors drained from the queue */
	uint64_t prq_overflows; /* PRS.PRO seen (requests the unit dropped) */
	uint64_t prq_irqs; /* page request events handled */
	/*
	 * Table pages abandoned: unlinked when no memory was left to defer
	 * their free and the synchronous invalidation failed too, so they may
	 * still be walked and are never freed (not counted in tables_live).
	 */
	uint64_t tables_leaked;
};

/*
 * One page request as the handler drained it from the page request queue
 * (§7.5.1.1). The driver has no fault handler to resolve it (no SVA or
 * IOPF domains yet) and sends no page group response: it logs it.
 */
struct intel_page_req_info {
	uint16_t rid;
	bool pasid_present;
	uint32_t pasid;
	uint64_t addr;
	bool read, write, last;
	uint16_t prgi;
};

void intel_iommu_get_stats(struct intel_iommu *iommu, struct intel_iommu_stats *out);
/* Pop the oldest fault the handler logged (a ring of 64). 0, or -ENOENT when empty. */
int intel_iommu_pop_fault(struct intel_iommu *iommu, struct intel_fault_info *out);
/* Pop the oldest page request the handler logged (a ring of 64). 0 or -ENOENT. */
int intel_iommu_pop_page_request(struct intel_iommu *iommu, struct intel_page_req_info *out);
/* Raw CAP_REG / ECAP_REG as probed. */
uint64_t intel_iommu_cap(struct intel_iommu *iommu);
uint64_t intel_iommu_ecap(struct intel_iommu *iommu);
/* True when the unit runs in scalable mode (RTADDR.TTM = 01). */
bool intel_iommu_scalable(struct intel_iommu *iommu);
/* True when the domains this unit makes are first-stage (opts.first_stage). */
bool intel_iommu_first_stage(struct intel_iommu *iommu);
/* Levels (3/4/5) of the domains this unit makes. */
unsigned intel_iommu_levels(struct intel_iommu *iommu);
/* Domain id @d uses on @iommu, or -ENOENT when not attached there. */
int intel_domain_did(struct iommu_domain *d, struct intel_iommu *iommu);
/* Physical address of a domain's top-level table (for tests). */
uint64_t intel_domain_pgd(struct iommu_domain *d);

#endif /* IOMMUSIM_INTEL_H */
