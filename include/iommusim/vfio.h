/* SPDX-License-Identifier: MIT */
/*
 * The subset of the VFIO user API that a VFIO type1 container speaks:
 * the container ioctls of /dev/vfio/vfio and the type1 IOMMU ioctls.
 * Binary compatible with Linux's include/uapi/linux/vfio.h for these
 * commands: same numbers, same layouts, same constants, so a program built
 * against the kernel header passes the same bytes to iommusim.
 *
 * Like <iommusim/iommufd.h> this header stands alone: VFIO uses _IO(';', nr)
 * numbers (no size, no direction), which are (';' << 8) | nr on every
 * architecture. VFIO numbers start at 100 (0x64) and stay below iommufd's
 * 0x80, so one file descriptor can answer both families, as the kernel's
 * iommufd does when it serves /dev/vfio/vfio.
 *
 * The argument rules (VFIO's, not iommufd's): every struct starts with
 * __u32 argsz, the caller's size; below the minimum the command needs is
 * EINVAL; unknown flag bits are EINVAL. VFIO_SET_IOMMU and
 * VFIO_CHECK_EXTENSION take an integer argument, not a pointer.
 *
 * Group and device ioctls (VFIO_GROUP_*, VFIO_DEVICE_*) are not simulated.
 */
#ifndef IOMMUSIM_VFIO_H
#define IOMMUSIM_VFIO_H

#include <stddef.h>
#include <stdint.h>

#include <iommusim/iommufd.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VFIO_API_VERSION 0

/* VFIO_CHECK_EXTENSION arguments (and VFIO_SET_IOMMU types). */
#define VFIO_TYPE1_IOMMU 1
#define VFIO_SPAPR_TCE_IOMMU 2
#define VFIO_TYPE1v2_IOMMU 3
#define VFIO_DMA_CC_IOMMU 4 /* DMA is cache coherent (no-snoop blocked) */
#define VFIO_EEH 5
#define VFIO_TYPE1_NESTING_IOMMU 6 /* obsolete; always reported absent */
#define VFIO_SPAPR_TCE_v2_IOMMU 7
#define VFIO_NOIOMMU_IOMMU 8
#define VFIO_UNMAP_ALL 9 /* VFIO_DMA_UNMAP_FLAG_ALL is understood */
#define VFIO_UPDATE_VADDR 10 /* the VADDR flags of map/unmap */

#define VFIO_TYPE (';')
#define VFIO_BASE 100
#define VFIO_IO_(nr) IOMMUFD_IO(VFIO_TYPE, VFIO_BASE + (nr))

/* Head of each entry of an INFO capability chain; offsets from the INFO struct start. */
struct vfio_info_cap_header {
	uint16_t id;
	uint16_t version;
	uint32_t next; /* offset of the next capability, 0 ends the chain */
};
IOMMUFD_SIZE(vfio_info_cap_header, 8);
IOMMUFD_OFF(vfio_info_cap_header, id, 0);
IOMMUFD_OFF(vfio_info_cap_header, version, 2);
IOMMUFD_OFF(vfio_info_cap_header, next, 4);

/* ------------------------------------------------- container (/dev/vfio/vfio) */

/* Returns VFIO_API_VERSION. */
#define VFIO_GET_API_VERSION VFIO_IO_(0)
/* Argument: an extension number (integer). Returns 0 or a positive value. */
#define VFIO_CHECK_EXTENSION VFIO_IO_(1)
/* Argument: VFIO_TYPE1_IOMMU or VFIO_TYPE1v2_IOMMU (integer). */
#define VFIO_SET_IOMMU VFIO_IO_(2)

/* ----------------------------------------------------------------- type1 */

struct vfio_iommu_type1_info {
	uint32_t argsz;
	uint32_t flags;
#define VFIO_IOMMU_INFO_PGSIZES (1u << 0) /* iova_pgsizes is valid */
#define VFIO_IOMMU_INFO_CAPS (1u << 1) /* cap_offset is valid */
	iommufd_aligned_u64 iova_pgsizes; /* bitmap of usable page sizes */
	uint32_t cap_offset; /* first capability, 0 if none fitted */
	uint32_t pad;
};
IOMMUFD_SIZE(vfio_iommu_type1_info, 24);
IOMMUFD_OFF(vfio_iommu_type1_info, argsz, 0);
IOMMUFD_OFF(vfio_iommu_type1_info, flags, 4);
IOMMUFD_OFF(vfio_iommu_type1_info, iova_pgsizes, 8);
IOMMUFD_OFF(vfio_iommu_type1_info, cap_offset, 16);
IOMMUFD_OFF(vfio_iommu_type1_info, pad, 20);

