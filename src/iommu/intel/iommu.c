/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d driver: the remapping unit.
 *
 * Bring-up (intel_iommu_probe), in the order §6.5.2 and §11.4 require:
 *   1. read CAP/ECAP; refuse a unit without QI or a usable SAGAW;
 *   2. if firmware left translation or QI on, turn them off (GCMD/GSTS);
 *   3. allocate the root table (one 4 KiB frame, 256 x 128-bit legacy root
 *      entries, §9.1), write RTADDR (TTM = legacy) and SRTP, wait for RTPS;
 *   4. allocate the invalidation queue (one frame: 256 x 128-bit
 *      descriptors, QS = 0) and a status frame (one dword per queue slot),
 *      write IQT = 0 then IQA, set QIE, wait for QIES (§6.5.2, §11.4.9);
 *   5. globally invalidate the context cache and the IOTLB (required after
 *      SRTP, §6.5.3), program FEDATA/FEADDR and unmask FECTL (§7.3);
 *   6. set TE and wait for TES.
 *
 * Register commands: GCMD is written with the persistent bits of GSTS plus
 * the one command (§11.4.4.1); the status bit is polled with the platform's
 * poll hook (which lets simulated time pass) until opts.timeout_ns.
 *
 * Queued invalidation (intel_qi_submit): under qi_lock, the descriptors and
 * one wait descriptor (SW: status write of QI_STATUS_DONE to the dword of
 * the wait's own slot, FN: fence) are written at the software tail, IQT is
 * advanced and the status dword polled. Free space is computed from IQH, so
 * a slot (and its status dword) is reused only after the hardware consumed
 * it. On IQE (a descriptor the hardware refused) the descriptor at IQH is
 * replaced by a copy of the wait descriptor and IQE cleared, as Linux does,
 * so the queue moves on; the submit reports -EIO. On a stalled wait the
 * submit gives up with -ETIMEDOUT after opts.timeout_ns of simulated time.
 *
 * Context entries (legacy, §9.3): a context table per bus is allocated on
 * first use under iommu->lock and linked from the root entry. Setting an
 * entry whose old version was present goes through not-present first:
 * clear, then context-cache invalidation (device-selective, old DID) and
 * IOTLB domain-selective invalidation of the old DID (§6.5.3.3 table
 * "Guidance to software for invalidations"); then the high qword (AW, DID)
 * and last the low qword with P. With CAP.CM set not-present entries may be
 * cached, so making one present is followed by a device-selective
 * context-cache invalidation with DID 0 and an IOTLB DSI (§6.1).
 *
 * IOTLB invalidations go by DID: type 2 for second-stage domains, type 6
 * (PASID-based, RID_PASID) for first-stage ones (a bitmap behind the DID
 * bitmap says which). Each is followed, before the wait, by a device-TLB
 * invalidation (type 3) for every ATS endpoint whose entry carries that DID
 * (ats_tag, set before the entry is present and cleared only after the
 * invalidations that make it not present); see docs/hw/intel-driver.md.
 *
 * Faults (§7.3, §11.4.7): the fault event is an MSI; the handler walks the
 * fault recording registers from FSTS.FRI while F is set, logs each record,
 * clears F (RW1C), reports it to the iommu core (iommu_report_fault) for
 * the endpoint with that source id, then clears PFO.
 *
 * Page requests (§7.5.1, ECAP.PRS): a one-page queue (128 descriptors) and
 * its event (PEDATA = INTEL_PRQ_VECTOR); the handler drains it into a log
 * and clears PRO once the queue is empty (see prq_handler).
 */
#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/iommufd.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>

#include "iommu/intel/intel_priv.h"
#include "lib/util.h"

#define INTEL_DEFAULT_TIMEOUT_NS 1000000000ULL /* 1 s */
#define INTEL_DEFAULT_FQ_SIZE 256
#define INTEL_DEFAULT_FQ_TIMEOUT_NS 10000000ULL /* 10 ms, as Linux */

void intel_iommu_options_default(struct intel_iommu_options *o)
{
	memset(o, 0, sizeof(*o));
	/*
	 * Legacy until the replay goldens (tests/golden/replay/) are regenerated
	 * for scalable mode, whose modelled costs differ; INTEL_MODE_AUTO is
	 * Linux's choice (scalable when supported).
	 */
	o->mode = INTEL_MODE_LEGACY;
	o->fq_size = INTEL_DEFAULT_FQ_SIZE;
	o->fq_timeout_ns = INTEL_DEFAULT_FQ_TIMEOUT_NS;
	o->timeout_ns = INTEL_DEFAULT_TIMEOUT_NS;
}

void *intel_phys_ptr(struct mach *m, uint64_t pa)
{
	char *p = mach_phys_ptr(m, pa & ~(MACH_PAGE_SIZE - 1), MACH_PAGE_SIZE);

	return p ? p + (pa & (MACH_PAGE_SIZE - 1)) : NULL;
}

unsigned intel_aw_for_levels(unsigned levels)
{
	return levels - 2; /* §9.3: AW 1 = 3-level, 2 = 4-level, 3 = 5-level */
}

/* ---------------------------------------------------------- registers */

static uint64_t rd64(struct intel_iommu *iommu, uint64_t off)
{
	uint64_t v = 0;

	hwm_mmio_read(iommu->hw, off, 8, &v);
	return v;
}

static uint32_t rd32(struct intel_iommu *iommu, uint64_t off)
{
	uint64_t v = 0;

	hwm_mmio_read(iommu->hw, off, 4, &v);
	return (uint32_t)v;
}

static void wr64(struct intel_iommu *iommu, uint64_t off, uint64_t v)
{
	hwm_mmio_write(iommu->hw, off, 8, v);
}

static void wr32(struct intel_iommu *iommu, uint64_t off, uint32_t v)
{
	hwm_mmio_write(iommu->hw, off, 4, v);
}

static bool timed_out(struct intel_iommu *iommu, uint64_t start)
{
	return mach_now(iommu->mach) - start > iommu->opts.timeout_ns;
}

/* Set (or clear) one GCMD command and wait until GSTS shows it (§11.4.4). */
static int gcmd_update(struct intel_iommu *iommu, uint32_t bit, bool set)
{
	uint64_t start = mach_now(iommu->mach);
	uint32_t sts, cmd;

	sts = rd32(iommu, DMAR_GSTS_REG) & ~(uint32_t)DMA_GSTS_ONESHOT;
	cmd = set ? (sts | bit) : (sts & ~bit);
	wr32(iommu, DMAR_GCMD_REG, cmd);
	for (;;) {
		sts = rd32(iommu, DMAR_GSTS_REG);
		if (!!(sts & bit) == set)
			return 0;
		if (timed_out(iommu, start))
			return -ETIMEDOUT;
		plat_iommu_poll(iommu->pi);
	}
}

/* One-shot commands (SRTP, WBF): the status bit reports completion differently. */
static int gcmd_oneshot(struct intel_iommu *iommu, uint32_t bit, bool wait_set)
{
	uint64_t start = mach_now(iommu->mach);
	uint32_t sts;

	sts = rd32(iommu, DMAR_GSTS_REG) & ~(uint32_t)DMA_GSTS_ONESHOT;
	wr32(iommu, DMAR_GCMD_REG, sts | bit);
	for (;;) {
		sts = rd32(iommu, DMAR_GSTS_REG);
		/* RTPS is set when the pointer is latched; WBFS clears when the flush is done. */
		if (!!(sts & bit) == wait_set)
			return 0;
		if (timed_out(iommu, start))
			return -ETIMEDOUT;
		plat_iommu_poll(iommu->pi);
	}
}

/* Write-buffer flush, for units that need it (CAP.RWBF, §6.8). */
static void flush_write_buffer(struct intel_iommu *iommu)
{
	if (CAP_RWBF(iommu->cap))
		gcmd_oneshot(iommu, (uint32_t)DMA_GCMD_WBF, false);
}

/* ------------------------------------------------- queued invalidation */

static uint32_t qi_free_slots(struct intel_iommu *iommu)
{
	uint32_t head = (uint32_t)(rd64(iommu, DMAR_IQH_REG) >> IQ_INDEX_SHIFT) % iommu->qi_entries;

	return (head + iommu->qi_entries - iommu->qi_tail - 1) % iommu->qi_entries;
}

static void qi_write(struct intel_iommu *iommu, uint32_t idx, uint64_t qw0, uint64_t qw1)
{
	__atomic_store_n(&iommu->qi_va[2 * idx], qw0, __ATOMIC_RELAXED);
	__atomic_store_n(&iommu->qi_va[2 * idx + 1], qw1, __ATOMIC_RELEASE);
}

/* Clear the RW1C error bits of FSTS the queue may raise; returns what was set. */
static uint32_t qi_check_errors(struct intel_iommu *iommu, uint32_t wait_idx, uint64_t wq0,
				uint64_t wq1)
{
	uint32_t fsts = rd32(iommu, DMAR_FSTS_REG);
	uint32_t errs = fsts & (uint32_t)(DMA_FSTS_IQE | DMA_FSTS_ITE | DMA_FSTS_ICE);

	if (!errs)
		return 0;
	STAT_INC(iommu, qi_errors);
	if (errs & DMA_FSTS_IQE) {
		/*
		 * The hardware stopped at the descriptor IQH points to. Everything
		 * in flight is ours (the queue lock is held across the wait), so
		 * overwrite it with the wait descriptor and let the queue resume.
		 */
		uint32_t head =
			(uint32_t)(rd64(iommu, DMAR_IQH_REG) >> IQ_INDEX_SHIFT) % iommu->qi_entries;

		if (head != wait_idx)
			qi_write(iommu, head, wq0, wq1);
	}
	wr32(iommu, DMAR_FSTS_REG, errs);
	return errs;
}

int intel_qi_submit(struct intel_iommu *iommu, const uint64_t *desc, unsigned n)
{
	uint64_t start, wq0, wq1;
	uint32_t idx, wait_idx, errs = 0;
	unsigned i;
	int rc = 0;

	pthread_mutex_lock(&iommu->qi_lock);
	start = mach_now(iommu->mach);
	while (qi_free_slots(iommu) < n + 1) {
		if (timed_out(iommu, start)) {
			rc = -ETIMEDOUT;
			goto out;
		}
		plat_iommu_poll(iommu->pi);
	}
	idx = iommu->qi_tail;
	for (i = 0; i < n; i++) {
		qi_write(iommu, idx, desc[2 * i], desc[2 * i + 1]);
		idx = (idx + 1) % iommu->qi_entries;
	}
	wait_idx = idx;
	wq0 = QI_TYPE_WAIT | QI_WAIT_SW | QI_WAIT_FN | QI_WAIT_DATA(QI_STATUS_DONE);
	wq1 = iommu->status_pa + 4ULL * wait_idx;
	__atomic_store_n(&iommu->status_va[wait_idx], QI_STATUS_INUSE, __ATOMIC_RELEASE);
	qi_write(iommu, wait_idx, wq0, wq1);
	iommu->qi_tail = (wait_idx + 1) % iommu->qi_entries;
	STAT_ADD(iommu, qi_descriptors, n + 1);
	wr64(iommu, DMAR_IQT_REG, (uint64_t)iommu->qi_tail << IQ_INDEX_SHIFT);

	start = mach_now(iommu->mach);
	while (__atomic_load_n(&iommu->status_va[wait_idx], __ATOMIC_ACQUIRE) != QI_STATUS_DONE) {
		errs |= qi_check_errors(iommu, wait_idx, wq0, wq1);
		if (timed_out(iommu, start)) {
			rc = -ETIMEDOUT;
			goto out;
		}
		plat_iommu_poll(iommu->pi);
	}
	/* An error raised by the last descriptor may show only now. */
	errs |= qi_check_errors(iommu, wait_idx, wq0, wq1);
	__atomic_store_n(&iommu->status_va[wait_idx], QI_STATUS_FREE, __ATOMIC_RELAXED);
	STAT_INC(iommu, qi_waits);
	if (errs & (DMA_FSTS_IQE | DMA_FSTS_ICE | DMA_FSTS_ITE))
		rc = -EIO;
out:
	pthread_mutex_unlock(&iommu->qi_lock);
	return rc;
}

static void iotlb_drain_bits(struct intel_iommu *iommu, uint64_t *qw0)
{
	/* CAP.DWD bit 54 / DRD bit 55: drain writes / reads before completing (§6.5.2.3). */
	if (VTD_FIELD(iommu->cap, 54, 54))
		*qw0 |= QI_IOTLB_DW;
	if (VTD_FIELD(iommu->cap, 55, 55))
		*qw0 |= QI_IOTLB_DR;
}

/*
 * Device-TLB invalidation descriptor (§6.5.2.5) for @sid covering the
 * naturally aligned 2^@am pages at @addr: S = 0 for one page, else the
 * PCIe ATS size encoding (bits 12 .. 12 + am - 2 of the address set, bit
 * 12 + am - 1 clear), as Linux's qi_flush_dev_iotlb. @am = AM_ALL: all.
 */
static void devtlb_desc(uint64_t *d, uint16_t sid, uint64_t addr, unsigned am)
{
	d[0] = QI_TYPE_DIOTLB | QI_DEV_IOTLB_MIP(0) | QI_DEV_IOTLB_SID(sid);
	if (!am) {
		d[1] = addr & QI_DEV_IOTLB_ADDR_MASK;
		return;
	}
	addr &= ~((1ULL << (12 + am - 1) << 1) - 1);
	addr |= (1ULL << (12 + am - 1)) - 1;
	d[1] = (addr & QI_DEV_IOTLB_ADDR_MASK) | QI_DEV_IOTLB_S;
}

#define INTEL_ATS_BATCH 32 /* device-TLB descriptors per submission */

/*
 * The source ids of up to @max ATS endpoints translating with @did whose
 * SID is above @after (-1: any), smallest first, so a caller can walk them
 * in batches without holding devs_lock (a leaf) across a submission.
 */
static unsigned ats_sids(struct intel_iommu *iommu, uint16_t did, int32_t after, uint16_t *out,
			 unsigned max)
{
	struct intel_dev *it;
	unsigned n = 0, j;

	pthread_mutex_lock(&iommu->devs_lock);
	for (it = iommu->devs; it; it = it->next) {
		uint32_t tag = __atomic_load_n(&it->ats_tag, __ATOMIC_ACQUIRE);
		uint16_t sid = it->dev.id;

		if (tag != (INTEL_ATS_ON | did) || (int32_t)sid <= after)
			continue;
		if (n == max && sid > out[n - 1])
			continue;
		j = n < max ? n++ : n - 1;
		for (; j && out[j - 1] > sid; j--)
			out[j] = out[j - 1];
		out[j] = sid;
	}
	pthread_mutex_unlock(&iommu->devs_lock);
	return n;
}

/*
 * Submit the IOTLB descriptor @iotlb followed, when @devtlb, by a
 * device-TLB invalidation of [@addr, 2^@am pages) for every ATS endpoint
 * translating with @did, all before the one wait (§6.5.2.5: the IOTLB
 * first, so a translation request cannot refill the device TLB from a
 * stale IOTLB entry; Linux's order). More endpoints than a batch take
 * further submissions.
 */
static int flush_iotlb_and_devtlb(struct intel_iommu *iommu, const uint64_t *iotlb, uint16_t did,
				  uint64_t addr, unsigned am, bool devtlb)
{
	uint64_t d[2 * (1 + INTEL_ATS_BATCH)];
	uint16_t sids[INTEL_ATS_BATCH];
	int32_t after = -1;
	unsigned n, i, k = 1;
	int rc = 0, r;

	d[0] = iotlb[0];
	d[1] = iotlb[1];
	if (iommu->opts.skip_devtlb_inval)
		devtlb = false;
	for (;;) {
		n = devtlb ? ats_sids(iommu, did, after, sids, INTEL_ATS_BATCH) : 0;
		for (i = 0; i < n; i++, k++)
			devtlb_desc(&d[2 * k], sids[i], addr, am);
		STAT_ADD(iommu, devtlb_invalidations, n);
		if (k) {
			r = intel_qi_submit(iommu, d, k);
			if (r && !rc)
				rc = r;
		}
		if (n < INTEL_ATS_BATCH)
			return rc;
		after = sids[n - 1];
		k = 0;
	}
}

static bool did_is_fs(struct intel_iommu *iommu, uint16_t did)
{
	uint64_t w =
		__atomic_load_n(&iommu->did_map[iommu->did_words + did / 64], __ATOMIC_ACQUIRE);

	return (w >> (did % 64)) & 1;
}

/*
 * Domain-selective IOTLB descriptor for @did: type 2 for second-stage
 * domains (§6.5.2.3 covers them for every PASID), type 6 of RID_PASID for
 * first-stage ones (§6.5.2.4: type 2 does not cover first-stage entries).
 */
static void iotlb_dsi_desc(struct intel_iommu *iommu, uint16_t did, uint64_t *d)
{
	if (did_is_fs(iommu, did)) {
		d[0] = QI_TYPE_PIOTLB | QI_PIOTLB_GRAN_PASID | QI_PIOTLB_DID(did) |
		       QI_PIOTLB_PASID(INTEL_RID_PASID);
	} else {
		d[0] = QI_TYPE_IOTLB | QI_IOTLB_GRAN_DOMAIN | QI_IOTLB_DID(did);
		iotlb_drain_bits(iommu, &d[0]);
	}
	d[1] = 0;
	STAT_INC(iommu, iotlb_dsi);
}

int intel_flush_iotlb_domain(struct intel_iommu *iommu, uint16_t did)
{
	uint64_t d[2];

	iotlb_dsi_desc(iommu, did, d);
	return flush_iotlb_and_devtlb(iommu, d, did, 0, QI_DEV_IOTLB_AM_ALL, true);
}

/*
 * Invalidate [start, end] (inclusive) of domain @did: one page-selective
 * descriptor with the smallest address mask whose naturally aligned block
 * covers the range (§6.5.2.3: ADDR must be aligned to 2^AM pages), or a
 * domain-selective one when that exceeds CAP.MAMV or PSI is absent. @ih:
 * only leaf entries changed, paging-structure caches may be kept. @devtlb:
 * the same block in the device TLBs of the ATS endpoints using @did (not
 * after a map: a device TLB never holds a not-present result).
 */
int intel_flush_iotlb(struct intel_iommu *iommu, uint16_t did, uint64_t start, uint64_t end,
		      bool ih, bool devtlb)
{
	uint64_t spfn = start >> 12, epfn = end >> 12, d[2], addr;
	unsigned am = fls64(spfn ^ epfn);

	if (!CAP_PSI(iommu->cap) || am > CAP_MAMV(iommu->cap)) {
		iotlb_dsi_desc(iommu, did, d);
		return flush_iotlb_and_devtlb(iommu, d, did, 0, QI_DEV_IOTLB_AM_ALL, devtlb);
	}
	addr = (spfn >> am) << am << 12;
	if (did_is_fs(iommu, did)) {
		/* §6.5.2.4: same AM / IH / ADDR layout in qw1 as type 2. */
		d[0] = QI_TYPE_PIOTLB | QI_PIOTLB_GRAN_PAGE | QI_PIOTLB_DID(did) |
		       QI_PIOTLB_PASID(INTEL_RID_PASID);
	} else {
		d[0] = QI_TYPE_IOTLB | QI_IOTLB_GRAN_PAGE | QI_IOTLB_DID(did);
		iotlb_drain_bits(iommu, &d[0]);
	}
	d[1] = addr | QI_IOTLB_AM(am) | (ih ? QI_IOTLB_IH : 0);
	STAT_INC(iommu, iotlb_psi);
	return flush_iotlb_and_devtlb(iommu, d, did, addr, am, devtlb);
}

static int flush_global(struct intel_iommu *iommu)
{
	uint64_t d[6];
	unsigned n = 0;

	d[n * 2] = QI_TYPE_CC | QI_CC_GRAN_GLOBAL;
	d[n++ * 2 + 1] = 0;
	STAT_INC(iommu, cc_invalidations);
	if (iommu->sm) {
		/* Scalable mode caches PASID entries too (§6.5.3.1). */
		d[n * 2] = QI_TYPE_PC | QI_PC_GRAN_GLOBAL;
		d[n++ * 2 + 1] = 0;
		STAT_INC(iommu, pc_invalidations);
	}
	d[n * 2] = QI_TYPE_IOTLB | QI_IOTLB_GRAN_GLOBAL;
	iotlb_drain_bits(iommu, &d[n * 2]);
	d[n++ * 2 + 1] = 0;
	STAT_INC(iommu, iotlb_global);
	return intel_qi_submit(iommu, d, n);
}

/*
 * One batch for an endpoint whose entry changed: @qw0 (a context-cache or
 * PASID-cache descriptor, its qw1 0), the IOTLB DSI of @did
 * (iotlb_dsi_desc()), then with @sid >= 0 the whole device TLB of @sid.
 */
static int flush_dev_batch(struct intel_iommu *iommu, uint64_t qw0, uint16_t did, int32_t sid)
{
	uint64_t d[6];
	unsigned n = 2;

	d[0] = qw0;
	d[1] = 0;
	iotlb_dsi_desc(iommu, did, &d[2]);
	if (sid >= 0 && !iommu->opts.skip_devtlb_inval) {
		devtlb_desc(&d[4], (uint16_t)sid, 0, QI_DEV_IOTLB_AM_ALL);
		STAT_INC(iommu, devtlb_invalidations);
		n++;
	}
	return intel_qi_submit(iommu, d, n);
}

/*
 * Context-cache (device-selective, @did) then IOTLB domain-selective for
 * @did (type 2: context entries are legacy or DID 0, never a first-stage
 * DID); with @devtlb (an endpoint that used ATS, its entry just made not
 * present) then its whole device TLB (§6.5.3.3; Linux's
 * intel_context_flush_present).
 */
static int flush_context_dev(struct intel_iommu *iommu, uint16_t did, uint16_t sid, bool devtlb)
{
	STAT_INC(iommu, cc_invalidations);
	return flush_dev_batch(iommu,
			       QI_TYPE_CC | QI_CC_GRAN_DEVICE | QI_CC_DID(did) | QI_CC_SID(sid) |
				       QI_CC_FM(0),
			       did, devtlb ? (int32_t)sid : -1);
}

/* ---------------------------------------------------------- domain ids */

int intel_did_alloc(struct intel_iommu *iommu, uint16_t *did)
{
	uint32_t w, words = iommu->did_words;

	for (w = 0; w < words; w++) {
		uint64_t free = ~iommu->did_map[w];
		uint32_t id;

		if (!free)
			continue;
		id = w * 64 + ffs64(free) - 1;
		if (id >= iommu->ndoms)
			break;
		iommu->did_map[w] |= 1ULL << (id % 64);
		*did = (uint16_t)id;
		return 0;
	}
	return -ENOSPC;
}

void intel_did_free(struct intel_iommu *iommu, uint16_t did)
{
	intel_did_set_fs(iommu, did, false);
	iommu->did_map[did / 64] &= ~(1ULL << (did % 64));
}

/* Mark @did as a first-stage domain's (read without lock by the flushes). */
void intel_did_set_fs(struct intel_iommu *iommu, uint16_t did, bool fs)
{
	uint64_t *w = &iommu->did_map[iommu->did_words + did / 64];

	if (fs)
		__atomic_or_fetch(w, 1ULL << (did % 64), __ATOMIC_RELEASE);
	else
		__atomic_and_fetch(w, ~(1ULL << (did % 64)), __ATOMIC_RELEASE);
}

/* ------------------------------------------------------ context entries */

static uint64_t *ctx_entry(struct intel_iommu *iommu, uint8_t bus, uint8_t devfn)
{
	uint64_t pa;

	if (!iommu->sm)
		pa = iommu->ctx_pa[bus] ? iommu->ctx_pa[bus] + 16ULL * devfn : 0;
	else if (devfn < 128)
		pa = iommu->ctx_pa[bus] ? iommu->ctx_pa[bus] + 32ULL * devfn : 0;
	else
		pa = iommu->ctx_hi_pa[bus] ? iommu->ctx_hi_pa[bus] + 32ULL * (devfn & 0x7f) : 0;
	return pa ? intel_phys_ptr(iommu->mach, pa) : NULL;
}

/*
 * Context table for @bus (scalable mode: the half holding @devfn),
 * allocated and linked from the root entry on first use. Legacy root
 * entry: lo P | CTP (§9.1); scalable: lo LP | LCTP, hi UP | UCTP (§9.2).
 */
static int ctx_table_get(struct intel_iommu *iommu, uint8_t bus, uint8_t devfn)
{
	bool hi = iommu->sm && devfn >= 128;
	uint64_t *slot = hi ? &iommu->ctx_hi_pa[bus] : &iommu->ctx_pa[bus];
	uint64_t pfn, *root;
	int rc;

	if (*slot)
		return 0;
	rc = mach_frame_alloc(iommu->mach, MACH_ORDER_4K, &pfn);
	if (rc)
		return rc;
	*slot = pfn << MACH_PAGE_SHIFT;
	root = intel_phys_ptr(iommu->mach, iommu->root_pa);
	if (!iommu->sm)
		__atomic_store_n(&root[2 * bus + 1], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&root[2 * bus + hi], *slot | (iommu->sm ? SM_ROOT_P : ROOT_P),
			 __ATOMIC_RELEASE);
	flush_write_buffer(iommu);
	return 0;
}

/*
 * PASID-cache invalidation (§6.5.2.2) of @pasid in @did, then IOTLB DSI of
 * @did (PASID-based for a first-stage domain, as Linux's
 * intel_pasid_tear_down_entry); @sid >= 0 (an ATS endpoint whose RID_PASID entry went not present)
 * then its whole device TLB (Linux's devtlb_invalidation_with_pasid for
 * RID_PASID: the non-PASID type 3 descriptor).
 */
static int flush_pasid_dev(struct intel_iommu *iommu, uint16_t did, uint32_t pasid, int32_t sid)
{
	STAT_INC(iommu, pc_invalidations);
	/* The IOTLB DSI is type 6 for a first-stage DID. */
	return flush_dev_batch(iommu,
			       QI_TYPE_PC | QI_PC_GRAN_PASID | QI_PC_DID(did) | QI_PC_PASID(pasid),
			       did, sid);
}

static uint64_t *pasid_entry(struct intel_iommu *iommu, struct intel_dev *info, uint32_t pasid)
{
	return (uint64_t *)intel_phys_ptr(iommu->mach, info->pasid_tbl_pa) +
	       PE_QWORDS * (pasid & 63);
}

/*
 * Scalable mode, first use of an endpoint: its PASID directory (PDTS = 0:
 * 128 entries, PASIDs below 2^13) and the PASID table of directory entry 0
 * (PASIDs 0-63, RID_PASID among them), then the context entry pointing at
 * the directory with RID_PASID = 0 (§9.4). Under iommu->lock.
 */
static int sm_ctx_setup(struct intel_iommu *iommu, struct intel_dev *info)
{
	uint64_t *ce, *pdir, pfn;
	int rc;

	if (info->sm_ctx)
		return 0;
	rc = ctx_table_get(iommu, info->bus, info->devfn);
	if (rc)
		return rc;
	if (!info->pasid_dir_pa) {
		rc = mach_frame_alloc(iommu->mach, MACH_ORDER_4K, &pfn);
		if (rc)
			return rc;
		info->pasid_dir_pa = pfn << MACH_PAGE_SHIFT;
	}
	if (!info->pasid_tbl_pa) {
		rc = mach_frame_alloc(iommu->mach, MACH_ORDER_4K, &pfn);
		if (rc)
			return rc; /* the directory frame is freed with the endpoint */
		info->pasid_tbl_pa = pfn << MACH_PAGE_SHIFT;
	}
	pdir = intel_phys_ptr(iommu->mach, info->pasid_dir_pa);
	__atomic_store_n(&pdir[INTEL_RID_PASID >> 6], info->pasid_tbl_pa | PDE_P, __ATOMIC_RELEASE);
	ce = ctx_entry(iommu, info->bus, info->devfn);
	__atomic_store_n(&ce[3], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ce[2], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ce[1], (uint64_t)INTEL_RID_PASID, __ATOMIC_RELAXED);
	/* DTE: translation requests (ATS) allowed, device TLB in use (§9.4). */
	__atomic_store_n(&ce[0],
			 (info->pasid_dir_pa & VTD_ADDR_MASK) | SM_CTX_PDTS(0) |
				 (info->ats ? SM_CTX_DTE : 0) | SM_CTX_P,
			 __ATOMIC_RELEASE);
	info->sm_ctx = true;
	if (CAP_CM(iommu->cap)) {
		/* A not-present context entry may have been cached (§6.1). */
		rc = flush_context_dev(iommu, 0, info->dev.id, false);
		if (rc) {
			__atomic_store_n(&ce[0], 0, __ATOMIC_RELEASE);
			info->sm_ctx = false;
			flush_context_dev(iommu, 0, info->dev.id, false);
			return rc;
		}
	} else {
		flush_write_buffer(iommu);
	}
	return 0;
}

/*
 * Scalable mode, endpoint going away: context entry not present,
 * device-selective context-cache invalidation (the DID field is ignored in
 * scalable mode, §6.5.2.1); then the PASID structures are handed to the
 * caller in @pfn (0 when none) to free after an RCU grace period, outside
 * iommu->lock: a walk that read the context entry before it went may still
 * be reading them. They are kept, leaked on purpose, if the invalidation did
 * not complete.
 */
static void sm_ctx_teardown(struct intel_iommu *iommu, struct intel_dev *info, uint64_t pfn[2])
{
	uint64_t *ce;
	int rc = 0;

	pfn[0] = pfn[1] = 0;
	if (info->sm_ctx) {
		ce = ctx_entry(iommu, info->bus, info->devfn);
		__atomic_store_n(&ce[0], 0, __ATOMIC_RELEASE);
		__atomic_store_n(&ce[1], 0, __ATOMIC_RELAXED);
		info->sm_ctx = false;
		rc = flush_context_dev(iommu, 0, info->dev.id, false);
	}
	if (rc)
		return;
	pfn[0] = info->pasid_tbl_pa >> MACH_PAGE_SHIFT;
	pfn[1] = info->pasid_dir_pa >> MACH_PAGE_SHIFT;
	info->pasid_tbl_pa = info->pasid_dir_pa = 0;
}

/*
 * Make @info not translate and invalidate what the unit cached. Legacy: the
 * context entry goes not present (context-cache + IOTLB DSI). Scalable: the
 * RID_PASID entry goes not present (§6.5.3.3 / Linux's
 * intel_pasid_tear_down_entry: PASID-cache PASID-selective + IOTLB DSI of
 * its DID); the context entry stays, pointing at the directory.
 */
void intel_ctx_clear(struct intel_iommu *iommu, struct intel_dev *info)
{
	bool ats = __atomic_load_n(&info->ats_tag, __ATOMIC_RELAXED) != 0;
	uint64_t *ce;
	unsigned i;

	if (!info->ctx_present)
		return;
	info->ctx_present = false;
	if (iommu->sm) {
		ce = pasid_entry(iommu, info, INTEL_RID_PASID);
		__atomic_store_n(&ce[0], 0, __ATOMIC_RELEASE);
		for (i = 1; i < PE_QWORDS; i++)
			__atomic_store_n(&ce[i], 0, __ATOMIC_RELAXED);
		flush_pasid_dev(iommu, info->did, INTEL_RID_PASID,
				ats ? (int32_t)info->dev.id : -1);
	} else {
		ce = ctx_entry(iommu, info->bus, info->devfn);
		__atomic_store_n(&ce[0], 0, __ATOMIC_RELEASE);
		__atomic_store_n(&ce[1], 0, __ATOMIC_RELEASE);
		/* Teardown never fails: a timed-out flush is counted in qi_errors/stats. */
		flush_context_dev(iommu, info->did, info->dev.id, ats);
	}
	/*
	 * Only now, with its whole device TLB invalidated, may the domain's
	 * flushes stop covering this endpoint.
	 */
	__atomic_store_n(&info->ats_tag, 0, __ATOMIC_RELEASE);
}

/*
 * Point @info at a second-stage table. Legacy: the context entry (§9.3).
 * Scalable: the RID_PASID entry of its PASID table with PGTT = second
 * stage (§9.6), the context entry set up first. Called with iommu->lock
 * held. On failure the endpoint is blocked; the caller's attach restores
 * the previous domain.
 */
int intel_ctx_set(struct intel_iommu *iommu, struct intel_dev *info, uint16_t did, uint64_t pgd_pa,
		  unsigned levels, bool fs)
{
	uint64_t *ce;
	unsigned i;
	int rc;

	if (fs && !iommu->sm)
		return -EINVAL; /* first stage exists in scalable mode only */
	if (iommu->sm) {
		rc = sm_ctx_setup(iommu, info);
		if (rc)
			return rc;
	} else {
		rc = ctx_table_get(iommu, info->bus, info->devfn);
		if (rc)
			return rc;
	}
	/* Replace: through not-present (§6.5.3.3); the caller's attach undoes on error. */
	intel_ctx_clear(iommu, info);
	/* Tagged before the entry is present: no device-TLB fill can escape a flush. */
	if (info->ats)
		__atomic_store_n(&info->ats_tag, INTEL_ATS_ON | did, __ATOMIC_RELEASE);
	if (iommu->sm) {
		ce = pasid_entry(iommu, info, INTEL_RID_PASID);
		for (i = 2; i < PE_QWORDS; i++)
			__atomic_store_n(&ce[i], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&ce[1], (uint64_t)did, __ATOMIC_RELAXED);
		if (fs) {
			/* §9.6: PGTT = 001, FSPTPTR and FSPM in qw2; SRE, WPE, NXE 0. */
			__atomic_store_n(
				&ce[2], (pgd_pa & VTD_ADDR_MASK) | (levels == 5 ? PE_FSPM_5LVL : 0),
				__ATOMIC_RELAXED);
			__atomic_store_n(&ce[0], PE_PGTT_FS | PE_P, __ATOMIC_RELEASE);
		} else {
			__atomic_store_n(&ce[0],
					 (pgd_pa & VTD_ADDR_MASK) |
						 PE_AW(intel_aw_for_levels(levels)) | PE_PGTT_SS |
						 PE_P,
					 __ATOMIC_RELEASE);
		}
	} else {
		ce = ctx_entry(iommu, info->bus, info->devfn);
		__atomic_store_n(&ce[1], CTX_HI_AW(intel_aw_for_levels(levels)) | CTX_HI_DID(did),
				 __ATOMIC_RELAXED);
		/* TT = 01: translation requests too, the device TLB in use (§9.3). */
		__atomic_store_n(&ce[0],
				 (pgd_pa & VTD_ADDR_MASK) |
					 (info->ats ? CTX_TT_DEV_TLB : CTX_TT_UNTRANSLATED) | CTX_P,
				 __ATOMIC_RELEASE);
	}
	info->did = did;
	info->ctx_present = true;
	if (CAP_CM(iommu->cap)) {
		/* Not-present entries may have been cached (§6.1): under DID 0 (legacy). */
		if (iommu->sm)
			rc = flush_pasid_dev(iommu, did, INTEL_RID_PASID, -1);
		else
			rc = flush_context_dev(iommu, 0, info->dev.id, false);
		if (!rc)
			rc = intel_flush_iotlb_domain(iommu, did);
		if (rc) {
			intel_ctx_clear(iommu, info);
			return rc;
		}
	} else {
		flush_write_buffer(iommu);
	}
	/*
	 * As Linux (iommu_enable_pci_caps after the context is set up): the
	 * device's ATS Enable bit goes on once translation requests are allowed.
	 */
	if (info->ats && !plat_dev_ats_enabled(info->pd) && plat_dev_set_ats(info->pd, true) == 0)
		info->ats_owned = true;
	return 0;
}

/* ------------------------------------------------------------- faults */

static struct intel_dev *find_dev(struct intel_iommu *iommu, uint16_t sid)
{
	struct intel_dev *it;

	for (it = iommu->devs; it; it = it->next)
		if (it->dev.id == sid)
			return it;
	return NULL;
}

static void fault_handler(struct intel_iommu *iommu)
{
	uint32_t nfr = (uint32_t)CAP_NFR(iommu->cap), fro = (uint32_t)CAP_FRO(iommu->cap);
	struct intel_fault_info batch[INTEL_FAULT_LOG];
	unsigned nbatch = 0, i;
	uint32_t fsts, idx, n;

	STAT_INC(iommu, fault_irqs);
	pthread_mutex_lock(&iommu->fault_lock);
	fsts = rd32(iommu, DMAR_FSTS_REG);
	if (fsts & DMA_FSTS_PPF) {
		idx = (uint32_t)DMA_FSTS_FRI(fsts) % nfr;
		for (n = 0; n < nfr; n++) {
			uint64_t off = fro + 16ULL * idx;
			uint32_t dw3 = rd32(iommu, off + FRCD_HI_DW3);
			uint32_t dw2;
			struct intel_fault_info fi;

			if (!(dw3 & FRCD_F))
				break;
			dw2 = rd32(iommu, off + FRCD_HI_DW2);
			memset(&fi, 0, sizeof(fi));
			fi.addr = rd64(iommu, off + FRCD_LO) & ~0xfffULL;
			fi.sid = (uint16_t)FRCD_SID(dw2);
			fi.pasid_present = FRCD_PP(dw2);
			fi.reason = (uint8_t)FRCD_FR(dw3);
			fi.pasid = (uint32_t)FRCD_PV(dw3);
			fi.read = FRCD_T(dw3);
			wr32(iommu, off + FRCD_HI_DW3, FRCD_F); /* RW1C */
			STAT_INC(iommu, faults);

			iommu->flog[(iommu->flog_head + iommu->flog_count) % INTEL_FAULT_LOG] = fi;
			if (iommu->flog_count < INTEL_FAULT_LOG)
				iommu->flog_count++;
			else
				iommu->flog_head = (iommu->flog_head + 1) % INTEL_FAULT_LOG;
			if (nbatch < INTEL_FAULT_LOG)
				batch[nbatch++] = fi;
			idx = (idx + 1) % nfr;
		}
	}
	fsts = rd32(iommu, DMAR_FSTS_REG);
	if (fsts & DMA_FSTS_PFO) {
		STAT_INC(iommu, fault_overflows);
		wr32(iommu, DMAR_FSTS_REG, (uint32_t)DMA_FSTS_PFO);
	}
	pthread_mutex_unlock(&iommu->fault_lock);

	for (i = 0; i < nbatch; i++) {
		struct intel_dev *info;

		pthread_mutex_lock(&iommu->devs_lock);
		info = find_dev(iommu, batch[i].sid);
		/*
		 * Reporting upward happens under devs_lock so the endpoint cannot
		 * be released meanwhile; iommu_report_fault takes no driver lock.
		 */
		if (info)
			iommu_report_fault(&info->dev, batch[i].addr,
					   batch[i].read ? IOMMU_FAULT_READ : IOMMU_FAULT_WRITE);
		pthread_mutex_unlock(&iommu->devs_lock);
	}
}

/*
 * Page request event (§7.5.1): as Linux's prq_event_thread, PPR is cleared
 * first so a request that arrives while the queue is drained raises a new
 * event; then every descriptor from PQH to PQT is read and logged and PQH
 * advanced; PRO (requests the unit dropped because the queue was full) is
 * cleared only once the queue is empty, so the unit accepts requests again.
 * No page group response is sent: the driver has no handler that could
 * resolve a request (no IOPF-capable domains yet), and a device's PRI
 * requests time out on its side.
 */
static void prq_handler(struct intel_iommu *iommu)
{
	uint32_t head, tail, prs;

	STAT_INC(iommu, prq_irqs);
	pthread_mutex_lock(&iommu->fault_lock);
	wr32(iommu, DMAR_PRS_REG, (uint32_t)PRS_PPR);
	tail = (uint32_t)(rd64(iommu, DMAR_PQT_REG) >> PQ_INDEX_SHIFT) % iommu->prq_entries;
	head = (uint32_t)(rd64(iommu, DMAR_PQH_REG) >> PQ_INDEX_SHIFT) % iommu->prq_entries;
	while (head != tail) {
		uint64_t q0 = __atomic_load_n(&iommu->prq_va[4 * head], __ATOMIC_ACQUIRE);
		uint64_t q1 = __atomic_load_n(&iommu->prq_va[4 * head + 1], __ATOMIC_ACQUIRE);
		struct intel_page_req_info pr;

		memset(&pr, 0, sizeof(pr));
		pr.rid = (uint16_t)PRQ_RID(q0);
		pr.pasid_present = PRQ_PP(q0);
		pr.pasid = (uint32_t)PRQ_PASID(q0);
		pr.read = PRQ_R(q1);
		pr.write = PRQ_W(q1);
		pr.last = PRQ_LPIG(q1);
		pr.prgi = (uint16_t)PRQ_PRGI(q1);
		pr.addr = q1 & ~0xfffULL;
		iommu->prlog[(iommu->prlog_head + iommu->prlog_count) % INTEL_PRQ_LOG] = pr;
		if (iommu->prlog_count < INTEL_PRQ_LOG)
			iommu->prlog_count++;
		else
			iommu->prlog_head = (iommu->prlog_head + 1) % INTEL_PRQ_LOG;
		STAT_INC(iommu, prq_requests);
		head = (head + 1) % iommu->prq_entries;
	}
	wr64(iommu, DMAR_PQH_REG, (uint64_t)head << PQ_INDEX_SHIFT);
	prs = rd32(iommu, DMAR_PRS_REG);
	if (prs & PRS_PRO) {
		head = (uint32_t)(rd64(iommu, DMAR_PQH_REG) >> PQ_INDEX_SHIFT);
		tail = (uint32_t)(rd64(iommu, DMAR_PQT_REG) >> PQ_INDEX_SHIFT);
		if (head == tail) {
			STAT_INC(iommu, prq_overflows);
			wr32(iommu, DMAR_PRS_REG, (uint32_t)PRS_PRO);
		}
	}
	pthread_mutex_unlock(&iommu->fault_lock);
}

static void intel_irq(void *arg, uint64_t addr, uint32_t data)
{
	struct intel_iommu *iommu = arg;

	if (data == INTEL_FAULT_VECTOR)
		fault_handler(iommu);
	else if (data == INTEL_PRQ_VECTOR && iommu->prq_pa)
		prq_handler(iommu);
}

int intel_iommu_pop_page_request(struct intel_iommu *iommu, struct intel_page_req_info *out)
{
	int rc = -ENOENT;

	plat_iommu_deliver_irqs(iommu->pi);
	pthread_mutex_lock(&iommu->fault_lock);
	if (iommu->prlog_count) {
		*out = iommu->prlog[iommu->prlog_head];
		iommu->prlog_head = (iommu->prlog_head + 1) % INTEL_PRQ_LOG;
		iommu->prlog_count--;
		rc = 0;
	}
	pthread_mutex_unlock(&iommu->fault_lock);
	return rc;
}

int intel_iommu_pop_fault(struct intel_iommu *iommu, struct intel_fault_info *out)
{
	int rc = -ENOENT;

	/* A fault recorded but whose interrupt is still pending counts too. */
	plat_iommu_deliver_irqs(iommu->pi);
	pthread_mutex_lock(&iommu->fault_lock);
	if (iommu->flog_count) {
		*out = iommu->flog[iommu->flog_head];
		iommu->flog_head = (iommu->flog_head + 1) % INTEL_FAULT_LOG;
		iommu->flog_count--;
		rc = 0;
	}
	pthread_mutex_unlock(&iommu->fault_lock);
	return rc;
}

/* ------------------------------------------------- iommu_device_ops */

static long intel_hw_info(struct iommu_dev *dev, uint32_t *type, void *buf, size_t len)
{
	struct intel_iommu *iommu = to_intel_iommu(dev->iommu);
	struct iommu_hw_info_vtd info;

	if (*type != IOMMU_HW_INFO_TYPE_DEFAULT && *type != IOMMU_HW_INFO_TYPE_INTEL_VTD)
		return -EOPNOTSUPP;
	memset(&info, 0, sizeof(info));
	info.cap_reg = iommu->cap;
	info.ecap_reg = iommu->ecap;
	memcpy(buf, &info, min(len, sizeof(info)));
	*type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	return (long)sizeof(info);
}

static bool intel_capable(struct iommu_dev *dev, enum iommu_cap cap)
{
	struct intel_iommu *iommu = to_intel_iommu(dev->iommu);

	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
	case IOMMU_CAP_DEFERRED_FLUSH:
		return true;
	case IOMMU_CAP_ENFORCE_CACHE_COHERENCY:
		return ECAP_SC(iommu->ecap);
	default:
		return false;
	}
}

