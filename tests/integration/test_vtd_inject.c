// SPDX-License-Identifier: MIT
/*
 * Hardware fault injection against the Intel VT-d driver: for each injection
 * point of the VT-d model (hw-models/vtd, FAULT_CLASS_HW) the driver
 * survives, and the model says what it did (hw:inject in the trace).
 *
 *   vtd.walk_read      a structure read aborts: the DMA faults, the record
 *                      (root / paging-entry access reason) reaches the
 *                      driver's fault log and iommu:io_page_fault; with the
 *                      point disarmed the same DMA works (nothing cached).
 *   vtd.pte_flip       a paging entry comes back with W flipped: the write
 *                      faults (reason 5) and is reported; the corrupted
 *                      entry stays cached until the driver's domain flush,
 *                      after which the write lands.
 *   vtd.inval_drop     the unmap's invalidation completes without effect.
 *                      By definition software cannot see this (the wait
 *                      completes): the stale IOTLB entry is served, the
 *                      model's protocol checker flags its use (stale IOTLB
 *                      rule), and the driver's next flush makes the
 *                      translation correct.
 *   vtd.wait_stall     the wait never completes: map (caching mode) and
 *                      attach fail cleanly with -ETIMEDOUT, nothing leaks
 *                      (frames, tables), and once the stall clears the
 *                      queue drains and both work. With every allocation
 *                      failing as well, unmaps whose sync (strict) or
 *                      flush (lazy) times out keep all their table frames
 *                      (none goes back early, even after an RCU barrier)
 *                      and domain free returns every one; when the
 *                      freelist itself cannot be allocated, the pages the
 *                      synchronous flush could not invalidate are
 *                      abandoned, counted in tables_leaked, not tables_live.
 *   vtd.fault_overflow the fault is dropped as an overflow: the driver sees
 *                      PFO, counts and clears it, and the next fault is
 *                      recorded and reported normally.
 *   vtd.prq_overflow   a page request is dropped (PRS.PRO): the driver's
 *                      page request handler clears PRO once its queue is
 *                      empty and the next request reaches its log.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <urcu-bp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/hw.h>
#include <iommusim/hw_vtd.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>
#include <iommusim/trace.h>

#include "iommu/intel/intel.h"
#include "iommu/iommu.h"

#define SZ_4K (1ULL << 12)

/* The test's own reading of the spec (Appendix A, §11.4.7.1). */
#define FR_NO_WRITE 5
#define FR_NO_READ 6
#define FR_PTE_ACCESS 7
#define FR_ROOT_ACCESS 8
#define REG_FSTS 0x34
#define FSTS_PFO 0x1
#define REG_PRS 0xdc
#define PRS_PRO 0x2

struct ienv {
	struct mach *m;
	struct plat_iommu *pi;
	struct intel_iommu *iommu;
	struct plat_dev *pd;
	struct iommu_dev *dev;
	struct iommu_domain *d;
	struct fault_ctx *fc;
	uint64_t free_frames0; /* before the driver probed the unit */
	uint64_t frames_abandoned; /* table frames the test expects never back */
};

static void ienv_init_opts(struct ienv *e, const struct vtd_config *cfg, bool pri, bool attach,
			   bool lazy)
{
	struct mach_config mc = { .mem_size = 64ULL << 20, .seed = 7 };
	struct plat_dev_config dc = { .bus = 1, .dev = 4, .fn = 0, .ats = pri, .pri = pri };
	struct intel_iommu_options o;
	struct mach_mem_stats ms;

	memset(e, 0, sizeof(*e));
	intel_iommu_options_default(&o);
	o.timeout_ns = 200000; /* 200 us simulated: a stalled wait gives up quickly */
	o.mode = INTEL_MODE_LEGACY; /* the reasons below are legacy mode's */
	o.lazy = lazy;
	cr_assert_eq(mach_create(&mc, &e->m), 0);
	mach_mem_stats(e->m, &ms);
	e->free_frames0 = ms.free_frames;
	cr_assert_eq(plat_iommu_add_vtd(e->m, cfg, &e->pi), 0);
	cr_assert_eq(intel_iommu_probe(e->pi, &o, &e->iommu), 0);
	cr_assert_eq(plat_dev_add(e->pi, &dc, &e->pd), 0);
	cr_assert_eq(intel_iommu_probe_device(e->iommu, e->pd, &e->dev), 0);
	cr_assert_eq(iommu_domain_alloc_paging(e->dev, 0, &e->d), 0);
	if (attach)
		cr_assert_eq(iommu_attach_device(e->d, e->dev), 0);
	e->fc = mach_fault(e->m);
	cr_assert_geq(
		trace_enable_pattern(mach_trace(e->m),
				     "hw:inject,hw:fault_record,hw:checker,iommu:io_page_fault"),
		4);
}

