// SPDX-License-Identifier: MIT
/*
 * Unit tests of src/iommufd/main.c: the ioctl rules (struct sizes, unknown
 * commands, bad ids and pointers), the object table (ids from 1 and reused,
 * DESTROY and EBUSY), IOMMU_OPTION RLIMIT_MODE and IOMMU_VFIO_IOAS.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"

static struct fx f;

static void setup(void)
{
	cr_assert_eq(fx_init(&f, 0), 0);
}

static void teardown(void)
{
	cr_assert_eq(fx_fini(&f), 0, "leak at close");
}

TestSuite(main, .init = setup, .fini = teardown);

Test(main, ids_start_at_one_and_are_reused)
{
	uint32_t a, b, c;

	cr_assert_eq(fx_ioas_alloc(&f, &a), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &b), 0);
	cr_assert_eq(a, 1);
	cr_assert_eq(b, 2);
	cr_assert_eq(fx_destroy(&f, a), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &c), 0);
	cr_assert_eq(c, 1, "lowest free id is reused");
}

Test(main, bad_ids)
{
	uint32_t id;
	uint64_t iova = 0;

	cr_assert_eq(fx_destroy(&f, 0), -ENOENT);
	cr_assert_eq(fx_destroy(&f, 1), -ENOENT);
	cr_assert_eq(fx_destroy(&f, 0xffffffff), -ENOENT);
	cr_assert_eq(fx_ioas_alloc(&f, &id), 0);
	cr_assert_eq(fx_map(&f, id + 1, 0x10000, PG, &iova, MAP_RW), -ENOENT);
	cr_assert_eq(fx_unmap(&f, 77, 0, PG, NULL), -ENOENT);
	cr_assert_eq(fx_destroy(&f, id), 0);
	cr_assert_eq(fx_destroy(&f, id), -ENOENT, "double destroy");
}

Test(main, size_rules)
{
	struct {
		struct iommu_ioas_alloc c;
		uint8_t tail[16];
	} big;
	struct iommu_ioas_alloc c;
	struct iommu_destroy d;

	/* below the minimum: EINVAL */
	memset(&c, 0, sizeof(c));
	c.size = offsetof(struct iommu_ioas_alloc, out_ioas_id);
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOC, &c), -EINVAL);
	c.size = 0;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOC, &c), -EINVAL);

	/* bigger with zero tail: accepted, and only the known part is written */
	memset(&big, 0, sizeof(big));
	big.c.size = sizeof(big);
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOC, &big), 0);
	cr_assert_eq(big.c.out_ioas_id, 1);
	for (unsigned i = 0; i < sizeof(big.tail); i++)
		cr_assert_eq(big.tail[i], 0);

	/* non-zero tail: E2BIG */
	big.tail[15] = 1;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOC, &big), -E2BIG);

	/* a known-field value we do not support: EOPNOTSUPP */
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = 1;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOC, &c), -EOPNOTSUPP);

	d.size = 4; /* id missing */
	d.id = 1;
	cr_assert_eq(fx_ioctl(&f, IOMMU_DESTROY, &d), -EINVAL);
}

Test(main, unknown_commands)
{
	uint32_t buf[16] = { sizeof(buf) };

	cr_assert_eq(fx_ioctl(&f, IOMMUFD_IO(';', 0x7f), buf), -ENOTTY);
	cr_assert_eq(fx_ioctl(&f, IOMMUFD_IO(';', 0xff), buf), -ENOTTY);
	cr_assert_eq(fx_ioctl(&f, IOMMUFD_IO('V', 0x80), buf), -ENOTTY, "wrong type");
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_MAP | (40ul << 16), buf), -ENOTTY,
		     "size bits are not part of iommufd numbers");
	cr_assert_eq(fx_ioctl(&f, IOMMU_VIOMMU_ALLOC, buf), -ENOTTY);
}

Test(main, bad_pointers)
{
	uint32_t id;
	struct iommu_ioas_allow_iovas a = { .size = sizeof(a) };
	struct iommu_ioas_iova_ranges r = { .size = sizeof(r) };

	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOC, NULL), -EFAULT);
	cr_assert_eq(fx_ioas_alloc(&f, &id), 0);
	a.ioas_id = id;
	a.num_iovas = 1;
	a.allowed_iovas = 0;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_ALLOW_IOVAS, &a), -EFAULT);
	r.ioas_id = id;
	r.num_iovas = 1;
	r.allowed_iovas = 8;
	cr_assert_eq(fx_ioctl(&f, IOMMU_IOAS_IOVA_RANGES, &r), -EFAULT);
}

