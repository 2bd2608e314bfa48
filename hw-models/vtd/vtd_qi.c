/* SPDX-License-Identifier: MIT */
/*
 * VT-d invalidation: the cache-invalidation effects shared by the register
 * interface (CCMD, IOTLB_REG: §6.5.1) and queued invalidation (§6.5.2),
 * and the queue processor.
 *
 * The queue is consumed from IQH towards IQT one descriptor at a time, so it
 * can be single-stepped (process_commands(1)). A malformed descriptor (an
 * unknown type, or a reserved field set) stops processing with IQH still
 * pointing at it, sets FSTS.IQE and records the reason in IQER.IQEI
 * (§6.5.2.10); software clears IQE to resume. Caller holds v->lock.
 *
 * Which caches each descriptor touches:
 *  - context-cache (type 1): context cache; PASID cache and IOTLB entries of
 *    the affected devices' domains are *not* dropped (software follows with
 *    PASID-cache and IOTLB invalidations, §6.5.3.3);
 *  - IOTLB (type 2): second-stage / legacy / pass-through entries of the
 *    domain (any PASID) and the paging-structure caches of the domain;
 *  - PASID-IOTLB (type 6): first-stage and nested entries of DID+PASID and
 *    their paging-structure caches;
 *  - PASID-cache (type 7): the PASID cache;
 *  - device-TLB (type 3): the modelled ATS device TLBs of the SID.
 */
#include "vtd/vtd_internal.h"

#include <errno.h>
#include <string.h>

#include <iommusim/trace.h>

struct ctx_arg {
	unsigned gran;
	uint16_t did, sid, sid_mask;
};

static bool ctx_pred(const struct hwm_ctag *t, const void *p, void *arg)
{
	const struct ctx_arg *a = arg;
	switch (a->gran) {
	case 1:
		return true;
	case 2:
		return t->domain == a->did;
	default:
		return (t->sid & a->sid_mask) == (a->sid & a->sid_mask);
	}
}

void vtd_inval_context(struct vtd *v, unsigned gran, uint16_t did, uint16_t sid, unsigned fm)
{
	/* FM (function mask, §6.5.2.1): 1/2/3 mask SID bits 2, 2:1, 2:0. */
	static const uint16_t fmask[4] = { 0xffff, 0xfffb, 0xfff9, 0xfff8 };
	struct ctx_arg a = { .gran = gran, .did = did, .sid = sid, .sid_mask = fmask[fm & 3] };

	hwm_epoch_bump(&v->inval_epoch);
	hwm_cache_inval(v->ctxc, ctx_pred, &a);
}

struct tlb_arg {
	bool pasid_based; /* type 6: FS/nested entries of @pasid */
	bool all; /* global */
	bool page; /* page-selective: [first, last] */
	bool ih;
	uint16_t did;
	uint32_t pasid;
	uint64_t first, last;
};

/* (global invalidations do not come here: inval_tlbs() empties the caches) */
static bool tlb_pred(const struct hwm_ctag *t, const void *p, void *arg)
{
	const struct tlb_arg *a = arg;
	uint64_t tlast;

	if (t->domain != a->did)
		return false;
	if (a->pasid_based) {
		if (t->pasid != a->pasid)
			return false;
		if (t->kind != IOTLB_KIND_FS && t->kind != IOTLB_KIND_NESTED &&
		    t->kind != IOTLB_KIND_NEG)
			return false;
	} else if (t->kind == IOTLB_KIND_FS) {
		return false; /* first-stage entries need a PASID-based invalidation */
	}
	if (!a->page)
		return true;
	tlast = t->addr + ((1ull << t->shift) - 1);
	return t->addr <= a->last && tlast >= a->first;
}

/* PWC entries use the same tags; kind there is the stage (0 SS, 1 FS). */
static bool pwc_pred(const struct hwm_ctag *t, const void *p, void *arg)
{
	const struct tlb_arg *a = arg;
	uint64_t tlast;

	if (t->domain != a->did)
		return false;
	if (a->pasid_based && (t->pasid != a->pasid || t->kind != IOTLB_KIND_FS))
		return false;
	if (!a->pasid_based && t->kind == IOTLB_KIND_FS)
		return false;
	if (!a->page)
		return true;
	/* (page-selective with IH=1 keeps the walk cache: inval_tlbs() skips it) */
	tlast = t->addr + ((1ull << t->shift) - 1);
	return t->addr <= a->last && tlast >= a->first;
}

