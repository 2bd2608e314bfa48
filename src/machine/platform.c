/* SPDX-License-Identifier: MIT */
/*
 * The platform: IOMMU model instances wired to a machine (see
 * include/iommusim/platform.h for the contract).
 *
 * The bus a model is given is implemented here over the machine: reads and
 * writes go through mach_phys_read/write (an address outside RAM and the
 * host window is an access abort, HWM_MEM_ABORT, as a master abort on a real
 * bus), the 64-bit compare-and-exchange is a host atomic on the frame's
 * bytes (mach_phys_ptr; dataless memory has no bytes and aborts), the clock
 * is mach_now().
 *
 * Interrupts: the bus's irq op only queues the MSI (bounded array, an MSI
 * already pending with the same address and data is coalesced, as a pending
 * MSI vector is). Delivery happens with no model frame on the stack, so a
 * handler may read and write the model's registers (see the header). The
 * handler pointer is swapped under irq_lock; delivery copies the pending set
 * out under the lock and calls the handler without it.
 *
 * Locking: irq_lock protects the pending set and the handler; dev_lock the
 * device list (device.c). Neither is held while calling the model or the
 * handler.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/hw_vtd.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>

#include "machine/platform_internal.h"

#define PLAT_DEFAULT_POLL_NS 100

/* ---------------------------------------------------------------- bus */

static int bus_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
	struct plat_iommu *pi = ctx;

	return mach_phys_read(pi->mach, pa, buf, len) ? HWM_MEM_ABORT : HWM_MEM_OK;
}

static int bus_write(void *ctx, uint64_t pa, const void *buf, size_t len)
{
	struct plat_iommu *pi = ctx;

	return mach_phys_write(pi->mach, pa, buf, len) ? HWM_MEM_ABORT : HWM_MEM_OK;
}

