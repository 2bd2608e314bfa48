// SPDX-License-Identifier: MIT
/*
 * Intel VT-d driver behaviours that need a particular hardware
 * configuration or option, each against the VT-d model:
 *  - a model that consumes its invalidation queue only when stepped
 *    (qi_sync = false): the driver's waits step it through the platform;
 *  - caching mode (CAP.CM): maps are followed by an invalidation, so a
 *    not-present entry the unit cached never hides a new mapping; none
 *    while the domain is detached, again once it is reattached;
 *  - lazy invalidation: unmaps are queued and flushed when the flush queue
 *    fills, when its timeout passes or on flush_iotlb_all;
 *  - fault records: more faults than recording registers, each one read,
 *    cleared and reported, overflow counted;
 *  - register-level state after probe and after remove.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/hw.h>
#include <iommusim/hw_vtd.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>

#include "iommu/intel/intel.h"
#include "iommu/iommu.h"

#define SZ_4K 4096ULL

struct ut {
	struct mach *m;
	struct plat_iommu *pi;
	struct intel_iommu *iommu;
	struct plat_dev *pd;
	struct iommu_dev *dev;
	struct iommu_domain *d;
};

static void ut_init(struct ut *u, const struct vtd_config *cfg,
		    const struct intel_iommu_options *opts)
{
	struct mach_config mc = { .mem_size = 64ULL << 20, .seed = 1 };
	struct plat_dev_config dc = { .bus = 3, .dev = 1, .fn = 2 };
	struct intel_iommu_options o;

	memset(u, 0, sizeof(*u));
	if (opts)
		o = *opts;
	else
		intel_iommu_options_default(&o);
	if (o.mode == INTEL_MODE_AUTO)
		o.mode = INTEL_MODE_LEGACY; /* the reasons these tests check are legacy mode's */
	cr_assert_eq(mach_create(&mc, &u->m), 0);
	cr_assert_eq(plat_iommu_add_vtd(u->m, cfg, &u->pi), 0);
	cr_assert_eq(intel_iommu_probe(u->pi, &o, &u->iommu), 0);
	cr_assert_eq(plat_dev_add(u->pi, &dc, &u->pd), 0);
	cr_assert_eq(intel_iommu_probe_device(u->iommu, u->pd, &u->dev), 0);
	cr_assert_eq(iommu_domain_alloc_paging(u->dev, 0, &u->d), 0);
	cr_assert_eq(iommu_attach_device(u->d, u->dev), 0);
}

static void ut_fini(struct ut *u)
{
	struct intel_iommu_stats st;

	iommu_detach_device(u->d, u->dev);
	iommu_domain_free(u->d);
	intel_iommu_get_stats(u->iommu, &st);
	cr_expect_eq(st.tables_live, 0);
	intel_iommu_release_device(u->dev);
	plat_dev_remove(u->pd);
	intel_iommu_remove(u->iommu);
	plat_iommu_remove(u->pi);
	mach_destroy(u->m);
}

static int xlate(struct ut *u, uint64_t iova, uint32_t acc, uint64_t *pa)
{
	struct hwm_xlate x;

	cr_assert_eq(plat_dev_translate(u->pd, iova, acc, PLAT_NO_PASID, &x), 0);
	if (x.status != HWM_XLATE_OK)
		return -(int)x.fault.reason;
	if (pa)
		*pa = x.pa;
	return 0;
}

static void checker_silent(struct ut *u)
{
	struct vtd_stats vs;

	cr_assert_eq(vtd_get_stats(plat_iommu_hw(u->pi), &vs), 0);
	for (unsigned r = 0; r < VTD_CHK__COUNT; r++)
		cr_expect_eq(vs.checker[r], 0, "rule %s fired", vtd_check_rule_name(r));
}

