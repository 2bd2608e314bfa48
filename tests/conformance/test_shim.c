// SPDX-License-Identifier: MIT
/*
 * The shim itself: configuration, the trace file, silence, fork, threads,
 * and the example programs run unmodified under it.
 */
#include "conformance.h"

#include <linux/capability.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

static void set_memlock(rlim_t bytes)
{
	struct rlimit rl;

	cr_assert_eq(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	rl.rlim_cur = bytes;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < bytes)
		rl.rlim_max = bytes;
	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0, "setrlimit: %s", strerror(errno));
}

/* Is @fd one of the simulator's memfds named @name ("iommusim-access")? */
static bool is_sim_fd(int fd, const char *name)
{
	char link[64], target[256] = "";

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (readlink(link, target, sizeof(target) - 1) <= 0)
		return false;
	return strstr(target, name) != NULL;
}

/*
 * A test command larger than the struct the simulator knows, with a zero
 * tail (accepted, as copy_struct_from_user does): the access fd still
 * goes in and out translated. A set tail is E2BIG.
 */
Test(shim, test_cmd_larger_than_known_struct)
{
	int fd = conf_open("/dev/iommu");
	uint32_t ioas = conf_ioas_alloc(fd);
	char *buf = conf_alloc(2 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;
	struct {
		struct iommu_test_cmd c;
		uint64_t tail[2];
	} big;
	const uint32_t size = sizeof(big.c) + sizeof(big.tail);
	int access;

	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	cr_assert_eq(conf_map(fd, ioas, buf, 2 * PAGE, &iova, MAP_FIXED_RW), 0);

	memset(&big, 0, sizeof(big));
	big.c = (struct iommu_test_cmd){ .size = size,
					 .op = IOMMU_TEST_OP_CREATE_ACCESS,
					 .id = ioas };
	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &big), 0, "CREATE_ACCESS");
	cr_assert_eq(big.c.size, size);
	cr_assert_eq(big.c.id, ioas);
	cr_assert_eq(big.tail[0] | big.tail[1], 0);
	access = (int)big.c.create_access.out_access_fd;
	cr_assert(is_sim_fd(access, "memfd:iommusim-access"), "out_access_fd %d is no access fd",
		  access);

	memset(&big, 0, sizeof(big));
	big.c = (struct iommu_test_cmd){ .size = size,
					 .op = IOMMU_TEST_OP_ACCESS_RW,
					 .id = (uint32_t)access };
	big.c.access_rw.iova = iova + PAGE - 2;
	big.c.access_rw.length = 5;
	big.c.access_rw.uptr = (uintptr_t) "hello";
	big.c.access_rw.flags = MOCK_ACCESS_RW_WRITE;
	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &big), 0, "ACCESS_RW");
	cr_assert_eq(memcmp(buf + PAGE - 2, "hello", 5), 0);
	/* the caller's struct still names the fd */
	cr_assert_eq(big.c.id, (uint32_t)access);
	cr_assert_eq(big.c.size, size);

	/* a byte set past the known struct: refused before anything is done */
	big.tail[1] = 1;
	big.c.access_rw.uptr = (uintptr_t) "HELLO";
	cr_assert_eq(conf_ioctl(fd, IOMMU_TEST_CMD, &big), E2BIG);
	cr_assert_eq(memcmp(buf + PAGE - 2, "hello", 5), 0);
	cr_assert_eq(big.c.id, (uint32_t)access);

	cr_assert_eq(close(access), 0);
	conf_free(buf, 2 * PAGE);
	close(fd);
}

/*
 * An fd number closed behind the shim's back (a raw close system call, as
 * close_range or dup2 onto it would) and handed out again by the kernel:
 * the file the slot still held is dropped as close() drops it, so its
 * context goes, and with it the pins and the memlock charge of its
 * domain. Access fds and iommufd fds alike.
 */
