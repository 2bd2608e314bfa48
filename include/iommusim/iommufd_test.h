/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_TEST_CMD: the kernel selftest's private command, with the op
 * numbers, per-op argument structs and mock constants of Linux's
 * drivers/iommu/iommufd/iommufd_test.h, so a program written in the
 * selftest's vocabulary (tools/testing/selftests/iommu) compiles here.
 *
 * iommusim implements the ops listed in docs/iommu-core.md; the others
 * answer EOPNOTSUPP, as the kernel does for an op it does not know.
 */
#ifndef IOMMUSIM_IOMMUFD_TEST_H
#define IOMMUSIM_IOMMUFD_TEST_H

#include <iommusim/iommufd.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN = 2,
	IOMMU_TEST_OP_MD_CHECK_MAP = 3,
	IOMMU_TEST_OP_MD_CHECK_REFS = 4,
	IOMMU_TEST_OP_CREATE_ACCESS = 5,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6,
	IOMMU_TEST_OP_ACCESS_PAGES = 7,
	IOMMU_TEST_OP_ACCESS_RW = 8,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12,
	IOMMU_TEST_OP_DIRTY = 13,
	IOMMU_TEST_OP_MD_CHECK_IOTLB = 14,
	IOMMU_TEST_OP_TRIGGER_IOPF = 15,
	IOMMU_TEST_OP_DEV_CHECK_CACHE = 16,
	IOMMU_TEST_OP_TRIGGER_VEVENT = 17,
	IOMMU_TEST_OP_PASID_ATTACH = 18,
	IOMMU_TEST_OP_PASID_REPLACE = 19,
	IOMMU_TEST_OP_PASID_DETACH = 20,
	IOMMU_TEST_OP_PASID_CHECK_HWPT = 21,
	/* Newer kernels (dma-buf import); numbers only, no argument structs here. */
	IOMMU_TEST_OP_DMABUF_GET = 22,
	IOMMU_TEST_OP_DMABUF_REVOKE = 23,
};

/* The mock domain's aperture: [MOCK_APERTURE_START, MOCK_APERTURE_LAST]. */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/* access_pages.flags */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16, /* syzkaller: iova is a guess, not a real address */
};

/* access_rw.flags */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2, /* force the page-by-page path */
};

/* create_access.flags */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* mock_domain_flags.dev_flags */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0, /* the device's IOMMU cannot track dirty */
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1, /* huge pages: alignment and max pgsize grow */
	MOCK_FLAGS_DEVICE_PASID = 1 << 2, /* the device has a PASID capability */
};

enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

enum {
	MOCK_DEV_CACHE_ID_MAX = 3,
	MOCK_DEV_CACHE_NUM = 4,
};

/* A PASID the selftest keeps for its replace test. */
#define IOMMU_TEST_PASID_RESERVED 1024

/*
 * The argument of IOMMU_TEST_CMD: id names the object the op works on (an
 * IOAS, a HWPT, a mock device, an access), the union holds the op's
 * arguments, and "last" marks the command's minimum size.
 */
struct iommu_test_cmd {
	iommufd_u32 size;
	iommufd_u32 op;
	iommufd_u32 id;
	iommufd_u32 __reserved;
	union {
		struct {
			iommufd_aligned_u64 start;
			iommufd_aligned_u64 length;
		} add_reserved;
		struct {
			iommufd_u32 out_stdev_id; /* the selftest device object */
			iommufd_u32 out_hwpt_id; /* the HWPT the device was attached to */
			iommufd_u32 out_idev_id; /* the bound iommufd device object */
		} mock_domain;
		struct {
			iommufd_u32 out_stdev_id;
			iommufd_u32 out_hwpt_id;
			iommufd_u32 out_idev_id;
			iommufd_u32 dev_flags; /* MOCK_FLAGS_DEVICE_* */
		} mock_domain_flags;
		struct {
			iommufd_u32 pt_id;
		} mock_domain_replace;
		struct {
			iommufd_aligned_u64 iova;
			iommufd_aligned_u64 length;
			iommufd_aligned_u64 uptr;
		} check_map;
		struct {
			iommufd_aligned_u64 length;
			iommufd_aligned_u64 uptr;
			iommufd_u32 refs;
		} check_refs;
		struct {
			iommufd_u32 out_access_fd;
			iommufd_u32 flags;
		} create_access;
		struct {
			iommufd_u32 access_pages_id;
		} destroy_access_pages;
		struct {
			iommufd_u32 flags;
			iommufd_u32 out_access_pages_id;
			iommufd_aligned_u64 iova;
			iommufd_aligned_u64 length;
			iommufd_aligned_u64 uptr;
		} access_pages;
		struct {
			iommufd_aligned_u64 iova;
			iommufd_aligned_u64 length;
			iommufd_aligned_u64 uptr;
			iommufd_u32 flags;
		} access_rw;
		struct {
			iommufd_u32 limit;
		} memory_limit;
		struct {
			iommufd_u32 ioas_id;
		} access_replace_ioas;
		struct {
			iommufd_u32 flags;
			iommufd_aligned_u64 iova;
			iommufd_aligned_u64 length;
			iommufd_aligned_u64 page_size;
			iommufd_aligned_u64 uptr;
			iommufd_aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			iommufd_u32 id;
			iommufd_u32 iotlb;
		} check_iotlb;
		struct {
			iommufd_u32 dev_id;
			iommufd_u32 pasid;
			iommufd_u32 grpid;
			iommufd_u32 perm;
			iommufd_u64 addr; /* plain __u64 in the kernel */
		} trigger_iopf;
		struct {
			iommufd_u32 id;
			iommufd_u32 cache;
		} check_dev_cache;
		struct {
			iommufd_u32 dev_id;
		} trigger_vevent;
		struct {
			iommufd_u32 pasid;
			iommufd_u32 pt_id; /* id is the mock device */
		} pasid_attach;
		struct {
			iommufd_u32 pasid;
			iommufd_u32 pt_id;
		} pasid_replace;
		struct {
			iommufd_u32 pasid;
		} pasid_detach;
		struct {
			iommufd_u32 pasid;
			iommufd_u32 hwpt_id;
		} pasid_check;
	};
	iommufd_u32 last;
};
#define IOMMU_TEST_CMD IOMMUFD_IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

