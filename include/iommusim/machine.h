/* SPDX-License-Identifier: MIT */
/*
 * The simulated machine: physical memory, users and processes with address
 * spaces, long-term pinning, locked_vm / pinned_vm accounting, a simulated
 * clock. Everything lives inside a struct mach; two machines in one process
 * share nothing.
 *
 * Units: addresses and lengths in bytes, page counts in 4 KiB pages, time in
 * simulated nanoseconds. Functions return 0 (or a count) on success and a
 * negative errno on failure, as the kernel does; nothing prints.
 *
 * Physical memory
 *   [0, mem_size) is the machine's RAM, 4 KiB frames with metadata
 *   (refcount, pin count, flags). Pfn 0 is never handed out, so 0 can mean
 *   "no page". The backing is chosen at creation:
 *     MACH_BACKING_OWNED     the simulator owns the bytes (reserved lazily,
 *                            so a large machine costs only what is touched);
 *     MACH_BACKING_DATALESS  no bytes at all, for scale studies: reads give
 *                            zeros, writes are dropped (a 1 TiB machine is
 *                            fine on a small host).
 *   Host-backed frames are a third kind: mach_mmap_host() maps the caller's
 *   own memory into a process; faulting it in gives frames in a separate
 *   physical window above RAM whose bytes *are* the caller's pages, so DMA
 *   lands in the caller's buffer.
 *
 * Pinning (pin_user_pages with FOLL_LONGTERM semantics)
 *   A pin takes a reference and a pin count on each frame. A pinned frame
 *   outlives munmap of its region, truncation of its file and destruction of
 *   its process, until it is unpinned. A write pin of memory mapped without
 *   MACH_PROT_WRITE fails with -EPERM; an unmapped address with -EFAULT.
 *
 * Accounting
 *   Each user has locked_vm; each process has locked_vm and pinned_vm
 *   (pages). The charge functions take the limit to check against, so the
 *   caller chooses the policy (iommufd's USER and MM modes); over the limit
 *   gives -ENOMEM and changes nothing.
 *
 * Threads: every function may be called from many threads at once on the
 * same machine (each file under src/machine/ states its locking rules),
 * except mach_destroy(), which must be the last call.
 */
#ifndef IOMMUSIM_MACHINE_H
#define IOMMUSIM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fault_ctx;
struct trace_ctx;
struct mach;
struct mach_user;
struct mach_proc;
struct mach_file;

#define MACH_PAGE_SHIFT 12
#define MACH_PAGE_SIZE (1ULL << MACH_PAGE_SHIFT)
#define MACH_PFN_NONE 0ULL

/* ------------------------------------------------------------------ machine */

enum mach_backing {
	MACH_BACKING_OWNED = 0,
	MACH_BACKING_DATALESS = 1,
};

struct mach_config {
	uint64_t mem_size; /* bytes of RAM, multiple of 4 KiB; 0 = 1 GiB */
	enum mach_backing backing; /* default OWNED */
	uint64_t seed; /* for anything random in the machine */
};

int mach_create(const struct mach_config *cfg, struct mach **out);
/* Frees everything, including frames still pinned (the owner is gone). */
void mach_destroy(struct mach *m);

struct fault_ctx *mach_fault(struct mach *m);
struct trace_ctx *mach_trace(struct mach *m);

/* ------------------------------------------------------------------- clock */

uint64_t mach_now(struct mach *m);
void mach_clock_advance(struct mach *m, uint64_t ns);

/* --------------------------------------------------------- physical memory */

enum {
	MACH_ORDER_4K = 0,
	MACH_ORDER_2M = 9,
	MACH_ORDER_1G = 18,
};

/* Frame flags reported by mach_frame_query(). */
#define MACH_FRAME_ALLOCATED (1u << 0)
#define MACH_FRAME_HOST (1u << 1) /* host-backed */
#define MACH_FRAME_COMPOUND (1u << 2) /* part of a 2 MiB / 1 GiB allocation */

