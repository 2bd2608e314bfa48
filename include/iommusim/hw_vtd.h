/* SPDX-License-Identifier: MIT */
/*
 * The Intel VT-d hardware model (hw-models/vtd/): configuration and creation.
 *
 * A model instance is a DMA-remapping hardware unit: a 8 KiB register window
 * at the offsets of the VT-d specification (VT-d 3.4 §11.4), the structures
 * it decodes from simulated memory (legacy and scalable-mode root / context
 * tables, PASID directories and tables), second-stage and first-stage page
 * walks, an IOTLB, context cache, PASID cache and paging-structure caches,
 * queued invalidation, fault recording, an ATS device-TLB model and a
 * protocol checker. It is driven only through the generic struct hwm_iommu
 * (iommusim/hw.h): registers by MMIO, translations by hwm_translate().
 *
 * This header deliberately does not define the register offsets or bit
 * layouts: the driver (src/iommu/intel/) and the tests take those from the
 * specification themselves, so the model and the driver are two independent
 * readings of it. docs/hw/vtd.md lists what is modelled.
 *
 * Capability registers are computed from struct vtd_config: each knob below
 * names the CAP/ECAP field it sets.
 */
#ifndef IOMMUSIM_HW_VTD_H
#define IOMMUSIM_HW_VTD_H

#include <stdbool.h>
#include <stdint.h>

#include <iommusim/hw.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the register window, bytes. */
#define VTD_MMIO_SIZE 0x2000u

struct vtd_config {
	/* CAP_REG (VT-d 3.4 §11.4.2) */
	uint8_t sagaw; /* SAGAW bitmap: bit 1 3-level/39-bit, bit 2 4-level/48-bit, bit 3
			   5-level/57-bit. Default 0x4 (4-level). */
	uint8_t mgaw; /* maximum guest address width in bits, 30..64; default 48 */
	uint8_t haw; /* host address width in bits (addresses in entries above it are
			   reserved); 32..52; default 48 */
	uint8_t sllps; /* SLLPS: bit 0 2 MiB, bit 1 1 GiB second-stage pages; default 0x3 */
	uint8_t nd; /* ND: 2^(4 + 2*nd) domain ids, 0..6; default 6 */
	uint16_t nfr; /* number of fault recording registers, 1..256; default 8 */
	uint8_t mamv; /* MAMV: largest address mask for page-selective invalidation;
			   default 18 */
	bool psi; /* PSI: page-selective invalidation; default true */
	bool cm; /* CM: caching mode (not-present entries may be cached); default false */
	bool fl1gp; /* FL1GP: first-stage 1 GiB pages; default true */
	bool fl5lp; /* FL5LP: first-stage 5-level paging; default false */
	bool rwbf; /* RWBF: write-buffer flushing required; default false */

	/* ECAP_REG (VT-d 3.4 §11.4.3) */
	bool qi; /* QI: queued invalidation; default true */
	bool dt; /* DT: device-TLB (ATS); default true */
	bool pt; /* PT: pass-through; default true */
	bool sc; /* SC: snoop control; default true */
	bool scalable; /* SMTS: scalable-mode translation; default true */
	bool pasid; /* PASID support (scalable mode); default true */
	uint8_t pss; /* PSS: PASID width - 1; default 19 (20-bit PASIDs) */
	bool flts; /* FLTS: first-stage translation (scalable mode); default true */
	bool slts; /* SLTS: second-stage translation in scalable mode; default true */
	bool nest; /* NEST: nested translation; default true */
	bool ssads; /* SSADS: second-stage A/D bits; default true */
	bool prs; /* PRS: page requests; default true */

	/* Caches (geometries: sets must be a power of two; 1 = fully associative). */
	struct hwm_cache_geom iotlb; /* default 64 sets x 8 ways, LRU (512 entries) */
	struct hwm_cache_geom ctx; /* context cache, default 16 x 4, LRU */
	struct hwm_cache_geom pasid_c; /* PASID cache, default 16 x 4, LRU */
	struct hwm_cache_geom pwc; /* paging-structure caches (all levels), 16 x 4, LRU */
	struct hwm_cache_geom devtlb; /* device TLBs of ATS devices (all devices), 16 x 4 */