static int bus_cmpxchg64(void *ctx, uint64_t pa, uint64_t *expected, uint64_t desired)
{
	struct plat_iommu *pi = ctx;
	uint64_t *p;

	if (pa & 7)
		return HWM_MEM_ABORT;
	p = mach_phys_ptr(pi->mach, pa, 8);
	if (!p)
		return HWM_MEM_ABORT;
	__atomic_compare_exchange_n(p, expected, desired, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
	return HWM_MEM_OK;
}

static void bus_irq(void *ctx, uint64_t addr, uint32_t data)
{
	struct plat_iommu *pi = ctx;
	unsigned i, n;

	__atomic_add_fetch(&pi->irq_count, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&pi->irq_lock);
	n = pi->irq_npending;
	for (i = 0; i < n; i++)
		if (pi->irq_pending[i].addr == addr && pi->irq_pending[i].data == data)
			goto out;
	if (n == PLAT_IRQ_PENDING_MAX) {
		__atomic_add_fetch(&pi->irq_dropped, 1, __ATOMIC_RELAXED);
		goto out;
	}
	pi->irq_pending[n].addr = addr;
	pi->irq_pending[n].data = data;
	__atomic_store_n(&pi->irq_npending, n + 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&pi->irq_lock);
}

static uint64_t bus_now(void *ctx)
{
	struct plat_iommu *pi = ctx;

	return mach_now(pi->mach);
}

static const struct hwm_bus_ops plat_bus_ops = {
	.read = bus_read,
	.write = bus_write,
	.cmpxchg64 = bus_cmpxchg64,
	.irq = bus_irq,
	.now = bus_now,
};

/* ---------------------------------------------------------- instances */

int plat_iommu_add_model(struct mach *m, enum hwm_vendor vendor, plat_model_create_fn create,
			 const void *cfg, bool step_on_poll, struct plat_iommu **out)
{
	struct plat_iommu *pi;
	int rc;

	if (!m || !create || !out)
		return -EINVAL;
	pi = fault_zalloc(mach_fault(m), "plat.iommu_alloc", sizeof(*pi));
	if (!pi)
		return -ENOMEM;
	pi->mach = m;
	pi->vendor = vendor;
	pi->step_on_poll = step_on_poll;
	pi->poll_ns = PLAT_DEFAULT_POLL_NS;
	pthread_mutex_init(&pi->irq_lock, NULL);
	pthread_mutex_init(&pi->dev_lock, NULL);
	pi->bus.ops = &plat_bus_ops;
	pi->bus.ctx = pi;
	pi->bus.fault = mach_fault(m);
	pi->bus.trace = mach_trace(m);
	rc = create(cfg, &pi->bus, &pi->hw);
	if (rc)
		goto err_free;
	*out = pi;
	return 0;

err_free:
	pthread_mutex_destroy(&pi->dev_lock);
	pthread_mutex_destroy(&pi->irq_lock);
	fault_free(pi);
	return rc;
}

static int plat_vtd_create(const void *cfg, const struct hwm_bus *bus, struct hwm_iommu **out)
{
	return vtd_create(cfg, bus, out);
}

int plat_iommu_add_vtd(struct mach *m, const struct vtd_config *cfg, struct plat_iommu **out)
{
	struct vtd_config def;

	if (!cfg) {
		def = vtd_config_default();
		cfg = &def;
	}
	return plat_iommu_add_model(m, HWM_VENDOR_VTD, plat_vtd_create, cfg, !cfg->qi_sync, out);
}

void plat_iommu_remove(struct plat_iommu *pi)
{
	if (!pi)
		return;
	/* Devices are removed first (contract); a leftover one would dangle. */
	hwm_destroy(pi->hw);
	pthread_mutex_destroy(&pi->dev_lock);
	pthread_mutex_destroy(&pi->irq_lock);
	fault_free(pi);
}

struct mach *plat_iommu_mach(const struct plat_iommu *pi)
{
	return pi->mach;
}

struct hwm_iommu *plat_iommu_hw(const struct plat_iommu *pi)
{
	return pi->hw;
}

enum hwm_vendor plat_iommu_vendor(const struct plat_iommu *pi)
{
	return pi->vendor;
}

void plat_iommu_set_segment(struct plat_iommu *pi, uint16_t seg)
{
	pi->seg = seg;
}

uint16_t plat_iommu_segment(const struct plat_iommu *pi)
{
	return pi->seg;
}

/* ---------------------------------------------------------- interrupts */

void plat_iommu_set_irq_handler(struct plat_iommu *pi, plat_irq_fn fn, void *arg)
{
	pthread_mutex_lock(&pi->irq_lock);
	pi->irq_fn = fn;
	pi->irq_arg = arg;
	if (!fn)
		__atomic_store_n(&pi->irq_npending, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&pi->irq_lock);
}

unsigned plat_iommu_deliver_irqs(struct plat_iommu *pi)
{
	struct plat_msi batch[PLAT_IRQ_PENDING_MAX];
	plat_irq_fn fn;
	void *arg;
	unsigned i, n;

	if (!__atomic_load_n(&pi->irq_npending, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&pi->irq_lock);
	n = pi->irq_npending;
	memcpy(batch, pi->irq_pending, n * sizeof(batch[0]));
	__atomic_store_n(&pi->irq_npending, 0, __ATOMIC_RELEASE);
	fn = pi->irq_fn;
	arg = pi->irq_arg;
	pthread_mutex_unlock(&pi->irq_lock);
	if (!fn)
		return 0;
	for (i = 0; i < n; i++)
		fn(arg, batch[i].addr, batch[i].data);
	return n;
}

uint64_t plat_iommu_irq_count(const struct plat_iommu *pi)
{
	return __atomic_load_n(&pi->irq_count, __ATOMIC_RELAXED);
}

void plat_iommu_set_poll_ns(struct plat_iommu *pi, uint64_t ns)
{
	pi->poll_ns = ns;
}

void plat_iommu_poll(struct plat_iommu *pi)
{
	if (pi->poll_ns)
		mach_clock_advance(pi->mach, pi->poll_ns);
	/*
	 * A model that consumes its queue only when stepped advances one
	 * command per poll, so intermediate queue states are observable; the
	 * others are asked to run what is due (a delayed invalidation whose
	 * simulated time has come), which is a no-op when nothing is.
	 */
	if (pi->hw->ops->process_commands)
		hwm_process_commands(pi->hw, pi->step_on_poll ? 1 : 0);
	plat_iommu_deliver_irqs(pi);
}
