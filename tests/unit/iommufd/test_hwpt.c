// SPDX-License-Identifier: MIT
/*
 * IOMMU_HWPT_ALLOC and IOMMU_GET_HW_INFO: the flag and data rules as the
 * kernel answers them, objects of the wrong type, and the mock driver's
 * hardware information (type, register value, buffer sizes, PASID width).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"
#include "selftest_util.h"

static struct fx f;
static uint32_t ioas, stdev, hwpt, idev;

static void setup(void)
{
	cr_assert_eq(fx_init(&f, 0), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(st_mock_domain(&f, ioas, &stdev, &hwpt, &idev), 0);
}

static void teardown(void)
{
	cr_assert_eq(fx_fini(&f), 0, "leak at close");
}

TestSuite(hwpt, .init = setup, .fini = teardown);

Test(hwpt, flags)
{
	uint32_t id;

	cr_assert_eq(st_hwpt_alloc(&f, idev, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &id),
		     -EOPNOTSUPP);
	cr_assert_eq(st_hwpt_alloc(&f, idev, ioas, IOMMU_HWPT_FAULT_ID_VALID, &id), -EOPNOTSUPP);
	cr_assert_eq(st_hwpt_alloc(&f, idev, ioas, 1u << 9, &id), -EOPNOTSUPP);
	cr_assert_eq(st_hwpt_alloc(&f, idev, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, &id), 0);
	cr_assert_eq(fx_destroy(&f, id), 0);
	cr_assert_eq(st_hwpt_alloc(&f, idev, ioas, IOMMU_HWPT_ALLOC_PASID, &id), 0);
	cr_assert_eq(fx_destroy(&f, id), 0);
}

Test(hwpt, fields_and_targets)
{
	struct iommu_hwpt_alloc c = { .size = sizeof(c), .dev_id = idev, .pt_id = ioas };

	c.__reserved = 1;
	cr_assert_eq(fx_ioctl(&f, IOMMU_HWPT_ALLOC, &c), -EOPNOTSUPP);
	c.__reserved = 0;
	c.data_len = 4;
	cr_assert_eq(fx_ioctl(&f, IOMMU_HWPT_ALLOC, &c), -EINVAL, "NONE with data");
	c.data_len = 0;
	c.data_type = IOMMU_HWPT_DATA_VTD_S1;
	cr_assert_eq(fx_ioctl(&f, IOMMU_HWPT_ALLOC, &c), -EINVAL, "a type without data");
	c.data_len = sizeof(struct iommu_hwpt_vtd_s1);
	c.data_uptr = 0x1000;
	cr_assert_eq(fx_ioctl(&f, IOMMU_HWPT_ALLOC, &c), -EOPNOTSUPP, "paging HWPT with data");
	c.pt_id = hwpt;
	cr_assert_eq(fx_ioctl(&f, IOMMU_HWPT_ALLOC, &c), -EOPNOTSUPP, "nested: no driver support");
	c.data_type = IOMMU_HWPT_DATA_NONE;
	c.data_len = 0;
	c.pt_id = idev;
	cr_assert_eq(fx_ioctl(&f, IOMMU_HWPT_ALLOC, &c), -EINVAL, "a device is not a page table");
	c.pt_id = 777;
	cr_assert_eq(fx_ioctl(&f, IOMMU_HWPT_ALLOC, &c), -ENOENT);
	c.pt_id = ioas;
	c.dev_id = ioas;
	cr_assert_eq(fx_ioctl(&f, IOMMU_HWPT_ALLOC, &c), -ENOENT, "dev_id must name a device");
	/* The short (original) struct still works; fault_id reads as zero. */
	c.dev_id = idev;
	c.size = 40;
	cr_assert_eq(fx_ioctl(&f, IOMMU_HWPT_ALLOC, &c), 0);
	cr_assert(c.out_hwpt_id);
	cr_assert_eq(fx_destroy(&f, c.out_hwpt_id), 0);
}

