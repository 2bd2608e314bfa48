// SPDX-License-Identifier: MIT
/*
 * IOAS area rules through the uAPI: fixed and automatic IOVA, overlap,
 * unmap granularity, memory the process does not have, read-only memory,
 * IOVA ranges, allowed IOVAs and COPY.
 */
#include "conformance.h"

Test(ioas, map_fixed_overlap_and_unmap)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(4 * PAGE);
	uint64_t iova = 0x100000, got = 0;

	cr_assert_eq(conf_map(fd, ioas, buf, 2 * PAGE, &iova, MAP_FIXED_RW), 0);
	/* any overlap with an area is EEXIST */
	iova = 0x100000 + PAGE;
	cr_assert_eq(conf_map(fd, ioas, buf, 2 * PAGE, &iova, MAP_FIXED_RW), EEXIST);
	iova = 0x100000 + 2 * PAGE;
	cr_assert_eq(conf_map(fd, ioas, buf + 2 * PAGE, 2 * PAGE, &iova, MAP_FIXED_RW), 0);
	/* areas are never split: a range cutting one fails */
	cr_assert_eq(conf_unmap(fd, ioas, 0x100000, PAGE, NULL), ENOENT);
	/* nothing mapped there */
	cr_assert_eq(conf_unmap(fd, ioas, 0x900000, PAGE, NULL), ENOENT);
	cr_assert_eq(conf_unmap(fd, ioas, 0x100000, 2 * PAGE, &got), 0);
	cr_assert_eq(got, 2 * PAGE);
	/* unmap everything: iova 0, length UINT64_MAX */
	cr_assert_eq(conf_unmap(fd, ioas, 0, UINT64_MAX, &got), 0);
	cr_assert_eq(got, 2 * PAGE);
	cr_assert_eq(conf_unmap(fd, ioas, 0, UINT64_MAX, &got), 0, "empty unmap-all succeeds");
	cr_assert_eq(got, 0);
	conf_free(buf, 4 * PAGE);
	close(fd);
}

Test(ioas, misaligned_fixed_iova_is_einval)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(2 * PAGE);
	uint64_t iova = 0x100000 + 512;

	/* with a mock domain attached the IOVA alignment is its page size */
	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	iova = MOCK_APERTURE_START + 100;
	cr_assert_eq(conf_map(fd, ioas, buf, PAGE, &iova, MAP_FIXED_RW), EINVAL);
	/* outside the mock aperture is reserved: EINVAL too */
	iova = 0x1000;
	cr_assert_eq(conf_map(fd, ioas, buf, PAGE, &iova, MAP_FIXED_RW), EINVAL);
	conf_free(buf, 2 * PAGE);
	close(fd);
}

Test(ioas, unmapped_memory_is_efault_readonly_is_eperm)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(3 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;

	/* pinning happens when a domain needs the pages */
	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	cr_assert_eq(munmap(buf + PAGE, PAGE), 0);
	cr_assert_eq(conf_map(fd, ioas, buf, 3 * PAGE, &iova, MAP_FIXED_RW), EFAULT);
	cr_assert_eq(mprotect(buf, PAGE, PROT_READ), 0);
	cr_assert_eq(conf_map(fd, ioas, buf, PAGE, &iova, MAP_FIXED_RW), EPERM);
	/* a read-only device mapping of read-only memory is fine */
	cr_assert_eq(conf_map(fd, ioas, buf, PAGE, &iova,
			      IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_FIXED_IOVA),
		     0);
	/* once the memory is back, the same range maps */
	cr_assert_eq(mmap(buf + PAGE, PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		     buf + PAGE);
	iova = MOCK_APERTURE_START + 16 * PAGE;
	cr_assert_eq(conf_map(fd, ioas, buf + PAGE, 2 * PAGE, &iova, MAP_FIXED_RW), 0);
	conf_free(buf, 3 * PAGE);
	close(fd);
}

Test(ioas, automatic_iova)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(16 * PAGE);
	uint64_t seen[4];

	for (int i = 0; i < 4; i++) {
		uint64_t iova = 0;

		cr_assert_eq(conf_map(fd, ioas, buf + i * 4 * PAGE, 4 * PAGE, &iova, MAP_RW), 0);
		cr_assert_neq(iova, 0, "automatic IOVA is never 0");
		cr_assert_eq(iova % PAGE, 0);
		for (int j = 0; j < i; j++)
			cr_assert(iova + 4 * PAGE <= seen[j] || seen[j] + 4 * PAGE <= iova,
				  "areas overlap");
		seen[i] = iova;
	}
	/* the in-page offset of user_va is kept */
	{
		uint64_t iova = 0;

		cr_assert_eq(conf_map(fd, ioas, buf + 100, 200, &iova, MAP_RW), 0);
		cr_assert_eq(iova % PAGE, 100);
	}
	conf_free(buf, 16 * PAGE);
	close(fd);
}