/* The interrupt address range: never mapped for DMA (Linux's IOAPIC_RANGE). */
static int intel_get_resv_regions(struct iommu_dev *dev, struct iommu_resv_region *out, size_t max)
{
	if (max >= 1) {
		out[0].start = 0xfee00000ULL;
		out[0].length = 0x100000ULL;
		out[0].prot = IOMMU_WRITE;
		out[0].type = IOMMU_RESV_MSI;
	}
	return 1;
}

static void intel_release(struct iommu_device *d)
{
	struct intel_iommu *iommu = to_intel_iommu(d);
	unsigned b;

	/* Translation is off (intel_iommu_remove) or never was on (probe error), but
	 * a walk that began before may still read the root and context tables. */
	synchronize_rcu();
	for (b = 0; b < 256; b++) {
		if (iommu->ctx_pa[b])
			mach_frame_put(iommu->mach, iommu->ctx_pa[b] >> MACH_PAGE_SHIFT);
		if (iommu->ctx_hi_pa[b])
			mach_frame_put(iommu->mach, iommu->ctx_hi_pa[b] >> MACH_PAGE_SHIFT);
	}
	if (iommu->root_pa)
		mach_frame_put(iommu->mach, iommu->root_pa >> MACH_PAGE_SHIFT);
	if (iommu->qi_pa)
		mach_frame_put(iommu->mach, iommu->qi_pa >> MACH_PAGE_SHIFT);
	if (iommu->status_pa)
		mach_frame_put(iommu->mach, iommu->status_pa >> MACH_PAGE_SHIFT);
	if (iommu->prq_pa)
		mach_frame_put(iommu->mach, iommu->prq_pa >> MACH_PAGE_SHIFT);
	pthread_mutex_destroy(&iommu->lock);
	pthread_mutex_destroy(&iommu->devs_lock);
	pthread_mutex_destroy(&iommu->qi_lock);
	pthread_mutex_destroy(&iommu->fault_lock);
	fault_free(iommu->did_map);
	fault_free(iommu);
}

