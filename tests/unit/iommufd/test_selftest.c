// SPDX-License-Identifier: MIT
/*
 * IOMMU_TEST_CMD ops: ADD_RESERVED with automatic IOVA, MD_CHECK_MAP /
 * MD_CHECK_REFS after MAP and COPY, the access ops (CREATE_ACCESS,
 * ACCESS_PAGES, ACCESS_RW, DESTROY_ACCESS_PAGES, ACCESS_REPLACE_IOAS and
 * the unmap callback), SET_TEMP_MEMORY_LIMIT, unsupported ops, and a
 * fail-nth sweep over create-access + pin.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"
#include "selftest_util.h"

static struct fx f;

static void setup(void)
{
	cr_assert_eq(fx_init(&f, 0), 0);
}

static void teardown(void)
{
	cr_assert_eq(fx_fini(&f), 0, "leak at close");
}

TestSuite(selftest, .init = setup, .fini = teardown);

Test(selftest, add_reserved_steers_automatic_iova)
{
	uint64_t va = fx_mmap(&f, 64 * KiB, RW, 0), iova = 0;
	uint32_t ioas;

	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(st_mock_domain(&f, ioas, NULL, NULL, NULL), 0);
	/* Leave only the last MiB of the mock aperture. */
	cr_assert_eq(st_add_reserved(&f, ioas, MOCK_APERTURE_START,
				     (uint64_t)MOCK_APERTURE_LAST + 1 - MOCK_APERTURE_START - MiB),
		     0);
	cr_assert_eq(fx_map(&f, ioas, va, 64 * KiB, &iova, MAP_RW), 0);
	cr_assert_geq(iova, (uint64_t)MOCK_APERTURE_LAST + 1 - MiB);
	cr_assert_leq(iova + 64 * KiB - 1, MOCK_APERTURE_LAST);
	/* Overlapping an existing area is refused; so are empty or wrapping ranges. */
	cr_assert_eq(st_add_reserved(&f, ioas, iova, 4096), -EADDRINUSE);
	cr_assert_eq(st_add_reserved(&f, ioas, iova, 0), -EINVAL);
	cr_assert_eq(st_add_reserved(&f, ioas, UINT64_MAX - 10, 4096), -EINVAL);
	cr_assert_eq(st_add_reserved(&f, 999, 0, 4096), -ENOENT);
}

Test(selftest, check_map_and_refs_after_copy)
{
	uint64_t va = fx_mmap(&f, 128 * KiB, RW, 0), iova = 0, dst = 0;
	uint32_t a, b, hb;

	cr_assert_eq(fx_ioas_alloc(&f, &a), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &b), 0);
	cr_assert_eq(st_mock_domain(&f, b, NULL, &hb, NULL), 0);
	cr_assert_eq(st_check_refs(&f, va, 128 * KiB, 0), 0);
	cr_assert_eq(fx_map(&f, a, va, 128 * KiB, &iova, MAP_RW), 0);
	/* IOAS a has no domain: nothing needs the pages pinned yet (as the kernel). */
	cr_assert_eq(st_check_refs(&f, va, 128 * KiB, 0), 0);
	cr_assert_eq(fx_copy(&f, b, a, iova, 128 * KiB, &dst, MAP_RW), 0);
	cr_assert_eq(st_check_map(&f, hb, dst, 128 * KiB, va), 0);
	cr_assert_eq(st_check_refs(&f, va, 128 * KiB, 1), 0, "COPY shares the pages, pinned once");
	cr_assert_eq(st_check_refs(&f, va, 128 * KiB, 2), -EIO);
	cr_assert_eq(fx_unmap(&f, a, iova, 128 * KiB, NULL), 0);
	cr_assert_eq(st_check_refs(&f, va, 128 * KiB, 1), 0, "b still maps it");
	cr_assert_eq(fx_unmap(&f, b, dst, 128 * KiB, NULL), 0);
	cr_assert_eq(st_check_refs(&f, va, 128 * KiB, 0), 0);

	/* Argument rules. */
	cr_assert_eq(st_check_refs(&f, va + 1, 4096, 0), -EINVAL);
	cr_assert_eq(st_check_refs(&f, va, 100, 0), -EINVAL);
	cr_assert_eq(st_check_map(&f, hb, dst + 1, 2048, va), -EINVAL);
	cr_assert_eq(st_check_map(&f, a, dst, 2048, va), -ENOENT, "an IOAS is not a mock HWPT");
}

struct acc {
	uint32_t fd;
};

static int create_access(struct fx *fx, uint32_t ioas, uint32_t flags, uint32_t *fd)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_CREATE_ACCESS, .id = ioas };
	int rc;

	c.create_access.flags = flags;
	rc = st_cmd(fx, &c);
	if (!rc)
		*fd = c.create_access.out_access_fd;
	return rc;
}

