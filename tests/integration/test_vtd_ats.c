// SPDX-License-Identifier: MIT
/*
 * ATS with the Intel VT-d driver (src/iommu/intel/) against the VT-d model:
 * device TLBs (VT-d §4) and device-TLB invalidation (§6.5.2.5).
 *
 *  - with opts.ats and ECAP.DT, an ATS-capable endpoint gets translation
 *    requests allowed (legacy TT = 01, scalable DTE) and its ATS Enable bit
 *    set; its DMA is served from the device TLB (the model's devtlb stats);
 *  - each unmap's IOTLB invalidation is followed by a type 3 descriptor per
 *    ATS endpoint of the domain, with the range encoded in the address
 *    (S bit): unmapped pages fault, neighbours outside the block stay in
 *    the device TLB;
 *  - with the device-TLB invalidation skipped (a testing option), the
 *    device keeps translating an unmapped page from its stale device TLB:
 *    what the invalidation prevents;
 *  - detach invalidates the whole device TLB; release turns ATS off;
 *  - without ECAP.DT the driver leaves ATS off.
 * Both modes (legacy, scalable) where the behaviour is mode-independent.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <iommusim/hw.h>
#include <iommusim/hw_vtd.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>

#include "iommu/intel/intel.h"
#include "iommu/iommu.h"

#define SZ_4K (1ULL << 12)
#define DESC_DEVTLB 3 /* §6.5.2.5, the test's own reading */

/* Fault reasons of a read of an unmapped page (Appendix A). */
#define FR_NO_READ 0x6 /* legacy */
#define FR_SM_SS_NOT_PRESENT 0x79 /* scalable, second stage */

struct aenv {
	struct mach *m;
	struct plat_iommu *pi;
	struct intel_iommu *iommu;
	struct plat_dev *pd[3];
	struct iommu_dev *dev[3];
	unsigned ndev;
	enum intel_iommu_mode mode;
};

/* @ats_mask: which devices have the ATS capability. */
static void aenv_init(struct aenv *e, const struct vtd_config *cfg,
		      const struct intel_iommu_options *o, unsigned ndev, unsigned ats_mask)
{
	struct mach_config mc = { .mem_size = 64ULL << 20, .seed = 3 };
	unsigned i;

	memset(e, 0, sizeof(*e));
	e->mode = o->mode;
	cr_assert_eq(mach_create(&mc, &e->m), 0);
	cr_assert_eq(plat_iommu_add_vtd(e->m, cfg, &e->pi), 0);
	cr_assert_eq(intel_iommu_probe(e->pi, o, &e->iommu), 0);
	for (i = 0; i < ndev; i++) {
		struct plat_dev_config dc = { .bus = 2, .dev = (uint8_t)(1 + i), .fn = 0 };

		dc.ats = (ats_mask >> i) & 1;
		cr_assert_eq(plat_dev_add(e->pi, &dc, &e->pd[i]), 0);
		cr_assert_eq(intel_iommu_probe_device(e->iommu, e->pd[i], &e->dev[i]), 0);
	}
	e->ndev = ndev;
}

static void aenv_fini(struct aenv *e)
{
	unsigned i;

	for (i = 0; i < e->ndev; i++) {
		intel_iommu_release_device(e->dev[i]);
		cr_expect(!plat_dev_ats_enabled(e->pd[i]), "ATS left enabled after release");
		plat_dev_remove(e->pd[i]);
	}
	intel_iommu_remove(e->iommu);
	plat_iommu_remove(e->pi);
	mach_destroy(e->m);
}

static struct vtd_config cfg_checked(void)
{
	struct vtd_config c = vtd_config_default();

	c.checker = true;
	c.devtlb.sets = 16;
	c.devtlb.ways = 8; /* 128 entries: the pages below fit */
	return c;
}

static void opts_for(struct intel_iommu_options *o, enum intel_iommu_mode mode)
{
	intel_iommu_options_default(o);
	o->mode = mode;
	o->ats = true;
}

static struct vtd_stats hw_stats(struct aenv *e)
{
	struct vtd_stats vs;

	cr_assert_eq(vtd_get_stats(plat_iommu_hw(e->pi), &vs), 0);
	return vs;
}

static void assert_checker_silent(struct aenv *e)
{
	struct vtd_stats vs = hw_stats(e);
	unsigned r;

	for (r = 0; r < VTD_CHK__COUNT; r++)
		cr_expect_eq(vs.checker[r], 0, "checker rule %s (%s) fired %llu times",
			     vtd_check_rule_name(r), vtd_check_rule_section(r),
			     (unsigned long long)vs.checker[r]);
	cr_expect_eq(vs.iqe, 0, "invalidation queue errors");
}

