// SPDX-License-Identifier: MIT
/*
 * The access API: how an emulated device (or the selftest) reaches an IOAS
 * without an iommu_domain, by pinning IOVA ranges or copying through them.
 *
 * An access is an object of the context (type ACCESS) linked into its IOAS's
 * access list. The creator (the "driver") holds one users reference, so a
 * user's IOMMU_DESTROY of the id gets EBUSY; iommufd_access_destroy() waits
 * for lookups in flight still holding it, then drops it under objects_lock
 * in the same step as the removal, so the user never sees a window.
 *
 * Pins are tracked per iopt_pages (iopt_area_add_access), so pinning a range
 * another access or a domain already holds takes no new pin. When the user
 * unmaps a range an access has pinned, io_pagetable.c calls
 * iommufd_access_notify_unmap() with no lock held; each access's
 * ops->unmap() must unpin before returning, then the unmap retries.
 *
 * Locking: access->ioas_lock serialises pin/unpin/rw against replace_ioas;
 * it is taken before the IOAS's iova_rwsem. The access list is walked with
 * the iopt's access_lock dropped around each callback; ids keep the walk
 * position stable while the list changes.
 */
#include "iommufd/iommufd_private.h"

#include <assert.h>

void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access = container_of(obj, struct iommufd_access, obj);

	if (access->ioas) {
		iopt_remove_access(&access->ioas->iopt, access);
		iommufd_unref_object(&access->ioas->obj);
		access->ioas = NULL;
	}
	pthread_mutex_destroy(&access->ioas_lock);
}

struct iommufd_access *iommufd_access_create(struct iommufd_ctx *ictx, uint32_t ioas_id,
					     const struct iommufd_access_ops *ops, void *data,
					     uint32_t *out_id)
{
	struct iommufd_access *access;
	struct iommufd_ioas *ioas;
	int rc;

	access = iommufd_object_alloc(ictx, access, IOMMUFD_OBJ_ACCESS, &rc);
	if (!access) {
		errno = -rc;
		return NULL;
	}
	access->ictx = ictx;
	access->ops = ops;
	access->data = data;
	/* pinning hands out whole pages, so the IOAS must keep page alignment */
	access->iova_alignment = ops->needs_pin_pages ? IOPT_PAGE_SIZE : 1;
	pthread_mutex_init(&access->ioas_lock, NULL);
	INIT_LIST_HEAD(&access->iopt_node);

	ioas = iommufd_get_ioas(ictx, ioas_id);
	if (!ioas) {
		rc = -ENOENT;
		goto err_abort;
	}
	rc = iopt_add_access(&ioas->iopt, access);
	if (rc) {
		iommufd_put_object(ictx, &ioas->obj);
		goto err_abort;
	}
	iommufd_ref_object(&ioas->obj);
	iommufd_put_object(ictx, &ioas->obj);
	access->ioas = ioas;
	access->ioas_unpin = ioas;

	iommufd_ref_object(&access->obj); /* the creator's reference */
	iommufd_object_finalize(ictx, &access->obj);
	if (out_id)
		*out_id = access->obj.id;
	return access;

err_abort:
	pthread_mutex_destroy(&access->ioas_lock);
	iommufd_object_abort(ictx, &access->obj);
	errno = -rc;
	return NULL;
}

void iommufd_access_destroy(struct iommufd_access *access)
{
	/* gives up the creator's reference under objects_lock, after the lookups drain */
	iommufd_object_destroy_user(access->ictx, &access->obj);
}

int iommufd_access_replace_ioas(struct iommufd_access *access, uint32_t ioas_id)
{
	struct iommufd_ctx *ictx = access->ictx;
	struct iommufd_ioas *new_ioas, *cur;
	int rc;

	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas != access->ioas_unpin) {
		rc = -EBUSY;
		goto out_unlock;
	}
	new_ioas = iommufd_get_ioas(ictx, ioas_id);
	if (!new_ioas) {
		rc = -ENOENT;
		goto out_unlock;
	}
	cur = access->ioas;
	if (cur == new_ioas) {
		rc = 0;
		goto out_put;
	}
	if (cur) {
		/* the driver must let go of everything it pinned in the old IOAS */
		access->ioas = NULL;
		pthread_mutex_unlock(&access->ioas_lock);
		if (access->ops->unmap)
			access->ops->unmap(access->data, 0, UINT64_MAX);
		pthread_mutex_lock(&access->ioas_lock);
		/* one list node: leave the old list before joining the new one */
		iopt_remove_access(&cur->iopt, access);
	}
	rc = iopt_add_access(&new_ioas->iopt, access);
	if (rc) {
		if (cur) {
			/* the old IOAS accepted this access before, so this cannot fail */
			if (iopt_add_access(&cur->iopt, access))
				assert(!"re-adding an access to its IOAS failed");
			access->ioas = cur;
		}
		goto out_put;
	}
	iommufd_ref_object(&new_ioas->obj);
	if (cur)
		iommufd_unref_object(&cur->obj);
	access->ioas = new_ioas;
	access->ioas_unpin = new_ioas;
out_put:
	iommufd_put_object(ictx, &new_ioas->obj);
out_unlock:
	pthread_mutex_unlock(&access->ioas_lock);
	return rc;
}