static const struct iommu_device_ops intel_iommu_ops = {
	.name = "intel-iommu",
	.domain_alloc_paging = intel_domain_alloc_paging,
	.block_dev = intel_block_dev,
	.get_resv_regions = intel_get_resv_regions,
	.hw_info = intel_hw_info,
	.capable = intel_capable,
	.release = intel_release,
};

/* --------------------------------------------------------------- probe */

/* Choose the table depth: the smallest SAGAW-supported one covering MGAW, else the largest. */
static unsigned choose_levels(unsigned sagaw, unsigned mgaw, unsigned forced)
{
	unsigned l, best = 0;

	if (forced)
		return (forced >= 3 && forced <= 5 && (sagaw & (1u << (forced - 2)))) ? forced : 0;
	for (l = 3; l <= 5; l++) {
		if (!(sagaw & (1u << (l - 2))))
			continue;
		best = l;
		if (12 + 9 * l >= mgaw)
			return l;
	}
	return best;
}

static int alloc_frame_pa(struct mach *m, uint64_t *pa)
{
	uint64_t pfn;
	int rc = mach_frame_alloc(m, MACH_ORDER_4K, &pfn);

	if (!rc)
		*pa = pfn << MACH_PAGE_SHIFT;
	return rc;
}

static int hw_enable(struct intel_iommu *iommu)
{
	uint32_t fsts;
	int rc;

	/* Whatever firmware left on goes off first. */
	if (rd32(iommu, DMAR_GSTS_REG) & DMA_GSTS_TES) {
		rc = gcmd_update(iommu, (uint32_t)DMA_GCMD_TE, false);
		if (rc)
			return rc;
	}
	if (rd32(iommu, DMAR_GSTS_REG) & DMA_GSTS_QIES) {
		rc = gcmd_update(iommu, (uint32_t)DMA_GCMD_QIE, false);
		if (rc)
			return rc;
	}
	/* Root table (§10.4.6 RTADDR, then SRTP). */
	wr64(iommu, DMAR_RTADDR_REG,
	     iommu->root_pa | (iommu->sm ? RTADDR_TTM_SCALABLE : RTADDR_TTM_LEGACY));
	rc = gcmd_oneshot(iommu, (uint32_t)DMA_GCMD_SRTP, true);
	if (rc)
		return rc;
	/* Queued invalidation (§6.5.2): IQT = 0 before IQA, then QIE. */
	wr64(iommu, DMAR_IQT_REG, 0);
	wr64(iommu, DMAR_IQA_REG, iommu->qi_pa | IQA_QS(0));
	iommu->qi_tail = 0;
	rc = gcmd_update(iommu, (uint32_t)DMA_GCMD_QIE, true);
	if (rc)
		return rc;
	rc = flush_global(iommu);
	if (rc)
		goto err_qi;
	/* Fault event (§7.3): clear stale state, program the MSI, unmask. */
	wr32(iommu, DMAR_FECTL_REG, (uint32_t)DMA_FECTL_IM);
	fsts = rd32(iommu, DMAR_FSTS_REG);
	if (fsts & (DMA_FSTS_PFO | DMA_FSTS_IQE | DMA_FSTS_ICE | DMA_FSTS_ITE | DMA_FSTS_PRO))
		wr32(iommu, DMAR_FSTS_REG,
		     fsts & (uint32_t)(DMA_FSTS_PFO | DMA_FSTS_IQE | DMA_FSTS_ICE | DMA_FSTS_ITE |
				       DMA_FSTS_PRO));
	wr32(iommu, DMAR_FEDATA_REG, INTEL_FAULT_VECTOR);
	wr32(iommu, DMAR_FEADDR_REG, INTEL_MSI_ADDR);
	wr32(iommu, DMAR_FEUADDR_REG, 0);
	wr32(iommu, DMAR_FECTL_REG, 0);
	if (iommu->prq_pa) {
		/* Page request queue (§7.5.1, §11.4.11): empty, then its event. */
		wr32(iommu, DMAR_PECTL_REG, (uint32_t)PECTL_IM);
		wr64(iommu, DMAR_PQH_REG, 0);
		wr64(iommu, DMAR_PQA_REG, iommu->prq_pa | PQA_PQS(0));
		wr32(iommu, DMAR_PRS_REG, (uint32_t)(PRS_PPR | PRS_PRO));
		wr32(iommu, DMAR_PEDATA_REG, INTEL_PRQ_VECTOR);
		wr32(iommu, DMAR_PEADDR_REG, INTEL_MSI_ADDR);
		wr32(iommu, DMAR_PEUADDR_REG, 0);
		wr32(iommu, DMAR_PECTL_REG, 0);
	}
	rc = gcmd_update(iommu, (uint32_t)DMA_GCMD_TE, true);
	if (rc)
		goto err_fault;
	return 0;

err_fault:
	wr32(iommu, DMAR_FECTL_REG, (uint32_t)DMA_FECTL_IM);
	if (iommu->prq_pa) {
		wr32(iommu, DMAR_PECTL_REG, (uint32_t)PECTL_IM);
		wr64(iommu, DMAR_PQA_REG, 0);
	}
err_qi:
	gcmd_update(iommu, (uint32_t)DMA_GCMD_QIE, false);
	return rc;
}