#define IOMMUFD_TEST_OFF_(field, n) IOMMUFD_OFF(iommu_test_cmd, field, n)
IOMMUFD_SIZE(iommu_test_cmd, 72);
IOMMUFD_TEST_OFF_(size, 0);
IOMMUFD_TEST_OFF_(op, 4);
IOMMUFD_TEST_OFF_(id, 8);
IOMMUFD_TEST_OFF_(__reserved, 12);
IOMMUFD_TEST_OFF_(add_reserved.start, 16);
IOMMUFD_TEST_OFF_(add_reserved.length, 24);
IOMMUFD_TEST_OFF_(mock_domain.out_stdev_id, 16);
IOMMUFD_TEST_OFF_(mock_domain.out_hwpt_id, 20);
IOMMUFD_TEST_OFF_(mock_domain.out_idev_id, 24);
IOMMUFD_TEST_OFF_(mock_domain_flags.out_stdev_id, 16);
IOMMUFD_TEST_OFF_(mock_domain_flags.out_hwpt_id, 20);
IOMMUFD_TEST_OFF_(mock_domain_flags.out_idev_id, 24);
IOMMUFD_TEST_OFF_(mock_domain_flags.dev_flags, 28);
IOMMUFD_TEST_OFF_(mock_domain_replace.pt_id, 16);
IOMMUFD_TEST_OFF_(check_map.iova, 16);
IOMMUFD_TEST_OFF_(check_map.length, 24);
IOMMUFD_TEST_OFF_(check_map.uptr, 32);
IOMMUFD_TEST_OFF_(check_refs.length, 16);
IOMMUFD_TEST_OFF_(check_refs.uptr, 24);
IOMMUFD_TEST_OFF_(check_refs.refs, 32);
IOMMUFD_TEST_OFF_(create_access.out_access_fd, 16);
IOMMUFD_TEST_OFF_(create_access.flags, 20);
IOMMUFD_TEST_OFF_(destroy_access_pages.access_pages_id, 16);
IOMMUFD_TEST_OFF_(access_pages.flags, 16);
IOMMUFD_TEST_OFF_(access_pages.out_access_pages_id, 20);
IOMMUFD_TEST_OFF_(access_pages.iova, 24);
IOMMUFD_TEST_OFF_(access_pages.length, 32);
IOMMUFD_TEST_OFF_(access_pages.uptr, 40);
IOMMUFD_TEST_OFF_(access_rw.iova, 16);
IOMMUFD_TEST_OFF_(access_rw.length, 24);
IOMMUFD_TEST_OFF_(access_rw.uptr, 32);
IOMMUFD_TEST_OFF_(access_rw.flags, 40);
IOMMUFD_TEST_OFF_(memory_limit.limit, 16);
IOMMUFD_TEST_OFF_(access_replace_ioas.ioas_id, 16);
IOMMUFD_TEST_OFF_(dirty.flags, 16);
IOMMUFD_TEST_OFF_(dirty.iova, 24);
IOMMUFD_TEST_OFF_(dirty.length, 32);
IOMMUFD_TEST_OFF_(dirty.page_size, 40);
IOMMUFD_TEST_OFF_(dirty.uptr, 48);
IOMMUFD_TEST_OFF_(dirty.out_nr_dirty, 56);
IOMMUFD_TEST_OFF_(check_iotlb.id, 16);
IOMMUFD_TEST_OFF_(check_iotlb.iotlb, 20);
IOMMUFD_TEST_OFF_(trigger_iopf.dev_id, 16);
IOMMUFD_TEST_OFF_(trigger_iopf.pasid, 20);
IOMMUFD_TEST_OFF_(trigger_iopf.grpid, 24);
IOMMUFD_TEST_OFF_(trigger_iopf.perm, 28);
IOMMUFD_TEST_OFF_(trigger_iopf.addr, 32);
IOMMUFD_TEST_OFF_(check_dev_cache.id, 16);
IOMMUFD_TEST_OFF_(check_dev_cache.cache, 20);
IOMMUFD_TEST_OFF_(trigger_vevent.dev_id, 16);
IOMMUFD_TEST_OFF_(pasid_attach.pasid, 16);
IOMMUFD_TEST_OFF_(pasid_attach.pt_id, 20);
IOMMUFD_TEST_OFF_(pasid_replace.pasid, 16);
IOMMUFD_TEST_OFF_(pasid_replace.pt_id, 20);
IOMMUFD_TEST_OFF_(pasid_detach.pasid, 16);
IOMMUFD_TEST_OFF_(pasid_check.pasid, 16);
IOMMUFD_TEST_OFF_(pasid_check.hwpt_id, 20);
IOMMUFD_TEST_OFF_(last, 64);
IOMMUFD_ASSERT_(IOMMU_TEST_CMD == 0x3ba0, "IOMMU_TEST_CMD number");

