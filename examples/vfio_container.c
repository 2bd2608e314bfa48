// SPDX-License-Identifier: MIT
/*
 * The same idea through a VFIO type1 container: check the API and the
 * type1v2 extension, pick the IOMMU, read the IOVA ranges from the
 * GET_INFO capability chain, map a buffer with MAP_DMA, have an access
 * write into it (the container fd is an iommufd, so the selftest command
 * works on it), print the changed bytes and unmap.
 *
 * On a real system a group must be attached to the container before
 * VFIO_SET_IOMMU; under iommusim the container stands for one.
 *   LD_PRELOAD=libiommusim-preload.so ./vfio_container
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <iommusim/iommufd.h>
#include <iommusim/iommufd_test.h>
#include <iommusim/vfio.h>

#define BUF_SIZE (4 * 4096)
#define IOVA 0x100000ULL
#define OFFSET 4096

static int fail(const char *what)
{
	fprintf(stderr, "vfio_container: %s: %s\n", what, strerror(errno));
	return 1;
}

static int show_info(int fd)
{
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	struct vfio_iommu_type1_info *info;
	uint32_t off;

	/* the first call says how big the capability chain is */
	if (ioctl(fd, VFIO_IOMMU_GET_INFO, &probe))
		return fail("VFIO_IOMMU_GET_INFO");
	info = calloc(1, probe.argsz);
	if (!info)
		return fail("calloc");
	info->argsz = probe.argsz;
	if (ioctl(fd, VFIO_IOMMU_GET_INFO, info)) {
		free(info);
		return fail("VFIO_IOMMU_GET_INFO");
	}
	printf("iova_pgsizes 0x%llx\n", (unsigned long long)info->iova_pgsizes);
	for (off = info->cap_offset; off;) {
		struct vfio_info_cap_header *hdr = (void *)((char *)info + off);

		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *cap = (void *)hdr;

			for (uint32_t i = 0; i < cap->nr_iovas; i++)
				printf("iova range 0x%llx-0x%llx\n",
				       (unsigned long long)cap->iova_ranges[i].start,
				       (unsigned long long)cap->iova_ranges[i].end);
		} else if (hdr->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			printf("dma mappings available %u\n",
			       ((struct vfio_iommu_type1_info_dma_avail *)hdr)->avail);
		}
		off = hdr->next;
	}
	free(info);
	return 0;
}

int main(void)
{
	static const char msg[] = "hello through the container";
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	struct iommu_vfio_ioas get = { .size = sizeof(get), .op = IOMMU_VFIO_IOAS_GET };
	struct iommu_test_cmd create = { .size = sizeof(create),
					 .op = IOMMU_TEST_OP_CREATE_ACCESS };
	struct iommu_test_cmd rw = { .size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW };
	unsigned char *buf;
	int fd, access_fd, changed = 0;

	fd = open("/dev/vfio/vfio", O_RDWR);
	if (fd < 0)
		return fail("open /dev/vfio/vfio");
	printf("api version %d, type1v2 %s\n", ioctl(fd, VFIO_GET_API_VERSION),
	       ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1 ? "yes" : "no");
	if (ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		return fail("VFIO_SET_IOMMU");
	if (show_info(fd))
		return 1;

	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail("mmap");
	memset(buf, 0, BUF_SIZE);

	map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	map.vaddr = (uintptr_t)buf;
	map.iova = IOVA;
	map.size = BUF_SIZE;
	if (ioctl(fd, VFIO_IOMMU_MAP_DMA, &map))
		return fail("VFIO_IOMMU_MAP_DMA");
	printf("mapped %d bytes at iova 0x%llx\n", BUF_SIZE, IOVA);

	/* the container's address space is an IOAS: let an access write into it */
	if (ioctl(fd, IOMMU_VFIO_IOAS, &get))
		return fail("IOMMU_VFIO_IOAS");
	create.id = get.ioas_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &create))
		return fail("IOMMU_TEST_OP_CREATE_ACCESS");
	access_fd = (int)create.create_access.out_access_fd;
	rw.id = (uint32_t)access_fd;
	rw.access_rw.iova = IOVA + OFFSET;
	rw.access_rw.length = sizeof(msg) - 1;
	rw.access_rw.uptr = (uintptr_t)msg;
	rw.access_rw.flags = MOCK_ACCESS_RW_WRITE;
	if (ioctl(fd, IOMMU_TEST_CMD, &rw))
		return fail("IOMMU_TEST_OP_ACCESS_RW");
	close(access_fd);

	for (int i = 0; i < BUF_SIZE; i++)
		changed += buf[i] != 0;
	printf("%d bytes changed at buffer offset %d: \"%.*s\"\n", changed, OFFSET,
	       (int)(sizeof(msg) - 1), buf + OFFSET);

	unmap.iova = IOVA;
	unmap.size = BUF_SIZE;
	if (ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap))
		return fail("VFIO_IOMMU_UNMAP_DMA");
	printf("unmapped %llu bytes\n", (unsigned long long)unmap.size);

	close(fd);
	munmap(buf, BUF_SIZE);
	return changed == (int)(sizeof(msg) - 1) ? 0 : 1;
}
