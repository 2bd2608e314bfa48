/* SPDX-License-Identifier: MIT */
/*
 * The VT-d model's less travelled paths, each with a deliberately built case:
 * the checker rules without a case elsewhere (reserved bits in each kind of
 * entry, stale PASID-cache and walk-cache entries, reserved descriptor
 * fields), the injection points vtd.pte_flip, vtd.fault_overflow and
 * vtd.prq_overflow, every queued-invalidation descriptor type with its
 * granularities and its malformed forms (and 256-bit descriptors), the
 * scalable-mode fault reasons the vector table does not reach, first-stage
 * 5-level paging, second-stage A/D with SSADE, nested translation faults, and
 * ATS requests through the modelled device TLB.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/trace.h>

#include "vtd_builder.h"

#define RID 0x0308
#define DID 6
#define IOVA 0x45678000ull
#define PA1 0x2000000ull
#define PA2 0x3000000ull

#define D_CC(g) (1ull | (uint64_t)(g) << 4)
#define D_IOTLB(g, did) (2ull | (uint64_t)(g) << 4 | (uint64_t)(did) << 16)
#define D_DEVTLB(sid) (3ull | (uint64_t)(sid) << 32)
#define D_PIOTLB(g, did, pasid) \
	(6ull | (uint64_t)(g) << 4 | (uint64_t)(did) << 16 | (uint64_t)(pasid) << 32)
#define D_PC(g, did, pasid) \
	(7ull | (uint64_t)(g) << 4 | (uint64_t)(did) << 16 | (uint64_t)(pasid) << 32)

static uint64_t checks(struct vb *b, enum vtd_check_rule r)
{
	struct vtd_stats s;
	cr_assert_eq(vtd_get_stats(b->iommu, &s), 0);
	return s.checker[r];
}

static void drain_faults(struct vb *b)
{
	uint64_t rec[2];
	while (vb_pop_fault(b, rec) >= 0)
		;
}

static struct hwm_xlate xl(struct vb *b, uint32_t rid, bool has_pasid, uint32_t pasid,
			   uint64_t iova, uint32_t acc, bool ats)
{
	struct hwm_req r = { .rid = rid,
			     .pasid = pasid,
			     .has_pasid = has_pasid,
			     .iova = iova,
			     .access = acc,
			     .ats = ats };
	struct hwm_xlate x;
	cr_assert_eq(hwm_translate(b->iommu, &r, &x), 0);
	return x;
}

/* Re-create the model with a fault context (and optionally without cmpxchg64). */
static void with_fault_ctx(struct vb *b, struct fault_ctx *fc, bool no_cmpxchg)
{
	hwm_destroy(b->iommu);
	b->bus.fault = fc;
	if (no_cmpxchg)
		b->ops.cmpxchg64 = NULL;
	cr_assert_eq(vtd_create(&b->cfg, &b->bus, &b->iommu), 0);
}

static void arm(struct fault_ctx *fc, const char *point)
{
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_HW, point), 0);
	fault_set_probability(fc, 1000000, 7);
}

/* ------------------------------------------------------------ checker rules */

Test(vtd_gaps, reserved_entry_rule_for_every_structure)
{
	struct vb b;
	struct vb_dev d, l;
	uint64_t leaf;

	/* legacy: root (bit 1..11), context (bits 11:4) */
	vb_init(&b, NULL, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &l);
	leaf = vb_ss_map(&b, l.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	vb_wr64(&b, l.root_entry + 8, 1); /* the upper half of a legacy root entry is reserved */
	cr_assert_eq(xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, false).fault.reason, 0xa);
	cr_assert_eq(checks(&b, VTD_CHK_RSVD_ENTRY), 1);
	vb_wr64(&b, l.root_entry + 8, 0);
	vb_wr64(&b, l.ctx + 8, vb_rd64(&b, l.ctx + 8) | 1ull << 40); /* hi 63:24 reserved */
	cr_assert_eq(xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, false).fault.reason, 0xb);
	cr_assert_eq(checks(&b, VTD_CHK_RSVD_ENTRY), 2);
	vb_wr64(&b, l.ctx + 8, vb_rd64(&b, l.ctx + 8) & ~(1ull << 40));
	/* a second-stage leaf with an address bit above HAW */
	vb_wr64(&b, leaf, vb_rd64(&b, leaf) | 1ull << 49);
	cr_assert_eq(xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, false).fault.reason, 0xc);
	cr_assert_eq(checks(&b, VTD_CHK_RSVD_ENTRY), 3);
	/* a 2 MiB leaf with its low address bits set (SLLPS allows the size) */
	vb_ss_map(&b, l.ss_root, 4, 0x80200000, 0x2201000, 2, SS_R | SS_W);
	cr_assert_eq(xl(&b, RID, false, 0, 0x80200000, HWM_ACC_READ, false).fault.reason, 0xc);
	cr_assert_eq(checks(&b, VTD_CHK_RSVD_ENTRY), 4);
	drain_faults(&b);
	vb_fini(&b);

	/* scalable: root half, context, PASID directory, PASID entry, FS entry */
	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 3, PGTT_FS, DID, 0, 4, 0);
	leaf = vb_fs_map(&b, d.fs_root, 4, IOVA, PA1, 1, FS_P | FS_RW | FS_US);
	vb_wr64(&b, d.ctx + 16, 1); /* qw2 of a scalable context entry is reserved */
	cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, false).fault.reason, 0x42);
	vb_wr64(&b, d.ctx + 16, 0);
	vb_wr64(&b, d.pe + 24, 1); /* qw3 of the PASID entry */
	cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, false).fault.reason, 0x5a);
	vb_wr64(&b, d.pe + 24, 0);
	vb_wr64(&b, leaf, vb_rd64(&b, leaf) | FS_XD); /* XD without NXE is reserved */
	cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, false).fault.reason, 0x72);
	vb_wr64(&b, d.root_entry, vb_rd64(&b, d.root_entry) | 1ull << 3);
	vb_qi_put(&b, D_CC(1), 0, true);
	cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, false).fault.reason, 0x3a);
	cr_assert_eq(checks(&b, VTD_CHK_RSVD_ENTRY), 4);
	drain_faults(&b);
	vb_fini(&b);
}