int intel_iommu_probe(struct plat_iommu *pi, const struct intel_iommu_options *opts,
		      struct intel_iommu **out)
{
	struct mach *m = plat_iommu_mach(pi);
	struct intel_iommu *iommu;
	unsigned nd;
	int rc;

	if (plat_iommu_vendor(pi) != HWM_VENDOR_VTD)
		return -ENODEV;
	iommu = fault_zalloc(mach_fault(m), "intel.iommu_alloc", sizeof(*iommu));
	if (!iommu)
		return -ENOMEM;
	iommu_device_init(&iommu->iommu, &intel_iommu_ops, m);
	iommu->iommu.priv = iommu;
	iommu->pi = pi;
	iommu->hw = plat_iommu_hw(pi);
	iommu->mach = m;
	iommu->fc = mach_fault(m);
	if (opts)
		iommu->opts = *opts;
	else
		intel_iommu_options_default(&iommu->opts);
	if (!iommu->opts.timeout_ns)
		iommu->opts.timeout_ns = INTEL_DEFAULT_TIMEOUT_NS;
	if (!iommu->opts.fq_size)
		iommu->opts.fq_size = INTEL_DEFAULT_FQ_SIZE;
	if (!iommu->opts.fq_timeout_ns)
		iommu->opts.fq_timeout_ns = INTEL_DEFAULT_FQ_TIMEOUT_NS;
	pthread_mutex_init(&iommu->lock, NULL);
	pthread_mutex_init(&iommu->devs_lock, NULL);
	pthread_mutex_init(&iommu->qi_lock, NULL);
	pthread_mutex_init(&iommu->fault_lock, NULL);