static void ienv_init(struct ienv *e, const struct vtd_config *cfg, bool pri, bool attach)
{
	ienv_init_opts(e, cfg, pri, attach, false);
}

static void ienv_fini(struct ienv *e)
{
	struct intel_iommu_stats st;
	struct mach_mem_stats ms;

	fault_disarm(e->fc);
	if (e->dev->domain)
		iommu_detach_device(e->d, e->dev);
	iommu_domain_free(e->d);
	intel_iommu_get_stats(e->iommu, &st);
	cr_expect_eq(st.tables_live, 0, "table pages leaked");
	intel_iommu_release_device(e->dev);
	plat_dev_remove(e->pd);
	intel_iommu_remove(e->iommu);
	/* Every frame of the driver (tables, queues, context tables) is back. */
	mach_mem_stats(e->m, &ms);
	cr_expect_eq(ms.free_frames, e->free_frames0 - e->frames_abandoned, "frames leaked: %lld",
		     (long long)(e->free_frames0 - e->frames_abandoned - ms.free_frames));
	plat_iommu_remove(e->pi);
	mach_destroy(e->m);
}

/* Arm @point at 100% (every hit fires) until fault_disarm. */
static void arm(struct ienv *e, const char *point)
{
	cr_assert_eq(fault_set_filter(e->fc, FAULT_CLASS_HW, point), 0);
	fault_set_probability(e->fc, 1000000, 1);
}

/* The trace so far as ftrace text (drains the buffers); caller frees. */
static char *trace_text(struct ienv *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_geq(trace_flush_text(mach_trace(e->m), f), 0);
	fclose(f);
	return buf;
}

static void expect_in_trace(const char *text, const char *needle)
{
	cr_expect_not_null(strstr(text, needle), "trace lacks \"%s\":\n%s", needle, text);
}

static uint64_t vstat_checker(struct ienv *e, enum vtd_check_rule r)
{
	struct vtd_stats vs;

	cr_assert_eq(vtd_get_stats(plat_iommu_hw(e->pi), &vs), 0);
	return vs.checker[r];
}

static uint32_t rd32(struct ienv *e, uint64_t off)
{
	uint64_t v = 0;

	cr_assert_eq(hwm_mmio_read(plat_iommu_hw(e->pi), off, 4, &v), 0);
	return (uint32_t)v;
}

/* A DMA that must fault; the model's record, the driver's log and the report agree. */
static void dma_faults(struct ienv *e, uint64_t iova, bool write, uint32_t reason)
{
	struct intel_fault_info fi;
	struct hwm_fault f;
	uint32_t word = 0x5a5a5a5a;
	int rc;

	memset(&f, 0, sizeof(f));
	rc = write ? plat_dma_write(e->pd, iova, &word, 4, PLAT_NO_PASID, &f)
		   : plat_dma_read(e->pd, iova, &word, 4, PLAT_NO_PASID, &f);
	cr_assert_eq(rc, -EFAULT, "DMA at 0x%llx: %d", (unsigned long long)iova, rc);
	cr_assert_eq(f.vendor, HWM_VENDOR_VTD);
	cr_assert_eq(f.reason, reason, "reason 0x%x, expected 0x%x", f.reason, reason);
	cr_assert(f.recorded);
	cr_assert_eq(intel_iommu_pop_fault(e->iommu, &fi), 0, "the driver read the record");
	cr_expect_eq(fi.reason, reason);
	cr_expect_eq(fi.sid, plat_dev_rid(e->pd));
	cr_expect_eq(fi.addr, iova & ~0xfffULL);
	cr_expect_eq(fi.read, !write);
	cr_expect_eq(intel_iommu_pop_fault(e->iommu, &fi), -ENOENT);
}