/* Capability: the IOVA ranges a mapping may use ("end" is inclusive). */
#define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1

struct vfio_iova_range {
	iommufd_u64 start;
	iommufd_u64 end;
};
IOMMUFD_SIZE(vfio_iova_range, 16);

struct vfio_iommu_type1_info_cap_iova_range {
	struct vfio_info_cap_header header;
	uint32_t nr_iovas;
	uint32_t reserved;
	struct vfio_iova_range iova_ranges[];
};
IOMMUFD_SIZE(vfio_iommu_type1_info_cap_iova_range, 16);
IOMMUFD_OFF(vfio_iommu_type1_info_cap_iova_range, nr_iovas, 8);
IOMMUFD_OFF(vfio_iommu_type1_info_cap_iova_range, iova_ranges, 16);

/* Capability: dirty logging for migration (never reported by iommusim). */
#define VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION 2

/* Capability: how many more DMA mappings the container accepts. */
#define VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3

struct vfio_iommu_type1_info_dma_avail {
	struct vfio_info_cap_header header;
	uint32_t avail;
};
IOMMUFD_SIZE(vfio_iommu_type1_info_dma_avail, 12);
IOMMUFD_OFF(vfio_iommu_type1_info_dma_avail, avail, 8);

#define VFIO_IOMMU_GET_INFO VFIO_IO_(12)

/* Map [vaddr, vaddr + size) of the caller at iova (always a fixed iova). */
struct vfio_iommu_type1_dma_map {
	uint32_t argsz;
	uint32_t flags;
#define VFIO_DMA_MAP_FLAG_READ (1u << 0) /* devices may read */
#define VFIO_DMA_MAP_FLAG_WRITE (1u << 1) /* devices may write */
#define VFIO_DMA_MAP_FLAG_VADDR (1u << 2) /* re-point an existing map (not supported) */
	iommufd_u64 vaddr;
	iommufd_u64 iova;
	iommufd_u64 size;
};
IOMMUFD_SIZE(vfio_iommu_type1_dma_map, 32);
IOMMUFD_OFF(vfio_iommu_type1_dma_map, argsz, 0);
IOMMUFD_OFF(vfio_iommu_type1_dma_map, flags, 4);
IOMMUFD_OFF(vfio_iommu_type1_dma_map, vaddr, 8);
IOMMUFD_OFF(vfio_iommu_type1_dma_map, iova, 16);
IOMMUFD_OFF(vfio_iommu_type1_dma_map, size, 24);

#define VFIO_IOMMU_MAP_DMA VFIO_IO_(13)

struct vfio_bitmap {
	iommufd_u64 pgsize; /* bytes per bit */
	iommufd_u64 size; /* bytes of data */
	iommufd_u64 *data;
};

/* Unmap [iova, iova + size); size returns the bytes unmapped. */
struct vfio_iommu_type1_dma_unmap {
	uint32_t argsz;
	uint32_t flags;
#define VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP (1u << 0) /* not supported */
#define VFIO_DMA_UNMAP_FLAG_ALL (1u << 1) /* iova and size must be 0 */
#define VFIO_DMA_UNMAP_FLAG_VADDR (1u << 2) /* not supported */
	iommufd_u64 iova;
	iommufd_u64 size;
	uint8_t data[];
};
IOMMUFD_SIZE(vfio_iommu_type1_dma_unmap, 24);
IOMMUFD_OFF(vfio_iommu_type1_dma_unmap, argsz, 0);
IOMMUFD_OFF(vfio_iommu_type1_dma_unmap, flags, 4);
IOMMUFD_OFF(vfio_iommu_type1_dma_unmap, iova, 8);
IOMMUFD_OFF(vfio_iommu_type1_dma_unmap, size, 16);

#define VFIO_IOMMU_UNMAP_DMA VFIO_IO_(14)
#define VFIO_IOMMU_ENABLE VFIO_IO_(15) /* SPAPR only: ENOTTY here */
#define VFIO_IOMMU_DISABLE VFIO_IO_(16) /* SPAPR only: ENOTTY here */
#define VFIO_IOMMU_DIRTY_PAGES VFIO_IO_(17) /* superseded by iommufd dirty tracking: ENOTTY */

IOMMUFD_ASSERT_(VFIO_GET_API_VERSION == 0x3b64, "VFIO_GET_API_VERSION number");
IOMMUFD_ASSERT_(VFIO_IOMMU_MAP_DMA == 0x3b71, "VFIO_IOMMU_MAP_DMA number");

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_VFIO_H */
