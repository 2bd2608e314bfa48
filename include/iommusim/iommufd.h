/* SPDX-License-Identifier: MIT */
/*
 * The iommufd user API, binary compatible with Linux's
 * include/uapi/linux/iommufd.h: the same command numbers, the same struct
 * layouts and the same constant values, so a program written against the
 * kernel header compiles against this one and passes the same bytes.
 *
 * This header stands alone: it needs neither <linux/types.h> nor
 * <linux/ioctl.h>. The ioctl numbers are built by our own IOMMUFD_IO()
 * which computes exactly what the kernel's _IO(type, nr) does on every
 * architecture Linux supports (_IO carries no size and no direction, so the
 * number is (type << 8) | nr everywhere).
 *
 * Rules every command shares (the kernel's, applied by src/iommufd/main.c):
 *  - the argument starts with a u32 "size" giving the caller's struct size;
 *  - a size below the end of the last field the command needs is EINVAL;
 *  - bytes past the part this implementation knows must be zero (E2BIG);
 *  - an unknown command number is ENOTTY; a known field with a value we do
 *    not support is EOPNOTSUPP; a missing object id or IOVA is ENOENT.
 *
 * Each struct is followed by static assertions on its size and on the offset
 * of every field; a layout change is a compile error, never an ABI break.
 */
#ifndef IOMMUSIM_IOMMUFD_H
#define IOMMUSIM_IOMMUFD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kernel's fixed-width uAPI types, spelled our way. */
typedef uint8_t iommufd_u8;
typedef uint16_t iommufd_u16;
typedef uint32_t iommufd_u32;
typedef int32_t iommufd_s32;
/*
 * The kernel's __u64 is "unsigned long long" on every architecture except the
 * few whose uAPI keeps "unsigned long" unless __SANE_USERSPACE_TYPES__ is
 * defined (asm-generic/int-l64.h). uint64_t is "unsigned long" on LP64
 * systems: the same bytes, but a different C type, so a program written
 * against the kernel header that passes &cmd.iova as a __u64 * would get an
 * incompatible-pointer diagnostic (an error since GCC 14) with uint64_t here.
 */
#if (defined(__powerpc64__) || defined(__mips64) || defined(__alpha__)) && \
	!defined(__SANE_USERSPACE_TYPES__)
typedef unsigned long iommufd_u64;
#else
typedef unsigned long long iommufd_u64;
#endif
/* 8-byte alignment even on 32-bit ABIs, like the kernel's __aligned_u64. */
typedef iommufd_u64 iommufd_aligned_u64 __attribute__((aligned(8)));
/* Little-endian 64-bit words (hardware records passed through unchanged). */
typedef iommufd_u64 iommufd_aligned_le64 __attribute__((aligned(8)));

#define IOMMUFD_TYPE (';')
/* Same value as the kernel's _IO(type, nr): no size, no direction bits. */
#define IOMMUFD_IO(type, nr) ((unsigned long)((((unsigned)(type)) << 8) | ((unsigned)(nr))))

#ifdef __cplusplus
#define IOMMUFD_ASSERT_(cond, msg) static_assert(cond, msg)
#else
#define IOMMUFD_ASSERT_(cond, msg) _Static_assert(cond, msg)
#endif
#define IOMMUFD_SIZE(type, n) IOMMUFD_ASSERT_(sizeof(struct type) == (n), #type " size")
#define IOMMUFD_OFF(type, field, n) \
	IOMMUFD_ASSERT_(offsetof(struct type, field) == (n), #type "." #field " offset")
IOMMUFD_ASSERT_(sizeof(iommufd_u64) == 8, "iommufd_u64 size");

enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = 0x80,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
	IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
	IOMMUFD_CMD_VIOMMU_ALLOC = 0x90,
	IOMMUFD_CMD_VDEVICE_ALLOC = 0x91,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
	IOMMUFD_CMD_VEVENTQ_ALLOC = 0x93,
	IOMMUFD_CMD_HW_QUEUE_ALLOC = 0x94,
};

/* ------------------------------------------------------------ 0x80 DESTROY */

/* Destroy any destroyable object by id. */
struct iommu_destroy {
	iommufd_u32 size;
	iommufd_u32 id;
};
#define IOMMU_DESTROY IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)
IOMMUFD_SIZE(iommu_destroy, 8);
IOMMUFD_OFF(iommu_destroy, size, 0);
IOMMUFD_OFF(iommu_destroy, id, 4);

/* --------------------------------------------------------- 0x81 IOAS_ALLOC */

/* Create an empty I/O address space; flags must be 0. */
struct iommu_ioas_alloc {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)
IOMMUFD_SIZE(iommu_ioas_alloc, 12);
IOMMUFD_OFF(iommu_ioas_alloc, size, 0);
IOMMUFD_OFF(iommu_ioas_alloc, flags, 4);
IOMMUFD_OFF(iommu_ioas_alloc, out_ioas_id, 8);

