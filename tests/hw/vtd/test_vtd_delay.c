/* SPDX-License-Identifier: MIT */
/*
 * Two model gaps closed together: the "vtd.inval_delay" hardware injection
 * (an invalidation's effect takes place only once the bus clock has advanced
 * by cfg.inval_delay_ns; a wait behind it completes only after), and the
 * protocol checker's table-reuse rule (a table page a live walk-cache entry
 * still points at is unlinked and rewritten without invalidation).
 */
#include <criterion/criterion.h>
#include <string.h>

#include <iommusim/fault.h>

#include "vtd_builder.h"

#define RID 0x0108
#define DID 3
#define IOVA 0x12345000ull
#define PA1 0x2000000ull
#define PA2 0x3000000ull
#define DELAY 5000

/* IOTLB page-selective invalidation (§6.5.2.3), written from the spec here. */
#define D_IOTLB_PSI(did) (2ull | 3ull << 4 | (uint64_t)(did) << 16)
#define D_IOTLB_DSI(did) (2ull | 2ull << 4 | (uint64_t)(did) << 16)

static uint64_t checks(struct vb *b, enum vtd_check_rule r)
{
	struct vtd_stats s;
	cr_assert_eq(vtd_get_stats(b->iommu, &s), 0);
	return s.checker[r];
}

static void setup_with_faults(struct vb *b, struct vtd_config *cfg, struct fault_ctx *fc,
			      struct vb_dev *d, uint64_t *leaf)
{
	vb_init(b, cfg, false);
	hwm_destroy(b->iommu);
	b->bus.fault = fc;
	cr_assert_eq(vtd_create(&b->cfg, &b->bus, &b->iommu), 0);
	vb_enable(b);
	vb_ctx_legacy(b, RID, DID, 4, 0, d);
	*leaf = vb_ss_map(b, d->ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
}

static void delayed_case(bool qi_sync, bool translate_first)
{
	struct vtd_config cfg = vb_config();
	struct fault_ctx *fc;
	struct vb b;
	struct vb_dev d;
	uint64_t leaf, t0;
	struct vtd_stats s;

	cfg.qi_sync = qi_sync;
	cfg.inval_delay_ns = DELAY;
	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
	setup_with_faults(&b, &cfg, fc, &d, &leaf);
	b.now = 1000;
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA1);

	/* remap, invalidate (delayed), wait */
	vb_wr64(&b, leaf, PA2 | SS_R | SS_W);
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_HW, "vtd.inval_delay"), 0);
	fault_set_probability(fc, 1000000, 42);
	vb_qi_put(&b, D_IOTLB_PSI(DID), IOVA, false);
	vb_qi_wait(&b, 7, false); /* rings IQT */
	if (!qi_sync)
		hwm_process_commands(b.iommu, 0);
	fault_disarm(fc);
	t0 = b.now;

	/* before the deadline: the stale entry is served, the wait is held */
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA1, "stale before the delay");
	b.now = t0 + DELAY - 1;
	cr_assert_eq(hwm_process_commands(b.iommu, 0), 0);
	cr_assert_eq(vb_rd32(&b, b.status), 0, "wait must not complete before the effect");
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA1, "stale until the deadline");
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 0, "IQH stays on the delayed descriptor");

	b.now = t0 + DELAY;
	if (translate_first) {
		/* the effect takes place at the deadline even before the queue runs */
		cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA2, "gone after");
		cr_assert_eq(vb_rd32(&b, b.status), 0, "retired only by processing");
	}
	cr_assert_eq(hwm_process_commands(b.iommu, 0), 2);
	cr_assert_eq(vb_rd32(&b, b.status), 7, "wait completes after the effect");
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA2, "gone after the delay");
	cr_assert_eq(vtd_get_stats(b.iommu, &s), 0);
	cr_assert_geq(s.common.injected, 1);
	cr_assert_eq(checks(&b, VTD_CHK_STALE_IOTLB), 2,
		     "only the two pre-deadline uses are stale");
	vb_fini(&b);
	fault_ctx_destroy(fc);
}

Test(vtd_delay, stale_until_deadline_sync)
{
	delayed_case(true, false);
}

