// SPDX-License-Identifier: MIT
/*
 * iommufd in a page: open /dev/iommu, make an I/O address space, map a
 * buffer of ours into it, attach the selftest's mock device, and let an
 * in-kernel "access" write through the IOAS into our own buffer. Then show
 * which bytes of the buffer changed.
 *
 * Runs on a kernel built with CONFIG_IOMMUFD_TEST, or anywhere under
 * iommusim:  LD_PRELOAD=libiommusim-preload.so ./iommufd_access_rw
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

#define BUF_SIZE (2 * 4096)
#define IOVA ((uint64_t)MOCK_APERTURE_START)
#define OFFSET 100

static int fail(const char *what)
{
	fprintf(stderr, "iommufd_access_rw: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	static const char msg[] = "written by DMA";
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = { .size = sizeof(map) };
	struct iommu_test_cmd mock = { .size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN };
	struct iommu_test_cmd create = { .size = sizeof(create),
					 .op = IOMMU_TEST_OP_CREATE_ACCESS };
	struct iommu_test_cmd rw = { .size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW };
	unsigned char *buf, before[BUF_SIZE];
	int fd, access_fd, changed = 0;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return fail("open /dev/iommu");
	if (ioctl(fd, IOMMU_IOAS_ALLOC, &alloc))
		return fail("IOMMU_IOAS_ALLOC");

	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return fail("mmap");
	memset(buf, '.', BUF_SIZE);
	memcpy(before, buf, BUF_SIZE);

	/* a mock device: its domain covers MOCK_APERTURE_START .. MOCK_APERTURE_LAST */
	mock.id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &mock))
		return fail("IOMMU_TEST_OP_MOCK_DOMAIN");

	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE;
	map.ioas_id = alloc.out_ioas_id;
	map.user_va = (uintptr_t)buf;
	map.length = BUF_SIZE;
	map.iova = IOVA;
	if (ioctl(fd, IOMMU_IOAS_MAP, &map))
		return fail("IOMMU_IOAS_MAP");
	printf("mapped %d bytes at user_va %p to iova 0x%llx in ioas %u\n", BUF_SIZE, (void *)buf,
	       (unsigned long long)map.iova, alloc.out_ioas_id);

	create.id = alloc.out_ioas_id;
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
	printf("access wrote %zu bytes at iova 0x%llx\n", sizeof(msg) - 1,
	       (unsigned long long)rw.access_rw.iova);

	for (int i = 0; i < BUF_SIZE; i++) {
		if (buf[i] == before[i])
			continue;
		if (!changed++)
			printf("changed bytes of the buffer:\n");
		printf("  buf[%d] 0x%02x -> 0x%02x '%c'\n", i, before[i], buf[i], buf[i]);
	}
	printf("%d bytes changed: \"%.*s\"\n", changed, (int)(sizeof(msg) - 1), buf + OFFSET);

	close(access_fd);
	close(fd);
	munmap(buf, BUF_SIZE);
	return changed == (int)(sizeof(msg) - 1) ? 0 : 1;
}