/* One IOVA interval; last is inclusive. */
struct iommu_iova_range {
	iommufd_aligned_u64 start;
	iommufd_aligned_u64 last;
};
IOMMUFD_SIZE(iommu_iova_range, 16);
IOMMUFD_OFF(iommu_iova_range, start, 0);
IOMMUFD_OFF(iommu_iova_range, last, 8);

/* ------------------------------------------------- 0x84 IOAS_IOVA_RANGES */

/*
 * Report the usable IOVA ranges. num_iovas: in, capacity of the array at
 * allowed_iovas; out, how many ranges exist (EMSGSIZE when they did not
 * fit). out_iova_alignment: what MAP/COPY require of iova and iova + length.
 */
struct iommu_ioas_iova_ranges {
	iommufd_u32 size;
	iommufd_u32 ioas_id;
	iommufd_u32 num_iovas;
	iommufd_u32 __reserved;
	iommufd_aligned_u64 allowed_iovas;
	iommufd_aligned_u64 out_iova_alignment;
};
#define IOMMU_IOAS_IOVA_RANGES IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)
IOMMUFD_SIZE(iommu_ioas_iova_ranges, 32);
IOMMUFD_OFF(iommu_ioas_iova_ranges, size, 0);
IOMMUFD_OFF(iommu_ioas_iova_ranges, ioas_id, 4);
IOMMUFD_OFF(iommu_ioas_iova_ranges, num_iovas, 8);
IOMMUFD_OFF(iommu_ioas_iova_ranges, __reserved, 12);
IOMMUFD_OFF(iommu_ioas_iova_ranges, allowed_iovas, 16);
IOMMUFD_OFF(iommu_ioas_iova_ranges, out_iova_alignment, 24);

/* ------------------------------------------------- 0x82 IOAS_ALLOW_IOVAS */

/*
 * Replace the IOAS's allowed list: from now on attachments may not narrow
 * the usable space below these ranges, and automatic IOVA picks inside them.
 */
struct iommu_ioas_allow_iovas {
	iommufd_u32 size;
	iommufd_u32 ioas_id;
	iommufd_u32 num_iovas;
	iommufd_u32 __reserved;
	iommufd_aligned_u64 allowed_iovas;
};
#define IOMMU_IOAS_ALLOW_IOVAS IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)
IOMMUFD_SIZE(iommu_ioas_allow_iovas, 24);
IOMMUFD_OFF(iommu_ioas_allow_iovas, size, 0);
IOMMUFD_OFF(iommu_ioas_allow_iovas, ioas_id, 4);
IOMMUFD_OFF(iommu_ioas_allow_iovas, num_iovas, 8);
IOMMUFD_OFF(iommu_ioas_allow_iovas, __reserved, 12);
IOMMUFD_OFF(iommu_ioas_allow_iovas, allowed_iovas, 16);

/* Flags of MAP, MAP_FILE and COPY. */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0, /* iova is an input; else chosen and returned */
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1, /* devices may write */
	IOMMU_IOAS_MAP_READABLE = 1 << 2, /* devices may read */
};

/* -------------------------------------------------------- 0x85 IOAS_MAP */

/* Map [user_va, user_va + length) of the caller's memory at iova. */
struct iommu_ioas_map {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 ioas_id;
	iommufd_u32 __reserved;
	iommufd_aligned_u64 user_va;
	iommufd_aligned_u64 length;
	iommufd_aligned_u64 iova;
};
#define IOMMU_IOAS_MAP IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)
IOMMUFD_SIZE(iommu_ioas_map, 40);
IOMMUFD_OFF(iommu_ioas_map, size, 0);
IOMMUFD_OFF(iommu_ioas_map, flags, 4);
IOMMUFD_OFF(iommu_ioas_map, ioas_id, 8);
IOMMUFD_OFF(iommu_ioas_map, __reserved, 12);
IOMMUFD_OFF(iommu_ioas_map, user_va, 16);
IOMMUFD_OFF(iommu_ioas_map, length, 24);
IOMMUFD_OFF(iommu_ioas_map, iova, 32);

/* --------------------------------------------------- 0x8f IOAS_MAP_FILE */

/* Like IOAS_MAP, but the memory is [start, start + length) of a memfd. */
struct iommu_ioas_map_file {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 ioas_id;
	iommufd_s32 fd;
	iommufd_aligned_u64 start;
	iommufd_aligned_u64 length;
	iommufd_aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)
IOMMUFD_SIZE(iommu_ioas_map_file, 40);
IOMMUFD_OFF(iommu_ioas_map_file, size, 0);
IOMMUFD_OFF(iommu_ioas_map_file, flags, 4);
IOMMUFD_OFF(iommu_ioas_map_file, ioas_id, 8);
IOMMUFD_OFF(iommu_ioas_map_file, fd, 12);
IOMMUFD_OFF(iommu_ioas_map_file, start, 16);
IOMMUFD_OFF(iommu_ioas_map_file, length, 24);
IOMMUFD_OFF(iommu_ioas_map_file, iova, 32);

