// SPDX-License-Identifier: MIT
/*
 * IOAS objects and their ioctls: ALLOC, IOVA_RANGES, ALLOW_IOVAS, MAP,
 * MAP_FILE, COPY, UNMAP and the per-IOAS HUGE_PAGES option.
 *
 * Each handler validates the command in the kernel's order (flags and
 * reserved fields first: EOPNOTSUPP; then overflow: EOVERFLOW; then
 * semantic checks: EINVAL; then the object lookup: ENOENT), so a caller sees
 * the errno the kernel would give for the same mistake. Work is done by
 * io_pagetable.c; results reach the caller only through
 * iommufd_ucmd_respond().
 */
#include "iommufd/iommufd_private.h"

#include <iommusim/iommufd.h>

struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx, uint32_t id)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_IOAS);

	return obj ? container_of(obj, struct iommufd_ioas, obj) : NULL;
}

void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);

	iopt_unmap_all(&ioas->iopt, NULL);
	iopt_destroy_table(&ioas->iopt);
	pthread_mutex_destroy(&ioas->mutex);
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = iommufd_object_alloc(ucmd->ictx, ioas, IOMMUFD_OBJ_IOAS, &rc);
	if (!ioas)
		return rc;
	iopt_init_table(&ioas->iopt, ucmd->ictx);
	pthread_mutex_init(&ioas->mutex, NULL);
	INIT_LIST_HEAD(&ioas->hwpt_list);
	cmd->out_ioas_id = ioas->obj.id;
	iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	iommufd_object_finalize(ucmd->ictx, &ioas->obj);
	return 0;
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	struct itree_span span;
	uint32_t max_iovas;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;

	pthread_rwlock_rdlock(&ioas->iopt.iova_rwsem);
	max_iovas = cmd->num_iovas;
	cmd->num_iovas = 0;
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	/* the usable IOVA is everything not reserved */
	itree_for_each_span (&span, &ioas->iopt.reserved_itree, 0, UINT64_MAX) {
		if (!span.is_hole)
			continue;
		if (cmd->num_iovas < max_iovas) {
			struct iommu_iova_range elm = { .start = span.start_hole,
							.last = span.last_hole };

			rc = iommufd_copy_to_user(cmd->allowed_iovas + cmd->num_iovas * sizeof(elm),
						  &elm, sizeof(elm));
			if (rc)
				goto out_unlock;
		}
		cmd->num_iovas++;
	}
	iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (cmd->num_iovas > max_iovas)
		rc = -EMSGSIZE;