	iommu->cap = rd64(iommu, DMAR_CAP_REG);
	iommu->ecap = rd64(iommu, DMAR_ECAP_REG);
	iommu->sagaw = (unsigned)CAP_SAGAW(iommu->cap);
	iommu->mgaw = (unsigned)CAP_MGAW(iommu->cap);
	/* opts.levels of a first-stage unit is the first-stage depth (below). */
	iommu->levels = choose_levels(iommu->sagaw, iommu->mgaw,
				      iommu->opts.first_stage ? 0 : iommu->opts.levels);
	rc = -ENODEV;
	if (!ECAP_QI(iommu->ecap) || !iommu->levels || iommu->mgaw < 30)
		goto err_free;
	/* Scalable mode when the unit has it, as Linux (second-stage domains need SLTS). */
	iommu->sm = ECAP_SMTS(iommu->ecap) && ECAP_SLTS(iommu->ecap);
	if (iommu->opts.mode == INTEL_MODE_LEGACY)
		iommu->sm = false;
	else if (iommu->opts.mode == INTEL_MODE_SCALABLE && !iommu->sm)
		goto err_free;
	if (iommu->sm && ECAP_FLTS(iommu->ecap)) {
		/* §3.6: 4 KiB and 2 MiB always, 1 GiB with FL1GP. */
		iommu->fs_pgsize_bitmap = (1ULL << 12) | (1ULL << 21);
		if (CAP_FL1GP(iommu->cap))
			iommu->fs_pgsize_bitmap |= 1ULL << 30;
	}
	if (iommu->opts.first_stage) {
		unsigned want = iommu->opts.levels ? iommu->opts.levels : 4;

		if (!iommu->fs_pgsize_bitmap || (want != 4 && want != 5) ||
		    (want == 5 && !CAP_FL5LP(iommu->cap)))
			goto err_free;
		iommu->fs = true;
		iommu->levels = want;
	}
	iommu->pgsize_bitmap = 1ULL << 12;
	if (CAP_SLLPS(iommu->cap) & 1)
		iommu->pgsize_bitmap |= 1ULL << 21;
	if (CAP_SLLPS(iommu->cap) & 2)
		iommu->pgsize_bitmap |= 1ULL << 30;
	nd = (unsigned)CAP_ND(iommu->cap);
	iommu->ndoms = nd > 6 ? 65536 : 1u << (4 + 2 * nd);