/* -------------------------------------------------------- 0x83 IOAS_COPY */

/*
 * Map into dst_ioas_id the memory that [src_iova, src_iova + length) of
 * src_ioas_id maps; the source range must exactly cover earlier maps. The
 * pages are shared, not pinned a second time.
 */
struct iommu_ioas_copy {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 dst_ioas_id;
	iommufd_u32 src_ioas_id;
	iommufd_aligned_u64 length;
	iommufd_aligned_u64 dst_iova;
	iommufd_aligned_u64 src_iova;
};
#define IOMMU_IOAS_COPY IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)
IOMMUFD_SIZE(iommu_ioas_copy, 40);
IOMMUFD_OFF(iommu_ioas_copy, size, 0);
IOMMUFD_OFF(iommu_ioas_copy, flags, 4);
IOMMUFD_OFF(iommu_ioas_copy, dst_ioas_id, 8);
IOMMUFD_OFF(iommu_ioas_copy, src_ioas_id, 12);
IOMMUFD_OFF(iommu_ioas_copy, length, 16);
IOMMUFD_OFF(iommu_ioas_copy, dst_iova, 24);
IOMMUFD_OFF(iommu_ioas_copy, src_iova, 32);

/* ------------------------------------------------------- 0x86 IOAS_UNMAP */

/*
 * Unmap every area inside [iova, iova + length); areas may not be split.
 * iova 0 with length UINT64_MAX unmaps everything. length returns the
 * number of bytes unmapped.
 */
struct iommu_ioas_unmap {
	iommufd_u32 size;
	iommufd_u32 ioas_id;
	iommufd_aligned_u64 iova;
	iommufd_aligned_u64 length;
};
#define IOMMU_IOAS_UNMAP IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)
IOMMUFD_SIZE(iommu_ioas_unmap, 24);
IOMMUFD_OFF(iommu_ioas_unmap, size, 0);
IOMMUFD_OFF(iommu_ioas_unmap, ioas_id, 4);
IOMMUFD_OFF(iommu_ioas_unmap, iova, 8);
IOMMUFD_OFF(iommu_ioas_unmap, length, 16);

/* ----------------------------------------------------------- 0x87 OPTION */

enum iommufd_option {
	/* Global, privileged, object_id 0: 0 = per-user accounting, 1 = per-process. */
	IOMMU_OPTION_RLIMIT_MODE = 0,
	/* Per IOAS: 1 (default) combines contiguous pages into large ones, 0 does not. */
	IOMMU_OPTION_HUGE_PAGES = 1,
};

enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

struct iommu_option {
	iommufd_u32 size;
	iommufd_u32 option_id;
	iommufd_u16 op;
	iommufd_u16 __reserved;
	iommufd_u32 object_id;
	iommufd_aligned_u64 val64;
};
#define IOMMU_OPTION IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)
IOMMUFD_SIZE(iommu_option, 24);
IOMMUFD_OFF(iommu_option, size, 0);
IOMMUFD_OFF(iommu_option, option_id, 4);
IOMMUFD_OFF(iommu_option, op, 8);
IOMMUFD_OFF(iommu_option, __reserved, 10);
IOMMUFD_OFF(iommu_option, object_id, 12);
IOMMUFD_OFF(iommu_option, val64, 16);

/* -------------------------------------------------------- 0x88 VFIO_IOAS */

enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/* Get, set or clear the IOAS the VFIO type1 compatibility layer uses. */
struct iommu_vfio_ioas {
	iommufd_u32 size;
	iommufd_u32 ioas_id;
	iommufd_u16 op;
	iommufd_u16 __reserved;
};
#define IOMMU_VFIO_IOAS IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)
IOMMUFD_SIZE(iommu_vfio_ioas, 12);
IOMMUFD_OFF(iommu_vfio_ioas, size, 0);
IOMMUFD_OFF(iommu_vfio_ioas, ioas_id, 4);
IOMMUFD_OFF(iommu_vfio_ioas, op, 8);
IOMMUFD_OFF(iommu_vfio_ioas, __reserved, 10);

/* ------------------------------------------------------- 0x89 HWPT_ALLOC */

enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0, /* usable as a nesting parent */
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1, /* dirty tracking required */
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2, /* fault_id names a FAULT object */
	IOMMU_HWPT_ALLOC_PASID = 1 << 3, /* attachable to PASIDs */
};

/* Attribute bits of the VT-d stage-1 table given for a nested HWPT. */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/* IOMMU_HWPT_DATA_VTD_S1: a guest-owned VT-d first-stage table. */
struct iommu_hwpt_vtd_s1 {
	iommufd_aligned_u64 flags;
	iommufd_aligned_u64 pgtbl_addr;
	iommufd_u32 addr_width;
	iommufd_u32 __reserved;
};
IOMMUFD_SIZE(iommu_hwpt_vtd_s1, 24);
IOMMUFD_OFF(iommu_hwpt_vtd_s1, flags, 0);
IOMMUFD_OFF(iommu_hwpt_vtd_s1, pgtbl_addr, 8);
IOMMUFD_OFF(iommu_hwpt_vtd_s1, addr_width, 16);
IOMMUFD_OFF(iommu_hwpt_vtd_s1, __reserved, 20);