static int access_pages(struct fx *fx, uint32_t fd, uint64_t iova, uint64_t len, uint64_t uptr,
			uint32_t flags, uint32_t *item)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_ACCESS_PAGES, .id = fd };
	int rc;

	c.access_pages.iova = iova;
	c.access_pages.length = len;
	c.access_pages.uptr = uptr;
	c.access_pages.flags = flags;
	rc = st_cmd(fx, &c);
	if (!rc && item)
		*item = c.access_pages.out_access_pages_id;
	return rc;
}

static int access_rw(struct fx *fx, uint32_t fd, uint64_t iova, void *buf, uint64_t len,
		     uint32_t flags)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_ACCESS_RW, .id = fd };

	c.access_rw.iova = iova;
	c.access_rw.length = len;
	c.access_rw.uptr = (uintptr_t)buf;
	c.access_rw.flags = flags;
	return st_cmd(fx, &c);
}

static int destroy_item(struct fx *fx, uint32_t fd, uint32_t item)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, .id = fd };

	c.destroy_access_pages.access_pages_id = item;
	return st_cmd(fx, &c);
}

Test(selftest, access_pages_rw_and_unmap_callback)
{
	uint64_t va = fx_mmap(&f, 64 * KiB, RW, 0), iova = 0;
	uint8_t buf[300], back[300];
	uint32_t ioas, fd, fd2, item, item2;
	int rc;

	st_fill(&f, va, 64 * KiB, 9);
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
	cr_assert_eq(fx_map(&f, ioas, va, 64 * KiB, &iova, MAP_RW), 0);
	cr_assert_eq(create_access(&f, ioas, 1u << 3, &fd), -EOPNOTSUPP);
	cr_assert_eq(create_access(&f, 555, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &fd),
		     -ENOENT);
	cr_assert_eq(create_access(&f, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &fd), 0);
	cr_assert_eq(create_access(&f, ioas, 0, &fd2), 0);

	cr_assert_eq(access_pages(&f, fd2, iova, 4096, 0, 0, NULL), -EOPNOTSUPP,
		     "not a pinning access");
	cr_assert_eq(access_pages(&f, fd, iova, 8192, va, 1u << 4, NULL), -EOPNOTSUPP);
	cr_assert_eq(access_pages(&f, ioas, iova, 8192, va, 0, NULL), -EBADFD);
	cr_assert_eq(access_pages(&f, fd, iova + 4096, 8192, va, 0, NULL), -EBADE, "wrong pages");
	cr_assert_eq(
		access_pages(&f, fd, iova + 4096, 8192, va + 4096, MOCK_FLAGS_ACCESS_WRITE, &item),
		0);
	/* As the kernel: a pin must start on a page boundary of the area. */
	cr_assert_eq(access_pages(&f, fd, iova + 100, 5000, va + 100, 0, &item2), -EINVAL);
	rc = access_pages(&f, fd, iova + 4 * 4096, 5000, va + 4 * 4096, 0, &item2);
	cr_assert_eq(rc, 0, "pin: %d", rc);
	cr_assert_neq(item, item2);
	/* Pages under both pins are pinned once; no domain, so the rest is unpinned. */
	cr_assert_eq(st_check_refs(&f, va + 4096, 2 * 4096, 1), 0, "accesses do not pin twice");
	cr_assert_eq(st_check_refs(&f, va + 4 * 4096, 2 * 4096, 1), 0);
	cr_assert_eq(st_check_refs(&f, va + 3 * 4096, 4096, 0), 0);
	cr_assert_eq(st_check_refs(&f, va, 4096, 0), 0);
	cr_assert_eq(st_check_refs(&f, va + 6 * 4096, 4096, 0), 0);

	/* Read through the IOAS, write back, see it in the process's memory. */
	cr_assert_eq(access_rw(&f, fd2, iova + 1000, buf, sizeof(buf), 0), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], (uint8_t)(9 + (1000 + i) * 7));
	memset(buf, 0x5a, sizeof(buf));
	cr_assert_eq(access_rw(&f, fd2, iova + 4000, buf, sizeof(buf),
			       MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH),
		     0);
	cr_assert_eq(mach_copy_from_user(f.p, back, va + 4000, sizeof(back)), 0);
	cr_assert_eq(memcmp(back, buf, sizeof(buf)), 0);
	cr_assert_eq(access_rw(&f, fd2, iova + 64 * KiB, buf, 16, 0), -ENOENT);
	cr_assert_eq(access_rw(&f, fd2, iova, buf, 16, 1u << 9), -EOPNOTSUPP);

	cr_assert_eq(destroy_item(&f, fd, item2), 0);
	cr_assert_eq(destroy_item(&f, fd, item2), -ENOENT);
	/* The user unmaps under a pinned range: the callback unpins it first. */
	cr_assert_eq(fx_unmap(&f, ioas, iova, 64 * KiB, NULL), 0);
	cr_assert_eq(destroy_item(&f, fd, item), -ENOENT, "gone with the unmap");
	cr_assert_eq(st_check_refs(&f, va, 64 * KiB, 0), 0);
	cr_assert_eq(fx_destroy(&f, fd), 0);
	cr_assert_eq(fx_destroy(&f, fd2), 0);
	cr_assert_eq(fx_destroy(&f, ioas), 0);
}

