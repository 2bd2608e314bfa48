/* SPDX-License-Identifier: MIT */
/*
 * VT-d model: creation, the register file (VT-d 3.4 §11.4), fault recording
 * (§7.2), the protocol checker's reporting, page requests (§7.5.1) and the
 * hwm_iommu glue. Walks and caches are in vtd_xlate.c, queued invalidation
 * in vtd_qi.c; vtd_internal.h describes the state and its locking.
 *
 * Register access model: every register is decoded as 32-bit halves; a
 * 64-bit access is the low half then the high half, so side effects sit on
 * the half that holds the command bit (CCMD.ICC and IOTLB.IVT in the high
 * half, IQT's tail in the low half, FRCD.F in the top dword), which is also
 * what two 32-bit accesses by a driver do (§11.2: software may access 64-bit
 * registers as two 32-bit accesses).
 *
 * Reentrancy: @lock is recursive because an interrupt (bus->irq) is raised
 * with it held and the simulated driver's handler may read registers from
 * inside that callback.
 */
#include "vtd/vtd_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/trace.h>

#define CONTAINER(p) ((struct vtd *)((char *)(p)-offsetof(struct vtd, iommu)))

static const char *const rule_names[VTD_CHK__COUNT] = {
	[VTD_CHK_STALE_IOTLB] = "stale_iotlb",
	[VTD_CHK_STALE_CONTEXT] = "stale_context",
	[VTD_CHK_STALE_PASID] = "stale_pasid",
	[VTD_CHK_STALE_PWC] = "stale_pwc",
	[VTD_CHK_RSVD_DESC] = "reserved_descriptor",
	[VTD_CHK_RSVD_ENTRY] = "reserved_entry",
	[VTD_CHK_CAP_CLEAR] = "capability_clear",
	[VTD_CHK_REG_INVAL_QI] = "register_invalidation_with_qi",
	[VTD_CHK_IQA_WHILE_QIE] = "iqa_while_qie",
	[VTD_CHK_TABLE_REUSE] = "table_reuse",
};

static const char *const rule_sections[VTD_CHK__COUNT] = {
	[VTD_CHK_STALE_IOTLB] = "VT-d 3.4 6.5",	       [VTD_CHK_STALE_CONTEXT] = "VT-d 3.4 6.5.2.1",
	[VTD_CHK_STALE_PASID] = "VT-d 3.4 6.5.2.2",    [VTD_CHK_STALE_PWC] = "VT-d 3.4 6.2.4",
	[VTD_CHK_RSVD_DESC] = "VT-d 3.4 6.5.2",	       [VTD_CHK_RSVD_ENTRY] = "VT-d 3.4 9",
	[VTD_CHK_CAP_CLEAR] = "VT-d 3.4 11.4.2-3",     [VTD_CHK_REG_INVAL_QI] = "VT-d 3.4 6.5.1",
	[VTD_CHK_IQA_WHILE_QIE] = "VT-d 3.4 11.4.9.3", [VTD_CHK_TABLE_REUSE] = "VT-d 3.4 6.5, 6.6",
};

const char *vtd_check_rule_name(enum vtd_check_rule rule)
{
	return rule < VTD_CHK__COUNT ? rule_names[rule] : "unknown";
}

const char *vtd_check_rule_section(enum vtd_check_rule rule)
{
	return rule < VTD_CHK__COUNT ? rule_sections[rule] : "";
}

struct vtd_config vtd_config_default(void)
{
	struct vtd_config c = {
		.sagaw = 0x4,
		.mgaw = 48,
		.haw = 48,
		.sllps = 0x3,
		.nd = 6,
		.nfr = 8,
		.mamv = 18,
		.psi = true,
		.cm = false,
		.fl1gp = true,
		.fl5lp = false,
		.rwbf = false,
		.qi = true,
		.dt = true,
		.pt = true,
		.sc = true,
		.scalable = true,
		.pasid = true,
		.pss = 19,
		.flts = true,
		.slts = true,
		.nest = true,
		.ssads = true,
		.prs = true,
		.iotlb = { 64, 8, HWM_REPL_LRU },
		.ctx = { 16, 4, HWM_REPL_LRU },
		.pasid_c = { 16, 4, HWM_REPL_LRU },
		.pwc = { 16, 4, HWM_REPL_LRU },
		.devtlb = { 16, 4, HWM_REPL_LRU },
		.qi_sync = true,
		.checker = false,
		.seed = 1,
		.inval_delay_ns = 10000,
		.cost = hwm_cost_config_default(),
	};
	return c;
}

/* ------------------------------------------------------------ reporting */

