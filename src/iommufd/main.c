// SPDX-License-Identifier: MIT
/*
 * The iommufd context, the object table and the ioctl dispatcher.
 *
 * Object table: ictx->objects[id] for id in [1, objects_cap). A slot is NULL
 * (free), RESERVED_OBJ (id taken by an object still being built: lookups
 * miss it) or the object. Ids are handed out lowest-free-first from 1, as the
 * kernel's xa_alloc with XA_FLAGS_ALLOC1 does, so a destroyed id is reused.
 * objects_lock protects the table and the users/shortterm transitions that
 * must be atomic with a lookup (a destroy sees users == 1 only when no
 * lookup can hand out a new reference); counts are changed with atomics so
 * put is lock-free unless it has to wake a waiter.
 *
 * Dispatch: a table indexed by nr - IOMMUFD_CMD_BASE holding the full
 * command number, the handler, the size of the struct we know and the
 * minimum size (end of the last mandatory field). As the kernel: the size
 * field is read first; below the minimum EINVAL; bytes past our struct must
 * be zero (E2BIG); a shorter struct is zero-extended; commands we do not
 * have are ENOTTY. Handlers work on a private copy (ucmd->cmd) and write
 * back only through iommufd_ucmd_respond().
 */
#include "iommufd/iommufd_private.h"
#include "iommufd/vfio_compat.h"

#include <assert.h>
#include <stdlib.h>

#include <iommusim/iommufd.h>
#include <iommusim/iommufd_test.h>

#define RESERVED_OBJ ((struct iommufd_object *)(uintptr_t)1)

/* ------------------------------------------------------------ object ops */

static void iommufd_ioas_destroy_(struct iommufd_object *obj)
{
	iommufd_ioas_destroy(obj);
}

static const struct iommufd_object_ops iommufd_object_ops[IOMMUFD_OBJ_MAX] = {
	[IOMMUFD_OBJ_IOAS] = { .destroy = iommufd_ioas_destroy_ },
	[IOMMUFD_OBJ_ACCESS] = { .destroy = iommufd_access_destroy_object },
	[IOMMUFD_OBJ_DEVICE] = { .destroy = iommufd_device_destroy },
	[IOMMUFD_OBJ_HWPT_PAGING] = { .destroy = iommufd_hwpt_paging_destroy,
				      .abort = iommufd_hwpt_paging_abort },
	[IOMMUFD_OBJ_SELFTEST] = { .destroy = iommufd_selftest_destroy },
};

static void obj_destroy_and_free(struct iommufd_object *obj)
{
	const struct iommufd_object_ops *ops = &iommufd_object_ops[obj->type];

	if (ops->destroy)
		ops->destroy(obj);
	fault_free(obj);
}

/* ---------------------------------------------------------- object table */

struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx, size_t size,
					     enum iommufd_object_type type, int *err)
{
	struct iommufd_object *obj;
	uint32_t id;

	obj = fault_zalloc(ictx->fc, "iommufd.object", size);
	if (!obj) {
		*err = -ENOMEM;
		return NULL;
	}
	obj->type = type;
	obj->users = 1;

	pthread_mutex_lock(&ictx->objects_lock);
	for (id = 1; id < ictx->objects_cap; id++)
		if (!ictx->objects[id])
			break;
	if (id >= ictx->objects_cap) {
		uint32_t ncap = ictx->objects_cap ? ictx->objects_cap * 2 : 64;
		struct iommufd_object **n;

		/* ids are 31 bits, as the kernel's xa_limit_31b */
		if (ncap > (1u << 31)) {
			pthread_mutex_unlock(&ictx->objects_lock);
			fault_free(obj);
			*err = -ENOSPC;
			return NULL;
		}
		n = fault_realloc(ictx->fc, "iommufd.object_table", ictx->objects,
				  ncap * sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&ictx->objects_lock);
			fault_free(obj);
			*err = -ENOMEM;
			return NULL;
		}
		memset(n + ictx->objects_cap, 0, (ncap - ictx->objects_cap) * sizeof(*n));
		ictx->objects = n;
		id = ictx->objects_cap ? ictx->objects_cap : 1;
		ictx->objects_cap = ncap;
	}
	ictx->objects[id] = RESERVED_OBJ;
	ictx->objects_count++;
	obj->id = id;
	pthread_mutex_unlock(&ictx->objects_lock);
	return obj;
}