static void noop_unmap(void *data, uint64_t iova, uint64_t length)
{
}

static const struct iommufd_access_ops noop_ops = { .unmap = noop_unmap };

Test(main, destroy_busy)
{
	struct iommufd_access *acc;
	uint32_t ioas, acc_id;

	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	acc = iommufd_access_create(f.ictx, ioas, &noop_ops, NULL, &acc_id);
	cr_assert_not_null(acc);
	cr_assert_eq(fx_destroy(&f, ioas), -EBUSY, "the access holds the IOAS");
	cr_assert_eq(fx_destroy(&f, acc_id), -EBUSY, "the creator holds the access");
	iommufd_access_destroy(acc);
	cr_assert_eq(fx_destroy(&f, acc_id), -ENOENT);
	cr_assert_eq(fx_destroy(&f, ioas), 0);
}

Test(main, close_with_objects)
{
	uint32_t a, b;
	uint64_t va = fx_mmap(&f, 64 * KiB, RW, 0), iova = 0;

	cr_assert_eq(fx_ioas_alloc(&f, &a), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &b), 0);
	cr_assert_eq(fx_add_domain(&f, a, 0), 0);
	cr_assert_eq(fx_map(&f, a, va, 64 * KiB, &iova, MAP_RW), 0);
	cr_assert_gt(fx_pinned_frames(&f), 0);
	/* the fixture detaches the domain, then closing unmaps and unpins everything */
}

Test(main, rlimit_mode_option)
{
	uint64_t val = 0;
	uint32_t id;

	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &val), 0);
	cr_assert_eq(val, 0);
	val = 2;
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val),
		     -EINVAL);
	val = 1;
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 1, &val),
		     -EOPNOTSUPP, "object_id must be 0");
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val), 0);
	val = 0;
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET, 0, &val), 0);
	cr_assert_eq(val, 1);
	cr_assert_eq(fx_option(&f, 99, IOMMU_OPTION_OP_GET, 0, &val), -EOPNOTSUPP);
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, 7, 0, &val), -EOPNOTSUPP);

	cr_assert_eq(fx_ioas_alloc(&f, &id), 0);
	val = 0;
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val), -EBUSY,
		     "objects exist");
	cr_assert_eq(fx_destroy(&f, id), 0);
	iommufd_ctx_set_privileged(f.ictx, false);
	cr_assert_eq(fx_option(&f, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET, 0, &val), -EPERM);
}

Test(main, vfio_ioas)
{
	struct iommu_vfio_ioas v = { .size = sizeof(v), .op = IOMMU_VFIO_IOAS_GET };
	uint32_t id;

	cr_assert_eq(fx_ioctl(&f, IOMMU_VFIO_IOAS, &v), -ENODEV);
	cr_assert_eq(fx_ioas_alloc(&f, &id), 0);
	v.op = IOMMU_VFIO_IOAS_SET;
	v.ioas_id = id + 5;
	cr_assert_eq(fx_ioctl(&f, IOMMU_VFIO_IOAS, &v), -ENOENT);
	v.ioas_id = id;
	cr_assert_eq(fx_ioctl(&f, IOMMU_VFIO_IOAS, &v), 0);
	v.op = IOMMU_VFIO_IOAS_GET;
	v.ioas_id = 0;
	cr_assert_eq(fx_ioctl(&f, IOMMU_VFIO_IOAS, &v), 0);
	cr_assert_eq(v.ioas_id, id);
	v.op = IOMMU_VFIO_IOAS_CLEAR;
	cr_assert_eq(fx_ioctl(&f, IOMMU_VFIO_IOAS, &v), 0);
	v.op = IOMMU_VFIO_IOAS_GET;
	cr_assert_eq(fx_ioctl(&f, IOMMU_VFIO_IOAS, &v), -ENODEV);
	v.op = 9;
	cr_assert_eq(fx_ioctl(&f, IOMMU_VFIO_IOAS, &v), -EOPNOTSUPP);
}