void vtd_check(struct vtd *v, enum vtd_check_rule rule, uint32_t rid, uint64_t addr, uint64_t value)
{
	vtd_count(&v->checks[rule]);
	TRACE(v->bus.trace, hw_checker, TRACE_STR(VTD_VENDOR), TRACE_STR(rule_names[rule]),
	      TRACE_STR(rule_sections[rule]), rid, addr, value);
}

/* The slow half of vtd_inject(): the point fired. */
bool vtd_injected(struct vtd *v, const char *point, uint64_t addr)
{
	vtd_count(&v->injected);
	TRACE(v->bus.trace, hw_inject, TRACE_STR(VTD_VENDOR), TRACE_STR(point), addr);
	return true;
}

static void raise_msi(struct vtd *v, uint32_t *ctl, uint32_t addr_lo, uint32_t addr_hi,
		      uint32_t data)
{
	if (*ctl & CTL_IM) {
		*ctl |= CTL_IP;
		return;
	}
	*ctl &= ~CTL_IP;
	if (v->bus.ops->irq)
		v->bus.ops->irq(v->bus.ctx, ((uint64_t)addr_hi << 32) | addr_lo, data);
}

/* Fault event (§7.3): FEDATA to FEADDR, unless masked (then FECTL.IP). */
void vtd_fault_event_locked(struct vtd *v)
{
	raise_msi(v, &v->fectl, v->feaddr, v->feuaddr, v->fedata);
}

static bool any_pending_fault(const struct vtd *v)
{
	for (unsigned i = 0; i < v->cfg.nfr; i++)
		if (v->frcd[i][1] & BIT(63))
			return true;
	return false;
}

/*
 * Build the 128-bit fault record (§11.4.14 FRCD_REG): FI (page address)
 * 63:12, SID 79:64, PP 95, FR 103:96, PV 123:104, T 126 (1 = read), F 127;
 * then log it in the next fault recording register (primary fault logging,
 * §7.2.1): if that register still holds a fault (F=1) the new fault is
 * dropped and PFO set; FRI is latched when PPF goes from 0 to 1.
 */
void vtd_record_fault(struct vtd *v, const struct hwm_req *req, uint32_t reason,
		      struct hwm_fault *f)
{
	uint64_t lo = req->iova & GENMASK(63, 12);
	uint64_t hi = (uint64_t)(req->rid & 0xffff) | ((uint64_t)(reason & 0xff) << 32) | BIT(63);
	int64_t idx = -1;

	if (req->has_pasid)
		hi |= BIT(31) | ((uint64_t)(req->pasid & 0xfffff) << 40);
	if (!(req->access & HWM_ACC_WRITE))
		hi |= BIT(62);
	f->vendor = HWM_VENDOR_VTD;
	f->reason = reason;
	f->len = 16;
	memcpy(f->record, &lo, 8);
	memcpy(f->record + 8, &hi, 8);
	vtd_count(&v->faults);
	if (f->suppressed)
		return;

	pthread_mutex_lock(&v->lock);
	uint32_t i = v->fr_next;
	if ((v->frcd[i][1] & BIT(63)) || vtd_inject(v, "vtd.fault_overflow", req->iova)) {
		vtd_count(&v->fault_overflows);
		if (!(v->fsts & FSTS_PFO)) {
			v->fsts |= FSTS_PFO;
			vtd_fault_event_locked(v);
		}
		f->suppressed = true;
	} else {
		v->frcd[i][0] = lo;
		v->frcd[i][1] = hi;
		v->fr_next = (i + 1) % v->cfg.nfr;
		idx = i;
		f->recorded = true;
		vtd_count(&v->faults_recorded);
		if (!(v->fsts & FSTS_PPF)) {
			v->fsts = (v->fsts & ~(uint32_t)GENMASK(15, 8)) | FSTS_PPF | (i << 8);
			vtd_fault_event_locked(v);
		}
	}
	pthread_mutex_unlock(&v->lock);
	TRACE(v->bus.trace, hw_fault_record, TRACE_STR(VTD_VENDOR), req->rid,
	      req->has_pasid ? req->pasid : HWM_PASID_NONE, req->iova, reason, (uint64_t)idx);
}

/* ------------------------------------------------------------ registers */