	rc = -ENOMEM;
	iommu->did_words = (iommu->ndoms + 63) / 64;
	iommu->did_map = fault_calloc(iommu->fc, "intel.did_map", 2 * iommu->did_words, 8);
	if (!iommu->did_map)
		goto err_free;
	iommu->did_map[0] = 1; /* DID 0 is reserved (caching mode uses it for not-present) */
	rc = alloc_frame_pa(m, &iommu->root_pa);
	if (rc)
		goto err_free;
	rc = alloc_frame_pa(m, &iommu->qi_pa);
	if (rc)
		goto err_free;
	rc = alloc_frame_pa(m, &iommu->status_pa);
	if (rc)
		goto err_free;
	iommu->qi_va = intel_phys_ptr(m, iommu->qi_pa);
	iommu->status_va = intel_phys_ptr(m, iommu->status_pa);
	if (!iommu->qi_va || !iommu->status_va ||
	    !mach_phys_ptr(m, iommu->root_pa, MACH_PAGE_SIZE)) {
		rc = -EINVAL; /* tables need addressable memory (not a dataless machine) */
		goto err_free;
	}
	iommu->qi_entries = 256; /* QS = 0: 4 KiB of 128-bit descriptors */
	if (ECAP_PRS(iommu->ecap)) {
		rc = alloc_frame_pa(m, &iommu->prq_pa);
		if (rc)
			goto err_free;
		iommu->prq_va = intel_phys_ptr(m, iommu->prq_pa);
		iommu->prq_entries = 128; /* PQS = 0: 4 KiB of 32-byte descriptors */
	}