static uint8_t fr_unmapped(const struct aenv *e)
{
	return e->mode == INTEL_MODE_SCALABLE ? FR_SM_SS_NOT_PRESENT : FR_NO_READ;
}

/* Translate @iova for a read on device @i; returns the status, *pa when OK. */
static int xlate(struct aenv *e, unsigned i, uint64_t iova, uint64_t *pa, uint32_t *reason)
{
	struct hwm_xlate t;

	cr_assert_eq(plat_dev_translate(e->pd[i], iova, HWM_ACC_READ, PLAT_NO_PASID, &t), 0);
	if (pa)
		*pa = t.pa;
	if (reason)
		*reason = t.status == HWM_XLATE_OK ? 0 : t.fault.reason;
	return t.status;
}

/* Every page of [iova, +n pages) translates to pa + offset; returns the device-TLB hits. */
static uint64_t expect_mapped(struct aenv *e, unsigned dev, uint64_t iova, uint64_t pa, unsigned n)
{
	struct vtd_stats b = hw_stats(e), a;
	uint64_t got;
	unsigned i;

	for (i = 0; i < n; i++) {
		cr_assert_eq(xlate(e, dev, iova + i * SZ_4K, &got, NULL), HWM_XLATE_OK,
			     "page %u of 0x%llx", i, (unsigned long long)iova);
		cr_assert_eq(got, pa + i * SZ_4K);
	}
	a = hw_stats(e);
	return a.devtlb.hits - b.devtlb.hits;
}

static void expect_faults(struct aenv *e, unsigned dev, uint64_t iova, unsigned n)
{
	uint32_t reason;
	unsigned i;

	for (i = 0; i < n; i++) {
		cr_assert_eq(xlate(e, dev, iova + i * SZ_4K, NULL, &reason), HWM_XLATE_FAULT,
			     "page %u of 0x%llx still translates", i, (unsigned long long)iova);
		cr_assert_eq(reason, fr_unmapped(e));
	}
}

/* --------------------------------------------------------------- tests */