void iommufd_object_finalize(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	pthread_mutex_lock(&ictx->objects_lock);
	assert(ictx->objects[obj->id] == RESERVED_OBJ);
	ictx->objects[obj->id] = obj;
	pthread_mutex_unlock(&ictx->objects_lock);
}

void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	pthread_mutex_lock(&ictx->objects_lock);
	if (ictx->objects[obj->id] == RESERVED_OBJ) {
		ictx->objects[obj->id] = NULL;
		ictx->objects_count--;
	}
	pthread_mutex_unlock(&ictx->objects_lock);
	fault_free(obj);
}

void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	const struct iommufd_object_ops *ops = &iommufd_object_ops[obj->type];

	if (ops->abort)
		ops->abort(obj);
	else if (ops->destroy)
		ops->destroy(obj);
	iommufd_object_abort(ictx, obj);
}

struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj = NULL;

	pthread_mutex_lock(&ictx->objects_lock);
	if (id && id < ictx->objects_cap) {
		obj = ictx->objects[id];
		if (obj == RESERVED_OBJ || (obj && type != IOMMUFD_OBJ_ANY && obj->type != type) ||
		    (obj && __atomic_load_n(&obj->users, __ATOMIC_RELAXED) == 0))
			obj = NULL;
	}
	if (obj) {
		__atomic_add_fetch(&obj->users, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&obj->shortterm, 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&ictx->objects_lock);
	return obj;
}

void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	__atomic_sub_fetch(&obj->users, 1, __ATOMIC_RELEASE);
	if (__atomic_sub_fetch(&obj->shortterm, 1, __ATOMIC_ACQ_REL) == 0) {
		/* a destroyer may be waiting for the short-term count to drain */
		pthread_mutex_lock(&ictx->objects_lock);
		pthread_cond_broadcast(&ictx->destroy_wait);
		pthread_mutex_unlock(&ictx->objects_lock);
	}
}

static void wait_shortterm_locked(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	while (__atomic_load_n(&obj->shortterm, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&ictx->destroy_wait, &ictx->objects_lock);
}

int iommufd_object_remove(struct iommufd_ctx *ictx, struct iommufd_object *to_destroy, uint32_t id,
			  unsigned int flags)
{
	struct iommufd_object *obj;
	int rc;

	pthread_mutex_lock(&ictx->objects_lock);
	if (to_destroy) {
		obj = to_destroy;
		/*
		 * The caller's users reference keeps a user's IOMMU_DESTROY at
		 * EBUSY (and the object alive) while we wait for the lookups in
		 * flight. Once they are gone nobody can start another one (that
		 * takes this lock), so putting the reference and checking users
		 * below are one step.
		 */
		if (flags & IOMMUFD_REMOVE_WAIT_SHORTTERM)
			wait_shortterm_locked(ictx, obj);
		__atomic_sub_fetch(&obj->users, 1, __ATOMIC_RELEASE);
		if (id != obj->id || ictx->objects[id] != obj) {
			rc = -ENOENT; /* a bug in the caller */
			goto out_unlock;
		}
	} else {
		obj = (id && id < ictx->objects_cap) ? ictx->objects[id] : NULL;
		if (!obj || obj == RESERVED_OBJ) {
			rc = -ENOENT;
			goto out_unlock;
		}
	}
	if (__atomic_load_n(&obj->users, __ATOMIC_ACQUIRE) != 1) {
		rc = -EBUSY;
		goto out_unlock;
	}
	obj->users = 0;
	ictx->objects[id] = NULL;
	ictx->objects_count--;
	if (ictx->vfio_ioas && &ictx->vfio_ioas->obj == obj)
		ictx->vfio_ioas = NULL;
	/* users == 0: no new lookup can succeed; drain any racing put */
	wait_shortterm_locked(ictx, obj);
	pthread_mutex_unlock(&ictx->objects_lock);

	obj_destroy_and_free(obj);
	return 0;

out_unlock:
	pthread_mutex_unlock(&ictx->objects_lock);
	return rc;
}

void iommufd_object_destroy_user(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	/*
	 * The caller owns the object (it was created for an in-kernel user)
	 * and gives its reference up here, so only short-term lookups can be
	 * in flight: wait for them, then destroy. Anything else still holding
	 * it is a bug in the simulator.
	 */
	if (iommufd_object_remove(ictx, obj, obj->id, IOMMUFD_REMOVE_WAIT_SHORTTERM))
		__builtin_trap();
}

/* ------------------------------------------------------------ ucmd */

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len)
{
	memcpy(ucmd->ubuffer, ucmd->cmd, min_t(size_t, ucmd->user_size, cmd_len));
	return 0;
}

