/* SPDX-License-Identifier: MIT */
/*
 * The iommufd context: what opening /dev/iommu gives a process, and the
 * ioctl entry point, plus the in-kernel access API emulated devices use.
 *
 * iommufd_ioctl() behaves like the syscall: 0 on success, -1 with errno set
 * on failure; the argument struct is the command's struct from
 * <iommusim/iommufd.h>, read and written through @arg. Pointers nested in an
 * argument (allowed_iovas, data_uptr, ...) are the caller's own host
 * pointers; user_va fields are addresses in the simulated process's address
 * space (a host-backed process makes the two the same).
 *
 * Threads: every call may run concurrently on one context, except
 * iommufd_ctx_close(), which must be the last.
 */
#ifndef IOMMUSIM_IOMMUFD_CTX_H
#define IOMMUSIM_IOMMUFD_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mach_proc;
struct iommufd_ctx;
struct iommufd_access;

/* Open a context for @p (which must outlive it). Returns 0 or a negative errno. */
int iommufd_ctx_open(struct mach_proc *p, struct iommufd_ctx **out);
/* Close: destroys every object, leaves first. Never fails. */
void iommufd_ctx_close(struct iommufd_ctx *ictx);
/* The ioctl: 0, or -1 with errno set. */
int iommufd_ioctl(struct iommufd_ctx *ictx, unsigned long cmd, void *arg);

/*
 * The context's privilege (CAP_SYS_RESOURCE, needed to set
 * IOMMU_OPTION_RLIMIT_MODE). Default true, as the kernel selftests run as
 * root. Memory-lock privilege is the process's CAP_IPC_LOCK
 * (mach_proc_set_cap_ipc_lock), read when pages are mapped.
 */
void iommufd_ctx_set_privileged(struct iommufd_ctx *ictx, bool privileged);
/* Temporary-memory cap for pinning batches; 0 restores the default 64 KiB. */
void iommufd_ctx_set_temp_memory_limit(struct iommufd_ctx *ictx, size_t bytes);

/*
 * Give the context's process an fd for @f (for IOMMU_IOAS_MAP_FILE's fd
 * field; the machine has no fd table of its own yet). Takes a reference.
 * Returns the fd (>= 0) or a negative errno.
 */
struct mach_file;
int iommufd_ctx_install_file(struct iommufd_ctx *ictx, struct mach_file *f);

/* ------------------------------------------------------- access API */

/* rw / pin flags, as the kernel's IOMMUFD_ACCESS_RW_* */
#define IOMMUFD_ACCESS_RW_READ 0u
#define IOMMUFD_ACCESS_RW_WRITE (1u << 0)
#define IOMMUFD_ACCESS_RW_KTHREAD (1u << 1)

struct iommufd_access_ops {
	/* Set when the access pins pages (the kernel's needs_pin_pages). */
	bool needs_pin_pages;
	/*
	 * The user is unmapping [iova, iova + length): the access must unpin
	 * every page it pinned there (iommufd_access_unpin_pages) before
	 * returning. Called with no iommufd lock held; may be called for a
	 * range the access does not use.
	 */
	void (*unmap)(void *data, uint64_t iova, uint64_t length);
};

/*
 * Create an access on IOAS @ioas_id. Returns the access, or NULL with errno
 * set (ENOENT: no such IOAS; ENOMEM). @out_id (may be NULL) gets the object
 * id, which the selftest reports to the user.
 */
struct iommufd_access *iommufd_access_create(struct iommufd_ctx *ictx, uint32_t ioas_id,
					     const struct iommufd_access_ops *ops, void *data,
					     uint32_t *out_id);
/* Destroy; the access must have unpinned everything. Never fails. */
void iommufd_access_destroy(struct iommufd_access *access);
/* Move the access to another IOAS; everything must be unpinned. 0 or -errno. */
int iommufd_access_replace_ioas(struct iommufd_access *access, uint32_t ioas_id);
/*
 * Pin [iova, iova + length) and return one pfn per 4 KiB page touched in
 * @out_pfns. IOMMUFD_ACCESS_RW_WRITE asks for a writable pin. 0 or -errno:
 * -ENOENT not fully mapped, -EPERM write pin of a read-only mapping,
 * -EINVAL bad range / alignment, -EFAULT / -ENOMEM from pinning.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, uint64_t iova, uint64_t length,
			     uint64_t *out_pfns, unsigned int flags);
void iommufd_access_unpin_pages(struct iommufd_access *access, uint64_t iova, uint64_t length);
/* Read or write (IOMMUFD_ACCESS_RW_WRITE) through the IOAS. 0 or -errno. */
int iommufd_access_rw(struct iommufd_access *access, uint64_t iova, void *data, size_t len,
		      unsigned int flags);

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_IOMMUFD_CTX_H */
