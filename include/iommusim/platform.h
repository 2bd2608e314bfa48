/* SPDX-License-Identifier: MIT */
/*
 * The platform: IOMMU hardware instances attached to a machine, and the
 * PCI-style DMA devices placed behind them.
 *
 * A struct plat_iommu is one IOMMU model instance (any vendor) wired to a
 * struct mach: the platform builds the struct hwm_bus the model is given
 * (physical memory through mach_phys_read/write, 64-bit compare-and-exchange
 * through mach_phys_ptr, the machine's clock, fault-injection and trace
 * contexts) and routes the model's interrupts (MSI writes) to one handler a
 * driver registers. Several instances, of different vendors, may share one
 * machine; they share nothing but the machine.
 *
 * Interrupts are *deferred*: a model raises them from inside a register
 * write, a command or a translation, possibly holding its own locks, so the
 * bus only records the MSI (coalescing identical ones, as an MSI that is
 * already pending is) and the platform delivers it with no model call on the
 * stack: at the end of each DMA, in plat_iommu_poll() and in
 * plat_iommu_deliver_irqs(). A handler may therefore access the model's
 * registers freely.
 *
 * plat_iommu_poll() is what a driver calls while it busy-waits on the
 * hardware (a register bit, an invalidation wait status in memory): it
 * advances the simulated clock by the instance's poll step, lets a model
 * that does not process its command queue synchronously (VT-d with
 * qi_sync = false) process one command, and delivers pending interrupts.
 *
 * A struct plat_dev is a PCI function (segment:bus:device.function) behind
 * one instance, with an optional PASID capability (width in bits), ATS and
 * PRI. Its DMA API translates page by page through the instance
 * (hwm_translate) and moves the data with mach_phys_read/write. A fault
 * stops the transfer: -EFAULT, with the vendor's fault record copied to the
 * caller; the bytes before the faulting page have been transferred (as a
 * real device's earlier TLPs would have been).
 *
 * Lifetime: devices are removed before their instance, instances before the
 * machine. Nothing here is global.
 *
 * Threads: DMA may run on many threads at once, on one device or several;
 * adding and removing devices and instances is serialised by the caller.
 *
 * Table memory and RCU: every translation (plat_dma_read/write,
 * plat_dev_translate) runs inside an RCU read-side critical section of
 * liburcu's urcu-bp flavour (<urcu-bp.h>), the one that needs no
 * registration: DMA threads are the caller's. A driver that unlinks
 * translation-table pages the model may be walking returns them to the
 * machine only after an urcu-bp grace period (synchronize_rcu from
 * <urcu-bp.h>, after its invalidation wait; call_rcu would return frames
 * at a moment the run does not control, and later allocations, hence
 * traces, would differ from run to run).
 * The section covers the model call only: interrupt handlers and page
 * requests run outside it, so they may wait for a grace period. Code that
 * holds an urcu-bp read lock itself must not call into a driver.
 * Sanitizers: urcu-bp's grace periods are invisible to TSan (liburcu is
 * not instrumented), and its inline read-side code trips UBSan's alignment
 * check with liburcu 0.13, so sanitizer builds call the library instead.
 * The irq handler is set before the first interrupt can be raised (a driver
 * sets it at probe, before unmasking) and cleared after the last.
 */
#ifndef IOMMUSIM_PLATFORM_H
#define IOMMUSIM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iommusim/hw.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mach;
struct vtd_config;
struct plat_iommu;
struct plat_dev;

/* ------------------------------------------------------------ instances */

/* Model constructor: the shape of vtd_create() and its siblings. */
typedef int (*plat_model_create_fn)(const void *cfg, const struct hwm_bus *bus,
				    struct hwm_iommu **out);

/*
 * Attach a model of @vendor made by @create(@cfg, bus) to @m. The generic
 * form behind plat_iommu_add_vtd(); other vendors add a one-line wrapper.
 * @qi_sync false tells the platform the model consumes its command queue
 * only when stepped (plat_iommu_poll() then steps it). 0, -EINVAL, -ENOMEM
 * or the constructor's error.
 */
int plat_iommu_add_model(struct mach *m, enum hwm_vendor vendor, plat_model_create_fn create,
			 const void *cfg, bool step_on_poll, struct plat_iommu **out);

/* A VT-d unit (include/iommusim/hw_vtd.h); @cfg NULL = vtd_config_default(). */
int plat_iommu_add_vtd(struct mach *m, const struct vtd_config *cfg, struct plat_iommu **out);

/* Detach and destroy the model. Every device must have been removed. Never fails. */
void plat_iommu_remove(struct plat_iommu *pi);