static bool bad_uptr(uint64_t uptr, size_t len)
{
	uint64_t end;

	/* the lowest page is never mapped, and the range must not wrap */
	return uptr < 4096 || check_add_overflow(uptr, (uint64_t)len, &end);
}

int iommufd_copy_from_user(void *dst, uint64_t uptr, size_t len)
{
	if (!len)
		return 0;
	if (bad_uptr(uptr, len))
		return -EFAULT;
	memcpy(dst, (const void *)(uintptr_t)uptr, len);
	return 0;
}

int iommufd_copy_to_user(uint64_t uptr, const void *src, size_t len)
{
	if (!len)
		return 0;
	if (bad_uptr(uptr, len))
		return -EFAULT;
	memcpy((void *)(uintptr_t)uptr, src, len);
	return 0;
}

/* ------------------------------------------------------------ commands */

static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_remove(ucmd->ictx, NULL, cmd->id, 0);
}

static int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	int rc;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = iommufd_option_rlimit_mode(ucmd);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = iommufd_ioas_option(ucmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	/* only val64 is written back, as the kernel does */
	memcpy((char *)ucmd->ubuffer + offsetof(struct iommu_option, val64), &cmd->val64,
	       sizeof(cmd->val64));
	return 0;
}

int iommufd_option_rlimit_mode(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	int rc = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->account_mode == IOPT_PAGES_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (!ictx->privileged)
		return -EPERM;
	pthread_mutex_lock(&ictx->objects_lock);
	/* the mode can only change while the context holds no object */
	if (ictx->objects_count)
		rc = -EBUSY;
	else if (cmd->val64 == 0)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	else if (cmd->val64 == 1)
		ictx->account_mode = IOPT_PAGES_ACCOUNT_MM;
	else
		rc = -EINVAL;
	pthread_mutex_unlock(&ictx->objects_lock);
	return rc;
}

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		pthread_mutex_lock(&ictx->objects_lock);
		ioas = ictx->vfio_ioas;
		if (ioas)
			cmd->ioas_id = ioas->obj.id;
		pthread_mutex_unlock(&ictx->objects_lock);
		if (!ioas)
			return -ENODEV;
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
		if (!ioas)
			return -ENOENT;
		pthread_mutex_lock(&ictx->objects_lock);
		ictx->vfio_ioas = ioas;
		pthread_mutex_unlock(&ictx->objects_lock);
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		pthread_mutex_lock(&ictx->objects_lock);
		ictx->vfio_ioas = NULL;
		pthread_mutex_unlock(&ictx->objects_lock);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

union ucmd_buffer {
	struct iommu_destroy destroy;
	struct iommu_ioas_alloc alloc;
	struct iommu_ioas_allow_iovas allow_iovas;
	struct iommu_ioas_copy ioas_copy;
	struct iommu_ioas_iova_ranges iova_ranges;
	struct iommu_ioas_map map;
	struct iommu_ioas_map_file map_file;
	struct iommu_ioas_unmap unmap;
	struct iommu_option option;
	struct iommu_vfio_ioas vfio_ioas;
	struct iommu_hwpt_alloc hwpt;
	struct iommu_hw_info info;
	struct iommu_test_cmd test;
	uint64_t align;
};

