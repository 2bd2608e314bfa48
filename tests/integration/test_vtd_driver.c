// SPDX-License-Identifier: MIT
/*
 * The Intel VT-d driver (src/iommu/intel/) against the VT-d model
 * (hw-models/vtd/): two independent readings of the spec checked against
 * each other.
 *
 *  - probe / GET_HW_INFO: CAP and ECAP as the test reads them from the
 *    registers come back through IOMMU_GET_HW_INFO (INTEL_VTD layout);
 *  - cross-check: random map/unmap sequences (fixed seeds, printed on
 *    failure) through the driver into a domain, each translation checked by
 *    the model's walker (through the device's DMA path) against a reference
 *    map kept here, for 4K/2M/1G pages and 3/4/5-level tables; every unmap
 *    is checked to fault afterwards even though the IOTLB was warm (the
 *    driver invalidated), and the model's protocol checker stays silent;
 *  - DMA end to end through iommufd: the device writes the process's pages
 *    and reads them back; after IOAS_UNMAP the same DMA faults with the
 *    legacy reason (6 no read, 5 no write) and the driver's fault handler
 *    reads the same record from the fault recording registers;
 *  - HWPT_ALLOC, attach and replace between two IOAS;
 *  - a fail-nth sweep over attach/map/unmap: no frame, pin or accounting
 *    drift, whatever fails.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/hw.h>
#include <iommusim/hw_vtd.h>
#include <iommusim/iommufd.h>
#include <iommusim/iommufd_ctx.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>

#include "iommu/intel/intel.h"
#include "iommu/iommu.h"
#include "iommufd/device.h"

#define SZ_4K (1ULL << 12)
#define SZ_2M (1ULL << 21)
#define SZ_1G (1ULL << 30)

/* Legacy fault reasons (VT-d spec Appendix A), the test's own reading. */
#define FR_NO_WRITE 5
#define FR_NO_READ 6
/* Scalable mode: second-stage permission faults (§7.1.3, SSA.x). */
#define FR_SM_NO_WRITE 0x85
#define FR_SM_NO_READ 0x86
#define FR_SM_SS_NOT_PRESENT 0x79 /* no R or W: the second-stage entry is not present */
#define FR_SM_FS_NOT_PRESENT 0x71 /* first stage: P clear (§7.1.3, SFS.2) */
#define DESC_IOTLB 2
#define DESC_PIOTLB 6 /* PASID-based IOTLB invalidation (§6.5.2.4) */

/* --------------------------------------------------------------- setup */

struct env {
	struct mach *m;
	struct plat_iommu *pi;
	struct intel_iommu *iommu;
	struct plat_dev *pd[2];
	struct iommu_dev *dev[2];
	unsigned ndev;
};

static void env_init_mode(struct env *e, const struct vtd_config *cfg, unsigned ndev,
			  uint64_t mem_size, enum intel_iommu_mode mode)
{
	struct mach_config mc = { .mem_size = mem_size, .seed = 1 };
	struct intel_iommu_options o;
	unsigned i;

	memset(e, 0, sizeof(*e));
	intel_iommu_options_default(&o);
	o.mode = mode;
	cr_assert_eq(mach_create(&mc, &e->m), 0);
	cr_assert_eq(plat_iommu_add_vtd(e->m, cfg, &e->pi), 0);
	cr_assert_eq(intel_iommu_probe(e->pi, &o, &e->iommu), 0);
	cr_assert_eq(intel_iommu_scalable(e->iommu), mode == INTEL_MODE_SCALABLE);
	for (i = 0; i < ndev; i++) {
		struct plat_dev_config dc = { .bus = 0, .dev = (uint8_t)(2 + i), .fn = 0 };

		cr_assert_eq(plat_dev_add(e->pi, &dc, &e->pd[i]), 0);
		cr_assert_eq(intel_iommu_probe_device(e->iommu, e->pd[i], &e->dev[i]), 0);
	}
	e->ndev = ndev;
}

/* Scalable mode with first-stage domains (opts.first_stage), @levels 4 or 5. */
static void env_init_fs(struct env *e, const struct vtd_config *cfg, unsigned ndev,
			uint64_t mem_size, unsigned levels)
{
	struct mach_config mc = { .mem_size = mem_size, .seed = 1 };
	struct intel_iommu_options o;
	unsigned i;

	memset(e, 0, sizeof(*e));
	intel_iommu_options_default(&o);
	o.mode = INTEL_MODE_SCALABLE;
	o.first_stage = true;
	o.levels = levels;
	cr_assert_eq(mach_create(&mc, &e->m), 0);
	cr_assert_eq(plat_iommu_add_vtd(e->m, cfg, &e->pi), 0);
	cr_assert_eq(intel_iommu_probe(e->pi, &o, &e->iommu), 0);
	cr_assert(intel_iommu_first_stage(e->iommu));
	cr_assert_eq(intel_iommu_levels(e->iommu), levels);
	for (i = 0; i < ndev; i++) {
		struct plat_dev_config dc = { .bus = 0, .dev = (uint8_t)(2 + i), .fn = 0 };

		cr_assert_eq(plat_dev_add(e->pi, &dc, &e->pd[i]), 0);
		cr_assert_eq(intel_iommu_probe_device(e->iommu, e->pd[i], &e->dev[i]), 0);
	}
	e->ndev = ndev;
}

/* The tests written for legacy mode (its fault reasons): the unit has SMTS, the driver is told. */
static void env_init(struct env *e, const struct vtd_config *cfg, unsigned ndev, uint64_t mem_size)
{
	env_init_mode(e, cfg, ndev, mem_size, INTEL_MODE_LEGACY);
}

static void env_fini(struct env *e)
{
	unsigned i;

	for (i = 0; i < e->ndev; i++) {
		intel_iommu_release_device(e->dev[i]);
		plat_dev_remove(e->pd[i]);
	}
	intel_iommu_remove(e->iommu);
	plat_iommu_remove(e->pi);
	mach_destroy(e->m);
}

static struct vtd_config cfg_levels(unsigned levels, uint8_t sllps)
{
	struct vtd_config c = vtd_config_default();

	c.sagaw = (uint8_t)(1u << (levels - 2));
	c.mgaw = (uint8_t)(levels == 3 ? 39 : levels == 4 ? 48 : 57);
	c.sllps = sllps;
	c.checker = true;
	return c;
}

static void assert_checker_silent(struct env *e)
{
	struct vtd_stats vs;
	unsigned r;

	cr_assert_eq(vtd_get_stats(plat_iommu_hw(e->pi), &vs), 0);
	for (r = 0; r < VTD_CHK__COUNT; r++)
		cr_expect_eq(vs.checker[r], 0, "checker rule %s (%s) fired %llu times",
			     vtd_check_rule_name(r), vtd_check_rule_section(r),
			     (unsigned long long)vs.checker[r]);
	cr_expect_eq(vs.iqe, 0, "invalidation queue errors");
}

