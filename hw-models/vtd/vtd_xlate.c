/* SPDX-License-Identifier: MIT */
/*
 * VT-d translation: structure decode (root, context, PASID directory and
 * table: VT-d 3.4 §3.4, §9.1-§9.6), the second-stage walk (§3.7, §9.8), the
 * first-stage walk in the IA-32e format (§3.6, §9.7), nesting (§3.8), the
 * caches in front of them (§6.2) and the protocol checker's data-path rules.
 *
 * Flow of one request: TE off -> identity. Context cache (by SID) or a root
 * + context fetch; in scalable mode the PASID cache (by SID, PASID) or a
 * directory + PASID-entry fetch; then the IOTLB (by DID, PASID, page) probed
 * once per page size present, or a walk that starts from the deepest hit in
 * the paging-structure cache and fills both. ATS requests first consult the
 * modelled device TLB of the requester. Every failure is a fault reason
 * (never a crash or an errno): the record is built, logged unless FPD or
 * ATS, and returned as data.
 *
 * Three layers serve a request (docs/hw/vtd.md): the translation memo
 * (memo_get: a recent fast-path hit whose cache sets are unchanged), the
 * fast path (translate: cached context/PASID entry and a plain IOTLB hit, or
 * a second-stage miss straight to the walk) and the general path (the chain
 * of stages from general() to iotlb_hit()/walk_and_fill(), entered by
 * handover() where the fast path stopped). Invariant: each cache is
 * consulted once per request whatever the layer, so results, cost, counters
 * and LRU order are the same; the fast path is taken only with the checker
 * off and without ATS, whose work needs whole payloads.
 *
 * Concurrency: nothing here takes v->lock except fault recording; register
 * state is read with atomic loads (see vtd_internal.h); memo slots are
 * seqlocked (vtd_internal.h).
 */
#include "vtd/vtd_internal.h"

#include <errno.h>
#include <string.h>

#include <iommusim/trace.h>

#define CONTAINER(p) ((struct vtd *)((char *)(p)-offsetof(struct vtd, iommu)))
#define NO_DID 0xffffffffu

struct xl {
	struct vtd *v;
	const struct hwm_req *req;
	struct hwm_cost *cost;
	bool scalable;
	bool fpd;
	unsigned levels; /* levels read by the last walk, for the trace */
	uint64_t epoch; /* v->inval_epoch before the first lookup: fills are made against it */
};

static inline bool inject_armed(const struct vtd *v)
{
	struct fault_ctx *fc = v->bus.fault;

	return fc && __atomic_load_n(&((struct fault_ctx_head *)fc)->armed, __ATOMIC_RELAXED);
}

/* rd() with a fault context armed: the injection points, in their order. */
static __attribute__((noinline)) int rd_inject(struct vtd *v, uint64_t pa, void *buf, size_t len,
					       bool is_pte)
{
	if (vtd_inject(v, "vtd.walk_read", pa))
		return -1;
	if (hwm_bus_read(&v->bus, pa, buf, len) != HWM_MEM_OK)
		return -1;
	if (is_pte && vtd_inject(v, "vtd.pte_flip", pa))
		*(uint64_t *)buf ^=
			BIT(1); /* flip W (SS) / RW (FS) as if the entry was corrupted */
	return 0;
}

/*
 * One table read during a walk: counted, injectable (points vtd.walk_read,
 * and vtd.pte_flip for paging entries, only looked at when the fault
 * context is armed). Returns 0 or -1 (access error).
 */
static inline int rd(struct xl *x, uint64_t pa, void *buf, size_t len, bool is_pte)
{
	struct vtd *v = x->v;
	struct fault_ctx *fc = v->bus.fault;

	hwm_cost_mem(x->cost, &v->cfg.cost);
	if (__builtin_expect(
		    fc && __atomic_load_n(&((struct fault_ctx_head *)fc)->armed, __ATOMIC_RELAXED),
		    0))
		return rd_inject(v, pa, buf, len, is_pte);
	return hwm_bus_read(&v->bus, pa, buf, len) == HWM_MEM_OK ? 0 : -1;
}

/* Set @bits in the entry at @pa (A/D update, §3.6.2 / §3.7.2). */
static void set_bits(struct xl *x, uint64_t pa, uint64_t *pte, uint64_t bits)
{
	struct vtd *v = x->v;
	uint64_t old = *pte;

	if ((old & bits) == bits)
		return;
	hwm_cost_mem(x->cost, &v->cfg.cost);
	if (v->bus.ops->cmpxchg64) {
		for (int i = 0; i < 4; i++) {
			uint64_t exp = old;
			if (v->bus.ops->cmpxchg64(v->bus.ctx, pa, &exp, old | bits) != HWM_MEM_OK)
				return;
			if (exp == old)
				break;
			old = exp; /* someone changed it: retry on the new value */
		}
	} else {
		uint64_t nv = old | bits;
		hwm_bus_write(&v->bus, pa, &nv, 8);
	}
	*pte = old | bits;
}

static inline bool beyond_haw(const struct vtd *v, uint64_t ptr)
{
	return (ptr & GENMASK(63, 12) & ~v->haw_mask) != 0;
}

/* ------------------------------------------------------------ context */

static uint32_t ctx_fetch(struct xl *x, uint64_t rta, struct vtd_ctxi *ci)
{
	struct vtd *v = x->v;
	uint32_t rid = x->req->rid & 0xffff;
	unsigned bus = rid >> 8, devfn = rid & 0xff;
	uint64_t re[2], root_pa, ctp, ce[4];
	bool sm = x->scalable;

	memset(ci, 0, sizeof(*ci));
	if (beyond_haw(v, rta))
		return sm ? FR_SM_RTA_INVALID : FR_ROOT_ACCESS;
	root_pa = (rta & GENMASK(63, 12)) + bus * 16ull;
	if (rd(x, root_pa, re, 16, false))
		return sm ? FR_SM_ROOT_ACCESS : FR_ROOT_ACCESS;
	if (!sm) {
		/* §9.1 root entry: P 0, CTP 63:12, the rest reserved. */
		if (!(re[0] & 1))
			return FR_ROOT_NP;
		if ((re[0] & GENMASK(11, 1)) || beyond_haw(v, re[0]) || re[1]) {
			vtd_check(v, VTD_CHK_RSVD_ENTRY, rid, root_pa, re[0]);
			return FR_ROOT_RSVD;
		}
		ctp = re[0] & GENMASK(63, 12);
		/* §9.3 context entry: lo P 0, FPD 1, TT 3:2, SSPTPTR 63:12; hi AW 2:0, DID 23:8. */
		ci->entry_pa = ctp + devfn * 16ull;
		if (rd(x, ci->entry_pa, ce, 16, false))
			return FR_CTX_ACCESS;
		ci->raw[0] = ce[0];
		ci->raw[1] = ce[1];
		if (!(ce[0] & 1))
			return FR_CTX_NP;
		ci->fpd = !!(ce[0] & 2);
		x->fpd = ci->fpd;
		if ((ce[0] & GENMASK(11, 4)) || beyond_haw(v, ce[0]) || (ce[1] & BIT(7)) ||
		    (ce[1] & GENMASK(63, 24))) {
			vtd_check(v, VTD_CHK_RSVD_ENTRY, rid, ci->entry_pa, ce[0]);
			return FR_CTX_RSVD;
		}
		ci->tt = FIELD(ce[0], 3, 2);
		ci->did = FIELD(ce[1], 23, 8);
		ci->levels = FIELD(ce[1], 2, 0) + 2;
		ci->sslptr = ce[0] & GENMASK(63, 12);
		if (ci->tt == 3 || (ci->tt == 1 && !v->cfg.dt) || (ci->tt == 2 && !v->cfg.pt)) {
			if (ci->tt != 3)
				vtd_check(v, VTD_CHK_CAP_CLEAR, rid, ci->entry_pa, ce[0]);
			return FR_CTX_INVALID;
		}
		if (ci->tt != 2 &&
		    (FIELD(ce[1], 2, 0) > 3 || !(v->cfg.sagaw & BIT(FIELD(ce[1], 2, 0))))) {
			vtd_check(v, VTD_CHK_CAP_CLEAR, rid, ci->entry_pa, ce[1]);
			return FR_CTX_INVALID;
		}
		return 0;
	}
	/* §9.2 scalable root entry: lo P 0 / LCTP 63:12 (devfn 0-127); hi UP / UCTP. */
	{
		uint64_t half = devfn >= 128 ? re[1] : re[0];
		if (!(half & 1))
			return FR_SM_ROOT_NP;
		if ((half & GENMASK(11, 1)) || beyond_haw(v, half)) {
			vtd_check(v, VTD_CHK_RSVD_ENTRY, rid, root_pa, half);
			return FR_SM_ROOT_RSVD;
		}
		ctp = half & GENMASK(63, 12);
	}
	/* §9.4 scalable context entry (256 bits): qw0 P 0, FPD 1, DTE 2, PASIDE 3,
	 * PRE 4, PDTS 11:9, PASIDDIRPTR 63:12; qw1 RID_PASID 19:0, RID_PRIV 20. */
	ci->entry_pa = ctp + (devfn & 0x7f) * 32ull;
	if (rd(x, ci->entry_pa, ce, 32, false))
		return FR_SM_CTX_ACCESS;
	ci->raw[0] = ce[0];
	ci->raw[1] = ce[1];
	if (!(ce[0] & 1))
		return FR_SM_CTX_NP;
	ci->fpd = !!(ce[0] & 2);
	x->fpd = ci->fpd;
	if ((ce[0] & GENMASK(8, 5)) || beyond_haw(v, ce[0]) || (ce[1] & GENMASK(63, 21)) || ce[2] ||
	    ce[3]) {
		vtd_check(v, VTD_CHK_RSVD_ENTRY, rid, ci->entry_pa, ce[0]);
		return FR_SM_CTX_RSVD;
	}
	ci->scalable = 1;
	ci->dte = !!(ce[0] & BIT(2));
	ci->paside = !!(ce[0] & BIT(3));
	ci->pre = !!(ce[0] & BIT(4));
	ci->pdts = FIELD(ce[0], 11, 9);
	ci->sslptr = ce[0] & GENMASK(63, 12);
	ci->rid_pasid = FIELD(ce[1], 19, 0);
	if ((ci->dte && !v->cfg.dt) || (ci->paside && !v->cfg.pasid) || (ci->pre && !v->cfg.prs)) {
		vtd_check(v, VTD_CHK_CAP_CLEAR, rid, ci->entry_pa, ce[0]);
		return FR_SM_CTX_INVALID;
	}
	return 0;
}

