/* SPDX-License-Identifier: MIT */
/*
 * Device and HWPT objects of the iommufd core (device.c, hw_pagetable.c,
 * selftest.c), the kernel's iommufd_device / iommufd_hwpt_paging in user
 * mode.
 *
 * struct iommufd_device   an endpoint (struct iommu_dev) bound to a context.
 *                         It is its own group: the kernel's igroup->lock and
 *                         igroup->hwpt live here as ->lock and ->hwpt.
 * struct iommufd_hwpt_paging
 *                         an iommu_domain built on one IOAS: it is in
 *                         ioas->hwpt_list exactly when the domain was added
 *                         to the IOAS's io_pagetable (iopt_table_add_domain),
 *                         so it always holds every area of the IOAS.
 *                         auto_domain: made by attaching a device to an IOAS,
 *                         destroyed when its last device leaves.
 *
 * References (object users):
 *   - a device holds one on the HWPT it is attached to;
 *   - a HWPT holds one on its IOAS;
 *   - the bind itself holds one on the device until unbind, so IOMMU_DESTROY
 *     of a device id answers EBUSY while its owner (the selftest object, the
 *     machine) still has it bound.
 *
 * Locking, outermost first: ioas->mutex (hwpt_list, and held from a HWPT's
 * creation to its finalize) → idev->lock (idev->hwpt) → the io_pagetable
 * locks (taken inside iopt_*). Destroying a HWPT takes ioas->mutex, so no
 * path drops its last reference while holding ioas->mutex or idev->lock.
 */
#ifndef IOMMUSIM_IOMMUFD_DEVICE_H
#define IOMMUSIM_IOMMUFD_DEVICE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "iommu/iommu.h"
#include "iommufd/iommufd_private.h"
#include "lib/list.h"

struct iommufd_hw_pagetable {
	struct iommufd_object obj; /* first */
	struct iommu_domain *domain;
};

struct iommufd_hwpt_paging {
	struct iommufd_hw_pagetable common; /* first: common.obj is the object */
	struct iommufd_ioas *ioas;
	bool auto_domain;
	bool nest_parent;
	struct list_head hwpt_item; /* in ioas->hwpt_list, under ioas->mutex */
};

struct iommufd_device {
	struct iommufd_object obj; /* first */
	struct iommufd_ctx *ictx;
	struct iommu_dev *dev;
	pthread_mutex_t lock; /* the kernel's igroup->lock */
	struct iommufd_hw_pagetable *hwpt; /* attached HWPT, NULL when blocked; under lock */
	bool enforce_cache_coherency;
};

static inline struct iommufd_hwpt_paging *to_hwpt_paging(struct iommufd_hw_pagetable *hwpt)
{
	return container_of(hwpt, struct iommufd_hwpt_paging, common);
}

static inline bool hwpt_is_paging(const struct iommufd_hw_pagetable *hwpt)
{
	return hwpt->obj.type == IOMMUFD_OBJ_HWPT_PAGING;
}

/*
 * Bind @dev to @ictx: claims it (-EBUSY when bound elsewhere) and publishes
 * a device object, whose id goes to *@id. NULL with *@err on failure.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx, struct iommu_dev *dev,
					   uint32_t *id, int *err);
/* Detach first. Destroys the device object. Never fails. */
void iommufd_device_unbind(struct iommufd_device *idev);
/*
 * Attach to *@pt_id: a HWPT_PAGING, or an IOAS (an existing compatible
 * automatic domain, or a new one). *@pt_id returns the HWPT used.
 */
int iommufd_device_attach(struct iommufd_device *idev, uint32_t *pt_id);
/* Move an attached device to *@pt_id without passing through blocked. */
int iommufd_device_replace(struct iommufd_device *idev, uint32_t *pt_id);
void iommufd_device_detach(struct iommufd_device *idev);

/* Short-term lookup of a device object; put with iommufd_put_object(). */
struct iommufd_device *iommufd_get_device(struct iommufd_ctx *ictx, uint32_t id, int *err);

/* hw_pagetable.c: with ioas->mutex held. */
struct iommufd_hwpt_paging *iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx,
						      struct iommufd_ioas *ioas,
						      struct iommufd_device *idev, uint32_t flags,
						      bool immediate_attach, int *err);
/* device.c: attach/detach/replace a HWPT with idev->lock held by the callee. */
int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev);
void iommufd_hw_pagetable_detach_locked(struct iommufd_device *idev);

#endif /* IOMMUSIM_IOMMUFD_DEVICE_H */
