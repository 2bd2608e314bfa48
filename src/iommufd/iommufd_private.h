/* SPDX-License-Identifier: MIT */
/*
 * iommufd internals shared by every file of src/iommufd/: the context, the
 * object model, the ioctl command buffer, the IOAS and the access object,
 * and the hand-off points between the two halves of the core:
 *
 *   main.c ioas.c io_pagetable.[ch] pages.c access.c   (object model, IOAS,
 *                                                        io_pagetable, pages,
 *                                                        accounting, access API)
 *   device.c hw_pagetable.c selftest.c                   (devices, HWPT_ALLOC,
 *                                                        GET_HW_INFO, TEST_CMD)
 *
 * COORDINATION NOTE for device.c / hw_pagetable.c / selftest.c: the structs
 * of the device and HWPT objects are yours; keep them in your own header
 * (for example src/iommufd/device.h) and embed struct iommufd_object as the
 * FIRST member named `obj` so container_of works. Everything you need from
 * this side is declared below: object alloc/finalize/abort/get/put, the
 * ucmd helpers, iommufd_get_ioas(), the iopt_table_* and iopt_*reserved*
 * calls of io_pagetable.h, the access API (iommufd_ctx.h + below) and the
 * temporary-memory setter for IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT. The ops
 * table in main.c calls iommufd_device_destroy, iommufd_hwpt_paging_destroy,
 * iommufd_hwpt_paging_abort and iommufd_selftest_destroy; the dispatch table
 * calls iommufd_hwpt_alloc, iommufd_get_hw_info and iommufd_test.
 *
 * Object model (the kernel's, in user mode)
 *   Every object starts with struct iommufd_object and lives in the context's
 *   id table. Ids come from 1 upwards, lowest free first (ids are reused, as
 *   with the kernel's xa_alloc). Creation is two-phase: iommufd_object_alloc()
 *   reserves the id (lookups of a reserved id fail with ENOENT), then
 *   iommufd_object_finalize() publishes it once nothing can fail, or
 *   iommufd_object_abort() / iommufd_object_abort_and_destroy() gives it up.
 *
 *   Two counts, as the kernel:
 *     users      1 for the table itself + 1 per holder (another object that
 *                depends on it, or a short-term lookup). IOMMU_DESTROY needs
 *                users == 1, otherwise EBUSY.
 *     shortterm  lookups in flight (iommufd_get_object() until
 *                iommufd_put_object()). An owner's destroy, which must not
 *                fail (iommufd_object_destroy_user()), waits for it to
 *                drain while still holding the owner's users reference (a
 *                racing IOMMU_DESTROY answers EBUSY), then puts that
 *                reference and removes the object in one step under
 *                objects_lock.
 *   Lookups take objects_lock, so a lookup racing a destroy either sees the
 *   object with a reference taken, or does not see it: the "RCU or
 *   equivalent" is this lock. The lock is held only for the table access;
 *   nothing slow runs under it.
 *
 * Locking order (outermost first), whole core:
 *     ioas->mutex (hwpt list) → iopt.domains_rwsem → iopt.iova_rwsem →
 *     pages->mutex → access->ioas_lock is never held across the above.
 *   objects_lock is a leaf (never held while taking another lock, except the
 *   trivial condvar wait). The access ops->unmap callback is called with no
 *   io_pagetable lock held.
 */
#ifndef IOMMUSIM_IOMMUFD_PRIVATE_H
#define IOMMUSIM_IOMMUFD_PRIVATE_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/iommufd_ctx.h>
#include <iommusim/machine.h>
#include <iommusim/trace.h>

#include "iommu/iommu.h"
#include "iommufd/io_pagetable.h"
#include "lib/list.h"
#include "lib/util.h"

struct iommufd_ctx;
struct iommufd_object;
struct iommufd_ioas;
struct iommufd_access;
struct iommufd_device;

/* ------------------------------------------------------------- objects */