struct iommufd_ioctl_op {
	unsigned long ioctl_num;
	int (*execute)(struct iommufd_ucmd *ucmd);
	uint32_t size;
	uint32_t min_size;
};

#define offsetofend(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
#define IOCTL_OP(num, fn, type, last)                \
	[((num)&0xff) - IOMMUFD_CMD_BASE] = {        \
		.ioctl_num = (num),                  \
		.execute = (fn),                     \
		.size = sizeof(type),                \
		.min_size = offsetofend(type, last), \
	}

static const struct iommufd_ioctl_op iommufd_ioctl_ops[] = {
	IOCTL_OP(IOMMU_DESTROY, iommufd_destroy, struct iommu_destroy, id),
	IOCTL_OP(IOMMU_GET_HW_INFO, iommufd_get_hw_info, struct iommu_hw_info, __reserved),
	IOCTL_OP(IOMMU_HWPT_ALLOC, iommufd_hwpt_alloc, struct iommu_hwpt_alloc, __reserved),
	IOCTL_OP(IOMMU_IOAS_ALLOC, iommufd_ioas_alloc_ioctl, struct iommu_ioas_alloc, out_ioas_id),
	IOCTL_OP(IOMMU_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas, struct iommu_ioas_allow_iovas,
		 allowed_iovas),
	IOCTL_OP(IOMMU_IOAS_COPY, iommufd_ioas_copy, struct iommu_ioas_copy, src_iova),
	IOCTL_OP(IOMMU_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges, struct iommu_ioas_iova_ranges,
		 out_iova_alignment),
	IOCTL_OP(IOMMU_IOAS_MAP, iommufd_ioas_map, struct iommu_ioas_map, iova),
	IOCTL_OP(IOMMU_IOAS_MAP_FILE, iommufd_ioas_map_file, struct iommu_ioas_map_file, iova),
	IOCTL_OP(IOMMU_IOAS_UNMAP, iommufd_ioas_unmap, struct iommu_ioas_unmap, length),
	IOCTL_OP(IOMMU_OPTION, iommufd_option, struct iommu_option, val64),
	IOCTL_OP(IOMMU_VFIO_IOAS, iommufd_vfio_ioas, struct iommu_vfio_ioas, __reserved),
	IOCTL_OP(IOMMU_TEST_CMD, iommufd_test, struct iommu_test_cmd, last),
};

/* copy_struct_from_user(): zero-extend a short struct, reject non-zero tails. */
static int copy_struct(void *dst, size_t ksize, const void *src, size_t usize)
{
	if (usize < ksize) {
		memcpy(dst, src, usize);
		memset((char *)dst + usize, 0, ksize - usize);
		return 0;
	}
	for (size_t i = ksize; i < usize; i++)
		if (((const unsigned char *)src)[i])
			return -E2BIG;
	memcpy(dst, src, ksize);
	return 0;
}

static int iommufd_ioctl_rc(struct iommufd_ctx *ictx, unsigned long cmd, void *arg)
{
	const struct iommufd_ioctl_op *op;
	struct iommufd_ucmd ucmd;
	union ucmd_buffer buf;
	unsigned int nr = cmd & 0xff;
	int rc;

	if (nr < IOMMUFD_CMD_BASE || nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ioctl_ops))
		return -ENOTTY;
	op = &iommufd_ioctl_ops[nr - IOMMUFD_CMD_BASE];
	if (!op->execute || op->ioctl_num != cmd)
		return -ENOTTY;
	if (bad_uptr((uintptr_t)arg, sizeof(uint32_t)))
		return -EFAULT;

	ucmd.ictx = ictx;
	ucmd.ubuffer = arg;
	memcpy(&ucmd.user_size, arg, sizeof(ucmd.user_size));
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	ucmd.cmd = &buf;
	rc = copy_struct(&buf, op->size, arg, ucmd.user_size);
	if (rc)
		return rc;
	return op->execute(&ucmd);
}