static uint32_t read32_locked(struct vtd *v, uint64_t off)
{
	uint64_t fro_end = VTD_FRO_OFF + 16ull * v->cfg.nfr;

	if (off >= VTD_FRO_OFF && off < fro_end) {
		uint64_t i = (off - VTD_FRO_OFF) / 16, w = (off - VTD_FRO_OFF) % 16;
		uint64_t q = v->frcd[i][w / 8];
		return (uint32_t)(w % 8 ? q >> 32 : q);
	}
	switch (off) {
	case VTD_VER:
		return v->cfg.scalable ? 0x30 : 0x10;
	case VTD_CAP:
		return (uint32_t)v->cap;
	case VTD_CAP + 4:
		return (uint32_t)(v->cap >> 32);
	case VTD_ECAP:
		return (uint32_t)v->ecap;
	case VTD_ECAP + 4:
		return (uint32_t)(v->ecap >> 32);
	case VTD_GSTS:
		return __atomic_load_n(&v->gsts, __ATOMIC_RELAXED) & ~(uint32_t)GSTS_DELAY_PENDING;
	case VTD_RTADDR:
		return (uint32_t)v->rtaddr;
	case VTD_RTADDR + 4:
		return (uint32_t)(v->rtaddr >> 32);
	case VTD_CCMD:
		return (uint32_t)v->ccmd;
	case VTD_CCMD + 4:
		return (uint32_t)(v->ccmd >> 32);
	case VTD_FSTS:
		return v->fsts;
	case VTD_FECTL:
		return v->fectl;
	case VTD_FEDATA:
		return v->fedata;
	case VTD_FEADDR:
		return v->feaddr;
	case VTD_FEUADDR:
		return v->feuaddr;
	case VTD_IQH:
		return v->iq.head << v->iq_shift;
	case VTD_IQT:
		return (uint32_t)v->iqt_reg;
	case VTD_IQA:
		return (uint32_t)v->iqa;
	case VTD_IQA + 4:
		return (uint32_t)(v->iqa >> 32);
	case VTD_ICS:
		return v->ics;
	case VTD_IECTL:
		return v->iectl;
	case VTD_IEDATA:
		return v->iedata;
	case VTD_IEADDR:
		return v->ieaddr;
	case VTD_IEUADDR:
		return v->ieuaddr;
	case VTD_IQER:
		return (uint32_t)v->iqer;
	case VTD_IQER + 4:
		return (uint32_t)(v->iqer >> 32);
	case VTD_PQH:
		return v->pq.head << 5;
	case VTD_PQT:
		return v->pq.tail << 5;
	case VTD_PQA:
		return (uint32_t)v->pqa;
	case VTD_PQA + 4:
		return (uint32_t)(v->pqa >> 32);
	case VTD_PRS:
		return v->prs;
	case VTD_PECTL:
		return v->pectl;
	case VTD_PEDATA:
		return v->pedata;
	case VTD_PEADDR:
		return v->peaddr;
	case VTD_PEUADDR:
		return v->peuaddr;
	case VTD_IRO_OFF:
		return (uint32_t)v->iva;
	case VTD_IRO_OFF + 4:
		return (uint32_t)(v->iva >> 32);
	case VTD_IRO_OFF + 8:
		return (uint32_t)v->iotlb_reg;
	case VTD_IRO_OFF + 12:
		return (uint32_t)(v->iotlb_reg >> 32);
	default:
		return 0; /* reserved: reads 0 */
	}
}

static inline uint64_t set_half(uint64_t reg, uint64_t off, uint32_t val)
{
	if (off & 4)
		return (reg & 0xffffffffull) | ((uint64_t)val << 32);
	return (reg & ~0xffffffffull) | val;
}

static void gcmd_write(struct vtd *v, uint32_t val)
{
	uint32_t gsts = v->gsts;

	/* §10.4.4: TE, QIE, IRE, CFI are level bits; SRTP, SFL, WBF, SIRTP one-shot. */
	if (val & GCMD_SRTP) {
		uint64_t rta = v->rtaddr;
		unsigned ttm = FIELD(rta, 11, 10);
		if (ttm == 1 && !v->cfg.scalable)
			vtd_check(v, VTD_CHK_CAP_CLEAR, 0, VTD_RTADDR, rta);
		__atomic_store_n(&v->rta_active, rta, __ATOMIC_RELEASE);
		gsts |= GCMD_SRTP; /* RTPS */
	}
	if ((val & GCMD_TE) != (gsts & GCMD_TE))
		gsts = (gsts & ~GCMD_TE) | (val & GCMD_TE);
	if ((val & GCMD_QIE) && !(gsts & GCMD_QIE)) {
		if (!v->cfg.qi) {
			vtd_check(v, VTD_CHK_CAP_CLEAR, 0, VTD_GCMD, val);
		} else {
			gsts |= GCMD_QIE;
			v->iq.head = 0; /* §6.5.2: IQH is reset when QI is enabled */
		}
	} else if (!(val & GCMD_QIE) && (gsts & GCMD_QIE)) {
		vtd_qi_delay_flush_locked(v); /* a held descriptor completes first */
		gsts &= ~(GCMD_QIE | GSTS_DELAY_PENDING);
		v->iq.head = 0;
	}
	if (val & (GCMD_IRE | GCMD_SIRTP | GCMD_CFI))
		vtd_check(v, VTD_CHK_CAP_CLEAR, 0, VTD_GCMD, val); /* ECAP.IR is 0 */
	if ((val & GCMD_WBF) && !v->cfg.rwbf)
		vtd_check(v, VTD_CHK_CAP_CLEAR, 0, VTD_GCMD, val);
	/* WBF completes at once: WBFS never reads as set. */
	__atomic_store_n(&v->gsts, gsts, __ATOMIC_RELEASE);
	if ((gsts & GCMD_QIE) && v->cfg.qi_sync)
		vtd_qi_process_locked(v, 0);
}