struct mach_frame_info {
	uint32_t refcount;
	uint32_t pincount;
	uint32_t flags;
	uint32_t order; /* order of the allocation the frame belongs to */
};

struct mach_mem_stats {
	uint64_t ram_frames; /* total 4 KiB frames of RAM */
	uint64_t free_frames; /* RAM frames not allocated */
	uint64_t pinned_frames; /* frames with pincount > 0 (RAM and host) */
	uint64_t host_frames; /* host-backed frames in use */
};

/*
 * Allocate 2^order contiguous, naturally aligned, zeroed frames with
 * refcount 1 (for the kernel's own use: page tables, queues). -ENOMEM when
 * no such run is free.
 */
int mach_frame_alloc(struct mach *m, unsigned order, uint64_t *pfn);
void mach_frame_get(struct mach *m, uint64_t pfn);
/* Drop a reference; the allocation is freed when its head's refcount hits 0. */
void mach_frame_put(struct mach *m, uint64_t pfn);
int mach_frame_query(struct mach *m, uint64_t pfn, struct mach_frame_info *info);
void mach_mem_stats(struct mach *m, struct mach_mem_stats *st);
uint64_t mach_ram_size(struct mach *m);

/* Bounds-checked physical access (RAM and host window). -EFAULT outside. */
int mach_phys_read(struct mach *m, uint64_t pa, void *buf, size_t len);
int mach_phys_write(struct mach *m, uint64_t pa, const void *buf, size_t len);
int mach_phys_copy(struct mach *m, uint64_t dst, uint64_t src, size_t len);
/*
 * A host pointer to [pa, pa + len) when those bytes are directly addressable
 * and contiguous on the host (owned RAM, or within one host-backed page);
 * NULL for dataless memory or when the range crosses such a boundary.
 */
void *mach_phys_ptr(struct mach *m, uint64_t pa, size_t len);

/* -------------------------------------------------------- users, processes */

#define MACH_RLIM_INFINITY UINT64_MAX

/* Find or create the user @uid (a new reference either way). */
int mach_user_get(struct mach *m, uint32_t uid, struct mach_user **out);
void mach_user_put(struct mach_user *u);
uint32_t mach_user_uid(const struct mach_user *u);
uint64_t mach_user_locked_vm(const struct mach_user *u);

int mach_proc_create(struct mach *m, struct mach_user *u, struct mach_proc **out);
/* Unmaps everything; pinned frames stay until unpinned. */
void mach_proc_destroy(struct mach_proc *p);
struct mach *mach_proc_machine(const struct mach_proc *p);
struct mach_user *mach_proc_user(const struct mach_proc *p);
uint32_t mach_proc_pid(const struct mach_proc *p);

/* RLIMIT_MEMLOCK in bytes (default 8 MiB, as Debian gives); MACH_RLIM_INFINITY allowed. */
void mach_proc_set_rlimit_memlock(struct mach_proc *p, uint64_t bytes);
uint64_t mach_proc_rlimit_memlock(const struct mach_proc *p);
/* CAP_IPC_LOCK: may lock memory beyond the limit. Default false. */
void mach_proc_set_cap_ipc_lock(struct mach_proc *p, bool cap);
bool mach_proc_cap_ipc_lock(const struct mach_proc *p);
uint64_t mach_proc_locked_vm(const struct mach_proc *p);
uint64_t mach_proc_pinned_vm(const struct mach_proc *p);

/*
 * Accounting (pages). A charge checks the new total against @limit_pages
 * (MACH_RLIM_INFINITY = no check) and fails with -ENOMEM, charging nothing,
 * when it would pass it. Each passes an injection point of class
 * FAULT_CLASS_ACCOUNT. Uncharging never fails.
 */
