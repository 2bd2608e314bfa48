/* SPDX-License-Identifier: MIT */
/*
 * Private structures of the platform (include/iommusim/platform.h), shared
 * by platform.c (instances, bus, interrupts) and device.c (devices, DMA).
 *
 * struct plat_iommu owns the model (hw) and the struct hwm_bus given to it;
 * bus.ctx points back at the plat_iommu. Devices hang off dev_list under
 * dev_lock (add/remove only; the DMA path never takes it). Pending MSIs sit
 * in irq_pending[] under irq_lock; irq_npending is read without the lock by
 * the DMA path to skip delivery cheaply.
 */
#ifndef IOMMUSIM_MACHINE_PLATFORM_INTERNAL_H
#define IOMMUSIM_MACHINE_PLATFORM_INTERNAL_H

#include <pthread.h>

#include <iommusim/hw.h>
#include <iommusim/platform.h>

#define PLAT_IRQ_PENDING_MAX 16

struct plat_msi {
	uint64_t addr;
	uint32_t data;
};

struct plat_iommu {
	struct mach *mach;
	struct hwm_iommu *hw;
	struct hwm_bus bus;
	enum hwm_vendor vendor;
	uint16_t seg;
	bool step_on_poll;
	uint64_t poll_ns;

	pthread_mutex_t irq_lock;
	plat_irq_fn irq_fn;
	void *irq_arg;
	struct plat_msi irq_pending[PLAT_IRQ_PENDING_MAX];
	unsigned irq_npending; /* atomic reads outside irq_lock */
	uint64_t irq_count; /* atomic */
	uint64_t irq_dropped; /* atomic: more distinct MSIs pending than slots */

	pthread_mutex_t dev_lock;
	struct plat_dev *devs; /* singly linked through plat_dev.next */
};

struct plat_dev {
	struct plat_iommu *pi;
	struct plat_dev *next;
	struct plat_dev_config cfg;
	uint16_t rid;
	bool ats_enabled; /* atomic */
	char name[16];
	struct plat_dma_stats stats; /* atomics */
};

#endif /* IOMMUSIM_MACHINE_PLATFORM_INTERNAL_H */