enum iommufd_object_type {
	IOMMUFD_OBJ_NONE = 0,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_FAULT,
	IOMMUFD_OBJ_VIOMMU,
	IOMMUFD_OBJ_VDEVICE,
	IOMMUFD_OBJ_SELFTEST,
	IOMMUFD_OBJ_MAX,
};

struct iommufd_object {
	uint32_t id;
	enum iommufd_object_type type;
	unsigned int users; /* atomic: table ref + holders */
	unsigned int shortterm; /* atomic: lookups in flight */
};

struct iommufd_object_ops {
	/* Tear down a finalized object; never fails. The memory is freed by the caller. */
	void (*destroy)(struct iommufd_object *obj);
	/* Undo a not-yet-finalized object (NULL: destroy is used). */
	void (*abort)(struct iommufd_object *obj);
};

/* The account modes of iopt_pages and of IOMMU_OPTION_RLIMIT_MODE. */
enum iopt_account_mode {
	IOPT_PAGES_ACCOUNT_NONE = 0,
	IOPT_PAGES_ACCOUNT_USER = 1,
	IOPT_PAGES_ACCOUNT_MM = 2,
};

#define IOMMUFD_DEFAULT_TEMP_MEMORY_LIMIT (64u * 1024u)

struct iommufd_ctx {
	struct mach *mach;
	struct mach_proc *proc;
	struct fault_ctx *fc;
	struct trace_ctx *tc;

	pthread_mutex_t objects_lock;
	pthread_cond_t destroy_wait; /* signalled when a shortterm count drops to 0 */
	struct iommufd_object **objects; /* index = id; NULL free, RESERVED_OBJ reserved */
	uint32_t objects_cap;
	uint32_t objects_count; /* published + reserved */

	enum iopt_account_mode account_mode; /* USER or MM (RLIMIT_MODE option) */
	bool privileged; /* stands for CAP_SYS_RESOURCE */
	struct iommufd_ioas *vfio_ioas; /* IOMMU_VFIO_IOAS, under objects_lock */
	size_t temp_memory_limit; /* batch cap in bytes, atomic */

	/* fds for IOMMU_IOAS_MAP_FILE (iommufd_ctx_install_file), under objects_lock */
	struct mach_file **files;
	uint32_t nfiles;

	/* Used by selftest.c (IOMMU_TEST_OP_*): free for H5's use. */
	void *selftest_priv;
};

/* Reserve an id and allocate @size bytes (zeroed) whose first member is the object. */
struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx, size_t size,
					     enum iommufd_object_type type, int *err);
/* Convenience: `hwpt = iommufd_object_alloc(ictx, hwpt, IOMMUFD_OBJ_HWPT_PAGING, &rc)`. */
#define iommufd_object_alloc(ictx, ptr, type, errp) \
	((__typeof__(ptr))_iommufd_object_alloc(ictx, sizeof(*(ptr)), type, errp))
/* Publish: the id becomes visible to lookups. Cannot fail. */
void iommufd_object_finalize(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/* Release the id and free the memory; the object was never published or set up. */
void iommufd_object_abort(struct iommufd_ctx *ictx, struct iommufd_object *obj);
/* Run ops->abort (or ->destroy) on a half-built object, then abort it. */
void iommufd_object_abort_and_destroy(struct iommufd_ctx *ictx, struct iommufd_object *obj);

/* Short-term lookup; NULL with *err = -ENOENT when absent, reserved or of another type. */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, uint32_t id,
					  enum iommufd_object_type type);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);

/* Long-term reference held by another object (keeps IOMMU_DESTROY at EBUSY). */
static inline void iommufd_ref_object(struct iommufd_object *obj)
{
	__atomic_add_fetch(&obj->users, 1, __ATOMIC_RELAXED);
}
static inline void iommufd_unref_object(struct iommufd_object *obj)
{
	__atomic_sub_fetch(&obj->users, 1, __ATOMIC_RELEASE);
}

