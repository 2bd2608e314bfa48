// SPDX-License-Identifier: MIT
/*
 * Pinned-page accounting against the real process's RLIMIT_MEMLOCK (read
 * by the shim at every ioctl, so setrlimit takes effect at once), and page
 * references through IOMMU_TEST_OP_MD_CHECK_REFS.
 */
#include "conformance.h"

#include <sys/resource.h>

static void set_memlock(rlim_t bytes)
{
	struct rlimit rl;

	cr_assert_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	rl.rlim_cur = bytes;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < bytes)
		rl.rlim_max = bytes;
	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0, "setrlimit: %s", strerror(errno));
}

Test(accounting, rlimit_memlock_limits_pinning)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(32 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;

	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	set_memlock(8 * PAGE);
	cr_assert_eq(conf_map(fd, ioas, buf, 16 * PAGE, &iova, MAP_FIXED_RW), ENOMEM);
	/* nothing stays pinned after the failure */
	cr_assert_eq(conf_check_refs(fd, buf, 16 * PAGE, 0), 0);
	cr_assert_eq(conf_map(fd, ioas, buf, 8 * PAGE, &iova, MAP_FIXED_RW), 0);
	iova += 8 * PAGE;
	cr_assert_eq(conf_map(fd, ioas, buf + 8 * PAGE, PAGE, &iova, MAP_FIXED_RW), ENOMEM);
	/* raising the limit is seen by the next map */
	set_memlock(64 * PAGE);
	cr_assert_eq(conf_map(fd, ioas, buf + 8 * PAGE, 8 * PAGE, &iova, MAP_FIXED_RW), 0);
	/* unmapping returns the charge */
	cr_assert_eq(conf_unmap(fd, ioas, 0, UINT64_MAX, NULL), 0);
	set_memlock(16 * PAGE);
	iova = MOCK_APERTURE_START;
	cr_assert_eq(conf_map(fd, ioas, buf, 16 * PAGE, &iova, MAP_FIXED_RW), 0);
	conf_free(buf, 32 * PAGE);
	close(fd);
}

/* attach failing on the memlock limit must roll back cleanly (and not hang) */
Test(accounting, attach_pins_what_was_mapped, .timeout = 20)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(16 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;
	struct iommu_test_cmd md = { .size = sizeof(md),
				     .op = IOMMU_TEST_OP_MOCK_DOMAIN,
				     .id = ioas };

	set_memlock(4 * PAGE);
	/* no domain: nothing is pinned yet, so nothing is charged */
	cr_assert_eq(conf_map(fd, ioas, buf, 16 * PAGE, &iova, MAP_FIXED_RW), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 16 * PAGE, 0), 0);
	/* the domain needs every page: over the limit */
	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &md), ENOMEM);
	set_memlock(16 * PAGE);
	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &md), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 16 * PAGE, 1), 0);
	conf_free(buf, 16 * PAGE);
	close(fd);
}

Test(accounting, check_refs_follows_map_and_unmap)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(8 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;

	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	cr_assert_eq(conf_check_refs(fd, buf, 8 * PAGE, 0), 0);
	cr_assert_eq(conf_map(fd, ioas, buf, 4 * PAGE, &iova, MAP_FIXED_RW), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 4 * PAGE, 1), 0);
	cr_assert_eq(conf_check_refs(fd, buf + 4 * PAGE, 4 * PAGE, 0), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 4 * PAGE, 0), EIO, "a wrong count fails");
	cr_assert_eq(conf_unmap(fd, ioas, iova, 4 * PAGE, NULL), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 8 * PAGE, 0), 0);
	conf_free(buf, 8 * PAGE);
	close(fd);
}

Test(accounting, rlimit_mode_option)
{
	int fd = conf_open("/dev/iommu");
	struct iommu_option o = { .size = sizeof(o),
				  .option_id = IOMMU_OPTION_RLIMIT_MODE,
				  .op = IOMMU_OPTION_OP_GET };

	cr_assert_eq(conf_ioctl(fd, IOMMU_OPTION, &o), 0);
	cr_assert_eq(o.val64, 0, "/dev/iommu accounts per user");
	o.op = IOMMU_OPTION_OP_SET;
	o.val64 = 1;
	cr_assert_eq(conf_ioctl(fd, IOMMU_OPTION, &o), 0);
	o.op = IOMMU_OPTION_OP_GET;
	cr_assert_eq(conf_ioctl(fd, IOMMU_OPTION, &o), 0);
	cr_assert_eq(o.val64, 1);
	/* only while the context holds no object */
	conf_ioas_alloc(fd);
	o.op = IOMMU_OPTION_OP_SET;
	o.val64 = 0;
	cr_assert_eq(conf_ioctl(fd, IOMMU_OPTION, &o), EBUSY);
	close(fd);

	fd = conf_open("/dev/vfio/vfio");
	o.op = IOMMU_OPTION_OP_GET;
	cr_assert_eq(conf_ioctl(fd, IOMMU_OPTION, &o), 0);
	cr_assert_eq(o.val64, 1, "/dev/vfio/vfio accounts per process, as VFIO");
	close(fd);
}
