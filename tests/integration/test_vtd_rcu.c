// SPDX-License-Identifier: MIT
/*
 * Table pages of the Intel VT-d driver against walks on other threads
 * (docs/hw/intel-driver.md, "Walkers on other threads"): a freed table
 * page goes back to the machine only after an RCU (urcu-bp) grace period,
 * because a translation that began before the unlink may still read it.
 *
 *  - grace: a reader thread holds a read-side section (as a DMA
 *    translation does); another thread unmaps a range whose level-1 table
 *    is unlinked and synced. The frame stays referenced, and the unmap does
 *    not return, until the reader leaves; then the frame is free. Domain
 *    free leaves no table.
 *  - large switch: a 2 MiB map over an emptied table (the old table freed
 *    synchronously) does not return, nor free the table, while a reader
 *    holds its section.
 *  - PASID tables: releasing a scalable-mode endpoint does not free its
 *    PASID directory and table, nor return, while a reader holds its
 *    section.
 *  - stress: reader threads translate IOVAs of two 2 MiB slots through the
 *    device while a writer cycles them in turn (each slot mapping its own
 *    addresses, so a freed table page reused by the other slot shows up):
 *    4 KiB pages mapped, then either
 *    unmapped whole (the table goes through the freelist and a grace period) or
 *    unmapped one by one and replaced by a 2 MiB page over the emptied
 *    table (the large-page switch frees it after synchronize_rcu); a
 *    scribbler thread takes free frames and fills them with entries that
 *    map a poison address, so a walk that read a reused table page would
 *    come back with it. Every successful translation must give an address
 *    one of the mappings gave that IOVA. Fixed seeds, printed on failure.
 *    At the end: no table page, no frame left.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <urcu-bp.h>

#include <iommusim/hw.h>
#include <iommusim/hw_vtd.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>

#include "iommu/intel/intel.h"
#include "iommu/iommu.h"

#define SZ_4K (1ULL << 12)
#define SZ_2M (1ULL << 21)
#define PA_SMALL 0x4000000ULL /* 4 KiB pages: iova + PA_SMALL */
#define PA_LARGE 0x8000000ULL /* the 2 MiB page */
#define PA_POISON 0xe000000ULL /* what a reused frame maps */
#define SLOT 0x40000000ULL /* the cycled 2 MiB slots: SLOT + s * 2 MiB */
#define NSLOTS 2
#define SLOT_PA(s) ((uint64_t)(s)*0x1000000ULL) /* added to PA_SMALL/PA_LARGE */
#define NSMALL 16 /* 4 KiB pages mapped per cycle */
#define ADDR_MASK 0x000ffffffffff000ULL

struct env {
	struct mach *m;
	struct plat_iommu *pi;
	struct intel_iommu *iommu;
	struct plat_dev *pd;
	struct iommu_dev *dev;
	struct iommu_domain *d;
	uint64_t free0;
};

static void env_init_mode(struct env *e, enum intel_iommu_mode mode)
{
	struct mach_config mc = { .mem_size = 512ULL << 20, .seed = 1 };
	struct plat_dev_config dc = { .bus = 0, .dev = 2, .fn = 0 };
	struct intel_iommu_options o;
	struct mach_mem_stats ms;

	memset(e, 0, sizeof(*e));
	intel_iommu_options_default(&o);
	o.mode = mode;
	cr_assert_eq(mach_create(&mc, &e->m), 0);
	mach_mem_stats(e->m, &ms);
	e->free0 = ms.free_frames;
	cr_assert_eq(plat_iommu_add_vtd(e->m, NULL, &e->pi), 0);
	cr_assert_eq(intel_iommu_probe(e->pi, &o, &e->iommu), 0);
	cr_assert_eq(plat_dev_add(e->pi, &dc, &e->pd), 0);
	cr_assert_eq(intel_iommu_probe_device(e->iommu, e->pd, &e->dev), 0);
	cr_assert_eq(iommu_domain_alloc_paging(e->dev, 0, &e->d), 0);
	cr_assert_eq(iommu_attach_device(e->d, e->dev), 0);
}

static void env_init(struct env *e)
{
	env_init_mode(e, INTEL_MODE_LEGACY);
}

static void env_fini(struct env *e)
{
	struct intel_iommu_stats st;
	struct mach_mem_stats ms;

	iommu_detach_device(e->d, e->dev);
	iommu_domain_free(e->d);
	intel_iommu_get_stats(e->iommu, &st);
	cr_expect_eq(st.tables_live, 0, "table pages left: %llu",
		     (unsigned long long)st.tables_live);
	intel_iommu_release_device(e->dev);
	plat_dev_remove(e->pd);
	intel_iommu_remove(e->iommu);
	plat_iommu_remove(e->pi);
	mach_mem_stats(e->m, &ms);
	cr_expect_eq(ms.free_frames, e->free0, "frames leaked: %lld",
		     (long long)(e->free0 - ms.free_frames));
	mach_destroy(e->m);
}