static void inval_tlbs(struct vtd *v, struct tlb_arg *a)
{
	struct hwm_ctag key = { .domain = a->did };

	if (vtd_inject(v, "vtd.inval_drop", a->first))
		return; /* the invalidation completes but has no effect */
	hwm_epoch_bump(&v->inval_epoch);
	if (a->all) {
		hwm_cache_inval_all(v->iotlb);
		hwm_cache_inval_all(v->pwc);
		return;
	}
	if (!a->page) {
		hwm_cache_inval(v->iotlb, tlb_pred, a);
		hwm_cache_inval(v->pwc, pwc_pred, a);
		return;
	}
	/* Page-selective: the predicates only accept entries of a->did, and the
	 * caches are indexed by {page, DID}: visit only the sets of the range. */
	hwm_cache_inval_span(v->iotlb, HWM_TAG_DOMAIN, &key, a->first, a->last, tlb_pred, a);
	if (!a->ih) /* §6.5.2.3 IH=1: only leaves changed, the walk caches stay */
		hwm_cache_inval_span(v->pwc, HWM_TAG_DOMAIN, &key, a->first, a->last, pwc_pred, a);
}

void vtd_inval_iotlb(struct vtd *v, unsigned gran, uint16_t did, uint64_t addr, unsigned am,
		     bool ih)
{
	struct tlb_arg a = { .all = gran == 1, .page = gran == 3, .ih = ih, .did = did };

	if (a.page) {
		uint64_t size = 1ull << (12 + am);
		a.first = addr & ~(size - 1);
		a.last = a.first + size - 1;
	}
	inval_tlbs(v, &a);
}

/* ------------------------------------------------------------ the queue */

static void iq_error(struct vtd *v, unsigned iqei, uint64_t qw0)
{
	v->iqer = (v->iqer & ~GENMASK(3, 0)) | iqei;
	v->fsts |= FSTS_IQE;
	vtd_count(&v->iqe);
	TRACE(v->bus.trace, hw_cmd_error, TRACE_STR(VTD_VENDOR), v->iq.head, iqei, qw0);
	vtd_fault_event_locked(v);
}

/* Reserved bits of qw0/qw1 per descriptor type (§6.5.2.1-§6.5.2.9). */
static bool desc_reserved(const struct vtd *v, unsigned type, const uint64_t *d)
{
	uint64_t r0, r1;
	unsigned g = FIELD(d[0], 5, 4);

	switch (type) {
	case 1: /* context-cache: G 5:4, DID 31:16, SID 47:32, FM 49:48 */
		r0 = GENMASK(8, 6) | GENMASK(15, 12) | GENMASK(63, 50);
		r1 = ~0ull;
		if (g == 0)
			return true;
		break;
	case 2: /* IOTLB: G 5:4, DW 6, DR 7, DID 31:16; qw1 AM 5:0, IH 6, ADDR 63:12 */
		r0 = BIT(8) | GENMASK(15, 12) | GENMASK(63, 32);
		r1 = GENMASK(11, 7);
		if (g == 0)
			return true;
		if (g == 3 && FIELD(d[1], 5, 0) > v->cfg.mamv)
			return true;
		if (g != 3)
			r1 = 0; /* address fields ignored */
		break;
	case 3: /* device-TLB: PFSID 15:12 & 63:52, MIP 20:16, SID 47:32; qw1 S 0, ADDR 63:12 */
		r0 = GENMASK(8, 4) | GENMASK(31, 21) | GENMASK(51, 48);
		r1 = GENMASK(11, 1);
		break;
	case 5: /* wait: IF 4, SW 5, FN 6, PD 7, status data 63:32; qw1 address 63:2 */
		r0 = BIT(8) | GENMASK(31, 12);
		r1 = GENMASK(1, 0);
		break;
	case 6: /* PASID-IOTLB: G 5:4 (2, 3), DID 31:16, PASID 51:32; qw1 AM, IH, ADDR */
		r0 = GENMASK(8, 6) | GENMASK(15, 12) | GENMASK(63, 52);
		r1 = g == 3 ? GENMASK(11, 7) : 0;
		if (g < 2)
			return true;
		if (g == 3 && FIELD(d[1], 5, 0) > v->cfg.mamv)
			return true;
		break;
	case 7: /* PASID-cache: G 5:4 (0 DSI, 1 PASID-selective, 3 global), DID, PASID */
		r0 = GENMASK(8, 6) | GENMASK(15, 12) | GENMASK(63, 52);
		r1 = ~0ull;
		if (g == 2)
			return true;
		break;
	default:
		return true;
	}
	if ((d[0] & r0) || (d[1] & r1))
		return true;
	if (v->iq_shift == 5 && (d[2] || d[3]))
		return true;
	return false;
}

