// SPDX-License-Identifier: MIT
/*
 * In-kernel accesses (the selftest's access fds): reading and writing the
 * caller's memory through an IOAS, pinning through one, and the order in
 * which objects and fds may be destroyed and closed.
 */
#include "conformance.h"

Test(access, rw_reaches_the_callers_buffer)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(4 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;
	char data[64], back[64];
	int access;

	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	cr_assert_eq(conf_map(fd, ioas, buf, 4 * PAGE, &iova, MAP_FIXED_RW), 0);
	access = conf_create_access(fd, ioas, 0);
	cr_assert_geq(access, 0);

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 1);
	/* across a page boundary */
	cr_assert_eq(conf_access_rw(fd, access, iova + PAGE - 20, data, sizeof(data),
				    MOCK_ACCESS_RW_WRITE),
		     0);
	cr_assert_eq(memcmp(buf + PAGE - 20, data, sizeof(data)), 0);
	/* the program writes, the access reads */
	memset(buf + 2 * PAGE, 0x5a, sizeof(back));
	cr_assert_eq(conf_access_rw(fd, access, iova + 2 * PAGE, back, sizeof(back), 0), 0);
	for (unsigned i = 0; i < sizeof(back); i++)
		cr_assert_eq((unsigned char)back[i], 0x5a);
	/* the slow path gives the same answer */
	cr_assert_eq(conf_access_rw(fd, access, iova + 2 * PAGE, back, sizeof(back),
				    MOCK_ACCESS_RW_SLOW_PATH),
		     0);
	/* unmapped IOVA */
	cr_assert_neq(conf_access_rw(fd, access, iova + 8 * PAGE, back, 8, 0), 0);
	cr_assert_eq(close(access), 0);
	conf_free(buf, 4 * PAGE);
	close(fd);
}

Test(access, rw_without_a_domain)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(PAGE);
	uint64_t iova = 0x100000;
	int access;

	cr_assert_eq(conf_map(fd, ioas, buf, PAGE, &iova, MAP_FIXED_RW), 0);
	access = conf_create_access(fd, ioas, 0);
	cr_assert_eq(conf_access_rw(fd, access, iova + 8, "abc", 3, MOCK_ACCESS_RW_WRITE), 0);
	cr_assert_eq(memcmp(buf + 8, "abc", 3), 0);
	close(access);
	conf_free(buf, PAGE);
	close(fd);
}

Test(access, bad_access_fd_is_ebadfd)
{
	int fd = conf_open("/dev/iommu");
	char b[8];

	cr_assert_eq(conf_access_rw(fd, fd, 0x1000000, b, 8, 0), EBADFD, "the iommufd itself");
	cr_assert_eq(conf_access_rw(fd, 0, 0x1000000, b, 8, 0), EBADFD, "stdin");
	cr_assert_eq(conf_access_rw(fd, 9999, 0x1000000, b, 8, 0), EBADFD);
	close(fd);
}

Test(access, access_fd_file_operations)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	int access = conf_create_access(fd, ioas, 0);
	char c;

	cr_assert_eq(ioctl(access, IOMMU_IOAS_ALLOC, &c), -1);
	cr_assert_eq(errno, ENOTTY);
	cr_assert_eq(read(access, &c, 1), -1);
	cr_assert_eq(errno, EINVAL);
	close(access);
	close(fd);
}

Test(access, pin_pages_and_unmap)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(4 * PAGE);
	uint64_t iova = 0x200000;
	int access = conf_create_access(fd, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	struct iommu_test_cmd ap = { .size = sizeof(ap),
				     .op = IOMMU_TEST_OP_ACCESS_PAGES,
				     .id = (uint32_t)access };

	cr_assert_eq(conf_map(fd, ioas, buf, 4 * PAGE, &iova, MAP_FIXED_RW), 0);
	ap.access_pages.iova = iova;
	ap.access_pages.length = 2 * PAGE;
	ap.access_pages.uptr = (uintptr_t)buf;
	ap.access_pages.flags = MOCK_FLAGS_ACCESS_WRITE;
	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &ap), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 2 * PAGE, 1), 0);
	/* unmap tells the access, which lets go of its pins */
	cr_assert_eq(conf_unmap(fd, ioas, iova, 4 * PAGE, NULL), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 4 * PAGE, 0), 0);
	close(access);
	conf_free(buf, 4 * PAGE);
	close(fd);
}

Test(access, destroy_and_close_ordering)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd), stdev;
	struct iommu_destroy d = { .size = sizeof(d), .id = ioas };
	char *buf = conf_alloc(PAGE);
	uint64_t iova = MOCK_APERTURE_START;
	int access;

	conf_mock_domain(fd, ioas, &stdev, NULL, NULL);
	access = conf_create_access(fd, ioas, 0);
	cr_assert_eq(conf_map(fd, ioas, buf, PAGE, &iova, MAP_FIXED_RW), 0);
	/* the IOAS is held by the access and the device */
	cr_assert_eq(conf_ioctl(fd, IOMMU_DESTROY, &d), EBUSY);
	cr_assert_eq(close(access), 0);
	cr_assert_eq(conf_ioctl(fd, IOMMU_DESTROY, &d), EBUSY);
	d.id = stdev;
	cr_assert_eq(conf_ioctl(fd, IOMMU_DESTROY, &d), 0);
	d.id = ioas;
	cr_assert_eq(conf_ioctl(fd, IOMMU_DESTROY, &d), 0, "mapped areas do not hold the IOAS");
	cr_assert_eq(conf_check_refs(fd, buf, PAGE, 0), 0);
	conf_free(buf, PAGE);
	close(fd);
}

Test(access, close_iommufd_before_access_fd)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(PAGE);
	uint64_t iova = MOCK_APERTURE_START;
	int access, fd2;

	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	cr_assert_eq(conf_map(fd, ioas, buf, PAGE, &iova, MAP_FIXED_RW), 0);
	access = conf_create_access(fd, ioas, 0);
	/* the access keeps the context alive, as the kernel's access holds the file */
	cr_assert_eq(close(fd), 0);
	fd2 = conf_open("/dev/iommu");
	cr_assert_eq(conf_check_refs(fd2, buf, PAGE, 1), 0, "still pinned by the old context");
	cr_assert_eq(close(access), 0);
	cr_assert_eq(conf_check_refs(fd2, buf, PAGE, 0), 0, "released with the last fd");
	close(fd2);
	conf_free(buf, PAGE);
}
