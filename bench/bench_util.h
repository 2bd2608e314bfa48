/* SPDX-License-Identifier: MIT */
/*
 * Setup shared by the benchmarks that drive a simulated process: a machine,
 * user 1000, one process of that user with one populated read/write anonymous
 * region, and (for the iommufd benchmarks) an iommufd context with one IOAS,
 * plus the timed IOMMU_IOAS_MAP + IOMMU_IOAS_UNMAP pair they measure.
 *
 * struct bench_proc is embedded in a benchmark's own state; members are NULL
 * until created, so bench_proc_teardown() undoes any prefix of
 * bench_proc_setup() and is safe on a zeroed struct. Everything a benchmark
 * builds on top (IOMMUs, devices, the iommufd context) must be released
 * before bench_proc_teardown(): the process and machine go last.
 */
#ifndef IOMMUSIM_BENCH_UTIL_H
#define IOMMUSIM_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>

struct mach;
struct mach_config;
struct mach_user;
struct mach_proc;
struct iommufd_ctx;

struct bench_proc {
	struct mach *m;
	struct mach_user *u;
	struct mach_proc *p;
	uint64_t va; /* start of the populated region */
};

/*
 * Create the machine from @cfg, user 1000 and its process, lift the process's
 * RLIMIT_MEMLOCK if @memlock_unlimited (iommufd charges locked_vm), and mmap
 * @len bytes read/write with @mmap_flags | MACH_MAP_POPULATE. On failure the
 * caller's teardown (which calls bench_proc_teardown()) cleans up.
 */
int bench_proc_setup(struct bench_proc *bp, const struct mach_config *cfg, uint64_t len,
		     unsigned int mmap_flags, bool memlock_unlimited);
void bench_proc_teardown(struct bench_proc *bp);

/*
 * Open an iommufd context for @p into *ictx and allocate one IOAS in it into
 * *ioas. On failure *ictx may be set (the caller closes it).
 */
int bench_ioas_open(struct mach_proc *p, struct iommufd_ctx **ictx, uint32_t *ioas);

/*
 * Map [va, +len) at @iova in @ioas (fixed IOVA, read/write), then unmap it;
 * 0, a negative errno, or -EIO if the unmap did not cover @len.
 */
int bench_ioas_map_unmap(struct iommufd_ctx *ictx, uint32_t ioas, uint64_t va, uint64_t iova,
			 uint64_t len);

#endif