/* ---------------------------------------------------------------- rng */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return rng_next(s) % n;
}

/* ----------------------------------------------------------- probe / info */

Test(vtd_driver, probe_reads_capabilities)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	uint64_t cap = 0, ecap = 0, gsts = 0;
	struct env e;

	env_init(&e, &cfg, 1, 64ULL << 20);
	cr_assert_eq(hwm_mmio_read(plat_iommu_hw(e.pi), 0x08, 8, &cap), 0);
	cr_assert_eq(hwm_mmio_read(plat_iommu_hw(e.pi), 0x10, 8, &ecap), 0);
	cr_assert_eq(intel_iommu_cap(e.iommu), cap);
	cr_assert_eq(intel_iommu_ecap(e.iommu), ecap);
	cr_assert_eq(intel_iommu_levels(e.iommu), 4);
	/* GSTS (0x1c): TES 31, RTPS 30, QIES 26 after probe. */
	cr_assert_eq(hwm_mmio_read(plat_iommu_hw(e.pi), 0x1c, 4, &gsts), 0);
	cr_assert(gsts & (1u << 31), "translation enabled, gsts=%#llx", (unsigned long long)gsts);
	cr_assert(gsts & (1u << 26), "queued invalidation enabled");
	/* A blocked device faults: no context table for its bus yet, root entry not present (1). */
	{
		struct hwm_xlate x;

		cr_assert_eq(plat_dev_translate(e.pd[0], 0x1000, HWM_ACC_READ, PLAT_NO_PASID, &x),
			     0);
		cr_assert_eq(x.status, HWM_XLATE_FAULT);
		cr_expect_eq(x.fault.reason, 1, "reason %u", x.fault.reason);
	}
	assert_checker_silent(&e);
	env_fini(&e);
}

Test(vtd_driver, levels_follow_sagaw_mgaw)
{
	for (unsigned l = 3; l <= 5; l++) {
		struct vtd_config cfg = cfg_levels(l, 3);
		struct iommu_domain *d;
		struct env e;

		env_init(&e, &cfg, 1, 64ULL << 20);
		cr_assert_eq(intel_iommu_levels(e.iommu), l);
		cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
		cr_expect_eq(d->geometry.aperture_end, (1ULL << cfg.mgaw) - 1);
		cr_expect_eq(d->pgsize_bitmap, SZ_4K | SZ_2M | SZ_1G);
		cr_expect_eq(iommu_domain_alloc_paging(e.dev[0], IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
						       &(struct iommu_domain *){ NULL }),
			     -EOPNOTSUPP);
		iommu_domain_free(d);
		env_fini(&e);
	}
}

/* --------------------------------------------------------- cross-check */

struct region {
	uint64_t iova, size, pa, pgsize;
	int prot;
};

#define MAX_REGIONS 192

struct xcheck {
	struct env e;
	struct iommu_domain *d;
	struct region r[MAX_REGIONS];
	unsigned n;
	uint64_t seed, seed0;
	unsigned levels;
	uint8_t sllps;
	unsigned op;
	bool sm;
	bool fs; /* first-stage domain (scalable mode) */
};

static bool overlaps(struct xcheck *x, uint64_t iova, uint64_t size)
{
	for (unsigned i = 0; i < x->n; i++)
		if (iova < x->r[i].iova + x->r[i].size && x->r[i].iova < iova + size)
			return true;
	return false;
}