	/* Model behaviour */
	bool qi_sync; /* process the invalidation queue on each IQT write (as fast hardware
			    would); when false only process_commands() consumes it. Default true */
	bool checker; /* the protocol checker ("IOMMU sanitizer"); default false (tests turn
			    it on: it re-reads cached entries' PTEs on every hit) */
	uint64_t seed; /* random replacement; default 1 */
	uint64_t inval_delay_ns; /* simulated ns by which a "vtd.inval_delay" injection defers
				    an invalidation descriptor's effect; default 10000 (10 us) */
	struct hwm_cost_config cost; /* default hwm_cost_config_default() */
};

/* The defaults listed above. */
struct vtd_config vtd_config_default(void);

/*
 * Create a model. @bus is copied; its ops/ctx must outlive the model.
 * Returns 0, -EINVAL for an inconsistent configuration (e.g. nfr 0, a cache
 * geometry that is not a power of two, scalable without QI), -ENOMEM.
 */
int vtd_create(const struct vtd_config *cfg, const struct hwm_bus *bus, struct hwm_iommu **out);

/* ------------------------------------------------------ protocol checker */

/* Rules of the protocol checker; each finding is counted and traced (hw:checker). */
enum vtd_check_rule {
	VTD_CHK_STALE_IOTLB = 0, /* IOTLB entry used after its PTE changed, no invalidation
				      (§6.5, §6.1) */
	VTD_CHK_STALE_CONTEXT = 1, /* context-cache entry used after the context entry changed
				      (§6.5.2.1) */
	VTD_CHK_STALE_PASID = 2, /* PASID-cache entry used after the PASID entry changed
				      (§6.5.2.7) */
	VTD_CHK_STALE_PWC = 3, /* paging-structure cache entry used after the table entry
				      changed (§6.2.4) */
	VTD_CHK_RSVD_DESC = 4, /* reserved bits / unknown type in an invalidation descriptor
				      (§6.5.2) */
	VTD_CHK_RSVD_ENTRY = 5, /* reserved bits set in a root/context/PASID/paging entry
				      (§9) */
	VTD_CHK_CAP_CLEAR = 6, /* a feature used whose capability bit is clear (§11.4.2,
				      §11.4.3) */
	VTD_CHK_REG_INVAL_QI = 7, /* register-based invalidation while QIE=1 (§6.5.1) */
	VTD_CHK_IQA_WHILE_QIE = 8, /* IQA rewritten while queued invalidation is enabled
				      (§11.4.9.3) */
	VTD_CHK_TABLE_REUSE = 9, /* a table page a live walk-cache entry points at was
				      unlinked and rewritten (reused) without invalidation
				      (§6.5, §6.6) */
	VTD_CHK__COUNT
};

/* Static name of a rule, and the spec section it cites. */
const char *vtd_check_rule_name(enum vtd_check_rule rule);
const char *vtd_check_rule_section(enum vtd_check_rule rule);

/* ------------------------------------------------------------- statistics */

struct vtd_cache_stats {
	uint64_t hits, misses, fills, evictions, invalidations;
	/* fills refused because an invalidation began while their walk was in
	 * flight (only with translations on several threads) */
	uint64_t fills_dropped;
};

struct vtd_stats {
	struct hwm_stats common;
	struct vtd_cache_stats iotlb, ctx, pasid_c, pwc, devtlb;
	uint64_t checker[VTD_CHK__COUNT];
	uint64_t descriptors[16]; /* processed invalidation descriptors by type */
	uint64_t iqe; /* invalidation queue errors raised */
	uint64_t fault_overflows; /* faults discarded for lack of a free record (PFO) */
	uint64_t page_requests, page_request_overflows;
};

/* Fill @out; returns -EINVAL when @iommu is not a VT-d model. */
int vtd_get_stats(struct hwm_iommu *iommu, struct vtd_stats *out);

/* Enable or disable the protocol checker at run time. */
void vtd_set_checker(struct hwm_iommu *iommu, bool on);

/* ------------------------------------------------------------ page requests */

/*
 * A page request from a PRI-capable device (VT-d 3.4 §7.5.1): written by the
 * model into the page request queue as a 32-byte descriptor. Returns 0, -ENOSPC
 * when the queue overflowed (PRS.PRO set), -EINVAL when PRS is off or the queue
 * is not set up, -EIO when the queue write aborted.
 */
struct vtd_page_req {
	uint32_t rid;
	uint32_t pasid;
	bool has_pasid;
	bool read, write, exec, priv;
	bool last; /* LPIG: last page request in the group */
	uint16_t prgi; /* page request group index, 9 bits */
	uint64_t addr; /* page address */
	uint64_t private_data;
};
int vtd_page_request(struct hwm_iommu *iommu, const struct vtd_page_req *req);

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_HW_VTD_H */