/*
 * Remove @id (or @to_destroy) from the table and destroy it. Fails with
 * -ENOENT (absent) or -EBUSY (users > 1). With @to_destroy the caller holds
 * a users reference on it (iommufd_ref_object()); it is given up here,
 * under objects_lock, whatever the outcome, so a failed call leaves the
 * object to its other holders (the kernel's put-and-try-destroy). With
 * IOMMUFD_REMOVE_WAIT_SHORTTERM (only with @to_destroy) the call first
 * waits for every short-term holder while that reference still makes a
 * user's IOMMU_DESTROY answer EBUSY.
 */
#define IOMMUFD_REMOVE_WAIT_SHORTTERM (1u << 0)
int iommufd_object_remove(struct iommufd_ctx *ictx, struct iommufd_object *to_destroy, uint32_t id,
			  unsigned int flags);
/*
 * Destroy an object the kernel side owns (e.g. an access), giving up the
 * owner's users reference; waits for short-term holders, never fails.
 */
void iommufd_object_destroy_user(struct iommufd_ctx *ictx, struct iommufd_object *obj);

/* ----------------------------------------------------------- ucmd */

struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void *ubuffer; /* the caller's argument (host pointer) */
	uint32_t user_size; /* its size field */
	void *cmd; /* kernel copy, at least as large as the command's struct */
};

/* Copy the first @cmd_len bytes of ucmd->cmd back to the caller (clipped to user_size). */
int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len);

/*
 * Nested user pointers (allowed_iovas, data_uptr, ...) are the caller's host
 * pointers. A NULL (or near-NULL) pointer with a non-zero length is -EFAULT,
 * as copy_from_user of an unmapped address would be.
 */
int iommufd_copy_from_user(void *dst, uint64_t uptr, size_t len);
int iommufd_copy_to_user(uint64_t uptr, const void *src, size_t len);

/* ------------------------------------------------- handlers (H5's side) */

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
int iommufd_test(struct iommufd_ucmd *ucmd);

void iommufd_device_destroy(struct iommufd_object *obj);
void iommufd_hwpt_paging_destroy(struct iommufd_object *obj);
void iommufd_hwpt_paging_abort(struct iommufd_object *obj);
void iommufd_selftest_destroy(struct iommufd_object *obj);

/* ------------------------------------------------------------- IOAS */

struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	pthread_mutex_t mutex; /* protects hwpt_list (H5: hold it while attaching) */
	struct list_head hwpt_list; /* H5's HWPT objects built on this IOAS */
};

/* Short-term lookup of an IOAS: NULL when @id is not an IOAS. Put with iommufd_put_object(). */
struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx, uint32_t id);

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
void iommufd_ioas_destroy(struct iommufd_object *obj);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_option(struct iommufd_ucmd *ucmd);
int iommufd_option_rlimit_mode(struct iommufd_ucmd *ucmd);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);

/* --------------------------------------------------------- accesses */

struct iommufd_access {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_ioas *ioas; /* under ioas_lock */
	struct iommufd_ioas *ioas_unpin; /* the IOAS pins were taken from, under ioas_lock */
	pthread_mutex_t ioas_lock;
	const struct iommufd_access_ops *ops;
	void *data;
	uint64_t iova_alignment;
	uint64_t iopt_access_id; /* position in the IOAS's access list (increasing) */
	struct list_head iopt_node; /* in ioas->iopt.access_list, under iopt.access_lock */
};

void iommufd_access_destroy_object(struct iommufd_object *obj);
/* Call ops->unmap for every access of @iopt (no iopt lock held). */
void iommufd_access_notify_unmap(struct io_pagetable *iopt, uint64_t iova, uint64_t length);

/* Temporary-memory cap (IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT; 0 restores the default). */
void iommufd_set_temp_memory_limit(struct iommufd_ctx *ictx, size_t bytes);

#endif /* IOMMUSIM_IOMMUFD_PRIVATE_H */