/* IOMMU_HWPT_DATA_ARM_SMMUV3: the first two words of a guest STE, little-endian. */
struct iommu_hwpt_arm_smmuv3 {
	iommufd_aligned_le64 ste[2];
};
IOMMUFD_SIZE(iommu_hwpt_arm_smmuv3, 16);
IOMMUFD_OFF(iommu_hwpt_arm_smmuv3, ste, 0);

enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
	IOMMU_HWPT_DATA_ARM_SMMUV3 = 2,
};

/*
 * Allocate a HWPT (an iommu_domain) for dev_id. pt_id is an IOAS (a paging
 * HWPT filled from it; data_type must be NONE), or a parent HWPT / vIOMMU
 * (a nested HWPT described by data_type/data_len/data_uptr).
 */
struct iommu_hwpt_alloc {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 dev_id;
	iommufd_u32 pt_id;
	iommufd_u32 out_hwpt_id;
	iommufd_u32 __reserved;
	iommufd_u32 data_type;
	iommufd_u32 data_len;
	iommufd_aligned_u64 data_uptr;
	iommufd_u32 fault_id;
	iommufd_u32 __reserved2;
};
#define IOMMU_HWPT_ALLOC IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)
IOMMUFD_SIZE(iommu_hwpt_alloc, 48);
IOMMUFD_OFF(iommu_hwpt_alloc, size, 0);
IOMMUFD_OFF(iommu_hwpt_alloc, flags, 4);
IOMMUFD_OFF(iommu_hwpt_alloc, dev_id, 8);
IOMMUFD_OFF(iommu_hwpt_alloc, pt_id, 12);
IOMMUFD_OFF(iommu_hwpt_alloc, out_hwpt_id, 16);
IOMMUFD_OFF(iommu_hwpt_alloc, __reserved, 20);
IOMMUFD_OFF(iommu_hwpt_alloc, data_type, 24);
IOMMUFD_OFF(iommu_hwpt_alloc, data_len, 28);
IOMMUFD_OFF(iommu_hwpt_alloc, data_uptr, 32);
IOMMUFD_OFF(iommu_hwpt_alloc, fault_id, 40);
IOMMUFD_OFF(iommu_hwpt_alloc, __reserved2, 44);
/*
 * Note: the kernel's minimum size for HWPT_ALLOC ends at __reserved (24
 * bytes), for GET_HW_INFO at __reserved[3] (32): the later fields read as
 * zero when a caller passes the short struct.
 */

/* ------------------------------------------------------ 0x8a GET_HW_INFO */

enum iommu_hw_info_vtd_flags {
	/* Read-only mappings must not be used on a nesting parent (erratum 772415). */
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/* IOMMU_HW_INFO_TYPE_INTEL_VTD: raw CAP_REG and ECAP_REG (VT-d spec 11.4.2, 11.4.3). */
struct iommu_hw_info_vtd {
	iommufd_u32 flags;
	iommufd_u32 __reserved;
	iommufd_aligned_u64 cap_reg;
	iommufd_aligned_u64 ecap_reg;
};
IOMMUFD_SIZE(iommu_hw_info_vtd, 24);
IOMMUFD_OFF(iommu_hw_info_vtd, flags, 0);
IOMMUFD_OFF(iommu_hw_info_vtd, __reserved, 4);
IOMMUFD_OFF(iommu_hw_info_vtd, cap_reg, 8);
IOMMUFD_OFF(iommu_hw_info_vtd, ecap_reg, 16);

/* IOMMU_HW_INFO_TYPE_ARM_SMMUV3: raw SMMU_IDR0..5, SMMU_IIDR, SMMU_AIDR (SMMUv3 6.3.1-6.3.6). */
struct iommu_hw_info_arm_smmuv3 {
	iommufd_u32 flags;
	iommufd_u32 __reserved;
	iommufd_u32 idr[6];
	iommufd_u32 iidr;
	iommufd_u32 aidr;
};
IOMMUFD_SIZE(iommu_hw_info_arm_smmuv3, 40);
IOMMUFD_OFF(iommu_hw_info_arm_smmuv3, flags, 0);
IOMMUFD_OFF(iommu_hw_info_arm_smmuv3, __reserved, 4);
IOMMUFD_OFF(iommu_hw_info_arm_smmuv3, idr, 8);
IOMMUFD_OFF(iommu_hw_info_arm_smmuv3, iidr, 32);
IOMMUFD_OFF(iommu_hw_info_arm_smmuv3, aidr, 36);

/* IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV: fields of the CMDQ-V PARAM register. */
struct iommu_hw_info_tegra241_cmdqv {
	iommufd_u32 flags;
	iommufd_u8 version;
	iommufd_u8 log2vcmdqs;
	iommufd_u8 log2vsids;
	iommufd_u8 __reserved;
};
IOMMUFD_SIZE(iommu_hw_info_tegra241_cmdqv, 8);
IOMMUFD_OFF(iommu_hw_info_tegra241_cmdqv, flags, 0);
IOMMUFD_OFF(iommu_hw_info_tegra241_cmdqv, version, 4);
IOMMUFD_OFF(iommu_hw_info_tegra241_cmdqv, log2vcmdqs, 5);
IOMMUFD_OFF(iommu_hw_info_tegra241_cmdqv, log2vsids, 6);
IOMMUFD_OFF(iommu_hw_info_tegra241_cmdqv, __reserved, 7);

/*
 * IOMMU_HW_INFO_TYPE_AMD (kernels from 6.17): the raw Extended Feature
 * Registers EFR and EFR2 of the AMD IOMMU.
 */
struct iommu_hw_info_amd {
	iommufd_aligned_u64 efr;
	iommufd_aligned_u64 efr2;
};
IOMMUFD_SIZE(iommu_hw_info_amd, 16);
IOMMUFD_OFF(iommu_hw_info_amd, efr, 0);
IOMMUFD_OFF(iommu_hw_info_amd, efr2, 8);

enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0, /* the driver reports nothing */
	IOMMU_HW_INFO_TYPE_DEFAULT = 0, /* as input: whatever the driver reports */
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
	IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2,
	IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3,
	IOMMU_HW_INFO_TYPE_AMD = 4,
};

enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0, /* SET_DIRTY_TRACKING / GET_DIRTY_BITMAP work */
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1, /* meaningful only with out_max_pasid_log2 != 0 */
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2, /* likewise */
};

enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0, /* in_data_type selects the info type */
};

/*
 * Describe the IOMMU behind dev_id. data_len: in, the size of the buffer at
 * data_uptr (0 allowed); out, the size of the driver's data. A larger buffer
 * is zero-filled past the data; a smaller one receives a truncated copy.
 */
struct iommu_hw_info {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 dev_id;
	iommufd_u32 data_len;
	iommufd_aligned_u64 data_uptr;
	union {
		iommufd_u32 in_data_type;
		iommufd_u32 out_data_type;
	};
	iommufd_u8 out_max_pasid_log2;
	iommufd_u8 __reserved[3];
	iommufd_aligned_u64 out_capabilities;
};
#define IOMMU_GET_HW_INFO IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)
IOMMUFD_SIZE(iommu_hw_info, 40);
IOMMUFD_OFF(iommu_hw_info, size, 0);
IOMMUFD_OFF(iommu_hw_info, flags, 4);
IOMMUFD_OFF(iommu_hw_info, dev_id, 8);
IOMMUFD_OFF(iommu_hw_info, data_len, 12);
IOMMUFD_OFF(iommu_hw_info, data_uptr, 16);
IOMMUFD_OFF(iommu_hw_info, in_data_type, 24);
IOMMUFD_OFF(iommu_hw_info, out_data_type, 24);
IOMMUFD_OFF(iommu_hw_info, out_max_pasid_log2, 28);
IOMMUFD_OFF(iommu_hw_info, __reserved, 29);
IOMMUFD_OFF(iommu_hw_info, out_capabilities, 32);

/* ------------------------------------------- 0x8b HWPT_SET_DIRTY_TRACKING */

enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

struct iommu_hwpt_set_dirty_tracking {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 hwpt_id;
	iommufd_u32 __reserved;
};
#define IOMMU_HWPT_SET_DIRTY_TRACKING IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)
IOMMUFD_SIZE(iommu_hwpt_set_dirty_tracking, 16);
IOMMUFD_OFF(iommu_hwpt_set_dirty_tracking, size, 0);
IOMMUFD_OFF(iommu_hwpt_set_dirty_tracking, flags, 4);
IOMMUFD_OFF(iommu_hwpt_set_dirty_tracking, hwpt_id, 8);
IOMMUFD_OFF(iommu_hwpt_set_dirty_tracking, __reserved, 12);

/* -------------------------------------------- 0x8c HWPT_GET_DIRTY_BITMAP */

