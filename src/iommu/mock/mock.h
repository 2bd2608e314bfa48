/* SPDX-License-Identifier: MIT */
/*
 * The mock IOMMU driver: a software-only IOMMU modelled on the one Linux's
 * iommufd selftest registers (drivers/iommu/iommufd/selftest.c), so the
 * iommu core and iommufd can be exercised before any hardware model runs.
 *
 *   page size      MOCK_IO_PAGE_SIZE (2 KiB, half the CPU page, as the
 *                  kernel's PAGE_SIZE / 2), plus MOCK_HUGE_PAGE_SIZE (512
 *                  small pages = 1 MiB) for endpoints created with
 *                  MOCK_FLAGS_DEVICE_HUGE_IOVA;
 *   aperture       [MOCK_APERTURE_START, MOCK_APERTURE_LAST] = 16 MiB .. 2 GiB-1;
 *   page table     a software radix tree (see mock.c), safe for concurrent
 *                  map/unmap of disjoint ranges and lock-free lookups;
 *   counters       iotlb_sync and flush_iotlb_all calls, entries mapped,
 *                  and "warnings" (the kernel mock's WARN_ONs: a double map,
 *                  an unmap that does not start where a map started...).
 *   hw_info        IOMMU_HW_INFO_TYPE_SELFTEST with test_reg = 0xdeadbeef.
 *
 * One mock instance may serve any number of endpoints. Reserved regions
 * are per instance (none by default, like the kernel's mock) and must be
 * set before endpoints are attached.
 */
#ifndef IOMMUSIM_IOMMU_MOCK_H
#define IOMMUSIM_IOMMU_MOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "iommu/iommu.h"

#define MOCK_IO_PAGE_SIZE 2048ULL
#define MOCK_HUGE_PAGE_SIZE (512ULL * MOCK_IO_PAGE_SIZE)
#define MOCK_MAX_RESV 8

/* Create a mock IOMMU instance (one reference, dropped with iommu_device_put). */
int mock_iommu_create(struct mach *m, struct iommu_device **out);
/* Add a reserved region every endpoint of @iommu reports. -ENOSPC past MOCK_MAX_RESV. */
int mock_iommu_add_resv_region(struct iommu_device *iommu, uint64_t start, uint64_t length,
			       enum iommu_resv_type type);
bool iommu_device_is_mock(const struct iommu_device *iommu);

/*
 * Create an endpoint behind @iommu with MOCK_FLAGS_DEVICE_* @dev_flags
 * (-EINVAL for unknown flags). @id is its bus id and picks its name,
 * "iommufd_mock<id>" as the kernel names its mock devices.
 */
int mock_dev_create(struct iommu_device *iommu, uint32_t id, uint32_t dev_flags,
		    struct iommu_dev **out);
/* Destroy a detached endpoint. */
void mock_dev_destroy(struct iommu_dev *dev);
uint32_t mock_dev_flags(const struct iommu_dev *dev);

bool iommu_domain_is_mock(const struct iommu_domain *d);

/* What a mock domain holds at @iova. */
struct mock_pte {
	uint64_t paddr; /* of the byte at @iova */
	uint64_t pgsize; /* MOCK_IO_PAGE_SIZE or MOCK_HUGE_PAGE_SIZE */
	int prot; /* IOMMU_READ | IOMMU_WRITE */
	bool start; /* first page of a map_pages call */
	bool last; /* last page of a map_pages call */
};
/* 0, or -ENOENT when nothing is mapped at @iova. Lock-free. */
int mock_domain_lookup(struct iommu_domain *d, uint64_t iova, struct mock_pte *pte);

struct mock_domain_stats {
	uint64_t iotlb_syncs;
	uint64_t flush_all;
	uint64_t mapped_bytes; /* currently mapped */
	uint64_t table_nodes; /* radix nodes allocated (kept until the domain is freed) */
	uint64_t warnings; /* what would have been a WARN_ON in the kernel mock */
};
void mock_domain_stats(struct iommu_domain *d, struct mock_domain_stats *st);

#endif /* IOMMUSIM_IOMMU_MOCK_H */
