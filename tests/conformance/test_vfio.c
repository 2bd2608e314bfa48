// SPDX-License-Identifier: MIT
/*
 * VFIO type1 container ioctls: on /dev/iommu through IOMMU_VFIO_IOAS (the
 * kernel's compatibility path) and on the shim's /dev/vfio/vfio container.
 */
#include "conformance.h"

#include <stdlib.h>

static void *get_info(int fd, uint32_t *argsz)
{
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	struct vfio_iommu_type1_info *info;

	cr_assert_eq(conf_ioctl(fd, VFIO_IOMMU_GET_INFO, &probe), 0);
	cr_assert(probe.flags & VFIO_IOMMU_INFO_CAPS);
	cr_assert(probe.flags & VFIO_IOMMU_INFO_PGSIZES);
	cr_assert_eq(probe.cap_offset, 0, "no room: no chain");
	cr_assert_gt(probe.argsz, sizeof(probe));
	info = calloc(1, probe.argsz);
	info->argsz = probe.argsz;
	cr_assert_eq(conf_ioctl(fd, VFIO_IOMMU_GET_INFO, info), 0);
	cr_assert_eq(info->argsz, probe.argsz);
	cr_assert_eq(info->cap_offset, sizeof(*info));
	*argsz = probe.argsz;
	return info;
}

static struct vfio_info_cap_header *find_cap(void *info, uint16_t id)
{
	uint32_t off = ((struct vfio_iommu_type1_info *)info)->cap_offset;

	while (off) {
		struct vfio_info_cap_header *h = (void *)((char *)info + off);

		if (h->id == id)
			return h;
		off = h->next;
	}
	return NULL;
}

static int map_dma(int fd, void *va, uint64_t iova, uint64_t size, uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m = { .argsz = sizeof(m),
					      .flags = flags,
					      .vaddr = (uintptr_t)va,
					      .iova = iova,
					      .size = size };

	return conf_ioctl(fd, VFIO_IOMMU_MAP_DMA, &m);
}

static int unmap_dma(int fd, uint64_t iova, uint64_t size, uint32_t flags, uint64_t *out)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .flags = flags, .iova = iova, .size = size
	};
	int rc = conf_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &u);

	if (!rc && out)
		*out = u.size;
	return rc;
}

#define RW (VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)

Test(vfio, version_and_extensions)
{
	int fd = conf_open("/dev/iommu");

	cr_assert_eq(ioctl(fd, VFIO_GET_API_VERSION), VFIO_API_VERSION);
	cr_assert_eq(ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU), 1);
	cr_assert_eq(ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
	cr_assert_eq(ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UNMAP_ALL), 1);
	cr_assert_eq(ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR), 0);
	cr_assert_eq(ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU), 0);
	cr_assert_eq(ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_SPAPR_TCE_IOMMU), 0);
	cr_assert_eq(conf_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, NULL), ENOTTY);
	close(fd);
}

Test(vfio, compat_ioas_get_set_clear)
{
	int fd = conf_open("/dev/iommu");
	struct iommu_vfio_ioas v = { .size = sizeof(v), .op = IOMMU_VFIO_IOAS_GET };
	uint32_t ioas;

	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), ENODEV);
	/* a container with no group: SET_IOMMU and the rest fail */
	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -1);
	cr_assert_eq(errno, ENODEV);
	ioas = conf_ioas_alloc(fd);
	v.op = IOMMU_VFIO_IOAS_SET;
	v.ioas_id = ioas;
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), 0);
	v.op = IOMMU_VFIO_IOAS_GET;
	v.ioas_id = 0;
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), 0);
	cr_assert_eq(v.ioas_id, ioas);
	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, 99), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	v.op = IOMMU_VFIO_IOAS_SET;
	v.ioas_id = 999;
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), ENOENT);
	v.op = 7;
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), EOPNOTSUPP);
	v.op = IOMMU_VFIO_IOAS_CLEAR;
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), 0);
	v.op = IOMMU_VFIO_IOAS_GET;
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), ENODEV);
	close(fd);
}

