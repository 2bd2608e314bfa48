/* SPDX-License-Identifier: MIT */
/*
 * VT-d invalidation, fault recording and cache behaviour: stale entries are
 * served until the matching invalidation and its wait complete, then never
 * again; wait descriptors write status and interrupt; malformed descriptors
 * raise IQE and stop the queue; primary fault overflow; tiny caches evict;
 * caching mode caches not-present entries; the translation counter counts
 * requests, not IOTLB lookups; the protocol checker fires on
 * broken sequences and stays silent on clean ones; injection points; page
 * requests.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>

#include "vtd_builder.h"

#define RID 0x0108
#define DID 3
#define IOVA 0x12345000ull
#define PA1 0x2000000ull
#define PA2 0x3000000ull

/* Descriptors (§6.5.2), written from the spec here. */
#define D_CC_GLOBAL (1ull | 1ull << 4)
#define D_IOTLB_GLOBAL (2ull | 1ull << 4)
#define D_IOTLB_PSI(did) (2ull | 3ull << 4 | (uint64_t)(did) << 16)
#define D_IOTLB_DSI(did) (2ull | 2ull << 4 | (uint64_t)(did) << 16)

static void legacy_setup(struct vb *b, struct vtd_config *cfg, struct vb_dev *d, uint64_t *leaf)
{
	vb_init(b, cfg, false);
	vb_enable(b);
	vb_ctx_legacy(b, RID, DID, 4, 0, d);
	*leaf = vb_ss_map(b, d->ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
}

static uint64_t checks(struct vb *b, enum vtd_check_rule r)
{
	struct vtd_stats s;
	cr_assert_eq(vtd_get_stats(b->iommu, &s), 0);
	return s.checker[r];
}

Test(vtd_qi, stale_iotlb_until_invalidation_completes)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf;
	struct hwm_xlate x;

	cfg.qi_sync = false; /* the queue runs only when we step it */
	legacy_setup(&b, &cfg, &d, &leaf);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(x.status, HWM_XLATE_OK);
	cr_assert_eq(x.pa, PA1);

	/* The driver remaps without invalidating: the stale entry is served. */
	vb_wr64(&b, leaf, PA2 | SS_R | SS_W);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(x.pa, PA1, "hardware serves the cached translation");
	cr_assert_eq(checks(&b, VTD_CHK_STALE_IOTLB), 1, "the checker saw the stale use");

	/* Queue the invalidation and the wait; nothing happens until processed. */
	vb_qi_put(&b, D_IOTLB_PSI(DID), IOVA, true);
	vb_qi_wait(&b, 0xabcd, false);
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 0);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(x.pa, PA1, "still stale before the queue is processed");
	cr_assert_eq(vb_rd32(&b, b.status), 0);

	/* Single step: the invalidation only. */
	cr_assert_eq(hwm_process_commands(b.iommu, 1), 1);
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 1 << 4);
	cr_assert_eq(vb_rd32(&b, b.status), 0, "the wait has not run");
	cr_assert_eq(hwm_process_commands(b.iommu, 0), 1);
	cr_assert_eq(vb_rd32(&b, b.status), 0xabcd, "wait status written");
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 2 << 4);

	uint64_t before = checks(&b, VTD_CHK_STALE_IOTLB);
	for (int i = 0; i < 4; i++) {
		x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
		cr_assert_eq(x.pa, PA2, "never stale again");
	}
	cr_assert_eq(checks(&b, VTD_CHK_STALE_IOTLB), before);
	vb_fini(&b);
}

Test(vtd_qi, page_selective_mask_and_domain)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf, leaf2;
	struct hwm_xlate x;

	legacy_setup(&b, &cfg, &d, &leaf);
	leaf2 = vb_ss_map(&b, d.ss_root, 4, IOVA + 0x1000, PA1 + 0x1000, 1, SS_R | SS_W);
	vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ);
	vb_wr64(&b, leaf, PA2 | SS_R | SS_W);
	vb_wr64(&b, leaf2, (PA2 + 0x1000) | SS_R | SS_W);
	/* AM = 1 covers both pages (8 KiB aligned: IOVA is 0x12345000, so use the aligned base) */
	vb_qi_put(&b, D_IOTLB_PSI(DID), (IOVA & ~0x1fffull) | 1, true);
	vb_qi_wait(&b, 1, false);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_expect_eq(x.pa, PA2);
	x = vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ);
	/* IOVA+0x1000 = 0x12346000 is outside [0x12344000, 0x12345fff]: still stale */
	cr_expect_eq(x.pa, PA1 + 0x1000);
	/* a domain-selective invalidation of another domain changes nothing */
	vb_qi_put(&b, D_IOTLB_DSI(DID + 1), 0, true);
	x = vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ);
	cr_expect_eq(x.pa, PA1 + 0x1000);
	vb_qi_put(&b, D_IOTLB_DSI(DID), 0, true);
	x = vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ);
	cr_expect_eq(x.pa, PA2 + 0x1000);
	vb_fini(&b);
}