enum iommufd_hwpt_get_dirty_bitmap_flags {
	/* Read the dirty state without clearing it (an unmap is expected next). */
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/*
 * Collect dirty bits of [iova, iova + length) into the bitmap at data: bit
 * (addr - iova) / page_size, 64 bits per u64 word.
 */
struct iommu_hwpt_get_dirty_bitmap {
	iommufd_u32 size;
	iommufd_u32 hwpt_id;
	iommufd_u32 flags;
	iommufd_u32 __reserved;
	iommufd_aligned_u64 iova;
	iommufd_aligned_u64 length;
	iommufd_aligned_u64 page_size;
	iommufd_aligned_u64 data;
};
#define IOMMU_HWPT_GET_DIRTY_BITMAP IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)
IOMMUFD_SIZE(iommu_hwpt_get_dirty_bitmap, 48);
IOMMUFD_OFF(iommu_hwpt_get_dirty_bitmap, size, 0);
IOMMUFD_OFF(iommu_hwpt_get_dirty_bitmap, hwpt_id, 4);
IOMMUFD_OFF(iommu_hwpt_get_dirty_bitmap, flags, 8);
IOMMUFD_OFF(iommu_hwpt_get_dirty_bitmap, __reserved, 12);
IOMMUFD_OFF(iommu_hwpt_get_dirty_bitmap, iova, 16);
IOMMUFD_OFF(iommu_hwpt_get_dirty_bitmap, length, 24);
IOMMUFD_OFF(iommu_hwpt_get_dirty_bitmap, page_size, 32);
IOMMUFD_OFF(iommu_hwpt_get_dirty_bitmap, data, 40);

/* -------------------------------------------------- 0x8d HWPT_INVALIDATE */

enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
	IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1,
};

enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0, /* leaf entries only, keep paging-structure caches */
};

/* One VT-d stage-1 invalidation: addr 4 KiB aligned; addr 0 / npages U64_MAX = all. */
struct iommu_hwpt_vtd_s1_invalidate {
	iommufd_aligned_u64 addr;
	iommufd_aligned_u64 npages;
	iommufd_u32 flags;
	iommufd_u32 __reserved;
};
IOMMUFD_SIZE(iommu_hwpt_vtd_s1_invalidate, 24);
IOMMUFD_OFF(iommu_hwpt_vtd_s1_invalidate, addr, 0);
IOMMUFD_OFF(iommu_hwpt_vtd_s1_invalidate, npages, 8);
IOMMUFD_OFF(iommu_hwpt_vtd_s1_invalidate, flags, 16);
IOMMUFD_OFF(iommu_hwpt_vtd_s1_invalidate, __reserved, 20);

/* One SMMUv3 CMDQ command (128 bits, little-endian) issued through a vIOMMU. */
struct iommu_viommu_arm_smmuv3_invalidate {
	iommufd_aligned_le64 cmd[2];
};
IOMMUFD_SIZE(iommu_viommu_arm_smmuv3_invalidate, 16);
IOMMUFD_OFF(iommu_viommu_arm_smmuv3_invalidate, cmd, 0);

/*
 * Run entry_num invalidation requests of entry_len bytes each from
 * data_uptr; entry_num returns how many were handled. entry_num 0 only
 * checks that data_type is supported.
 */
struct iommu_hwpt_invalidate {
	iommufd_u32 size;
	iommufd_u32 hwpt_id;
	iommufd_aligned_u64 data_uptr;
	iommufd_u32 data_type;
	iommufd_u32 entry_len;
	iommufd_u32 entry_num;
	iommufd_u32 __reserved;
};
#define IOMMU_HWPT_INVALIDATE IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)
IOMMUFD_SIZE(iommu_hwpt_invalidate, 32);
IOMMUFD_OFF(iommu_hwpt_invalidate, size, 0);
IOMMUFD_OFF(iommu_hwpt_invalidate, hwpt_id, 4);
IOMMUFD_OFF(iommu_hwpt_invalidate, data_uptr, 8);
IOMMUFD_OFF(iommu_hwpt_invalidate, data_type, 16);
IOMMUFD_OFF(iommu_hwpt_invalidate, entry_len, 20);
IOMMUFD_OFF(iommu_hwpt_invalidate, entry_num, 24);
IOMMUFD_OFF(iommu_hwpt_invalidate, __reserved, 28);

/* ----------------------------------------------- 0x8e FAULT_QUEUE_ALLOC */

enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = 1 << 0,
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = 1 << 1, /* the last fault of its group */
};

enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = 1 << 0,
	IOMMU_PGFAULT_PERM_WRITE = 1 << 1,
	IOMMU_PGFAULT_PERM_EXEC = 1 << 2, /* PCIe PASID prefix: Execute Requested */
	IOMMU_PGFAULT_PERM_PRIV = 1 << 3, /* PCIe PASID prefix: Privileged Mode Requested */
};

/* A page fault record as read from a fault object's fd. */
struct iommu_hwpt_pgfault {
	iommufd_u32 flags;
	iommufd_u32 dev_id;
	iommufd_u32 pasid;
	iommufd_u32 grpid;
	iommufd_u32 perm;
	iommufd_u32 __reserved;
	iommufd_aligned_u64 addr;
	iommufd_u32 length; /* a hint of how much the requester will touch; 0 = none */
	iommufd_u32 cookie; /* echo the group's last cookie in the response */
};
IOMMUFD_SIZE(iommu_hwpt_pgfault, 40);
IOMMUFD_OFF(iommu_hwpt_pgfault, flags, 0);
IOMMUFD_OFF(iommu_hwpt_pgfault, dev_id, 4);
IOMMUFD_OFF(iommu_hwpt_pgfault, pasid, 8);
IOMMUFD_OFF(iommu_hwpt_pgfault, grpid, 12);
IOMMUFD_OFF(iommu_hwpt_pgfault, perm, 16);
IOMMUFD_OFF(iommu_hwpt_pgfault, __reserved, 20);
IOMMUFD_OFF(iommu_hwpt_pgfault, addr, 24);
IOMMUFD_OFF(iommu_hwpt_pgfault, length, 32);
IOMMUFD_OFF(iommu_hwpt_pgfault, cookie, 36);