Test(vfio, get_info_chain_with_mock_domain)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd), argsz;
	struct iommu_vfio_ioas v = { .size = sizeof(v),
				     .op = IOMMU_VFIO_IOAS_SET,
				     .ioas_id = ioas };
	struct vfio_iommu_type1_info_cap_iova_range *r;
	struct vfio_iommu_type1_info_dma_avail *a;
	struct vfio_iommu_type1_info *info;
	struct vfio_iommu_type1_info tiny = { .argsz = 8 };

	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), 0);
	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	cr_assert_eq(conf_ioctl(fd, VFIO_IOMMU_GET_INFO, &tiny), EINVAL, "argsz below minimum");

	info = get_info(fd, &argsz);
	cr_assert(info->iova_pgsizes & PAGE, "4 KiB pages are usable");
	cr_assert_eq(info->iova_pgsizes & (PAGE - 1), 0);
	r = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	cr_assert_not_null(r);
	cr_assert_eq(r->header.version, 1);
	cr_assert_eq(r->nr_iovas, 1);
	cr_assert_eq(r->iova_ranges[0].start, MOCK_APERTURE_START);
	cr_assert_eq(r->iova_ranges[0].end, MOCK_APERTURE_LAST);
	a = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL);
	cr_assert_not_null(a);
	cr_assert_eq(a->avail, UINT32_MAX, "no mapping limit unless configured");
	free(info);
	close(fd);
}

Test(vfio, map_unmap_type1v2)
{
	int fd = conf_open("/dev/vfio/vfio");
	char *buf = conf_alloc(8 * PAGE);
	uint64_t done = 0;
	struct vfio_iommu_type1_dma_map short_map = { .argsz = 16 };

	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	cr_assert_eq(conf_ioctl(fd, VFIO_IOMMU_MAP_DMA, &short_map), EINVAL);
	cr_assert_eq(map_dma(fd, buf, 0x100000, 4 * PAGE, RW | VFIO_DMA_MAP_FLAG_VADDR), EINVAL);
	cr_assert_eq(map_dma(fd, buf, 0x100000, 4 * PAGE, 0), EINVAL, "no direction");
	cr_assert_eq(map_dma(fd, buf + 8, 0x100000, 4 * PAGE, RW), EINVAL, "unaligned vaddr");
	cr_assert_eq(map_dma(fd, buf, 0x100000 + 8, 4 * PAGE, RW), EINVAL, "unaligned iova");
	cr_assert_eq(map_dma(fd, buf, 0x100000, 0, RW), EINVAL, "empty");
	cr_assert_eq(map_dma(fd, buf, 0x100000, 4 * PAGE, RW), 0);
	cr_assert_eq(map_dma(fd, buf, 0x100000 + PAGE, PAGE, RW), EEXIST);
	cr_assert_eq(map_dma(fd, buf + 4 * PAGE, 0x200000, 4 * PAGE, VFIO_DMA_MAP_FLAG_READ), 0);

	/* v2 never bisects a mapping */
	cr_assert_neq(unmap_dma(fd, 0x100000, PAGE, 0, NULL), 0);
	cr_assert_eq(unmap_dma(fd, 0x100000, 4 * PAGE, 0, &done), 0);
	cr_assert_eq(done, 4 * PAGE);
	cr_assert_eq(unmap_dma(fd, 0x200000, PAGE, VFIO_DMA_UNMAP_FLAG_ALL, NULL), EINVAL);
	cr_assert_eq(unmap_dma(fd, 0, 0, VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, NULL), EINVAL);
	cr_assert_eq(unmap_dma(fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done), 0);
	cr_assert_eq(done, 4 * PAGE);
	conf_free(buf, 8 * PAGE);
	close(fd);
}

