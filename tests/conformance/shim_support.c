// SPDX-License-Identifier: MIT
/*
 * Support for the conformance tier: the re-exec under the shim and small
 * wrappers around the uAPI that assert what every test relies on.
 */
#include "conformance.h"

#include <link.h>
#include <stdlib.h>
#include <sys/wait.h>

#define SHIM_PATH IOMMUSIM_BINARY_DIR "/libiommusim-preload.so"

static char preload_env[4096];

/* The sanitizer runtime this executable loaded, if it is a shared object. */
static int find_asan(struct dl_phdr_info *info, size_t size, void *data)
{
	char *out = data;

	(void)size;
	if (info->dlpi_name && (strstr(info->dlpi_name, "libasan.so") ||
				strstr(info->dlpi_name, "libclang_rt.asan"))) {
		snprintf(out, 2048, "%s", info->dlpi_name);
		return 1;
	}
	return 0;
}

const char *conf_preload_env(void)
{
	if (!preload_env[0]) {
		char asan[2048] = "";

		dl_iterate_phdr(find_asan, asan);
		snprintf(preload_env, sizeof(preload_env), "%s%s%s", asan, asan[0] ? ":" : "",
			 SHIM_PATH);
	}
	return preload_env;
}

/*
 * Before main: if the shim is not loaded, run this same program again with
 * it. The marker variable stops a loop if the loader dropped LD_PRELOAD.
 */
__attribute__((constructor)) static void conf_reexec(int argc, char **argv)
{
	const char *cur = getenv("LD_PRELOAD");

	(void)argc;
	if ((cur && strstr(cur, "libiommusim-preload.so")) || getenv("IOMMUSIM_CONFORMANCE_REEXEC"))
		return;
	setenv("IOMMUSIM_CONFORMANCE_REEXEC", "1", 1);
	setenv("LD_PRELOAD", conf_preload_env(), 1);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "conformance: cannot re-execute under the shim: %s\n", strerror(errno));
}

int conf_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

int conf_open(const char *path)
{
	char link[64], target[256] = "";
	int fd = open(path, O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	cr_assert_gt(readlink(link, target, sizeof(target) - 1), 0);
	cr_assert(strstr(target, "memfd:iommusim"), "%s is not the simulator's: %s", path, target);
	return fd;
}

uint32_t conf_ioas_alloc(int fd)
{
	struct iommu_ioas_alloc a = { .size = sizeof(a) };

	cr_assert_eq(conf_ioctl(fd, IOMMU_IOAS_ALLOC, &a), 0);
	cr_assert_neq(a.out_ioas_id, 0);
	return a.out_ioas_id;
}

void conf_mock_domain(int fd, uint32_t pt_id, uint32_t *stdev, uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd c = { .size = sizeof(c),
				    .op = IOMMU_TEST_OP_MOCK_DOMAIN,
				    .id = pt_id };

	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &c), 0, "MOCK_DOMAIN");
	if (stdev)
		*stdev = c.mock_domain.out_stdev_id;
	if (hwpt)
		*hwpt = c.mock_domain.out_hwpt_id;
	if (idev)
		*idev = c.mock_domain.out_idev_id;
}

void *conf_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	memset(p, 0, len);
	return p;
}

void conf_free(void *p, size_t len)
{
	munmap(p, len);
}

int conf_map(int fd, uint32_t ioas, void *va, uint64_t len, uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = flags,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova ? *iova : 0,
	};
	int rc = conf_ioctl(fd, IOMMU_IOAS_MAP, &m);

	if (!rc && iova)
		*iova = m.iova;
	return rc;
}

int conf_unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *unmapped)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = ioas, .iova = iova, .length = len
	};
	int rc = conf_ioctl(fd, IOMMU_IOAS_UNMAP, &u);

	if (!rc && unmapped)
		*unmapped = u.length;
	return rc;
}

int conf_check_refs(int fd, void *va, uint64_t len, uint32_t refs)
{
	struct iommu_test_cmd c = { .size = sizeof(c), .op = IOMMU_TEST_OP_MD_CHECK_REFS };

	c.check_refs.uptr = (uintptr_t)va;
	c.check_refs.length = len;
	c.check_refs.refs = refs;
	return conf_ioctl(fd, IOMMU_TEST_CMD, &c);
}

int conf_create_access(int fd, uint32_t ioas, uint32_t flags)
{
	struct iommu_test_cmd c = { .size = sizeof(c),
				    .op = IOMMU_TEST_OP_CREATE_ACCESS,
				    .id = ioas };

	c.create_access.flags = flags;
	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &c), 0, "CREATE_ACCESS");
	return (int)c.create_access.out_access_fd;
}

int conf_access_rw(int fd, int access, uint64_t iova, void *data, uint64_t len, uint32_t flags)
{
	struct iommu_test_cmd c = { .size = sizeof(c),
				    .op = IOMMU_TEST_OP_ACCESS_RW,
				    .id = (uint32_t)access };

	c.access_rw.iova = iova;
	c.access_rw.length = len;
	c.access_rw.uptr = (uintptr_t)data;
	c.access_rw.flags = flags;
	return conf_ioctl(fd, IOMMU_TEST_CMD, &c);
}

int conf_run(const char *prog, char *out, size_t outlen, const char *config)
{
	int pipefd[2], status;
	size_t used = 0;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		setenv("LD_PRELOAD", conf_preload_env(), 1);
		if (config)
			setenv("IOMMUSIM_CONFIG", config, 1);
		else
			unsetenv("IOMMUSIM_CONFIG");
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t n = read(pipefd[0], out + used, outlen - 1 - used);

		if (n <= 0)
			break;
		used += (size_t)n;
		if (used == outlen - 1)
			break;
	}
	out[used] = '\0';
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
