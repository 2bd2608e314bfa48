// SPDX-License-Identifier: MIT
/*
 * The rules every iommufd command shares, seen through real syscalls on
 * the simulator's fd: struct size handling, errno conventions, object ids,
 * and what the file itself answers to (read, write, mmap, poll, close).
 */
#include "conformance.h"

#include <poll.h>

#if defined(__linux__) && __has_include(<linux/types.h>)
#include <linux/types.h>
#define HAVE_LINUX_TYPES 1
#endif

Test(uapi_rules, fd_is_simulated_and_closes)
{
	int fd = conf_open("/dev/iommu");
	int fd2 = conf_open("/dev/iommu");

	cr_assert_neq(fd, fd2);
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(close(fd2), 0);
	/* a closed simulator fd is an ordinary bad fd */
	cr_assert_eq(close(fd), -1);
	cr_assert_eq(errno, EBADF);
}

Test(uapi_rules, size_below_minimum_is_einval)
{
	int fd = conf_open("/dev/iommu");
	struct iommu_ioas_alloc a = { .size = offsetof(struct iommu_ioas_alloc, out_ioas_id) };

	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_ALLOC, &a), EINVAL);
	a.size = 0;
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_ALLOC, &a), EINVAL);
	close(fd);
}

Test(uapi_rules, larger_struct_needs_zero_tail)
{
	int fd = conf_open("/dev/iommu");
	struct {
		struct iommu_ioas_alloc a;
		uint32_t extra[3];
	} big = { .a.size = sizeof(big) };

	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_ALLOC, &big), 0);
	cr_assert_eq(big.a.out_ioas_id, 1, "ids start at 1");
	big.extra[2] = 1;
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_ALLOC, &big), E2BIG);
	close(fd);
}

Test(uapi_rules, unknown_command_is_enotty)
{
	int fd = conf_open("/dev/iommu");
	uint32_t buf[16] = { sizeof(buf) };

	cr_assert_eq(conf_ioctl(fd, IOMMUFD_IO(';', 0xff), buf), ENOTTY);
	cr_assert_eq(conf_ioctl(fd, IOMMUFD_IO('x', 0x80), buf), ENOTTY);
	close(fd);
}

Test(uapi_rules, unsupported_values_and_missing_ids)
{
	int fd = conf_open("/dev/iommu");
	struct iommu_ioas_alloc a = { .size = sizeof(a), .flags = 1 };
	struct iommu_destroy d = { .size = sizeof(d), .id = 12345 };
	struct iommu_ioas_map m = {
		.size = sizeof(m), .flags = MAP_RW, .ioas_id = 77, .length = PAGE
	};
	char *buf = conf_alloc(PAGE);

	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_ALLOC, &a), EOPNOTSUPP);
	cr_assert_eq(conf_ioctl(fd, IOMMU_DESTROY, &d), ENOENT);
	m.user_va = (uintptr_t)buf;
	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_MAP, &m), ENOENT);
	conf_free(buf, PAGE);
	close(fd);
}

Test(uapi_rules, ids_are_reused_lowest_first)
{
	int fd = conf_open("/dev/iommu");
	uint32_t a = conf_ioas_alloc(fd), b = conf_ioas_alloc(fd);
	struct iommu_destroy d = { .size = sizeof(d), .id = a };

	cr_assert_eq(a, 1);
	cr_assert_eq(b, 2);
	cr_assert_eq(conf_ioctl(fd, IOMMU_DESTROY, &d), 0);
	cr_assert_eq(conf_ioctl(fd, IOMMU_DESTROY, &d), ENOENT);
	cr_assert_eq(conf_ioas_alloc(fd), 1);
	close(fd);
}

Test(uapi_rules, file_operations)
{
	int fd = conf_open("/dev/iommu");
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	char c;

	/* iommufd has no read, write or (here) mmap-able object */
	cr_assert_eq(read(fd, &c, 1), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(write(fd, &c, 1), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0), MAP_FAILED);
	cr_assert_eq(errno, ENODEV);
	/* the kernel's default poll mask: always readable and writable */
	cr_assert_eq(poll(&p, 1, 0), 1);
	cr_assert_eq(p.revents & (POLLIN | POLLOUT), POLLIN | POLLOUT);
	close(fd);
}

Test(uapi_rules, other_files_untouched)
{
	char buf[16];
	int fd = open("/dev/null", O_RDWR);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(read(fd, buf, sizeof(buf)), 0);
	cr_assert_eq(ioctl(fd, IOMMU_IOAS_ALLOC, buf), -1);
	cr_assert_eq(errno, ENOTTY);
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(open("/dev/iommu-not", O_RDWR), -1);
}

/*
 * A program written against the kernel's header hands the address of a
 * 64-bit field to code taking a __u64 pointer (the kernel selftest's map
 * helper takes &copy_cmd.src_iova as a __u64 *). Our 64-bit fields must
 * therefore be the very C type __u64 is, not merely one of the same size:
 * uint64_t is unsigned long on LP64, __u64 is unsigned long long, and GCC 14
 * rejects the mismatch as an incompatible pointer.
 */
Test(uapi_rules, u64_fields_have_the_kernel_type)
{
#ifdef HAVE_LINUX_TYPES
	struct iommu_ioas_copy c = { 0 };
	struct iommu_ioas_map m = { 0 };
	struct vfio_iommu_type1_dma_map vm = { 0 };
	__u64 *p;

	_Static_assert(__builtin_types_compatible_p(__typeof__(c.src_iova), __u64),
		       "iommu_ioas_copy.src_iova is not a __u64");
	_Static_assert(__builtin_types_compatible_p(__typeof__(m.iova), __u64),
		       "iommu_ioas_map.iova is not a __u64");
	_Static_assert(__builtin_types_compatible_p(__typeof__(vm.vaddr), __u64),
		       "vfio_iommu_type1_dma_map.vaddr is not a __u64");
	p = &c.src_iova;
	*p = 1;
	p = &m.iova;
	*p = 2;
	cr_assert_eq(c.src_iova + m.iova, 3);
	cr_assert_eq(_Alignof(__typeof__(c.src_iova)), 8);
#else
	/* no kernel uAPI types on this system: nothing to compare with */
#endif
}