#define XFAIL(x, fmt, ...)                                                               \
	cr_assert_fail("%s seed %llu levels %u sllps %u op %u: " fmt,                    \
		       (x)->fs	 ? "first-stage"                                         \
		       : (x)->sm ? "scalable"                                            \
				 : "legacy",                                             \
		       (unsigned long long)(x)->seed0, (x)->levels, (x)->sllps, (x)->op, \
		       ##__VA_ARGS__)

/* Translate @iova with @acc through the model and check it against @r (NULL = unmapped). */
static void check_addr(struct xcheck *x, const struct region *r, uint64_t iova, uint32_t acc)
{
	struct hwm_xlate t;
	bool allowed;

	if (plat_dev_translate(x->e.pd[0], iova, acc, PLAT_NO_PASID, &t))
		XFAIL(x, "translate failed");
	/* First stage: a present page is readable (P), a write-only mapping too. */
	allowed = r && ((acc == HWM_ACC_READ &&
			 (r->prot & (x->fs ? IOMMU_READ | IOMMU_WRITE : IOMMU_READ))) ||
			(acc == HWM_ACC_WRITE && (r->prot & IOMMU_WRITE)));
	if (allowed) {
		uint64_t want = r->pa + (iova - r->iova);

		if (t.status != HWM_XLATE_OK)
			XFAIL(x, "iova %#llx acc %u faulted (reason %u), want pa %#llx",
			      (unsigned long long)iova, acc, t.fault.reason,
			      (unsigned long long)want);
		if (t.pa != want)
			XFAIL(x, "iova %#llx -> pa %#llx, want %#llx", (unsigned long long)iova,
			      (unsigned long long)t.pa, (unsigned long long)want);
		if (t.page_size < r->pgsize)
			XFAIL(x, "iova %#llx page size %#llx, want >= %#llx",
			      (unsigned long long)iova, (unsigned long long)t.page_size,
			      (unsigned long long)r->pgsize);
	} else {
		unsigned want = acc == HWM_ACC_READ ? (x->sm ? FR_SM_NO_READ : FR_NO_READ)
						    : (x->sm ? FR_SM_NO_WRITE : FR_NO_WRITE);

		/* Legacy reports a missing entry as the access's permission fault. */
		if (x->sm && !r)
			want = x->fs ? FR_SM_FS_NOT_PRESENT : FR_SM_SS_NOT_PRESENT;

		if (t.status != HWM_XLATE_FAULT)
			XFAIL(x, "iova %#llx acc %u translated to %#llx, want a fault",
			      (unsigned long long)iova, acc, (unsigned long long)t.pa);
		if (t.fault.reason != want)
			XFAIL(x, "iova %#llx acc %u reason %u want %u", (unsigned long long)iova,
			      acc, t.fault.reason, want);
	}
	if (r && iommu_iova_to_phys(x->d, iova) != r->pa + (iova - r->iova))
		XFAIL(x, "iova_to_phys(%#llx)", (unsigned long long)iova);
}

static void check_region(struct xcheck *x, const struct region *r, const struct region *ref)
{
	for (unsigned k = 0; k < 3; k++) {
		uint64_t off = k == 0 ? 0 : k == 1 ? r->size - 1 : rng_below(&x->seed, r->size);

		check_addr(x, ref, r->iova + off, HWM_ACC_READ);
		check_addr(x, ref, r->iova + off, HWM_ACC_WRITE);
	}
}

static void xcheck_map_one(struct xcheck *x, uint64_t lo, uint64_t hi)
{
	uint64_t sizes[3] = { SZ_4K, SZ_2M, SZ_1G }, pgsize, iova, size, pa;
	unsigned nsz = 1 + ((x->sllps & 1) ? 1 : 0) + ((x->sllps & 2) ? 1 : 0), tries;
	struct region *r;
	int prot, rc;

	if (x->sllps == 2) /* 1G without 2M */
		sizes[1] = SZ_1G;
	pgsize = sizes[rng_below(&x->seed, nsz)];
	size = pgsize * (1 + rng_below(&x->seed, pgsize == SZ_4K ? 64 : pgsize == SZ_2M ? 8 : 2));
	for (tries = 0; tries < 16; tries++) {
		iova = lo + rng_below(&x->seed, (hi - lo - size) / pgsize) * pgsize;
		if (!overlaps(x, iova, size))
			break;
	}
	if (tries == 16)
		return;
	pa = rng_below(&x->seed, (1ULL << 46) / pgsize) * pgsize;
	prot = (int)(1 + rng_below(&x->seed, 3)); /* R, W or RW */
	rc = iommu_map(x->d, iova, pa, size, prot);
	if (rc)
		XFAIL(x, "iommu_map(%#llx, %#llx, %#llx) = %d", (unsigned long long)iova,
		      (unsigned long long)pa, (unsigned long long)size, rc);
	r = &x->r[x->n++];
	r->iova = iova;
	r->size = size;
	r->pa = pa;
	r->pgsize = pgsize;
	r->prot = prot;
	check_region(x, r, r);
}

static void xcheck_unmap_one(struct xcheck *x)
{
	unsigned i = (unsigned)rng_below(&x->seed, x->n);
	struct region r = x->r[i];
	size_t got;

	/* Warm the IOTLB: a stale entry would survive a missing invalidation. */
	check_addr(x, &r, r.iova, (r.prot & IOMMU_READ) ? HWM_ACC_READ : HWM_ACC_WRITE);
	got = iommu_unmap(x->d, r.iova, r.size);
	if (got != r.size)
		XFAIL(x, "unmap %#llx+%#llx returned %#zx", (unsigned long long)r.iova,
		      (unsigned long long)r.size, got);
	x->r[i] = x->r[--x->n];
	check_region(x, &r, NULL);
}

static void run_crosscheck_impl(unsigned levels, uint8_t sllps, uint64_t seed, unsigned ops,
				bool sm, bool fs)
{
	struct vtd_config cfg = cfg_levels(levels, sllps);
	struct intel_iommu_stats st;
	struct xcheck *x = calloc(1, sizeof(*x));
	uint64_t top, win = 64 * SZ_1G;
	struct vtd_stats vs;

	cr_assert(x);
	x->seed = x->seed0 = seed;
	x->levels = levels;
	x->sllps = sllps;
	x->sm = sm || fs;
	x->fs = fs;
	if (fs) {
		/* First-stage page sizes: 2 MiB always, 1 GiB per FL1GP; 5 levels per FL5LP. */
		cfg.fl1gp = (sllps & 2) != 0;
		cfg.fl5lp = levels == 5;
		env_init_fs(&x->e, &cfg, 1, 256ULL << 20, levels);
	} else {
		env_init_mode(&x->e, &cfg, 1, 256ULL << 20,
			      sm ? INTEL_MODE_SCALABLE : INTEL_MODE_LEGACY);
	}
	cr_assert_eq(iommu_domain_alloc_paging(x->e.dev[0], 0, &x->d), 0);
	cr_assert_eq(iommu_attach_device(x->d, x->e.dev[0]), 0);
	top = x->d->geometry.aperture_end + 1;
	for (x->op = 0; x->op < ops; x->op++) {
		bool hi = rng_below(&x->seed, 4) == 0;
		uint64_t lo = hi ? top - win : 0;

		if (x->n < MAX_REGIONS && (x->n == 0 || rng_below(&x->seed, 100) < 55))
			xcheck_map_one(x, lo, lo + win);
		else if (x->n)
			xcheck_unmap_one(x);
	}
	/* Everything still mapped translates; then unmap it all. */
	for (unsigned i = 0; i < x->n; i++)
		check_region(x, &x->r[i], &x->r[i]);
	while (x->n)
		xcheck_unmap_one(x);
	assert_checker_silent(&x->e);
	cr_assert_eq(vtd_get_stats(plat_iommu_hw(x->e.pi), &vs), 0);
	if (fs)
		cr_expect_gt(vs.descriptors[DESC_PIOTLB], 0, "PASID-based IOTLB invalidations");
	else
		cr_expect_eq(vs.descriptors[DESC_PIOTLB], 0);
	iommu_detach_device(x->d, x->e.dev[0]);
	iommu_domain_free(x->d);
	intel_iommu_get_stats(x->e.iommu, &st);
	cr_expect_eq(st.tables_live, 0, "every table page freed (%llu left)",
		     (unsigned long long)st.tables_live);
	cr_expect(st.iotlb_psi + st.iotlb_dsi > 0);
	env_fini(&x->e);
	free(x);
}

static void run_crosscheck_mode(unsigned levels, uint8_t sllps, uint64_t seed, unsigned ops,
				bool sm)
{
	run_crosscheck_impl(levels, sllps, seed, ops, sm, false);
}

/*
 * Each configuration in both translation modes: legacy and scalable (PGTT =
 * second stage); 4 and 5 levels also with first-stage domains (PGTT = first
 * stage, x86-64 tables, type 6 invalidations; sllps picks FL1GP).
 */
static void run_crosscheck(unsigned levels, uint8_t sllps, uint64_t seed, unsigned ops)
{
	run_crosscheck_mode(levels, sllps, seed, ops, false);
	run_crosscheck_mode(levels, sllps, seed, ops, true);
	if (levels >= 4)
		run_crosscheck_impl(levels, sllps, seed, ops, true, true);
}

Test(vtd_driver, crosscheck_3level)
{
	run_crosscheck(3, 0, 0x3001, 300);
	run_crosscheck(3, 1, 0x3002, 300);
	run_crosscheck(3, 3, 0x3003, 300);
}

Test(vtd_driver, crosscheck_4level)
{
	run_crosscheck(4, 0, 0x4001, 300);
	run_crosscheck(4, 1, 0x4002, 300);
	run_crosscheck(4, 3, 0x4003, 300);
}

Test(vtd_driver, crosscheck_5level)
{
	run_crosscheck(5, 0, 0x5001, 300);
	run_crosscheck(5, 1, 0x5002, 300);
	run_crosscheck(5, 3, 0x5003, 300);
}

/* A large page over an emptied table, and a small unmap inside a large page. */
Test(vtd_driver, large_over_table_and_partial_unmap)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	struct iommu_domain *d;
	struct hwm_xlate t;
	struct env e;

	env_init(&e, &cfg, 1, 64ULL << 20);
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	/* 4K page, unmapped: its level-1 table stays; then a 2M page over it. */
	cr_assert_eq(iommu_map(d, SZ_2M, 0x40000000, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(iommu_unmap(d, SZ_2M, SZ_4K), SZ_4K);
	cr_assert_eq(iommu_map(d, SZ_2M, 0x40200000, SZ_2M, IOMMU_READ | IOMMU_WRITE), 0);
	cr_assert_eq(plat_dev_translate(e.pd[0], SZ_2M + 0x1234, HWM_ACC_WRITE, PLAT_NO_PASID, &t),
		     0);
	cr_assert_eq(t.status, HWM_XLATE_OK);
	cr_assert_eq(t.pa, 0x40201234);
	/* A 4K unmap at the start of a 2M leaf unmaps (and reports) all of it. */
	cr_assert_eq(iommu_map(d, 4 * SZ_2M, 0x40400000, SZ_2M, IOMMU_READ), 0);
	cr_assert_eq(iommu_unmap(d, 4 * SZ_2M, SZ_4K), SZ_2M);
	cr_assert_eq(plat_dev_translate(e.pd[0], 4 * SZ_2M + SZ_1G / 1024, HWM_ACC_READ,
					PLAT_NO_PASID, &t),
		     0);
	cr_assert_eq(t.status, HWM_XLATE_FAULT);
	cr_assert_eq(t.fault.reason, FR_NO_READ);
	/* Mapping over a mapping is refused. */
	cr_assert_neq(iommu_map(d, SZ_2M, 0x80000000, SZ_4K, IOMMU_READ), 0);
	iommu_unmap(d, SZ_2M, SZ_2M);
	assert_checker_silent(&e);
	iommu_detach_device(d, e.dev[0]);
	iommu_domain_free(d);
	env_fini(&e);
}

/* The IOTLB serves an entry until the unmap's invalidation completes, never after. */
Test(vtd_driver, stale_iotlb_after_unmap)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	struct vtd_stats before, after;
	struct iommu_iotlb_gather g;
	struct iommu_domain *d;
	struct hwm_xlate t;
	struct env e;

	env_init(&e, &cfg, 1, 64ULL << 20);
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	cr_assert_eq(iommu_map(d, 0x100000, 0x200000, 16 * SZ_4K, IOMMU_READ | IOMMU_WRITE), 0);
	for (int i = 0; i < 16; i++) {
		cr_assert_eq(plat_dev_translate(e.pd[0], 0x100000 + i * SZ_4K, HWM_ACC_READ,
						PLAT_NO_PASID, &t),
			     0);
		cr_assert_eq(t.status, HWM_XLATE_OK);
	}
	vtd_get_stats(plat_iommu_hw(e.pi), &before);
	/* Unmap without sync: the PTE is gone but nothing was invalidated yet. */
	iommu_iotlb_gather_init(&g);
	cr_assert_eq(iommu_unmap_fast(d, 0x100000, 16 * SZ_4K, &g), 16 * SZ_4K);
	vtd_get_stats(plat_iommu_hw(e.pi), &after);
	cr_assert_eq(after.iotlb.invalidations, before.iotlb.invalidations);
	iommu_iotlb_sync(d, &g);
	vtd_get_stats(plat_iommu_hw(e.pi), &after);
	cr_assert_gt(after.descriptors[2], before.descriptors[2], "an IOTLB descriptor");
	cr_assert_gt(after.descriptors[5], before.descriptors[5], "a wait descriptor");
	for (int i = 0; i < 16; i++) {
		cr_assert_eq(plat_dev_translate(e.pd[0], 0x100000 + i * SZ_4K, HWM_ACC_READ,
						PLAT_NO_PASID, &t),
			     0);
		cr_assert_eq(t.status, HWM_XLATE_FAULT, "page %d still translates", i);
		cr_assert_eq(t.fault.reason, FR_NO_READ);
	}
	/* No invalidation for an unmapped range on a detached domain either way. */
	iommu_detach_device(d, e.dev[0]);
	iommu_domain_free(d);
	env_fini(&e);
}

/* ------------------------------------------------------------ iommufd */

struct fdenv {
	struct env e;
	struct mach_user *u;
	struct mach_proc *p;
	struct iommufd_ctx *ictx;
	struct iommufd_device *idev[2];
	uint32_t dev_id[2];
	uint32_t ioas_id;
};

static int fd_open(struct fdenv *f)
{
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	int rc, err = 0;
	unsigned i;

	rc = mach_user_get(f->e.m, 1000, &f->u);
	if (rc)
		return rc;
	rc = mach_proc_create(f->e.m, f->u, &f->p);
	if (rc)
		goto err_user;
	mach_proc_set_rlimit_memlock(f->p, MACH_RLIM_INFINITY);
	rc = iommufd_ctx_open(f->p, &f->ictx);
	if (rc)
		goto err_proc;
	if (iommufd_ioctl(f->ictx, IOMMU_IOAS_ALLOC, &ia)) {
		rc = -errno;
		goto err_ctx;
	}
	f->ioas_id = ia.out_ioas_id;
	for (i = 0; i < f->e.ndev; i++) {
		f->idev[i] = iommufd_device_bind(f->ictx, f->e.dev[i], &f->dev_id[i], &err);
		if (!f->idev[i]) {
			rc = err;
			goto err_bind;
		}
	}
	return 0;

err_bind:
	while (i--)
		iommufd_device_unbind(f->idev[i]);
err_ctx:
	iommufd_ctx_close(f->ictx);
err_proc:
	mach_proc_destroy(f->p);
err_user:
	mach_user_put(f->u);
	return rc;
}

static void fd_close(struct fdenv *f)
{
	for (unsigned i = 0; i < f->e.ndev; i++) {
		if (f->idev[i]->hwpt)
			iommufd_device_detach(f->idev[i]);
		iommufd_device_unbind(f->idev[i]);
	}
	iommufd_ctx_close(f->ictx);
	mach_proc_destroy(f->p);
	mach_user_put(f->u);
}

static int ioas_map(struct fdenv *f, uint32_t ioas, uint64_t va, uint64_t len, uint64_t iova)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = va,
		.length = len,
		.iova = iova,
	};

	return iommufd_ioctl(f->ictx, IOMMU_IOAS_MAP, &m) ? -errno : 0;
}