Test(vfio, container_without_device_has_whole_space)
{
	int fd = conf_open("/dev/vfio/vfio");
	struct vfio_iommu_type1_info_cap_iova_range *r;
	uint32_t argsz;
	void *info;

	cr_assert_eq(conf_ioctl(fd, VFIO_IOMMU_GET_INFO,
				&(struct vfio_iommu_type1_info){
					.argsz = sizeof(struct vfio_iommu_type1_info) }),
		     ENODEV, "nothing before SET_IOMMU");
	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	info = get_info(fd, &argsz);
	r = (void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE);
	cr_assert_not_null(r);
	cr_assert_eq(r->nr_iovas, 1);
	cr_assert_eq(r->iova_ranges[0].start, 0);
	cr_assert_eq(r->iova_ranges[0].end, UINT64_MAX);
	free(info);
	close(fd);
}

Test(vfio, map_dma_memory_checks)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	struct iommu_vfio_ioas v = { .size = sizeof(v),
				     .op = IOMMU_VFIO_IOAS_SET,
				     .ioas_id = ioas };
	char *buf = conf_alloc(2 * PAGE);

	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), 0);
	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	cr_assert_eq(mprotect(buf, PAGE, PROT_READ), 0);
	cr_assert_eq(map_dma(fd, buf, MOCK_APERTURE_START, PAGE, RW), EPERM);
	cr_assert_eq(munmap(buf + PAGE, PAGE), 0);
	cr_assert_eq(map_dma(fd, buf + PAGE, MOCK_APERTURE_START, PAGE, RW), EFAULT);
	cr_assert_eq(map_dma(fd, buf, MOCK_APERTURE_START, PAGE, VFIO_DMA_MAP_FLAG_READ), 0);
	cr_assert_eq(conf_check_refs(fd, buf, PAGE, 1), 0);
	conf_free(buf, PAGE);
	close(fd);
}

Test(vfio, dma_entry_limit)
{
	char *buf;
	uint32_t argsz;
	void *info;
	int fd;

	setenv("IOMMUSIM_CONFIG", "vfio.dma_entry_limit=3", 1);
	fd = conf_open("/dev/vfio/vfio");
	buf = conf_alloc(8 * PAGE);
	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(map_dma(fd, buf + i * PAGE, 0x100000 + i * PAGE, PAGE, RW), 0);
	cr_assert_eq(map_dma(fd, buf + 3 * PAGE, 0x100000 + 3 * PAGE, PAGE, RW), ENOSPC);
	info = get_info(fd, &argsz);
	cr_assert_eq(((struct vfio_iommu_type1_info_dma_avail *)find_cap(
			      info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL))
			     ->avail,
		     0);
	free(info);
	cr_assert_eq(unmap_dma(fd, 0x100000, PAGE, 0, NULL), 0);
	cr_assert_eq(map_dma(fd, buf + 3 * PAGE, 0x100000 + 3 * PAGE, PAGE, RW), 0);
	/* the limit is type1's: the iommufd IOAS_MAP on the same IOAS is not counted */
	conf_free(buf, 8 * PAGE);
	close(fd);
}

/*
 * Type1 (v1) may unmap part of a mapping: the mapping is cut at both ends of
 * the range and only the middle goes. Here one 16-page mapping on a container
 * backed by a mock domain is taken apart page by page in a shuffled order
 * (fixed seed); every unmap reports exactly one page, the domain keeps the
 * rest mapped, and at the end nothing stays pinned. Type1v2 on the same
 * layout refuses (iommufd's whole-area rule).
 */