Test(vtd_delay, stale_until_deadline_stepped)
{
	delayed_case(false, false);
}

Test(vtd_delay, effect_at_deadline_before_processing)
{
	delayed_case(true, true);
}

Test(vtd_delay, disarmed_is_immediate)
{
	struct vtd_config cfg = vb_config();
	struct fault_ctx *fc;
	struct vb b;
	struct vb_dev d;
	uint64_t leaf;

	cr_assert_eq(vtd_config_default().inval_delay_ns, 10000);
	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
	setup_with_faults(&b, &cfg, fc, &d, &leaf);
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA1);
	vb_wr64(&b, leaf, PA2 | SS_R | SS_W);
	vb_qi_put(&b, D_IOTLB_PSI(DID), IOVA, false);
	vb_qi_wait(&b, 9, false);
	cr_assert_eq(vb_rd32(&b, b.status), 9);
	cr_assert_eq(vb_xlate(&b, RID, IOVA, HWM_ACC_READ).pa, PA2);
	vb_fini(&b);
	fault_ctx_destroy(fc);
}

/* The PDE that points at the leaf table of @iova. */
static uint64_t pde_of(struct vb *b, const struct vb_dev *d, uint64_t iova)
{
	uint64_t l4 = d->ss_root + ((iova >> 39) & 511) * 8;
	uint64_t l3 = (vb_rd64(b, l4) & ~0xfffull) + ((iova >> 30) & 511) * 8;
	return (vb_rd64(b, l3) & ~0xfffull) + ((iova >> 21) & 511) * 8;
}

static void reuse_case(bool broken)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t pde, leaf, table, fresh;

	c.iotlb = (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU };
	vb_init(&b, &c, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	leaf = vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	vb_ss_map(&b, d.ss_root, 4, IOVA + 0x1000, PA2, 1, SS_R | SS_W);
	pde = pde_of(&b, &d, IOVA);
	table = leaf & ~0xfffull;
	vb_xlate(&b, RID, IOVA, HWM_ACC_READ); /* fills the walk cache */
	vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ); /* evicts IOVA from the IOTLB */

	/* the driver unmaps the 2 MiB region: the leaf table is unlinked... */
	vb_wr64(&b, pde, 0);
	if (!broken) {
		vb_qi_put(&b, D_IOTLB_DSI(DID), 0, false);
		vb_qi_wait(&b, 1, false);
	}
	/* ...freed, and reused as something else (here a fresh mapping's data) */
	memset(b.mem + table, 0, 4096);
	vb_wr64(&b, table + 8 * 77, 0xdead000ull | SS_R);
	fresh = vb_page(&b);
	(void)fresh;
	vb_xlate(&b, RID, IOVA, HWM_ACC_READ); /* a walk through the cached PDE */
	if (broken) {
		cr_assert_eq(checks(&b, VTD_CHK_TABLE_REUSE), 1);
		cr_assert_geq(checks(&b, VTD_CHK_STALE_PWC), 1);
	} else {
		cr_assert_eq(checks(&b, VTD_CHK_TABLE_REUSE), 0);
		cr_assert_eq(checks(&b, VTD_CHK_STALE_PWC), 0);
	}
	cr_assert_str_eq(vtd_check_rule_name(VTD_CHK_TABLE_REUSE), "table_reuse");
	cr_assert(strstr(vtd_check_rule_section(VTD_CHK_TABLE_REUSE), "6.6"));
	vb_fini(&b);
}

Test(vtd_reuse, broken_sequence_fires)
{
	reuse_case(true);
}

Test(vtd_reuse, invalidated_first_is_silent)
{
	reuse_case(false);
}

Test(vtd_reuse, table_update_in_place_is_not_reuse)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf;

	c.iotlb = (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU };
	vb_init(&b, &c, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	leaf = vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	/* a new mapping in the same (still linked) leaf table needs no invalidation */
	vb_wr64(&b, leaf + 8, PA2 | SS_R | SS_W);
	cr_assert_eq(vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ).pa, PA2);
	cr_assert_eq(checks(&b, VTD_CHK_TABLE_REUSE), 0);
	cr_assert_eq(checks(&b, VTD_CHK_STALE_PWC), 0);
	vb_fini(&b);
}
