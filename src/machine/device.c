/* SPDX-License-Identifier: MIT */
/*
 * PCI-style DMA devices behind an IOMMU instance, and their DMA API (see
 * include/iommusim/platform.h).
 *
 * A device is its configuration (segment:bus:device.function, PASID width,
 * ATS, PRI), its requester id, the ATS Enable bit the driver controls and
 * counters. The list of devices of an instance is only used to refuse a
 * second device with the same requester id; the DMA path touches nothing
 * but the device, the model and physical memory, so it takes no lock.
 *
 * DMA: a transfer is cut at translation-unit boundaries. Each unit is
 * translated by the model (hwm_translate) as an untranslated request, or --
 * with ATS enabled -- first as an ATS translation request, whose refusal
 * (a fault answer, or permissions without the access) is followed by the
 * untranslated request so the IOMMU records the fault as it would for a
 * device that falls back. The bytes move with mach_phys_read/write at the
 * translated address. A fault ends the transfer with -EFAULT and the
 * vendor's record copied out; a translated address outside memory ends it
 * with -EIO (a master abort). Pending IOMMU interrupts are delivered when
 * the transfer ends, with no model call on the stack.
 *
 * Walks against table frees (RCU): each translation -- the model walking
 * the driver's tables in simulated memory -- runs in an RCU read-side
 * critical section of the urcu-bp flavour (liburcu's "bulletproof" one: a
 * thread needs no registration, it is registered on its first read lock
 * and unregistered at exit, which suits DMA on any caller thread). A driver
 * returns a table page to the machine only after a grace period
 * (synchronize_rcu of urcu-bp), so a walk never reads a frame
 * that was reused. The section covers the translation only, not the data
 * move nor interrupt delivery (a handler may call the driver, which may
 * wait for a grace period). Cost: inline, a TLS access and a counter
 * update on each side (plus a fence where sys_membarrier is unavailable).
 *
 * Tracing: mach:dma_issue before the first translation and
 * mach:dma_complete (result, bytes moved) after the last, one TRACE each
 * (a flag test when off) on the bus's trace context.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

/*
 * The inline read-side primitives (_LGPL_SOURCE), except in sanitizer
 * builds: the inline code accesses liburcu's reader slot (declared 128-byte
 * aligned), which liburcu 0.13's urcu-bp registry places at a lesser
 * alignment, and UBSan reports that; there the library's own
 * (uninstrumented) functions are called instead.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define DEV_URCU_OUT_OF_LINE 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define DEV_URCU_OUT_OF_LINE 1
#endif
#ifndef DEV_URCU_OUT_OF_LINE
#define _LGPL_SOURCE
#endif
#include <urcu-bp.h>

#include <iommusim/fault.h>
#include <iommusim/hw_vtd.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>
#include <iommusim/trace.h>

#include "machine/platform_internal.h"

#define STAT_ADD(field, v) __atomic_add_fetch(&(field), (v), __ATOMIC_RELAXED)

int plat_dev_add(struct plat_iommu *pi, const struct plat_dev_config *cfg, struct plat_dev **out)
{
	struct plat_dev *d, *it;
	uint16_t rid;

	if (!pi || !cfg || !out || cfg->dev > 31 || cfg->fn > 7 || cfg->pasid_width > 20 ||
	    cfg->seg != pi->seg || (cfg->pri && !cfg->ats))
		return -EINVAL;
	rid = (uint16_t)(cfg->bus << 8 | cfg->dev << 3 | cfg->fn);
	d = fault_zalloc(mach_fault(pi->mach), "plat.dev_alloc", sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->pi = pi;
	d->cfg = *cfg;
	d->rid = rid;
	snprintf(d->name, sizeof(d->name), "%04x:%02x:%02x.%x", cfg->seg, cfg->bus, cfg->dev,
		 cfg->fn);

	pthread_mutex_lock(&pi->dev_lock);
	for (it = pi->devs; it; it = it->next) {
		if (it->rid == rid) {
			pthread_mutex_unlock(&pi->dev_lock);
			fault_free(d);
			return -EEXIST;
		}
	}
	d->next = pi->devs;
	pi->devs = d;
	pthread_mutex_unlock(&pi->dev_lock);
	*out = d;
	return 0;
}

void plat_dev_remove(struct plat_dev *d)
{
	struct plat_iommu *pi;
	struct plat_dev **pp;

	if (!d)
		return;
	pi = d->pi;
	pthread_mutex_lock(&pi->dev_lock);
	for (pp = &pi->devs; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	pthread_mutex_unlock(&pi->dev_lock);
	fault_free(d);
}

struct plat_iommu *plat_dev_iommu(const struct plat_dev *d)
{
	return d->pi;
}

const struct plat_dev_config *plat_dev_config(const struct plat_dev *d)
{
	return &d->cfg;
}

uint16_t plat_dev_rid(const struct plat_dev *d)
{
	return d->rid;
}

const char *plat_dev_name(const struct plat_dev *d)
{
	return d->name;
}

int plat_dev_set_ats(struct plat_dev *d, bool enable)
{
	if (!d->cfg.ats)
		return -EOPNOTSUPP;
	__atomic_store_n(&d->ats_enabled, enable, __ATOMIC_RELEASE);
	return 0;
}

bool plat_dev_ats_enabled(const struct plat_dev *d)
{
	return __atomic_load_n(&d->ats_enabled, __ATOMIC_ACQUIRE);
}

void plat_dev_stats(const struct plat_dev *d, struct plat_dma_stats *out)
{
	out->reads = __atomic_load_n(&d->stats.reads, __ATOMIC_RELAXED);
	out->writes = __atomic_load_n(&d->stats.writes, __ATOMIC_RELAXED);
	out->bytes = __atomic_load_n(&d->stats.bytes, __ATOMIC_RELAXED);
	out->translations = __atomic_load_n(&d->stats.translations, __ATOMIC_RELAXED);
	out->faults = __atomic_load_n(&d->stats.faults, __ATOMIC_RELAXED);
	out->modelled_ns = __atomic_load_n(&d->stats.modelled_ns, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------- DMA */

