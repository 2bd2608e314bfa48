/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d driver: paging domains (second-stage translation, §3.7, §9.8).
 *
 * Tables. A domain owns a tree of 4 KiB table frames in simulated memory
 * (mach_frame_alloc), 512 64-bit entries each, 3, 4 or 5 levels deep
 * (level 1 holds 4 KiB leaves, level 2 may hold 2 MiB leaves, level 3 1 GiB
 * leaves, when CAP.SLLPS allows). An entry is present when R or W is set
 * (§9.8: second-stage entries have no P bit); a table entry is R|W with the
 * next table's address; a leaf is R/W per prot, PS above level 1, SNP for
 * IOMMU_CACHE when ECAP.SC, and the output address (bits 51:12).
 *
 * First-stage domains (opts.first_stage, scalable mode, §3.6, §9.7) use
 * the same tree code with x86-64 entries: P|R/W|U/S|A for tables, P|U/S|A
 * (+R/W|D when writable) for leaves, PS at the same bit 7; A and D are
 * preset so the unit never writes an entry this code compares-and-swaps.
 *
 * Concurrency. map and unmap may run at once on disjoint IOVA ranges (the
 * iommu core's contract). Missing intermediate tables are installed with a
 * compare-and-exchange on the parent entry; the loser frees its frame and
 * uses the winner's. A leaf is written only by the thread mapping its range.
 * A table is unlinked only by an unmap covering its whole range, which no
 * concurrent operation on a disjoint range can be using. Entries are
 * written with release stores so a walker (the model, reading through the
 * bus) sees either the old or the new 64-bit value.
 *
 * Large pages. A run of large pages is written as large leaves. When an
 * empty table (left by earlier smaller mappings) sits where a large leaf
 * goes, the entry is swapped to the leaf, the range invalidated with the
 * paging-structure caches, and only then the old subtree freed (see
 * switch_to_large).
 *
 * Unmap. Leaves in the range are cleared; a table whose whole range is
 * unmapped is unlinked and, with its subtables, put on the gather's
 * freelist. As Linux, an unmap that starts on a larger leaf than asked
 * unmaps (and reports) the whole leaf. Nothing is freed and no caller may
 * unpin before iotlb_sync: one page-selective invalidation per attached
 * unit covering the gathered range (IH set when no table was freed, so the
 * paging-structure caches may be kept, §6.5.2.3), or domain-selective when
 * the mask would exceed MAMV; then a wait; then the freelist frames are
 * released. If the wait fails (timeout), the frames are kept ("stranded")
 * until the domain is freed, never reused while the hardware may walk them:
 * the freelist is pushed on dom->stranded, a singly linked list under
 * dom->lock, so stranding needs no memory and cannot fail. If the freelist
 * cannot grow (allocation failure), the domain is flushed synchronously and
 * the page freed at once; if that flush fails too, the page is abandoned on
 * purpose (the hardware may still walk it and nothing can record it): it
 * leaves dom->tables and tables_live and is counted in tables_leaked.
 *
 * Domain ids. A domain has one DID per unit it is attached on, allocated on
 * the first endpoint of that unit and freed with the last (after the
 * detach's context-cache and IOTLB invalidation of that DID).
 *
 * Walkers on other threads (RCU). The invalidation wait only tells that the
 * unit's caches no longer hold the old entries; a translation that another
 * thread started before the unlink may still be walking the old tables in
 * simulated memory (the model reads them through the bus, not through its
 * caches). Every translation of the DMA path runs in an urcu-bp read-side
 * critical section (src/machine/device.c, include/iommusim/platform.h), so
 * a freed table page is returned to the machine (mach_frame_put) only after
 * the invalidation wait and then synchronize_rcu: once every walk that could
 * have seen the page is over. Synchronously, not through call_rcu: the
 * frames must come back at the same point of every run, or the frames later
 * allocations get, and the trace, differ from run to run (determinism). A
 * lazy flush waits one grace period for its whole queue. urcu-bp is the
 * flavour because DMA runs on the caller's threads, which register nothing.
 * Never call these with a read-side section held (a DMA path never calls
 * the driver from inside one).
 *
 * Lazy mode (intel_iommu_options.lazy): iotlb_sync queues (range, freelist)
 * in a flush queue; when it is full (fq_size), when its oldest entry is
 * fq_timeout_ns old (simulated time, checked at each sync), on
 * flush_iotlb_all and at free, one domain-selective invalidation per unit
 * is issued, waited for, and the queued frames are freed.
 */
#include <errno.h>

#include <iommusim/fault.h>
#include <iommusim/iommufd.h>
#include <iommusim/machine.h>

#include "iommu/intel/intel_priv.h"
#include "lib/util.h"

static inline unsigned lvl_shift(unsigned level)
{
	return 12 + 9 * (level - 1);
}

static inline uint64_t lvl_size(unsigned level)
{
	return 1ULL << lvl_shift(level);
}

static inline uint64_t *tbl(struct intel_domain *dom, uint64_t pa)
{
	return intel_phys_ptr(dom->mach, pa);
}

static inline uint64_t pte_load(uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void pte_store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline bool pte_is_leaf(uint64_t e, unsigned level)
{
	return level == 1 || (e & SL_PTE_PS);
}

static int table_alloc(struct intel_domain *dom, uint64_t *pa)
{
	uint64_t pfn;
	int rc;

	rc = mach_frame_alloc(dom->mach, MACH_ORDER_4K, &pfn);
	if (rc)
		return rc;
	*pa = pfn << MACH_PAGE_SHIFT;
	__atomic_add_fetch(&dom->tables, 1, __ATOMIC_RELAXED);
	STAT_INC(dom->maker, tables_live);
	return 0;
}

static void table_free_pfn(struct intel_domain *dom, uint64_t pfn)
{
	mach_frame_put(dom->mach, pfn);
	__atomic_sub_fetch(&dom->tables, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&dom->maker->stats.tables_live, 1, __ATOMIC_RELAXED);
}

/* Free @fl's pages now: no walker can reach them (after a grace period, or never linked). */
static void freelist_free_now(struct intel_domain *dom, struct intel_freelist *fl)
{
	size_t i;

	if (!fl)
		return;
	for (i = 0; i < fl->n; i++)
		table_free_pfn(dom, fl->pfn[i]);
	fault_free(fl);
}

/*
 * Release @fl after its invalidation completed: the pages go back to the
 * machine after an RCU grace period, when no translation that might have
 * read them is still walking. Waited for here (synchronize_rcu), not left
 * to a call_rcu callback: a callback thread returns the frames at a moment
 * the run does not control, and the frames the next allocations get (the
 * addresses in the trace) would change from run to run.
 */
static void freelist_release(struct intel_domain *dom, struct intel_freelist *fl)
{
	if (!fl)
		return;
	if (fl->n)
		synchronize_rcu();
	freelist_free_now(dom, fl);
}

/*
 * Keep @fl's pages until the domain is freed: their invalidation did not
 * complete, the hardware may still walk them. A push on dom->stranded: no
 * allocation, so it cannot fail. Under dom->lock.
 */
static void freelist_strand_locked(struct intel_domain *dom, struct intel_freelist *fl)
{
	if (!fl)
		return;
	if (!fl->n) {
		fault_free(fl);
		return;
	}
	fl->next = dom->stranded;
	dom->stranded = fl;
}

/* -------------------------------------------------------- invalidation */

/* flush_units_locked() flags */
#define UF_DOMAIN (1u << 0) /* domain-selective (and whole device TLBs); range ignored */
#define UF_IH (1u << 1) /* page-selective: only leaves changed */
#define UF_DEVTLB (1u << 2) /* page-selective: the device TLBs too */
#define UF_CM_ONLY (1u << 3) /* only units in caching mode (CAP.CM) */

/*
 * Invalidate [@start, @end] of the domain (everything with UF_DOMAIN) on
 * each of its units, each with its own DID; 0 or the first error (every
 * unit is still flushed). Under dom->lock.
 */
static int flush_units_locked(struct intel_domain *dom, uint64_t start, uint64_t end,
			      unsigned flags)
{
	unsigned i;
	int rc = 0, r;

	for (i = 0; i < dom->nunits; i++) {
		struct intel_iommu *iommu = dom->units[i].iommu;

		if ((flags & UF_CM_ONLY) && !CAP_CM(iommu->cap))
			continue;
		if (flags & UF_DOMAIN)
			r = intel_flush_iotlb_domain(iommu, dom->units[i].did);
		else
			r = intel_flush_iotlb(iommu, dom->units[i].did, start, end, flags & UF_IH,
					      flags & UF_DEVTLB);
		if (r && !rc)
			rc = r;
	}
	return rc;
}

/* Domain-selective invalidation on every unit; 0 or the first error. Under dom->lock. */
static int flush_all_locked(struct intel_domain *dom)
{
	return flush_units_locked(dom, 0, 0, UF_DOMAIN);
}

static void fq_flush_locked(struct intel_domain *dom)
{
	uint32_t i;
	int rc;

	if (!dom->fq_n)
		return;
	rc = flush_all_locked(dom);
	STAT_INC(dom->maker, fq_flushes);
	if (!rc)
		synchronize_rcu(); /* one grace period for the whole queue (freelist_release) */
	for (i = 0; i < dom->fq_n; i++) {
		struct intel_freelist *fl = dom->fq[i].fl;

		if (!rc)
			freelist_free_now(dom, fl);
		else
			freelist_strand_locked(dom, fl);
		dom->fq[i].fl = NULL;
	}
	dom->fq_n = 0;
}

/* Freelist for @g, growing it; false when it cannot grow. */
static bool gather_add_table(struct intel_domain *dom, struct iommu_iotlb_gather *g, uint64_t pa)
{
	struct intel_freelist *fl = g->freelist, *nfl;

	if (!fl || fl->n == fl->cap) {
		size_t cap = fl ? fl->cap * 2 : 16;

		nfl = fault_realloc(dom->fc, "intel.freelist", fl, sizeof(*fl) + cap * 8);
		if (!nfl)
			return false;
		if (!fl) {
			nfl->n = 0;
			nfl->next = NULL;
		}
		nfl->cap = cap;
		g->freelist = fl = nfl;
	}
	fl->pfn[fl->n++] = pa >> MACH_PAGE_SHIFT;
	return true;
}

/* A table page that is no longer linked: free it after an invalidation. */
static void retire_table(struct intel_domain *dom, struct iommu_iotlb_gather *g, uint64_t pa)
{
	int rc;

	if (gather_add_table(dom, g, pa))
		return;
	/* No memory to defer it: invalidate now, synchronously, then free. */
	pthread_mutex_lock(&dom->lock);
	rc = flush_all_locked(dom);
	pthread_mutex_unlock(&dom->lock);
	if (!rc) {
		synchronize_rcu(); /* a walk may still be on it */
		table_free_pfn(dom, pa >> MACH_PAGE_SHIFT);
		return;
	}
	/*
	 * Abandoned on purpose: the hardware may still walk it, and without
	 * memory nothing can remember it for domain free. It is no longer the
	 * domain's: out of its count and tables_live, into tables_leaked.
	 */
	__atomic_sub_fetch(&dom->tables, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&dom->maker->stats.tables_live, 1, __ATOMIC_RELAXED);
	STAT_INC(dom->maker, tables_leaked);
}

/* ----------------------------------------------------------------- map */

/*
 * Descend toward @iova from table *@tpa of level @level down to the table
 * of level @lvl; an empty entry on the way gets a new table when @alloc.
 * Returns the level where it stopped: @lvl, *@tpa that table; or a higher
 * one, at a leaf (in *@pe) or, without @alloc, an empty entry (*@pe = 0).
 * With @lvl = 0 it stops at the entry mapping @iova or at the hole.
 * Negative errno when a table cannot be allocated. *@tpa is only updated
 * when @lvl is reached. Always inlined: the constant @alloc and @lvl of each
 * caller then leave the lookup loop as tight as a hand-written one (the
 * lookup is iova_to_phys(), hot in IOAS_UNMAP).
 */
static inline __attribute__((always_inline)) int pt_descend(struct intel_domain *dom, uint64_t iova,
							    uint64_t *tpa, unsigned level,
							    unsigned lvl, bool alloc, uint64_t *pe)
{
	uint64_t *t, e, npa, exp, pa = *tpa;
	unsigned idx;
	int rc;

	for (; level > lvl; level--) {
		t = tbl(dom, pa);
		idx = (iova >> lvl_shift(level)) & 511;
		e = pte_load(&t[idx]);
		if (!e) {
			if (!alloc) {
				*pe = 0;
				return (int)level;
			}
			rc = table_alloc(dom, &npa);
			if (rc)
				return rc;
			exp = 0;
			e = npa | dom->tbl_attrs;
			if (!__atomic_compare_exchange_n(&t[idx], &exp, e, false, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE)) {
				table_free_pfn(dom, npa >> MACH_PAGE_SHIFT);
				e = exp;
			}
		}
		if (pte_is_leaf(e, level)) {
			*pe = e;
			return (int)level;
		}
		pa = e & VTD_ADDR_MASK;
	}
	*tpa = pa;
	return (int)level;
}

/* Level of the leaf mapping @iova below table @tpa of @level, 0 when nothing maps it. */
static unsigned leaf_below(struct intel_domain *dom, uint64_t tpa, unsigned level, uint64_t iova,
			   uint64_t *pte)
{
	uint64_t e = 0; /* level 0 reached: not a case, but gcc cannot tell */
	int l = pt_descend(dom, iova, &tpa, level, 0, false, &e);

	if (!e)
		return 0;
	if (pte)
		*pte = e;
	return (unsigned)l;
}

/* True when no leaf is mapped anywhere under table @tpa of @level. */
static bool pt_tree_empty(struct intel_domain *dom, uint64_t tpa, unsigned level)
{
	uint64_t *t = tbl(dom, tpa), e;
	unsigned i;

	for (i = 0; i < 512; i++) {
		e = pte_load(&t[i]);
		if (!e)
			continue;
		if (pte_is_leaf(e, level))
			return false;
		if (!pt_tree_empty(dom, e & VTD_ADDR_MASK, level - 1))
			return false;
	}
	return true;
}

static void pt_free_tree(struct intel_domain *dom, uint64_t tpa, unsigned level);

/*
 * A large leaf is wanted at *@pte (level @lvl) where a table @e sits, left
 * behind by earlier smaller mappings. If the subtree maps nothing, swap the
 * entry to the leaf, invalidate the range including the paging-structure
 * caches (IH = 0: a walker may hold the old table pointer, §6.5.2.3) on
 * every unit, and only then free the subtree (Linux's switch_to_super_page).
 * Anything still mapped under it is a map over a mapping: -EEXIST. If the
 * invalidation fails the table goes back in place (nothing to free).
 */
static int switch_to_large(struct intel_domain *dom, uint64_t *pte, uint64_t e, unsigned lvl,
			   uint64_t iova, uint64_t leaf)
{
	uint64_t exp = e;
	int rc;

	if (!pt_tree_empty(dom, e & VTD_ADDR_MASK, lvl - 1))
		return -EEXIST;
	if (!__atomic_compare_exchange_n(pte, &exp, leaf, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return -EEXIST;
	pthread_mutex_lock(&dom->lock);
	rc = flush_units_locked(dom, iova, iova + lvl_size(lvl) - 1, UF_DEVTLB);
	pthread_mutex_unlock(&dom->lock);
	if (rc) {
		pte_store(pte, e);
		return rc;
	}
	/* A walk that read the old table pointer may still be below it. */
	synchronize_rcu();
	pt_free_tree(dom, e & VTD_ADDR_MASK, lvl - 1);
	return 0;
}

static int pt_map(struct intel_domain *dom, uint64_t iova, uint64_t pa, unsigned lvl, size_t count,
		  uint64_t attrs, size_t *mapped)
{
	const uint64_t sz = lvl_size(lvl);
	uint64_t *t, e, tpa;
	unsigned idx, i, n;
	int rc;

	while (count) {
		tpa = dom->pgd_pa;
		rc = pt_descend(dom, iova, &tpa, dom->levels, lvl, true, &e);
		if (rc < 0)
			return rc;
		if ((unsigned)rc != lvl)
			return -EEXIST; /* a larger leaf covers this range */
		t = tbl(dom, tpa);
		idx = (iova >> lvl_shift(lvl)) & 511;
		n = (unsigned)min((size_t)(512 - idx), count);
		for (i = 0; i < n; i++, iova += sz, pa += sz, count--) {
			e = pte_load(&t[idx + i]);
			if (!e) {
				pte_store(&t[idx + i], pa | attrs | (lvl > 1 ? SL_PTE_PS : 0));
				*mapped += sz;
				continue;
			}
			if (!pte_is_leaf(e, lvl)) {
				rc = switch_to_large(dom, &t[idx + i], e, lvl, iova,
						     pa | attrs | SL_PTE_PS);
				if (rc)
					return rc;
				*mapped += sz;
				continue;
			}
			return -EEXIST;
		}
	}
	return 0;
}

static int intel_map_pages(struct iommu_domain *d, uint64_t iova, uint64_t paddr, size_t pgsize,
			   size_t pgcount, int prot, size_t *mapped)
{
	struct intel_domain *dom = to_intel_domain(d);
	uint64_t attrs = 0, size;
	unsigned lvl;

	*mapped = 0;
	if (!(prot & (IOMMU_READ | IOMMU_WRITE)))
		return -EINVAL;
	if (!is_power_of_2(pgsize) || !(d->pgsize_bitmap & pgsize) || !pgcount)
		return -EINVAL;
	lvl = (ilog2(pgsize) - 12) / 9 + 1;
	if (lvl_size(lvl) != pgsize || !IS_ALIGNED(iova | paddr, pgsize))
		return -EINVAL;
	if (check_mul_overflow((uint64_t)pgsize, (uint64_t)pgcount, &size) ||
	    iova + size - 1 < iova || iova + size - 1 > d->geometry.aperture_end)
		return -EFAULT;
	if (paddr + size - 1 > VTD_ADDR_MASK)
		return -EINVAL;
	if (dom->fs) {
		/*
		 * §9.7: P makes a page readable (a write-only mapping reads too,
		 * as Linux's); U/S for requests without PASID; A and, when
		 * writable, D preset (no hardware write-back).
		 */
		attrs = FL_PTE_P | FL_PTE_US | FL_PTE_A;
		if (prot & IOMMU_WRITE)
			attrs |= FL_PTE_RW | FL_PTE_D;
		return pt_map(dom, iova, paddr, lvl, pgcount, attrs, mapped);
	}
	if (prot & IOMMU_READ)
		attrs |= SL_PTE_R;
	if (prot & IOMMU_WRITE)
		attrs |= SL_PTE_W;
	if ((prot & IOMMU_CACHE) && dom->snp)
		attrs |= SL_PTE_SNP;
	return pt_map(dom, iova, paddr, lvl, pgcount, attrs, mapped);
}

/* --------------------------------------------------------------- unmap */

/* Put every table below (and including) @tpa on the gather's freelist. */
static void pt_retire_tree(struct intel_domain *dom, struct iommu_iotlb_gather *g, uint64_t tpa,
			   unsigned level)
{
	uint64_t *t = tbl(dom, tpa), e;
	unsigned i;

	if (level > 1) {
		for (i = 0; i < 512; i++) {
			e = pte_load(&t[i]);
			if (e && !pte_is_leaf(e, level))
				pt_retire_tree(dom, g, e & VTD_ADDR_MASK, level - 1);
		}
	}
	retire_table(dom, g, tpa);
}

/* What pt_clear() unmaps: [start, last], widened to a larger leaf at start. */
struct pt_unmap {
	uint64_t start, last;
	bool first; /* the entries holding start are still to be checked */
};

/*
 * Clear [u->start, u->last] below table @tpa of @level (covering from
 * @base). The first entries it meets are those holding u->start, so that
 * path is checked before anything is cleared: false (nothing done) when
 * nothing maps u->start or a larger leaf does that does not start there;
 * a larger leaf that starts there widens u->last to its end.
 */
static bool pt_clear(struct intel_domain *dom, struct iommu_iotlb_gather *g, uint64_t tpa,
		     unsigned level, uint64_t base, struct pt_unmap *u)
{
	const unsigned shift = lvl_shift(level);
	const uint64_t esz = 1ULL << shift;
	uint64_t *t = tbl(dom, tpa);
	unsigned idx = (unsigned)(((u->start > base ? u->start : base) - base) >> shift);

	for (; idx < 512; idx++) {
		uint64_t es = base + ((uint64_t)idx << shift), el = es + esz - 1, e;

		if (es > u->last)
			break;
		e = pte_load(&t[idx]);
		if (u->first) {
			if (!e)
				return false;
			if (pte_is_leaf(e, level)) {
				if (esz > u->last - u->start + 1) {
					if (!IS_ALIGNED(u->start, esz))
						return false;
					u->last = el; /* es == u->start */
				}
			} else if (es >= u->start && el <= u->last) {
				if (!leaf_below(dom, e & VTD_ADDR_MASK, level - 1, u->start, NULL))
					return false;
			} else {
				if (!pt_clear(dom, g, e & VTD_ADDR_MASK, level - 1, es, u))
					return false;
				continue;
			}
			u->first = false;
		}
		if (!e)
			continue;
		if (pte_is_leaf(e, level)) {
			pte_store(&t[idx], 0);
			/* A large leaf only partly inside is gone whole: widen the flush. */
			iommu_iotlb_gather_add_range(g, es, esz);
			continue;
		}
		if (es >= u->start && el <= u->last) {
			pte_store(&t[idx], 0);
			pt_retire_tree(dom, g, e & VTD_ADDR_MASK, level - 1);
			continue;
		}
		pt_clear(dom, g, e & VTD_ADDR_MASK, level - 1, es, u);
	}
	return true;
}

static size_t intel_unmap_pages(struct iommu_domain *d, uint64_t iova, size_t pgsize,
				size_t pgcount, struct iommu_iotlb_gather *g)
{
	struct intel_domain *dom = to_intel_domain(d);
	struct pt_unmap u;
	uint64_t size;

	if (check_mul_overflow((uint64_t)pgsize, (uint64_t)pgcount, &size) || !size ||
	    iova + size - 1 < iova || iova > d->geometry.aperture_end)
		return 0;
	if (iova + size - 1 > d->geometry.aperture_end)
		size = d->geometry.aperture_end - iova + 1;
	/* One walk: pt_clear() checks what maps iova before it clears anything. */
	u.start = iova;
	u.last = iova + size - 1;
	u.first = true;
	if (!pt_clear(dom, g, dom->pgd_pa, dom->levels, 0, &u))
		return 0;
	size = u.last - iova + 1;
	iommu_iotlb_gather_add_range(g, iova, size);
	if (g->pgsize < pgsize)
		g->pgsize = pgsize;
	return size;
}

static void intel_iotlb_sync(struct iommu_domain *d, struct iommu_iotlb_gather *g)
{
	struct intel_domain *dom = to_intel_domain(d);
	struct intel_freelist *fl = g->freelist;
	bool ih = !fl || !fl->n;
	int rc;

	g->freelist = NULL;
	pthread_mutex_lock(&dom->lock);
	if (dom->lazy) {
		uint64_t now = mach_now(dom->mach);

		if (dom->fq_n &&
		    (dom->fq_n == dom->fq_size || now - dom->fq_first_ns >= dom->fq_timeout_ns))
			fq_flush_locked(dom);
		if (!dom->fq_n)
			dom->fq_first_ns = now;
		dom->fq[dom->fq_n].start = g->start;
		dom->fq[dom->fq_n].end = g->end;
		dom->fq[dom->fq_n].fl = fl;
		dom->fq_n++;
		g->queued = true;
		pthread_mutex_unlock(&dom->lock);
		return;
	}
	rc = flush_units_locked(dom, g->start, g->end, UF_DEVTLB | (ih ? UF_IH : 0));
	if (rc) {
		freelist_strand_locked(dom, fl);
		fl = NULL;
	}
	pthread_mutex_unlock(&dom->lock);
	freelist_release(dom, fl);
}

/*
 * Caching mode (CAP.CM, §6.1): the unit may have cached the not-present
 * entries a new mapping replaced, so a map is followed by a page-selective
 * invalidation on each such unit (as Linux's iommu_flush_iotlb_psi with
 * map set). Units without CM need nothing: with none attached (cm_units,
 * changed under dom->lock with the unit list) a map takes no lock. A map
 * that reads 0 while an attach adds a CM unit is ordered before that
 * attach, as it would be had it taken the lock first.
 */
static int intel_iotlb_sync_map(struct iommu_domain *d, uint64_t iova, size_t size)
{
	struct intel_domain *dom = to_intel_domain(d);
	int rc;

	if (!__atomic_load_n(&dom->cm_units, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&dom->lock);
	/* Device TLBs never hold not-present results: no device-TLB flush. */
	rc = flush_units_locked(dom, iova, iova + size - 1, UF_CM_ONLY);
	pthread_mutex_unlock(&dom->lock);
	return rc;
}

static void intel_flush_iotlb_all(struct iommu_domain *d)
{
	struct intel_domain *dom = to_intel_domain(d);

	pthread_mutex_lock(&dom->lock);
	if (dom->fq_n)
		fq_flush_locked(dom);
	else
		flush_all_locked(dom);
	pthread_mutex_unlock(&dom->lock);
}

static uint64_t intel_iova_to_phys(struct iommu_domain *d, uint64_t iova)
{
	struct intel_domain *dom = to_intel_domain(d);
	uint64_t e;
	unsigned l;

	if (iova > d->geometry.aperture_end)
		return 0;
	l = leaf_below(dom, dom->pgd_pa, dom->levels, iova, &e);
	if (!l)
		return 0;
	return (e & VTD_ADDR_MASK & ~(lvl_size(l) - 1)) | (iova & (lvl_size(l) - 1));
}

/* -------------------------------------------------------------- attach */

/* DID of @dom on @iommu, allocating one for a first endpoint. Under iommu->lock. */
static int dom_unit_get(struct intel_domain *dom, struct intel_iommu *iommu, uint16_t *did)
{
	unsigned i;
	int rc;

	pthread_mutex_lock(&dom->lock);
	for (i = 0; i < dom->nunits; i++) {
		if (dom->units[i].iommu == iommu) {
			dom->units[i].refs++;
			*did = dom->units[i].did;
			pthread_mutex_unlock(&dom->lock);
			return 0;
		}
	}
	rc = -ENOSPC;
	if (dom->nunits == INTEL_DOMAIN_MAX_UNITS)
		goto out;
	rc = intel_did_alloc(iommu, did);
	if (rc)
		goto out;
	/* Before any flush of this DID: first-stage ids take PASID-based IOTLB invalidations. */
	intel_did_set_fs(iommu, *did, dom->fs);
	dom->units[dom->nunits].iommu = iommu;
	dom->units[dom->nunits].did = *did;
	dom->units[dom->nunits].refs = 1;
	dom->nunits++;
	if (CAP_CM(iommu->cap))
		__atomic_add_fetch(&dom->cm_units, 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&dom->lock);
	return rc;
}

/* Drop one endpoint of @iommu; the DID goes with the last. Under iommu->lock. */
static void dom_unit_put(struct intel_domain *dom, struct intel_iommu *iommu)
{
	unsigned i;

	pthread_mutex_lock(&dom->lock);
	for (i = 0; i < dom->nunits; i++) {
		if (dom->units[i].iommu != iommu)
			continue;
		if (--dom->units[i].refs == 0) {
			intel_did_free(iommu, dom->units[i].did);
			dom->units[i] = dom->units[--dom->nunits];
			if (CAP_CM(iommu->cap))
				__atomic_sub_fetch(&dom->cm_units, 1, __ATOMIC_RELEASE);
		}
		break;
	}
	pthread_mutex_unlock(&dom->lock);
}

static int intel_attach_dev(struct iommu_domain *d, struct iommu_dev *dev)
{
	struct intel_domain *dom = to_intel_domain(d);
	struct intel_dev *info = to_intel_dev(dev);
	struct intel_iommu *iommu = info->iommu;
	struct intel_domain *old = dev->domain ? to_intel_domain(dev->domain) : NULL;
	uint16_t did;
	int rc;

	/*
	 * The unit must walk this domain's format: second stage §9.3 AW,
	 * §11.4.2 SAGAW, SLLPS, MGAW; first stage scalable mode with FLTS,
	 * FL5LP for 5 levels, FL1GP for 1 GiB pages.
	 */
	if (dom->fs) {
		if (!iommu->sm || !iommu->fs_pgsize_bitmap ||
		    (dom->levels == 5 && !CAP_FL5LP(iommu->cap)) ||
		    (d->pgsize_bitmap & ~iommu->fs_pgsize_bitmap))
			return -EINVAL;
	} else if (!(iommu->sagaw & (1u << (dom->levels - 2))) ||
		   (d->pgsize_bitmap & ~iommu->pgsize_bitmap) ||
		   (iommu->mgaw < 64 && d->geometry.aperture_end > (1ULL << iommu->mgaw) - 1)) {
		return -EINVAL;
	}
	pthread_mutex_lock(&iommu->lock);
	rc = dom_unit_get(dom, iommu, &did);
	if (rc)
		goto out;
	rc = intel_ctx_set(iommu, info, did, dom->pgd_pa, dom->levels, dom->fs);
	if (rc) {
		dom_unit_put(dom, iommu);
		/* Keep the device on what it used before (best effort). */
		if (old && !info->ctx_present) {
			uint16_t odid = (uint16_t)intel_domain_did(&old->domain, iommu);

			intel_ctx_set(iommu, info, odid, old->pgd_pa, old->levels, old->fs);
		}
		goto out;
	}
	if (old)
		dom_unit_put(old, iommu);
out:
	pthread_mutex_unlock(&iommu->lock);
	return rc;
}

void intel_block_dev(struct iommu_dev *dev)
{
	struct intel_dev *info = to_intel_dev(dev);
	struct intel_iommu *iommu = info->iommu;

	pthread_mutex_lock(&iommu->lock);
	intel_ctx_clear(iommu, info);
	if (dev->domain)
		dom_unit_put(to_intel_domain(dev->domain), iommu);
	pthread_mutex_unlock(&iommu->lock);
}

int intel_domain_did(struct iommu_domain *d, struct intel_iommu *iommu)
{
	struct intel_domain *dom = to_intel_domain(d);
	int did = -ENOENT;
	unsigned i;

	pthread_mutex_lock(&dom->lock);
	for (i = 0; i < dom->nunits; i++)
		if (dom->units[i].iommu == iommu)
			did = dom->units[i].did;
	pthread_mutex_unlock(&dom->lock);
	return did;
}

uint64_t intel_domain_pgd(struct iommu_domain *d)
{
	return to_intel_domain(d)->pgd_pa;
}

/* ------------------------------------------------------ alloc and free */

static void pt_free_tree(struct intel_domain *dom, uint64_t tpa, unsigned level)
{
	uint64_t *t = tbl(dom, tpa), e;
	unsigned i;

	if (level > 1) {
		for (i = 0; i < 512; i++) {
			e = t[i];
			if (e && !pte_is_leaf(e, level))
				pt_free_tree(dom, e & VTD_ADDR_MASK, level - 1);
		}
	}
	table_free_pfn(dom, tpa >> MACH_PAGE_SHIFT);
}

static void intel_domain_free(struct iommu_domain *d)
{
	struct intel_domain *dom = to_intel_domain(d);
	struct intel_freelist *fl;

	/* Detached from every unit: nothing can walk the tables any more. */
	pthread_mutex_lock(&dom->lock);
	fq_flush_locked(dom);
	pthread_mutex_unlock(&dom->lock);
	/*
	 * Detached, but a translation begun before the detach may still walk
	 * the tables: wait it out.
	 */
	synchronize_rcu();
	while ((fl = dom->stranded)) {
		dom->stranded = fl->next;
		freelist_free_now(dom, fl);
	}
	if (dom->pgd_pa)
		pt_free_tree(dom, dom->pgd_pa, dom->levels);
	pthread_mutex_destroy(&dom->lock);
	fault_free(dom->fq);
	fault_free(dom);
}

const struct iommu_domain_ops intel_domain_ops = {
	.map_pages = intel_map_pages,
	.unmap_pages = intel_unmap_pages,
	.iova_to_phys = intel_iova_to_phys,
	.iotlb_sync = intel_iotlb_sync,
	.flush_iotlb_all = intel_flush_iotlb_all,
	.free = intel_domain_free,
	.attach_dev = intel_attach_dev,
	.iotlb_sync_map = intel_iotlb_sync_map,
};

int intel_domain_alloc_paging(struct iommu_device *idev, struct iommu_dev *dev, uint32_t flags,
			      struct iommu_domain **out)
{
	struct intel_iommu *iommu = to_intel_iommu(idev);
	struct intel_domain *dom;
	unsigned bits;
	int rc;

	if (flags)
		return -EOPNOTSUPP; /* no nesting parent, dirty tracking or PASID here */
	dom = fault_zalloc(iommu->fc, "intel.domain_alloc", sizeof(*dom));
	if (!dom)
		return -ENOMEM;
	dom->mach = iommu->mach;
	dom->fc = iommu->fc;
	dom->maker = iommu;
	dom->levels = iommu->levels;
	dom->fs = iommu->fs;
	dom->snp = !dom->fs && ECAP_SC(iommu->ecap); /* SNP is a second-stage bit (§9.8) */
	dom->tbl_attrs =
		dom->fs ? FL_PTE_P | FL_PTE_RW | FL_PTE_US | FL_PTE_A : SL_PTE_R | SL_PTE_W;
	pthread_mutex_init(&dom->lock, NULL);
	if (iommu->opts.lazy) {
		dom->lazy = true;
		dom->fq_size = iommu->opts.fq_size;
		dom->fq_timeout_ns = iommu->opts.fq_timeout_ns;
		dom->fq = fault_calloc(iommu->fc, "intel.fq_alloc", dom->fq_size, sizeof(*dom->fq));
		if (!dom->fq) {
			rc = -ENOMEM;
			goto err_free;
		}
	}
	rc = table_alloc(dom, &dom->pgd_pa);
	if (rc)
		goto err_free;
	dom->domain.type = IOMMU_DOMAIN_PAGING;
	dom->domain.ops = &intel_domain_ops;
	dom->domain.pgsize_bitmap = dom->fs ? iommu->fs_pgsize_bitmap : iommu->pgsize_bitmap;
	bits = min(iommu->mgaw, lvl_shift(dom->levels) + 9);
	/*
	 * First stage: input addresses must be canonical (§3.6.1), so only the
	 * lower half, bit N-1 clear (Linux's first-level width).
	 */
	if (dom->fs)
		bits = min(iommu->mgaw, lvl_shift(dom->levels) + 8);
	dom->domain.geometry.aperture_start = 0;
	dom->domain.geometry.aperture_end = bits >= 64 ? UINT64_MAX : (1ULL << bits) - 1;
	dom->domain.geometry.force_aperture = true;
	*out = &dom->domain;
	return 0;

err_free:
	pthread_mutex_destroy(&dom->lock);
	fault_free(dom->fq);
	fault_free(dom);
	return rc;
}