static int ioas_unmap(struct fdenv *f, uint32_t ioas, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len
	};

	return iommufd_ioctl(f->ictx, IOMMU_IOAS_UNMAP, &u) ? -errno : 0;
}

static uint64_t user_buf(struct fdenv *f, uint64_t len, uint8_t seed)
{
	uint8_t *tmp = malloc(len);
	uint64_t va;

	cr_assert(tmp);
	cr_assert_eq(mach_mmap(f->p, 0, len, MACH_PROT_READ | MACH_PROT_WRITE, MACH_MAP_PRIVATE,
			       NULL, 0, &va),
		     0);
	for (uint64_t i = 0; i < len; i++)
		tmp[i] = (uint8_t)(seed + i * 7 + (i >> 12));
	cr_assert_eq(mach_copy_to_user(f->p, va, tmp, len), 0);
	free(tmp);
	return va;
}

Test(vtd_driver, get_hw_info_through_iommufd)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	struct iommu_hw_info_vtd vi;
	struct fdenv f;
	uint64_t cap = 0, ecap = 0;

	env_init(&f.e, &cfg, 1, 64ULL << 20);
	cr_assert_eq(fd_open(&f), 0);
	hwm_mmio_read(plat_iommu_hw(f.e.pi), 0x08, 8, &cap);
	hwm_mmio_read(plat_iommu_hw(f.e.pi), 0x10, 8, &ecap);
	memset(&vi, 0xa5, sizeof(vi));
	struct iommu_hw_info hi = {
		.size = sizeof(hi),
		.dev_id = f.dev_id[0],
		.data_len = sizeof(vi),
		.data_uptr = (uint64_t)(uintptr_t)&vi,
	};
	cr_assert_eq(iommufd_ioctl(f.ictx, IOMMU_GET_HW_INFO, &hi), 0, "errno %d", errno);
	cr_assert_eq(hi.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
	cr_assert_eq(hi.data_len, sizeof(vi));
	cr_assert_eq(vi.cap_reg, cap);
	cr_assert_eq(vi.ecap_reg, ecap);
	cr_assert_eq(vi.flags, 0);
	cr_assert_eq(vi.__reserved, 0);
	fd_close(&f);
	env_fini(&f.e);
}