static uint64_t rd64(struct mach *m, uint64_t pa)
{
	uint64_t v = 0;

	cr_assert_eq(mach_phys_read(m, pa, &v, sizeof(v)), 0);
	return v;
}

/* The level-1 table pfn under @iova (4-level second-stage tables). */
static uint64_t l1_table_pfn(struct env *e, uint64_t iova)
{
	uint64_t tpa = intel_domain_pgd(e->d);
	unsigned l;

	for (l = 4; l > 1; l--) {
		uint64_t ent = rd64(e->m, tpa + ((iova >> (12 + 9 * (l - 1))) & 511) * 8);

		cr_assert(ent & 3, "level %u entry not present", l);
		tpa = ent & ADDR_MASK;
	}
	return tpa >> 12;
}

static uint32_t frame_refs(struct mach *m, uint64_t pfn)
{
	struct mach_frame_info fi;

	cr_assert_eq(mach_frame_query(m, pfn, &fi), 0);
	return fi.refcount;
}

/* ---------------------------------------------------------------- grace */

struct holder {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state; /* 0 start, 1 in section, 2 told to leave */
};

static void *hold_reader(void *arg)
{
	struct holder *h = arg;

	rcu_read_lock();
	pthread_mutex_lock(&h->mu);
	h->state = 1;
	pthread_cond_broadcast(&h->cv);
	while (h->state != 2)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	rcu_read_unlock();
	return NULL;
}