Test(vtd_gaps, stale_pasid_entry_rule)
{
	struct vb b;
	struct vb_dev d;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 3, PGTT_SS, DID, 4, 0, 0);
	vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, false).pa, PA1);
	/* the domain id changes without a PASID-cache invalidation: used stale, flagged */
	vb_wr64(&b, d.pe + 8, DID + 1);
	cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, false).pa, PA1);
	cr_assert_eq(checks(&b, VTD_CHK_STALE_PASID), 1);
	/* PASID-selective invalidation (G=1) of the old domain: the new entry is read */
	vb_qi_put(&b, D_PC(1, DID, 3), 0, true);
	cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, false).status, HWM_XLATE_OK);
	cr_assert_eq(checks(&b, VTD_CHK_STALE_PASID), 1);
	vb_fini(&b);
}

Test(vtd_gaps, stale_walk_cache_rule_and_ih)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t pde, leaf, leaf2;
	struct hwm_xlate x;

	c.iotlb = (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU };
	vb_init(&b, &c, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	leaf = vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	leaf2 = vb_ss_map(&b, d.ss_root, 4, IOVA + 0x1000, PA2, 1, SS_R | SS_W);
	(void)leaf2;
	pde = leaf & ~0xfffull; /* the leaf table: find the PDE pointing at it */
	{
		uint64_t l4 = d.ss_root + ((IOVA >> 39) & 511) * 8;
		uint64_t l3 = (vb_rd64(&b, l4) & ~0xfffull) + ((IOVA >> 30) & 511) * 8;
		pde = (vb_rd64(&b, l3) & ~0xfffull) + ((IOVA >> 21) & 511) * 8;
	}
	vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ); /* evicts IOVA from the 1-entry IOTLB */
	/* the PDE loses W without invalidation: the walk cache still says R|W */
	vb_wr64(&b, pde, vb_rd64(&b, pde) & ~SS_W);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_WRITE);
	cr_assert_eq(x.status, HWM_XLATE_OK, "served from the stale PDE");
	cr_assert_eq(x.cost.mem_accesses, 1);
	cr_assert_eq(checks(&b, VTD_CHK_STALE_PWC), 1);
	/* page-selective with IH=1: leaves only, the walk cache keeps the PDE */
	vb_qi_put(&b, D_IOTLB(3, DID), IOVA | 1u << 6, true);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_WRITE);
	cr_assert_eq(x.status, HWM_XLATE_OK);
	cr_assert_eq(x.cost.mem_accesses, 1);
	/* without IH the PDE goes too: the write now faults (R only) */
	vb_qi_put(&b, D_IOTLB(3, DID), IOVA, true);
	x = vb_xlate(&b, RID, IOVA, HWM_ACC_WRITE);
	cr_assert_eq(x.fault.reason, 0x5);
	cr_assert_eq(x.cost.mem_accesses, 4);
	drain_faults(&b);
	vb_fini(&b);
}

/* ------------------------------------------------------------ injection */

Test(vtd_gaps, inject_pte_flip_and_fault_overflow)
{
	struct vb b;
	struct vb_dev d;
	struct fault_ctx *fc;
	struct vtd_stats s;
	struct hwm_xlate x;
	uint64_t rec[2];

	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
	vb_init(&b, NULL, false);
	with_fault_ctx(&b, fc, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	/* every paging entry comes back with W flipped: the write is refused */
	arm(fc, "vtd.pte_flip");
	x = xl(&b, RID, false, 0, IOVA, HWM_ACC_WRITE, false);
	fault_disarm(fc);
	cr_assert_eq(x.status, HWM_XLATE_FAULT);
	cr_assert_eq(x.fault.reason, 0x5);
	cr_assert_eq(vb_pop_fault(&b, rec), 5);
	/* the corrupted entries were cached (walk cache): still refused until invalidated */
	cr_assert_eq(xl(&b, RID, false, 0, IOVA, HWM_ACC_WRITE, false).status, HWM_XLATE_FAULT);
	cr_assert_eq(vb_pop_fault(&b, rec), 5);
	vb_qi_put(&b, D_IOTLB(1, 0), 0, true);
	cr_assert_eq(xl(&b, RID, false, 0, IOVA, HWM_ACC_WRITE, false).status, HWM_XLATE_OK);
	/* the fault is dropped as an overflow: PFO, not recorded */
	arm(fc, "vtd.fault_overflow");
	x = xl(&b, RID, false, 0, 0x9999000, HWM_ACC_READ, false);
	fault_disarm(fc);
	cr_assert_eq(x.status, HWM_XLATE_FAULT);
	cr_assert(!x.fault.recorded && x.fault.suppressed);
	cr_assert(vb_reg(&b, R_FSTS, 4) & 1, "PFO");
	cr_assert_eq(vb_pop_fault(&b, rec), -1);
	vtd_get_stats(b.iommu, &s);
	cr_assert_eq(s.fault_overflows, 1);
	cr_assert_eq(s.common.injected, 4 + 1, "four flipped entries, one overflow");
	vb_fini(&b);
	fault_ctx_destroy(fc);
}

Test(vtd_gaps, inject_prq_overflow_and_walk_read_of_the_queue)
{
	struct vb b;
	struct fault_ctx *fc;
	struct vtd_page_req r = { .rid = RID, .read = true, .addr = 0x5000 };

	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
	vb_init(&b, NULL, true);
	with_fault_ctx(&b, fc, false);
	vb_enable(&b);
	vb_wreg(&b, R_PQA, 8, vb_page(&b));
	arm(fc, "vtd.prq_overflow");
	cr_assert_eq(vtd_page_request(b.iommu, &r), -ENOSPC);
	fault_disarm(fc);
	cr_assert_eq(vb_reg(&b, R_PRS, 4) & 2, 2, "PRO");
	cr_assert_eq(vtd_page_request(b.iommu, &r), 0);
	/* a dropped device-TLB and PASID-cache invalidation */
	arm(fc, "vtd.inval_drop");
	vb_qi_put(&b, D_DEVTLB(RID), 0, true);
	vb_qi_put(&b, D_PC(3, 0, 0), 0, true);
	fault_disarm(fc);
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 2 << 4, "they complete");
	vb_fini(&b);
	fault_ctx_destroy(fc);
}