static void run_devtlb_and_unmap(enum intel_iommu_mode mode)
{
	struct vtd_config cfg = cfg_checked();
	struct intel_iommu_options o;
	struct intel_iommu_stats ds0, ds1;
	struct vtd_stats v0, v1;
	struct iommu_domain *d;
	struct hwm_fault f;
	uint8_t buf[64], back[64];
	struct aenv e;

	opts_for(&o, mode);
	aenv_init(&e, &cfg, &o, 1, 1);
	cr_assert_eq(intel_iommu_scalable(e.iommu), mode == INTEL_MODE_SCALABLE);
	cr_assert(!plat_dev_ats_enabled(e.pd[0]), "ATS is enabled at attach, not at probe");
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	cr_assert(plat_dev_ats_enabled(e.pd[0]), "the driver enables ATS on the device");

	cr_assert_eq(iommu_map(d, 0x100000, 0x400000, 32 * SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);
	/* First pass fills the device TLB (translation requests), the second hits it. */
	v0 = hw_stats(&e);
	expect_mapped(&e, 0, 0x100000, 0x400000, 32);
	v1 = hw_stats(&e);
	cr_assert_geq(v1.devtlb.fills - v0.devtlb.fills, 32, "translation requests fill the ATC");
	cr_assert_eq(expect_mapped(&e, 0, 0x100000, 0x400000, 32), 32, "served by the device TLB");
	/* DMA through the device TLB moves the data. */
	memset(buf, 0x5a, sizeof(buf));
	cr_assert_eq(plat_dma_write(e.pd[0], 0x100010, buf, sizeof(buf), PLAT_NO_PASID, &f), 0);
	cr_assert_eq(mach_phys_read(e.m, 0x400010, back, sizeof(back)), 0);
	cr_assert_eq(memcmp(buf, back, sizeof(buf)), 0);

	/* Unmap the first 16 pages: IOTLB and device TLB invalidated, then the wait. */
	intel_iommu_get_stats(e.iommu, &ds0);
	v0 = hw_stats(&e);
	cr_assert_eq(iommu_unmap(d, 0x100000, 16 * SZ_4K), 16 * SZ_4K);
	intel_iommu_get_stats(e.iommu, &ds1);
	v1 = hw_stats(&e);
	cr_assert_eq(ds1.devtlb_invalidations - ds0.devtlb_invalidations, 1);
	cr_assert_eq(v1.descriptors[DESC_DEVTLB] - v0.descriptors[DESC_DEVTLB], 1);
	cr_assert_gt(v1.devtlb.invalidations, v0.devtlb.invalidations);
	expect_faults(&e, 0, 0x100000, 16);
	/* The other 16 pages (outside the invalidated block) still hit the device TLB. */
	cr_assert_eq(expect_mapped(&e, 0, 0x110000, 0x410000, 16), 16);
	assert_checker_silent(&e);

	/* Detach: the whole device TLB goes (a later attach starts cold). */
	v0 = hw_stats(&e);
	iommu_detach_device(d, e.dev[0]);
	v1 = hw_stats(&e);
	cr_assert_eq(v1.descriptors[DESC_DEVTLB] - v0.descriptors[DESC_DEVTLB], 1);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	cr_assert_eq(expect_mapped(&e, 0, 0x110000, 0x410000, 16), 0, "device TLB emptied");
	iommu_detach_device(d, e.dev[0]);
	assert_checker_silent(&e);
	iommu_domain_free(d);
	aenv_fini(&e);
}

Test(vtd_ats, legacy_devtlb_and_unmap)
{
	run_devtlb_and_unmap(INTEL_MODE_LEGACY);
}

Test(vtd_ats, scalable_devtlb_and_unmap)
{
	run_devtlb_and_unmap(INTEL_MODE_SCALABLE);
}

/*
 * Without the device-TLB invalidation the device keeps translating an
 * unmapped page from its device TLB (the model's IOTLB was invalidated, its
 * page tables say not present): the stale hit the descriptor prevents.
 */
static void run_skip_devtlb(enum intel_iommu_mode mode)
{
	struct vtd_config cfg = cfg_checked();
	struct intel_iommu_options o;
	struct intel_iommu_stats ds;
	struct iommu_domain *d;
	struct vtd_stats vs;
	uint64_t pa;
	struct aenv e;

	opts_for(&o, mode);
	o.skip_devtlb_inval = true;
	aenv_init(&e, &cfg, &o, 1, 1);
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	cr_assert_eq(iommu_map(d, 0x200000, 0x600000, 4 * SZ_4K, IOMMU_READ), 0);
	expect_mapped(&e, 0, 0x200000, 0x600000, 4);
	cr_assert_eq(iommu_unmap(d, 0x200000, 4 * SZ_4K), 4 * SZ_4K);
	/* Stale: served from the device TLB although nothing maps it any more. */
	cr_assert_eq(xlate(&e, 0, 0x201000, &pa, NULL), HWM_XLATE_OK, "no stale hit");
	cr_assert_eq(pa, 0x601000);
	cr_assert_eq(iommu_iova_to_phys(d, 0x201000), 0);
	intel_iommu_get_stats(e.iommu, &ds);
	vs = hw_stats(&e);
	cr_assert_eq(ds.devtlb_invalidations, 0);
	cr_assert_eq(vs.descriptors[DESC_DEVTLB], 0);
	iommu_detach_device(d, e.dev[0]);
	iommu_domain_free(d);
	aenv_fini(&e);
}

Test(vtd_ats, legacy_skipped_devtlb_invalidation_is_stale)
{
	run_skip_devtlb(INTEL_MODE_LEGACY);
}

Test(vtd_ats, scalable_skipped_devtlb_invalidation_is_stale)
{
	run_skip_devtlb(INTEL_MODE_SCALABLE);
}

/*
 * The size encoding of the type 3 descriptor: a single page (S = 0) and a
 * 2^k-page block (S = 1) drop exactly their pages from the device TLB; the
 * neighbours on both sides keep hitting. One domain, two ATS devices and
 * one without ATS: one descriptor per ATS endpoint per invalidation.
 */
Test(vtd_ats, size_encoding_and_one_descriptor_per_ats_endpoint)
{
	struct vtd_config cfg = cfg_checked();
	struct intel_iommu_options o;
	struct intel_iommu_stats ds0, ds1;
	struct vtd_stats v0, v1;
	struct iommu_domain *d;
	const uint64_t base = 0x800000, pa = 0x1000000;
	struct aenv e;
	unsigned i;

	opts_for(&o, INTEL_MODE_LEGACY);
	aenv_init(&e, &cfg, &o, 3, 0x3);
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	for (i = 0; i < 3; i++)
		cr_assert_eq(iommu_attach_device(d, e.dev[i]), 0);
	cr_assert(plat_dev_ats_enabled(e.pd[0]) && plat_dev_ats_enabled(e.pd[1]));
	cr_assert(!plat_dev_ats_enabled(e.pd[2]), "no ATS capability, no ATS");
	cr_assert_eq(iommu_map(d, base, pa, 32 * SZ_4K, IOMMU_READ), 0);
	for (i = 0; i < 2; i++) {
		expect_mapped(&e, i, base, pa, 32);
		cr_assert_eq(expect_mapped(&e, i, base, pa, 32), 32);
	}
	/* One page (page 5): S = 0. */
	intel_iommu_get_stats(e.iommu, &ds0);
	v0 = hw_stats(&e);
	cr_assert_eq(iommu_unmap(d, base + 5 * SZ_4K, SZ_4K), SZ_4K);
	intel_iommu_get_stats(e.iommu, &ds1);
	v1 = hw_stats(&e);
	cr_assert_eq(ds1.devtlb_invalidations - ds0.devtlb_invalidations, 2);
	cr_assert_eq(v1.descriptors[DESC_DEVTLB] - v0.descriptors[DESC_DEVTLB], 2);
	for (i = 0; i < 2; i++) {
		expect_faults(&e, i, base + 5 * SZ_4K, 1);
		cr_assert_eq(expect_mapped(&e, i, base, pa, 5), 5);
		cr_assert_eq(expect_mapped(&e, i, base + 6 * SZ_4K, pa + 6 * SZ_4K, 26), 26);
	}
	/* An aligned 8-page block (pages 8-15): S = 1, 32 KiB. */
	cr_assert_eq(iommu_unmap(d, base + 8 * SZ_4K, 8 * SZ_4K), 8 * SZ_4K);
	for (i = 0; i < 2; i++) {
		expect_faults(&e, i, base + 8 * SZ_4K, 8);
		cr_assert_eq(expect_mapped(&e, i, base + 6 * SZ_4K, pa + 6 * SZ_4K, 2), 2);
		cr_assert_eq(expect_mapped(&e, i, base + 16 * SZ_4K, pa + 16 * SZ_4K, 16), 16);
	}
	/* An unaligned range, pages 17-21: the covering aligned block is pages 16-23. */
	cr_assert_eq(iommu_unmap(d, base + 17 * SZ_4K, 5 * SZ_4K), 5 * SZ_4K);
	for (i = 0; i < 2; i++) {
		expect_faults(&e, i, base + 17 * SZ_4K, 5);
		expect_mapped(&e, i, base + 16 * SZ_4K, pa + 16 * SZ_4K, 1);
		cr_assert_eq(expect_mapped(&e, i, base + 24 * SZ_4K, pa + 24 * SZ_4K, 8), 8);
	}
	/* The device without ATS translates untranslated requests only. */
	expect_mapped(&e, 2, base + 24 * SZ_4K, pa + 24 * SZ_4K, 8);
	expect_faults(&e, 2, base + 8 * SZ_4K, 8);
	assert_checker_silent(&e);
	for (i = 0; i < 3; i++)
		iommu_detach_device(d, e.dev[i]);
	iommu_domain_free(d);
	aenv_fini(&e);
}

/* ECAP.DT clear: the driver leaves ATS off and issues no device-TLB invalidation. */
Test(vtd_ats, no_dt_no_ats)
{
	struct vtd_config cfg = cfg_checked();
	struct intel_iommu_options o;
	struct intel_iommu_stats ds;
	struct iommu_domain *d;
	struct vtd_stats vs;
	struct aenv e;

	cfg.dt = false;
	opts_for(&o, INTEL_MODE_LEGACY);
	aenv_init(&e, &cfg, &o, 1, 1);
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	cr_assert(!plat_dev_ats_enabled(e.pd[0]));
	cr_assert_eq(iommu_map(d, 0x100000, 0x400000, 4 * SZ_4K, IOMMU_READ), 0);
	expect_mapped(&e, 0, 0x100000, 0x400000, 4);
	cr_assert_eq(iommu_unmap(d, 0x100000, 4 * SZ_4K), 4 * SZ_4K);
	expect_faults(&e, 0, 0x100000, 4);
	intel_iommu_get_stats(e.iommu, &ds);
	vs = hw_stats(&e);
	cr_assert_eq(ds.devtlb_invalidations, 0);
	cr_assert_eq(vs.descriptors[DESC_DEVTLB], 0);
	cr_assert_eq(vs.devtlb.fills, 0);
	assert_checker_silent(&e);
	iommu_detach_device(d, e.dev[0]);
	iommu_domain_free(d);
	aenv_fini(&e);
}

/*
 * ATS enabled on the device before the driver probes it (opts.ats off): the
 * driver honours it (TT = 01) and invalidates the device TLB; it leaves the
 * Enable bit as it found it.
 */
Test(vtd_ats, preenabled_ats_without_option)
{
	struct vtd_config cfg = cfg_checked();
	struct mach_config mc = { .mem_size = 64ULL << 20, .seed = 3 };
	struct plat_dev_config dc = { .bus = 0, .dev = 3, .fn = 0, .ats = true };
	struct intel_iommu_options o;
	struct aenv e;
	struct iommu_domain *d;
	struct vtd_stats v0, v1;

	memset(&e, 0, sizeof(e));
	intel_iommu_options_default(&o);
	e.mode = o.mode;
	cr_assert_eq(mach_create(&mc, &e.m), 0);
	cr_assert_eq(plat_iommu_add_vtd(e.m, &cfg, &e.pi), 0);
	cr_assert_eq(intel_iommu_probe(e.pi, &o, &e.iommu), 0);
	cr_assert_eq(plat_dev_add(e.pi, &dc, &e.pd[0]), 0);
	cr_assert_eq(plat_dev_set_ats(e.pd[0], true), 0);
	cr_assert_eq(intel_iommu_probe_device(e.iommu, e.pd[0], &e.dev[0]), 0);
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	cr_assert_eq(iommu_map(d, 0x100000, 0x400000, 2 * SZ_4K, IOMMU_READ), 0);
	expect_mapped(&e, 0, 0x100000, 0x400000, 2);
	cr_assert_eq(expect_mapped(&e, 0, 0x100000, 0x400000, 2), 2);
	v0 = hw_stats(&e);
	cr_assert_eq(iommu_unmap(d, 0x100000, 2 * SZ_4K), 2 * SZ_4K);
	v1 = hw_stats(&e);
	cr_assert_eq(v1.descriptors[DESC_DEVTLB] - v0.descriptors[DESC_DEVTLB], 1);
	expect_faults(&e, 0, 0x100000, 2);
	assert_checker_silent(&e);
	iommu_detach_device(d, e.dev[0]);
	iommu_domain_free(d);
	intel_iommu_release_device(e.dev[0]);
	cr_assert(plat_dev_ats_enabled(e.pd[0]), "the driver did not enable it: it stays");
	plat_dev_remove(e.pd[0]);
	intel_iommu_remove(e.iommu);
	plat_iommu_remove(e.pi);
	mach_destroy(e.m);
}

/* ATS with a first-stage domain: PASID-based IOTLB invalidation, then the device TLB. */
Test(vtd_ats, first_stage_domain_with_ats)
{
	struct vtd_config cfg = cfg_checked();
	struct intel_iommu_options o;
	struct vtd_stats v0, v1;
	struct iommu_domain *d;
	struct aenv e;

	opts_for(&o, INTEL_MODE_SCALABLE);
	o.first_stage = true;
	aenv_init(&e, &cfg, &o, 1, 1);
	e.mode = INTEL_MODE_SCALABLE;
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	cr_assert_eq(iommu_map(d, 0x100000, 0x400000, 8 * SZ_4K, IOMMU_READ), 0);
	expect_mapped(&e, 0, 0x100000, 0x400000, 8);
	cr_assert_eq(expect_mapped(&e, 0, 0x100000, 0x400000, 8), 8);
	v0 = hw_stats(&e);
	cr_assert_eq(iommu_unmap(d, 0x100000, 4 * SZ_4K), 4 * SZ_4K);
	v1 = hw_stats(&e);
	cr_assert_eq(v1.descriptors[6] - v0.descriptors[6], 1);
	cr_assert_eq(v1.descriptors[DESC_DEVTLB] - v0.descriptors[DESC_DEVTLB], 1);
	for (unsigned i = 0; i < 4; i++) {
		uint32_t reason;

		cr_assert_eq(xlate(&e, 0, 0x100000 + i * SZ_4K, NULL, &reason), HWM_XLATE_FAULT);
		cr_assert_eq(reason, 0x71); /* first stage, not present */
	}
	cr_assert_eq(expect_mapped(&e, 0, 0x104000, 0x404000, 4), 4);
	assert_checker_silent(&e);
	iommu_detach_device(d, e.dev[0]);
	iommu_domain_free(d);
	aenv_fini(&e);
}