/* A reader thread that enters its section and stays there until released. */
static void holder_start(struct holder *h, pthread_t *th)
{
	cr_assert_eq(pthread_create(th, NULL, hold_reader, h), 0);
	pthread_mutex_lock(&h->mu);
	while (h->state != 1)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

static void holder_release(struct holder *h, pthread_t th)
{
	pthread_mutex_lock(&h->mu);
	h->state = 2;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(th, NULL);
}

struct unmapper {
	struct env *e;
	size_t unmapped;
	int done; /* atomic */
};

static void *unmap_slot(void *arg)
{
	struct unmapper *u = arg;

	u->unmapped = iommu_unmap(u->e->d, SLOT, SZ_2M);
	__atomic_store_n(&u->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(vtd_rcu, freed_table_waits_for_grace_period)
{
	struct holder h = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	const struct timespec ms20 = { .tv_nsec = 20 * 1000 * 1000 };
	struct unmapper u = { 0 };
	struct hwm_xlate x;
	pthread_t th, tu;
	uint64_t pfn;
	int i;
	struct env e;

	env_init(&e);
	u.e = &e;
	cr_assert_eq(iommu_map(e.d, SLOT, PA_SMALL, SZ_4K, IOMMU_READ), 0);
	cr_assert_eq(plat_dev_translate(e.pd, SLOT, HWM_ACC_READ, PLAT_NO_PASID, &x), 0);
	cr_assert_eq(x.status, HWM_XLATE_OK);
	pfn = l1_table_pfn(&e, SLOT);
	cr_assert_eq(frame_refs(e.m, pfn), 1);

	holder_start(&h, &th);

	/* The whole 2 MiB range: the level-1 table is unlinked, synced, retired;
	 * the unmap waits for the grace period before it returns the frame. */
	cr_assert_eq(pthread_create(&tu, NULL, unmap_slot, &u), 0);
	for (i = 0; i < 5; i++) {
		nanosleep(&ms20, NULL);
		cr_assert_eq(frame_refs(e.m, pfn), 1,
			     "table frame returned while a reader is in its section");
	}
	cr_expect_eq(__atomic_load_n(&u.done, __ATOMIC_ACQUIRE), 0,
		     "the unmap returned while a reader was in its section");

	holder_release(&h, th);
	pthread_join(tu, NULL);
	cr_assert_eq(u.unmapped, SZ_2M);
	cr_assert_eq(plat_dev_translate(e.pd, SLOT, HWM_ACC_READ, PLAT_NO_PASID, &x), 0);
	cr_expect_neq(x.status, HWM_XLATE_OK, "unmapped IOVA still translates");
	cr_expect_eq(frame_refs(e.m, pfn), 0, "table frame not freed after the grace period");
	env_fini(&e);
}

struct switcher {
	struct env *e;
	int rc, done; /* done: atomic */
};

static void *switch_large(void *arg)
{
	struct switcher *w = arg;

	w->rc = iommu_map(w->e->d, SLOT, PA_LARGE, SZ_2M, IOMMU_READ);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The large-page switch over an emptied table waits (synchronize_rcu) for readers. */
Test(vtd_rcu, large_switch_waits_for_readers)
{
	struct holder h = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	const struct timespec ms20 = { .tv_nsec = 20 * 1000 * 1000 };
	struct switcher w = { 0 };
	pthread_t th, tw;
	uint64_t pfn;
	int i;
	struct env e;

	env_init(&e);
	w.e = &e;
	cr_assert_eq(iommu_map(e.d, SLOT, PA_SMALL, SZ_4K, IOMMU_READ), 0);
	pfn = l1_table_pfn(&e, SLOT);
	cr_assert_eq(iommu_unmap(e.d, SLOT, SZ_4K), SZ_4K); /* table left empty, linked */

	holder_start(&h, &th);
	cr_assert_eq(pthread_create(&tw, NULL, switch_large, &w), 0);
	for (i = 0; i < 5; i++) {
		nanosleep(&ms20, NULL);
		cr_assert_eq(frame_refs(e.m, pfn), 1, "old table freed under a reader");
	}
	cr_expect_eq(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE), 0,
		     "the switch returned while a reader was in its section");

	holder_release(&h, th);
	pthread_join(tw, NULL);
	cr_assert_eq(w.rc, 0);
	cr_expect_eq(frame_refs(e.m, pfn), 0, "old table not freed after the grace period");
	cr_assert_eq(iommu_unmap(e.d, SLOT, SZ_2M), SZ_2M);
	env_fini(&e);
}

struct releaser {
	struct iommu_dev *dev;
	int done; /* atomic */
};

static void *release_dev(void *arg)
{
	struct releaser *w = arg;

	intel_iommu_release_device(w->dev);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Scalable mode: a released endpoint's PASID directory and table (read by a
 * walk between the context entry and the page tables) are put only after
 * the readers of the moment leave; the release waits for them.
 */
Test(vtd_rcu, pasid_tables_wait_for_readers)
{
	struct holder h = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	const struct timespec ms20 = { .tv_nsec = 20 * 1000 * 1000 };
	struct releaser w = { 0 };
	struct mach_mem_stats ms;
	uint64_t rta, ct, ce, pdir, ptbl;
	pthread_t th, tw;
	int i;
	struct env e;

	env_init_mode(&e, INTEL_MODE_SCALABLE);
	cr_assert(intel_iommu_scalable(e.iommu));
	/* RTADDR (§11.4.5) -> root entry of bus 0, low half (devfn < 128, §9.2) ->
	 * 32-byte scalable context entry (§9.4) -> PASID directory -> entry 0 (§9.5) */
	cr_assert_eq(hwm_mmio_read(plat_iommu_hw(e.pi), 0x20, 8, &rta), 0);
	ct = rd64(e.m, rta & ADDR_MASK) & ADDR_MASK;
	ce = ct + (2 << 3) * 32;
	pdir = rd64(e.m, ce) & ADDR_MASK;
	cr_assert(pdir, "no PASID directory");
	ptbl = rd64(e.m, pdir) & ADDR_MASK;
	cr_assert(ptbl, "no PASID table");
	cr_assert_eq(frame_refs(e.m, pdir >> 12), 1);
	cr_assert_eq(frame_refs(e.m, ptbl >> 12), 1);

	iommu_detach_device(e.d, e.dev);
	iommu_domain_free(e.d);
	holder_start(&h, &th);
	w.dev = e.dev;
	cr_assert_eq(pthread_create(&tw, NULL, release_dev, &w), 0);
	for (i = 0; i < 5; i++) {
		nanosleep(&ms20, NULL);
		cr_assert_eq(frame_refs(e.m, ptbl >> 12), 1, "PASID table freed under a reader");
		cr_assert_eq(frame_refs(e.m, pdir >> 12), 1,
			     "PASID directory freed under a reader");
	}
	cr_expect_eq(__atomic_load_n(&w.done, __ATOMIC_ACQUIRE), 0,
		     "the release returned while a reader was in its section");

	holder_release(&h, th);
	pthread_join(tw, NULL);
	cr_expect_eq(frame_refs(e.m, ptbl >> 12), 0,
		     "PASID table not freed after the grace period");
	cr_expect_eq(frame_refs(e.m, pdir >> 12), 0, "PASID directory not freed");
	plat_dev_remove(e.pd);
	intel_iommu_remove(e.iommu);
	plat_iommu_remove(e.pi);
	mach_mem_stats(e.m, &ms);
	cr_expect_eq(ms.free_frames, e.free0, "frames leaked: %lld",
		     (long long)(e.free0 - ms.free_frames));
	mach_destroy(e.m);
}

/* --------------------------------------------------------------- stress */

#define NREADERS 3
#ifndef CYCLES
#define CYCLES 300
#endif

struct stress {
	struct env *e;
	int stop; /* atomic */
	uint64_t bad, ok, bad_iova, bad_pa; /* atomic / first failure */
	uint32_t seed;
};

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void *stress_reader(void *arg)
{
	struct stress *s = arg;
	uint32_t seed = __atomic_add_fetch(&s->seed, 7919, __ATOMIC_RELAXED);
	struct hwm_xlate x;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		/* Mostly inside the 4 KiB pages, where walks reach level 1. */
		unsigned sl = xorshift(&seed) % NSLOTS;
		uint64_t off = (xorshift(&seed) % (NSMALL + 4)) * SZ_4K + (xorshift(&seed) & 0xff8);
		uint64_t iova = SLOT + sl * SZ_2M + off, pa;

		if (plat_dev_translate(s->e->pd, iova, HWM_ACC_READ, PLAT_NO_PASID, &x))
			continue;
		if (x.status != HWM_XLATE_OK)
			continue;
		pa = x.pa - SLOT_PA(sl);
		if ((off < NSMALL * SZ_4K && pa == PA_SMALL + off) || pa == PA_LARGE + off) {
			__atomic_add_fetch(&s->ok, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (__atomic_add_fetch(&s->bad, 1, __ATOMIC_RELAXED) == 1) {
			s->bad_iova = iova;
			s->bad_pa = pa;
		}
	}
	return NULL;
}

/* Take free frames and make them look like tables mapping PA_POISON everywhere. */
static void *scribbler(void *arg)
{
	struct stress *s = arg;
	uint64_t ent = PA_POISON | 0x83; /* R|W|PS: a leaf at any level */
	static const unsigned n = 8;
	uint64_t pfn[8], page[512];
	unsigned i, k;

	for (i = 0; i < 512; i++)
		page[i] = ent;
	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		for (k = 0; k < n; k++) {
			if (mach_frame_alloc(s->e->m, MACH_ORDER_4K, &pfn[k]))
				break;
			mach_phys_write(s->e->m, pfn[k] << 12, page, sizeof(page));
		}
		sched_yield();
		while (k--)
			mach_frame_put(s->e->m, pfn[k]);
	}
	return NULL;
}

Test(vtd_rcu, walks_never_see_reused_tables, .timeout = 120)
{
	struct stress s = { .seed = 12345 };
	pthread_t rd[NREADERS], sc;
	unsigned c, i;
	struct env e;

	env_init(&e);
	s.e = &e;
	for (i = 0; i < NREADERS; i++)
		cr_assert_eq(pthread_create(&rd[i], NULL, stress_reader, &s), 0);
	cr_assert_eq(pthread_create(&sc, NULL, scribbler, &s), 0);

	for (c = 0; c < CYCLES; c++) {
		/*
		 * Slots alternate, so a table page freed from one is likely the
		 * next one's table: a stale walk would read the other slot's pages.
		 */
		uint64_t base = SLOT + (c % NSLOTS) * SZ_2M, pa = SLOT_PA(c % NSLOTS);

		for (i = 0; i < NSMALL; i++)
			cr_assert_eq(iommu_map(e.d, base + i * SZ_4K, pa + PA_SMALL + i * SZ_4K,
					       SZ_4K, IOMMU_READ),
				     0, "cycle %u", c);
		if ((c / NSLOTS) & 1) {
			/* Freelist path: the table is unlinked, freed after a grace period. */
			cr_assert_eq(iommu_unmap(e.d, base, SZ_2M), SZ_2M, "cycle %u", c);
			continue;
		}
		/* Large-page switch over the emptied table (synchronize_rcu). */
		for (i = 0; i < NSMALL; i++)
			cr_assert_eq(iommu_unmap(e.d, base + i * SZ_4K, SZ_4K), SZ_4K, "cycle %u",
				     c);
		cr_assert_eq(iommu_map(e.d, base, pa + PA_LARGE, SZ_2M, IOMMU_READ), 0, "cycle %u",
			     c);
		cr_assert_eq(iommu_unmap(e.d, base, SZ_2M), SZ_2M, "cycle %u", c);
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < NREADERS; i++)
		pthread_join(rd[i], NULL);
	pthread_join(sc, NULL);

	cr_expect_eq(s.bad, 0,
		     "seed %u: %llu translations outside the mappings (first: iova %#llx -> %#llx)",
		     12345u, (unsigned long long)s.bad, (unsigned long long)s.bad_iova,
		     (unsigned long long)s.bad_pa);
	cr_expect_gt(s.ok, 0, "no translation succeeded: the test checked nothing");
	env_fini(&e);
}