/* ------------------------------------------------------- queued invalidation */

static void expect_iqe(struct vb *b, uint64_t qw0, uint64_t qw1, unsigned iqei)
{
	uint64_t head = vb_reg(b, R_IQH, 8);

	vb_qi_put(b, qw0, qw1, true);
	cr_assert(vb_reg(b, R_FSTS, 4) & (1u << 4), "IQE for %#llx", (unsigned long long)qw0);
	cr_assert_eq(vb_reg(b, R_IQER, 8) & 0xf, iqei, "IQEI for %#llx", (unsigned long long)qw0);
	cr_assert_eq(vb_reg(b, R_IQH, 8), head, "IQH on the bad descriptor");
	/* replace it with a harmless wait and resume */
	vb_wr64(b, b->iq + head, 5);
	vb_wr64(b, b->iq + head + 8, 0);
	vb_wreg(b, R_FSTS, 4, 1u << 4);
	cr_assert_eq(vb_reg(b, R_IQH, 8), (head + 16) % 4096);
}

Test(vtd_gaps, malformed_descriptors)
{
	struct vtd_config c = vb_config();
	struct vb b;

	c.mamv = 4;
	vb_init(&b, &c, true);
	vb_enable(&b);
	expect_iqe(&b, D_CC(0), 0, 4); /* granularity 0 */
	expect_iqe(&b, D_CC(1) | 1ull << 50, 0, 4); /* qw0 63:50 */
	expect_iqe(&b, D_CC(1), 1, 4); /* qw1 reserved */
	expect_iqe(&b, D_IOTLB(0, 0), 0, 4);
	expect_iqe(&b, D_IOTLB(3, 1), 5, 4); /* AM 5 > MAMV 4 */
	expect_iqe(&b, D_IOTLB(3, 1), 1u << 8, 4); /* qw1 11:7 */
	expect_iqe(&b, D_DEVTLB(0) | 1u << 4, 0, 4);
	expect_iqe(&b, D_DEVTLB(0), 1u << 3, 4);
	expect_iqe(&b, 5 | 1u << 12, 0, 4); /* wait: 31:12 */
	expect_iqe(&b, 5, 1, 4); /* status address 1:0 */
	expect_iqe(&b, D_PIOTLB(1, 0, 0), 0, 4); /* G 1 is not defined for type 6 */
	expect_iqe(&b, D_PIOTLB(3, 0, 0), 9, 4); /* AM 9 > MAMV */
	expect_iqe(&b, D_PIOTLB(2, 0, 0) | 1ull << 60, 0, 4);
	expect_iqe(&b, D_PC(2, 0, 0), 0, 4); /* G 2 is not defined for type 7 */
	expect_iqe(&b, D_PC(0, 0, 0), 1, 4);
	expect_iqe(&b, 4, 0, 3); /* type 4 (IEC): not modelled */
	expect_iqe(&b, 9, 0, 3); /* type 9: page group response */
	expect_iqe(&b, 1u << 9 | 1, 0, 3); /* type 17 (11:9 = 1) */
	cr_assert_eq(checks(&b, VTD_CHK_RSVD_DESC), 18);
	vb_fini(&b);

	/* PASID-based types in legacy mode: unknown */
	c = vb_config();
	c.scalable = false;
	vb_init(&b, &c, false);
	vb_enable(&b);
	expect_iqe(&b, D_PC(3, 0, 0), 0, 3);
	expect_iqe(&b, D_PIOTLB(2, 0, 0), 0, 3);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 2);
	vb_fini(&b);
}

Test(vtd_gaps, fetch_abort_and_256_bit_descriptors)
{
	struct vb b;
	uint64_t iq;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	/* a queue in memory that aborts: IQEI 2 */
	vb_wreg(&b, R_GCMD, 4, (uint32_t)vb_reg(&b, R_GSTS, 4) & 0x96ffffffu & ~(1u << 26));
	vb_wreg(&b, R_IQT, 8, 0);
	vb_wreg(&b, R_IQA, 8, b.size);
	vb_wreg(&b, R_GCMD, 4, ((uint32_t)vb_reg(&b, R_GSTS, 4) & 0x96ffffffu) | 1u << 26);
	vb_wreg(&b, R_IQT, 8, 1 << 4);
	cr_assert(vb_reg(&b, R_FSTS, 4) & (1u << 4));
	cr_assert_eq(vb_reg(&b, R_IQER, 8) & 0xf, 2);
	/* 256-bit descriptors (DW): IQT bit 4 must be 0 (IQEI 1) */
	vb_wreg(&b, R_GCMD, 4, (uint32_t)vb_reg(&b, R_GSTS, 4) & 0x96ffffffu & ~(1u << 26));
	vb_wreg(&b, R_FSTS, 4, 1u << 4);
	iq = vb_page(&b);
	vb_wreg(&b, R_IQT, 8, 0);
	vb_wreg(&b, R_IQA, 8, iq | 1u << 11);
	vb_wreg(&b, R_GCMD, 4, ((uint32_t)vb_reg(&b, R_GSTS, 4) & 0x96ffffffu) | 1u << 26);
	vb_wreg(&b, R_IQT, 8, 1 << 4);
	cr_assert(vb_reg(&b, R_FSTS, 4) & (1u << 4));
	cr_assert_eq(vb_reg(&b, R_IQER, 8) & 0xf, 1);
	vb_wreg(&b, R_FSTS, 4, 1u << 4);
	/* a 256-bit wait: its qw2/qw3 must be zero */
	vb_wr64(&b, iq, 5 | 1u << 5 | 0x1234ull << 32);
	vb_wr64(&b, iq + 8, b.status);
	vb_wr64(&b, iq + 16, 0);
	vb_wr64(&b, iq + 24, 0);
	vb_wr64(&b, iq + 32, 5);
	vb_wr64(&b, iq + 40, 0);
	vb_wr64(&b, iq + 48, 1); /* reserved */
	vb_wreg(&b, R_IQT, 8, 2 << 5);
	cr_assert_eq(vb_rd32(&b, b.status), 0x1234);
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 1 << 5);
	cr_assert_eq(vb_reg(&b, R_IQER, 8) & 0xf, 4);
	vb_fini(&b);
}

