/* SPDX-License-Identifier: MIT */
/*
 * HWPT objects (IOMMU_HWPT_ALLOC) and IOMMU_GET_HW_INFO, after the kernel's
 * drivers/iommu/iommufd/hw_pagetable.c and device.c.
 *
 * A HWPT_PAGING is created in this order, holding ioas->mutex until it is
 * finalized: reserve the object id, take a reference on the IOAS, ask the
 * device's driver for a paging domain, optionally attach the device (the
 * automatic-domain path), add the domain to the io_pagetable (which fills
 * it from every area and narrows the IOAS to the aperture), and only then
 * link it on ioas->hwpt_list. Linked == added to the io_pagetable: the
 * abort and destroy paths rely on that to know what to undo.
 *
 * Flags, as the kernel checks them: unknown bits EOPNOTSUPP; DIRTY_TRACKING
 * without the IOMMU_CAP_DIRTY_TRACKING capability EOPNOTSUPP;
 * FAULT_ID_VALID with NEST_PARENT EOPNOTSUPP; FAULT_ID_VALID alone also
 * EOPNOTSUPP here, as a kernel without fault objects answers; NEST_PARENT
 * and PASID go to the driver, which refuses what it cannot do. A nested
 * HWPT (pt_id naming a HWPT_PAGING) answers EOPNOTSUPP, as the kernel does
 * for a driver without domain_alloc_nested.
 */
#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/iommufd.h>

#include "iommufd/device.h"
#include "iommufd/io_pagetable.h"

struct iommufd_hwpt_paging *iommufd_hwpt_paging_alloc(struct iommufd_ctx *ictx,
						      struct iommufd_ioas *ioas,
						      struct iommufd_device *idev, uint32_t flags,
						      bool immediate_attach, int *err)
{
	const uint32_t valid_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
				     IOMMU_HWPT_ALLOC_DIRTY_TRACKING | IOMMU_HWPT_FAULT_ID_VALID |
				     IOMMU_HWPT_ALLOC_PASID;
	struct iommufd_hwpt_paging *hp;
	struct iommu_domain *domain;
	int rc;

	if (flags & ~valid_flags) {
		*err = -EOPNOTSUPP;
		return NULL;
	}
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !iommu_dev_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING)) {
		*err = -EOPNOTSUPP;
		return NULL;
	}
	/* No fault objects in iommusim yet: answered like a kernel without them. */
	if (flags & IOMMU_HWPT_FAULT_ID_VALID) {
		*err = -EOPNOTSUPP;
		return NULL;
	}

	hp = iommufd_object_alloc(ictx, hp, IOMMUFD_OBJ_HWPT_PAGING, &rc);
	if (!hp) {
		*err = rc ? rc : -ENOMEM;
		return NULL;
	}
	INIT_LIST_HEAD(&hp->hwpt_item);
	iommufd_ref_object(&ioas->obj); /* dropped by iommufd_hwpt_paging_destroy */
	hp->ioas = ioas;
	hp->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;

	rc = iommu_domain_alloc_paging(idev->dev, flags, &domain);
	if (rc)
		goto out_abort;
	hp->common.domain = domain;

	/*
	 * Attaching before the domain holds anything is what the kernel does
	 * for automatic domains; the fill below then happens with the device
	 * already translating through the (complete once filled) domain.
	 */
	if (immediate_attach) {
		rc = iommufd_hw_pagetable_attach(&hp->common, idev);
		if (rc)
			goto out_abort;
	}

	rc = iopt_table_add_domain(&ioas->iopt, domain);
	if (rc)
		goto out_detach;
	list_add_tail(&hp->hwpt_item, &ioas->hwpt_list);
	return hp;

out_detach:
	if (immediate_attach) {
		pthread_mutex_lock(&idev->lock);
		iommufd_hw_pagetable_detach_locked(idev);
		pthread_mutex_unlock(&idev->lock);
	}
out_abort:
	iommufd_object_abort_and_destroy(ictx, &hp->common.obj);
	*err = rc;
	return NULL;
}

/* Free the domain and let go of the IOAS; the HWPT is already unlinked. */
static void hwpt_paging_teardown(struct iommufd_hwpt_paging *hp)
{
	if (hp->common.domain)
		iommu_domain_free(hp->common.domain);
	hp->common.domain = NULL;
	if (hp->ioas)
		iommufd_unref_object(&hp->ioas->obj);
	hp->ioas = NULL;
}

void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hp = container_of(obj, struct iommufd_hwpt_paging, common.obj);
	bool linked = false;

	if (hp->ioas) {
		pthread_mutex_lock(&hp->ioas->mutex);
		linked = !list_empty(&hp->hwpt_item);
		if (linked)
			list_del_init(&hp->hwpt_item);
		pthread_mutex_unlock(&hp->ioas->mutex);
		if (linked)
			iopt_table_remove_domain(&hp->ioas->iopt, hp->common.domain);
	}
	hwpt_paging_teardown(hp);
}

