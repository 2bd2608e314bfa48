/* SPDX-License-Identifier: MIT */
/*
 * Device objects: bind an endpoint to a context, attach it to a HWPT or an
 * IOAS, replace, detach (the kernel's drivers/iommu/iommufd/device.c).
 *
 * Attaching to an IOAS looks for an automatic domain already on the IOAS
 * that the device can use (same driver: the attach answers -EINVAL
 * otherwise and the next one is tried), and only when none fits allocates
 * a new HWPT_PAGING for it, attaches the device (so the domain is set up for
 * it) and then adds the domain to the io_pagetable, which fills it with
 * every existing area. Either step failing undoes the other: the device
 * ends up as it was, the IOAS unchanged.
 *
 * Reserved regions: while a device is attached to a paging HWPT, each of
 * its reserved regions (except DIRECT_RELAXABLE, as the kernel) is reserved
 * in that HWPT's IOAS with the device as owner, so no map can land there;
 * the reservation fails the attach with -EADDRINUSE when an area already
 * covers the region. Detach removes the device's reservations; replace
 * moves them when the IOAS changes.
 *
 * Locking and references: see device.h. The device's ->hwpt only changes
 * under idev->lock; a HWPT's last reference is dropped only after every
 * lock is released, because destroying it takes ioas->mutex.
 */
#include <errno.h>
#include <stdlib.h>

#include <iommusim/fault.h>

#include "iommufd/device.h"
#include "iommufd/io_pagetable.h"

struct iommufd_device *iommufd_get_device(struct iommufd_ctx *ictx, uint32_t id, int *err)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_DEVICE);

	if (!obj) {
		*err = -ENOENT;
		return NULL;
	}
	return container_of(obj, struct iommufd_device, obj);
}

/* ------------------------------------------------------------- bind */

struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx, struct iommu_dev *dev,
					   uint32_t *id, int *err)
{
	struct iommufd_device *idev;
	int rc;

	idev = iommufd_object_alloc(ictx, idev, IOMMUFD_OBJ_DEVICE, &rc);
	if (!idev) {
		*err = rc ? rc : -ENOMEM;
		return NULL;
	}
	rc = iommu_dev_claim(dev, idev);
	if (rc) {
		iommufd_object_abort(ictx, &idev->obj);
		*err = rc;
		return NULL;
	}
	idev->ictx = ictx;
	idev->dev = dev;
	idev->hwpt = NULL;
	idev->enforce_cache_coherency = iommu_dev_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	pthread_mutex_init(&idev->lock, NULL);
	/* The binder is a user until iommufd_device_unbind(). */
	iommufd_ref_object(&idev->obj);
	iommufd_object_finalize(ictx, &idev->obj);
	*id = idev->obj.id;
	return idev;
}

void iommufd_device_unbind(struct iommufd_device *idev)
{
	/* gives up the binder's reference under objects_lock, after the lookups drain */
	iommufd_object_destroy_user(idev->ictx, &idev->obj);
}

/* ------------------------------------------------- reserved regions */

static int device_reserve_regions(struct iommufd_device *idev, struct io_pagetable *iopt)
{
	struct iommu_resv_region stack[IOMMU_DEV_MAX_RESV];
	struct iommu_resv_region *regs = stack;
	unsigned int num_sw_msi = 0, num_hw_msi = 0;
	int n, rc = 0;

	n = iommu_get_resv_regions(idev->dev, regs, ARRAY_SIZE(stack));
	if (n < 0)
		return n;
	if ((size_t)n > ARRAY_SIZE(stack)) {
		regs = fault_calloc(idev->ictx->fc, "iommufd.dev_resv", (size_t)n, sizeof(*regs));
		if (!regs)
			return -ENOMEM;
		n = iommu_get_resv_regions(idev->dev, regs, (size_t)n);
		if (n < 0) {
			rc = n;
			goto out_free;
		}
	}
	for (int i = 0; i < n; i++) {
		const struct iommu_resv_region *r = &regs[i];

		if (r->type == IOMMU_RESV_DIRECT_RELAXABLE || !r->length)
			continue;
		if (r->type == IOMMU_RESV_MSI)
			num_hw_msi++;
		if (r->type == IOMMU_RESV_SW_MSI)
			num_sw_msi++;
		rc = iopt_reserve_iova(iopt, r->start, r->start + r->length - 1, idev);
		if (rc)
			goto out_unreserve;
	}
	/* A driver must not offer both kinds of MSI window, nor two software ones. */
	if ((num_sw_msi && num_hw_msi) || num_sw_msi > 1) {
		rc = -EINVAL;
		goto out_unreserve;
	}
	goto out_free;

out_unreserve:
	iopt_remove_reserved_iova(iopt, idev);
out_free:
	if (regs != stack)
		fault_free(regs);
	return rc;
}