Test(vtd_gaps, context_and_pasid_cache_granularities)
{
	struct vb b;
	struct vb_dev d1, d2;
	struct vtd_stats s0, s1;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d1);
	vb_ctx_sm(&b, RID + 1, 0, 0, VB_CTX_PASIDE, &d2);
	vb_pasid(&b, &d1, 1, PGTT_PT, DID, 0, 0, 0);
	vb_pasid(&b, &d1, 2, PGTT_PT, DID + 1, 0, 0, 0);
	vb_pasid(&b, &d2, 1, PGTT_PT, DID + 1, 0, 0, 0);
	xl(&b, RID, true, 1, 0, HWM_ACC_READ, false);
	xl(&b, RID, true, 2, 0, HWM_ACC_READ, false);
	xl(&b, RID + 1, true, 1, 0, HWM_ACC_READ, false);
	vtd_get_stats(b.iommu, &s0);
	/* PASID cache: domain-selective drops DID+1's two entries */
	vb_qi_put(&b, D_PC(0, DID + 1, 0), 0, true);
	/* context cache: device-selective with FM 1 (bit 2 masked) on RID ^ 4 hits RID */
	vb_qi_put(&b, D_CC(3) | (uint64_t)(RID ^ 4) << 32 | 1ull << 48, 0, true);
	xl(&b, RID, true, 1, 0, HWM_ACC_READ, false);
	xl(&b, RID, true, 2, 0, HWM_ACC_READ, false);
	xl(&b, RID + 1, true, 1, 0, HWM_ACC_READ, false);
	vtd_get_stats(b.iommu, &s1);
	cr_assert_eq(s1.pasid_c.misses - s0.pasid_c.misses, 2);
	cr_assert_eq(s1.ctx.misses - s0.ctx.misses, 1);
	/* context cache domain-selective: scalable contexts carry no DID (nothing dropped) */
	vb_qi_put(&b, D_CC(2) | (uint64_t)DID << 16, 0, true);
	vtd_get_stats(b.iommu, &s0);
	cr_assert_eq(s0.ctx.invalidations, s1.ctx.invalidations);
	cr_assert_eq(s0.descriptors[1], 2);
	cr_assert_eq(s0.descriptors[7], 1);
	vb_fini(&b);
}