	plat_iommu_set_irq_handler(pi, intel_irq, iommu);
	rc = hw_enable(iommu);
	if (rc)
		goto err_irq;
	*out = iommu;
	return 0;

err_irq:
	plat_iommu_set_irq_handler(pi, NULL, NULL);
err_free:
	intel_release(&iommu->iommu);
	return rc;
}

void intel_iommu_remove(struct intel_iommu *iommu)
{
	if (!iommu)
		return;
	iommu->removed = true;
	gcmd_update(iommu, (uint32_t)DMA_GCMD_TE, false);
	wr32(iommu, DMAR_FECTL_REG, (uint32_t)DMA_FECTL_IM);
	if (iommu->prq_pa) {
		wr32(iommu, DMAR_PECTL_REG, (uint32_t)PECTL_IM);
		wr64(iommu, DMAR_PQA_REG, 0);
	}
	gcmd_update(iommu, (uint32_t)DMA_GCMD_QIE, false);
	plat_iommu_set_irq_handler(iommu->pi, NULL, NULL);
	iommu_device_put(&iommu->iommu);
}

struct iommu_device *intel_iommu_device(struct intel_iommu *iommu)
{
	return &iommu->iommu;
}

struct intel_iommu *intel_iommu_from_device(struct iommu_device *dev)
{
	return dev && dev->ops == &intel_iommu_ops ? to_intel_iommu(dev) : NULL;
}