Test(vtd_qi, wait_interrupt_and_ics)
{
	struct vb b;

	vb_init(&b, NULL, false);
	vb_enable(&b);
	vb_wreg(&b, R_IECTL + 4, 4, 0xfee00000u); /* IEDATA at 0xa4 */
	vb_wreg(&b, R_IECTL + 8, 4, 0xfee01000u); /* IEADDR */
	vb_wreg(&b, R_IECTL, 4, 0); /* unmask */
	vb_qi_wait(&b, 7, true);
	cr_assert_eq(vb_rd32(&b, b.status), 7);
	cr_assert_eq(vb_reg(&b, R_ICS, 4) & 1, 1, "IWC");
	cr_assert_eq(b.irqs, 1);
	cr_assert_eq(b.last_irq_addr, 0xfee01000u);
	cr_assert_eq(b.last_irq_data, 0xfee00000u);
	vb_wreg(&b, R_ICS, 4, 1);
	cr_assert_eq(vb_reg(&b, R_ICS, 4) & 1, 0);
	vb_fini(&b);
}

Test(vtd_qi, iqe_on_unknown_type_then_resume)
{
	struct vb b;
	uint64_t head;

	vb_init(&b, NULL, false);
	vb_enable(&b);
	vb_qi_put(&b, 0xf, 0, true); /* type 15: not a descriptor */
	cr_assert(vb_reg(&b, R_FSTS, 4) & (1u << 4), "FSTS.IQE");
	cr_assert_eq(vb_reg(&b, R_IQER, 8) & 0xf, 3, "IQEI: invalid type");
	head = vb_reg(&b, R_IQH, 8);
	cr_assert_eq(head, 0, "IQH points at the bad descriptor");
	vb_qi_wait(&b, 9, false);
	cr_assert_eq(vb_rd32(&b, b.status), 0, "the queue is stopped");
	cr_assert_eq(checks(&b, VTD_CHK_RSVD_DESC), 1);
	/* Software replaces the bad descriptor and clears IQE: processing resumes. */
	vb_wr64(&b, b.iq, D_IOTLB_GLOBAL);
	vb_wreg(&b, R_FSTS, 4, 1u << 4);
	cr_assert_eq(vb_reg(&b, R_FSTS, 4) & (1u << 4), 0);
	cr_assert_eq(vb_rd32(&b, b.status), 9);
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 2 << 4);
	vb_fini(&b);
}

Test(vtd_qi, iqe_on_reserved_bits)
{
	struct vb b;
	struct vtd_stats s;

	vb_init(&b, NULL, false);
	vb_enable(&b);
	vb_qi_put(&b, D_IOTLB_GLOBAL | (1ull << 40), 0, true); /* qw0 63:32 reserved */
	cr_assert(vb_reg(&b, R_FSTS, 4) & (1u << 4));
	cr_assert_eq(vb_reg(&b, R_IQER, 8) & 0xf, 4, "IQEI: reserved field");
	vtd_get_stats(b.iommu, &s);
	cr_assert_eq(s.iqe, 1);
	cr_assert_eq(s.descriptors[2], 0);
	vb_fini(&b);
}

Test(vtd_faults, primary_fault_overflow)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf, rec[2];
	struct vtd_stats s;

	cfg.nfr = 2;
	legacy_setup(&b, &cfg, &d, &leaf);
	for (int i = 1; i <= 3; i++)
		cr_assert_eq(vb_xlate(&b, RID, IOVA + ((uint64_t)i << 20), HWM_ACC_READ).status,
			     HWM_XLATE_FAULT);
	uint32_t fsts = (uint32_t)vb_reg(&b, R_FSTS, 4);
	cr_assert(fsts & 1, "PFO");
	cr_assert(fsts & 2, "PPF");
	cr_assert_eq((fsts >> 8) & 0xff, 0, "FRI");
	vtd_get_stats(b.iommu, &s);
	cr_assert_eq(s.fault_overflows, 1);
	cr_assert_eq(vb_pop_fault(&b, rec), 6);
	cr_assert_eq(rec[0], IOVA + (1ull << 20));
	cr_assert_eq(vb_pop_fault(&b, rec), 6);
	cr_assert_eq(rec[0], IOVA + (2ull << 20));
	cr_assert_eq(vb_pop_fault(&b, rec), -1, "the third fault was dropped");
	cr_assert_eq(vb_reg(&b, R_FSTS, 4) & 2, 0, "PPF clears with the last F");
	vb_wreg(&b, R_FSTS, 4, 1); /* clear PFO */
	cr_assert_eq(vb_xlate(&b, RID, IOVA + (4ull << 20), HWM_ACC_WRITE).status, HWM_XLATE_FAULT);
	cr_assert_eq(vb_pop_fault(&b, rec), 5);
	cr_assert_eq(rec[0], IOVA + (4ull << 20));
	vb_fini(&b);
}