Test(vtd_driver, dma_end_to_end_and_fault_after_unmap)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	const uint64_t len = 256 * 1024, iova = 0x40000000;
	uint8_t *a = malloc(len), *b = malloc(len);
	struct intel_fault_info fi;
	struct hwm_fault hf;
	uint32_t pt = 0;
	struct fdenv f;
	uint64_t va;

	cr_assert(a && b);
	env_init(&f.e, &cfg, 1, 128ULL << 20);
	cr_assert_eq(fd_open(&f), 0);
	pt = f.ioas_id;
	cr_assert_eq(iommufd_device_attach(f.idev[0], &pt), 0);
	va = user_buf(&f, len, 3);
	cr_assert_eq(ioas_map(&f, f.ioas_id, va, len, iova), 0);

	/* The device reads what the process wrote... */
	cr_assert_eq(mach_copy_from_user(f.p, a, va, len), 0);
	cr_assert_eq(plat_dma_read(f.e.pd[0], iova, b, len, PLAT_NO_PASID, &hf), 0);
	cr_assert_arr_eq(a, b, len);
	/* ...and the process sees what the device wrote, across pages. */
	for (uint64_t i = 0; i < len; i++)
		a[i] = (uint8_t)(i * 13 + 1);
	cr_assert_eq(plat_dma_write(f.e.pd[0], iova + 100, a, len - 200, PLAT_NO_PASID, &hf), 0);
	cr_assert_eq(mach_copy_from_user(f.p, b, va + 100, len - 200), 0);
	cr_assert_arr_eq(a, b, len - 200);

	/* Unmap: the same DMA faults, as a no-read / no-write permission fault. */
	cr_assert_eq(ioas_unmap(&f, f.ioas_id, iova, len), 0);
	memset(&hf, 0, sizeof(hf));
	cr_assert_eq(plat_dma_read(f.e.pd[0], iova + 0x2000, b, 64, PLAT_NO_PASID, &hf), -EFAULT);
	cr_assert_eq(hf.vendor, HWM_VENDOR_VTD);
	cr_assert_eq(hf.reason, FR_NO_READ, "reason %u", hf.reason);
	cr_assert_eq(intel_iommu_pop_fault(f.e.iommu, &fi), 0, "the fault handler logged it");
	cr_assert_eq(fi.reason, FR_NO_READ);
	cr_assert_eq(fi.sid, plat_dev_rid(f.e.pd[0]));
	cr_assert_eq(fi.addr, iova + 0x2000);
	cr_assert(fi.read);
	memset(&hf, 0, sizeof(hf));
	cr_assert_eq(plat_dma_write(f.e.pd[0], iova + 0x3000, b, 64, PLAT_NO_PASID, &hf), -EFAULT);
	cr_assert_eq(hf.reason, FR_NO_WRITE, "reason %u", hf.reason);
	cr_assert_eq(intel_iommu_pop_fault(f.e.iommu, &fi), 0);
	cr_assert_eq(fi.reason, FR_NO_WRITE);
	cr_assert_not(fi.read);
	cr_assert_eq(fi.addr, iova + 0x3000);
	cr_assert_eq(intel_iommu_pop_fault(f.e.iommu, &fi), -ENOENT);

	assert_checker_silent(&f.e);
	fd_close(&f);
	env_fini(&f.e);
	free(a);
	free(b);
}

Test(vtd_driver, hwpt_alloc_attach_replace)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	const uint64_t len = 64 * 1024, iova = 0x10000000;
	uint8_t x[64], y[64];
	struct hwm_fault hf;
	struct fdenv f;
	uint32_t ioas2, hwpt1, hwpt2, pt;
	uint64_t va1, va2;

	env_init(&f.e, &cfg, 2, 128ULL << 20);
	cr_assert_eq(fd_open(&f), 0);
	cr_assert_eq(iommufd_ioctl(f.ictx, IOMMU_IOAS_ALLOC, &ia), 0);
	ioas2 = ia.out_ioas_id;
	va1 = user_buf(&f, len, 1);
	va2 = user_buf(&f, len, 2);
	cr_assert_eq(ioas_map(&f, f.ioas_id, va1, len, iova), 0);
	cr_assert_eq(ioas_map(&f, ioas2, va2, len, iova), 0);

	struct iommu_hwpt_alloc ha = { .size = sizeof(ha),
				       .dev_id = f.dev_id[0],
				       .pt_id = f.ioas_id };
	cr_assert_eq(iommufd_ioctl(f.ictx, IOMMU_HWPT_ALLOC, &ha), 0, "errno %d", errno);
	hwpt1 = ha.out_hwpt_id;
	ha.pt_id = ioas2;
	cr_assert_eq(iommufd_ioctl(f.ictx, IOMMU_HWPT_ALLOC, &ha), 0, "errno %d", errno);
	hwpt2 = ha.out_hwpt_id;
	ha.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	cr_assert_neq(iommufd_ioctl(f.ictx, IOMMU_HWPT_ALLOC, &ha), 0);

	/* Both devices on hwpt1 (one domain, one DID), then device 0 replaced onto hwpt2. */
	pt = hwpt1;
	cr_assert_eq(iommufd_device_attach(f.idev[0], &pt), 0);
	pt = hwpt1;
	cr_assert_eq(iommufd_device_attach(f.idev[1], &pt), 0);
	cr_assert_eq(plat_dma_read(f.e.pd[0], iova, x, sizeof(x), PLAT_NO_PASID, &hf), 0);
	cr_assert_eq(mach_copy_from_user(f.p, y, va1, sizeof(y)), 0);
	cr_assert_arr_eq(x, y, sizeof(x));
	pt = hwpt2;
	cr_assert_eq(iommufd_device_replace(f.idev[0], &pt), 0);
	cr_assert_eq(plat_dma_read(f.e.pd[0], iova, x, sizeof(x), PLAT_NO_PASID, &hf), 0);
	cr_assert_eq(mach_copy_from_user(f.p, y, va2, sizeof(y)), 0);
	cr_assert_arr_eq(x, y, sizeof(x), "after replace the device sees the second IOAS");
	/* Device 1 still on hwpt1. */
	cr_assert_eq(plat_dma_read(f.e.pd[1], iova, x, sizeof(x), PLAT_NO_PASID, &hf), 0);
	cr_assert_eq(mach_copy_from_user(f.p, y, va1, sizeof(y)), 0);
	cr_assert_arr_eq(x, y, sizeof(x));
	/* Detach: blocked, the context entry is gone (reason 2). */
	iommufd_device_detach(f.idev[1]);
	cr_assert_eq(plat_dma_read(f.e.pd[1], iova, x, sizeof(x), PLAT_NO_PASID, &hf), -EFAULT);
	cr_assert_eq(hf.reason, 2, "reason %u", hf.reason);

	assert_checker_silent(&f.e);
	iommufd_device_detach(f.idev[0]);
	struct iommu_destroy ds = { .size = sizeof(ds), .id = hwpt1 };
	cr_assert_eq(iommufd_ioctl(f.ictx, IOMMU_DESTROY, &ds), 0);
	ds.id = hwpt2;
	cr_assert_eq(iommufd_ioctl(f.ictx, IOMMU_DESTROY, &ds), 0);
	fd_close(&f);
	env_fini(&f.e);
}