/* Response codes, as PCIe 10.4.2.1 names them. */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0, /* tables populated, retry */
	IOMMUFD_PAGE_RESP_INVALID = 1, /* could not handle, do not retry */
};

/* A response written to a fault object's fd. */
struct iommu_hwpt_page_response {
	iommufd_u32 cookie;
	iommufd_u32 code;
};
IOMMUFD_SIZE(iommu_hwpt_page_response, 8);
IOMMUFD_OFF(iommu_hwpt_page_response, cookie, 0);
IOMMUFD_OFF(iommu_hwpt_page_response, code, 4);

struct iommu_fault_alloc {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 out_fault_id;
	iommufd_u32 out_fault_fd;
};
#define IOMMU_FAULT_QUEUE_ALLOC IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)
IOMMUFD_SIZE(iommu_fault_alloc, 16);
IOMMUFD_OFF(iommu_fault_alloc, size, 0);
IOMMUFD_OFF(iommu_fault_alloc, flags, 4);
IOMMUFD_OFF(iommu_fault_alloc, out_fault_id, 8);
IOMMUFD_OFF(iommu_fault_alloc, out_fault_fd, 12);

/* ---------------------------------------------------- 0x90 VIOMMU_ALLOC */

enum iommu_viommu_type {
	IOMMU_VIOMMU_TYPE_DEFAULT = 0, /* reserved */
	IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2,
};

/* Driver data of a Tegra241 CMDQV vIOMMU: where to mmap the VINTF page0. */
struct iommu_viommu_tegra241_cmdqv {
	iommufd_aligned_u64 out_vintf_mmap_offset;
	iommufd_aligned_u64 out_vintf_mmap_length;
};
IOMMUFD_SIZE(iommu_viommu_tegra241_cmdqv, 16);
IOMMUFD_OFF(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_offset, 0);
IOMMUFD_OFF(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_length, 8);

/* A virtual IOMMU on the physical IOMMU of dev_id, over nesting parent hwpt_id. */
struct iommu_viommu_alloc {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 type;
	iommufd_u32 dev_id;
	iommufd_u32 hwpt_id;
	iommufd_u32 out_viommu_id;
	iommufd_u32 data_len;
	iommufd_u32 __reserved;
	iommufd_aligned_u64 data_uptr;
};
#define IOMMU_VIOMMU_ALLOC IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC)
IOMMUFD_SIZE(iommu_viommu_alloc, 40);
IOMMUFD_OFF(iommu_viommu_alloc, size, 0);
IOMMUFD_OFF(iommu_viommu_alloc, flags, 4);
IOMMUFD_OFF(iommu_viommu_alloc, type, 8);
IOMMUFD_OFF(iommu_viommu_alloc, dev_id, 12);
IOMMUFD_OFF(iommu_viommu_alloc, hwpt_id, 16);
IOMMUFD_OFF(iommu_viommu_alloc, out_viommu_id, 20);
IOMMUFD_OFF(iommu_viommu_alloc, data_len, 24);
IOMMUFD_OFF(iommu_viommu_alloc, __reserved, 28);
IOMMUFD_OFF(iommu_viommu_alloc, data_uptr, 32);

/* --------------------------------------------------- 0x91 VDEVICE_ALLOC */

/* The guest's id (vSID, vDeviceID, vRID) of dev_id on viommu_id. */
struct iommu_vdevice_alloc {
	iommufd_u32 size;
	iommufd_u32 viommu_id;
	iommufd_u32 dev_id;
	iommufd_u32 out_vdevice_id;
	iommufd_aligned_u64 virt_id;
};
#define IOMMU_VDEVICE_ALLOC IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC)
IOMMUFD_SIZE(iommu_vdevice_alloc, 24);
IOMMUFD_OFF(iommu_vdevice_alloc, size, 0);
IOMMUFD_OFF(iommu_vdevice_alloc, viommu_id, 4);
IOMMUFD_OFF(iommu_vdevice_alloc, dev_id, 8);
IOMMUFD_OFF(iommu_vdevice_alloc, out_vdevice_id, 12);
IOMMUFD_OFF(iommu_vdevice_alloc, virt_id, 16);

/* --------------------------------------------- 0x92 IOAS_CHANGE_PROCESS */