Test(vtd_faults, interrupt_when_unmasked_and_fpd)
{
	struct vb b;
	struct vb_dev d;
	uint64_t rec[2];
	struct hwm_xlate x;

	vb_init(&b, NULL, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	vb_wreg(&b, R_FEDATA, 4, 0x41);
	vb_wreg(&b, R_FEADDR, 4, 0xfee00000u);
	vb_wreg(&b, R_FECTL, 4, 0);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(x.status, HWM_XLATE_FAULT);
	cr_assert_eq(b.irqs, 1);
	cr_assert_eq(b.last_irq_data, 0x41);
	cr_assert_eq(vb_pop_fault(&b, rec), 6);
	/* FPD: the fault is returned but not recorded */
	vb_wr64(&b, d.ctx, vb_rd64(&b, d.ctx) | 2);
	vb_qi_put(&b, D_CC_GLOBAL, 0, true);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(x.status, HWM_XLATE_FAULT);
	cr_assert(!x.fault.recorded && x.fault.suppressed);
	cr_assert_eq(vb_pop_fault(&b, rec), -1);
	vb_fini(&b);
}

Test(vtd_cache, tiny_iotlb_evicts)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf;
	struct vtd_stats s;

	cfg.iotlb = (struct hwm_cache_geom){ 1, 2, HWM_REPL_LRU };
	cfg.pwc = (struct hwm_cache_geom){ 1, 1, HWM_REPL_RR };
	legacy_setup(&b, &cfg, &d, &leaf);
	for (int i = 1; i < 3; i++)
		vb_ss_map(&b, d.ss_root, 4, IOVA + i * 0x1000ull, PA1 + i * 0x1000ull, 1, SS_R);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(vb_xlate(&b, RID, IOVA + i * 0x1000ull, HWM_ACC_READ).status,
			     HWM_XLATE_OK);
	vtd_get_stats(b.iommu, &s);
	cr_assert_eq(s.iotlb.fills, 3);
	cr_assert_eq(s.iotlb.evictions, 1);
	/* LRU evicted page 0: translating it again walks (with the PWC warm) */
	struct hwm_xlate x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(x.cost.iotlb_hits, 0);
	cr_assert_eq(x.cost.mem_accesses, 1, "the PDE came from the walk cache");
	cr_assert_eq(x.cost.cache_hits, 2, "context cache + PWC");
	x = vb_xlate(&b, RID, IOVA + 0x2000, HWM_ACC_READ);
	cr_assert_eq(x.cost.iotlb_hits, 1);
	vb_fini(&b);
}

Test(vtd_cache, caching_mode_caches_not_present)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf, rec[2];
	struct hwm_xlate x;

	cfg.cm = true;
	legacy_setup(&b, &cfg, &d, &leaf);
	cr_assert(vb_reg(&b, R_CAP, 8) & (1u << 7), "CAP.CM");
	x = vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ);
	cr_assert_eq(x.status, HWM_XLATE_FAULT);
	vb_ss_map(&b, d.ss_root, 4, IOVA + 0x1000, PA2, 1, SS_R | SS_W);
	x = vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ);
	cr_assert_eq(x.status, HWM_XLATE_FAULT, "map without invalidation still faults under CM");
	cr_assert_eq(x.cost.mem_accesses, 0, "served from the cached not-present entry");
	cr_assert_geq(checks(&b, VTD_CHK_STALE_IOTLB), 1);
	while (vb_pop_fault(&b, rec) >= 0)
		;
	vb_qi_put(&b, D_IOTLB_PSI(DID), IOVA + 0x1000, true);
	x = vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ);
	cr_assert_eq(x.status, HWM_XLATE_OK);
	cr_assert_eq(x.pa, PA2);
	vb_fini(&b);
}