/* ------------------------------------------------------ attach core */

/* Attach a blocked device to @hwpt; takes a reference on it. Held: idev->lock. */
static int hwpt_attach_locked(struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev)
{
	struct io_pagetable *iopt = NULL;
	int rc;

	if (idev->hwpt)
		return -EINVAL;
	if (!iommu_domain_compatible(hwpt->domain, idev->dev))
		return -EINVAL;
	if (hwpt_is_paging(hwpt)) {
		iopt = &to_hwpt_paging(hwpt)->ioas->iopt;
		rc = device_reserve_regions(idev, iopt);
		if (rc)
			return rc;
	}
	rc = iommu_attach_device(hwpt->domain, idev->dev);
	if (rc) {
		if (iopt)
			iopt_remove_reserved_iova(iopt, idev);
		return rc;
	}
	idev->hwpt = hwpt;
	iommufd_ref_object(&hwpt->obj);
	return 0;
}

int iommufd_hw_pagetable_attach(struct iommufd_hw_pagetable *hwpt, struct iommufd_device *idev)
{
	int rc;

	pthread_mutex_lock(&idev->lock);
	rc = hwpt_attach_locked(hwpt, idev);
	pthread_mutex_unlock(&idev->lock);
	return rc;
}

/* Detach; returns the HWPT whose reference the caller now owns. Held: idev->lock. */
static struct iommufd_hw_pagetable *hwpt_detach_locked(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt = idev->hwpt;

	if (!hwpt)
		return NULL;
	iommu_detach_device(hwpt->domain, idev->dev);
	if (hwpt_is_paging(hwpt))
		iopt_remove_reserved_iova(&to_hwpt_paging(hwpt)->ioas->iopt, idev);
	idev->hwpt = NULL;
	return hwpt;
}

void iommufd_hw_pagetable_detach_locked(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt = hwpt_detach_locked(idev);

	/* Only used on a HWPT that still has its creator's reference. */
	if (hwpt)
		iommufd_unref_object(&hwpt->obj);
}

/*
 * Drop a device's reference on @hwpt. An automatic domain nobody uses any
 * more is destroyed: the reference is given up inside
 * iommufd_object_remove(), under objects_lock, so of two devices leaving at
 * once exactly one destroys it and neither touches it afterwards. If
 * someone holds it right now (a lookup in flight) it stays, with only the
 * table's reference, until a user destroys it or the context closes, like
 * the kernel's put-and-try-destroy. No lock held.
 */
static void hwpt_put(struct iommufd_ctx *ictx, struct iommufd_hw_pagetable *hwpt)
{
	if (!hwpt)
		return;
	if (hwpt_is_paging(hwpt) && to_hwpt_paging(hwpt)->auto_domain)
		iommufd_object_remove(ictx, &hwpt->obj, hwpt->obj.id, 0);
	else
		iommufd_unref_object(&hwpt->obj);
}

/*
 * Replace idev's HWPT with @hwpt. *@old gets the previous HWPT (with the
 * reference the caller must put), NULL when nothing changed.
 */
static int hwpt_replace(struct iommufd_device *idev, struct iommufd_hw_pagetable *hwpt,
			struct iommufd_hw_pagetable **old_out)
{
	struct iommufd_hw_pagetable *old;
	struct io_pagetable *new_iopt = NULL, *old_iopt = NULL;
	bool reserved_new = false;
	int rc;

	*old_out = NULL;
	pthread_mutex_lock(&idev->lock);
	old = idev->hwpt;
	if (!old) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (old == hwpt) {
		rc = 0;
		goto out_unlock;
	}
	if (!iommu_domain_compatible(hwpt->domain, idev->dev)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (hwpt_is_paging(hwpt))
		new_iopt = &to_hwpt_paging(hwpt)->ioas->iopt;
	if (hwpt_is_paging(old))
		old_iopt = &to_hwpt_paging(old)->ioas->iopt;
	if (new_iopt && new_iopt != old_iopt) {
		rc = device_reserve_regions(idev, new_iopt);
		if (rc)
			goto out_unlock;
		reserved_new = true;
	}
	rc = iommu_replace_device(idev->dev, hwpt->domain);
	if (rc) {
		if (reserved_new)
			iopt_remove_reserved_iova(new_iopt, idev);
		goto out_unlock;
	}
	if (old_iopt && old_iopt != new_iopt)
		iopt_remove_reserved_iova(old_iopt, idev);
	idev->hwpt = hwpt;
	iommufd_ref_object(&hwpt->obj);
	*old_out = old;
out_unlock:
	pthread_mutex_unlock(&idev->lock);
	return rc;
}

/* Attach or replace onto an automatic domain of @ioas. */
static int device_auto_get_domain(struct iommufd_device *idev, struct iommufd_ioas *ioas,
				  uint32_t *pt_id, bool replace,
				  struct iommufd_hw_pagetable **old_out)
{
	struct iommufd_ctx *ictx = idev->ictx;
	struct iommufd_hwpt_paging *hp;
	int rc;