static int dev_req_init(struct plat_dev *d, uint32_t access, uint32_t pasid, struct hwm_req *req)
{
	memset(req, 0, sizeof(*req));
	req->rid = d->rid;
	req->seg = d->cfg.seg;
	req->access = access;
	req->pasid = HWM_PASID_NONE;
	if (pasid != PLAT_NO_PASID) {
		if (!d->cfg.pasid_width || pasid >= (1u << d->cfg.pasid_width))
			return -EINVAL;
		req->pasid = pasid;
		req->has_pasid = true;
	}
	return 0;
}

/*
 * Translate @req->iova for the device: ATS first when enabled, then
 * untranslated. Each model call is one RCU read-side section (see above).
 */
static int dev_hw_translate(struct hwm_iommu *hw, struct hwm_req *req, struct hwm_xlate *x)
{
	int rc;

	rcu_read_lock();
	rc = hwm_translate(hw, req, x);
	rcu_read_unlock();
	return rc;
}

/*
 * One translation for the device; on success adds the modelled time of its
 * model calls to *ns_out. The caller counts it in d->stats (plat_dma once per
 * transfer: the stats are one cache line shared by every DMA of the device).
 */
static int dev_translate(struct plat_dev *d, struct hwm_req *req, struct hwm_xlate *x,
			 uint64_t *ns_out)
{
	struct hwm_iommu *hw = d->pi->hw;
	uint64_t ns = 0;
	int rc;

	if (plat_dev_ats_enabled(d)) {
		req->ats = true;
		rc = dev_hw_translate(hw, req, x);
		req->ats = false;
		if (rc)
			return rc;
		ns += x->cost.ns;
		if (x->status == HWM_XLATE_OK && (x->perms & req->access) == req->access)
			goto out;
	}
	rc = dev_hw_translate(hw, req, x);
	if (rc)
		return rc;
	ns += x->cost.ns;
out:
	*ns_out += ns;
	return 0;
}

int plat_dev_translate(struct plat_dev *d, uint64_t iova, uint32_t access, uint32_t pasid,
		       struct hwm_xlate *out)
{
	struct hwm_req req;
	uint64_t ns = 0;
	int rc;

	rc = dev_req_init(d, access, pasid, &req);
	if (rc)
		return rc;
	req.iova = iova;
	rc = dev_translate(d, &req, out, &ns);
	if (!rc) {
		STAT_ADD(d->stats.translations, 1);
		STAT_ADD(d->stats.modelled_ns, ns);
	}
	plat_iommu_deliver_irqs(d->pi);
	return rc;
}