static void dma_ok(struct ienv *e, uint64_t iova, bool write, uint32_t val)
{
	uint32_t word = val;
	int rc;

	rc = write ? plat_dma_write(e->pd, iova, &word, 4, PLAT_NO_PASID, NULL)
		   : plat_dma_read(e->pd, iova, &word, 4, PLAT_NO_PASID, NULL);
	cr_assert_eq(rc, 0, "DMA at 0x%llx: %d", (unsigned long long)iova, rc);
	if (!write)
		cr_expect_eq(word, val, "read 0x%x, expected 0x%x", word, val);
}

static struct vtd_config checked_cfg(void)
{
	struct vtd_config c = vtd_config_default();

	c.checker = true;
	return c;
}

/* ----------------------------------------------------------- walk_read */

Test(vtd_inject, walk_read_reports_and_recovers)
{
	struct vtd_config cfg = checked_cfg();
	struct ienv e;
	uint32_t v = 0x11223344;
	char *t;

	ienv_init(&e, &cfg, false, true);
	cr_assert_eq(iommu_map(e.d, 0x100000, 0x400000, 2 * SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);
	cr_assert_eq(mach_phys_write(e.m, 0x400000, &v, 4), 0);
	cr_assert_eq(mach_phys_write(e.m, 0x401000, &v, 4), 0);

	/* Cold caches: the first structure read is the root entry (§9.1). */
	arm(&e, "vtd.walk_read");
	dma_faults(&e, 0x100000, false, FR_ROOT_ACCESS);
	fault_disarm(e.fc);
	dma_ok(&e, 0x100000, false, v); /* an aborted walk leaves nothing cached */

	/* Context cached, next page not in the IOTLB: the paging-entry read aborts. */
	arm(&e, "vtd.walk_read");
	dma_faults(&e, 0x101000, true, FR_PTE_ACCESS);
	fault_disarm(e.fc);
	dma_ok(&e, 0x101000, false, v);

	t = trace_text(&e);
	expect_in_trace(t, "hw:inject: vendor=vtd point=vtd.walk_read");
	expect_in_trace(t, "hw:fault_record: vendor=vtd rid=0x120");
	expect_in_trace(t, "io_page_fault: IOMMU:intel-iommu 0000:01:04.0 iova=0x0000000000100000");
	expect_in_trace(t, "io_page_fault: IOMMU:intel-iommu 0000:01:04.0 iova=0x0000000000101000");
	free(t);
	cr_assert_eq(iommu_unmap(e.d, 0x100000, 2 * SZ_4K), 2 * SZ_4K);
	dma_faults(&e, 0x100000, false, FR_NO_READ);
	cr_expect_eq(vstat_checker(&e, VTD_CHK_RSVD_ENTRY), 0);
	ienv_fini(&e);
}

/* ------------------------------------------------------------ pte_flip */

Test(vtd_inject, pte_flip_reports_and_flush_recovers)
{
	struct vtd_config cfg = vtd_config_default();
	struct intel_iommu_stats st0, st1;
	struct ienv e;
	uint32_t v = 0;
	char *t;

	ienv_init(&e, &cfg, false, true);
	cr_assert_eq(iommu_map(e.d, 0x300000, 0x500000, SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);
	/* The first paging-entry read (the top-level entry) comes back with W clear. */
	cr_assert_eq(fault_set_filter(e.fc, FAULT_CLASS_HW, "vtd.pte_flip"), 0);
	fault_set_nth(e.fc, 1);
	dma_faults(&e, 0x300000, true, FR_NO_WRITE);
	cr_assert(fault_nth_fired(e.fc));
	fault_disarm(e.fc);
	/* The corrupted entry sits in the paging-structure cache: still no write. */
	dma_faults(&e, 0x300000, true, FR_NO_WRITE);
	/* The driver's domain flush (DSI, paging-structure caches too) recovers. */
	intel_iommu_get_stats(e.iommu, &st0);
	e.d->ops->flush_iotlb_all(e.d);
	intel_iommu_get_stats(e.iommu, &st1);
	cr_assert_gt(st1.iotlb_dsi, st0.iotlb_dsi);
	dma_ok(&e, 0x300000, true, 0xcafef00d);
	cr_assert_eq(mach_phys_read(e.m, 0x500000, &v, 4), 0);
	cr_assert_eq(v, 0xcafef00d);
	t = trace_text(&e);
	expect_in_trace(t, "hw:inject: vendor=vtd point=vtd.pte_flip");
	expect_in_trace(t, "io_page_fault: IOMMU:intel-iommu 0000:01:04.0 iova=0x0000000000300000");
	free(t);
	cr_assert_eq(iommu_unmap(e.d, 0x300000, SZ_4K), SZ_4K);
	ienv_fini(&e);
}

/* ---------------------------------------------------------- inval_drop */

Test(vtd_inject, inval_drop_caught_by_checker_and_next_flush_recovers)
{
	struct vtd_config cfg = checked_cfg();
	struct intel_iommu_stats st0, st1;
	struct ienv e;
	uint32_t v = 0x600dcafe;
	char *t;

	ienv_init(&e, &cfg, false, true);
	cr_assert_eq(iommu_map(e.d, 0x800000, 0x600000, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(mach_phys_write(e.m, 0x600000, &v, 4), 0);
	dma_ok(&e, 0x800000, false, v); /* IOTLB warm */

	intel_iommu_get_stats(e.iommu, &st0);
	arm(&e, "vtd.inval_drop");
	cr_assert_eq(iommu_unmap(e.d, 0x800000, SZ_4K), SZ_4K);
	fault_disarm(e.fc);
	intel_iommu_get_stats(e.iommu, &st1);
	/* Invisible to software: the invalidation and its wait completed. */
	cr_assert_eq(st1.qi_waits, st0.qi_waits + 1);
	cr_assert_eq(st1.qi_errors, st0.qi_errors);
	cr_assert_eq(iommu_iova_to_phys(e.d, 0x800000), 0);
	/* The dropped invalidation left the entry: served stale, flagged by the checker. */
	cr_assert_eq(vstat_checker(&e, VTD_CHK_STALE_IOTLB), 0);
	dma_ok(&e, 0x800000, false, v);
	cr_assert_gt(vstat_checker(&e, VTD_CHK_STALE_IOTLB), 0, "the checker saw the stale use");
	/* The driver's next flush of the domain makes the translation correct. */
	e.d->ops->flush_iotlb_all(e.d);
	dma_faults(&e, 0x800000, false, FR_NO_READ);
	t = trace_text(&e);
	expect_in_trace(t, "hw:inject: vendor=vtd point=vtd.inval_drop");
	expect_in_trace(t, "hw:checker: vendor=vtd rule=");
	free(t);
	ienv_fini(&e);
}

/* A dropped invalidation on a later unmap of the same range: the next map+unmap cycle fixes it. */
Test(vtd_inject, inval_drop_then_next_sync_invalidates)
{
	struct vtd_config cfg = vtd_config_default();
	struct ienv e;
	uint32_t v1 = 0x1, v2 = 0x2;

	ienv_init(&e, &cfg, false, true);
	cr_assert_eq(mach_phys_write(e.m, 0x600000, &v1, 4), 0);
	cr_assert_eq(mach_phys_write(e.m, 0x700000, &v2, 4), 0);
	cr_assert_eq(iommu_map(e.d, 0x900000, 0x600000, SZ_4K, IOMMU_READ), 0);
	dma_ok(&e, 0x900000, false, v1);
	arm(&e, "vtd.inval_drop");
	cr_assert_eq(iommu_unmap(e.d, 0x900000, SZ_4K), SZ_4K);
	fault_disarm(e.fc);
	dma_ok(&e, 0x900000, false, v1); /* stale */
	/* The range is reused; its unmap's page-selective invalidation drops the stale entry. */
	cr_assert_eq(iommu_map(e.d, 0x900000, 0x700000, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(iommu_unmap(e.d, 0x900000, SZ_4K), SZ_4K);
	dma_faults(&e, 0x900000, false, FR_NO_READ);
	ienv_fini(&e);
}

/* ---------------------------------------------------------- wait_stall */

Test(vtd_inject, wait_stall_map_and_attach_fail_cleanly)
{
	struct vtd_config cfg = vtd_config_default();
	struct ienv e;
	uint32_t v = 0x77;
	char *t;

	cfg.cm = true; /* every map and attach waits for an invalidation */
	ienv_init(&e, &cfg, false, false);
	/* Attach: the caching-mode flush never completes; the device stays blocked. */
	arm(&e, "vtd.wait_stall");
	cr_assert_eq(iommu_attach_device(e.d, e.dev), -ETIMEDOUT);
	fault_disarm(e.fc);
	cr_assert_null(e.dev->domain);
	cr_assert_eq(plat_dma_read(e.pd, 0x100000, &v, 4, PLAT_NO_PASID, NULL), -EFAULT);
	while (intel_iommu_pop_fault(e.iommu, &(struct intel_fault_info){ 0 }) == 0)
		;
	/* Stall over: attach works. */
	cr_assert_eq(iommu_attach_device(e.d, e.dev), 0);

	/* Map: the CM flush after the PTE write times out; the map is undone. */
	arm(&e, "vtd.wait_stall");
	cr_assert_eq(iommu_map(e.d, 0x200000, 0x400000, 0x200000 + SZ_4K, IOMMU_READ), -ETIMEDOUT);
	fault_disarm(e.fc);
	cr_assert_eq(iommu_iova_to_phys(e.d, 0x200000), 0, "a failed map leaves nothing mapped");
	cr_assert_eq(iommu_iova_to_phys(e.d, 0x400000), 0);
	/* The queue drains; the same map now works end to end. */
	cr_assert_eq(mach_phys_write(e.m, 0x400000, &v, 4), 0);
	cr_assert_eq(iommu_map(e.d, 0x200000, 0x400000, SZ_4K, IOMMU_READ), 0);
	dma_ok(&e, 0x200000, false, v);
	cr_assert_eq(iommu_unmap(e.d, 0x200000, SZ_4K), SZ_4K);
	dma_faults(&e, 0x200000, false, FR_NO_READ);
	t = trace_text(&e);
	expect_in_trace(t, "hw:inject: vendor=vtd point=vtd.wait_stall");
	free(t);
	ienv_fini(&e); /* stranded tables freed with the domain; frames back to the baseline */
}

/*
 * A wait that times out while every allocation fails too (FAULT_CLASS_HW |
 * FAULT_CLASS_ALLOC at 100%, "vtd.inval_delay" made a no-op by a zero
 * delay). Each region below holds STRAND_TABLES table pages (a level-2 table
 * and one level-1 table per 2 MiB slot used) unlinked together by one 1 GiB
 * unmap, more than a freelist's first capacity, so keeping several such
 * lists would need memory if they were merged into one. None of their
 * frames may go back to the machine while the stall lasts (checked after
 * rcu_barrier(), so a callback queued by mistake would have run), and
 * domain free returns all of them.
 */
#define STRAND_SLOTS 20
#define STRAND_TABLES (STRAND_SLOTS + 1)
#define STRAND_REGIONS 3
#define STRAND_BASE(r) ((uint64_t)((r) + 1) << 30)

static void map_region(struct ienv *e, unsigned r)
{
	unsigned k;

	for (k = 0; k < STRAND_SLOTS; k++)
		cr_assert_eq(iommu_map(e->d, STRAND_BASE(r) + ((uint64_t)k << 21),
				       0x400000 + k * SZ_4K, SZ_4K, IOMMU_READ),
			     0);
}

static void arm_stall_and_nomem(struct ienv *e)
{
	cr_assert_eq(fault_set_filter(e->fc, FAULT_CLASS_HW | FAULT_CLASS_ALLOC, NULL), 0);
	fault_set_probability(e->fc, 1000000, 1);
}

/* No table frame went back since @st0 / @free0 (after every queued RCU callback ran). */
static void expect_nothing_released(struct ienv *e, const struct intel_iommu_stats *st0,
				    uint64_t free0, unsigned r)
{
	struct intel_iommu_stats st;
	struct mach_mem_stats ms;

	rcu_barrier();
	intel_iommu_get_stats(e->iommu, &st);
	mach_mem_stats(e->m, &ms);
	cr_assert_eq(st.tables_live, st0->tables_live, "region %u: %lld table pages released early",
		     r, (long long)(st0->tables_live - st.tables_live));
	cr_assert_eq(ms.free_frames, free0, "region %u: %lld frames released early", r,
		     (long long)(ms.free_frames - free0));
	cr_assert_eq(st.qi_waits, st0->qi_waits, "region %u: the wait did not complete", r);
	cr_assert_eq(st.tables_leaked, 0);
}

static void stall_nomem_strands(bool lazy)
{
	struct vtd_config cfg = vtd_config_default();
	struct iommu_iotlb_gather g;
	struct intel_iommu_stats st0, st;
	struct mach_mem_stats ms;
	struct ienv e;
	unsigned r;
	uint32_t v = 0x99;
	char *t;

	cfg.inval_delay_ns = 0; /* "vtd.inval_delay" fires but holds nothing */
	ienv_init_opts(&e, &cfg, false, true, lazy);
	for (r = 0; r < STRAND_REGIONS; r++)
		map_region(&e, r);
	intel_iommu_get_stats(e.iommu, &st0);
	mach_mem_stats(e.m, &ms);
	for (r = 0; r < STRAND_REGIONS; r++) {
		iommu_iotlb_gather_init(&g);
		cr_assert_eq(iommu_unmap_fast(e.d, STRAND_BASE(r), 1ULL << 30, &g), 1ULL << 30);
		if (lazy) {
			iommu_iotlb_sync(e.d, &g); /* queued: nothing waited for yet */
			arm_stall_and_nomem(&e);
			e.d->ops->flush_iotlb_all(e.d);
		} else {
			arm_stall_and_nomem(&e);
			iommu_iotlb_sync(e.d, &g);
		}
		fault_disarm(e.fc);
		cr_assert_eq(iommu_iova_to_phys(e.d, STRAND_BASE(r)), 0);
		expect_nothing_released(&e, &st0, ms.free_frames, r);
	}
	t = trace_text(&e);
	expect_in_trace(t, "hw:inject: vendor=vtd point=vtd.wait_stall");
	free(t);
	/* Stall over: the queue drains, a map / DMA / unmap works end to end. */
	cr_assert_eq(mach_phys_write(e.m, 0x800000, &v, 4), 0);
	cr_assert_eq(iommu_map(e.d, 0x200000, 0x800000, SZ_4K, IOMMU_READ), 0);
	dma_ok(&e, 0x200000, false, v);
	cr_assert_eq(iommu_unmap(e.d, 0x200000, SZ_4K), SZ_4K);
	if (lazy)
		e.d->ops->flush_iotlb_all(e.d);
	dma_faults(&e, 0x200000, false, FR_NO_READ);
	intel_iommu_get_stats(e.iommu, &st);
	cr_assert_gt(st.qi_waits, st0.qi_waits);
	cr_assert_geq(st.tables_live, STRAND_REGIONS * STRAND_TABLES, "stranded pages still held");
	ienv_fini(&e); /* every stranded page freed with the domain; frames back to the baseline */
}

Test(vtd_inject, wait_stall_nomem_strict_strands_every_table)
{
	stall_nomem_strands(false);
}

Test(vtd_inject, wait_stall_nomem_lazy_strands_every_table)
{
	stall_nomem_strands(true);
}

/*
 * The freelist itself cannot be allocated (every allocation fails) and the
 * synchronous flush that would let a page go at once times out too: each
 * unlinked page is abandoned on purpose (the hardware may still walk it).
 * It leaves tables_live, is counted in tables_leaked, and its frame is
 * never returned; everything else comes back at domain free.
 */
Test(vtd_inject, wait_stall_nomem_freelist_abandons_counted)
{
	struct vtd_config cfg = vtd_config_default();
	struct intel_iommu_stats st0, st;
	struct mach_mem_stats ms0, ms;
	struct ienv e;

	cfg.inval_delay_ns = 0;
	ienv_init(&e, &cfg, false, true);
	map_region(&e, 0);
	intel_iommu_get_stats(e.iommu, &st0);
	mach_mem_stats(e.m, &ms0);
	arm_stall_and_nomem(&e);
	cr_assert_eq(iommu_unmap(e.d, STRAND_BASE(0), 1ULL << 30), 1ULL << 30);
	fault_disarm(e.fc);
	rcu_barrier();
	intel_iommu_get_stats(e.iommu, &st);
	mach_mem_stats(e.m, &ms);
	cr_assert_eq(st.tables_leaked, STRAND_TABLES);
	cr_assert_eq(st.tables_live, st0.tables_live - STRAND_TABLES);
	cr_assert_eq(ms.free_frames, ms0.free_frames, "no abandoned frame went back");
	e.frames_abandoned = STRAND_TABLES;
	ienv_fini(&e); /* tables_live 0; every frame but the abandoned ones back */
}

/* ------------------------------------------------------ fault_overflow */

Test(vtd_inject, fault_overflow_counted_cleared_and_recording_resumes)
{
	struct vtd_config cfg = checked_cfg();
	struct intel_iommu_stats st0, st1;
	struct intel_fault_info fi;
	struct hwm_fault f;
	struct ienv e;
	uint32_t v;
	char *t;

	ienv_init(&e, &cfg, false, true);
	intel_iommu_get_stats(e.iommu, &st0);
	arm(&e, "vtd.fault_overflow");
	memset(&f, 0, sizeof(f));
	cr_assert_eq(plat_dma_read(e.pd, 0xa00000, &v, 4, PLAT_NO_PASID, &f), -EFAULT);
	fault_disarm(e.fc);
	cr_assert_eq(f.reason, FR_NO_READ);
	cr_assert_not(f.recorded, "dropped as an overflow");
	cr_assert_eq(intel_iommu_pop_fault(e.iommu, &fi), -ENOENT);
	intel_iommu_get_stats(e.iommu, &st1);
	cr_assert_eq(st1.fault_overflows, st0.fault_overflows + 1, "the handler saw PFO");
	cr_assert_gt(st1.fault_irqs, st0.fault_irqs);
	cr_assert_eq(rd32(&e, REG_FSTS) & FSTS_PFO, 0, "and cleared it");
	/* Recording resumes. */
	dma_faults(&e, 0xa01000, true, FR_NO_WRITE);
	t = trace_text(&e);
	expect_in_trace(t, "hw:inject: vendor=vtd point=vtd.fault_overflow");
	expect_in_trace(t, "io_page_fault: IOMMU:intel-iommu 0000:01:04.0 iova=0x0000000000a01000");
	free(t);
	ienv_fini(&e);
}

/* -------------------------------------------------------- prq_overflow */

Test(vtd_inject, prq_overflow_cleared_and_requests_resume)
{
	struct vtd_config cfg = checked_cfg();
	struct intel_iommu_stats st0, st1;
	struct intel_page_req_info pr;
	struct ienv e;
	char *t;

	ienv_init(&e, &cfg, true, true);
	intel_iommu_get_stats(e.iommu, &st0);
	arm(&e, "vtd.prq_overflow");
	cr_assert_eq(plat_dev_page_request(e.pd, 0x123000, PLAT_NO_PASID, true, true, 5), -ENOSPC);
	fault_disarm(e.fc);
	cr_assert_eq(intel_iommu_pop_page_request(e.iommu, &pr), -ENOENT);
	intel_iommu_get_stats(e.iommu, &st1);
	cr_assert_eq(st1.prq_overflows, st0.prq_overflows + 1);
	cr_assert_eq(rd32(&e, REG_PRS) & PRS_PRO, 0, "PRO cleared once the queue is empty");
	/* The unit accepts requests again and they reach the driver. */
	cr_assert_eq(plat_dev_page_request(e.pd, 0x456000, PLAT_NO_PASID, false, true, 9), 0);
	cr_assert_eq(intel_iommu_pop_page_request(e.iommu, &pr), 0);
	cr_expect_eq(pr.rid, plat_dev_rid(e.pd));
	cr_expect_eq(pr.addr, 0x456000);
	cr_expect(pr.read && !pr.write && pr.last);
	cr_expect_eq(pr.prgi, 9);
	cr_expect_not(pr.pasid_present);
	cr_assert_eq(intel_iommu_pop_page_request(e.iommu, &pr), -ENOENT);
	intel_iommu_get_stats(e.iommu, &st1);
	cr_expect_eq(st1.prq_requests, st0.prq_requests + 1);
	/* Many requests: the handler keeps draining, nothing overflows. */
	for (unsigned i = 0; i < 300; i++)
		cr_assert_eq(plat_dev_page_request(e.pd, 0x1000ULL * i, PLAT_NO_PASID, true, true,
						   (uint16_t)(i & 0x1ff)),
			     0, "request %u", i);
	intel_iommu_get_stats(e.iommu, &st1);
	cr_expect_eq(st1.prq_requests, st0.prq_requests + 301);
	cr_expect_eq(st1.prq_overflows, st0.prq_overflows + 1);
	t = trace_text(&e);
	expect_in_trace(t, "hw:inject: vendor=vtd point=vtd.prq_overflow");
	free(t);
	ienv_fini(&e);
}