	pthread_mutex_lock(&ioas->mutex);
	list_for_each_entry(hp, &ioas->hwpt_list, hwpt_item)
	{
		struct iommufd_object *obj;

		if (!hp->auto_domain)
			continue;
		/* Skip one whose destruction already started. */
		obj = iommufd_get_object(ictx, hp->common.obj.id, IOMMUFD_OBJ_HWPT_PAGING);
		if (!obj)
			continue;
		if (replace)
			rc = hwpt_replace(idev, &hp->common, old_out);
		else
			rc = iommufd_hw_pagetable_attach(&hp->common, idev);
		iommufd_put_object(ictx, obj);
		/* -EINVAL: this domain cannot serve the device; try the next. */
		if (rc == -EINVAL)
			continue;
		if (rc == 0)
			*pt_id = hp->common.obj.id;
		goto out_unlock;
	}

	hp = iommufd_hwpt_paging_alloc(ictx, ioas, idev, 0, !replace, &rc);
	if (!hp)
		goto out_unlock;
	hp->auto_domain = true;
	if (replace) {
		rc = hwpt_replace(idev, &hp->common, old_out);
		if (rc) {
			iommufd_object_abort_and_destroy(ictx, &hp->common.obj);
			goto out_unlock;
		}
	}
	*pt_id = hp->common.obj.id;
	iommufd_object_finalize(ictx, &hp->common.obj);
	rc = 0;
out_unlock:
	pthread_mutex_unlock(&ioas->mutex);
	return rc;
}

static int device_change_pt(struct iommufd_device *idev, uint32_t *pt_id, bool replace)
{
	struct iommufd_ctx *ictx = idev->ictx;
	struct iommufd_hw_pagetable *old = NULL;
	struct iommufd_object *pt_obj;
	int rc;

	pt_obj = iommufd_get_object(ictx, *pt_id, IOMMUFD_OBJ_ANY);
	if (!pt_obj)
		return -ENOENT;

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_HWPT_PAGING: {
		struct iommufd_hw_pagetable *hwpt =
			container_of(pt_obj, struct iommufd_hw_pagetable, obj);

		if (replace)
			rc = hwpt_replace(idev, hwpt, &old);
		else
			rc = iommufd_hw_pagetable_attach(hwpt, idev);
		break;
	}
	case IOMMUFD_OBJ_IOAS:
		rc = device_auto_get_domain(idev, container_of(pt_obj, struct iommufd_ioas, obj),
					    pt_id, replace, &old);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	iommufd_put_object(ictx, pt_obj);
	hwpt_put(ictx, old);
	return rc;
}

int iommufd_device_attach(struct iommufd_device *idev, uint32_t *pt_id)
{
	int rc;

	rc = device_change_pt(idev, pt_id, false);
	if (rc)
		return rc;
	/* An attached device is in use: IOMMU_DESTROY of it answers EBUSY. */
	iommufd_ref_object(&idev->obj);
	return 0;
}

int iommufd_device_replace(struct iommufd_device *idev, uint32_t *pt_id)
{
	return device_change_pt(idev, pt_id, true);
}

void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_hw_pagetable *hwpt;

	pthread_mutex_lock(&idev->lock);
	hwpt = hwpt_detach_locked(idev);
	pthread_mutex_unlock(&idev->lock);
	if (!hwpt)
		return;
	hwpt_put(idev->ictx, hwpt);
	iommufd_unref_object(&idev->obj);
}

void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev = container_of(obj, struct iommufd_device, obj);
	struct iommufd_hw_pagetable *hwpt;

	/*
	 * Normally detached by now. When the context is torn down with the
	 * device still attached (its binder never unbound it), detach here; the
	 * HWPT is being torn down by the same sweep, so only drop the reference.
	 */
	pthread_mutex_lock(&idev->lock);
	hwpt = hwpt_detach_locked(idev);
	pthread_mutex_unlock(&idev->lock);
	if (hwpt)
		iommufd_unref_object(&hwpt->obj);
	iommu_dev_unclaim(idev->dev, idev);
	pthread_mutex_destroy(&idev->lock);
}