static uint32_t pasid_fetch(struct xl *x, const struct vtd_ctxi *ci, uint32_t pasid,
			    struct vtd_pei *pe)
{
	struct vtd *v = x->v;
	uint32_t rid = x->req->rid;
	uint64_t pde_pa, pde, q[4];

	memset(pe, 0, sizeof(*pe));
	/* §9.5: directory index = PASID 19:6, 2^(PDTS+7) entries. */
	if ((pasid >> 6) >= (1u << (ci->pdts + 7)) || pasid >= (1u << (v->cfg.pss + 1)))
		return FR_SM_PASID_TOO_LARGE;
	pde_pa = ci->sslptr + (uint64_t)(pasid >> 6) * 8;
	if (rd(x, pde_pa, &pde, 8, false))
		return FR_SM_PDIR_ACCESS;
	if (!(pde & 1))
		return FR_SM_PDIR_NP;
	if ((pde & GENMASK(11, 2)) || beyond_haw(v, pde)) {
		vtd_check(v, VTD_CHK_RSVD_ENTRY, rid, pde_pa, pde);
		return FR_SM_PDIR_RSVD;
	}
	if (pde & 2)
		x->fpd = true;
	/* §9.6 PASID table entry (512 bits; we decode the first 256). */
	pe->entry_pa = (pde & GENMASK(63, 12)) + (uint64_t)(pasid & 63) * 64;
	if (rd(x, pe->entry_pa, q, 32, false))
		return FR_SM_PE_ACCESS;
	memcpy(pe->raw, q, sizeof(pe->raw));
	if (!(q[0] & 1))
		return FR_SM_PE_NP;
	pe->fpd = !!(q[0] & 2) || x->fpd;
	x->fpd = pe->fpd;
	if ((q[1] & GENMASK(22, 16)) || (q[2] & GENMASK(11, 8)) || beyond_haw(v, q[0]) ||
	    beyond_haw(v, q[2]) || q[3]) {
		vtd_check(v, VTD_CHK_RSVD_ENTRY, rid, pe->entry_pa, q[0]);
		return FR_SM_PE_RSVD;
	}
	pe->pgtt = FIELD(q[0], 8, 6);
	pe->sslevels = FIELD(q[0], 4, 2) + 2;
	pe->ssade = !!(q[0] & BIT(9));
	pe->ssptr = q[0] & GENMASK(63, 12);
	pe->did = FIELD(q[1], 15, 0);
	pe->sre = !!(q[2] & BIT(0));
	pe->fslevels = FIELD(q[2], 3, 2) == 1 ? 5 : 4;
	pe->wpe = !!(q[2] & BIT(4));
	pe->nxe = !!(q[2] & BIT(5));
	pe->fsptr = q[2] & GENMASK(63, 12);
	switch (pe->pgtt) {
	case PGTT_FS:
	case PGTT_NESTED:
	case PGTT_SS:
	case PGTT_PT:
		break;
	default:
		return FR_SM_PE_INVALID;
	}
	if ((pe->pgtt == PGTT_FS && !v->cfg.flts) || (pe->pgtt == PGTT_SS && !v->cfg.slts) ||
	    (pe->pgtt == PGTT_NESTED && !v->cfg.nest) || (pe->pgtt == PGTT_PT && !v->cfg.pt) ||
	    (pe->ssade && !v->cfg.ssads)) {
		vtd_check(v, VTD_CHK_CAP_CLEAR, rid, pe->entry_pa, q[0]);
		return FR_SM_PE_INVALID;
	}
	if (pe->pgtt == PGTT_SS || pe->pgtt == PGTT_NESTED) {
		unsigned aw = FIELD(q[0], 4, 2);
		if (aw > 3 || !(v->cfg.sagaw & BIT(aw))) {
			vtd_check(v, VTD_CHK_CAP_CLEAR, rid, pe->entry_pa, q[0]);
			return FR_SM_PE_INVALID;
		}
	}
	if (pe->pgtt == PGTT_FS || pe->pgtt == PGTT_NESTED) {
		unsigned fspm = FIELD(q[2], 3, 2);
		if (fspm > 1 || (fspm == 1 && !v->cfg.fl5lp)) {
			vtd_check(v, VTD_CHK_CAP_CLEAR, rid, pe->entry_pa, q[2]);
			return FR_SM_PE_INVALID;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ walks */

struct wres {
	uint64_t base; /* output page base */
	unsigned shift;
	uint32_t perms;
	uint64_t pte, pte_pa;
	bool dirty;
};

enum { PWC_SS = 0, PWC_FS = 1 };

/*
 * Fingerprint of a table page for the table-reuse rule (checker only): a
 * 32-bit mix of its 512 entries with the A/D bits (SS 8/9, FS 5/6, which the
 * hardware itself sets) masked. Never 0; 0 means "not taken" (the entry was
 * filled with the checker off) or the page could not be read.
 */
static __attribute__((noinline)) uint64_t page_sum(struct vtd *v, uint64_t pa)
{
	uint64_t buf[512], h = 0xcbf29ce484222325ull;

	if (hwm_bus_read(&v->bus, pa, buf, sizeof(buf)) != HWM_MEM_OK)
		return 0;
	for (unsigned i = 0; i < 512; i++) {
		h ^= buf[i] & ~(BIT(5) | BIT(6) | BIT(8) | BIT(9));
		h *= 0x100000001b3ull;
		h ^= h >> 29;
	}
	return (h ^ (h >> 32)) & 0xffffffffull ? (h ^ (h >> 32)) & 0xffffffffull : 1;
}

/*
 * The walk-cache rules for a hit (checker on: the whole payload was copied).
 * Stale: the cached entry changed in memory. Table reuse (§6.5, §6.6): the
 * entry no longer links the table the cache still walks through (@next), and
 * that page's contents differ from when the entry was cached - a table page
 * freed and written for another purpose while a live cached entry still
 * references it. A linked table whose entries change is ordinary mapping
 * work, not reuse.
 */
static __attribute__((noinline)) void checker_pwc(struct vtd *v, uint32_t rid,
						  const struct vtd_pwce *p)
{
	uint64_t cur, sum;

	if (hwm_bus_read(&v->bus, p->entry_pa, &cur, 8) != HWM_MEM_OK)
		return;
	if (!((cur ^ p->entry) & ~(BIT(5) | BIT(8) | BIT(6) | BIT(9))))
		return;
	vtd_check(v, VTD_CHK_STALE_PWC, rid, p->entry_pa, cur);
	if (!(p->perms >> 32) || ((cur & 3) && (cur & GENMASK(51, 12)) == p->next))
		return;
	sum = page_sum(v, p->next);
	if (sum && sum != p->perms >> 32)
		vtd_check(v, VTD_CHK_TABLE_REUSE, rid, p->next, cur);
}

/* The walk-cache tag of the level-@l entry that translates @in (a value: it stays in registers). */
static inline struct hwm_ctag pwc_tag(unsigned kind, uint32_t did, uint32_t pasid, uint64_t in,
				      unsigned l)
{
	unsigned sh = 12 + 9 * (l - 1);

	return (struct hwm_ctag){ .addr = in & ~((1ull << sh) - 1),
				  .shift = sh,
				  .level = l,
				  .kind = kind,
				  .domain = did,
				  .pasid = pasid };
}

/*
 * The walk-cache probes, deepest level first (2 up to @top), skipping sizes
 * the cache never held: the level hit in *@l and the first @size bytes of
 * its payload in @p (@size a constant at each call).
 */
static inline __attribute__((always_inline)) bool
pwc_lookup(struct vtd *v, unsigned kind, uint32_t did, uint32_t pasid, uint64_t in, unsigned top,
	   struct vtd_pwce *p, size_t size, unsigned *l)
{
	uint64_t present = hwm_cache_shift_mask_(v->pwc);
	struct hwm_cache_view cv = hwm_cache_view(v->pwc);

	for (*l = 2; *l <= top; (*l)++) {
		struct hwm_ctag k = pwc_tag(kind, did, pasid, in, *l);

		if ((present & BIT(k.shift)) &&
		    hwm_cache_get_spec_view(&cv, &k, p, size, VTD_PWC_MATCH, VTD_PWC_INDEX))
			return true;
	}
	return false;
}

/* pwc_lookup() with the checker on: the whole payload, compared against memory. */
static __attribute__((noinline, cold)) bool pwc_find_checked(struct xl *x, unsigned kind,
							     uint32_t did, uint32_t pasid,
							     uint64_t in, unsigned top,
							     struct vtd_pwce *p, unsigned *l)
{
	if (!pwc_lookup(x->v, kind, did, pasid, in, top, p, sizeof(*p), l))
		return false;
	checker_pwc(x->v, x->req->rid, p);
	return true;
}

/*
 * The deepest paging-structure-cache entry for @in (§6.2.4). On a hit, the
 * walk resumes below it with the cached table and cumulative permissions.
 * Inline: the fast path's walk keeps its loop in registers.
 */
static inline __attribute__((always_inline)) bool
pwc_find(struct xl *x, bool checker, unsigned kind, uint32_t did, uint32_t pasid, uint64_t in,
	 unsigned top, unsigned *level, uint64_t *table, uint32_t *perms)
{
	struct vtd *v = x->v;
	struct vtd_pwce p;
	unsigned l;

	if (__builtin_expect(checker, 0)
		    ? !pwc_find_checked(x, kind, did, pasid, in, top, &p, &l)
		    : !pwc_lookup(v, kind, did, pasid, in, top, &p, VTD_PWCE_HOT, &l))
		return false;
	hwm_cost_cache_hit(x->cost, &v->cfg.cost);
	*level = l - 1;
	*table = p.next;
	*perms = (uint32_t)p.perms;
	return true;
}

/*
 * One walk-cache fill, key and payload built right here from scalars (@perms
 * carries the checker's page fingerprint in its high half, or 0).
 */
static inline __attribute__((always_inline)) void
pwc_put(struct vtd *v, uint64_t epoch, unsigned kind, uint32_t did, uint32_t pasid, uint64_t in,
	unsigned l, uint64_t next, uint64_t entry, uint64_t entry_pa, uint64_t perms)
{
	struct hwm_ctag k = pwc_tag(kind, did, pasid, in, l);
	struct vtd_pwce p = { .next = next, .perms = perms, .entry = entry, .entry_pa = entry_pa };

	hwm_cache_fill_spec_since(v->pwc, &k, &p, sizeof(p), VTD_PWC_MATCH, VTD_PWC_INDEX,
				  &v->inval_epoch, epoch, NULL);
}

/* A walk-cache fill with the checker on: with the table page's fingerprint (table reuse). */
static __attribute__((noinline, cold)) void
pwc_fill_checked(struct vtd *v, uint64_t epoch, unsigned kind, uint32_t did, uint32_t pasid,
		 uint64_t in, unsigned l, uint64_t next, uint64_t entry, uint64_t entry_pa,
		 uint32_t perms)
{
	pwc_put(v, epoch, kind, did, pasid, in, l, next, entry, entry_pa,
		perms | page_sum(v, next) << 32);
}

/*
 * The key and payload never have their address taken on the common path:
 * a struct that escapes (as it did to the checker's call) lives on the stack,
 * built with narrow stores and read back as words by the fill, and each such
 * read waits for a failed store forward.
 */
static inline __attribute__((always_inline)) void
pwc_fill(struct xl *x, bool checker, unsigned kind, uint32_t did, uint32_t pasid, uint64_t in,
	 unsigned l, uint64_t next, uint64_t entry, uint64_t entry_pa, uint32_t perms)
{
	if (__builtin_expect(checker, 0)) {
		/* out of line: the walk loop stays as it was */
		pwc_fill_checked(x->v, x->epoch, kind, did, pasid, in, l, next, entry, entry_pa,
				 perms);
		return;
	}
	pwc_put(x->v, x->epoch, kind, did, pasid, in, l, next, entry, entry_pa, perms);
}

/*
 * Second-stage walk (§3.7, §9.8): 512-entry tables, R 0, W 1, PS 7, A 8,
 * D 9, address 51:12; R|W = 0 is not present. Returns 0 or a fault reason.
 *
 * Reads and levels are counted in registers and added to the cost once.
 * Only the starting table is compared with HAW: every table below it comes
 * from an entry whose bits 51:HAW passed the reserved-bit check (and the
 * roots' entries reserve those bits too, so this is a guard).
 *
 * Inline into the fast path's miss (ss_miss(), @fast: no fault context
 * armed and the checker off, both checked by its caller); everything else
 * calls ss_walk().
 */
static inline __attribute__((always_inline)) uint32_t
ss_walk_(struct xl *x, uint64_t root, unsigned levels, uint64_t in, uint32_t acc, bool ad,
	 uint32_t did, uint32_t ptag, bool use_pwc, bool fast, struct wres *o)
{
	struct vtd *v = x->v;
	bool sm = x->scalable;
	bool inject = !fast && inject_armed(v);
	bool checker = !fast && __atomic_load_n(&v->checker, __ATOMIC_RELAXED);
	uint64_t table = root, rsvd0 = v->rsvd_haw;
	uint32_t perms = HWM_ACC_READ | HWM_ACC_WRITE, reason = 0;
	unsigned level = levels, width = 12 + 9 * levels, nread = 0;

	if (width < 64 && (in >> width))
		return sm ? FR_SS_BEYOND : FR_ADDR_BEYOND_MGAW;
	if (in & v->beyond_mgaw)
		return sm ? FR_SS_BEYOND : FR_ADDR_BEYOND_MGAW;
	if (use_pwc)
		pwc_find(x, checker, PWC_SS, did, ptag, in, levels, &level, &table, &perms);
	if (beyond_haw(v, table)) {
		x->levels++;
		return sm ? FR_SS_PTR_INVALID : FR_PTE_ACCESS;
	}
	for (;; level--) {
		unsigned sh = 12 + 9 * (level - 1);
		uint64_t pa = table + ((in >> sh) & 511) * 8, pte, rsvd = rsvd0;
		bool leaf = level == 1;

		nread++;
		if (__builtin_expect(inject, 0)
			    ? rd_inject(v, pa, &pte, 8, true)
			    : hwm_bus_read(&v->bus, pa, &pte, 8) != HWM_MEM_OK) {
			reason = sm ? FR_SS_ACCESS : FR_PTE_ACCESS;
			break;
		}
		if (!(pte & 3)) {
			o->pte = pte;
			o->pte_pa = pa;
			reason = sm ? FR_SS_NP : ((acc & HWM_ACC_WRITE) ? FR_WRITE : FR_READ);
			break;
		}
		if (!leaf && (pte & BIT(7))) {
			/* a large page where SLLPS allows it; else PS is reserved */
			leaf = (level == 2 && (v->cfg.sllps & 1)) ||
			       (level == 3 && (v->cfg.sllps & 2));
			rsvd |= leaf ? GENMASK(sh - 1, 12) : BIT(7);
		}
		if (pte & rsvd) {
			vtd_check(v, VTD_CHK_RSVD_ENTRY, x->req->rid, pa, pte);
			o->pte = pte;
			o->pte_pa = pa;
			reason = sm ? FR_SS_RSVD : FR_PTE_RSVD;
			break;
		}
		if (!(pte & 1))
			perms &= ~HWM_ACC_READ;
		if (!(pte & 2))
			perms &= ~HWM_ACC_WRITE;
		if (ad)
			set_bits(x, pa, &pte,
				 BIT(8) |
					 ((leaf && (acc & HWM_ACC_WRITE) && (perms & HWM_ACC_WRITE))
						  ? BIT(9)
						  : 0));
		if (leaf) {
			o->shift = sh;
			o->base = pte & GENMASK(51, sh);
			o->perms = perms;
			o->pte = pte;
			o->pte_pa = pa;
			o->dirty = !ad || (pte & BIT(9));
			break;
		}
		table = pte & GENMASK(51, 12);
		if (use_pwc)
			pwc_fill(x, checker, PWC_SS, did, ptag, in, level, table, pte, pa, perms);
	}
	x->levels += nread;
	x->cost->mem_accesses += nread;
	x->cost->cycles += (uint64_t)nread * v->cfg.cost.mem_access_cycles;
	if (reason)
		return reason;
	if ((acc & HWM_ACC_WRITE) && !(perms & HWM_ACC_WRITE))
		return sm ? FR_SM_WRITE : FR_WRITE;
	if ((acc & (HWM_ACC_READ | HWM_ACC_EXEC)) && !(perms & HWM_ACC_READ))
		return sm ? FR_SM_READ : FR_READ;
	return 0;
}

static __attribute__((noinline)) uint32_t ss_walk(struct xl *x, uint64_t root, unsigned levels,
						  uint64_t in, uint32_t acc, bool ad, uint32_t did,
						  uint32_t ptag, bool use_pwc, struct wres *o)
{
	return ss_walk_(x, root, levels, in, acc, ad, did, ptag, use_pwc, false, o);
}

/* Nested: a first-stage table or output address (a GPA) through the second stage. */
struct nest {
	const struct vtd_pei *pe;
	uint32_t did, ptag;
};

static uint32_t gpa_to_hpa(struct xl *x, const struct nest *n, uint64_t gpa, uint32_t acc,
			   uint64_t *hpa, unsigned *shift, uint32_t *perms)
{
	struct wres w;
	uint32_t r;

	if (!n) {
		*hpa = gpa;
		if (shift)
			*shift = 63;
		return 0;
	}
	memset(&w, 0, sizeof(w));
	r = ss_walk(x, n->pe->ssptr, n->pe->sslevels, gpa, acc, n->pe->ssade, n->did, n->ptag,
		    false, &w);
	if (r)
		return r;
	*hpa = w.base | (gpa & ((1ull << w.shift) - 1));
	if (shift)
		*shift = w.shift;
	if (perms)
		*perms = w.perms;
	return 0;
}

/*
 * First-stage walk, IA-32e paging (§3.6, §9.7): P 0, RW 1, US 2, A 5, D 6,
 * PS 7, address 51:12, XD 63. A/D are always updated (§3.6.2).
 */
static uint32_t fs_walk(struct xl *x, const struct vtd_pei *pe, const struct nest *n, uint64_t in,
			uint32_t acc, uint32_t did, uint32_t ptag, struct wres *o)
{
	struct vtd *v = x->v;
	unsigned levels = pe->fslevels, level = levels;
	unsigned width = 12 + 9 * levels;
	uint64_t table = pe->fsptr;
	uint32_t perms = HWM_ACC_READ | HWM_ACC_WRITE | HWM_ACC_USER | HWM_ACC_EXEC | HWM_ACC_PRIV;
	int64_t sx = (int64_t)(in << (64 - width)) >> (64 - width);
	bool use_pwc = !n;

	if ((uint64_t)sx != in)
		return FR_FS_NONCANONICAL; /* §3.6.1: bits 63:width-1 must be a sign extension */
	if (beyond_haw(v, table) && !n)
		return FR_FS_PTR_INVALID;
	if (use_pwc)
		pwc_find(x, __atomic_load_n(&v->checker, __ATOMIC_RELAXED), PWC_FS, did, ptag, in,
			 levels, &level, &table, &perms);
	for (;; level--) {
		unsigned sh = 12 + 9 * (level - 1);
		uint64_t gpa = table + ((in >> sh) & 511) * 8, pa, pte, rsvd;
		uint32_t r;
		bool leaf;

		x->levels++;
		r = gpa_to_hpa(x, n, gpa, HWM_ACC_READ, &pa, NULL, NULL);
		if (r)
			return r;
		if (rd(x, pa, &pte, 8, true))
			return FR_FS_ACCESS;
		if (!(pte & 1)) {
			o->pte = pte;
			o->pte_pa = pa;
			return FR_FS_NP;
		}
		rsvd = v->rsvd_haw;
		if (!pe->nxe)
			rsvd |= BIT(63);
		leaf = level == 1 || (pte & BIT(7));
		if (level > 1 && (pte & BIT(7))) {
			bool ok = level == 2 || (level == 3 && v->cfg.fl1gp);
			if (!ok)
				rsvd |= BIT(7);
			else
				rsvd |= GENMASK(sh - 1, 13); /* bit 12 is PAT */
		}
		if (pte & rsvd) {
			vtd_check(v, VTD_CHK_RSVD_ENTRY, x->req->rid, pa, pte);
			o->pte = pte;
			o->pte_pa = pa;
			return FR_FS_RSVD;
		}
		if (!(pte & BIT(1)))
			perms &= ~HWM_ACC_WRITE;
		if (!(pte & BIT(2)))
			perms &= ~HWM_ACC_USER;
		if (pe->nxe && (pte & BIT(63)))
			perms &= ~HWM_ACC_EXEC;
		if (leaf) {
			bool w_ok = (perms & HWM_ACC_WRITE) || ((acc & HWM_ACC_PRIV) && !pe->wpe);
			set_bits(x, pa, &pte,
				 BIT(5) | (((acc & HWM_ACC_WRITE) && w_ok) ? BIT(6) : 0));
			o->shift = sh;
			o->base = pte & GENMASK(51, sh);
			o->perms = perms;
			o->pte = pte;
			o->pte_pa = pa;
			o->dirty = !!(pte & BIT(6));
			break;
		}
		set_bits(x, pa, &pte, BIT(5));
		table = pte & GENMASK(51, 12);
		if (use_pwc)
			pwc_fill(x, __atomic_load_n(&v->checker, __ATOMIC_RELAXED), PWC_FS, did,
				 ptag, in, level, table, pte, pa, perms);
	}
	if (n) {
		/* The output is a GPA: through the second stage with the request's access. */
		uint64_t gpa = o->base | (in & ((1ull << o->shift) - 1)), hpa;
		unsigned ssh;
		uint32_t sp, r;

		r = gpa_to_hpa(x, n, gpa, acc & (HWM_ACC_READ | HWM_ACC_WRITE), &hpa, &ssh, &sp);
		if (r)
			return r;
		if (ssh < o->shift)
			o->shift = ssh;
		o->base = hpa & ~((1ull << o->shift) - 1);
		if (!(sp & HWM_ACC_WRITE))
			o->perms &= ~HWM_ACC_WRITE;
		if (!(sp & HWM_ACC_READ))
			o->perms &= ~HWM_ACC_READ;
	}
	return 0;
}

/* Access check of a translation (walked or cached), §3.6.3 / §3.7.3. */
static uint32_t access_fault(bool sm, unsigned kind, uint32_t perms, uint32_t acc,
			     const struct vtd_pei *pe)
{
	if (kind == IOTLB_KIND_FS || kind == IOTLB_KIND_NESTED) {
		bool priv = acc & HWM_ACC_PRIV;
		if (!priv && !(perms & HWM_ACC_USER))
			return FR_FS_US;
		if ((acc & HWM_ACC_WRITE) && !(perms & HWM_ACC_WRITE) &&
		    (!priv || pe->wpe || kind == IOTLB_KIND_NESTED))
			return FR_SM_WRITE;
		if ((acc & HWM_ACC_EXEC) && pe->nxe && !(perms & HWM_ACC_EXEC))
			return FR_FS_XD;
		if ((acc & HWM_ACC_READ) && !(perms & HWM_ACC_READ))
			return FR_SM_READ;
		return 0;
	}
	if ((acc & HWM_ACC_WRITE) && !(perms & HWM_ACC_WRITE))
		return sm ? FR_SM_WRITE : FR_WRITE;
	if ((acc & (HWM_ACC_READ | HWM_ACC_EXEC)) && !(perms & HWM_ACC_READ))
		return sm ? FR_SM_READ : FR_READ;
	return 0;
}

static bool is_not_present(uint32_t r)
{
	return r == FR_SS_NP || r == FR_FS_NP || r == FR_READ || r == FR_WRITE;
}

/* ------------------------------------------------------------ translate */

static void checker_ctx(struct vtd *v, uint32_t rid, const struct vtd_ctxi *ci)
{
	uint64_t cur[2];

	if (hwm_bus_read(&v->bus, ci->entry_pa, cur, 16) != HWM_MEM_OK)
		return;
	if (cur[0] != ci->raw[0] || cur[1] != ci->raw[1])
		vtd_check(v, VTD_CHK_STALE_CONTEXT, rid, ci->entry_pa, cur[0]);
}

static void checker_pe(struct vtd *v, uint32_t rid, const struct vtd_pei *pe)
{
	uint64_t cur[3];

	if (hwm_bus_read(&v->bus, pe->entry_pa, cur, 24) != HWM_MEM_OK)
		return;
	if (memcmp(cur, pe->raw, sizeof(cur)))
		vtd_check(v, VTD_CHK_STALE_PASID, rid, pe->entry_pa, cur[0]);
}

static void checker_tlbe(struct vtd *v, uint32_t rid, const struct vtd_tlbe *e)
{
	uint64_t cur;

	if (!e->pte_pa || hwm_bus_read(&v->bus, e->pte_pa, &cur, 8) != HWM_MEM_OK)
		return;
	/* A/D (SS 8/9, FS 5/6) change under the hardware's own hand: not a software change. */
	if ((cur ^ e->pte) & ~(BIT(5) | BIT(6) | BIT(8) | BIT(9)))
		vtd_check(v, VTD_CHK_STALE_IOTLB, rid, e->pte_pa, cur);
}

static int finish_ok(struct vtd *v, struct hwm_xlate *out, uint64_t base, unsigned shift,
		     uint32_t perms, uint64_t iova)
{
	out->status = HWM_XLATE_OK;
	out->page_size = 1ull << shift;
	out->pa = base + (iova & (out->page_size - 1));
	out->perms = perms;
	hwm_cost_finish(&out->cost, &v->cfg.cost);
	return 0;
}

static __attribute__((noinline, cold)) int finish_fault(struct xl *x, struct hwm_xlate *out,
							uint32_t reason)
{
	struct vtd *v = x->v;

	out->status = HWM_XLATE_FAULT;
	out->pa = 0;
	out->page_size = 0;
	out->perms = 0;
	memset(&out->fault, 0, sizeof(out->fault));
	out->fault.suppressed = x->fpd || x->req->ats;
	vtd_record_fault(v, x->req, reason, &out->fault);
	hwm_cost_finish(&out->cost, &v->cfg.cost);
	return 0;
}

/* TE=0 (§3.1): DMA passes untranslated. */
static __attribute__((noinline)) int untranslated(struct vtd *v, struct hwm_xlate *out,
						  uint64_t iova, uint32_t perms)
{
	memset(&out->cost, 0, sizeof(out->cost));
	return finish_ok(v, out, iova & GENMASK(63, 12), 12, perms, iova);
}

/*
 * Probe a TLB once per page size it may hold (4K, 2M, 1G), smallest first.
 * Inline with a fresh key per probe so the key never lives in memory.
 */
static inline __attribute__((always_inline)) bool
tlb_get(struct hwm_cache *c, uint32_t match, uint32_t index, uint32_t sid, uint32_t pasid,
	uint32_t did, uint64_t iova, struct vtd_tlbe *e, unsigned *shift)
{
	uint64_t mask = hwm_cache_shift_mask_(c) & (BIT(12) | BIT(21) | BIT(30));

	for (; mask; mask &= mask - 1) {
		unsigned sh = __builtin_ctzll(mask);
		struct hwm_ctag k = { .addr = iova & ~((1ull << sh) - 1),
				      .shift = sh,
				      .sid = sid,
				      .pasid = pasid,
				      .domain = did };
		/* whole payloads: the checker and device-TLB fills use all of it */
		if (hwm_cache_get_spec(c, &k, e, sizeof(*e), match, index)) {
			*shift = sh;
			return true;
		}
	}
	return false;
}

/* An IOTLB fill (inline: the fast path's miss ends with one). */
static inline __attribute__((always_inline)) void iotlb_fill(struct vtd *v, uint64_t epoch,
							     uint32_t pasid, uint32_t did,
							     uint64_t iova, unsigned shift,
							     const struct vtd_tlbe *e)
{
	struct hwm_ctag k = { .addr = iova & ~((1ull << shift) - 1),
			      .shift = shift,
			      .pasid = pasid,
			      .domain = did,
			      .kind = e->kind };
	struct hwm_ctag ev;
	uint64_t w[4];

	vtd_tlbe_words(e, w);
	/* the victim's tag only when the eviction will be traced */
	if (hwm_cache_fill_spec_since(
		    v->iotlb, &k, w, sizeof(w), VTD_IOTLB_MATCH, VTD_IOTLB_INDEX, &v->inval_epoch,
		    epoch, trace_on(v->bus.trace, TRACE_EV_hw_iotlb_evict) ? &ev : NULL) &&
	    trace_on(v->bus.trace, TRACE_EV_hw_iotlb_evict))
		TRACE(v->bus.trace, hw_iotlb_evict, TRACE_STR(VTD_VENDOR), ev.domain, ev.addr,
		      1ull << ev.shift);
}

/* A fill of the IOTLB (@sid 0) or the device TLB. */
static void tlb_fill(struct vtd *v, uint64_t epoch, struct hwm_cache *c, uint32_t sid,
		     uint32_t pasid, uint32_t did, uint64_t iova, unsigned shift,
		     const struct vtd_tlbe *e)
{
	struct hwm_ctag k = { .addr = iova & ~((1ull << shift) - 1),
			      .shift = shift,
			      .sid = sid,
			      .pasid = pasid,
			      .domain = did,
			      .kind = e->kind };
	uint64_t w[4];

	if (c != v->devtlb) {
		iotlb_fill(v, epoch, pasid, did, iova, shift, e);
		return;
	}
	vtd_tlbe_words(e, w);
	hwm_cache_fill_spec_since(c, &k, w, sizeof(w), VTD_DEVTLB_MATCH, VTD_DEVTLB_INDEX,
				  &v->inval_epoch, epoch, NULL);
}

/* ------------------------------------------------------------ the general path */

/*
 * The general path is a chain of stages, each taking over the state the
 * previous one reached; the fast path (vtd_translate) enters the chain at
 * the stage where the common case ends, after having consulted the caches
 * itself, so every cache is looked up exactly once whatever the path (the
 * counters, LRU order and cost are the same as if the general path had done
 * it all).
 */
static int after_entry(struct xl *x, struct hwm_xlate *out, const struct vtd_ctxi *ci,
		       const struct vtd_pei *pe, uint64_t did, uint64_t ptag, uint64_t pasid,
		       unsigned kind, bool ad);

/* Context (§6.2.2), a context-cache miss (or a hit of the other mode): fetch and fill. */
static __attribute__((noinline)) uint32_t ctx_miss(struct xl *x, uint64_t rta, struct vtd_ctxi *ci)
{
	uint32_t reason = ctx_fetch(x, rta, ci);

	if (!reason) {
		struct hwm_ctag k = { .sid = x->req->rid,
				      .domain = ci->scalable ? NO_DID : ci->did };
		hwm_cache_fill_spec_since(x->v->ctxc, &k, ci, sizeof(*ci), VTD_CTX_MATCH,
					  VTD_CTX_INDEX, &x->v->inval_epoch, x->epoch, NULL);
	}
	return reason;
}

/* The context-cache lookup of the general path (whole payload, checker). */
static uint32_t get_context(struct xl *x, uint64_t rta, struct vtd_ctxi *ci)
{
	struct vtd *v = x->v;
	uint32_t rid = x->req->rid;
	struct hwm_ctag k = { .sid = rid };

	if (hwm_cache_get_spec(v->ctxc, &k, ci, sizeof(*ci), VTD_CTX_MATCH, VTD_CTX_INDEX) &&
	    ci->scalable == x->scalable) {
		hwm_cost_cache_hit(x->cost, &v->cfg.cost);
		x->fpd = ci->fpd;
		if (__atomic_load_n(&v->checker, __ATOMIC_RELAXED))
			checker_ctx(v, rid, ci);
		return 0;
	}
	return ctx_miss(x, rta, ci);
}

/* PASID entry (§6.2.3.1): a PASID-cache miss: directory + entry fetch and a fill. */
static __attribute__((noinline)) uint32_t pasid_miss(struct xl *x, const struct vtd_ctxi *ci,
						     uint32_t pasid, struct vtd_pei *pe)
{
	uint32_t reason = pasid_fetch(x, ci, pasid, pe);

	if (!reason) {
		struct hwm_ctag k = { .sid = x->req->rid, .pasid = pasid, .domain = pe->did };
		hwm_cache_fill_spec_since(x->v->pasidc, &k, pe, sizeof(*pe), VTD_PASIDC_MATCH,
					  VTD_PASIDC_INDEX, &x->v->inval_epoch, x->epoch, NULL);
	}
	return reason;
}

/* A PASID entry in hand (§9.6): the checks of the request against it, the IOTLB tag. */
static __attribute__((noinline)) int after_pasid(struct xl *x, struct hwm_xlate *out,
						 const struct vtd_ctxi *ci,
						 const struct vtd_pei *pe, uint64_t pasid)
{
	const struct hwm_req *req = x->req;
	unsigned kind;

	if (pe->pgtt == PGTT_PT)
		return finish_ok(x->v, out, req->iova & GENMASK(63, 12), 12,
				 HWM_ACC_READ | HWM_ACC_WRITE | HWM_ACC_EXEC | HWM_ACC_PRIV |
					 HWM_ACC_USER,
				 req->iova);
	if ((req->access & HWM_ACC_PRIV) && !pe->sre &&
	    (pe->pgtt == PGTT_FS || pe->pgtt == PGTT_NESTED))
		return finish_fault(x, out, FR_SM_PE_SRE);
	if (req->access & HWM_ACC_EXEC)
		return finish_fault(x, out, FR_SM_PE_ERE); /* ECAP.ERS is 0 */
	kind = pe->pgtt == PGTT_FS	 ? IOTLB_KIND_FS
	       : pe->pgtt == PGTT_NESTED ? IOTLB_KIND_NESTED
					 : IOTLB_KIND_SS;
	return after_entry(x, out, ci, pe, pe->did, pasid, pasid, kind,
			   pe->pgtt == PGTT_SS && pe->ssade);
}

/* The PASID-cache miss stage: fetch, fill, go on. */
static __attribute__((noinline)) int pasid_miss_stage(struct xl *x, struct hwm_xlate *out,
						      const struct vtd_ctxi *ci, uint64_t pasid)
{
	struct vtd_pei pe;
	uint32_t reason = pasid_miss(x, ci, pasid, &pe);

	if (reason)
		return finish_fault(x, out, reason);
	return after_pasid(x, out, ci, &pe, pasid);
}

/* A context in hand: legacy TT (§9.3) or the scalable-mode PASID stage (§9.4-§9.6). */
static __attribute__((noinline)) int after_ctx(struct xl *x, struct hwm_xlate *out,
					       const struct vtd_ctxi *ci)
{
	struct vtd *v = x->v;
	const struct hwm_req *req = x->req;
	struct vtd_pei pe;
	uint64_t pasid;
	struct hwm_ctag k;

	if (!x->scalable) {
		if (req->ats && ci->tt != 1)
			return finish_fault(x, out, FR_TT_BLOCKED);
		if (ci->tt == 2) /* pass-through (§3.9) */
			return finish_ok(v, out, req->iova & GENMASK(63, 12), 12,
					 HWM_ACC_READ | HWM_ACC_WRITE | HWM_ACC_EXEC, req->iova);
		memset(&pe, 0, sizeof(pe)); /* access_fault() reads wpe/nxe for FS kinds only */
		return after_entry(x, out, ci, &pe, ci->did, HWM_PASID_NONE, HWM_PASID_NONE,
				   IOTLB_KIND_SS, false);
	}
	if (req->has_pasid && !ci->paside)
		return finish_fault(x, out, FR_SM_CTX_PASIDE);
	if (req->ats && !ci->dte)
		return finish_fault(x, out, FR_SM_CTX_DTE);
	pasid = req->has_pasid ? req->pasid : ci->rid_pasid;
	k = (struct hwm_ctag){ .sid = req->rid, .pasid = (uint32_t)pasid };
	if (!hwm_cache_get_spec(v->pasidc, &k, &pe, sizeof(pe), VTD_PASIDC_MATCH, VTD_PASIDC_INDEX))
		return pasid_miss_stage(x, out, ci, pasid);
	hwm_cost_cache_hit(x->cost, &v->cfg.cost);
	x->fpd = pe.fpd;
	if (__atomic_load_n(&v->checker, __ATOMIC_RELAXED))
		checker_pe(v, req->rid, &pe);
	return after_pasid(x, out, ci, &pe, pasid);
}

/* The context-cache miss stage. */
static __attribute__((noinline)) int ctx_miss_stage(struct xl *x, struct hwm_xlate *out,
						    uint64_t rta)
{
	struct vtd_ctxi ci;
	uint32_t reason = ctx_miss(x, rta, &ci);

	if (reason)
		return finish_fault(x, out, reason);
	return after_ctx(x, out, &ci);
}

/*
 * After a walk (both paths): the walk's statistics and trace, then a fault
 * (with CM=1 cached as a negative entry) or the IOTLB fill (and the device
 * TLB's for ATS) and the translation.
 */
static inline __attribute__((always_inline)) int walk_done(struct xl *x, struct hwm_xlate *out,
							   uint32_t reason, const struct wres *w,
							   unsigned kind, uint32_t did,
							   uint32_t ptag, uint32_t pasid, bool ats)
{
	struct vtd *v = x->v;
	const struct hwm_req *req = x->req;
	uint64_t iova = req->iova;
	struct vtd_tlbe e;

	vtd_add_relaxed(&v->walks, 1);
	vtd_add_relaxed(&v->walk_mem, out->cost.mem_accesses);
	TRACE(v->bus.trace, hw_walk, TRACE_STR(VTD_VENDOR), req->rid, pasid, iova, x->levels,
	      out->cost.mem_accesses, reason);
	if (__builtin_expect(reason, 0)) {
		if (v->cfg.cm && is_not_present(reason)) {
			/* CM=1 (§6.1): not-present entries may be cached. */
			struct vtd_tlbe neg = { .pte = w->pte,
						.pte_pa = w->pte_pa,
						.reason = reason,
						.kind = IOTLB_KIND_NEG };
			tlb_fill(v, x->epoch, v->iotlb, 0, ptag, did, iova, 12, &neg);
		}
		return finish_fault(x, out, reason);
	}
	e = (struct vtd_tlbe){ .pa = w->base,
			       .pte = w->pte,
			       .pte_pa = w->pte_pa,
			       .perms = w->perms,
			       .dirty = w->dirty,
			       .kind = kind };
	iotlb_fill(v, x->epoch, ptag, did, iova, w->shift, &e);
	TRACE(v->bus.trace, hw_iotlb_fill, TRACE_STR(VTD_VENDOR), did,
	      iova & ~((1ull << w->shift) - 1), w->base, 1ull << w->shift, w->perms);
	if (ats)
		tlb_fill(v, x->epoch, v->devtlb, req->rid,
			 req->has_pasid ? req->pasid : HWM_PASID_NONE, 0, iova, w->shift, &e);
	return finish_ok(v, out, w->base, w->shift, w->perms, iova);
}

/*
 * The IOTLB missed (or a write found a clean entry): walk, fill the IOTLB
 * (or cache a not-present result with CM=1) and, for ATS, the device TLB.
 */
static __attribute__((noinline)) int walk_and_fill(struct xl *x, struct hwm_xlate *out,
						   const struct vtd_ctxi *ci,
						   const struct vtd_pei *pe, unsigned kind,
						   uint32_t did, uint32_t ptag, uint32_t pasid,
						   bool ad)
{
	const struct hwm_req *req = x->req;
	uint64_t iova = req->iova;
	uint32_t reason;
	struct wres w;

	memset(&w, 0, sizeof(w));
	if (kind == IOTLB_KIND_SS) {
		uint64_t root = x->scalable ? pe->ssptr : ci->sslptr;
		unsigned levels = x->scalable ? pe->sslevels : ci->levels;
		reason = ss_walk(x, root, levels, iova, req->access, ad, did, ptag, true, &w);
	} else {
		struct nest n = { .pe = pe, .did = did, .ptag = ptag };
		reason = fs_walk(x, pe, kind == IOTLB_KIND_NESTED ? &n : NULL, iova, req->access,
				 did, ptag, &w);
	}
	/* (the second-stage walk checked the access against what it walked) */
	if (!reason && kind != IOTLB_KIND_SS)
		reason = access_fault(x->scalable, kind, w.perms, req->access, pe);
	return walk_done(x, out, reason, &w, kind, did, ptag, pasid, req->ats);
}

/* An IOTLB hit, any kind: a cached fault, an access check, a clean entry written, ATS. */
static __attribute__((noinline)) int iotlb_hit(struct xl *x, struct hwm_xlate *out,
					       const struct vtd_ctxi *ci, const struct vtd_pei *pe,
					       const struct vtd_tlbe *e, unsigned shift,
					       unsigned kind, uint32_t did, uint32_t ptag,
					       uint32_t pasid, bool ad)
{
	struct vtd *v = x->v;
	const struct hwm_req *req = x->req;
	uint32_t reason;

	if (e->kind == IOTLB_KIND_NEG) {
		TRACE(v->bus.trace, hw_iotlb_hit, TRACE_STR(VTD_VENDOR), req->rid, did, req->iova,
		      0);
		return finish_fault(x, out, e->reason);
	}
	reason = access_fault(x->scalable, e->kind, e->perms, req->access, pe);
	if (reason)
		return finish_fault(x, out, reason);
	if ((req->access & HWM_ACC_WRITE) && !e->dirty) /* a write to a clean entry: walk */
		return walk_and_fill(x, out, ci, pe, kind, did, ptag, pasid,
				     ad); /* again, §3.7.2 */
	TRACE(v->bus.trace, hw_iotlb_hit, TRACE_STR(VTD_VENDOR), req->rid, did, req->iova, e->pa);
	if (req->ats) /* the ATC learns the translation the IOTLB gave */
		tlb_fill(v, x->epoch, v->devtlb, req->rid,
			 req->has_pasid ? req->pasid : HWM_PASID_NONE, 0, req->iova, shift, e);
	return finish_ok(v, out, e->pa, shift, e->perms, req->iova);
}

/* The IOTLB tag known: the device's ATC (ATS, §4), then the IOTLB (§6.2.3). */
static __attribute__((noinline)) int after_entry(struct xl *x, struct hwm_xlate *out,
						 const struct vtd_ctxi *ci,
						 const struct vtd_pei *pe, uint64_t did,
						 uint64_t ptag, uint64_t pasid, unsigned kind,
						 bool ad)
{
	struct vtd *v = x->v;
	const struct hwm_req *req = x->req;
	struct vtd_tlbe e;
	unsigned shift;

	if (req->ats &&
	    tlb_get(v->devtlb, VTD_DEVTLB_MATCH, VTD_DEVTLB_INDEX, req->rid,
		    req->has_pasid ? req->pasid : HWM_PASID_NONE, 0, req->iova, &e, &shift) &&
	    !access_fault(x->scalable, e.kind, e.perms, req->access, pe)) {
		hwm_cost_iotlb_hit(x->cost, &v->cfg.cost);
		return finish_ok(v, out, e.pa, shift, e.perms, req->iova);
	}
	if (!tlb_get(v->iotlb, VTD_IOTLB_MATCH, VTD_IOTLB_INDEX, 0, ptag, did, req->iova, &e,
		     &shift)) {
		TRACE(v->bus.trace, hw_iotlb_miss, TRACE_STR(VTD_VENDOR), req->rid, did, req->iova);
		return walk_and_fill(x, out, ci, pe, kind, did, ptag, pasid, ad);
	}
	hwm_cost_iotlb_hit(x->cost, &v->cfg.cost);
	if (__atomic_load_n(&v->checker, __ATOMIC_RELAXED))
		checker_tlbe(v, req->rid, &e);
	return iotlb_hit(x, out, ci, pe, &e, shift, kind, did, ptag, pasid, ad);
}

/* The whole general path, from the context on (checker on, ATS, TTM reserved). */
static __attribute__((noinline)) int general(struct xl *x, struct hwm_xlate *out, uint64_t rta)
{
	struct vtd *v = x->v;
	struct vtd_ctxi ci;
	uint32_t reason;

	if (FIELD(rta, 11, 10) >= 2)
		return finish_fault(x, out, v->cfg.scalable ? FR_SM_RTA_INVALID : FR_ROOT_ACCESS);
	reason = get_context(x, rta, &ci);
	if (reason)
		return finish_fault(x, out, reason);
	return after_ctx(x, out, &ci);
}

/* ------------------------------------------------------------ the fast path */

/*
 * Where the fast path hands over: the state it reached, and the stage of the
 * general path that goes on from there. Out of line so that the fast path
 * keeps no struct xl and few live values.
 */
enum handover { H_GENERAL, H_CTX_MISS, H_AFTER_CTX, H_PASID_MISS, H_AFTER_PASID, H_WALK, H_HIT };

struct fast_state {
	const struct vtd_ctxi *ci;
	struct vtd_pei *pe; /* scalable; zeroed here for legacy */
	const struct vtd_tlbe *e;
	uint64_t rta, did, ptag, epoch;
	unsigned hits, shift;
	bool scalable;
};

/*
 * The fast path's IOTLB miss for a second-stage translation without A/D
 * (legacy, or scalable PGTT=2 without SSADE): straight to the walk, with
 * the state walk_and_fill() needs and nothing else. Inline in translate()
 * (a call here cost more than it saved; the memo's hits never reach it).
 */
static inline __attribute__((always_inline)) int
ss_miss(struct vtd *v, const struct hwm_req *req, struct hwm_xlate *out, const struct vtd_ctxi *ci,
	struct vtd_pei *pe, uint64_t did, uint64_t ptag, unsigned hits, bool scalable,
	uint64_t epoch)
{
	const struct hwm_cost_config *cc = &v->cfg.cost;
	struct xl x = { .v = v,
			.req = req,
			.cost = &out->cost,
			.scalable = scalable,
			.fpd = scalable ? pe->fpd : ci->fpd,
			.epoch = epoch };
	uint32_t acc = req->access, reason;
	uint64_t iova = req->iova;
	struct wres w;

	out->cost = (struct hwm_cost){ .cache_hits = hits,
				       .cycles = (uint64_t)hits * cc->cache_hit_cycles };
	TRACE(v->bus.trace, hw_iotlb_miss, TRACE_STR(VTD_VENDOR), req->rid, did, iova);
	w.pte = w.pte_pa = 0;
	reason = ss_walk_(&x, scalable ? pe->ssptr : ci->sslptr,
			  scalable ? pe->sslevels : ci->levels, iova, acc, false, did, ptag, true,
			  true, &w);
	/* (the walk checked the access against the walked permissions) */
	return walk_done(&x, out, reason, &w, IOTLB_KIND_SS, did, ptag, ptag, false);
}

static __attribute__((noinline)) int handover(struct vtd *v, const struct hwm_req *req,
					      struct hwm_xlate *out, enum handover h,
					      struct fast_state *f)
{
	const struct hwm_cost_config *cc = &v->cfg.cost;
	struct xl x = {
		.v = v, .req = req, .cost = &out->cost, .scalable = f->scalable, .epoch = f->epoch
	};
	struct hwm_cost *c = &out->cost;
	unsigned iotlb_hits = h == H_HIT, kind;
	bool ad;

	/* the cost so far: f->hits context/PASID-cache hits, the IOTLB hit */
	memset(c, 0, sizeof(*c));
	c->cache_hits = f->hits;
	c->iotlb_hits = iotlb_hits;
	c->cycles = (uint64_t)f->hits * cc->cache_hit_cycles +
		    (uint64_t)iotlb_hits * cc->iotlb_hit_cycles;
	switch (h) {
	case H_GENERAL:
		return general(&x, out, f->rta);
	case H_CTX_MISS:
		return ctx_miss_stage(&x, out, f->rta);
	default:
		break;
	}
	x.fpd = f->ci->fpd;
	if (h == H_AFTER_CTX)
		return after_ctx(&x, out, f->ci);
	if (h == H_PASID_MISS)
		return pasid_miss_stage(&x, out, f->ci, f->ptag);
	if (f->scalable) {
		x.fpd = f->pe->fpd;
		if (h == H_AFTER_PASID)
			return after_pasid(&x, out, f->ci, f->pe, f->ptag);
	} else {
		/* legacy: the fields the stages below read of a PASID entry (access_fault()
		 * looks at wpe/nxe for first-stage kinds only; the walk at nothing else) */
		f->pe->pgtt = 0;
		f->pe->ssade = f->pe->wpe = f->pe->nxe = 0;
	}
	kind = f->pe->pgtt == PGTT_FS	    ? IOTLB_KIND_FS
	       : f->pe->pgtt == PGTT_NESTED ? IOTLB_KIND_NESTED
					    : IOTLB_KIND_SS;
	ad = f->pe->pgtt == PGTT_SS && f->pe->ssade;
	if (h == H_WALK) {
		TRACE(v->bus.trace, hw_iotlb_miss, TRACE_STR(VTD_VENDOR), req->rid, f->did,
		      req->iova);
		return walk_and_fill(&x, out, f->ci, f->pe, kind, f->did, f->ptag, f->ptag, ad);
	}
	return iotlb_hit(&x, out, f->ci, f->pe, f->e, f->shift, kind, f->did, f->ptag, f->ptag, ad);
}

/* ------------------------------------------------------------ the memo */

#define MEMO_VALID BIT(63)

static inline struct vtd_memo *memo_slot(struct vtd *v, uint32_t rid, uint64_t iova)
{
	uint64_t h = ((iova >> 12) + (uint64_t)rid * 0x9e3779b97f4a7c15ull);
	return &v->memo[(h ^ (h >> 32)) & (VTD_MEMO_SLOTS - 1)];
}

static inline uint64_t memo_id(const struct hwm_req *req)
{
	return req->rid | (uint64_t)req->has_pasid << 32 | MEMO_VALID;
}

/*
 * The fast path's test of an IOTLB hit (kind, perms, dirty) against the
 * request: true when access_fault() would pass it and no walk is needed.
 */
static inline bool plain_hit(unsigned kind, uint32_t perms, bool dirty, uint32_t acc)
{
	return kind != IOTLB_KIND_NEG &&
	       !((acc & HWM_ACC_WRITE) && (!dirty || !(perms & HWM_ACC_WRITE))) &&
	       !((acc & (HWM_ACC_READ | HWM_ACC_EXEC)) && !(perms & HWM_ACC_READ)) &&
	       !(kind != IOTLB_KIND_SS && !(perms & HWM_ACC_USER));
}

/* The lowest page size the IOTLB may hold: the size of its first probe. */
static inline unsigned first_probe(const struct vtd *v)
{
	uint64_t mask = hwm_cache_shift_mask_(v->iotlb) & (BIT(12) | BIT(21) | BIT(30));
	return mask ? __builtin_ctzll(mask) : 0;
}

/*
 * Serve a translation from the memo: the slot names this request, and the
 * context, PASID and IOTLB sets its hits came from have not been written
 * since, so the fast path would find the same entries and derive the same
 * result. Account those hits as the lookups would (LRU stamps, hit
 * counters), trace the hit, fill @out. False: go the normal way.
 */
static inline __attribute__((always_inline)) bool memo_get(struct vtd *v, struct vtd_memo *m,
							   const struct hwm_req *req,
							   struct hwm_xlate *out, uint64_t rta,
							   bool scalable)
{
	uint64_t s0 = __atomic_load_n(&m->seq, __ATOMIC_ACQUIRE);
	uint64_t cref, cseq, pref = 0, pseq = 0, tref, tseq, pa, meta;
	unsigned shift, hits;
	uint32_t acc = req->access;

	if ((s0 & 1) || hwm_ld_(&m->page) != req->iova >> 12 || hwm_ld_(&m->id) != memo_id(req) ||
	    hwm_ld_(&m->rta) != rta || (req->has_pasid && hwm_ld_(&m->pasid) != req->pasid))
		return false;
	cref = hwm_ld_(&m->ctx_ref);
	cseq = hwm_ld_(&m->ctx_seq);
	if (scalable) {
		pref = hwm_ld_(&m->pasid_ref);
		pseq = hwm_ld_(&m->pasid_seq);
	}
	tref = hwm_ld_(&m->tlb_ref);
	tseq = hwm_ld_(&m->tlb_seq);
	pa = hwm_ld_(&m->pa);
	meta = hwm_ld_(&m->meta);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (hwm_ld_(&m->seq) != s0)
		return false;
	shift = (meta >> 8) & 0xff;
	hits = (meta >> 32) & 0xff;
	/* what the fast path decides from the request alone */
	if ((scalable && (acc & (HWM_ACC_PRIV | HWM_ACC_EXEC))) ||
	    !plain_hit((meta >> 16) & 0xff, meta & 0xff, (meta >> 24) & 1, acc) ||
	    first_probe(v) != shift)
		return false;
	/* the caches it read are as they were */
	if (!hwm_cache_ref_valid(v->ctxc, cref >> 32, cseq) ||
	    (scalable && !hwm_cache_ref_valid(v->pasidc, pref >> 32, pseq)) ||
	    !hwm_cache_ref_valid(v->iotlb, tref >> 32, tseq))
		return false;
	hwm_cache_ref_touch(v->ctxc, cref >> 32, (uint32_t)cref);
	if (scalable)
		hwm_cache_ref_touch(v->pasidc, pref >> 32, (uint32_t)pref);
	hwm_cache_ref_touch(v->iotlb, tref >> 32, (uint32_t)tref);
	TRACE(v->bus.trace, hw_iotlb_hit, TRACE_STR(VTD_VENDOR), req->rid, meta >> 40, req->iova,
	      pa);
	out->status = HWM_XLATE_OK;
	out->page_size = 1ull << shift;
	out->pa = pa + (req->iova & (out->page_size - 1));
	out->perms = meta & 0xff;
	out->cost = v->hit_cost[hits - 1];
	return true;
}

/* Remember a fast-path hit (skipped when another thread is writing the slot). */
static inline void memo_put(struct vtd_memo *m, const struct hwm_req *req, uint64_t rta,
			    const struct hwm_cache_ref *c, const struct hwm_cache_ref *p,
			    const struct hwm_cache_ref *t, uint64_t pa, uint64_t meta)
{
	uint64_t s0 = __atomic_load_n(&m->seq, __ATOMIC_RELAXED);

	if ((s0 & 1) || !__atomic_compare_exchange_n(&m->seq, &s0, s0 + 1, false, __ATOMIC_ACQUIRE,
						     __ATOMIC_RELAXED))
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	hwm_st_(&m->page, req->iova >> 12);
	hwm_st_(&m->id, memo_id(req));
	hwm_st_(&m->pasid, req->has_pasid ? req->pasid : 0);
	hwm_st_(&m->rta, rta);
	hwm_st_(&m->ctx_ref, (uint64_t)c->set << 32 | c->way);
	hwm_st_(&m->ctx_seq, c->seq);
	hwm_st_(&m->pasid_ref, (uint64_t)p->set << 32 | p->way);
	hwm_st_(&m->pasid_seq, p->seq);
	hwm_st_(&m->tlb_ref, (uint64_t)t->set << 32 | t->way);
	hwm_st_(&m->tlb_seq, t->seq);
	hwm_st_(&m->pa, pa);
	hwm_st_(&m->meta, meta);
	__atomic_store_n(&m->seq, s0 + 2, __ATOMIC_RELEASE);
}

/*
 * One translation. The fast path handles the common case in registers: the
 * context (and PASID entry) cached, an IOTLB hit of a present entry the
 * request may use, no checker, no ATS; it copies only the payloads' hot
 * prefixes and writes the cost once (from per-instance constants). Anything
 * else goes on in the general path from the stage reached (handover()).
 */
static __attribute__((noinline)) int translate(struct vtd *v, const struct hwm_req *req,
					       struct hwm_xlate *out, uint32_t gsts, uint64_t rta)
{
	uint64_t iova = req->iova, mask, did = 0, ptag = 0;
	uint32_t rid = req->rid, acc = req->access;
	bool scalable = v->cfg.scalable && FIELD(rta, 11, 10) == 1;
	unsigned hits = 0, shift = 0;
	struct hwm_cache_ref cref = { 0 }, pref = { 0 }, tref = { 0 };
	struct vtd_ctxi ci;
	struct vtd_pei pe;
	struct vtd_tlbe e;
	enum handover h;
	struct fast_state f;
	/* before the first lookup: whatever this translation caches was read after it */
	uint64_t epoch = hwm_epoch_read(&v->inval_epoch);

	if (__builtin_expect(!(gsts & GCMD_TE), 0)) /* §3.1: DMA passes untranslated */
		return untranslated(v, out, iova,
				    HWM_ACC_READ | HWM_ACC_WRITE | HWM_ACC_EXEC | HWM_ACC_PRIV |
					    HWM_ACC_USER);
	if (__builtin_expect(req->ats || FIELD(rta, 11, 10) >= 2 ||
				     __atomic_load_n(&v->checker, __ATOMIC_RELAXED),
			     0)) {
		h = H_GENERAL;
		goto slow;
	}

	/* Context cache (§6.2.2) */
	{
		struct hwm_ctag k = { .sid = rid };
		if (!hwm_cache_get_spec_ref(v->ctxc, &k, &ci, VTD_CTXI_HOT, VTD_CTX_MATCH,
					    VTD_CTX_INDEX, &cref) ||
		    ci.scalable != scalable) {
			h = H_CTX_MISS;
			goto slow;
		}
	}
	hits = 1;
	if (!scalable) {
		h = H_AFTER_CTX;
		if (__builtin_expect(ci.tt != 0, 0))
			goto slow;
		did = ci.did;
		ptag = HWM_PASID_NONE;
		pe.pgtt = 0;
	} else {
		h = H_AFTER_CTX;
		if (__builtin_expect(req->has_pasid && !ci.paside, 0))
			goto slow;
		ptag = req->has_pasid ? req->pasid : ci.rid_pasid;
		{
			struct hwm_ctag k = { .sid = rid, .pasid = (uint32_t)ptag };
			h = H_PASID_MISS;
			if (!hwm_cache_get_spec_ref(v->pasidc, &k, &pe, VTD_PEI_HOT,
						    VTD_PASIDC_MATCH, VTD_PASIDC_INDEX, &pref))
				goto slow;
		}
		hits = 2;
		h = H_AFTER_PASID;
		if (__builtin_expect(pe.pgtt == PGTT_PT || (acc & (HWM_ACC_PRIV | HWM_ACC_EXEC)),
				     0))
			goto slow;
		did = pe.did;
	}

	/* IOTLB (§6.2.3): one probe per page size present, 4K first (its own
	 * copy of the probe: with the size a constant, the key and hash fold) */
	h = H_WALK;
	mask = hwm_cache_shift_mask_(v->iotlb) & (BIT(12) | BIT(21) | BIT(30));
	if (mask & BIT(12)) {
		struct hwm_ctag k = { .addr = iova & ~0xfffull,
				      .shift = 12,
				      .pasid = (uint32_t)ptag,
				      .domain = (uint32_t)did };
		if (hwm_cache_get_spec_ref(v->iotlb, &k, &e, VTD_TLBE_HOT, VTD_IOTLB_MATCH,
					   VTD_IOTLB_INDEX, &tref)) {
			shift = 12;
			h = H_HIT;
		}
		mask &= ~BIT(12);
	}
	for (; h != H_HIT && mask; mask &= mask - 1) {
		unsigned sh = __builtin_ctzll(mask);
		struct hwm_ctag k = { .addr = iova & ~((1ull << sh) - 1),
				      .shift = sh,
				      .pasid = (uint32_t)ptag,
				      .domain = (uint32_t)did };
		if (hwm_cache_get_spec_ref(v->iotlb, &k, &e, VTD_TLBE_HOT, VTD_IOTLB_MATCH,
					   VTD_IOTLB_INDEX, &tref)) {
			shift = sh;
			h = H_HIT;
		}
	}
	/*
	 * A plain hit: not a cached fault, and an access access_fault() would
	 * pass (the fast path has no PRIV/EXEC first-stage requests: a user
	 * page, W for writes, R for reads), a read or an already-dirty entry.
	 */
	if (h != H_HIT && (!scalable || (pe.pgtt == PGTT_SS && !pe.ssade)) &&
	    !inject_armed(v)) /* (walk_and_fill() has the injection points) */
		return ss_miss(v, req, out, &ci, &pe, did, ptag, hits, scalable, epoch);
	if (__builtin_expect(h != H_HIT || !plain_hit(e.kind, e.perms, e.dirty, acc), 0))
		goto slow;
	/* (a hit of the first probe only: a later one also counted misses) */
	if (shift == first_probe(v))
		memo_put(memo_slot(v, rid, iova), req, rta, &cref, &pref, &tref, e.pa,
			 e.perms | shift << 8 | (uint64_t)e.kind << 16 | (uint64_t)e.dirty << 24 |
				 (uint64_t)hits << 32 | did << 40);
	TRACE(v->bus.trace, hw_iotlb_hit, TRACE_STR(VTD_VENDOR), rid, did, iova, e.pa);
	out->status = HWM_XLATE_OK;
	out->page_size = 1ull << shift;
	out->pa = e.pa + (iova & (out->page_size - 1));
	out->perms = e.perms;
	out->cost = v->hit_cost[hits - 1];
	return 0;
slow:
	/* (the state goes to memory only here: the fast path keeps it in registers) */
	f = (struct fast_state){ .ci = &ci,
				 .pe = &pe,
				 .e = &e,
				 .rta = rta,
				 .did = did,
				 .ptag = ptag,
				 .hits = hits,
				 .shift = shift,
				 .scalable = scalable,
				 .epoch = epoch };
	return handover(v, req, out, h, &f);
}

/*
 * The entry point: the memo first, in a function small enough to keep
 * everything in registers; the rest of the fast path and the general path
 * behind one call.
 */
int vtd_translate(struct hwm_iommu *iommu, const struct hwm_req *req, struct hwm_xlate *out)
{
	struct vtd *v = CONTAINER(iommu);
	uint32_t gsts = __atomic_load_n(&v->gsts, __ATOMIC_ACQUIRE);
	uint64_t rta = __atomic_load_n(&v->rta_active, __ATOMIC_ACQUIRE);

	vtd_add_relaxed(&v->translations, 1);
	if (__builtin_expect(gsts & GSTS_DELAY_PENDING, 0)) {
		vtd_qi_delay_due(v); /* "vtd.inval_delay" armed: maybe due now */
		gsts = __atomic_load_n(&v->gsts, __ATOMIC_ACQUIRE);
	}
	if (__builtin_expect((gsts & GCMD_TE) && !req->ats && FIELD(rta, 11, 10) < 2 &&
				     !__atomic_load_n(&v->checker, __ATOMIC_RELAXED),
			     1) &&
	    memo_get(v, memo_slot(v, req->rid, req->iova), req, out, rta,
		     v->cfg.scalable && FIELD(rta, 11, 10) == 1))
		return 0;
	return translate(v, req, out, gsts, rta);
}