void iommufd_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	struct iommufd_ctx *ictx = iopt->ictx;
	uint64_t pos = 0;

	pthread_mutex_lock(&iopt->access_lock);
	for (;;) {
		struct iommufd_access *access, *found = NULL;

		list_for_each_entry(access, &iopt->access_list, iopt_node)
		{
			if (access->iopt_access_id > pos) {
				found = access;
				break;
			}
		}
		if (!found)
			break;
		pos = found->iopt_access_id;
		/* a short-term reference keeps the access alive across the callback */
		if (!iommufd_get_object(ictx, found->obj.id, IOMMUFD_OBJ_ACCESS))
			continue;
		pthread_mutex_unlock(&iopt->access_lock);
		if (found->ops->unmap)
			found->ops->unmap(found->data, iova, length);
		iommufd_put_object(ictx, &found->obj);
		pthread_mutex_lock(&iopt->access_lock);
	}
	pthread_mutex_unlock(&iopt->access_lock);
}

static bool check_area_prot(struct iopt_area *area, unsigned int flags)
{
	if (flags & IOMMUFD_ACCESS_RW_WRITE)
		return area->iommu_prot & IOMMU_WRITE;
	return area->iommu_prot & IOMMU_READ;
}

/* Whether an access may touch @area with @flags: -EINVAL, -EPERM or 0. */
static int check_area_access(struct iopt_area *area, unsigned int flags)
{
	if (area->prevent_access)
		return -EINVAL;
	if (!check_area_prot(area, flags))
		return -EPERM;
	return 0;
}

/*
 * Take access->ioas_lock, then the attached IOAS's iova_rwsem for reading
 * (the order every access path takes them in), and return its io_pagetable
 * in *out; -ENOENT with nothing held if no IOAS is attached.
 */
static int access_lock_iopt(struct iommufd_access *access, struct io_pagetable **out)
{
	pthread_mutex_lock(&access->ioas_lock);
	if (!access->ioas) {
		pthread_mutex_unlock(&access->ioas_lock);
		return -ENOENT;
	}
	*out = &access->ioas->iopt;
	pthread_rwlock_rdlock(&(*out)->iova_rwsem);
	return 0;
}

static void access_unlock_iopt(struct iommufd_access *access, struct io_pagetable *iopt)
{
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	pthread_mutex_unlock(&access->ioas_lock);
}

static void unpin_range(struct io_pagetable *iopt, uint64_t iova, uint64_t last_iova)
{
	struct iopt_area_contig_iter iter;
	struct iopt_area *area;

	iopt_for_each_contig_area(&iter, area, iopt, iova, last_iova) iopt_area_remove_access(
		area, iopt_area_iova_to_index(area, iter.cur_iova),
		iopt_area_iova_to_index(area, min(last_iova, iopt_area_last_iova(area))));
}

int iommufd_access_pin_pages(struct iommufd_access *access, uint64_t iova, uint64_t length,
			     uint64_t *out_pfns, unsigned int flags)
{
	struct iopt_area_contig_iter iter;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	uint64_t last_iova;
	int rc = 0;

	if (access->iova_alignment != IOPT_PAGE_SIZE || !access->ops->unmap)
		return -EINVAL;
	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;

	rc = access_lock_iopt(access, &iopt);
	if (rc)
		return rc;
	iopt_for_each_contig_area(&iter, area, iopt, iova, last_iova)
	{
		uint64_t last = min(last_iova, iopt_area_last_iova(area));
		uint64_t last_index = iopt_area_iova_to_index(area, last);
		uint64_t index = iopt_area_iova_to_index(area, iter.cur_iova);

		rc = iopt_area_contig_is_aligned(&iter) ? check_area_access(area, flags) : -EINVAL;
		if (rc)
			goto err_remove;
		rc = iopt_area_add_access(area, index, last_index, out_pfns, flags);
		if (rc)
			goto err_remove;
		out_pfns += last_index - index + 1;
	}
	if (!iopt_area_contig_done(&iter)) {
		rc = -ENOENT;
		goto err_remove;
	}
	access_unlock_iopt(access, iopt);
	return 0;

err_remove:
	if (iova < iter.cur_iova)
		unpin_range(iopt, iova, iter.cur_iova - 1);
	access_unlock_iopt(access, iopt);
	return rc;
}

void iommufd_access_unpin_pages(struct iommufd_access *access, uint64_t iova, uint64_t length)
{
	struct io_pagetable *iopt;
	uint64_t last_iova;

	if (!length || check_add_overflow(iova, length - 1, &last_iova))
		return;
	pthread_mutex_lock(&access->ioas_lock);
	if (access->ioas_unpin) {
		iopt = &access->ioas_unpin->iopt;
		pthread_rwlock_rdlock(&iopt->iova_rwsem);
		unpin_range(iopt, iova, last_iova);
		pthread_rwlock_unlock(&iopt->iova_rwsem);
	}
	pthread_mutex_unlock(&access->ioas_lock);
}

int iommufd_access_rw(struct iommufd_access *access, uint64_t iova, void *data, size_t len,
		      unsigned int flags)
{
	struct iopt_area_contig_iter iter;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	uint64_t last_iova;
	char *buf = data;
	int rc = 0;

	if (!len)
		return -EINVAL;
	if (check_add_overflow(iova, (uint64_t)len - 1, &last_iova))
		return -EOVERFLOW;

	rc = access_lock_iopt(access, &iopt);
	if (rc)
		return rc;
	iopt_for_each_contig_area(&iter, area, iopt, iova, last_iova)
	{
		uint64_t last = min(last_iova, iopt_area_last_iova(area));
		uint64_t bytes = last - iter.cur_iova + 1;

		rc = check_area_access(area, flags);
		if (rc)
			break;
		rc = iopt_pages_rw_access(area->pages, iopt_area_start_byte(area, iter.cur_iova),
					  buf, bytes, flags);
		if (rc)
			break;
		buf += bytes;
	}
	if (!rc && !iopt_area_contig_done(&iter))
		rc = -ENOENT;
	access_unlock_iopt(access, iopt);
	return rc;
}