Test(ioas, iova_ranges_and_allow_iovas)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = ioas, .num_iovas = 0 };
	struct iommu_iova_range allow = { .start = 0x200000, .last = 0x3fffff };
	struct iommu_ioas_allow_iovas a = { .size = sizeof(a),
					    .ioas_id = ioas,
					    .num_iovas = 1,
					    .allowed_iovas = (uintptr_t)&allow };
	char *buf = conf_alloc(PAGE);
	uint64_t iova = 0;

	/* too small an array: EMSGSIZE with the count needed */
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r), EMSGSIZE);
	cr_assert_eq(r.num_iovas, 1);
	r.num_iovas = 4;
	r.allowed_iovas = (uintptr_t)ranges;
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r), 0);
	cr_assert_eq(r.num_iovas, 1);
	cr_assert_eq(ranges[0].start, 0);
	cr_assert_eq(ranges[0].last, UINT64_MAX);

	/* after a mock domain: the aperture only */
	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	r.num_iovas = 4;
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &r), 0);
	cr_assert_eq(r.num_iovas, 1);
	cr_assert_eq(ranges[0].start, MOCK_APERTURE_START);
	cr_assert_eq(ranges[0].last, MOCK_APERTURE_LAST);

	/* allowed ranges outside the aperture conflict with the reserved ones */
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &a), EADDRINUSE);
	allow.start = MOCK_APERTURE_START + 0x100000;
	allow.last = MOCK_APERTURE_START + 0x1fffff;
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &a), 0);
	cr_assert_eq(conf_map(fd, ioas, buf, PAGE, &iova, MAP_RW), 0);
	cr_assert_geq(iova, allow.start);
	cr_assert_leq(iova + PAGE - 1, allow.last);
	conf_free(buf, PAGE);
	close(fd);
}

Test(ioas, copy_shares_pages)
{
	int fd = conf_open("/dev/iommu");
	uint32_t src = conf_ioas_alloc(fd), dst = conf_ioas_alloc(fd);
	char *buf = conf_alloc(4 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;
	int rc;
	struct iommu_ioas_copy c = {
		.size = sizeof(c),
		.flags = MAP_FIXED_RW,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = 4 * PAGE,
		.dst_iova = MOCK_APERTURE_START + 0x100000,
		.src_iova = MOCK_APERTURE_START,
	};

	conf_mock_domain(fd, src, NULL, NULL, NULL);
	conf_mock_domain(fd, dst, NULL, NULL, NULL);
	cr_assert_eq(conf_map(fd, src, buf, 4 * PAGE, &iova, MAP_FIXED_RW), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 4 * PAGE, 1), 0);
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_COPY, &c), 0);
	/* pinned once, however many IOASes map it */
	cr_assert_eq(conf_check_refs(fd, buf, 4 * PAGE, 1), 0);
	/* the source range must be mapped throughout */
	c.length = 2 * PAGE;
	c.dst_iova += 0x100000;
	c.src_iova += 3 * PAGE;
	rc = conf_ioctl(fd, IOMMU_IOAS_COPY, &c);
	cr_assert_eq(rc, ENOENT, "copy of a hole: %s", strerror(rc));
	cr_assert_eq(conf_unmap(fd, src, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 4 * PAGE, 1), 0, "still mapped in dst");
	cr_assert_eq(conf_unmap(fd, dst, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 4 * PAGE, 0), 0);
	conf_free(buf, 4 * PAGE);
	close(fd);
}

/*
 * COPY takes its access rights from its own flags and, unlike MAP, does not
 * insist on READABLE or WRITEABLE: FIXED_IOVA alone is a valid copy. The
 * source range is looked up before anything about the destination is
 * checked, so a hole in the source is ENOENT whatever the flags; and a
 * destination IOAS without domains takes any byte offset, so a copy may start
 * in the middle of a page.
 */
Test(ioas, copy_without_access_flags)
{
	int fd = conf_open("/dev/iommu");
	uint32_t src = conf_ioas_alloc(fd), dst = conf_ioas_alloc(fd);
	char *buf = conf_alloc(4 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;
	struct iommu_ioas_copy c = {
		.size = sizeof(c),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA,
		.dst_ioas_id = dst,
		.src_ioas_id = src,
		.length = PAGE,
		.dst_iova = 0,
		.src_iova = MOCK_APERTURE_START,
	};
	int rc;

	conf_mock_domain(fd, src, NULL, NULL, NULL);
	cr_assert_eq(conf_map(fd, src, buf, 4 * PAGE, &iova, MAP_FIXED_RW), 0);
	/* neither READABLE nor WRITEABLE, to a fixed IOVA of 0 in another IOAS */
	rc = conf_ioctl(fd, IOMMU_IOAS_COPY, &c);
	cr_assert_eq(rc, 0, "copy with FIXED_IOVA only: %s", strerror(rc));
	/* and inside the source IOAS itself */
	c.dst_ioas_id = src;
	c.dst_iova = MOCK_APERTURE_START + 4 * PAGE;
	rc = conf_ioctl(fd, IOMMU_IOAS_COPY, &c);
	cr_assert_eq(rc, 0, "copy within one IOAS: %s", strerror(rc));
	/* a hole in the source is ENOENT, even at an odd address */
	c.dst_ioas_id = dst;
	c.dst_iova = 16 * PAGE;
	c.src_iova = MOCK_APERTURE_START - PAGE + 511;
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_COPY, &c), ENOENT);
	/* an unaligned source offset lands at any IOVA of a domain-less IOAS */
	c.src_iova = MOCK_APERTURE_START + 3 * 511;
	c.length = PAGE / 2;
	rc = conf_ioctl(fd, IOMMU_IOAS_COPY, &c);
	cr_assert_eq(rc, 0, "unaligned copy: %s", strerror(rc));
	cr_assert_eq(conf_unmap(fd, dst, 16 * PAGE, PAGE / 2, NULL), 0);
	/* the pages stay pinned once */
	cr_assert_eq(conf_check_refs(fd, buf, 4 * PAGE, 1), 0);
	cr_assert_eq(conf_unmap(fd, dst, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(conf_unmap(fd, src, 0, UINT64_MAX, NULL), 0);
	cr_assert_eq(conf_check_refs(fd, buf, 4 * PAGE, 0), 0);
	conf_free(buf, 4 * PAGE);
	close(fd);
}
