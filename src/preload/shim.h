/* SPDX-License-Identifier: MIT */
/*
 * Internals of libiommusim-preload.so, the LD_PRELOAD shim that serves
 * /dev/iommu and /dev/vfio/vfio from the simulator inside the calling
 * process. Three parts:
 *
 *   config.c   IOMMUSIM_CONFIG parsing (file or inline key=value text);
 *   hostmem.c  keeping the simulated process's address space in step with
 *              the real one (host-backed memory, on demand);
 *   preload.c  the process-wide simulator, the fd table and the
 *              interposed libc entry points.
 *
 * Nothing here prints except config errors, which go to stderr because
 * the open that triggered them must fail "with a clear message".
 */
#ifndef IOMMUSIM_PRELOAD_SHIM_H
#define IOMMUSIM_PRELOAD_SHIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mach_proc;

/* ------------------------------------------------------------- config */

enum shim_cap_ipc_lock {
	SHIM_CAP_OFF = 0, /* never: RLIMIT_MEMLOCK always applies (default) */
	SHIM_CAP_ON = 1, /* always */
	SHIM_CAP_HOST = 2, /* whatever the real process has */
};

struct shim_config {
	uint64_t mem_size; /* bytes of simulated RAM; 0 = the machine's default */
	bool dataless; /* MACH_BACKING_DATALESS */
	uint64_t seed;
	uint32_t dma_entry_limit; /* VFIO type1 mapping limit; 0 = off */
	enum shim_cap_ipc_lock cap_ipc_lock;
	bool privileged; /* CAP_SYS_RESOURCE of each context (default true) */
	char trace_events[256]; /* pattern for IOMMUSIM_TRACE (default "*") */
};

/*
 * Fill @cfg from @text (NULL or empty: defaults). @text is either inline
 * "key=value" pairs separated by spaces, newlines or ';', or the path of a
 * file holding them ('#' starts a comment). On error returns -EINVAL (or
 * -errno of reading the file) and writes a one-line reason into @err.
 */
int shim_config_parse(const char *text, struct shim_config *cfg, char *err, size_t errlen);

/* ------------------------------------------------------------ hostmem */

/*
 * The simulated process mirrors the real one lazily: before an ioctl that
 * reads user memory, the range is compared with /proc/self/maps and the
 * simulated process is brought in step (mach_mmap_host for newly mapped
 * parts, mach_mprotect where the protection changed, mach_munmap where the
 * real process no longer has memory). What was told to the simulator is
 * remembered here so unchanged parts are left alone, keeping the host
 * frames (and their pin counts) of pages already faulted in.
 */
struct shim_range {
	uint64_t start, end; /* page aligned, end exclusive */
	unsigned prot; /* MACH_PROT_* (never NONE: unmapped is absent) */
};

struct shim_hostmem {
	pthread_mutex_t lock; /* the array and every sync */
	struct shim_range *r; /* sorted, disjoint */
	size_t nr, cap;
};

void shim_hostmem_init(struct shim_hostmem *hm);
void shim_hostmem_fini(struct shim_hostmem *hm);
/*
 * Bring [va, va + len) of @p in step with the real address space. Errors
 * are not reported: a range the real process does not map is simply left
 * unmapped in the simulator, whose pin then fails with EFAULT (or EPERM
 * for a write pin of read-only memory) in the order the kernel checks.
 */
void shim_hostmem_sync(struct shim_hostmem *hm, struct mach_proc *p, uint64_t va, uint64_t len);

#endif /* IOMMUSIM_PRELOAD_SHIM_H */