/*
 * Move the pinned-memory charges of every map of the context to the calling
 * process. Only file maps qualify (EINVAL otherwise); on failure nothing
 * changes.
 */
struct iommu_ioas_change_process {
	iommufd_u32 size;
	iommufd_u32 __reserved;
};
#define IOMMU_IOAS_CHANGE_PROCESS IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)
IOMMUFD_SIZE(iommu_ioas_change_process, 8);
IOMMUFD_OFF(iommu_ioas_change_process, size, 0);
IOMMUFD_OFF(iommu_ioas_change_process, __reserved, 4);

/* ------------------------------------------------------ 0x93 VEVENTQ_ALLOC */

enum iommu_veventq_flag {
	IOMMU_VEVENTQ_FLAG_LOST_EVENTS = 1u << 0,
};

/* Header before each virtual event; sequence runs 0..INT_MAX and wraps to 0. */
struct iommufd_vevent_header {
	iommufd_u32 flags;
	iommufd_u32 sequence;
};
IOMMUFD_SIZE(iommufd_vevent_header, 8);
IOMMUFD_OFF(iommufd_vevent_header, flags, 0);
IOMMUFD_OFF(iommufd_vevent_header, sequence, 4);

enum iommu_veventq_type {
	IOMMU_VEVENTQ_TYPE_DEFAULT = 0,
	IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1,
	IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2,
};

/* A 256-bit SMMUv3 event record with the virtual StreamID, little-endian. */
struct iommu_vevent_arm_smmuv3 {
	iommufd_aligned_le64 evt[4];
};
IOMMUFD_SIZE(iommu_vevent_arm_smmuv3, 32);
IOMMUFD_OFF(iommu_vevent_arm_smmuv3, evt, 0);

struct iommu_vevent_tegra241_cmdqv {
	iommufd_aligned_le64 lvcmdq_err_map[2];
};
IOMMUFD_SIZE(iommu_vevent_tegra241_cmdqv, 16);
IOMMUFD_OFF(iommu_vevent_tegra241_cmdqv, lvcmdq_err_map, 0);

struct iommu_veventq_alloc {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 viommu_id;
	iommufd_u32 type;
	iommufd_u32 veventq_depth;
	iommufd_u32 out_veventq_id;
	iommufd_u32 out_veventq_fd;
	iommufd_u32 __reserved;
};
#define IOMMU_VEVENTQ_ALLOC IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC)
IOMMUFD_SIZE(iommu_veventq_alloc, 32);
IOMMUFD_OFF(iommu_veventq_alloc, size, 0);
IOMMUFD_OFF(iommu_veventq_alloc, flags, 4);
IOMMUFD_OFF(iommu_veventq_alloc, viommu_id, 8);
IOMMUFD_OFF(iommu_veventq_alloc, type, 12);
IOMMUFD_OFF(iommu_veventq_alloc, veventq_depth, 16);
IOMMUFD_OFF(iommu_veventq_alloc, out_veventq_id, 20);
IOMMUFD_OFF(iommu_veventq_alloc, out_veventq_fd, 24);
IOMMUFD_OFF(iommu_veventq_alloc, __reserved, 28);

/* --------------------------------------------------- 0x94 HW_QUEUE_ALLOC */

enum iommu_hw_queue_type {
	IOMMU_HW_QUEUE_TYPE_DEFAULT = 0,
	IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV = 1,
};

struct iommu_hw_queue_alloc {
	iommufd_u32 size;
	iommufd_u32 flags;
	iommufd_u32 viommu_id;
	iommufd_u32 type;
	iommufd_u32 index;
	iommufd_u32 out_hw_queue_id;
	iommufd_aligned_u64 nesting_parent_iova;
	iommufd_aligned_u64 length;
};
#define IOMMU_HW_QUEUE_ALLOC IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC)
IOMMUFD_SIZE(iommu_hw_queue_alloc, 40);
IOMMUFD_OFF(iommu_hw_queue_alloc, size, 0);
IOMMUFD_OFF(iommu_hw_queue_alloc, flags, 4);
IOMMUFD_OFF(iommu_hw_queue_alloc, viommu_id, 8);
IOMMUFD_OFF(iommu_hw_queue_alloc, type, 12);
IOMMUFD_OFF(iommu_hw_queue_alloc, index, 16);
IOMMUFD_OFF(iommu_hw_queue_alloc, out_hw_queue_id, 20);
IOMMUFD_OFF(iommu_hw_queue_alloc, nesting_parent_iova, 24);
IOMMUFD_OFF(iommu_hw_queue_alloc, length, 32);

/* The ioctl numbers themselves are part of the ABI: ';' is 0x3b. */
IOMMUFD_ASSERT_(IOMMU_DESTROY == 0x3b80, "IOMMU_DESTROY number");
IOMMUFD_ASSERT_(IOMMU_IOAS_CHANGE_PROCESS == 0x3b92, "IOMMU_IOAS_CHANGE_PROCESS number");

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_IOMMUFD_H */