static int plat_dma(struct plat_dev *d, uint64_t iova, void *buf, size_t len, uint32_t pasid,
		    bool write, struct hwm_fault *fault)
{
	struct mach *m = d->pi->mach;
	/* The bus carries the machine's trace context: no call to fetch it. */
	struct trace_ctx *tc = d->pi->bus.trace;
	const uint64_t iova0 = iova, len0 = len;
	/* Counted here and added to d->stats once, before the transfer ends. */
	uint64_t ntrans = 0, ns = 0, faults = 0;
	struct hwm_xlate x;
	struct hwm_req req;
	uint8_t *p = buf;
	int rc;

	rc = dev_req_init(d, write ? HWM_ACC_WRITE : HWM_ACC_READ, pasid, &req);
	if (rc)
		return rc;
	if (len && iova + len - 1 < iova)
		return -EINVAL;
	STAT_ADD(*(write ? &d->stats.writes : &d->stats.reads), 1);
	TRACE(tc, mach_dma_issue, TRACE_STR(hwm_vendor_name(d->pi->vendor)), d->rid, req.pasid,
	      iova0, len0, TRACE_STR(write ? "write" : "read"));
	while (len) {
		uint64_t psz, chunk;

		req.iova = iova;
		rc = dev_translate(d, &req, &x, &ns);
		if (rc)
			break;
		ntrans++;
		if (x.status != HWM_XLATE_OK) {
			faults++;
			if (fault)
				*fault = x.fault;
			rc = -EFAULT;
			break;
		}
		psz = x.page_size ? x.page_size : 4096;
		chunk = psz - (iova & (psz - 1));
		if (chunk > len)
			chunk = len;
		if (write)
			rc = mach_phys_write(m, x.pa, p, chunk);
		else
			rc = mach_phys_read(m, x.pa, p, chunk);
		if (rc) {
			if (fault) {
				memset(fault, 0, sizeof(*fault));
				fault->vendor = HWM_VENDOR_NONE;
			}
			rc = -EIO;
			break;
		}
		iova += chunk;
		p += chunk;
		len -= chunk;
	}
	if (ntrans) {
		STAT_ADD(d->stats.translations, ntrans);
		STAT_ADD(d->stats.modelled_ns, ns);
	}
	if (len0 - len)
		STAT_ADD(d->stats.bytes, len0 - len);
	if (faults)
		STAT_ADD(d->stats.faults, faults);
	TRACE(tc, mach_dma_complete, TRACE_STR(hwm_vendor_name(d->pi->vendor)), d->rid, req.pasid,
	      iova0, len0, TRACE_STR(write ? "write" : "read"), (uint64_t)(int64_t)rc, len0 - len);
	plat_iommu_deliver_irqs(d->pi);
	return rc;
}

int plat_dma_read(struct plat_dev *d, uint64_t iova, void *buf, size_t len, uint32_t pasid,
		  struct hwm_fault *fault)
{
	return plat_dma(d, iova, buf, len, pasid, false, fault);
}

int plat_dma_write(struct plat_dev *d, uint64_t iova, const void *buf, size_t len, uint32_t pasid,
		   struct hwm_fault *fault)
{
	return plat_dma(d, iova, (void *)buf, len, pasid, true, fault);
}

/* ------------------------------------------------------ page requests */

int plat_dev_page_request(struct plat_dev *d, uint64_t addr, uint32_t pasid, bool write, bool last,
			  uint16_t prgi)
{
	struct vtd_page_req pr;
	int rc;

	if (!d->cfg.pri || d->pi->vendor != HWM_VENDOR_VTD)
		return -EOPNOTSUPP;
	memset(&pr, 0, sizeof(pr));
	pr.rid = d->rid;
	if (pasid != PLAT_NO_PASID) {
		if (!d->cfg.pasid_width || pasid >= (1u << d->cfg.pasid_width))
			return -EINVAL;
		pr.pasid = pasid;
		pr.has_pasid = true;
	}
	pr.read = !write;
	pr.write = write;
	pr.last = last;
	pr.prgi = prgi & 0x1ff;
	pr.addr = addr & ~0xfffULL;
	rc = vtd_page_request(d->pi->hw, &pr);
	plat_iommu_deliver_irqs(d->pi);
	return rc;
}