static void iqa_update(struct vtd *v)
{
	unsigned qs = FIELD(v->iqa, 2, 0);
	bool dw = v->iqa & BIT(11);
	uint32_t head = v->iq.head, tail = v->iq.tail;

	if (dw && !v->cfg.scalable) {
		vtd_check(v, VTD_CHK_CAP_CLEAR, 0, VTD_IQA, v->iqa);
		dw = false;
	}
	v->iq_shift = dw ? 5 : 4;
	/* §6.5.2: the queue is 2^QS 4 KiB pages of 16- or 32-byte descriptors. */
	hwm_ring_init(&v->iq, v->iqa & GENMASK(63, 12), (dw ? 128u : 256u) << qs,
		      1u << v->iq_shift);
	v->iq.head = head % v->iq.nentries;
	v->iq.tail = tail % v->iq.nentries;
}

static void pqa_update(struct vtd *v)
{
	unsigned pqs = FIELD(v->pqa, 2, 0);
	uint32_t head = v->pq.head, tail = v->pq.tail;

	hwm_ring_init(&v->pq, v->pqa & GENMASK(63, 12), 128u << pqs, 32);
	v->pq.head = head % v->pq.nentries;
	v->pq.tail = tail % v->pq.nentries;
}

static void iqe_cleared(struct vtd *v)
{
	if ((v->gsts & GCMD_QIE) && v->cfg.qi_sync)
		vtd_qi_process_locked(v, 0);
}