Test(vtd_gaps, pasid_iotlb_invalidation_spares_second_stage)
{
	struct vb b;
	struct vb_dev d, fs, ss;
	uint64_t lf, ls;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	fs = d;
	vb_pasid(&b, &fs, 4, PGTT_FS, DID, 0, 4, 0);
	ss = d;
	vb_pasid(&b, &ss, 5, PGTT_SS, DID, 4, 0, 0);
	lf = vb_fs_map(&b, fs.fs_root, 4, IOVA, PA1, 1, FS_P | FS_RW | FS_US);
	ls = vb_ss_map(&b, ss.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	xl(&b, RID, true, 4, IOVA, HWM_ACC_READ, false);
	xl(&b, RID, true, 5, IOVA, HWM_ACC_READ, false);
	vb_wr64(&b, lf, PA2 | FS_P | FS_RW | FS_US);
	vb_wr64(&b, ls, PA2 | SS_R | SS_W);
	/* type 2 (IOTLB) leaves first-stage entries alone */
	vb_qi_put(&b, D_IOTLB(2, DID), 0, true);
	cr_assert_eq(xl(&b, RID, true, 4, IOVA, HWM_ACC_READ, false).pa, PA1);
	cr_assert_eq(xl(&b, RID, true, 5, IOVA, HWM_ACC_READ, false).pa, PA2);
	/* type 6, page-selective for another PASID: nothing */
	vb_qi_put(&b, D_PIOTLB(3, DID, 9), IOVA, true);
	cr_assert_eq(xl(&b, RID, true, 4, IOVA, HWM_ACC_READ, false).pa, PA1);
	/* type 6 for the second-stage PASID: its entry is not first-stage, it stays */
	vb_qi_put(&b, D_PIOTLB(2, DID, 5), 0, true);
	cr_assert_eq(xl(&b, RID, true, 5, IOVA, HWM_ACC_READ, false).cost.iotlb_hits, 1);
	/* type 6, PASID-selective (G=2) */
	vb_qi_put(&b, D_PIOTLB(2, DID, 4), 0, true);
	cr_assert_eq(xl(&b, RID, true, 4, IOVA, HWM_ACC_READ, false).pa, PA2);
	/* type 6 page-selective with IH keeps the walk cache */
	vb_wr64(&b, lf, PA1 | FS_P | FS_RW | FS_US);
	vb_qi_put(&b, D_PIOTLB(3, DID, 4), IOVA | 1u << 6, true);
	{
		struct hwm_xlate x = xl(&b, RID, true, 4, IOVA, HWM_ACC_READ, false);
		cr_assert_eq(x.pa, PA1);
		cr_assert_eq(x.cost.mem_accesses, 2, "the leaf and its A bit: the walk cache kept");
	}
	/* global IOTLB invalidation drops everything */
	vb_qi_put(&b, D_IOTLB(1, 0), 0, true);
	cr_assert_eq(xl(&b, RID, true, 4, IOVA, HWM_ACC_READ, false).cost.iotlb_hits, 0);
	vb_fini(&b);
}

/* ------------------------------------------------------- scalable-mode reasons */

Test(vtd_gaps, scalable_reasons_from_capabilities)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vb_dev d;

	c.dt = false;
	c.flts = false;
	c.nest = false;
	c.ssads = false;
	c.sagaw = 0x4;
	c.fl5lp = false;
	vb_init(&b, &c, true);
	vb_enable(&b);
	/* DTE without ECAP.DT: the context is invalid (0x43) */
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE | VB_CTX_DTE, &d);
	cr_assert_eq(xl(&b, RID, true, 1, 0, HWM_ACC_READ, false).fault.reason, 0x43);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_qi_put(&b, D_CC(1), 0, true);
	/* PGTT first-stage without FLTS; SSADE without SSADS; AW not in SAGAW */
	vb_pasid(&b, &d, 1, PGTT_FS, DID, 0, 4, 0);
	cr_assert_eq(xl(&b, RID, true, 1, 0, HWM_ACC_READ, false).fault.reason, 0x5b);
	vb_pasid(&b, &d, 2, PGTT_SS, DID, 4, 0, VB_PE_SSADE);
	cr_assert_eq(xl(&b, RID, true, 2, 0, HWM_ACC_READ, false).fault.reason, 0x5b);
	vb_pasid(&b, &d, 3, PGTT_SS, DID, 5, 0, 0);
	cr_assert_eq(xl(&b, RID, true, 3, 0, HWM_ACC_READ, false).fault.reason, 0x5b);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 4);
	drain_faults(&b);
	vb_fini(&b);

	/* FSPM 5-level without FL5LP; a PASID beyond PSS; pointers beyond HAW */
	c = vb_config();
	c.fl5lp = false;
	c.pss = 4;
	vb_init(&b, &c, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 1, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 1, PGTT_FS, DID, 0, 5, 0);
	cr_assert_eq(xl(&b, RID, true, 1, 0, HWM_ACC_READ, false).fault.reason, 0x5b);
	cr_assert_eq(xl(&b, RID, true, 1u << 5, 0, HWM_ACC_READ, false).fault.reason, 0x46);
	vb_pasid(&b, &d, 2, PGTT_FS, DID, 0, 4, 0);
	vb_wr64(&b, d.pe + 16, vb_rd64(&b, d.pe + 16) | 1ull << 50); /* FSPTPTR above HAW */
	cr_assert_eq(xl(&b, RID, true, 2, 0, HWM_ACC_READ, false).fault.reason, 0x5a);
	vb_pasid(&b, &d, 3, PGTT_SS, DID, 4, 0, 0);
	{
		/* an SS table pointer in a non-leaf entry beyond HAW: 0x7b */
		uint64_t l4 = d.ss_root + ((IOVA >> 39) & 511) * 8;
		vb_wr64(&b, l4, (1ull << 49) | SS_R | SS_W);
		cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, false).fault.reason, 0x7a);
	}
	drain_faults(&b);
	vb_fini(&b);
}

Test(vtd_gaps, first_stage_five_level)
{
	struct vb b;
	struct vb_dev d;
	uint64_t top;
	struct hwm_xlate x;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 1, PGTT_FS, DID, 0, 5, VB_PE_SRE | VB_PE_NXE | VB_PE_WPE);
	vb_fs_map(&b, d.fs_root, 5, 0x00ff000000000000ull, PA1, 1, FS_P | FS_RW | FS_US);
	vb_fs_map(&b, d.fs_root, 5, 0x0001000040000000ull, 0x40000000, 3, FS_P | FS_RW);
	vb_fs_map(&b, d.fs_root, 5, 0x0001000000200000ull, 0x200000, 2, FS_P | FS_US | FS_XD);
	/* a 4 KiB page high in the 57-bit space, a supervisor 1 GiB page, an XD 2 MiB page */
	x = xl(&b, RID, true, 1, 0x00ff000000000123ull, HWM_ACC_READ | HWM_ACC_WRITE, false);
	cr_assert_eq(x.pa, PA1 + 0x123);
	cr_assert_eq(x.cost.mem_accesses, 4 + 5 + 5,
		     "root, context, directory, PASID entry; five reads, five A/D updates");
	x = xl(&b, RID, true, 1, 0x0001000040001000ull, HWM_ACC_WRITE | HWM_ACC_PRIV, false);
	cr_assert_eq(x.page_size, 1ull << 30);
	cr_assert_eq(xl(&b, RID, true, 1, 0x0001000040001000ull, HWM_ACC_READ, false).fault.reason,
		     0x81, "a user request on a supervisor page");
	x = xl(&b, RID, true, 1, 0x0001000000201000ull, HWM_ACC_READ, false);
	cr_assert_eq(x.page_size, 2ull << 20);
	cr_assert_eq(x.perms & HWM_ACC_EXEC, 0);
	/* not canonical at 57 bits; PS in a PML5 entry is reserved */
	cr_assert_eq(xl(&b, RID, true, 1, 1ull << 57, HWM_ACC_READ, false).fault.reason, 0x80);
	top = d.fs_root + ((0x00ff000000000000ull >> 48) & 511) * 8;
	vb_wr64(&b, top, vb_rd64(&b, top) | FS_PS);
	vb_qi_put(&b, D_PIOTLB(2, DID, 1), 0, true);
	cr_assert_eq(xl(&b, RID, true, 1, 0x00ff000000000000ull, HWM_ACC_READ, false).fault.reason,
		     0x72);
	drain_faults(&b);
	vb_fini(&b);
}

