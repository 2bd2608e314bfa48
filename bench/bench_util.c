/* SPDX-License-Identifier: MIT */
/*
 * Shared benchmark setup (see bench_util.h): the machine, user, process and
 * populated region every process-level benchmark starts from, and the
 * iommufd context + IOAS and map/unmap pair of the map benchmarks.
 */
#include <errno.h>

#include <iommusim/iommufd.h>
#include <iommusim/iommufd_ctx.h>
#include <iommusim/machine.h>

#include "bench_util.h"

int bench_proc_setup(struct bench_proc *bp, const struct mach_config *cfg, uint64_t len,
		     unsigned int mmap_flags, bool memlock_unlimited)
{
	int err;

	err = mach_create(cfg, &bp->m);
	if (!err)
		err = mach_user_get(bp->m, 1000, &bp->u);
	if (!err)
		err = mach_proc_create(bp->m, bp->u, &bp->p);
	if (err)
		return err;
	if (memlock_unlimited)
		mach_proc_set_rlimit_memlock(bp->p, MACH_RLIM_INFINITY);
	return mach_mmap(bp->p, 0, len, MACH_PROT_READ | MACH_PROT_WRITE,
			 mmap_flags | MACH_MAP_POPULATE, NULL, 0, &bp->va);
}

void bench_proc_teardown(struct bench_proc *bp)
{
	if (bp->p)
		mach_proc_destroy(bp->p);
	if (bp->u)
		mach_user_put(bp->u);
	if (bp->m)
		mach_destroy(bp->m);
}

int bench_ioas_open(struct mach_proc *p, struct iommufd_ctx **ictx, uint32_t *ioas)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	int err;

	err = iommufd_ctx_open(p, ictx);
	if (err)
		return err;
	if (iommufd_ioctl(*ictx, IOMMU_IOAS_ALLOC, &a))
		return -errno;
	*ioas = a.out_ioas_id;
	return 0;
}

int bench_ioas_map_unmap(struct iommufd_ctx *ictx, uint32_t ioas, uint64_t va, uint64_t iova,
			 uint64_t len)
{
	struct iommu_ioas_map m = { .size = sizeof(m),
				    .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					     IOMMU_IOAS_MAP_WRITEABLE,
				    .ioas_id = ioas,
				    .user_va = va,
				    .length = len,
				    .iova = iova };
	struct iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len
	};

	if (iommufd_ioctl(ictx, IOMMU_IOAS_MAP, &m))
		return -errno;
	if (iommufd_ioctl(ictx, IOMMU_IOAS_UNMAP, &u))
		return -errno;
	return u.length == len ? 0 : -EIO;
}