struct dev_arg {
	uint16_t sid;
	uint64_t first, last;
};

static bool devtlb_pred(const struct hwm_ctag *t, const void *p, void *arg)
{
	const struct dev_arg *a = arg;
	uint64_t tlast = t->addr + ((1ull << t->shift) - 1);
	return t->sid == a->sid && t->addr <= a->last && tlast >= a->first;
}

struct pc_arg {
	unsigned g;
	uint16_t did;
	uint32_t pasid;
};

static bool pasidc_pred(const struct hwm_ctag *t, const void *p, void *arg)
{
	const struct pc_arg *a = arg;
	if (a->g == 3)
		return true;
	if (t->domain != a->did)
		return false;
	return a->g == 0 || t->pasid == a->pasid;
}

/* Apply one well-formed descriptor. Returns false when it must stall (injection). */
static bool apply(struct vtd *v, unsigned type, const uint64_t *d)
{
	unsigned g = FIELD(d[0], 5, 4);

	switch (type) {
	case 1:
		vtd_inval_context(v, g, FIELD(d[0], 31, 16), FIELD(d[0], 47, 32),
				  FIELD(d[0], 49, 48));
		break;
	case 2:
		vtd_inval_iotlb(v, g, FIELD(d[0], 31, 16), d[1] & GENMASK(63, 12),
				FIELD(d[1], 5, 0), d[1] & BIT(6));
		break;
	case 6: {
		struct tlb_arg a = { .pasid_based = true,
				     .page = g == 3,
				     .ih = d[1] & BIT(6),
				     .did = FIELD(d[0], 31, 16),
				     .pasid = FIELD(d[0], 51, 32) };
		if (a.page) {
			uint64_t size = 1ull << (12 + FIELD(d[1], 5, 0));
			a.first = d[1] & GENMASK(63, 12) & ~(size - 1);
			a.last = a.first + size - 1;
		}
		inval_tlbs(v, &a);
		break;
	}
	case 7: {
		struct pc_arg a = { g, FIELD(d[0], 31, 16), FIELD(d[0], 51, 32) };
		if (!vtd_inject(v, "vtd.inval_drop", 0)) {
			hwm_epoch_bump(&v->inval_epoch);
			hwm_cache_inval(v->pasidc, pasidc_pred, &a);
		}
		break;
	}
	case 3: {
		/* §6.5.2.5 / PCIe ATS: with S=1 the number of trailing 1s from bit 12 gives size. */
		struct dev_arg a = { .sid = FIELD(d[0], 47, 32) };
		uint64_t addr = d[1] & GENMASK(63, 12), size = 1ull << 12;
		if (d[1] & 1) {
			unsigned ones = __builtin_ctzll(~(addr >> 12));
			size = ones >= 51 ? 0 : 1ull << (13 + ones);
		}
		a.first = size ? addr & ~(size - 1) : 0;
		a.last = size ? a.first + size - 1 : UINT64_MAX;
		struct hwm_ctag key = { .sid = a.sid };
		if (!vtd_inject(v, "vtd.inval_drop", addr)) {
			hwm_epoch_bump(&v->inval_epoch);
			hwm_cache_inval_span(v->devtlb, HWM_TAG_SID, &key, a.first, a.last,
					     devtlb_pred, &a);
		}
		break;
	}
	case 5: {
		uint64_t saddr = d[1] & GENMASK(63, 2);
		uint32_t sdata = (uint32_t)(d[0] >> 32);
		if (vtd_inject(v, "vtd.wait_stall", saddr))
			return false;
		/* §6.5.2.8: SW writes the status data; IF sets ICS.IWC and raises the
		 * invalidation completion event. FN: nothing is reordered in this
		 * model (descriptors complete in order), so the fence holds. */
		if (d[0] & BIT(5))
			hwm_bus_write(&v->bus, saddr, &sdata, 4);
		if (d[0] & BIT(4)) {
			v->ics |= 1;
			if (v->iectl & CTL_IM) {
				v->iectl |= CTL_IP;
			} else if (v->bus.ops->irq) {
				v->iectl &= ~CTL_IP;
				v->bus.ops->irq(v->bus.ctx,
						((uint64_t)v->ieuaddr << 32) | v->ieaddr,
						v->iedata);
			}
		}
		TRACE(v->bus.trace, hw_inval_complete, TRACE_STR(VTD_VENDOR), v->iq.head,
		      (d[0] & BIT(5)) ? saddr : 0, sdata);
		break;
	}
	}
	return true;
}