Test(vtd_gaps, second_stage_ad_with_ssade)
{
	struct vb b;
	struct vb_dev d;
	struct fault_ctx *fc;
	uint64_t leaf, l4;
	struct hwm_xlate x;

	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
	vb_init(&b, NULL, true);
	with_fault_ctx(&b, fc, true); /* a bus without cmpxchg64: plain writes */
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 0, PGTT_SS, DID, 4, 0, VB_PE_SSADE);
	leaf = vb_ss_map(&b, d.ss_root, 4, 0x200000, 0x2400000, 2, SS_R | SS_W);
	l4 = d.ss_root;
	x = xl(&b, RID, false, 0, 0x201000, HWM_ACC_READ, false);
	cr_assert_eq(x.page_size, 2ull << 20);
	cr_assert(vb_rd64(&b, l4) & SS_A, "A on the non-leaf levels too");
	cr_assert_eq(vb_rd64(&b, leaf) & (SS_A | SS_D), SS_A);
	x = xl(&b, RID, false, 0, 0x202000, HWM_ACC_WRITE, false);
	cr_assert_eq(vb_rd64(&b, leaf) & SS_D, SS_D, "the write to a clean entry walked again");
	cr_assert_gt(x.cost.mem_accesses, 0);
	/* a read-only page: a write sets no D and faults */
	vb_ss_map(&b, d.ss_root, 4, 0x600000, 0x2600000, 1, SS_R);
	x = xl(&b, RID, false, 0, 0x600000, HWM_ACC_WRITE, false);
	cr_assert_eq(x.fault.reason, 0x85);
	drain_faults(&b);
	vb_fini(&b);
	fault_ctx_destroy(fc);
}

Test(vtd_gaps, nested_second_stage_faults)
{
	struct vb b;
	struct vb_dev d;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 1, PGTT_NEST, DID, 4, 4, 0);
	vb_fs_map(&b, d.fs_root, 4, IOVA, PA1, 1, FS_P | FS_RW | FS_US);
	/* the second stage maps nothing: the first-stage table's GPA faults there */
	cr_assert_eq(xl(&b, RID, true, 1, IOVA, HWM_ACC_READ, false).fault.reason, 0x79);
	/* map the tables' GPAs but not the output page */
	vb_ss_map(&b, d.ss_root, 4, 0, 0, 3, SS_R | SS_W);
	cr_assert_eq(xl(&b, RID, true, 1, IOVA, HWM_ACC_READ, false).status, HWM_XLATE_OK,
		     "GPA 0-1G maps the tables and PA1");
	cr_assert_eq(xl(&b, RID, true, 1, IOVA | 1ull << 47, HWM_ACC_READ, false).fault.reason,
		     0x80);
	drain_faults(&b);
	vb_fini(&b);
}

/* ------------------------------------------------------------ ATS */

Test(vtd_gaps, ats_requests_and_device_tlb)
{
	struct vb b;
	struct vb_dev d, dt;
	uint64_t leaf;
	struct hwm_xlate x;
	uint64_t rec[2];

	vb_init(&b, NULL, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 1, &dt); /* TT=01: device TLB allowed */
	vb_ctx_legacy(&b, RID + 1, DID, 4, 0, &d);
	leaf = vb_ss_map(&b, dt.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	x = xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, true);
	cr_assert_eq(x.pa, PA1);
	x = xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, true);
	cr_assert_eq(x.cost.iotlb_hits, 1, "the device's ATC answered");
	cr_assert_eq(x.cost.cache_hits, 1, "after the context");
	/* remap: the IOTLB is invalidated but the ATC keeps the old answer... */
	vb_wr64(&b, leaf, PA2 | SS_R | SS_W);
	vb_qi_put(&b, D_IOTLB(2, DID), 0, true);
	cr_assert_eq(xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, true).pa, PA1);
	cr_assert_eq(xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, false).pa, PA2);
	/* ...until a device-TLB invalidation of a range around it (S=1: 8 KiB) */
	vb_qi_put(&b, D_DEVTLB(RID), (IOVA & ~0x1fffull) | 1, true);
	cr_assert_eq(xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, true).pa, PA2,
		     "refilled from the IOTLB");
	/* a whole-space device-TLB invalidation (all address bits set, S=1) */
	vb_qi_put(&b, D_DEVTLB(RID), ~0xfffull | 1, true);
	cr_assert_eq(xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, true).cost.iotlb_hits, 1);
	/* an ATS fault is answered, not recorded; TT=0 blocks ATS */
	x = xl(&b, RID, false, 0, 0x7000000, HWM_ACC_READ, true);
	cr_assert_eq(x.status, HWM_XLATE_FAULT);
	cr_assert(x.fault.suppressed && !x.fault.recorded);
	cr_assert_eq(xl(&b, RID + 1, false, 0, IOVA, HWM_ACC_READ, true).fault.reason, 0xd);
	cr_assert_eq(vb_pop_fault(&b, rec), -1);
	vb_fini(&b);

	/* scalable: DTE, a PASID request through the ATC */
	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE | VB_CTX_DTE, &d);
	vb_pasid(&b, &d, 3, PGTT_FS, DID, 0, 4, 0);
	vb_fs_map(&b, d.fs_root, 4, IOVA, PA1, 1, FS_P | FS_US);
	cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, true).pa, PA1);
	x = xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, true);
	cr_assert_eq(x.cost.iotlb_hits, 1);
	cr_assert_eq(x.cost.cache_hits, 2);
	/* a write the ATC entry does not allow goes to the IOTLB, which refuses it */
	cr_assert_eq(xl(&b, RID, true, 3, IOVA, HWM_ACC_WRITE, true).fault.reason, 0x85);
	vb_fini(&b);
}

/* ------------------------------------------------------------ remaining paths */

static int count_evicts(const struct trace_record *rec, void *arg)
{
	if (rec->event == TRACE_EV_hw_iotlb_evict)
		(*(unsigned *)arg)++;
	return 0;
}