void intel_iommu_get_stats(struct intel_iommu *iommu, struct intel_iommu_stats *out)
{
	const uint64_t *src = (const uint64_t *)&iommu->stats;
	uint64_t *dst = (uint64_t *)out;
	size_t i;

	for (i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

uint64_t intel_iommu_cap(struct intel_iommu *iommu)
{
	return iommu->cap;
}

uint64_t intel_iommu_ecap(struct intel_iommu *iommu)
{
	return iommu->ecap;
}

bool intel_iommu_scalable(struct intel_iommu *iommu)
{
	return iommu->sm;
}

bool intel_iommu_first_stage(struct intel_iommu *iommu)
{
	return iommu->fs;
}

unsigned intel_iommu_levels(struct intel_iommu *iommu)
{
	return iommu->levels;
}

/* ------------------------------------------------------------ endpoints */

int intel_iommu_probe_device(struct intel_iommu *iommu, struct plat_dev *pd, struct iommu_dev **out)
{
	struct intel_dev *info;
	uint16_t rid;

	if (plat_dev_iommu(pd) != iommu->pi)
		return -EINVAL;
	rid = plat_dev_rid(pd);
	info = fault_zalloc(iommu->fc, "intel.dev_alloc", sizeof(*info));
	if (!info)
		return -ENOMEM;
	pthread_mutex_lock(&iommu->devs_lock);
	if (find_dev(iommu, rid)) {
		pthread_mutex_unlock(&iommu->devs_lock);
		fault_free(info);
		return -EEXIST;
	}
	iommu_dev_init(&info->dev, &iommu->iommu, rid, plat_dev_name(pd));
	info->dev.priv = info;
	info->dev.pci = true;
	/* PASID needs scalable mode, which this driver does not program. */
	info->dev.max_pasids = 0;
	info->iommu = iommu;
	info->pd = pd;
	/* ATS (§4): the unit must have device-TLB support (ECAP.DT). */
	info->ats = ECAP_DT(iommu->ecap) &&
		    (plat_dev_ats_enabled(pd) || (iommu->opts.ats && plat_dev_config(pd)->ats));
	info->bus = (uint8_t)(rid >> 8);
	info->devfn = (uint8_t)rid;
	info->next = iommu->devs;
	iommu->devs = info;
	pthread_mutex_unlock(&iommu->devs_lock);
	*out = &info->dev;
	return 0;
}

void intel_iommu_release_device(struct iommu_dev *dev)
{
	struct intel_dev *info = to_intel_dev(dev), **pp;
	struct intel_iommu *iommu = info->iommu;
	uint64_t pasid_pfn[2] = { 0, 0 };
	unsigned i;

	pthread_mutex_lock(&iommu->lock);
	intel_ctx_clear(iommu, info);
	if (iommu->sm)
		sm_ctx_teardown(iommu, info, pasid_pfn);
	pthread_mutex_unlock(&iommu->lock);
	if (pasid_pfn[0] || pasid_pfn[1]) {
		synchronize_rcu(); /* walks that still see the PASID tables (domain.c, RCU) */
		for (i = 0; i < 2; i++)
			if (pasid_pfn[i])
				mach_frame_put(iommu->mach, pasid_pfn[i]);
	}
	pthread_mutex_lock(&iommu->devs_lock);
	for (pp = &iommu->devs; *pp; pp = &(*pp)->next) {
		if (*pp == info) {
			*pp = info->next;
			break;
		}
	}
	pthread_mutex_unlock(&iommu->devs_lock);
	/* Blocked and its device TLB invalidated: ATS goes off (Linux's release). */
	if (info->ats_owned)
		plat_dev_set_ats(info->pd, false);
	iommu_dev_release(dev);
	fault_free(info);
}

struct plat_dev *intel_iommu_dev_plat(struct iommu_dev *dev)
{
	return to_intel_dev(dev)->pd;
}