int iommufd_ioctl(struct iommufd_ctx *ictx, unsigned long cmd, void *arg)
{
	int rc;

	/*
	 * VFIO container commands share the ';' type below iommufd's base, and
	 * /dev/iommu answers them through the type1 compatibility layer, as
	 * the kernel's iommufd does.
	 */
	if ((cmd & 0xff) < IOMMUFD_CMD_BASE)
		return iommufd_vfio_ioctl(ictx, cmd, arg);
	rc = iommufd_ioctl_rc(ictx, cmd, arg);

	TRACE(ictx->tc, iommufd_ioctl, cmd, cmd & 0xff, (uint64_t)(int64_t)rc);
	if (rc) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ context */

int iommufd_ctx_open(struct mach_proc *p, struct iommufd_ctx **out)
{
	struct mach *m = mach_proc_machine(p);
	struct fault_ctx *fc = mach_fault(m);
	struct iommufd_ctx *ictx;

	ictx = fault_zalloc(fc, "iommufd.ctx", sizeof(*ictx));
	if (!ictx)
		return -ENOMEM;
	ictx->mach = m;
	ictx->proc = p;
	ictx->fc = fc;
	ictx->tc = mach_trace(m);
	pthread_mutex_init(&ictx->objects_lock, NULL);
	pthread_cond_init(&ictx->destroy_wait, NULL);
	ictx->account_mode = IOPT_PAGES_ACCOUNT_USER;
	ictx->privileged = true;
	ictx->temp_memory_limit = IOMMUFD_DEFAULT_TEMP_MEMORY_LIMIT;
	*out = ictx;
	return 0;
}

void iommufd_ctx_close(struct iommufd_ctx *ictx)
{
	/*
	 * Destroy leaves first: an object another one holds has users > 1 and
	 * waits for a later pass. Every pass destroys at least one object
	 * unless the graph has a cycle, which would be a bug.
	 */
	while (ictx->objects_count) {
		unsigned int destroyed = 0;

		for (uint32_t id = 1; id < ictx->objects_cap; id++) {
			struct iommufd_object *obj = ictx->objects[id];

			if (!obj || obj == RESERVED_OBJ || obj->users != 1)
				continue;
			obj->users = 0;
			ictx->objects[id] = NULL;
			ictx->objects_count--;
			obj_destroy_and_free(obj);
			destroyed++;
		}
		if (!destroyed)
			break;
	}
	for (uint32_t i = 0; i < ictx->nfiles; i++)
		if (ictx->files[i])
			mach_file_put(ictx->files[i]);
	fault_free(ictx->files);
	fault_free(ictx->objects);
	pthread_cond_destroy(&ictx->destroy_wait);
	pthread_mutex_destroy(&ictx->objects_lock);
	fault_free(ictx);
}

void iommufd_ctx_set_privileged(struct iommufd_ctx *ictx, bool privileged)
{
	ictx->privileged = privileged;
}

void iommufd_set_temp_memory_limit(struct iommufd_ctx *ictx, size_t bytes)
{
	if (!bytes)
		bytes = IOMMUFD_DEFAULT_TEMP_MEMORY_LIMIT;
	__atomic_store_n(&ictx->temp_memory_limit, bytes, __ATOMIC_RELAXED);
}

void iommufd_ctx_set_temp_memory_limit(struct iommufd_ctx *ictx, size_t bytes)
{
	iommufd_set_temp_memory_limit(ictx, bytes);
}

int iommufd_ctx_install_file(struct iommufd_ctx *ictx, struct mach_file *f)
{
	struct mach_file **n;
	int fd;

	pthread_mutex_lock(&ictx->objects_lock);
	/* fds 0-2 are the standard streams, as in a real process */
	n = fault_realloc(ictx->fc, "iommufd.files", ictx->files,
			  (ictx->nfiles ? ictx->nfiles + 1 : 4) * sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&ictx->objects_lock);
		return -ENOMEM;
	}
	ictx->files = n;
	if (!ictx->nfiles) {
		n[0] = n[1] = n[2] = NULL;
		ictx->nfiles = 3;
	}
	fd = (int)ictx->nfiles++;
	mach_file_get(f);
	n[fd] = f;
	pthread_mutex_unlock(&ictx->objects_lock);
	return fd;
}
