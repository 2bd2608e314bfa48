/* SPDX-License-Identifier: MIT */
/*
 * VFIO type1 container semantics on an iommufd context (vfio_compat.c).
 *
 * The ioctls of <iommusim/vfio.h> run against the context's compatibility
 * IOAS, the one IOMMU_VFIO_IOAS selects. A /dev/iommu context answers them
 * as the kernel's iommufd does (no compatibility IOAS: ENODEV); the shim's
 * /dev/vfio/vfio container creates that IOAS when VFIO_SET_IOMMU arrives,
 * standing in for the group attach a real container would have seen.
 */
#ifndef IOMMUSIM_IOMMUFD_VFIO_COMPAT_H
#define IOMMUSIM_IOMMUFD_VFIO_COMPAT_H

#include <stdint.h>

struct iommufd_ctx;

/* Type1's default dma_entry_limit module parameter. */
#define IOMMUFD_VFIO_DMA_ENTRY_LIMIT_DEFAULT 65535u

struct iommufd_vfio_opts {
	/*
	 * When non-zero, VFIO_IOMMU_MAP_DMA fails with ENOSPC once the
	 * compatibility IOAS holds this many mappings (type1's
	 * dma_entry_limit). 0: no limit, as iommufd's own compat layer.
	 */
	uint32_t dma_entry_limit;
};

/*
 * Run one VFIO container ioctl. Like the syscall: the command's result
 * (>= 0; VFIO_GET_API_VERSION and VFIO_CHECK_EXTENSION return values), or
 * -1 with errno set. Unknown commands are ENOTTY. @arg is a pointer for
 * the struct commands and an integer for SET_IOMMU / CHECK_EXTENSION.
 * @opts may be NULL (defaults).
 */
int iommufd_vfio_ioctl_opts(struct iommufd_ctx *ictx, unsigned long cmd, void *arg,
			    const struct iommufd_vfio_opts *opts);
int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned long cmd, void *arg);

/*
 * Make sure the context has a compatibility IOAS, allocating an IOAS and
 * selecting it (as IOMMU_VFIO_IOAS SET would) when none is set. 0 or -errno.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx);

#endif /* IOMMUSIM_IOMMUFD_VFIO_COMPAT_H */