/* The creator still holds ioas->mutex: unlink here, without taking it again. */
void iommufd_hwpt_paging_abort(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hp = container_of(obj, struct iommufd_hwpt_paging, common.obj);

	if (hp->ioas && !list_empty(&hp->hwpt_item)) {
		list_del_init(&hp->hwpt_item);
		iopt_table_remove_domain(&hp->ioas->iopt, hp->common.domain);
	}
	hwpt_paging_teardown(hp);
}

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_hwpt_paging *hp;
	struct iommufd_object *pt_obj;
	struct iommufd_device *idev;
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if ((cmd->data_type == IOMMU_HWPT_DATA_NONE && cmd->data_len) ||
	    (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len))
		return -EINVAL;

	idev = iommufd_get_device(ictx, cmd->dev_id, &rc);
	if (!idev)
		return rc;
	pt_obj = iommufd_get_object(ictx, cmd->pt_id, IOMMUFD_OBJ_ANY);
	if (!pt_obj) {
		rc = -ENOENT;
		goto out_put_idev;
	}

	switch (pt_obj->type) {
	case IOMMUFD_OBJ_IOAS:
		break;
	case IOMMUFD_OBJ_HWPT_PAGING:
		/* A nested HWPT: no driver here implements domain_alloc_nested. */
		rc = -EOPNOTSUPP;
		goto out_put_pt;
	default:
		rc = -EINVAL;
		goto out_put_pt;
	}
	/* Driver-specific data for a paging domain: our drivers take none. */
	if (cmd->data_type != IOMMU_HWPT_DATA_NONE) {
		rc = -EOPNOTSUPP;
		goto out_put_pt;
	}

	ioas = container_of(pt_obj, struct iommufd_ioas, obj);
	pthread_mutex_lock(&ioas->mutex);
	hp = iommufd_hwpt_paging_alloc(ictx, ioas, idev, cmd->flags, false, &rc);
	if (!hp)
		goto out_unlock;
	cmd->out_hwpt_id = hp->common.obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		iommufd_object_abort_and_destroy(ictx, &hp->common.obj);
		goto out_unlock;
	}
	iommufd_object_finalize(ictx, &hp->common.obj);
out_unlock:
	pthread_mutex_unlock(&ioas->mutex);
out_put_pt:
	iommufd_put_object(ictx, pt_obj);
out_put_idev:
	iommufd_put_object(ictx, &idev->obj);
	return rc;
}

/* ------------------------------------------------------- GET_HW_INFO */

/* Zero [uptr + from, uptr + to) of the caller's buffer. */
static int clear_user_range(uint64_t uptr, size_t from, size_t to)
{
	static const uint8_t zeros[256];

	while (from < to) {
		size_t n = min(to - from, sizeof(zeros));
		int rc = iommufd_copy_to_user(uptr + from, zeros, n);

		if (rc)
			return rc;
		from += n;
	}
	return 0;
}

int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	uint8_t stack[256];
	uint8_t *data = stack;
	struct iommufd_device *idev;
	struct iommu_dev *dev;
	uint32_t type;
	size_t copy_len;
	long len;
	int rc = 0;

	if (cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		return -EOPNOTSUPP;
	if (cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	/* Without the flag, whatever the caller left in the field means "default". */
	if (!(cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE))
		cmd->in_data_type = IOMMU_HW_INFO_TYPE_DEFAULT;

	idev = iommufd_get_device(ictx, cmd->dev_id, &rc);
	if (!idev)
		return rc;
	dev = idev->dev;

	type = cmd->in_data_type;
	len = iommu_dev_hw_info(dev, &type, stack, sizeof(stack));
	if (len < 0) {
		rc = (int)len;
		goto out_put;
	}
	if ((size_t)len > sizeof(stack)) {
		data = fault_malloc(ictx->fc, "iommufd.hw_info", (size_t)len);
		if (!data) {
			rc = -ENOMEM;
			goto out_put;
		}
		type = cmd->in_data_type;
		len = iommu_dev_hw_info(dev, &type, data, (size_t)len);
		if (len < 0) {
			rc = (int)len;
			goto out_free;
		}
	}
	/* A driver that has data must say what it is. */
	if (len && type == IOMMU_HW_INFO_TYPE_NONE) {
		rc = -EOPNOTSUPP;
		goto out_free;
	}

	copy_len = min((size_t)cmd->data_len, (size_t)len);
	if (copy_len) {
		rc = iommufd_copy_to_user(cmd->data_uptr, data, copy_len);
		if (rc)
			goto out_free;
	}
	/* A larger buffer than the data: the rest is zeroed. */
	if (copy_len < cmd->data_len) {
		rc = clear_user_range(cmd->data_uptr, copy_len, cmd->data_len);
		if (rc)
			goto out_free;
	}
	cmd->data_len = (uint32_t)len;
	cmd->out_data_type = type;

	cmd->out_capabilities = 0;
	if (iommu_dev_capable(dev, IOMMU_CAP_DIRTY_TRACKING))
		cmd->out_capabilities |= IOMMU_HW_CAP_DIRTY_TRACKING;
	cmd->out_max_pasid_log2 = 0;
	if (dev->max_pasids) {
		cmd->out_max_pasid_log2 = (uint8_t)ilog2(dev->max_pasids);
		if (dev->pci)
			cmd->out_capabilities |= dev->pasid_caps & (IOMMU_HW_CAP_PCI_PASID_EXEC |
								    IOMMU_HW_CAP_PCI_PASID_PRIV);
	}
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_free:
	if (data != stack)
		fault_free(data);
out_put:
	iommufd_put_object(ictx, &idev->obj);
	return rc;
}