/* ------------------------------------------------------------ fail-nth */

/* One attach / map / DMA / unmap / detach run; any step may fail. */
static void failnth_run(struct fdenv *f)
{
	const uint64_t len = 3 * SZ_2M, iova = 0x20000000;
	uint8_t buf[256];
	struct hwm_fault hf;
	uint32_t pt;
	uint64_t va;

	if (fd_open(f))
		return;
	pt = f->ioas_id;
	if (mach_mmap(f->p, 0, len, MACH_PROT_READ | MACH_PROT_WRITE, MACH_MAP_PRIVATE, NULL, 0,
		      &va))
		goto out;
	/* Map before and after the attach, so both fill paths are exercised. */
	if (ioas_map(f, f->ioas_id, va, SZ_2M, iova))
		goto out;
	if (iommufd_device_attach(f->idev[0], &pt))
		goto out;
	if (ioas_map(f, f->ioas_id, va + SZ_2M, 2 * SZ_2M, iova + SZ_2M) == 0) {
		memset(buf, 0x5a, sizeof(buf));
		cr_assert_eq(plat_dma_write(f->e.pd[0], iova + SZ_2M + 8, buf, sizeof(buf),
					    PLAT_NO_PASID, &hf),
			     0);
		ioas_unmap(f, f->ioas_id, iova + SZ_2M, 2 * SZ_2M);
		cr_assert_eq(plat_dma_write(f->e.pd[0], iova + SZ_2M + 8, buf, sizeof(buf),
					    PLAT_NO_PASID, &hf),
			     -EFAULT);
	}
	cr_assert_eq(plat_dma_read(f->e.pd[0], iova, buf, sizeof(buf), PLAT_NO_PASID, &hf), 0);
	ioas_unmap(f, f->ioas_id, iova, SZ_2M);
out:
	fd_close(f);
}

Test(vtd_driver, failnth_attach_map_unmap)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	struct intel_iommu_stats st;
	struct mach_mem_stats ms0, ms;
	struct fdenv f;
	uint64_t n;

	cfg.checker = false; /* injected failures may leave warm entries the checker flags */
	env_init(&f.e, &cfg, 1, 128ULL << 20);
	/* One clean run first: caches of the machine settle (context table for bus 0). */
	failnth_run(&f);
	mach_mem_stats(f.e.m, &ms0);
	cr_assert_eq(fault_set_filter(mach_fault(f.e.m),
				      FAULT_CLASS_ALLOC | FAULT_CLASS_PIN | FAULT_CLASS_ACCOUNT,
				      NULL),
		     0);
	for (n = 1; n < 5000; n++) {
		bool fired;

		fault_set_nth(mach_fault(f.e.m), n);
		failnth_run(&f);
		fired = fault_nth_fired(mach_fault(f.e.m));
		fault_set_nth(mach_fault(f.e.m), 0);
		mach_mem_stats(f.e.m, &ms);
		cr_assert_eq(ms.free_frames, ms0.free_frames, "n=%llu: frame drift %lld",
			     (unsigned long long)n, (long long)(ms.free_frames - ms0.free_frames));
		cr_assert_eq(ms.pinned_frames, 0, "n=%llu: pins left", (unsigned long long)n);
		intel_iommu_get_stats(f.e.iommu, &st);
		cr_assert_eq(st.tables_live, 0, "n=%llu: table pages left", (unsigned long long)n);
		if (!fired)
			break;
	}
	cr_assert_lt(n, 5000, "the sweep ended");
	cr_assert_gt(n, 10, "the sweep hit many points (%llu)", (unsigned long long)n);
	fault_disarm(mach_fault(f.e.m));
	env_fini(&f.e);
}

/* Two units of one machine, each with its own device; DID spaces are per unit. */
Test(vtd_driver, two_units_one_machine)
{
	struct mach_config mc = { .mem_size = 64ULL << 20, .seed = 1 };
	struct plat_dev_config dc = { .bus = 1, .dev = 0, .fn = 0 };
	struct vtd_config cfg = cfg_levels(4, 1);
	struct plat_iommu *pi[2];
	struct intel_iommu *ii[2];
	struct plat_dev *pd[2];
	struct iommu_dev *dev[2];
	struct iommu_domain *d;
	struct hwm_xlate t;
	struct mach *m;

	cr_assert_eq(mach_create(&mc, &m), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(plat_iommu_add_vtd(m, &cfg, &pi[i]), 0);
		cr_assert_eq(intel_iommu_probe(pi[i], NULL, &ii[i]), 0);
		cr_assert_eq(plat_dev_add(pi[i], &dc, &pd[i]), 0);
		cr_assert_eq(intel_iommu_probe_device(ii[i], pd[i], &dev[i]), 0);
	}
	/* One domain shared by both units' devices. */
	cr_assert_eq(iommu_domain_alloc_paging(dev[0], 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, dev[0]), 0);
	cr_assert_eq(iommu_attach_device(d, dev[1]), 0);
	cr_assert_geq(intel_domain_did(d, ii[0]), 1);
	cr_assert_geq(intel_domain_did(d, ii[1]), 1);
	cr_assert_eq(iommu_map(d, 0x200000, 0x600000, SZ_2M, IOMMU_READ), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(plat_dev_translate(pd[i], 0x200010, HWM_ACC_READ, PLAT_NO_PASID, &t),
			     0);
		cr_assert_eq(t.status, HWM_XLATE_OK);
		cr_assert_eq(t.pa, 0x600010);
	}
	cr_assert_eq(iommu_unmap(d, 0x200000, SZ_2M), SZ_2M);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(plat_dev_translate(pd[i], 0x200010, HWM_ACC_READ, PLAT_NO_PASID, &t),
			     0);
		cr_assert_eq(t.status, HWM_XLATE_FAULT, "unit %d invalidated", i);
	}
	for (int i = 0; i < 2; i++)
		iommu_detach_device(d, dev[i]);
	cr_assert_eq(intel_domain_did(d, ii[0]), -ENOENT);
	iommu_domain_free(d);
	for (int i = 0; i < 2; i++) {
		intel_iommu_release_device(dev[i]);
		plat_dev_remove(pd[i]);
		intel_iommu_remove(ii[i]);
		plat_iommu_remove(pi[i]);
	}
	mach_destroy(m);
}