Test(vtd_gaps, traced_evictions_and_checker_reads_that_abort)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vb_dev d, s;
	struct trace_ctx *tc;
	unsigned evicts = 0;
	uint64_t leaf;

	cr_assert_eq(trace_ctx_create(NULL, NULL, &tc), 0);
	trace_enable_all(tc, true);
	c.iotlb = (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU };
	vb_init(&b, &c, false);
	hwm_destroy(b.iommu);
	b.bus.trace = tc;
	cr_assert_eq(vtd_create(&b.cfg, &b.bus, &b.iommu), 0);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	leaf = vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	vb_ss_map(&b, d.ss_root, 4, IOVA + 0x1000, PA2, 1, SS_R | SS_W);
	vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ); /* evicts: traced */
	cr_assert_geq(trace_collect(tc, count_evicts, &evicts), 1);
	cr_assert_eq(evicts, 1);
	/* the checker's re-reads of a cached context and leaf abort: no finding */
	b.abort_pa[b.naborts++] = d.ctx;
	b.abort_pa[b.naborts++] = leaf + 0x8; /* the other leaf */
	cr_assert_eq(vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ).pa, PA2);
	cr_assert_eq(checks(&b, VTD_CHK_STALE_CONTEXT) + checks(&b, VTD_CHK_STALE_IOTLB), 0);
	vb_fini(&b);

	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &s);
	vb_pasid(&b, &s, 2, PGTT_PT, DID, 0, 0, 0);
	xl(&b, RID, true, 2, 0, HWM_ACC_READ, false);
	b.abort_pa[b.naborts++] = s.pe;
	cr_assert_eq(xl(&b, RID, true, 2, 0x1000, HWM_ACC_READ, false).pa, 0x1000);
	cr_assert_eq(checks(&b, VTD_CHK_STALE_PASID), 0);
	vb_fini(&b);
	trace_ctx_destroy(tc);
}

Test(vtd_gaps, structure_checks_not_reached_elsewhere)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vb_dev d;
	struct hwm_xlate x;

	/* legacy: AW naming a width SAGAW lacks; MGAW below the table width; a root
	 * table above HAW */
	c.sagaw = 0x2; /* 3-level only */
	c.mgaw = 36;
	vb_init(&b, &c, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).fault.reason, 0x3);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 1);
	vb_ctx_legacy(&b, RID + 1, DID, 3, 0, &d);
	vb_ss_map(&b, d.ss_root, 3, 0x10000, PA1, 1, SS_R);
	cr_assert_eq(vb_xlate(&b, RID + 1, 0x10000, HWM_ACC_READ).pa, PA1);
	cr_assert_eq(vb_xlate(&b, RID + 1, 1ull << 37, HWM_ACC_READ).fault.reason, 0x4,
		     "within 39 bits, beyond MGAW 36");
	vb_wreg(&b, R_RTADDR, 8, 1ull << 50);
	vb_wreg(&b, R_GCMD, 4, ((uint32_t)vb_reg(&b, R_GSTS, 4) & 0x96ffffffu) | 1u << 30);
	vb_qi_put(&b, D_CC(1), 0, true);
	cr_assert_eq(vb_xlate(&b, RID + 1, 0x10000, HWM_ACC_READ).fault.reason, 0x8);
	drain_faults(&b);
	vb_fini(&b);

	/* scalable, checker off (the fast path): a PASID request without PASIDE; a
	 * fault-processing-disabled PASID directory entry */
	c = vb_config();
	c.checker = false;
	vb_init(&b, &c, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, 0, &d);
	xl(&b, RID, false, 0, 0, HWM_ACC_READ, false); /* context cached */
	x = xl(&b, RID, true, 1, 0, HWM_ACC_READ, false);
	cr_assert_eq(x.fault.reason, 0x45);
	vb_ctx_sm(&b, RID + 1, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 1, PGTT_SS, DID, 4, 0, 0);
	vb_wr64(&b, d.pdir_entry, vb_rd64(&b, d.pdir_entry) | 2); /* FPD in the directory */
	x = xl(&b, RID + 1, true, 1, IOVA, HWM_ACC_READ, false);
	cr_assert_eq(x.fault.reason, 0x79);
	cr_assert(x.fault.suppressed && !x.fault.recorded);
	drain_faults(&b);
	vb_fini(&b);
}

Test(vtd_gaps, nested_second_stage_narrows_size_and_permissions)
{
	struct vb b;
	struct vb_dev d;
	struct hwm_xlate x;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 1, PGTT_NEST, DID, 4, 4, 0);
	/* first stage: a 2 MiB page at GPA 0x40000000; the tables at low GPAs */
	vb_fs_map(&b, d.fs_root, 4, 0x200000, 0x40000000, 2, FS_P | FS_RW | FS_US);
	vb_ss_map(&b, d.ss_root, 4, 0, 0, 3, SS_R | SS_W);
	/* second stage: that GPA as 4 KiB pages, one write-only, one read-only */
	vb_ss_map(&b, d.ss_root, 4, 0x40000000, PA1, 1, SS_W);
	vb_ss_map(&b, d.ss_root, 4, 0x40001000, PA2, 1, SS_R);
	x = xl(&b, RID, true, 1, 0x200010, HWM_ACC_WRITE, false);
	cr_assert_eq(x.status, HWM_XLATE_OK);
	cr_assert_eq(x.pa, PA1 + 0x10);
	cr_assert_eq(x.page_size, 4096, "the smaller of the two stages");
	cr_assert_eq(x.perms & HWM_ACC_READ, 0, "the second stage denies reads");
	x = xl(&b, RID, true, 1, 0x201000, HWM_ACC_READ, false);
	cr_assert_eq(x.pa, PA2);
	cr_assert_eq(x.perms & HWM_ACC_WRITE, 0);
	vb_fini(&b);
}