static void write32_locked(struct vtd *v, uint64_t off, uint32_t val)
{
	uint64_t fro_end = VTD_FRO_OFF + 16ull * v->cfg.nfr;

	if (off >= VTD_FRO_OFF && off < fro_end) {
		uint64_t i = (off - VTD_FRO_OFF) / 16, w = (off - VTD_FRO_OFF) % 16;
		/* Only F (bit 127) is writable: RW1C. */
		if (w == 12 && (val & BIT(31))) {
			v->frcd[i][1] &= ~BIT(63);
			if (!any_pending_fault(v))
				v->fsts &= ~FSTS_PPF;
		}
		return;
	}
	switch (off) {
	case VTD_GCMD:
		gcmd_write(v, val);
		break;
	case VTD_RTADDR:
	case VTD_RTADDR + 4:
		v->rtaddr = set_half(v->rtaddr, off, val);
		break;
	case VTD_CCMD:
		v->ccmd = set_half(v->ccmd, off, val);
		break;
	case VTD_CCMD + 4:
		v->ccmd = set_half(v->ccmd, off, val);
		if (v->ccmd & BIT(63)) {
			unsigned g = FIELD(v->ccmd, 62, 61);
			if (v->gsts & GCMD_QIE)
				vtd_check(v, VTD_CHK_REG_INVAL_QI, 0, VTD_CCMD, v->ccmd);
			if (g)
				vtd_inval_context(v, g, FIELD(v->ccmd, 15, 0),
						  FIELD(v->ccmd, 31, 16), FIELD(v->ccmd, 33, 32));
			/* §11.4.7: ICC clears on completion; CAIG reports the granularity done. */
			v->ccmd = (v->ccmd & ~(BIT(63) | GENMASK(60, 59))) | ((uint64_t)g << 59);
		}
		break;
	case VTD_FSTS: {
		uint32_t clr = val & FSTS_RW1C;
		bool iqe = (v->fsts & FSTS_IQE) && (clr & FSTS_IQE);
		v->fsts &= ~clr;
		if (!(v->fsts & (FSTS_PFO | FSTS_PPF | FSTS_IQE | FSTS_ICE | FSTS_ITE)))
			v->fectl &= ~CTL_IP;
		if (iqe)
			iqe_cleared(v);
		break;
	}
	case VTD_FECTL:
		v->fectl = (v->fectl & ~CTL_IM) | (val & CTL_IM);
		if (!(v->fectl & CTL_IM) && (v->fectl & CTL_IP))
			vtd_fault_event_locked(v);
		break;
	case VTD_FEDATA:
		v->fedata = val;
		break;
	case VTD_FEADDR:
		v->feaddr = val & ~3u;
		break;
	case VTD_FEUADDR:
		v->feuaddr = val;
		break;
	case VTD_IQT: {
		v->iqt_reg = val & (uint32_t)GENMASK(18, 4);
		if (v->iq_shift == 5 && (val & BIT(4))) {
			/* §11.4.9.2: with 256-bit descriptors bit 4 must be 0. */
			v->iqer = (v->iqer & ~GENMASK(3, 0)) | IQEI_TAIL_MISALIGNED;
			v->fsts |= FSTS_IQE;
			vtd_count(&v->iqe);
			vtd_fault_event_locked(v);
			break;
		}
		v->iq.tail = (uint32_t)(v->iqt_reg >> v->iq_shift) % v->iq.nentries;
		TRACE(v->bus.trace, hw_inval_submit, TRACE_STR(VTD_VENDOR), v->iq.head, v->iq.tail);
		if ((v->gsts & GCMD_QIE) && v->cfg.qi_sync)
			vtd_qi_process_locked(v, 0);
		break;
	}
	case VTD_IQA:
	case VTD_IQA + 4:
		if (v->gsts & GCMD_QIE)
			vtd_check(v, VTD_CHK_IQA_WHILE_QIE, 0, VTD_IQA, val);
		v->iqa = set_half(v->iqa, off, val);
		iqa_update(v);
		break;
	case VTD_ICS:
		if (val & 1)
			v->ics &= ~1u;
		if (!(v->ics & 1))
			v->iectl &= ~CTL_IP;
		break;
	case VTD_IECTL:
		v->iectl = (v->iectl & ~CTL_IM) | (val & CTL_IM);
		if (!(v->iectl & CTL_IM) && (v->iectl & CTL_IP))
			raise_msi(v, &v->iectl, v->ieaddr, v->ieuaddr, v->iedata);
		break;
	case VTD_IEDATA:
		v->iedata = val;
		break;
	case VTD_IEADDR:
		v->ieaddr = val & ~3u;
		break;
	case VTD_IEUADDR:
		v->ieuaddr = val;
		break;
	case VTD_PQH:
		v->pq.head = ((val >> 5) & 0x3fff) % v->pq.nentries;
		if (hwm_ring_empty(&v->pq))
			v->prs &= ~1u;
		break;
	case VTD_PQA:
	case VTD_PQA + 4:
		v->pqa = set_half(v->pqa, off, val);
		pqa_update(v);
		break;
	case VTD_PRS:
		v->prs &= ~(val & 3u);
		if (!v->prs)
			v->pectl &= ~CTL_IP;
		break;
	case VTD_PECTL:
		v->pectl = (v->pectl & ~CTL_IM) | (val & CTL_IM);
		if (!(v->pectl & CTL_IM) && (v->pectl & CTL_IP))
			raise_msi(v, &v->pectl, v->peaddr, v->peuaddr, v->pedata);
		break;
	case VTD_PEDATA:
		v->pedata = val;
		break;
	case VTD_PEADDR:
		v->peaddr = val & ~3u;
		break;
	case VTD_PEUADDR:
		v->peuaddr = val;
		break;
	case VTD_IRO_OFF:
	case VTD_IRO_OFF + 4:
		v->iva = set_half(v->iva, off, val);
		break;
	case VTD_IRO_OFF + 8:
		v->iotlb_reg = set_half(v->iotlb_reg, off, val);
		break;
	case VTD_IRO_OFF + 12:
		v->iotlb_reg = set_half(v->iotlb_reg, off, val);
		if (v->iotlb_reg & BIT(63)) {
			unsigned g = FIELD(v->iotlb_reg, 61, 60);
			if (v->gsts & GCMD_QIE)
				vtd_check(v, VTD_CHK_REG_INVAL_QI, 0, VTD_IRO_OFF + 8,
					  v->iotlb_reg);
			if (g)
				vtd_inval_iotlb(v, g, FIELD(v->iotlb_reg, 47, 32),
						v->iva & GENMASK(63, 12), FIELD(v->iva, 5, 0),
						v->iva & BIT(6));
			/* §11.4.8.1: IVT clears on completion; IAIG = granularity done. */
			v->iotlb_reg =
				(v->iotlb_reg & ~(BIT(63) | GENMASK(58, 57))) | ((uint64_t)g << 57);
		}
		break;
	default:
		break; /* read-only or reserved */
	}
}