Test(selftest, access_replace_ioas)
{
	uint64_t va = fx_mmap(&f, 16 * KiB, RW, 0), vb = fx_mmap(&f, 16 * KiB, RW, 0);
	uint32_t a, b, fd, item;
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS };

	cr_assert_eq(fx_ioas_alloc(&f, &a), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &b), 0);
	cr_assert_eq(fx_map_fixed(&f, a, va, 16 * KiB, 1 * MiB), 0);
	cr_assert_eq(fx_map_fixed(&f, b, vb, 16 * KiB, 1 * MiB), 0);
	cr_assert_eq(create_access(&f, a, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &fd), 0);
	cr_assert_eq(access_pages(&f, fd, 1 * MiB, 4096, va, 0, &item), 0);
	cr_assert_eq(destroy_item(&f, fd, item), 0);
	c.id = fd;
	c.access_replace_ioas.ioas_id = b;
	cr_assert_eq(st_cmd(&f, &c), 0);
	cr_assert_eq(access_pages(&f, fd, 1 * MiB, 4096, vb, 0, NULL), 0, "now through IOAS b");
	cr_assert_eq(st_check_refs(&f, vb, 4096, 1), 0);
	/* Destroying the access "fd" unpins what it still holds. */
	cr_assert_eq(fx_destroy(&f, fd), 0);
	cr_assert_eq(fx_unmap(&f, b, 1 * MiB, 16 * KiB, NULL), 0);
	cr_assert_eq(st_check_refs(&f, vb, 16 * KiB, 0), 0);
}

Test(selftest, memory_limit_and_unsupported_ops)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT };

	c.memory_limit.limit = 11;
	cr_assert_eq(st_cmd(&f, &c), -EINVAL);
	c.memory_limit.limit = 12;
	cr_assert_eq(st_cmd(&f, &c), 0);
	c.memory_limit.limit = 65536;
	cr_assert_eq(st_cmd(&f, &c), 0);
	c.op = IOMMU_TEST_OP_DIRTY;
	cr_assert_eq(st_cmd(&f, &c), -EOPNOTSUPP);
	c.op = IOMMU_TEST_OP_PASID_ATTACH;
	cr_assert_eq(st_cmd(&f, &c), -EOPNOTSUPP);
	c.op = 1000;
	cr_assert_eq(st_cmd(&f, &c), -EOPNOTSUPP);
}

/* ------------------------------------------------------------ sweep */

struct acc_arg {
	uint32_t ioas, fd, item;
	uint64_t va, iova;
};

static int acc_setup(struct fx *fx, void *p)
{
	struct acc_arg *a = p;

	a->va = fx_mmap(fx, 64 * KiB, RW, 0);
	a->iova = 64 * MiB; /* inside the mock aperture */
	if (fx_ioas_alloc(fx, &a->ioas))
		return -1;
	if (st_mock_domain(fx, a->ioas, NULL, NULL, NULL))
		return -1;
	return fx_map_fixed(fx, a->ioas, a->va, 64 * KiB, a->iova);
}

static int acc_run(struct fx *fx, void *p)
{
	struct acc_arg *a = p;
	int rc;

	a->fd = 0;
	rc = create_access(fx, a->ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES, &a->fd);
	if (rc)
		return rc;
	return access_pages(fx, a->fd, a->iova, 32 * KiB, a->va, MOCK_FLAGS_ACCESS_WRITE, &a->item);
}

static void acc_verify(struct fx *fx, void *p, int rc)
{
	struct acc_arg *a = p;

	cr_assert_eq(st_check_refs(fx, a->va, 64 * KiB, 1), 0, "no pin drift (rc %d)", rc);
	cr_assert_eq(fx_check_ioas(fx, a->ioas), 0);
	if (rc) {
		if (a->fd)
			cr_assert_eq(fx_destroy(fx, a->fd), 0);
		cr_assert_eq(acc_run(fx, a), 0, "retry");
	}
	cr_assert_eq(fx_unmap(fx, a->ioas, a->iova, 64 * KiB, NULL), 0);
	cr_assert_eq(st_check_refs(fx, a->va, 64 * KiB, 0), 0);
}

Test(selftest, fail_nth_access)
{
	struct acc_arg a = { 0 };
	unsigned n = st_sweep(acc_setup, acc_run, acc_verify, &a);

	cr_assert_gt(n, 2, "(%u)", n);
}
