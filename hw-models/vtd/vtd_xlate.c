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
 * Concurrency: nothing here takes v->lock except fault recording; register
 * state is read with atomic loads (see vtd_internal.h).
 */
#include "vtd/vtd_internal.h"

#include <errno.h>
#include <string.h>

#include <iommusim/trace.h>

#define CONTAINER(p) ((struct vtd *)((char *)(p) - offsetof(struct vtd, iommu)))
#define NO_DID 0xffffffffu

struct xl {
	struct vtd *v;
	const struct hwm_req *req;
	struct hwm_cost *cost;
	bool scalable;
	bool fpd;
	unsigned levels; /* levels read by the last walk, for the trace */
};

/* One table read during a walk: counted, injectable. Returns 0 or -1 (access error). */
static int rd(struct xl *x, uint64_t pa, void *buf, size_t len, bool is_pte)
{
	struct vtd *v = x->v;
	int st;

	hwm_cost_mem(x->cost, &v->cfg.cost);
	if (vtd_inject(v, "vtd.walk_read", pa))
		return -1;
	st = hwm_bus_read(&v->bus, pa, buf, len);
	if (st != HWM_MEM_OK)
		return -1;
	if (is_pte && vtd_inject(v, "vtd.pte_flip", pa))
		*(uint64_t *)buf ^= BIT(1); /* flip W (SS) / RW (FS) as if the entry was corrupted */
	return 0;
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
		if (ci->tt != 2 && (FIELD(ce[1], 2, 0) > 3 || !(v->cfg.sagaw & BIT(FIELD(ce[1], 2, 0))))) {
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

static bool pwc_find(struct xl *x, unsigned kind, uint32_t did, uint32_t pasid, uint64_t in,
		     unsigned top, unsigned *level, uint64_t *table, uint32_t *perms)
{
	struct vtd *v = x->v;
	struct vtd_pwce p;

	for (unsigned l = 2; l <= top; l++) {
		unsigned sh = 12 + 9 * (l - 1);
		struct hwm_ctag k = { .addr = in & ~((1ull << sh) - 1), .shift = sh, .level = l,
				      .kind = kind, .domain = did, .pasid = pasid };
		if (!hwm_cache_lookup(v->pwc, &k, &p, NULL))
			continue;
		hwm_cost_cache_hit(x->cost, &v->cfg.cost);
		if (__atomic_load_n(&v->checker, __ATOMIC_RELAXED)) {
			uint64_t cur;
			if (hwm_bus_read(&v->bus, p.entry_pa, &cur, 8) == HWM_MEM_OK &&
			    ((cur ^ p.entry) & ~(BIT(5) | BIT(8) | BIT(6) | BIT(9))))
				vtd_check(v, VTD_CHK_STALE_PWC, x->req->rid, p.entry_pa, cur);
		}
		*level = l - 1;
		*table = p.next;
		*perms = p.perms;
		return true;
	}
	return false;
}

static void pwc_fill(struct xl *x, unsigned kind, uint32_t did, uint32_t pasid, uint64_t in,
		     unsigned l, uint64_t next, uint64_t entry, uint64_t entry_pa, uint32_t perms)
{
	unsigned sh = 12 + 9 * (l - 1);
	struct hwm_ctag k = { .addr = in & ~((1ull << sh) - 1), .shift = sh, .level = l,
			      .kind = kind, .domain = did, .pasid = pasid };
	struct vtd_pwce p = { .next = next, .entry = entry, .entry_pa = entry_pa, .perms = perms };

	hwm_cache_fill(x->v->pwc, &k, &p, NULL);
}

/*
 * Second-stage walk (§3.7, §9.8): 512-entry tables, R 0, W 1, PS 7, A 8,
 * D 9, address 51:12; R|W = 0 is not present. Returns 0 or a fault reason.
 */
static uint32_t ss_walk(struct xl *x, uint64_t root, unsigned levels, uint64_t in, uint32_t acc,
			bool ad, uint32_t did, uint32_t ptag, bool use_pwc, struct wres *o)
{
	struct vtd *v = x->v;
	bool sm = x->scalable;
	uint64_t table = root;
	uint32_t perms = HWM_ACC_READ | HWM_ACC_WRITE;
	unsigned level = levels;
	unsigned width = 12 + 9 * levels;

	if (width < 64 && (in >> width))
		return sm ? FR_SS_BEYOND : FR_ADDR_BEYOND_MGAW;
	if (v->cfg.mgaw < 64 && (in >> v->cfg.mgaw))
		return sm ? FR_SS_BEYOND : FR_ADDR_BEYOND_MGAW;
	if (use_pwc)
		pwc_find(x, PWC_SS, did, ptag, in, levels, &level, &table, &perms);
	for (;; level--) {
		unsigned sh = 12 + 9 * (level - 1);
		uint64_t pa = table + ((in >> sh) & 511) * 8, pte, rsvd;
		bool leaf;

		x->levels++;
		if (beyond_haw(v, table))
			return sm ? FR_SS_PTR_INVALID : FR_PTE_ACCESS;
		if (rd(x, pa, &pte, 8, true))
			return sm ? FR_SS_ACCESS : FR_PTE_ACCESS;
		if (!(pte & 3)) {
			o->pte = pte;
			o->pte_pa = pa;
			return sm ? FR_SS_NP : ((acc & HWM_ACC_WRITE) ? FR_WRITE : FR_READ);
		}
		rsvd = GENMASK(51, v->cfg.haw);
		leaf = level == 1 || (pte & BIT(7));
		if (level > 1 && (pte & BIT(7))) {
			bool ok = (level == 2 && (v->cfg.sllps & 1)) || (level == 3 && (v->cfg.sllps & 2));
			if (!ok)
				rsvd |= BIT(7);
			else
				rsvd |= GENMASK(sh - 1, 12);
		}
		if (pte & rsvd) {
			vtd_check(v, VTD_CHK_RSVD_ENTRY, x->req->rid, pa, pte);
			o->pte = pte;
			o->pte_pa = pa;
			return sm ? FR_SS_RSVD : FR_PTE_RSVD;
		}
		if (!(pte & 1))
			perms &= ~HWM_ACC_READ;
		if (!(pte & 2))
			perms &= ~HWM_ACC_WRITE;
		if (ad)
			set_bits(x, pa, &pte, BIT(8) | ((leaf && (acc & HWM_ACC_WRITE) &&
							 (perms & HWM_ACC_WRITE)) ? BIT(9) : 0));
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
			pwc_fill(x, PWC_SS, did, ptag, in, level, table, pte, pa, perms);
	}
	if ((acc & HWM_ACC_WRITE) && !(perms & HWM_ACC_WRITE))
		return sm ? FR_SM_WRITE : FR_WRITE;
	if ((acc & (HWM_ACC_READ | HWM_ACC_EXEC)) && !(perms & HWM_ACC_READ))
		return sm ? FR_SM_READ : FR_READ;
	return 0;
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
static uint32_t fs_walk(struct xl *x, const struct vtd_pei *pe, const struct nest *n,
			uint64_t in, uint32_t acc, uint32_t did, uint32_t ptag, struct wres *o)
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
		pwc_find(x, PWC_FS, did, ptag, in, levels, &level, &table, &perms);
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
		rsvd = GENMASK(51, v->cfg.haw);
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
			bool w_ok = (perms & HWM_ACC_WRITE) ||
				    ((acc & HWM_ACC_PRIV) && !pe->wpe);
			set_bits(x, pa, &pte, BIT(5) | (((acc & HWM_ACC_WRITE) && w_ok) ? BIT(6) : 0));
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
			pwc_fill(x, PWC_FS, did, ptag, in, level, table, pte, pa, perms);
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
		if ((acc & HWM_ACC_WRITE) && !(perms & HWM_ACC_WRITE) && (!priv || pe->wpe ||
									   kind == IOTLB_KIND_NESTED))
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

static int finish_fault(struct xl *x, struct hwm_xlate *out, uint32_t reason)
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

static bool tlb_lookup(struct vtd *v, struct hwm_cache *c, struct hwm_ctag *k, uint64_t iova,
		       struct vtd_tlbe *e, unsigned *kind)
{
	uint64_t mask = hwm_cache_shift_mask(c);
	static const uint8_t shifts[3] = { 12, 21, 30 };
	struct hwm_ctag t;

	for (int i = 0; i < 3; i++) {
		unsigned sh = shifts[i];
		if (!(mask & (1ull << sh)))
			continue;
		k->shift = sh;
		k->addr = iova & ~((1ull << sh) - 1);
		if (hwm_cache_lookup(c, k, e, &t)) {
			*kind = t.kind;
			return true;
		}
	}
	return false;
}

int vtd_translate(struct hwm_iommu *iommu, const struct hwm_req *req, struct hwm_xlate *out)
{
	struct vtd *v = CONTAINER(iommu);
	const struct hwm_cost_config *cc = &v->cfg.cost;
	struct xl x = { .v = v, .req = req, .cost = &out->cost };
	uint32_t gsts, reason, did, ptag = HWM_PASID_NONE, pasid = HWM_PASID_NONE;
	uint64_t rta, iova = req->iova;
	struct vtd_ctxi ci;
	struct vtd_pei pe;
	struct hwm_ctag key;
	struct vtd_tlbe e;
	unsigned kind, ekind;
	bool checker = __atomic_load_n(&v->checker, __ATOMIC_RELAXED);
	bool ad = false;
	struct wres w;

	memset(&out->cost, 0, sizeof(out->cost));
	pe.wpe = pe.nxe = 0; /* read by access_fault() for first-stage kinds only */
	gsts = __atomic_load_n(&v->gsts, __ATOMIC_ACQUIRE);
	if (!(gsts & GCMD_TE)) /* §3.1: translation disabled - DMA passes untranslated */
		return finish_ok(v, out, iova & GENMASK(63, 12), 12,
				 HWM_ACC_READ | HWM_ACC_WRITE | HWM_ACC_EXEC | HWM_ACC_PRIV |
					 HWM_ACC_USER,
				 iova);
	rta = __atomic_load_n(&v->rta_active, __ATOMIC_ACQUIRE);
	x.scalable = v->cfg.scalable && FIELD(rta, 11, 10) == 1;
	if (FIELD(rta, 11, 10) >= 2)
		return finish_fault(&x, out, v->cfg.scalable ? FR_SM_RTA_INVALID : FR_ROOT_ACCESS);

	/* Context: cache (§6.2.2) or fetch. */
	memset(&key, 0, sizeof(key));
	key.sid = req->rid;
	if (hwm_cache_lookup(v->ctxc, &key, &ci, NULL) && ci.scalable == x.scalable) {
		hwm_cost_cache_hit(&out->cost, cc);
		x.fpd = ci.fpd;
		if (checker)
			checker_ctx(v, req->rid, &ci);
	} else {
		reason = ctx_fetch(&x, rta, &ci);
		if (reason)
			return finish_fault(&x, out, reason);
		key.domain = ci.scalable ? NO_DID : ci.did;
		hwm_cache_fill(v->ctxc, &key, &ci, NULL);
	}

	if (!x.scalable) {
		if (req->ats && ci.tt != 1)
			return finish_fault(&x, out, FR_TT_BLOCKED);
		if (ci.tt == 2) /* pass-through (§3.9) */
			return finish_ok(v, out, iova & GENMASK(63, 12), 12,
					 HWM_ACC_READ | HWM_ACC_WRITE | HWM_ACC_EXEC, iova);
		did = ci.did;
		kind = IOTLB_KIND_SS;
	} else {
		if (req->has_pasid && !ci.paside)
			return finish_fault(&x, out, FR_SM_CTX_PASIDE);
		if (req->ats && !ci.dte)
			return finish_fault(&x, out, FR_SM_CTX_DTE);
		pasid = req->has_pasid ? req->pasid : ci.rid_pasid;
		memset(&key, 0, sizeof(key));
		key.sid = req->rid;
		key.pasid = pasid;
		if (hwm_cache_lookup(v->pasidc, &key, &pe, NULL)) {
			hwm_cost_cache_hit(&out->cost, cc);
			x.fpd = pe.fpd;
			if (checker)
				checker_pe(v, req->rid, &pe);
		} else {
			reason = pasid_fetch(&x, &ci, pasid, &pe);
			if (reason)
				return finish_fault(&x, out, reason);
			key.domain = pe.did;
			hwm_cache_fill(v->pasidc, &key, &pe, NULL);
		}
		if (pe.pgtt == PGTT_PT)
			return finish_ok(v, out, iova & GENMASK(63, 12), 12,
					 HWM_ACC_READ | HWM_ACC_WRITE | HWM_ACC_EXEC |
						 HWM_ACC_PRIV | HWM_ACC_USER,
					 iova);
		if ((req->access & HWM_ACC_PRIV) && !pe.sre &&
		    (pe.pgtt == PGTT_FS || pe.pgtt == PGTT_NESTED))
			return finish_fault(&x, out, FR_SM_PE_SRE);
		if (req->access & HWM_ACC_EXEC)
			return finish_fault(&x, out, FR_SM_PE_ERE); /* ECAP.ERS is 0 */
		did = pe.did;
		ptag = pasid;
		kind = pe.pgtt == PGTT_FS ? IOTLB_KIND_FS :
		       pe.pgtt == PGTT_NESTED ? IOTLB_KIND_NESTED : IOTLB_KIND_SS;
		ad = pe.pgtt == PGTT_SS && pe.ssade;
	}

	/* The device's ATC (ATS, §4): consulted before the IOMMU. */
	memset(&key, 0, sizeof(key));
	if (req->ats) {
		key.sid = req->rid;
		key.pasid = req->has_pasid ? req->pasid : HWM_PASID_NONE;
		if (tlb_lookup(v, v->devtlb, &key, iova, &e, &ekind) &&
		    !access_fault(x.scalable, ekind, e.perms, req->access, &pe)) {
			hwm_cost_iotlb_hit(&out->cost, cc);
			return finish_ok(v, out, e.pa, key.shift, e.perms, iova);
		}
		memset(&key, 0, sizeof(key));
	}

	/* IOTLB (§6.2.3) */
	key.domain = did;
	key.pasid = ptag;
	if (tlb_lookup(v, v->iotlb, &key, iova, &e, &ekind)) {
		hwm_cost_iotlb_hit(&out->cost, cc);
		if (checker)
			checker_tlbe(v, req->rid, &e);
		if (ekind == IOTLB_KIND_NEG) {
			TRACE(v->bus.trace, hw_iotlb_hit, TRACE_STR(VTD_VENDOR), req->rid, did, iova, 0);
			return finish_fault(&x, out, e.reason);
		}
		reason = access_fault(x.scalable, ekind, e.perms, req->access, &pe);
		if (!reason && (!(req->access & HWM_ACC_WRITE) || e.dirty)) {
			TRACE(v->bus.trace, hw_iotlb_hit, TRACE_STR(VTD_VENDOR), req->rid, did, iova,
			      e.pa);
			if (req->ats)
				goto fill_devtlb;
			return finish_ok(v, out, e.pa, key.shift, e.perms, iova);
		}
		if (reason)
			return finish_fault(&x, out, reason);
		/* a write to a clean entry: walk again to set D (§3.7.2) */
	} else {
		TRACE(v->bus.trace, hw_iotlb_miss, TRACE_STR(VTD_VENDOR), req->rid, did, iova);
	}

	/* Walk. */
	memset(&w, 0, sizeof(w));
	if (kind == IOTLB_KIND_SS) {
		uint64_t root = x.scalable ? pe.ssptr : ci.sslptr;
		unsigned levels = x.scalable ? pe.sslevels : ci.levels;
		reason = ss_walk(&x, root, levels, iova, req->access, ad, did, ptag, true, &w);
	} else {
		struct nest n = { .pe = &pe, .did = did, .ptag = ptag };
		reason = fs_walk(&x, &pe, kind == IOTLB_KIND_NESTED ? &n : NULL, iova, req->access,
				 did, ptag, &w);
	}
	if (!reason)
		reason = access_fault(x.scalable, kind, w.perms, req->access, &pe);
	__atomic_fetch_add(&v->walks, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&v->walk_mem, out->cost.mem_accesses, __ATOMIC_RELAXED);
	TRACE(v->bus.trace, hw_walk, TRACE_STR(VTD_VENDOR), req->rid, pasid, iova, x.levels,
	      out->cost.mem_accesses, reason);
	if (reason) {
		if (v->cfg.cm && is_not_present(reason)) {
			/* CM=1 (§6.1): not-present entries may be cached. */
			struct vtd_tlbe neg = { .pte = w.pte, .pte_pa = w.pte_pa, .reason = reason };
			key.shift = 12;
			key.addr = iova & GENMASK(63, 12);
			key.kind = IOTLB_KIND_NEG;
			hwm_cache_fill(v->iotlb, &key, &neg, NULL);
		}
		return finish_fault(&x, out, reason);
	}
	{
		struct hwm_ctag ev;
		e = (struct vtd_tlbe){ .pa = w.base, .pte = w.pte, .pte_pa = w.pte_pa,
				       .perms = w.perms, .dirty = w.dirty };
		key.shift = w.shift;
		key.addr = iova & ~((1ull << w.shift) - 1);
		key.kind = kind;
		if (hwm_cache_fill(v->iotlb, &key, &e, &ev))
			TRACE(v->bus.trace, hw_iotlb_evict, TRACE_STR(VTD_VENDOR), ev.domain, ev.addr,
			      1ull << ev.shift);
		TRACE(v->bus.trace, hw_iotlb_fill, TRACE_STR(VTD_VENDOR), did, key.addr, w.base,
		      1ull << w.shift, w.perms);
	}
	if (!req->ats)
		return finish_ok(v, out, w.base, w.shift, w.perms, iova);
fill_devtlb:
	{
		unsigned sh = key.shift;
		memset(&key, 0, sizeof(key));
		key.sid = req->rid;
		key.pasid = req->has_pasid ? req->pasid : HWM_PASID_NONE;
		key.shift = sh;
		key.addr = iova & ~((1ull << sh) - 1);
		key.kind = kind;
		hwm_cache_fill(v->devtlb, &key, &e, NULL);
		return finish_ok(v, out, e.pa, sh, e.perms, iova);
	}
}