static int vtd_mmio_read(struct hwm_iommu *iommu, uint64_t off, unsigned size, uint64_t *val)
{
	struct vtd *v = CONTAINER(iommu);

	if ((size != 4 && size != 8) || (off & (size - 1)) || off + size > VTD_MMIO_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	*val = read32_locked(v, off);
	if (size == 8)
		*val |= (uint64_t)read32_locked(v, off + 4) << 32;
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static int vtd_mmio_write(struct hwm_iommu *iommu, uint64_t off, unsigned size, uint64_t val)
{
	struct vtd *v = CONTAINER(iommu);

	if ((size != 4 && size != 8) || (off & (size - 1)) || off + size > VTD_MMIO_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&v->lock);
	write32_locked(v, off, (uint32_t)val);
	if (size == 8)
		write32_locked(v, off + 4, (uint32_t)(val >> 32));
	pthread_mutex_unlock(&v->lock);
	return 0;
}

static long vtd_process_commands(struct hwm_iommu *iommu, unsigned max)
{
	struct vtd *v = CONTAINER(iommu);
	long n;

	pthread_mutex_lock(&v->lock);
	n = vtd_qi_process_locked(v, max);
	pthread_mutex_unlock(&v->lock);
	return n;
}

/* ------------------------------------------------------------ page requests */

int vtd_page_request(struct hwm_iommu *iommu, const struct vtd_page_req *req)
{
	struct vtd *v = CONTAINER(iommu);
	uint64_t d[4];
	int ret = 0, st;

	if (iommu->vendor != HWM_VENDOR_VTD || !v->cfg.prs)
		return -EINVAL;
	/*
	 * Page request descriptor, §4.2.2 / §7.5.1.1: qw0 type 7:0 (1), PP 8,
	 * RID 31:16, PASID 51:32, ER 52, PM 53; qw1 R 0, W 1, LPIG 2, PRGI
	 * 11:3, address 63:12; qw2/qw3 private data.
	 */
	d[0] = 1 | ((uint64_t)(req->rid & 0xffff) << 16);
	if (req->has_pasid)
		d[0] |= BIT(8) | ((uint64_t)(req->pasid & 0xfffff) << 32) |
			(req->exec ? BIT(52) : 0) | (req->priv ? BIT(53) : 0);
	d[1] = (req->read ? 1 : 0) | (req->write ? 2 : 0) | (req->last ? 4 : 0) |
	       ((uint64_t)(req->prgi & 0x1ff) << 3) | (req->addr & GENMASK(63, 12));
	d[2] = req->private_data;
	d[3] = 0;

	pthread_mutex_lock(&v->lock);
	if (!v->pqa) {
		ret = -EINVAL;
		goto out;
	}
	vtd_count(&v->prq);
	if (hwm_ring_full(&v->pq) || vtd_inject(v, "vtd.prq_overflow", req->addr)) {
		/* §7.5.1: overflow sets PRS.PRO; the request is dropped. */
		vtd_count(&v->prq_ovf);
		if (!(v->prs & 2)) {
			v->prs |= 2;
			raise_msi(v, &v->pectl, v->peaddr, v->peuaddr, v->pedata);
		}
		ret = -ENOSPC;
		goto out;
	}
	st = hwm_ring_produce(&v->bus, &v->pq, d);
	if (st != HWM_MEM_OK) {
		ret = -EIO;
		goto out;
	}
	if (!(v->prs & 1)) {
		v->prs |= 1;
		raise_msi(v, &v->pectl, v->peaddr, v->peuaddr, v->pedata);
	}
out:
	pthread_mutex_unlock(&v->lock);
	TRACE(v->bus.trace, hw_page_request, TRACE_STR(VTD_VENDOR), req->rid,
	      req->has_pasid ? req->pasid : HWM_PASID_NONE, req->addr, req->prgi, ret == -ENOSPC);
	return ret;
}

/* ------------------------------------------------------------ stats, glue */

static void cache_stats(struct hwm_cache *c, struct vtd_cache_stats *o)
{
	struct hwm_cache_counters k;

	hwm_cache_get_counters(c, &k);
	o->hits = k.hits;
	o->misses = k.misses;
	o->fills = k.fills;
	o->evictions = k.evictions;
	o->invalidations = k.invalidations;
	o->fills_dropped = k.dropped;
}

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

int vtd_get_stats(struct hwm_iommu *iommu, struct vtd_stats *o)
{
	struct vtd *v = CONTAINER(iommu);

	if (!iommu || iommu->vendor != HWM_VENDOR_VTD)
		return -EINVAL;
	memset(o, 0, sizeof(*o));
	cache_stats(v->iotlb, &o->iotlb);
	cache_stats(v->ctxc, &o->ctx);
	cache_stats(v->pasidc, &o->pasid_c);
	cache_stats(v->pwc, &o->pwc);
	cache_stats(v->devtlb, &o->devtlb);
	for (int i = 0; i < VTD_CHK__COUNT; i++) {
		o->checker[i] = LD(v->checks[i]);
		o->common.checker_warnings += o->checker[i];
	}
	for (int i = 0; i < 16; i++)
		o->descriptors[i] = LD(v->desc_by_type[i]);
	o->iqe = LD(v->iqe);
	o->fault_overflows = LD(v->fault_overflows);
	o->page_requests = LD(v->prq);
	o->page_request_overflows = LD(v->prq_ovf);
	o->common.translations = LD(v->translations);
	o->common.iotlb_hits = o->iotlb.hits;
	o->common.iotlb_misses = o->iotlb.misses;
	o->common.iotlb_fills = o->iotlb.fills;
	o->common.iotlb_evictions = o->iotlb.evictions;
	o->common.iotlb_invalidations = o->iotlb.invalidations;
	o->common.walks = LD(v->walks);
	o->common.walk_mem_accesses = LD(v->walk_mem);
	o->common.faults = LD(v->faults);
	o->common.faults_recorded = LD(v->faults_recorded);
	o->common.commands = LD(v->commands);
	o->common.injected = LD(v->injected);
	return 0;
}

static void vtd_hwm_stats(struct hwm_iommu *iommu, struct hwm_stats *out)
{
	struct vtd_stats s;

	vtd_get_stats(iommu, &s);
	*out = s.common;
}

void vtd_set_checker(struct hwm_iommu *iommu, bool on)
{
	struct vtd *v = CONTAINER(iommu);

	if (iommu->vendor == HWM_VENDOR_VTD)
		__atomic_store_n(&v->checker, on, __ATOMIC_RELAXED);
}

static void vtd_destroy(struct hwm_iommu *iommu)
{
	struct vtd *v = CONTAINER(iommu);

	hwm_cache_destroy(v->devtlb);
	hwm_cache_destroy(v->pwc);
	hwm_cache_destroy(v->pasidc);
	hwm_cache_destroy(v->ctxc);
	hwm_cache_destroy(v->iotlb);
	fault_free(v->frcd);
	pthread_mutex_destroy(&v->lock);
	fault_free(v);
}

static const struct hwm_iommu_ops vtd_ops = {
	.mmio_read = vtd_mmio_read,
	.mmio_write = vtd_mmio_write,
	.translate = vtd_translate,
	.process_commands = vtd_process_commands,
	.get_stats = vtd_hwm_stats,
	.destroy = vtd_destroy,
};

static uint64_t make_cap(const struct vtd_config *c)
{
	/* §11.4.2 CAP_REG */
	return (uint64_t)(c->nd & 7) | (c->rwbf ? BIT(4) : 0) | (c->cm ? BIT(7) : 0) |
	       ((uint64_t)(c->sagaw & 0x1f) << 8) | ((uint64_t)((c->mgaw - 1) & 0x3f) << 16) |
	       ((uint64_t)(VTD_FRO_OFF / 16) << 24) | ((uint64_t)(c->sllps & 0xf) << 34) |
	       (c->psi ? BIT(39) : 0) | ((uint64_t)((c->nfr - 1) & 0xff) << 40) |
	       ((uint64_t)(c->mamv & 0x3f) << 48) | BIT(54) | BIT(55) | (c->fl1gp ? BIT(56) : 0) |
	       (c->fl5lp ? BIT(60) : 0);
}

static uint64_t make_ecap(const struct vtd_config *c)
{
	/* §11.4.3 ECAP_REG; C (bit 0) = 1: walks are coherent. */
	return BIT(0) | (c->qi ? BIT(1) : 0) | (c->dt ? BIT(2) : 0) | (c->pt ? BIT(6) : 0) |
	       (c->sc ? BIT(7) : 0) | ((uint64_t)(VTD_IRO_OFF / 16) << 8) |
	       (c->nest ? BIT(26) : 0) | (c->prs ? BIT(29) : 0) |
	       ((uint64_t)(c->pss & 0x1f) << 35) | (c->pasid ? BIT(40) : 0) |
	       (c->scalable ? BIT(43) : 0) | (c->ssads ? BIT(45) : 0) | (c->slts ? BIT(46) : 0) |
	       (c->flts ? BIT(47) : 0);
}

static bool geom_ok(const struct hwm_cache_geom *g)
{
	return g->sets && !(g->sets & (g->sets - 1)) && g->ways && g->repl <= HWM_REPL_RANDOM;
}

static int mk_cache(struct vtd *v, const char *name, const struct hwm_cache_geom *g,
		    uint32_t payload, uint32_t match, uint32_t index, uint64_t seed,
		    struct hwm_cache **out)
{
	struct hwm_cache_config cc = {
		.name = name,
		.sets = g->sets,
		.ways = g->ways,
		.repl = g->repl,
		.seed = seed,
		.payload_size = payload,
		.match = match,
		.index = index,
	};
	return hwm_cache_create(&cc, v->bus.fault, out);
}

int vtd_create(const struct vtd_config *cfg, const struct hwm_bus *bus, struct hwm_iommu **out)
{
	struct fault_ctx *fc = bus ? bus->fault : NULL;
	pthread_mutexattr_t ma;
	struct vtd *v;
	int ret;

	*out = NULL;
	if (!cfg || !bus || !bus->ops || !bus->ops->read || !bus->ops->write)
		return -EINVAL;
	if (!cfg->nfr || cfg->nfr > 256 || !(cfg->sagaw & 0xe) || cfg->mgaw < 30 ||
	    cfg->mgaw > 64 || cfg->haw < 32 || cfg->haw > 52 || cfg->nd > 6 ||
	    (cfg->scalable && !cfg->qi) || (cfg->nest && (!cfg->flts || !cfg->slts)) ||
	    !geom_ok(&cfg->iotlb) || !geom_ok(&cfg->ctx) || !geom_ok(&cfg->pasid_c) ||
	    !geom_ok(&cfg->pwc) || !geom_ok(&cfg->devtlb) || !cfg->cost.ps_per_cycle)
		return -EINVAL;

	v = fault_zalloc(fc, "vtd.create", sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->cfg = *cfg;
	v->bus = *bus;
	v->cap = make_cap(cfg);
	v->ecap = make_ecap(cfg);
	v->haw_mask = GENMASK(cfg->haw - 1, 12);
	v->rsvd_haw = GENMASK(51, cfg->haw);
	v->beyond_mgaw = cfg->mgaw < 64 ? ~0ull << cfg->mgaw : 0;
	v->checker = cfg->checker;
	v->iommu.ops = &vtd_ops;
	v->iommu.vendor = HWM_VENDOR_VTD;
	v->iommu.name = VTD_VENDOR;
	v->iommu.mmio_size = VTD_MMIO_SIZE;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	ret = pthread_mutex_init(&v->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	if (ret) {
		ret = -ret;
		goto err_lock;
	}
	ret = -ENOMEM;
	v->frcd = fault_calloc(fc, "vtd.create", cfg->nfr, sizeof(*v->frcd));
	if (!v->frcd)
		goto err_frcd;
	ret = mk_cache(v, "vtd.iotlb", &cfg->iotlb, sizeof(struct vtd_tlbe), VTD_IOTLB_MATCH,
		       VTD_IOTLB_INDEX, cfg->seed, &v->iotlb);
	if (ret)
		goto err_iotlb;
	ret = mk_cache(v, "vtd.context", &cfg->ctx, sizeof(struct vtd_ctxi), VTD_CTX_MATCH,
		       VTD_CTX_INDEX, cfg->seed + 1, &v->ctxc);
	if (ret)
		goto err_ctx;
	ret = mk_cache(v, "vtd.pasid", &cfg->pasid_c, sizeof(struct vtd_pei), VTD_PASIDC_MATCH,
		       VTD_PASIDC_INDEX, cfg->seed + 2, &v->pasidc);
	if (ret)
		goto err_pasid;
	ret = mk_cache(v, "vtd.pwc", &cfg->pwc, sizeof(struct vtd_pwce), VTD_PWC_MATCH,
		       VTD_PWC_INDEX, cfg->seed + 3, &v->pwc);
	if (ret)
		goto err_pwc;
	ret = mk_cache(v, "vtd.devtlb", &cfg->devtlb, sizeof(struct vtd_tlbe), VTD_DEVTLB_MATCH,
		       VTD_DEVTLB_INDEX, cfg->seed + 4, &v->devtlb);
	if (ret)
		goto err_devtlb;
	for (unsigned i = 0; i < 2; i++) {
		struct hwm_cost *c = &v->hit_cost[i];
		for (unsigned n = 0; n <= i; n++)
			hwm_cost_cache_hit(c, &cfg->cost);
		hwm_cost_iotlb_hit(c, &cfg->cost);
		hwm_cost_finish(c, &cfg->cost);
	}
	v->fectl = CTL_IM; /* §11.4.11: IM is set at reset */
	v->iectl = CTL_IM;
	v->pectl = CTL_IM;
	hwm_ring_init(&v->iq, 0, 256, 16);
	v->iq_shift = 4;
	hwm_ring_init(&v->pq, 0, 128, 32);
	*out = &v->iommu;
	return 0;

err_devtlb:
	hwm_cache_destroy(v->pwc);
err_pwc:
	hwm_cache_destroy(v->pasidc);
err_pasid:
	hwm_cache_destroy(v->ctxc);
err_ctx:
	hwm_cache_destroy(v->iotlb);
err_iotlb:
	fault_free(v->frcd);
err_frcd:
	pthread_mutex_destroy(&v->lock);
err_lock:
	fault_free(v);
	return ret;
}