Test(hwpt, explicit_hwpt_attach_and_alignment)
{
	uint32_t a2, h, s2, out;

	cr_assert_eq(fx_ioas_alloc(&f, &a2), 0);
	cr_assert_eq(st_hwpt_alloc(&f, idev, a2, 0, &h), 0);
	cr_assert_eq(st_alignment(&f, a2, NULL, NULL), 2048, "a HWPT alone narrows its IOAS");
	cr_assert_eq(st_mock_domain(&f, h, &s2, &out, NULL), 0);
	cr_assert_eq(out, h, "attached to the given HWPT");
	cr_assert_eq(fx_destroy(&f, h), -EBUSY);
	cr_assert_eq(fx_destroy(&f, s2), 0);
	cr_assert_eq(fx_destroy(&f, h), 0, "an explicit HWPT outlives its devices");
	cr_assert_eq(st_alignment(&f, a2, NULL, NULL), 1);
}

Test(hwpt, hw_info)
{
	struct iommu_test_hw_info info;
	uint8_t big[64];
	struct iommu_hw_info c = { .size = sizeof(c), .dev_id = idev };
	uint32_t pasid_idev;
	int rc;

	memset(&info, 0xaa, sizeof(info));
	c.data_len = sizeof(info);
	c.data_uptr = (uintptr_t)&info;
	cr_assert_eq(fx_ioctl(&f, IOMMU_GET_HW_INFO, &c), 0);
	cr_assert_eq(c.out_data_type, IOMMU_HW_INFO_TYPE_SELFTEST);
	cr_assert_eq(c.data_len, sizeof(info));
	cr_assert_eq(info.test_reg, IOMMU_HW_INFO_SELFTEST_REGVAL);
	cr_assert_eq(info.flags, 0);
	cr_assert_eq(c.out_capabilities, 0);
	cr_assert_eq(c.out_max_pasid_log2, 0);

	/* A larger buffer: the data, then zeros; data_len says what the driver has. */
	memset(big, 0xff, sizeof(big));
	c.data_len = sizeof(big);
	c.data_uptr = (uintptr_t)big;
	cr_assert_eq(fx_ioctl(&f, IOMMU_GET_HW_INFO, &c), 0);
	cr_assert_eq(c.data_len, sizeof(info));
	for (size_t i = sizeof(info); i < sizeof(big); i++)
		cr_assert_eq(big[i], 0);
	/* No buffer at all is fine. */
	c.data_len = 0;
	c.data_uptr = 0;
	cr_assert_eq(fx_ioctl(&f, IOMMU_GET_HW_INFO, &c), 0);
	cr_assert_eq(c.data_len, sizeof(info));

	c.data_uptr = (uintptr_t)big; /* data_len came back as the driver's size */
	c.flags = 1u << 5;
	cr_assert_eq(fx_ioctl(&f, IOMMU_GET_HW_INFO, &c), -EOPNOTSUPP);
	c.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
	c.in_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
	cr_assert_eq(fx_ioctl(&f, IOMMU_GET_HW_INFO, &c), -EOPNOTSUPP);
	c.in_data_type = IOMMU_HW_INFO_TYPE_SELFTEST;
	rc = fx_ioctl(&f, IOMMU_GET_HW_INFO, &c);
	cr_assert_eq(rc, 0, "input type SELFTEST: %d", rc);
	c.flags = 0;
	c.in_data_type = 12345; /* ignored without the flag */
	cr_assert_eq(fx_ioctl(&f, IOMMU_GET_HW_INFO, &c), 0);
	c.__reserved[1] = 1;
	cr_assert_eq(fx_ioctl(&f, IOMMU_GET_HW_INFO, &c), -EOPNOTSUPP);
	c.__reserved[1] = 0;
	c.dev_id = ioas;
	cr_assert_eq(fx_ioctl(&f, IOMMU_GET_HW_INFO, &c), -ENOENT);

	cr_assert_eq(
		st_mock_domain_flags(&f, ioas, MOCK_FLAGS_DEVICE_PASID, NULL, NULL, &pasid_idev),
		0);
	c.dev_id = pasid_idev;
	cr_assert_eq(fx_ioctl(&f, IOMMU_GET_HW_INFO, &c), 0);
	cr_assert_eq(c.out_max_pasid_log2, MOCK_PASID_WIDTH);
}