/* The memo serves repeated scalable-mode hits (the PASID cache accounted as well). */
Test(vtd_gaps, memo_in_scalable_mode)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vb_dev d;
	struct vtd_stats s0, s1;
	struct hwm_xlate x;

	c.checker = false;
	vb_init(&b, &c, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID, 0, 0, VB_CTX_PASIDE, &d);
	vb_pasid(&b, &d, 4, PGTT_FS, DID, 0, 4, 0);
	vb_fs_map(&b, d.fs_root, 4, IOVA, PA1, 1, FS_P | FS_RW | FS_US);
	for (int i = 0; i < 3; i++)
		xl(&b, RID, true, 4, IOVA, HWM_ACC_READ, false);
	vtd_get_stats(b.iommu, &s0);
	x = xl(&b, RID, true, 4, IOVA + 8, HWM_ACC_READ, false);
	vtd_get_stats(b.iommu, &s1);
	cr_assert_eq(x.pa, PA1 + 8);
	cr_assert_eq(x.cost.cache_hits, 2);
	cr_assert_eq(s1.pasid_c.hits, s0.pasid_c.hits + 1);
	cr_assert_eq(s1.iotlb.hits, s0.iotlb.hits + 1);
	/* another PASID on the same page is another translation */
	cr_assert_eq(xl(&b, RID, true, 5, IOVA, HWM_ACC_READ, false).fault.reason, 0x59);
	/* a PASID-cache invalidation: the memo is not used, the answer is the same */
	vb_qi_put(&b, D_PC(3, 0, 0), 0, true);
	cr_assert_eq(xl(&b, RID, true, 4, IOVA, HWM_ACC_READ, false).pa, PA1);
	drain_faults(&b);
	vb_fini(&b);
}

/*
 * A second-stage root pointer beyond HAW (the context's SLPTPTR, the PASID
 * entry's SSPTPTR) is a reserved field of the entry that holds it, found
 * before any walk: legacy 0xb, scalable 0x5a, with the checker off (the fast
 * path) as with it on (the general path). (Every table below the root comes
 * from an entry whose bits 51:HAW are reserved too, so the walk's own HAW
 * test of the table it starts from is a guard only.)
 */
/* @x faulted with @want (with the checker on or off); the instance is done */
static void fault_then_fini(struct vb *b, struct hwm_xlate x, unsigned want, int checker)
{
	cr_assert_eq(x.status, HWM_XLATE_FAULT, "checker %d", checker);
	cr_assert_eq(x.fault.reason, want, "checker %d: reason %#x", checker, x.fault.reason);
	drain_faults(b);
	vb_fini(b);
}

Test(vtd_gaps, second_stage_root_beyond_haw)
{
	for (int checker = 0; checker < 2; checker++) {
		struct vtd_config c = vb_config();
		struct vb b;
		struct vb_dev d;

		c.checker = checker;
		vb_init(&b, &c, false);
		vb_enable(&b);
		vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
		vb_ss_map(&b, d.ss_root, 4, IOVA, 0x200000, 1, SS_R | SS_W);
		vb_wr64(&b, d.ctx, vb_rd64(&b, d.ctx) | 1ull << 50); /* SLPTPTR above HAW 48 */
		fault_then_fini(&b, xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, false), 0xb, checker);

		vb_init(&b, &c, true);
		vb_enable(&b);
		vb_ctx_sm(&b, RID, 1, 0, VB_CTX_PASIDE, &d);
		vb_pasid(&b, &d, 3, PGTT_SS, DID, 4, 0, 0);
		vb_wr64(&b, d.pe, vb_rd64(&b, d.pe) | 1ull << 50); /* SSPTPTR above HAW */
		fault_then_fini(&b, xl(&b, RID, true, 3, IOVA, HWM_ACC_READ, false), 0x5a, checker);
	}
}

/*
 * Injection on the fast path: with the checker off an IOTLB miss walks in
 * the fast path, unless a fault context is armed: then it must go through
 * the general path's walk, which has the injection points. Same faults with
 * the checker on and off: a paging-entry read that aborts (legacy 0x7), a W
 * bit flipped in every paging entry read (0x5 for a write).
 */
Test(vtd_gaps, injection_points_reached_with_the_checker_off)
{
	for (int checker = 0; checker < 2; checker++) {
		struct vtd_config c = vb_config();
		struct fault_ctx *fc;
		struct vtd_stats s;
		struct vb b;
		struct vb_dev d;
		struct hwm_xlate x;

		c.checker = checker;
		cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
		vb_init(&b, &c, false);
		with_fault_ctx(&b, fc, false);
		vb_enable(&b);
		vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
		vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
		vb_ss_map(&b, d.ss_root, 4, IOVA + 0x40000000, PA1, 1, SS_R | SS_W);
		/* context cached, nothing else: the next requests miss the IOTLB and walk */
		cr_assert_eq(xl(&b, RID, false, 0, 0x7000, HWM_ACC_READ, false).status,
			     HWM_XLATE_FAULT);
		drain_faults(&b);
		arm(fc, "vtd.walk_read");
		x = xl(&b, RID, false, 0, IOVA, HWM_ACC_READ, false);
		fault_disarm(fc);
		cr_assert_eq(x.status, HWM_XLATE_FAULT, "checker %d", checker);
		cr_assert_eq(x.fault.reason, 0x7, "checker %d: reason %#x", checker,
			     x.fault.reason);
		arm(fc, "vtd.pte_flip");
		x = xl(&b, RID, false, 0, IOVA + 0x40000000, HWM_ACC_WRITE, false);
		fault_disarm(fc);
		cr_assert_eq(x.status, HWM_XLATE_FAULT, "checker %d", checker);
		cr_assert_eq(x.fault.reason, 0x5, "checker %d: reason %#x", checker,
			     x.fault.reason);
		vtd_get_stats(b.iommu, &s);
		/* one aborted read, three flipped entries: the first request's walk left
		 * the top-level entry in the walk cache, so walks start a level down */
		cr_assert_eq(s.common.injected, 1 + 3, "checker %d: %lu injections", checker,
			     (unsigned long)s.common.injected);
		drain_faults(&b);
		vb_fini(&b);
		fault_ctx_destroy(fc);
	}
}