static void unmap_pieces(int version)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd), hwpt = 0;
	struct iommu_vfio_ioas v = { .size = sizeof(v),
				     .op = IOMMU_VFIO_IOAS_SET,
				     .ioas_id = ioas };
	enum { N = 16 };
	char *buf = conf_alloc(N * PAGE);
	unsigned int order[N], i, seed = 1234;
	uint64_t done = 0;

	conf_mock_domain(fd, ioas, NULL, &hwpt, NULL);
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), 0);
	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, version), 0);
	memset(buf, 0x5a, N * PAGE);
	cr_assert_eq(map_dma(fd, buf, MOCK_APERTURE_START, N * PAGE, RW), 0);
	cr_assert_eq(conf_check_refs(fd, buf, N * PAGE, 1), 0);
	for (i = 0; i != N; i++)
		order[i] = i;
	for (i = N - 1; i; i--) {
		unsigned int j = rand_r(&seed) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	if (version == VFIO_TYPE1v2_IOMMU) {
		cr_assert_eq(unmap_dma(fd, MOCK_APERTURE_START + order[0] * PAGE, PAGE, 0, NULL),
			     ENOENT);
		cr_assert_eq(unmap_dma(fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done), 0);
		cr_assert_eq(done, N * PAGE);
		goto out;
	}
	for (i = 0; i != N; i++) {
		struct iommu_test_cmd check = {
			.size = sizeof(check),
			.op = IOMMU_TEST_OP_MD_CHECK_MAP,
			.id = hwpt,
			.check_map = { .iova = MOCK_APERTURE_START + order[i] * PAGE,
				       .length = PAGE,
				       .uptr = (uintptr_t)buf + order[i] * PAGE },
		};
		int rc;

		/* still mapped in the domain until its own unmap */
		cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &check), 0, "page %u (seed 1234)",
			     order[i]);
		rc = unmap_dma(fd, MOCK_APERTURE_START + order[i] * PAGE, PAGE, 0, &done);
		cr_assert_eq(rc, 0, "unmap of page %u: %s (seed 1234)", order[i], strerror(rc));
		cr_assert_eq(done, PAGE);
		cr_assert_neq(conf_ioctl(fd, IOMMU_TEST_CMD, &check), 0, "page %u left mapped",
			      order[i]);
	}
	cr_assert_eq(unmap_dma(fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done), 0);
	cr_assert_eq(done, 0, "nothing left after the pieces");
out:
	cr_assert_eq(conf_check_refs(fd, buf, N * PAGE, 0), 0);
	conf_free(buf, N * PAGE);
	close(fd);
}

Test(vfio, type1_unmaps_part_of_a_mapping)
{
	unmap_pieces(VFIO_TYPE1_IOMMU);
}

Test(vfio, type1v2_does_not_cut)
{
	unmap_pieces(VFIO_TYPE1v2_IOMMU);
}

/* A range some access has pinned is not cut (the kernel's rule): EINVAL. */
Test(vfio, type1_cut_refused_under_an_access)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	struct iommu_vfio_ioas v = { .size = sizeof(v),
				     .op = IOMMU_VFIO_IOAS_SET,
				     .ioas_id = ioas };
	struct iommu_test_cmd create = {
		.size = sizeof(create),
		.op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas,
		.create_access = { .flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES }
	};
	struct iommu_test_cmd pin = { .size = sizeof(pin), .op = IOMMU_TEST_OP_ACCESS_PAGES };
	char *buf = conf_alloc(4 * PAGE);
	uint64_t done = 0;

	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	cr_assert_eq(conf_ioctl(fd, IOMMU_VFIO_IOAS, &v), 0);
	cr_assert_eq(ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU), 0);
	cr_assert_eq(map_dma(fd, buf, MOCK_APERTURE_START, 4 * PAGE, RW), 0);
	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &create), 0);
	pin.id = create.create_access.out_access_fd;
	pin.access_pages.iova = MOCK_APERTURE_START;
	pin.access_pages.length = PAGE;
	pin.access_pages.uptr = (uintptr_t)buf;
	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &pin), 0);
	cr_assert_eq(unmap_dma(fd, MOCK_APERTURE_START + 2 * PAGE, PAGE, 0, NULL), EINVAL);
	cr_assert_eq(close((int)pin.id), 0);
	/* with the access gone the cut works */
	cr_assert_eq(unmap_dma(fd, MOCK_APERTURE_START + 2 * PAGE, PAGE, 0, &done), 0);
	cr_assert_eq(done, PAGE);
	cr_assert_eq(unmap_dma(fd, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL, &done), 0);
	cr_assert_eq(done, 3 * PAGE);
	conf_free(buf, 4 * PAGE);
	close(fd);
}
