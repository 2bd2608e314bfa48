// SPDX-License-Identifier: MIT
/*
 * The shim itself: configuration, the trace file, silence, fork, threads,
 * and the example programs run unmodified under it.
 */
#include "conformance.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

#define EXAMPLES IOMMUSIM_BINARY_DIR "/examples/"

Test(shim, example_iommufd_access_rw)
{
	char out[8192];
	int rc = conf_run(EXAMPLES "iommufd_access_rw", out, sizeof(out), NULL);

	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "14 bytes changed: \"written by DMA\""), "%s", out);
	/* the shim printed nothing of its own */
	cr_assert_eq(strncmp(out, "mapped 8192 bytes", 17), 0, "%s", out);
}

Test(shim, example_vfio_container)
{
	char out[8192];
	int rc = conf_run(EXAMPLES "vfio_container", out, sizeof(out), NULL);

	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "api version 0, type1v2 yes"), "%s", out);
	cr_assert(strstr(out, "27 bytes changed at buffer offset 4096"), "%s", out);
	cr_assert(strstr(out, "unmapped 16384 bytes"), "%s", out);
}

Test(shim, bad_config_fails_open_with_message)
{
	char out[8192];
	int rc = conf_run(EXAMPLES "iommufd_access_rw", out, sizeof(out), "no_such_key=1");

	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "iommusim: IOMMUSIM_CONFIG: unknown key 'no_such_key'"), "%s", out);
	cr_assert(strstr(out, "open /dev/iommu: Invalid argument"), "%s", out);

	rc = conf_run(EXAMPLES "iommufd_access_rw", out, sizeof(out), "mem_size=12Q");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "bad value '12Q' for key 'mem_size'"), "%s", out);

	rc = conf_run(EXAMPLES "iommufd_access_rw", out, sizeof(out), "/nonexistent/iommusim.conf");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "cannot read '/nonexistent/iommusim.conf'"), "%s", out);
}

Test(shim, bad_config_in_process)
{
	setenv("IOMMUSIM_CONFIG", "backing=paper", 1);
	cr_assert_eq(open("/dev/iommu", O_RDWR), -1);
	cr_assert_eq(errno, EINVAL);
	/* fixed configuration: the next open works */
	setenv("IOMMUSIM_CONFIG", "backing=owned mem_size=256M", 1);
	close(conf_open("/dev/iommu"));
}

Test(shim, config_file_and_trace)
{
	char conf[] = "/tmp/iommusim-conf-XXXXXX", trace[] = "/tmp/iommusim-trace-XXXXXX";
	char out[8192], text[65536];
	int cfd = mkstemp(conf), tfd = mkstemp(trace);
	const char body[] = "# a comment\nmem_size=128M\n\nvfio.dma_entry_limit=on  # type1's\n"
			    "trace.events=iommufd:*\n";
	ssize_t n;
	int rc;

	cr_assert_geq(cfd, 0);
	cr_assert_geq(tfd, 0);
	cr_assert_eq(write(cfd, body, sizeof(body) - 1), (ssize_t)sizeof(body) - 1);
	close(cfd);
	setenv("IOMMUSIM_TRACE", trace, 1);
	rc = conf_run(EXAMPLES "vfio_container", out, sizeof(out), conf);
	unsetenv("IOMMUSIM_TRACE");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "dma mappings available 65535"), "%s", out);
	n = read(tfd, text, sizeof(text) - 1);
	cr_assert_gt(n, 0, "the trace is empty");
	text[n] = '\0';
	cr_assert(strstr(text, "iommufd:ioctl"), "%s", text);
	close(tfd);
	unlink(conf);
	unlink(trace);
}

Test(shim, fork_child_gets_dead_fds_and_fresh_simulator)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	int status;
	pid_t pid;

	cr_assert_eq(ioas, 1);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct iommu_ioas_alloc a = { .size = sizeof(a) };
		int bad = 0, fd2;
		char c;

		/* the parent's simulator is not reachable from here */
		bad |= ioctl(fd, IOMMU_IOAS_ALLOC, &a) != -1 || errno != EBADF;
		bad |= (read(fd, &c, 1) != -1 || errno != EBADF) << 1;
		bad |= (close(fd) != 0) << 2;
		/* a new open is a fresh, empty simulator */
		fd2 = open("/dev/iommu", O_RDWR);
		bad |= (fd2 < 0) << 3;
		bad |= (ioctl(fd2, IOMMU_IOAS_ALLOC, &a) != 0 || a.out_ioas_id != 1) << 4;
		close(fd2);
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "child check mask 0x%x", WEXITSTATUS(status));
	/* the parent's context is untouched */
	cr_assert_eq(conf_ioas_alloc(fd), 2);
	close(fd);
}

struct worker {
	int fd;
	uint32_t ioas;
	int errors;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char *buf =
		mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	for (int i = 0; i < 200; i++) {
		struct iommu_ioas_map m = { .size = sizeof(m),
					    .flags = MAP_RW,
					    .ioas_id = w->ioas,
					    .user_va = (uintptr_t)buf,
					    .length = 4 * PAGE };
		struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = w->ioas };

		if (ioctl(w->fd, IOMMU_IOAS_MAP, &m)) {
			w->errors++;
			continue;
		}
		u.iova = m.iova;
		u.length = 4 * PAGE;
		if (ioctl(w->fd, IOMMU_IOAS_UNMAP, &u) || u.length != 4 * PAGE)
			w->errors++;
		/* and fds opened and closed concurrently */
		if (i % 50 == 0) {
			int fd = open("/dev/iommu", O_RDWR);

			if (fd < 0 || close(fd))
				w->errors++;
		}
	}
	munmap(buf, 4 * PAGE);
	return NULL;
}

Test(shim, threads_share_a_context)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	struct worker w[8];
	pthread_t t[8];

	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ .fd = fd, .ioas = ioas };
		cr_assert_eq(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].errors, 0, "thread %d", i);
	}
	close(fd);
}