Test(vtd_checker, silent_on_clean_sequence)
{
	struct vb b;
	struct vb_dev d;
	uint64_t leaf;
	struct vtd_config cfg = vb_config();
	struct vtd_stats s;

	legacy_setup(&b, &cfg, &d, &leaf);
	vb_xlate(&b, RID, IOVA, HWM_ACC_READ | HWM_ACC_WRITE);
	vb_wr64(&b, leaf, PA2 | SS_R);
	vb_qi_put(&b, D_IOTLB_PSI(DID), IOVA, true);
	vb_qi_wait(&b, 1, false);
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA2);
	vtd_get_stats(b.iommu, &s);
	cr_assert_eq(s.common.checker_warnings, 0);
	vb_fini(&b);
}

Test(vtd_checker, stale_context_and_cap_clear)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf;

	cfg.dt = false;
	legacy_setup(&b, &cfg, &d, &leaf);
	vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	/* change the domain id without a context-cache invalidation */
	vb_wr64(&b, d.ctx + 8, vb_rd64(&b, d.ctx + 8) + (1ull << 8));
	vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(checks(&b, VTD_CHK_STALE_CONTEXT), 1);
	/* TT=01 (device-TLB) with ECAP.DT clear: invalid context + capability rule */
	vb_wr64(&b, d.ctx, (vb_rd64(&b, d.ctx) & ~0xcull) | (1ull << 2));
	vb_qi_put(&b, D_CC_GLOBAL, 0, true);
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).fault.reason, 3);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 1);
	/* register-based invalidation while QI is enabled */
	vb_wreg(&b, R_CCMD, 8, (1ull << 63) | (1ull << 61));
	cr_assert_eq(checks(&b, VTD_CHK_REG_INVAL_QI), 1);
	cr_assert_eq(vb_reg(&b, R_CCMD, 8) >> 63, 0, "ICC clears");
	vb_fini(&b);
}

Test(vtd_regs, register_based_invalidation_without_qi)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf, ecap, iro;

	cfg.qi = false;
	cfg.scalable = false;
	legacy_setup(&b, &cfg, &d, &leaf);
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA1);
	vb_wr64(&b, leaf, PA2 | SS_R);
	ecap = vb_reg(&b, R_ECAP, 8);
	iro = ((ecap >> 8) & 0x3ff) * 16;
	vb_wreg(&b, iro, 8, IOVA); /* IVA: AM 0 */
	vb_wreg(&b, iro + 8, 8, (1ull << 63) | (3ull << 60) | ((uint64_t)DID << 32)); /* PSI */
	cr_assert_eq(vb_reg(&b, iro + 8, 8) >> 63, 0, "IVT clears");
	cr_assert_eq((vb_reg(&b, iro + 8, 8) >> 57) & 3, 3, "IAIG");
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA2);
	cr_assert_eq(checks(&b, VTD_CHK_REG_INVAL_QI), 0);
	vb_fini(&b);
}

Test(vtd_walk, second_stage_ad_bits)
{
	struct vb b;
	struct vb_dev d;
	uint64_t leaf;
	struct hwm_xlate x;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 0, PGTT_SS, DID, 4, 0, VB_PE_SSADE);
	leaf = vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(x.status, HWM_XLATE_OK);
	cr_assert(vb_rd64(&b, leaf) & SS_A);
	cr_assert(!(vb_rd64(&b, leaf) & SS_D));
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_WRITE);
	cr_assert_eq(x.status, HWM_XLATE_OK);
	cr_assert(vb_rd64(&b, leaf) & SS_D, "a write to a clean entry walks again to set D");
	cr_assert(x.cost.mem_accesses > 0);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_WRITE);
	cr_assert_eq(x.cost.mem_accesses, 0);
	vb_fini(&b);
}

Test(vtd_walk, first_stage_ad_bits)
{
	struct vb b;
	struct vb_dev d;
	uint64_t leaf;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 9, PGTT_FS, DID, 4, 4, 0);
	leaf = vb_fs_map(&b, d.fs_root, 4, IOVA, PA1, 1, FS_P | FS_RW | FS_US);
	cr_assert_eq(vb_xlate_pasid(&b, RID, 9, IOVA, HWM_ACC_WRITE).status, HWM_XLATE_OK);
	cr_assert_eq(vb_rd64(&b, leaf) & (FS_A | FS_D), FS_A | FS_D);
	cr_assert(vb_rd64(&b, d.fs_root + ((IOVA >> 39) & 511) * 8) & FS_A);
	vb_fini(&b);
}