/* ------------------------------------------------------- concurrency */

struct mt_arg {
	struct env *e;
	struct iommu_domain *d;
	uint64_t base, seed;
	unsigned ops;
	char err[160];
};

/* One thread's map/unmap/translate loop in its own 1 GiB window (errors as text). */
static void *mt_thread(void *p)
{
	struct mt_arg *a = p;
	uint64_t s = a->seed;

	for (unsigned op = 0; op < a->ops && !a->err[0]; op++) {
		bool huge = rng_below(&s, 4) == 0;
		uint64_t pg = huge ? SZ_2M : SZ_4K;
		uint64_t n = huge ? 1 + rng_below(&s, 3) : 1 + rng_below(&s, 40);
		uint64_t iova = a->base + rng_below(&s, (SZ_1G - n * pg) / pg) * pg;
		uint64_t pa = rng_below(&s, (1ULL << 40) / pg) * pg;
		struct hwm_xlate t;
		int rc;

		rc = iommu_map(a->d, iova, pa, n * pg, IOMMU_READ | IOMMU_WRITE);
		if (rc == -EEXIST)
			continue; /* overlaps an earlier leftover: fine, try elsewhere */
		if (rc) {
			snprintf(a->err, sizeof(a->err), "seed %llu op %u: map %d",
				 (unsigned long long)a->seed, op, rc);
			break;
		}
		if (plat_dev_translate(a->e->pd[0], iova + n * pg - 1, HWM_ACC_WRITE, PLAT_NO_PASID,
				       &t) ||
		    t.status != HWM_XLATE_OK || t.pa != pa + n * pg - 1) {
			snprintf(a->err, sizeof(a->err), "seed %llu op %u: translate after map",
				 (unsigned long long)a->seed, op);
			break;
		}
		if (iommu_unmap(a->d, iova, n * pg) != n * pg) {
			snprintf(a->err, sizeof(a->err), "seed %llu op %u: unmap",
				 (unsigned long long)a->seed, op);
			break;
		}
		if (plat_dev_translate(a->e->pd[0], iova, HWM_ACC_READ, PLAT_NO_PASID, &t) ||
		    t.status != HWM_XLATE_FAULT) {
			snprintf(a->err, sizeof(a->err), "seed %llu op %u: stale after unmap",
				 (unsigned long long)a->seed, op);
			break;
		}
	}
	return NULL;
}

Test(vtd_driver, concurrent_disjoint_map_unmap)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	struct intel_iommu_stats st;
	struct mt_arg a[4];
	pthread_t th[4];
	struct iommu_domain *d;
	struct env e;

	env_init(&e, &cfg, 1, 256ULL << 20);
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct mt_arg){ .e = &e,
					.d = d,
					.base = (uint64_t)(i + 1) * SZ_1G,
					.seed = 0x7700 + i,
					.ops = 400 };
		cr_assert_eq(pthread_create(&th[i], NULL, mt_thread, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(a[i].err[0], 0, "thread %d: %s", i, a[i].err);
	}
	assert_checker_silent(&e);
	iommu_detach_device(d, e.dev[0]);
	iommu_domain_free(d);
	intel_iommu_get_stats(e.iommu, &st);
	cr_expect_eq(st.tables_live, 0);
	env_fini(&e);
}

/*
 * Scalable mode (INTEL_MODE_AUTO on a unit with SMTS + SLTS, as Linux): the
 * RID_PASID entry is switched between two domains and cleared on detach,
 * each change followed by a PASID-cache invalidation the model honours
 * (a warm PASID cache never serves the old entry; the checker stays
 * silent); a blocked endpoint faults with "PASID entry not present".
 */
#define FR_SM_PE_NOT_PRESENT 0x59

Test(vtd_driver, scalable_replace_and_block)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	struct intel_iommu_stats st;
	struct iommu_domain *d1, *d2;
	struct hwm_xlate t;
	struct env e;
	struct mach_config mc = { .mem_size = 64ULL << 20, .seed = 1 };
	struct plat_dev_config dc = { .bus = 0, .dev = 31, .fn = 7 }; /* devfn 0xff: upper half */

	memset(&e, 0, sizeof(e));
	cr_assert_eq(mach_create(&mc, &e.m), 0);
	cr_assert_eq(plat_iommu_add_vtd(e.m, &cfg, &e.pi), 0);
	struct intel_iommu_options o;

	intel_iommu_options_default(&o);
	o.mode = INTEL_MODE_AUTO;
	cr_assert_eq(intel_iommu_probe(e.pi, &o, &e.iommu), 0);
	cr_assert(intel_iommu_scalable(e.iommu), "AUTO: scalable when supported");
	cr_assert_eq(plat_dev_add(e.pi, &dc, &e.pd[0]), 0);
	cr_assert_eq(intel_iommu_probe_device(e.iommu, e.pd[0], &e.dev[0]), 0);
	e.ndev = 1;
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d1), 0);
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d2), 0);
	cr_assert_eq(iommu_map(d1, 0x40000, 0x100000, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(iommu_map(d2, 0x40000, 0x200000, SZ_4K, IOMMU_READ), 0);

	cr_assert_eq(iommu_attach_device(d1, e.dev[0]), 0);
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x40010, HWM_ACC_READ, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_OK);
	cr_assert_eq(t.pa, 0x100010);
	cr_assert_eq(iommu_replace_device(e.dev[0], d2), 0);
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x40010, HWM_ACC_READ, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_OK);
	cr_assert_eq(t.pa, 0x200010, "the new PASID entry is used");
	iommu_detach_device(d2, e.dev[0]);
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x40010, HWM_ACC_READ, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_FAULT);
	cr_assert_eq(t.fault.reason, FR_SM_PE_NOT_PRESENT);
	intel_iommu_get_stats(e.iommu, &st);
	cr_assert_geq(st.pc_invalidations, 3, "probe (global), replace, detach");
	assert_checker_silent(&e);

	cr_assert_eq(iommu_unmap(d1, 0x40000, SZ_4K), SZ_4K);
	cr_assert_eq(iommu_unmap(d2, 0x40000, SZ_4K), SZ_4K);
	iommu_domain_free(d1);
	iommu_domain_free(d2);
	intel_iommu_get_stats(e.iommu, &st);
	cr_expect_eq(st.tables_live, 0);
	while (intel_iommu_pop_fault(e.iommu, &(struct intel_fault_info){ 0 }) == 0)
		;
	env_fini(&e);
}