Test(shim, fd_closed_behind_the_shims_back_is_released)
{
	char *buf = conf_alloc(8 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;
	int a = conf_open("/dev/iommu"), acc, b, acc2;
	uint32_t ioas = conf_ioas_alloc(a), ioas_b;

	set_memlock(8 * PAGE);
	conf_mock_domain(a, ioas, NULL, NULL, NULL);
	cr_assert_eq(conf_map(a, ioas, buf, 8 * PAGE, &iova, MAP_FIXED_RW), 0);
	acc = conf_create_access(a, ioas, 0);
	cr_assert_eq(syscall(SYS_close, a), 0);
	cr_assert_eq(syscall(SYS_close, acc), 0);

	/* the lowest free numbers come back in order: a, then acc */
	b = conf_open("/dev/iommu");
	cr_assert_eq(b, a);
	ioas_b = conf_ioas_alloc(b);
	/* the old access still holds the old context, which still pins */
	cr_assert_eq(conf_check_refs(b, buf, 8 * PAGE, 1), 0);
	acc2 = conf_create_access(b, ioas_b, 0);
	cr_assert_eq(acc2, acc);
	/* now nothing holds it: unpinned and uncharged */
	cr_assert_eq(conf_check_refs(b, buf, 8 * PAGE, 0), 0);
	conf_mock_domain(b, ioas_b, NULL, NULL, NULL);
	iova = MOCK_APERTURE_START;
	cr_assert_eq(conf_map(b, ioas_b, buf, 8 * PAGE, &iova, MAP_FIXED_RW), 0);
	/* and the new files work */
	cr_assert_eq(conf_access_rw(b, acc2, iova, "x", 1, MOCK_ACCESS_RW_WRITE), 0);
	cr_assert_eq(buf[0], 'x');
	cr_assert_eq(close(acc2), 0);
	cr_assert_eq(close(b), 0);
	conf_free(buf, 8 * PAGE);
}

/* CAP_IPC_LOCK of the calling thread's effective set: set or clear it. */
static void set_cap_ipc_lock(bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	cr_assert_eq(syscall(SYS_capget, &hdr, data), 0);
	if (on)
		data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective |= CAP_TO_MASK(CAP_IPC_LOCK);
	else
		data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	cr_assert_eq(syscall(SYS_capset, &hdr, data), 0, "capset: %s", strerror(errno));
}

/* CapEff of /proc/self/status: the answer from another source than the shim's */
static bool proc_cap_ipc_lock(void)
{
	FILE *f = fopen("/proc/thread-self/status", "r");
	unsigned long long eff = 0;
	char line[256];

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> CAP_IPC_LOCK) & 1;
}

/* cap_ipc_lock=host follows the real capability, read before every ioctl */
Test(shim, cap_ipc_lock_host_follows_the_process)
{
	char *buf = conf_alloc(16 * PAGE);
	uint64_t iova = MOCK_APERTURE_START;
	int fd, want;
	uint32_t ioas;
	bool cap;

	setenv("IOMMUSIM_CONFIG", "cap_ipc_lock=host", 1);
	fd = conf_open("/dev/iommu");
	ioas = conf_ioas_alloc(fd);
	conf_mock_domain(fd, ioas, NULL, NULL, NULL);
	set_memlock(4 * PAGE);
	cap = proc_cap_ipc_lock();
	want = cap ? 0 : ENOMEM;
	cr_assert_eq(conf_map(fd, ioas, buf, 8 * PAGE, &iova, MAP_FIXED_RW), want, "CapEff %d",
		     cap);
	if (!cap) {
		conf_free(buf, 16 * PAGE);
		close(fd);
		cr_skip_test("no CAP_IPC_LOCK to drop");
	}
	/* dropped from the effective set: the very next map is limited */
	set_cap_ipc_lock(false);
	cr_assert_not(proc_cap_ipc_lock());
	iova = MOCK_APERTURE_START + 8 * PAGE;
	cr_assert_eq(conf_map(fd, ioas, buf + 8 * PAGE, 8 * PAGE, &iova, MAP_FIXED_RW), ENOMEM);
	set_cap_ipc_lock(true);
	cr_assert_eq(conf_map(fd, ioas, buf + 8 * PAGE, 8 * PAGE, &iova, MAP_FIXED_RW), 0);
	conf_free(buf, 16 * PAGE);
	close(fd);
}