Test(vtd_inject, walk_read_and_drop_invalidation)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf, rec[2];
	struct fault_ctx *fc;
	struct vtd_stats s;

	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
	vb_init(&b, &cfg, false);
	/* re-create the model with the fault context on its bus */
	hwm_destroy(b.iommu);
	b.bus.fault = fc;
	cr_assert_eq(vtd_create(&b.cfg, &b.bus, &b.iommu), 0);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	leaf = vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);

	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_HW, "vtd.walk_read"), 0);
	fault_set_probability(fc, 1000000, 42);
	struct hwm_xlate x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(x.status, HWM_XLATE_FAULT);
	cr_assert_eq(x.fault.reason, 8, "the root-entry read failed first");
	fault_disarm(fc);
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA1);
	while (vb_pop_fault(&b, rec) >= 0)
		;

	/* drop an invalidation's effect: the stale entry survives it */
	vb_wr64(&b, leaf, PA2 | SS_R | SS_W);
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_HW, "vtd.inval_drop"), 0);
	fault_set_probability(fc, 1000000, 42);
	vb_qi_put(&b, D_IOTLB_PSI(DID), IOVA, true);
	fault_disarm(fc);
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA1);

	/* stall the wait descriptor: status is not written until retried */
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_HW, "vtd.wait_stall"), 0);
	fault_set_probability(fc, 1000000, 42);
	vb_qi_wait(&b, 5, false);
	cr_assert_eq(vb_rd32(&b, b.status), 0);
	fault_disarm(fc);
	cr_assert_eq(hwm_process_commands(b.iommu, 0), 1);
	cr_assert_eq(vb_rd32(&b, b.status), 5);
	vtd_get_stats(b.iommu, &s);
	cr_assert_geq(s.common.injected, 3);
	vb_fini(&b);
	fault_ctx_destroy(fc);
}

Test(vtd_prq, page_requests_and_overflow)
{
	struct vb b;
	uint64_t pq;
	struct vtd_page_req r = { .rid = RID,
				  .pasid = 4,
				  .has_pasid = true,
				  .read = true,
				  .last = true,
				  .prgi = 3,
				  .addr = 0x7000 };

	vb_init(&b, NULL, true);
	vb_enable(&b);
	pq = vb_page(&b);
	vb_wreg(&b, R_PQA, 8, pq); /* PQS 0: 128 descriptors */
	cr_assert_eq(vtd_page_request(b.iommu, &r), 0);
	cr_assert_eq(vb_reg(&b, R_PQT, 8), 1 << 5);
	cr_assert_eq(vb_reg(&b, R_PRS, 4) & 1, 1, "PPR");
	uint64_t q0 = vb_rd64(&b, pq), q1 = vb_rd64(&b, pq + 8);
	cr_assert_eq((q0 >> 16) & 0xffff, RID);
	cr_assert_eq((q0 >> 32) & 0xfffff, 4);
	cr_assert_eq(q1 & ~0xfffull, 0x7000);
	cr_assert_eq((q1 >> 3) & 0x1ff, 3);
	cr_assert_eq(q1 & 7, 5, "R and LPIG");
	for (int i = 1; i < 127; i++)
		cr_assert_eq(vtd_page_request(b.iommu, &r), 0);
	cr_assert_eq(vtd_page_request(b.iommu, &r), -ENOSPC);
	cr_assert_eq(vb_reg(&b, R_PRS, 4) & 2, 2, "PRO");
	vb_wreg(&b, R_PQH, 8, vb_reg(&b, R_PQT, 8)); /* consume all */
	vb_wreg(&b, R_PRS, 4, 3);
	cr_assert_eq(vtd_page_request(b.iommu, &r), 0);
	vb_fini(&b);
}

/*
 * hwm_stats.translations counts requests, not IOTLB lookups: with 4 KiB and
 * 2 MiB entries present a request probes twice, and a first walk of an empty
 * IOTLB probes not at all.
 */
Test(vtd_stats, translations_count_requests)
{
	struct vtd_config cfg = vb_config();
	struct hwm_stats hs;
	struct vb_dev d;
	struct vb b;

	cfg.checker = false;
	vb_init(&b, &cfg, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	vb_ss_map(&b, d.ss_root, 4, 0x40000000ull, 0x4000000ull, 2, SS_R | SS_W);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).status, HWM_XLATE_OK);
		cr_assert_eq(vb_xlate(&b, RID, 0x40000000ull + i * 0x1000, HWM_ACC_READ).status,
			     HWM_XLATE_OK);
	}
	hwm_get_stats(b.iommu, &hs);
	cr_expect_eq(hs.translations, 8, "%llu translations for 8 requests",
		     (unsigned long long)hs.translations);
	cr_expect_eq(hs.walks, 2);
	cr_expect_gt(hs.iotlb_hits + hs.iotlb_misses, 8, "lookups outnumber requests here");
	vb_fini(&b);
}