/*
 * "vtd.inval_delay": apply the held descriptor's effect (once) and disarm.
 * Called when the deadline passed, or when queued invalidation is disabled
 * under it (the descriptor completes before QIES clears). Caller holds v->lock.
 */
void vtd_qi_delay_flush_locked(struct vtd *v)
{
	if (!v->delay_armed)
		return;
	if (v->gsts & GSTS_DELAY_PENDING) {
		apply(v, v->delay_type, v->delay_desc);
		__atomic_fetch_and(&v->gsts, ~(uint32_t)GSTS_DELAY_PENDING, __ATOMIC_RELEASE);
	}
	v->delay_armed = false;
}

/*
 * The translation path found a delayed invalidation pending: once the clock
 * has reached its deadline the effect takes place (stale entries stop being
 * served) even if nothing has processed the queue yet; the descriptor (and a
 * wait behind it) retires at the next processing, which needs no interrupt
 * or status write from inside a translation.
 */
void vtd_qi_delay_due(struct vtd *v)
{
	pthread_mutex_lock(&v->lock);
	if (v->delay_armed && (v->gsts & GSTS_DELAY_PENDING) &&
	    hwm_bus_now(&v->bus) >= v->delay_until) {
		apply(v, v->delay_type, v->delay_desc);
		__atomic_fetch_and(&v->gsts, ~(uint32_t)GSTS_DELAY_PENDING, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&v->lock);
}

long vtd_qi_process_locked(struct vtd *v, unsigned max)
{
	long n = 0;
	uint64_t d[4];

	while (!max || n < (long)max) {
		unsigned type;
		int st;

		if (!(v->gsts & GCMD_QIE) || (v->fsts & FSTS_IQE) || hwm_ring_empty(&v->iq))
			break;
		memset(d, 0, sizeof(d));
		st = hwm_ring_peek(&v->bus, &v->iq, d);
		if (st != HWM_MEM_OK) {
			iq_error(v, IQEI_FETCH_ERROR, 0);
			break;
		}
		/* §6.5.2: the type is 7 bits, 3:0 and 11:9 of qw0. */
		type = (unsigned)(FIELD(d[0], 3, 0) | (FIELD(d[0], 11, 9) << 4));
		if (type != 1 && type != 2 && type != 3 && type != 5 && type != 6 && type != 7) {
			vtd_check(v, VTD_CHK_RSVD_DESC, 0, hwm_ring_slot_addr(&v->iq, v->iq.head),
				  d[0]);
			iq_error(v, IQEI_INVALID_TYPE, d[0]);
			break;
		}
		if ((type == 6 || type == 7) && !v->cfg.scalable) {
			vtd_check(v, VTD_CHK_CAP_CLEAR, 0, hwm_ring_slot_addr(&v->iq, v->iq.head),
				  d[0]);
			iq_error(v, IQEI_INVALID_TYPE, d[0]);
			break;
		}
		if (desc_reserved(v, type, d)) {
			vtd_check(v, VTD_CHK_RSVD_DESC, 0, hwm_ring_slot_addr(&v->iq, v->iq.head),
				  d[0]);
			iq_error(v, IQEI_RSVD_FIELD, d[0]);
			break;
		}
		TRACE(v->bus.trace, hw_inval_process, TRACE_STR(VTD_VENDOR), v->iq.head, type, d[0],
		      d[1], 0);
		if (type != 5 && !v->delay_armed &&
		    vtd_inject(v, "vtd.inval_delay", hwm_ring_slot_addr(&v->iq, v->iq.head))) {
			v->delay_armed = true;
			v->delay_type = type;
			memcpy(v->delay_desc, d, sizeof(d));
			v->delay_until = hwm_bus_now(&v->bus) + v->cfg.inval_delay_ns;
			__atomic_fetch_or(&v->gsts, (uint32_t)GSTS_DELAY_PENDING, __ATOMIC_RELEASE);
		}
		if (v->delay_armed) {
			/* held: IQH stays on it (and everything behind it, a wait
			 * included, waits) until the clock reaches the deadline */
			if (hwm_bus_now(&v->bus) < v->delay_until)
				break;
			vtd_qi_delay_flush_locked(v);
		} else if (!apply(v, type, d)) {
			break; /* stalled wait: IQH stays on it; the next call retries */
		}
		vtd_add_relaxed(&v->desc_by_type[type], 1); /* under v->lock: exact */
		vtd_add_relaxed(&v->commands, 1);
		hwm_ring_advance_head(&v->iq);
		n++;
	}
	return n;
}