/*
 * First-stage domains (opts.first_stage): probe needs scalable mode and
 * FLTS (and FL5LP for 5 levels); the PASID entry is PGTT = first stage;
 * permissions as x86-64 paging gives them (P readable, R/W writable);
 * unmaps are PASID-based IOTLB invalidations (type 6), never type 2; the
 * aperture is the canonical lower half.
 */
Test(vtd_driver, first_stage_domain)
{
	struct vtd_config cfg = cfg_levels(4, 3);
	struct mach_config mc = { .mem_size = 64ULL << 20, .seed = 1 };
	struct intel_iommu_options o;
	struct vtd_stats v0, v1;
	struct intel_iommu *bad;
	struct plat_iommu *pi;
	struct iommu_domain *d;
	struct hwm_xlate t;
	struct mach *m;
	struct env e;

	/* Refused: no FLTS; legacy mode; 5 levels without FL5LP; 3 levels. */
	cr_assert_eq(mach_create(&mc, &m), 0);
	intel_iommu_options_default(&o);
	o.first_stage = true;
	o.mode = INTEL_MODE_SCALABLE;
	cfg.flts = false;
	cfg.nest = false; /* the model refuses nesting without FLTS */
	cr_assert_eq(plat_iommu_add_vtd(m, &cfg, &pi), 0);
	cr_assert_eq(intel_iommu_probe(pi, &o, &bad), -ENODEV);
	plat_iommu_remove(pi);
	cfg.flts = true;
	cfg.nest = true;
	cr_assert_eq(plat_iommu_add_vtd(m, &cfg, &pi), 0);
	o.mode = INTEL_MODE_LEGACY;
	cr_assert_eq(intel_iommu_probe(pi, &o, &bad), -ENODEV);
	o.mode = INTEL_MODE_SCALABLE;
	o.levels = 5;
	cr_assert_eq(intel_iommu_probe(pi, &o, &bad), -ENODEV);
	o.levels = 3;
	cr_assert_eq(intel_iommu_probe(pi, &o, &bad), -ENODEV);
	plat_iommu_remove(pi);
	mach_destroy(m);

	env_init_fs(&e, &cfg, 1, 64ULL << 20, 4);
	cr_assert_eq(iommu_domain_alloc_paging(e.dev[0], 0, &d), 0);
	cr_assert_eq(d->geometry.aperture_end, (1ULL << 47) - 1);
	cr_assert_eq(d->pgsize_bitmap, SZ_4K | SZ_2M | SZ_1G);
	cr_assert_eq(iommu_attach_device(d, e.dev[0]), 0);
	cr_assert_eq(iommu_map(d, 0x100000, 0x200000, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(iommu_map(d, 0x101000, 0x201000, SZ_4K, IOMMU_WRITE), 0);
	cr_assert_eq(iommu_map(d, SZ_1G, SZ_1G, SZ_2M, IOMMU_READ | IOMMU_WRITE), 0);
	cr_assert_eq(iommu_map(d, 1ULL << 47, 0x300000, SZ_4K, IOMMU_READ), -EFAULT);
	/* Read-only: reads, no writes (0x85). Write-only: readable too (P). */
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x100000, HWM_ACC_READ, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_OK);
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x100000, HWM_ACC_WRITE, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_FAULT);
	cr_assert_eq(t.fault.reason, FR_SM_NO_WRITE);
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x101000, HWM_ACC_READ, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_OK);
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x101000, HWM_ACC_WRITE, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_OK);
	cr_assert_eq(t.pa, 0x201000);
	/* A 2 MiB leaf (PS in the PDE). */
	cr_assert_eq(plat_dev_translate(e.pd[0], SZ_1G + 0x12345, HWM_ACC_WRITE, PLAT_NO_PASID, &t),
		     0);
	cr_assert_eq(t.status, HWM_XLATE_OK);
	cr_assert_eq(t.pa, SZ_1G + 0x12345);
	cr_assert_geq(t.page_size, SZ_2M);
	/* Unmap with a warm IOTLB: type 6, no type 2; then not present (0x71). */
	cr_assert_eq(vtd_get_stats(plat_iommu_hw(e.pi), &v0), 0);
	cr_assert_eq(iommu_unmap(d, SZ_1G, SZ_2M), SZ_2M);
	cr_assert_eq(iommu_unmap(d, 0x100000, 2 * SZ_4K), 2 * SZ_4K);
	cr_assert_eq(vtd_get_stats(plat_iommu_hw(e.pi), &v1), 0);
	cr_assert_eq(v1.descriptors[DESC_PIOTLB] - v0.descriptors[DESC_PIOTLB], 2);
	cr_assert_eq(v1.descriptors[DESC_IOTLB], v0.descriptors[DESC_IOTLB]);
	cr_assert_eq(plat_dev_translate(e.pd[0], SZ_1G + 0x12345, HWM_ACC_READ, PLAT_NO_PASID, &t),
		     0);
	cr_assert_eq(t.status, HWM_XLATE_FAULT);
	cr_assert_eq(t.fault.reason, FR_SM_FS_NOT_PRESENT);
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x100000, HWM_ACC_READ, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_FAULT);
	cr_assert_eq(t.fault.reason, FR_SM_FS_NOT_PRESENT);
	/* Detach: the RID_PASID entry goes (0x59), through a type 6 too. */
	cr_assert_eq(iommu_map(d, 0x100000, 0x200000, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x100000, HWM_ACC_READ, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_OK);
	cr_assert_eq(vtd_get_stats(plat_iommu_hw(e.pi), &v0), 0);
	iommu_detach_device(d, e.dev[0]);
	cr_assert_eq(vtd_get_stats(plat_iommu_hw(e.pi), &v1), 0);
	cr_assert_eq(v1.descriptors[DESC_PIOTLB] - v0.descriptors[DESC_PIOTLB], 1);
	cr_assert_eq(plat_dev_translate(e.pd[0], 0x100000, HWM_ACC_READ, PLAT_NO_PASID, &t), 0);
	cr_assert_eq(t.status, HWM_XLATE_FAULT);
	cr_assert_eq(t.fault.reason, 0x59);
	assert_checker_silent(&e);
	iommu_domain_free(d);
	env_fini(&e);
}