out_unlock:
	pthread_rwlock_unlock(&ioas->iopt.iova_rwsem);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static void free_allowed(struct itree_root *root)
{
	struct itree_node *n;

	while ((n = itree_first(root))) {
		itree_remove(root, n);
		fault_free(container_of(n, struct iopt_allowed, node));
	}
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct itree_root allowed = ITREE_ROOT_INIT;
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;

	for (uint32_t i = 0; i != cmd->num_iovas; i++) {
		struct iommu_iova_range range;
		struct iopt_allowed *a;

		rc = iommufd_copy_from_user(&range, cmd->allowed_iovas + i * sizeof(range),
					    sizeof(range));
		if (rc)
			goto out_free;
		if (range.start >= range.last ||
		    itree_iter_first(&allowed, range.start, range.last)) {
			rc = -EINVAL;
			goto out_free;
		}
		a = fault_zalloc(ucmd->ictx->fc, "iopt.allowed", sizeof(*a));
		if (!a) {
			rc = -ENOMEM;
			goto out_free;
		}
		a->node.start = range.start;
		a->node.last = range.last;
		itree_insert(&allowed, &a->node);
	}
	rc = iopt_set_allow_iova(&ioas->iopt, &allowed);
out_free:
	free_allowed(&allowed);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

static int conv_iommu_prot(uint32_t map_flags)
{
	/* pages are always cache coherent in the simulator, as on x86 */
	int prot = IOMMU_CACHE;

	if (map_flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (map_flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	return prot;
}

#define MAP_FLAGS (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)

/*
 * The argument rules IOAS_MAP and IOAS_MAP_FILE share, in the kernel's order:
 * unknown flags, then lengths that overflow, then a mapping granting no access.
 * On success *alloc_flags says whether the IOVA is to be allocated.
 */
static int check_map_args(uint32_t flags, uint64_t iova, uint64_t length, unsigned int *alloc_flags)
{
	if (flags & ~MAP_FLAGS)
		return -EOPNOTSUPP;
	if (iova >= UINT64_MAX || length >= UINT64_MAX)
		return -EOVERFLOW;
	if (!(flags & (IOMMU_IOAS_MAP_WRITEABLE | IOMMU_IOAS_MAP_READABLE)))
		return -EINVAL;
	*alloc_flags = (flags & IOMMU_IOAS_MAP_FIXED_IOVA) ? 0 : IOPT_ALLOC_IOVA;
	return 0;
}

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned int flags = 0;
	struct iommufd_ioas *ioas;
	uint64_t iova = cmd->iova;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	rc = check_map_args(cmd->flags, cmd->iova, cmd->length, &flags);
	if (rc)
		return rc;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	rc = iopt_map_user_pages(ucmd->ictx, &ioas->iopt, &iova, cmd->user_va, cmd->length,
				 conv_iommu_prot(cmd->flags), flags);
	if (!rc) {
		cmd->iova = iova;
		iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	unsigned int flags = 0;
	struct iommufd_ioas *ioas;
	struct mach_file *file = NULL;
	uint64_t iova = cmd->iova;
	int rc;

	rc = check_map_args(cmd->flags, cmd->iova, cmd->length, &flags);
	if (rc)
		return rc;
	ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;

	pthread_mutex_lock(&ictx->objects_lock);
	if (cmd->fd >= 0 && (uint32_t)cmd->fd < ictx->nfiles && ictx->files[cmd->fd]) {
		file = ictx->files[cmd->fd];
		mach_file_get(file);
	}
	pthread_mutex_unlock(&ictx->objects_lock);
	if (!file) {
		rc = -EBADF;
		goto out_put;
	}
	rc = iopt_map_file_pages(ictx, &ioas->iopt, &iova, file, cmd->start, cmd->length,
				 conv_iommu_prot(cmd->flags), flags);
	mach_file_put(file);
	if (!rc) {
		cmd->iova = iova;
		iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	struct iommufd_ioas *src, *dst;
	unsigned int flags = 0;
	uint64_t iova;
	int rc;

	if (cmd->flags & ~MAP_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->length >= UINT64_MAX || cmd->src_iova >= UINT64_MAX || cmd->dst_iova >= UINT64_MAX)
		return -EOVERFLOW;
	/*
	 * Unlike IOAS_MAP, COPY does not insist on READABLE or WRITEABLE: the
	 * kernel accepts a copy with neither (the new area then grants no
	 * access), and its selftest copies with only FIXED_IOVA set.
	 */
	src = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (!src)
		return -ENOENT;
	dst = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (!dst) {
		iommufd_put_object(ucmd->ictx, &src->obj);
		return -ENOENT;
	}
	if (!(cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA))
		flags = IOPT_ALLOC_IOVA;
	iova = cmd->dst_iova;
	rc = iopt_copy(&src->iopt, cmd->src_iova, &dst->iopt, &iova, cmd->length,
		       conv_iommu_prot(cmd->flags), flags);
	if (!rc) {
		cmd->dst_iova = iova;
		iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &dst->obj);
	iommufd_put_object(ucmd->ictx, &src->obj);
	return rc;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	uint64_t unmapped = 0;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (!ioas)
		return -ENOENT;
	if (cmd->iova == 0 && cmd->length == UINT64_MAX) {
		rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else {
		if (cmd->iova >= UINT64_MAX || cmd->length >= UINT64_MAX) {
			rc = -EOVERFLOW;
			goto out_put;
		}
		rc = iopt_unmap_iova(&ioas->iopt, cmd->iova, cmd->length, &unmapped);
	}
	if (rc)
		goto out_put;
	cmd->length = unmapped;
	iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

int iommufd_ioas_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (!ioas)
		return -ENOENT;
	if (cmd->option_id != IOMMU_OPTION_HUGE_PAGES) {
		rc = -EOPNOTSUPP;
	} else if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !READ_ONCE(ioas->iopt.disable_large_pages);
	} else if (cmd->op == IOMMU_OPTION_OP_SET) {
		if (cmd->val64 == 0)
			rc = iopt_disable_large_pages(&ioas->iopt);
		else if (cmd->val64 == 1)
			iopt_enable_large_pages(&ioas->iopt);
		else
			rc = -EINVAL;
	} else {
		rc = -EOPNOTSUPP;
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}