struct mach *plat_iommu_mach(const struct plat_iommu *pi);
struct hwm_iommu *plat_iommu_hw(const struct plat_iommu *pi);
enum hwm_vendor plat_iommu_vendor(const struct plat_iommu *pi);
/* PCI segment the unit serves (default 0). Set before devices are added. */
void plat_iommu_set_segment(struct plat_iommu *pi, uint16_t seg);
uint16_t plat_iommu_segment(const struct plat_iommu *pi);

/*
 * The interrupt handler: called with the MSI (@addr, @data) the model
 * wrote, never with a model call on the stack. NULL clears it (pending
 * interrupts are then dropped).
 */
typedef void (*plat_irq_fn)(void *arg, uint64_t addr, uint32_t data);
void plat_iommu_set_irq_handler(struct plat_iommu *pi, plat_irq_fn fn, void *arg);
/* Deliver pending interrupts now. Returns how many were delivered. */
unsigned plat_iommu_deliver_irqs(struct plat_iommu *pi);
/* Interrupts raised by the model since creation (delivered or coalesced). */
uint64_t plat_iommu_irq_count(const struct plat_iommu *pi);

/* Simulated nanoseconds one plat_iommu_poll() lets pass; default 100. */
void plat_iommu_set_poll_ns(struct plat_iommu *pi, uint64_t ns);
/* One busy-wait step of a driver (see the header comment). */
void plat_iommu_poll(struct plat_iommu *pi);

/* ------------------------------------------------------------- devices */

#define PLAT_NO_PASID 0xffffffffu

struct plat_dev_config {
	uint16_t seg; /* must match the instance's segment */
	uint8_t bus;
	uint8_t dev; /* 0..31 */
	uint8_t fn; /* 0..7 */
	uint8_t pasid_width; /* PASID capability: 0 = none, else 1..20 bits */
	bool ats; /* ATS capability */
	bool pri; /* PRI capability (needs ATS) */
};

/* Place a device behind @pi. -EINVAL bad config, -EEXIST same RID there, -ENOMEM. */
int plat_dev_add(struct plat_iommu *pi, const struct plat_dev_config *cfg, struct plat_dev **out);
void plat_dev_remove(struct plat_dev *d);

struct plat_iommu *plat_dev_iommu(const struct plat_dev *d);
const struct plat_dev_config *plat_dev_config(const struct plat_dev *d);
/* Requester id: bus << 8 | dev << 3 | fn. */
uint16_t plat_dev_rid(const struct plat_dev *d);
/* "ssss:bb:dd.f", valid while the device exists. */
const char *plat_dev_name(const struct plat_dev *d);

/*
 * The PCI ATS capability's Enable bit, set by the driver when it allows
 * translation requests for the device. With it set, DMA sends ATS
 * translation requests first (answered from the IOMMU, never recorded as
 * faults) and, when refused, the untranslated request that reports the
 * fault. -EOPNOTSUPP without the capability.
 */
int plat_dev_set_ats(struct plat_dev *d, bool enable);
bool plat_dev_ats_enabled(const struct plat_dev *d);

/* DMA (see the header comment). @pasid is PLAT_NO_PASID or a PASID below 2^width. */
int plat_dma_read(struct plat_dev *d, uint64_t iova, void *buf, size_t len, uint32_t pasid,
		  struct hwm_fault *fault);
int plat_dma_write(struct plat_dev *d, uint64_t iova, const void *buf, size_t len, uint32_t pasid,
		   struct hwm_fault *fault);

/*
 * Translate one address as the device's DMA would (no data moved): fills
 * @out, returns 0 or -errno on misuse. @access is HWM_ACC_*.
 */
int plat_dev_translate(struct plat_dev *d, uint64_t iova, uint32_t access, uint32_t pasid,
		       struct hwm_xlate *out);

/* Per-device DMA counters (atomics; a snapshot). */
struct plat_dma_stats {
	uint64_t reads, writes; /* transfers issued */
	uint64_t bytes; /* bytes moved */
	uint64_t translations; /* pages translated */
	uint64_t faults; /* transfers stopped by a translation fault */
	uint64_t modelled_ns; /* sum of the translations' modelled cost */
};
void plat_dev_stats(const struct plat_dev *d, struct plat_dma_stats *out);

/*
 * A VT-d page request from a PRI-capable device (VT-d 3.4 §7.5.1): goes into
 * the unit's page request queue. -EOPNOTSUPP without PRI or on another
 * vendor, else as vtd_page_request().
 */
int plat_dev_page_request(struct plat_dev *d, uint64_t addr, uint32_t pasid, bool write, bool last,
			  uint16_t prgi);

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_PLATFORM_H */