/* PASID width of the mock device / mock IOMMU. */
#define MOCK_PASID_WIDTH 20

/* GET_HW_INFO on a mock device: this type and this register value. */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef

struct iommu_test_hw_info {
	iommufd_u32 flags;
	iommufd_u32 test_reg;
};
IOMMUFD_SIZE(iommu_test_hw_info, 8);
IOMMUFD_OFF(iommu_test_hw_info, flags, 0);
IOMMUFD_OFF(iommu_test_hw_info, test_reg, 4);

/* Selftest-only data types: chosen not to collide with the real enums. */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef
#define IOMMU_TEST_DEV_CACHE_DEFAULT 0xbaddad

/* Nested mock HWPT data: the value every mock IOTLB entry starts at. */
struct iommu_hwpt_selftest {
	iommufd_u32 iotlb;
};
IOMMUFD_SIZE(iommu_hwpt_selftest, 4);
IOMMUFD_OFF(iommu_hwpt_selftest, iotlb, 0);

#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

#define IOMMU_TEST_INVALIDATE_FLAG_ALL (1 << 0) /* ignore the index, clear every entry */

struct iommu_hwpt_invalidate_selftest {
	iommufd_u32 flags;
	iommufd_u32 iotlb_id;
};
IOMMUFD_SIZE(iommu_hwpt_invalidate_selftest, 8);
IOMMUFD_OFF(iommu_hwpt_invalidate_selftest, flags, 0);
IOMMUFD_OFF(iommu_hwpt_invalidate_selftest, iotlb_id, 4);

#define IOMMU_VIOMMU_TYPE_SELFTEST 0xdeadbeef

/* Mock vIOMMU data: out_data echoes in_data; mmap window of the mock queue. */
struct iommu_viommu_selftest {
	iommufd_u32 in_data;
	iommufd_u32 out_data;
	iommufd_aligned_u64 out_mmap_offset;
	iommufd_aligned_u64 out_mmap_length;
};
IOMMUFD_SIZE(iommu_viommu_selftest, 24);
IOMMUFD_OFF(iommu_viommu_selftest, in_data, 0);
IOMMUFD_OFF(iommu_viommu_selftest, out_data, 4);
IOMMUFD_OFF(iommu_viommu_selftest, out_mmap_offset, 8);
IOMMUFD_OFF(iommu_viommu_selftest, out_mmap_length, 16);

#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

struct iommu_viommu_invalidate_selftest {
	iommufd_u32 flags;
	iommufd_u32 vdev_id;
	iommufd_u32 cache_id;
};
IOMMUFD_SIZE(iommu_viommu_invalidate_selftest, 12);
IOMMUFD_OFF(iommu_viommu_invalidate_selftest, flags, 0);
IOMMUFD_OFF(iommu_viommu_invalidate_selftest, vdev_id, 4);
IOMMUFD_OFF(iommu_viommu_invalidate_selftest, cache_id, 8);

#define IOMMU_VEVENTQ_TYPE_SELFTEST 0xbeefbeef

struct iommu_viommu_event_selftest {
	iommufd_u32 virt_id;
};
IOMMUFD_SIZE(iommu_viommu_event_selftest, 4);
IOMMUFD_OFF(iommu_viommu_event_selftest, virt_id, 0);

#define IOMMU_HW_QUEUE_TYPE_SELFTEST 0xdeadbeef
#define IOMMU_TEST_HW_QUEUE_MAX 2

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_IOMMUFD_TEST_H */