int mach_user_charge_locked(struct mach_user *u, uint64_t npages, uint64_t limit_pages);
void mach_user_uncharge_locked(struct mach_user *u, uint64_t npages);
int mach_proc_charge_locked(struct mach_proc *p, uint64_t npages, uint64_t limit_pages);
void mach_proc_uncharge_locked(struct mach_proc *p, uint64_t npages);
void mach_proc_add_pinned(struct mach_proc *p, int64_t delta_pages);

/* ------------------------------------------------------------ files (memfd) */

int mach_file_create(struct mach *m, uint64_t size, struct mach_file **out);
void mach_file_get(struct mach_file *f);
void mach_file_put(struct mach_file *f);
/* Pages beyond the new size are dropped from the file (pinned ones live on). */
int mach_file_truncate(struct mach_file *f, uint64_t size);
uint64_t mach_file_size(struct mach_file *f);
/*
 * Pin @npages pages of the file from page index @pgoff, allocating missing
 * ones. -EINVAL beyond the end of the file. All or nothing.
 */
long mach_file_pin_pages(struct mach_file *f, uint64_t pgoff, uint64_t npages, unsigned flags,
			 uint64_t *pfns);

/* ----------------------------------------------------------- address space */

#define MACH_PROT_NONE 0u
#define MACH_PROT_READ (1u << 0)
#define MACH_PROT_WRITE (1u << 1)

#define MACH_MAP_PRIVATE 0u
#define MACH_MAP_SHARED (1u << 0) /* anonymous shared, or shared file mapping */
#define MACH_MAP_FIXED (1u << 1) /* place exactly at @addr, replacing what is there */
#define MACH_MAP_HUGE_2M (1u << 2) /* backed by 2 MiB frames; addr/len 2 MiB aligned */
#define MACH_MAP_HUGE_1G (1u << 3) /* backed by 1 GiB frames; addr/len 1 GiB aligned */
#define MACH_MAP_POPULATE (1u << 4)

/*
 * Map @len bytes (rounded up to the page or huge-page size). Without
 * MACH_MAP_FIXED, @addr is a hint and the chosen address is returned in
 * @out_addr. @f (with @offset) maps a file; NULL for anonymous memory.
 */
int mach_mmap(struct mach_proc *p, uint64_t addr, uint64_t len, unsigned prot, unsigned flags,
	      struct mach_file *f, uint64_t offset, uint64_t *out_addr);
int mach_munmap(struct mach_proc *p, uint64_t addr, uint64_t len);
int mach_mprotect(struct mach_proc *p, uint64_t addr, uint64_t len, unsigned prot);
/*
 * Map the caller's own memory [host, host + len) (page aligned) at the same
 * address in the process: the process's user_va is a real pointer.
 */
int mach_mmap_host(struct mach_proc *p, void *host, uint64_t len, unsigned prot);

/* Copy through the process's page tables, faulting pages in. -EFAULT, -EPERM. */
int mach_copy_from_user(struct mach_proc *p, void *dst, uint64_t va, size_t len);
int mach_copy_to_user(struct mach_proc *p, uint64_t va, const void *src, size_t len);

/* -------------------------------------------------------------- pinning */

#define MACH_PIN_WRITE (1u << 0)

/*
 * Long-term pin of @npages pages from page-aligned @va, faulting them in.
 * Fills @pfns and returns npages, or a negative errno with nothing pinned
 * (all or nothing): -EFAULT unmapped, -EPERM write pin of read-only memory,
 * -ENOMEM out of frames. Each page passes an injection point of class
 * FAULT_CLASS_PIN. Does no accounting: the caller charges.
 */
long mach_pin_user_pages(struct mach_proc *p, uint64_t va, uint64_t npages, unsigned flags,
			 uint64_t *pfns);
/* Unpin frames pinned by either pin function; frees those no longer used. */
void mach_unpin_pages(struct mach *m, const uint64_t *pfns, uint64_t npages);

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_MACHINE_H */