Test(intel, stepped_queue)
{
	struct vtd_config cfg = vtd_config_default();
	struct intel_iommu_stats st;
	struct vtd_stats vs;
	struct ut u;
	uint64_t pa;

	cfg.qi_sync = false;
	cfg.checker = true;
	ut_init(&u, &cfg, NULL);
	cr_assert_eq(iommu_map(u.d, 0x10000, 0x700000, 4 * SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(xlate(&u, 0x12000, HWM_ACC_READ, &pa), 0);
	cr_assert_eq(pa, 0x702000);
	cr_assert_eq(iommu_unmap(u.d, 0x10000, 4 * SZ_4K), 4 * SZ_4K);
	cr_assert_eq(xlate(&u, 0x12000, HWM_ACC_READ, NULL), -6);
	intel_iommu_get_stats(u.iommu, &st);
	cr_assert_gt(st.qi_waits, 0);
	cr_assert_eq(st.qi_errors, 0);
	vtd_get_stats(plat_iommu_hw(u.pi), &vs);
	cr_assert_eq(vs.descriptors[5], st.qi_waits, "every wait was processed by stepping");
	checker_silent(&u);
	ut_fini(&u);
}

/*
 * Unmap checks what maps the first page before it clears anything: nothing
 * (even with later pages mapped, even where a whole table would go) or a
 * larger leaf not starting there unmaps nothing; a larger leaf starting
 * there is unmapped whole.
 */
Test(intel, unmap_first_page_decides)
{
	const uint64_t sz2m = 2ULL << 20;
	struct ut u;

	ut_init(&u, NULL, NULL);
	cr_assert(u.d->pgsize_bitmap & sz2m);
	cr_assert_eq(iommu_map(u.d, 0x400000, 0x800000, sz2m, IOMMU_READ), 0);
	cr_assert_eq(iommu_unmap(u.d, 0x401000, SZ_4K), 0);
	cr_assert_eq(iommu_iova_to_phys(u.d, 0x401000), 0x801000);
	cr_assert_eq(iommu_unmap(u.d, 0x400000, SZ_4K), sz2m);
	cr_assert_eq(iommu_iova_to_phys(u.d, 0x5ff000), 0);

	cr_assert_eq(iommu_map(u.d, 0x201000, 0x900000, 2 * SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(iommu_unmap(u.d, 0x200000, 4 * SZ_4K), 0);
	cr_assert_eq(iommu_iova_to_phys(u.d, 0x202000), 0x901000);
	cr_assert_eq(iommu_unmap(u.d, 0x200000, sz2m), 0);
	cr_assert_eq(iommu_iova_to_phys(u.d, 0x201000), 0x900000);
	cr_assert_eq(iommu_unmap(u.d, 0x201000, 4 * SZ_4K),
		     4 * SZ_4K); /* the holes after the first page too */
	cr_assert_eq(iommu_iova_to_phys(u.d, 0x202000), 0);
	ut_fini(&u);
}

Test(intel, caching_mode_map_invalidates)
{
	struct vtd_config cfg = vtd_config_default();
	struct intel_iommu_stats st0, st1;
	struct ut u;
	uint64_t pa;

	cfg.cm = true;
	cfg.checker = true;
	ut_init(&u, &cfg, NULL);
	/* Touch an unmapped page: with CM the unit may cache "not present". */
	cr_assert_eq(xlate(&u, 0x40000, HWM_ACC_READ, NULL), -6);
	intel_iommu_get_stats(u.iommu, &st0);
	cr_assert_eq(iommu_map(u.d, 0x40000, 0x900000, SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);
	intel_iommu_get_stats(u.iommu, &st1);
	cr_assert_gt(st1.iotlb_psi, st0.iotlb_psi, "a map under CM is invalidated");
	cr_assert_eq(xlate(&u, 0x40000, HWM_ACC_WRITE, &pa), 0);
	cr_assert_eq(pa, 0x900000);
	cr_assert_eq(iommu_unmap(u.d, 0x40000, SZ_4K), SZ_4K);
	/* Detached: no CM unit left, a map invalidates nothing. */
	iommu_detach_device(u.d, u.dev);
	intel_iommu_get_stats(u.iommu, &st0);
	cr_assert_eq(iommu_map(u.d, 0x40000, 0x900000, SZ_4K, IOMMU_READ), 0);
	intel_iommu_get_stats(u.iommu, &st1);
	cr_assert_eq(st1.iotlb_psi, st0.iotlb_psi, "no unit, no invalidation");
	cr_assert_eq(iommu_unmap(u.d, 0x40000, SZ_4K), SZ_4K);
	/* Attached again: maps are invalidated again. */
	cr_assert_eq(iommu_attach_device(u.d, u.dev), 0);
	cr_assert_eq(xlate(&u, 0x40000, HWM_ACC_READ, NULL), -6);
	intel_iommu_get_stats(u.iommu, &st0);
	cr_assert_eq(iommu_map(u.d, 0x40000, 0x900000, SZ_4K, IOMMU_READ), 0);
	intel_iommu_get_stats(u.iommu, &st1);
	cr_assert_gt(st1.iotlb_psi, st0.iotlb_psi, "a map under CM is invalidated after reattach");
	cr_assert_eq(xlate(&u, 0x40000, HWM_ACC_READ, &pa), 0);
	cr_assert_eq(pa, 0x900000);
	cr_assert_eq(iommu_unmap(u.d, 0x40000, SZ_4K), SZ_4K);
	checker_silent(&u);
	ut_fini(&u);
}

Test(intel, lazy_flush_queue)
{
	struct vtd_config cfg = vtd_config_default();
	struct intel_iommu_options o;
	struct intel_iommu_stats st;
	struct ut u;
	unsigned i;

	intel_iommu_options_default(&o);
	o.lazy = true;
	o.fq_size = 4;
	o.fq_timeout_ns = 1000000;
	ut_init(&u, &cfg, &o);
	/* Five separate unmaps: the fifth finds the queue full and flushes it. */
	for (i = 0; i < 5; i++) {
		uint64_t iova = 0x200000ULL * (i + 1);

		cr_assert_eq(iommu_map(u.d, iova, 0x1000000 + iova, SZ_4K, IOMMU_READ), 0);
		cr_assert_eq(xlate(&u, iova, HWM_ACC_READ, NULL), 0);
		cr_assert_eq(iommu_unmap(u.d, iova, SZ_4K), SZ_4K);
	}
	intel_iommu_get_stats(u.iommu, &st);
	cr_assert_eq(st.fq_flushes, 1);
	cr_assert_eq(st.iotlb_psi, 0, "lazy mode never issues page-selective flushes");
	/* An unmap that is only queued: its stale IOTLB entry may still serve... */
	cr_assert_eq(iommu_map(u.d, 0x4000000, 0x5000000, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(xlate(&u, 0x4000000, HWM_ACC_READ, NULL), 0);
	cr_assert_eq(iommu_unmap(u.d, 0x4000000, SZ_4K), SZ_4K);
	cr_assert_eq(xlate(&u, 0x4000000, HWM_ACC_READ, NULL), 0, "served from the IOTLB");
	/* ...until the timeout passes and the next unmap flushes. */
	mach_clock_advance(u.m, 2000000);
	cr_assert_eq(iommu_map(u.d, 0x10000000, 0x3000000, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(iommu_unmap(u.d, 0x10000000, SZ_4K), SZ_4K);
	intel_iommu_get_stats(u.iommu, &st);
	cr_assert_eq(st.fq_flushes, 2);
	cr_assert_eq(xlate(&u, 0x4000000, HWM_ACC_READ, NULL), -6);
	u.d->ops->flush_iotlb_all(u.d);
	intel_iommu_get_stats(u.iommu, &st);
	cr_assert_eq(st.fq_flushes, 3);
	ut_fini(&u);
}

Test(intel, fault_records_and_overflow)
{
	struct vtd_config cfg = vtd_config_default();
	struct intel_fault_info fi;
	struct intel_iommu_stats st;
	struct hwm_fault hf;
	uint8_t b[8];
	struct ut u;
	unsigned n = 0;

	cfg.nfr = 2;
	ut_init(&u, &cfg, NULL);
	/* Each DMA ends with the interrupt delivered, so records never pile up. */
	for (unsigned i = 0; i < 6; i++) {
		cr_assert_eq(
			plat_dma_read(u.pd, 0x1000ULL * (i + 1), b, sizeof(b), PLAT_NO_PASID, &hf),
			-EFAULT);
		cr_assert_eq(hf.reason, 6);
	}
	while (intel_iommu_pop_fault(u.iommu, &fi) == 0) {
		cr_assert_eq(fi.sid, plat_dev_rid(u.pd));
		cr_assert_eq(fi.addr, 0x1000ULL * (n + 1));
		cr_assert_eq(fi.reason, 6);
		n++;
	}
	cr_assert_eq(n, 6);
	intel_iommu_get_stats(u.iommu, &st);
	cr_assert_eq(st.faults, 6);
	cr_assert_eq(st.fault_overflows, 0);
	/*
	 * Translations alone raise no delivery: three faults into two records
	 * overflow (PFO), the third is lost, and the handler clears PFO.
	 */
	for (unsigned i = 0; i < 3; i++) {
		struct hwm_xlate x;
		struct hwm_req rq = { .rid = plat_dev_rid(u.pd),
				      .access = HWM_ACC_WRITE,
				      .iova = 0x100000ULL + i * SZ_4K };

		cr_assert_eq(hwm_translate(plat_iommu_hw(u.pi), &rq, &x), 0);
		cr_assert_eq(x.status, HWM_XLATE_FAULT);
		cr_assert_eq(x.fault.reason, 5);
	}
	n = 0;
	while (intel_iommu_pop_fault(u.iommu, &fi) == 0) {
		cr_assert_eq(fi.reason, 5);
		cr_assert_not(fi.read);
		n++;
	}
	cr_assert_eq(n, 2);
	intel_iommu_get_stats(u.iommu, &st);
	cr_assert_eq(st.fault_overflows, 1);
	{
		uint64_t fsts = 0;

		hwm_mmio_read(plat_iommu_hw(u.pi), 0x34, 4, &fsts);
		cr_assert_eq(fsts & 3, 0, "PFO and PPF clear, fsts=%#llx",
			     (unsigned long long)fsts);
	}
	ut_fini(&u);
}

Test(intel, remove_disables_translation)
{
	struct mach_config mc = { .mem_size = 16ULL << 20 };
	struct plat_iommu *pi;
	struct intel_iommu *ii;
	struct mach_mem_stats a, b;
	struct mach *m;
	uint64_t gsts = 0;

	cr_assert_eq(mach_create(&mc, &m), 0);
	cr_assert_eq(plat_iommu_add_vtd(m, NULL, &pi), 0);
	mach_mem_stats(m, &a);
	cr_assert_eq(intel_iommu_probe(pi, NULL, &ii), 0);
	intel_iommu_remove(ii);
	hwm_mmio_read(plat_iommu_hw(pi), 0x1c, 4, &gsts);
	cr_assert_eq(gsts & ((1u << 31) | (1u << 26)), 0, "TE and QIE off");
	mach_mem_stats(m, &b);
	cr_assert_eq(a.free_frames, b.free_frames, "root, queue and status frames freed");
	plat_iommu_remove(pi);
	mach_destroy(m);
}

Test(intel, probe_refuses_other_vendor_config)
{
	struct mach_config mc = { .mem_size = 16ULL << 20 };
	struct vtd_config cfg = vtd_config_default();
	struct plat_iommu *pi;
	struct intel_iommu *ii;
	struct mach *m;

	cr_assert_eq(mach_create(&mc, &m), 0);
	cfg.qi = false;
	cfg.scalable = false; /* scalable mode requires QI */
	cr_assert_eq(plat_iommu_add_vtd(m, &cfg, &pi), 0);
	cr_assert_eq(intel_iommu_probe(pi, NULL, &ii), -ENODEV, "no queued invalidation");
	plat_iommu_remove(pi);
	mach_destroy(m);
}

/*
 * A wait descriptor that never completes (model injection vtd.wait_stall at
 * 100%): the unmap's sync gives up after the timeout instead of hanging,
 * the table page it freed is kept (the hardware may still walk it), and once
 * the stall clears the queue moves on and the next operations work.
 */
Test(intel, stalled_wait_times_out)
{
	struct vtd_config cfg = vtd_config_default();
	struct intel_iommu_options o;
	struct intel_iommu_stats st0, st1;
	struct fault_ctx *fc;
	struct ut u;

	intel_iommu_options_default(&o);
	o.timeout_ns = 200000; /* 200 us of simulated time: 2000 polls */
	ut_init(&u, &cfg, &o);
	fc = mach_fault(u.m);
	cr_assert_eq(iommu_map(u.d, 0x200000, 0x800000, 16 * SZ_4K, IOMMU_READ), 0);
	intel_iommu_get_stats(u.iommu, &st0);
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALL, "vtd.wait_stall"), 0);
	fault_set_probability(fc, 1000000, 1);
	/* The whole 2 MiB: the level-1 table is unlinked and must wait for the flush. */
	cr_assert_eq(iommu_unmap(u.d, 0x200000, 0x200000), 0x200000);
	fault_disarm(fc);
	intel_iommu_get_stats(u.iommu, &st1);
	cr_assert_eq(st1.tables_live, st0.tables_live, "the unlinked table is not freed");
	cr_assert_eq(st1.qi_waits, st0.qi_waits, "the wait did not complete");
	/* Stall over: the queue drains and a new map/unmap works end to end. */
	cr_assert_eq(iommu_map(u.d, 0x600000, 0xa00000, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(xlate(&u, 0x600000, HWM_ACC_READ, NULL), 0);
	cr_assert_eq(iommu_unmap(u.d, 0x600000, SZ_4K), SZ_4K);
	cr_assert_eq(xlate(&u, 0x600000, HWM_ACC_READ, NULL), -6);
	intel_iommu_get_stats(u.iommu, &st1);
	cr_assert_gt(st1.qi_waits, st0.qi_waits);
	ut_fini(&u); /* frees the stranded table: tables_live back to 0 */
}
