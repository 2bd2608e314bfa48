// SPDX-License-Identifier: MIT
/*
 * libiommusim-preload.so: run unmodified iommufd / VFIO programs against the
 * simulator. With the library in LD_PRELOAD, open("/dev/iommu") and
 * open("/dev/vfio/vfio") return a real file descriptor (a memfd, so close,
 * poll, dup-free bookkeeping and fd numbering behave as the kernel's) whose
 * ioctls, reads, writes, mmaps and close are served by a simulated machine
 * living inside the process. Every other call passes to the next definition
 * (libc) untouched.
 *
 * Why a global: an LD_PRELOAD shim stands in for the kernel, and there is
 * one kernel per process. The interposed entry points get nothing but an fd
 * number, so the fd -> simulator-file table and the machine behind it must
 * be reachable from a process-wide anchor. That anchor (struct shim_state
 * `S` below) is the only mutable global of the project outside tests; the
 * simulator library it drives keeps all its state in context objects.
 *
 * Data
 *   S.files[fd]   struct shim_file for fds the simulator owns, NULL else.
 *                 Readers load the slot with an acquire load: the common
 *                 case (not ours) costs one load and no lock. A non-NULL
 *                 slot is re-read under S.lock and its refcount taken.
 *   shim_file     one open file description: an iommufd context (opened
 *                 as /dev/iommu or /dev/vfio/vfio) or an access fd handed
 *                 out by IOMMU_TEST_OP_CREATE_ACCESS. refs = 1 for the
 *                 table + 1 per call in flight; the last put releases it.
 *   shim_ctx      an iommufd context; refs = 1 per file using it (its own
 *                 fd, and every access fd created on it, as the kernel's
 *                 access holds the iommufd file). The last put closes it.
 *   The machine, its user and the simulated process are created at the
 *   first open and live until exit (like the kernel, locked_vm and pins
 *   outlive any one fd).
 *
 * Locking: S.lock guards the table, refcounts and machine creation; it is
 * never held across a simulator call. S.hostmem.lock serialises address
 * space syncs (hostmem.c). The simulator's own calls are thread-safe.
 *
 * fork(): the simulator state stays with the parent. In the child every
 * inherited simulator fd is dead: ioctl/read/write/mmap give EBADF and close
 * just closes the real fd. Opening /dev/iommu in the child builds a fresh,
 * empty simulator. (A kernel child would share the parent's iommufd file
 * while its own mm differs; the selftests that test exactly that are out of
 * scope, see docs/preload.md.) The parent's copied state is kept reachable
 * in the child and never touched.
 *
 * Allocation: plain malloc/free of whatever allocator the host program
 * uses; the shim links no allocator of its own.
 */
#undef _FORTIFY_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <iommusim/fault.h>
#include <iommusim/iommufd.h>
#include <iommusim/iommufd_ctx.h>
#include <iommusim/iommufd_test.h>
#include <iommusim/machine.h>
#include <iommusim/trace.h>
#include <iommusim/vfio.h>

#include "iommufd/vfio_compat.h"
#include "preload/shim.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* ------------------------------------------------------------ libc */

struct shim_real {
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	int (*close)(int);
	int (*ioctl)(int, unsigned long, ...);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	void *(*mmap64)(void *, size_t, int, int, int, off64_t);
};

/* ------------------------------------------------------------ state */

enum shim_kind {
	SHIM_IOMMUFD, /* /dev/iommu */
	SHIM_CONTAINER, /* /dev/vfio/vfio: an iommufd context in VFIO mode */
	SHIM_ACCESS, /* an access fd of IOMMU_TEST_OP_CREATE_ACCESS */
};

struct shim_ctx {
	unsigned int refs; /* under S.lock */
	struct iommufd_ctx *ictx;
	bool container;
};

struct shim_file {
	unsigned int refs; /* under S.lock */
	enum shim_kind kind;
	bool stale; /* inherited across fork: dead */
	int fd;
	struct shim_ctx *ctx;
	uint32_t handle; /* SHIM_ACCESS: the simulator's number for the access */
	struct shim_file *stale_next;
};

/* A simulator left behind by fork (child side): kept reachable, never used. */
struct shim_orphan {
	struct mach *mach;
	struct mach_user *user;
	struct mach_proc *proc;
	struct shim_orphan *next;
};

struct shim_state {
	pthread_mutex_t lock;
	struct shim_file **files; /* [0, nfiles); published with release stores */
	int nfiles;
	unsigned int nctx; /* contexts alive */

	struct mach *mach;
	struct mach_user *user;
	struct mach_proc *proc;
	struct shim_config cfg;
	FILE *trace_out;
	struct shim_hostmem hostmem;

	bool child; /* this process was forked from one that had a simulator */
	struct shim_file *stale; /* closed inherited files (child) */
	struct shim_orphan *orphans;
};

static struct shim_real real;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static struct shim_state S = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void resolve_real(void)
{
#define R(field, name) real.field = (__typeof__(real.field))dlsym(RTLD_NEXT, name)
	R(open, "open");
	R(open64, "open64");
	R(openat, "openat");
	R(openat64, "openat64");
	R(open_2, "__open_2");
	R(open64_2, "__open64_2");
	R(openat_2, "__openat_2");
	R(openat64_2, "__openat64_2");
	R(close, "close");
	R(ioctl, "ioctl");
	R(read, "read");
	R(write, "write");
	R(mmap, "mmap");
	R(mmap64, "mmap64");
#undef R
}

static inline void need_real(void)
{
	pthread_once(&real_once, resolve_real);
}

/* ------------------------------------------------------------ fork */

static void atfork_prepare(void)
{
	pthread_mutex_lock(&S.lock);
	pthread_mutex_lock(&S.hostmem.lock);
	/* buffered trace text must not be written twice (once per process) */
	if (S.trace_out)
		fflush(S.trace_out);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&S.hostmem.lock);
	pthread_mutex_unlock(&S.lock);
}

static void atfork_child(void)
{
	pthread_mutex_init(&S.lock, NULL);
	pthread_mutex_init(&S.hostmem.lock, NULL);
	if (S.mach) {
		struct shim_orphan *o = malloc(sizeof(*o));

		/* keep the parent's copy reachable: it is not ours to free */
		if (o) {
			*o = (struct shim_orphan){ S.mach, S.user, S.proc, S.orphans };
			S.orphans = o;
		}
		S.mach = NULL;
		S.user = NULL;
		S.proc = NULL;
		S.trace_out = NULL; /* the parent's stream: left alone */
		S.nctx = 0;
		free(S.hostmem.r);
		S.hostmem.r = NULL;
		S.hostmem.nr = S.hostmem.cap = 0;
	}
	for (int fd = 0; fd < S.nfiles; fd++)
		if (S.files[fd])
			S.files[fd]->stale = true;
	S.child = true;
}

static void install_atfork(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* ------------------------------------------------------------ simulator */

static uint64_t host_rlimit_memlock(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return MACH_RLIM_INFINITY;
	return rl.rlim_cur;
}

/*
 * CAP_IPC_LOCK in the effective set of the real calling thread, the set the
 * kernel's capable() checks. One capget(2), because this runs before every
 * ioctl (parsing /proc/self/status made each ioctl many times slower).
 * Version 3 headers take two data words; pid 0 is the calling thread. An
 * error reads as "not held".
 */
static bool host_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return (data[CAP_TO_INDEX(CAP_IPC_LOCK)].effective & CAP_TO_MASK(CAP_IPC_LOCK)) != 0;
}

/* Trace file name: "%p" becomes the pid, so forked and exec'd processes can differ. */
static FILE *open_trace(const char *pattern, bool append)
{
	char path[4096];
	size_t o = 0;

	for (const char *p = pattern; *p && o + 24 < sizeof(path); p++) {
		if (p[0] == '%' && p[1] == 'p') {
			o += (size_t)snprintf(path + o, sizeof(path) - o, "%d", (int)getpid());
			p++;
		} else {
			path[o++] = *p;
		}
	}
	path[o] = '\0';
	return fopen(path, append ? "ae" : "we");
}

/* Build the machine on first use. Held: S.lock. 0 or -errno (message printed). */
static int sim_create_locked(void)
{
	struct mach_config mc = { 0 };
	const char *trace_path = getenv("IOMMUSIM_TRACE");
	char err[256];
	int rc;

	if (S.mach)
		return 0;
	rc = shim_config_parse(getenv("IOMMUSIM_CONFIG"), &S.cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "iommusim: IOMMUSIM_CONFIG: %s\n", err);
		return rc;
	}
	mc.mem_size = S.cfg.mem_size;
	mc.backing = S.cfg.dataless ? MACH_BACKING_DATALESS : MACH_BACKING_OWNED;
	mc.seed = S.cfg.seed;
	rc = mach_create(&mc, &S.mach);
	if (rc) {
		fprintf(stderr, "iommusim: cannot create the simulated machine: %s\n",
			strerror(-rc));
		return rc;
	}
	rc = mach_user_get(S.mach, (uint32_t)getuid(), &S.user);
	if (rc)
		goto err_mach;
	rc = mach_proc_create(S.mach, S.user, &S.proc);
	if (rc)
		goto err_user;
	if (trace_path && *trace_path) {
		S.trace_out = open_trace(trace_path, S.child);
		if (!S.trace_out) {
			rc = -errno;
			fprintf(stderr, "iommusim: IOMMUSIM_TRACE: cannot open '%s': %s\n",
				trace_path, strerror(errno));
			goto err_proc;
		}
		if (trace_enable_pattern(mach_trace(S.mach), S.cfg.trace_events) < 0) {
			fprintf(stderr, "iommusim: trace.events: no event matches '%s'\n",
				S.cfg.trace_events);
			rc = -EINVAL;
			goto err_trace;
		}
	}
	shim_hostmem_init(&S.hostmem);
	return 0;

err_trace:
	fclose(S.trace_out);
	S.trace_out = NULL;
err_proc:
	mach_proc_destroy(S.proc);
	S.proc = NULL;
err_user:
	mach_user_put(S.user);
	S.user = NULL;
err_mach:
	mach_destroy(S.mach);
	S.mach = NULL;
	return rc;
}

/* Update the simulated process from the real one before anything pins. */
static void sim_refresh_limits(void)
{
	bool cap;

	mach_proc_set_rlimit_memlock(S.proc, host_rlimit_memlock());
	switch (S.cfg.cap_ipc_lock) {
	case SHIM_CAP_ON:
		cap = true;
		break;
	case SHIM_CAP_HOST:
		cap = host_cap_ipc_lock();
		break;
	default:
		cap = false;
		break;
	}
	mach_proc_set_cap_ipc_lock(S.proc, cap);
}

static void trace_flush_locked(void)
{
	if (S.trace_out && S.mach) {
		trace_flush_text(mach_trace(S.mach), S.trace_out);
		fflush(S.trace_out);
	}
}

/* ------------------------------------------------------------ fd table */

/*
 * The grower stores the new array, then (release) the new count. Loading the
 * count first (acquire) and the array after makes any array seen at least as
 * large as the count: an older array with a newer count cannot be paired.
 */
static struct shim_file *slot_load(int fd)
{
	int nfiles = __atomic_load_n(&S.nfiles, __ATOMIC_ACQUIRE);
	struct shim_file **files;

	if (fd < 0 || fd >= nfiles)
		return NULL;
	files = __atomic_load_n(&S.files, __ATOMIC_ACQUIRE);
	return __atomic_load_n(&files[fd], __ATOMIC_ACQUIRE);
}

/* The file behind @fd with a reference, or NULL when the fd is not ours. */
static struct shim_file *file_get(int fd)
{
	struct shim_file *f;

	if (!slot_load(fd))
		return NULL;
	pthread_mutex_lock(&S.lock);
	f = slot_load(fd);
	if (f)
		f->refs++;
	pthread_mutex_unlock(&S.lock);
	return f;
}

/* Held: S.lock. Returns the context to close when this was its last user. */
static struct iommufd_ctx *ctx_put_locked(struct shim_ctx *c)
{
	struct iommufd_ctx *ictx = NULL;

	if (--c->refs == 0) {
		ictx = c->ictx;
		free(c);
		S.nctx--;
	}
	return ictx;
}

static void access_release(struct shim_file *f);

/* Drop a reference; the last one releases the simulator side. */
static void file_put(struct shim_file *f)
{
	struct iommufd_ctx *close_ictx = NULL;

	pthread_mutex_lock(&S.lock);
	if (--f->refs) {
		pthread_mutex_unlock(&S.lock);
		return;
	}
	if (f->stale) {
		/* the parent's: keep it reachable, never touch its simulator */
		f->stale_next = S.stale;
		S.stale = f;
		pthread_mutex_unlock(&S.lock);
		return;
	}
	pthread_mutex_unlock(&S.lock);

	if (f->kind == SHIM_ACCESS)
		access_release(f);
	pthread_mutex_lock(&S.lock);
	close_ictx = ctx_put_locked(f->ctx);
	pthread_mutex_unlock(&S.lock);
	if (close_ictx)
		iommufd_ctx_close(close_ictx);
	free(f);
	pthread_mutex_lock(&S.lock);
	if (!S.nctx)
		trace_flush_locked();
	pthread_mutex_unlock(&S.lock);
}

/* Held: S.lock. Make room for @fd in the table. */
static int table_grow_locked(int fd)
{
	struct shim_file **n;
	int ncap;

	if (fd < S.nfiles)
		return 0;
	ncap = S.nfiles ? S.nfiles : 256;
	while (ncap <= fd)
		ncap *= 2;
	/*
	 * The old array stays allocated (readers may hold it without the
	 * lock); it is small and grows by doubling, so the waste is bounded
	 * by the final size. It is kept reachable through the new array's tail.
	 */
	n = calloc((size_t)ncap + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	if (S.files)
		memcpy(n, S.files, (size_t)S.nfiles * sizeof(*n));
	n[ncap] = (struct shim_file *)S.files;
	__atomic_store_n(&S.files, n, __ATOMIC_RELEASE);
	__atomic_store_n(&S.nfiles, ncap, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Give @f the real fd and publish it. The fd or -errno (the caller cleans up).
 *
 * The slot may still hold a file: its fd number was closed behind the
 * shim's back (syscall(SYS_close), close_range, dup2 onto it) and the kernel
 * has now handed the number to this memfd. That file is dropped as close()
 * drops it (its real fd is already gone), so it and its context are released.
 */
static int file_install(struct shim_file *f, const char *name, bool cloexec)
{
	struct shim_file *old = NULL;
	int fd, rc;

	fd = memfd_create(name, cloexec ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -errno;
	pthread_mutex_lock(&S.lock);
	rc = table_grow_locked(fd);
	if (!rc) {
		old = S.files[fd];
		f->fd = fd;
		f->refs = 1;
		__atomic_store_n(&S.files[fd], f, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&S.lock);
	if (rc) {
		real.close(fd);
		return rc;
	}
	if (old)
		file_put(old);
	return fd;
}

/* ------------------------------------------------------------ open */

static bool sim_path(const char *path, enum shim_kind *kind)
{
	if (!path)
		return false;
	if (!strcmp(path, "/dev/iommu")) {
		*kind = SHIM_IOMMUFD;
		return true;
	}
	if (!strcmp(path, "/dev/vfio/vfio")) {
		*kind = SHIM_CONTAINER;
		return true;
	}
	return false;
}

static int sim_open(enum shim_kind kind, int flags)
{
	struct shim_file *f;
	struct shim_ctx *c;
	int rc, fd;

	pthread_once(&atfork_once, install_atfork);
	f = calloc(1, sizeof(*f));
	c = calloc(1, sizeof(*c));
	if (!f || !c) {
		rc = -ENOMEM;
		goto err_free;
	}
	pthread_mutex_lock(&S.lock);
	rc = sim_create_locked();
	if (!rc)
		S.nctx++;
	pthread_mutex_unlock(&S.lock);
	if (rc)
		goto err_free;

	rc = iommufd_ctx_open(S.proc, &c->ictx);
	if (rc)
		goto err_nctx;
	iommufd_ctx_set_privileged(c->ictx, S.cfg.privileged);
	c->refs = 1;
	c->container = kind == SHIM_CONTAINER;
	if (c->container) {
		/* /dev/vfio/vfio accounts pinned pages per process, as VFIO does */
		struct iommu_option opt = { .size = sizeof(opt),
					    .option_id = IOMMU_OPTION_RLIMIT_MODE,
					    .op = IOMMU_OPTION_OP_SET,
					    .val64 = 1 };

		iommufd_ctx_set_privileged(c->ictx, true);
		if (iommufd_ioctl(c->ictx, IOMMU_OPTION, &opt)) {
			rc = -errno;
			goto err_ctx;
		}
		iommufd_ctx_set_privileged(c->ictx, S.cfg.privileged);
	}
	f->kind = kind;
	f->ctx = c;
	fd = file_install(f, kind == SHIM_CONTAINER ? "iommusim-vfio" : "iommusim-iommufd",
			  flags & O_CLOEXEC);
	if (fd < 0) {
		rc = fd;
		goto err_ctx;
	}
	return fd;

err_ctx:
	iommufd_ctx_close(c->ictx);
err_nctx:
	pthread_mutex_lock(&S.lock);
	S.nctx--;
	pthread_mutex_unlock(&S.lock);
err_free:
	free(c);
	free(f);
	errno = -rc;
	return -1;
}

/*
 * The part every open-family entry point shares: resolve the real functions,
 * and if @path names a simulated device, open it (the fd or -1 with errno in
 * *fd) and return true; otherwise the caller forwards to its real function.
 */
static bool open_sim(const char *path, int flags, int *fd)
{
	enum shim_kind kind;

	need_real();
	if (!sim_path(path, &kind))
		return false;
	*fd = sim_open(kind, flags);
	return true;
}

/*
 * The mode argument of a variadic open-family call: present only with O_CREAT
 * or O_TMPFILE, 0 otherwise. A macro because va_start must run in the
 * variadic function itself; @flags must be its last named parameter.
 */
#define OPEN_MODE(flags)                                                   \
	({                                                                 \
		va_list ap_;                                               \
		int mode_ = 0;                                             \
                                                                           \
		va_start(ap_, flags);                                      \
		if (((flags)&O_CREAT) || ((flags)&O_TMPFILE) == O_TMPFILE) \
			mode_ = va_arg(ap_, int);                          \
		va_end(ap_);                                               \
		mode_;                                                     \
	})

SHIM_EXPORT int open(const char *path, int flags, ...)
{
	int fd;

	if (open_sim(path, flags, &fd))
		return fd;
	return real.open(path, flags, OPEN_MODE(flags));
}

SHIM_EXPORT int open64(const char *path, int flags, ...)
{
	int fd;

	if (open_sim(path, flags, &fd))
		return fd;
	return real.open64(path, flags, OPEN_MODE(flags));
}

SHIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	int fd;

	if (open_sim(path, flags, &fd))
		return fd;
	return real.openat(dirfd, path, flags, OPEN_MODE(flags));
}

SHIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	int fd;

	if (open_sim(path, flags, &fd))
		return fd;
	return real.openat64(dirfd, path, flags, OPEN_MODE(flags));
}

/* The _FORTIFY_SOURCE entry points a program compiled with -O2 may call. */
SHIM_EXPORT int __open_2(const char *path, int flags)
{
	int fd;

	if (open_sim(path, flags, &fd))
		return fd;
	return real.open_2(path, flags);
}

SHIM_EXPORT int __open64_2(const char *path, int flags)
{
	int fd;

	if (open_sim(path, flags, &fd))
		return fd;
	return real.open64_2(path, flags);
}

SHIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	int fd;

	if (open_sim(path, flags, &fd))
		return fd;
	return real.openat_2(dirfd, path, flags);
}

SHIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	int fd;

	if (open_sim(path, flags, &fd))
		return fd;
	return real.openat64_2(dirfd, path, flags);
}

/* ------------------------------------------------------------ access fds */

/*
 * IOMMU_TEST_OP_CREATE_ACCESS returns an fd in the kernel; the simulator
 * returns its own number for the access. The shim gives the program a real
 * fd for it, translates that fd back in the access ops, and destroys the
 * access when the fd is closed, as the kernel's release does.
 */
static bool test_op_takes_access(uint32_t op)
{
	switch (op) {
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
	case IOMMU_TEST_OP_ACCESS_PAGES:
	case IOMMU_TEST_OP_ACCESS_RW:
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return true;
	default:
		return false;
	}
}

static void access_release(struct shim_file *f)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = f->handle };

	/*
	 * The simulator's access object is destroyed by id, the user-mode
	 * equivalent of the kernel's fput of the access file.
	 */
	iommufd_ioctl(f->ctx->ictx, IOMMU_DESTROY, &d);
}

static int access_wrap(struct shim_file *parent, uint32_t handle, bool cloexec)
{
	struct shim_file *f = calloc(1, sizeof(*f));
	int fd;

	if (!f)
		return -ENOMEM;
	f->kind = SHIM_ACCESS;
	f->handle = handle;
	f->ctx = parent->ctx;
	pthread_mutex_lock(&S.lock);
	parent->ctx->refs++;
	pthread_mutex_unlock(&S.lock);
	fd = file_install(f, "iommusim-access", cloexec);
	if (fd < 0) {
		pthread_mutex_lock(&S.lock);
		parent->ctx->refs--;
		pthread_mutex_unlock(&S.lock);
		free(f);
	}
	return fd;
}

/* ------------------------------------------------------------ ioctl */

/* Sync the user memory an iommufd command is about to read from the simulated process. */
static void sync_user_memory(unsigned long cmd, void *arg)
{
	uint32_t size;

	if (!arg)
		return;
	memcpy(&size, arg, sizeof(size));
	if (cmd == IOMMU_IOAS_MAP && size >= offsetof(struct iommu_ioas_map, iova) + 8) {
		struct iommu_ioas_map *m = arg;

		shim_hostmem_sync(&S.hostmem, S.proc, m->user_va, m->length);
	} else if (cmd == IOMMU_TEST_CMD && size >= offsetof(struct iommu_test_cmd, last) + 4) {
		struct iommu_test_cmd *t = arg;

		switch (t->op) {
		case IOMMU_TEST_OP_MD_CHECK_MAP:
			shim_hostmem_sync(&S.hostmem, S.proc, t->check_map.uptr,
					  t->check_map.length);
			break;
		case IOMMU_TEST_OP_MD_CHECK_REFS:
			shim_hostmem_sync(&S.hostmem, S.proc, t->check_refs.uptr,
					  t->check_refs.length);
			break;
		case IOMMU_TEST_OP_ACCESS_PAGES:
			shim_hostmem_sync(&S.hostmem, S.proc, t->access_pages.uptr,
					  t->access_pages.length);
			break;
		default:
			break;
		}
	}
}

/* Are bytes [from, to) of @arg all zero? */
static bool zero_tail(const void *arg, size_t from, size_t to)
{
	const unsigned char *p = arg;

	for (size_t i = from; i < to; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Is IOMMU_DESTROY's id one of this context's access fds' objects? Those
 * only go away with their fd; destroying one by id would leave the fd
 * naming an id the simulator may hand to a new object.
 */
static bool is_access_handle(struct shim_ctx *c, const void *arg)
{
	struct iommu_destroy d = { 0 };
	bool found = false;

	memcpy(&d, arg, sizeof(d));
	if (d.size < sizeof(d))
		return false;
	pthread_mutex_lock(&S.lock);
	for (int fd = 0; fd < S.nfiles && !found; fd++) {
		struct shim_file *a = S.files[fd];

		found = a && a->kind == SHIM_ACCESS && !a->stale && a->ctx == c &&
			a->handle == d.id;
	}
	pthread_mutex_unlock(&S.lock);
	return found;
}

static int iommufd_file_ioctl(struct shim_file *f, unsigned long cmd, void *arg)
{
	struct iommufd_ctx *ictx = f->ctx->ictx;
	struct shim_file *acc = NULL;
	struct iommu_test_cmd tcmd;
	uint32_t size;
	size_t len;
	int rc;

	sim_refresh_limits();

	/* VFIO's numbers sit below iommufd's on the same ';' type, as in the kernel */
	if (((cmd >> 8) & 0xff) == ';' && (cmd & 0xff) < IOMMUFD_CMD_BASE) {
		struct iommufd_vfio_opts opts = { .dma_entry_limit = S.cfg.dma_entry_limit };

		if (cmd == VFIO_SET_IOMMU && f->ctx->container) {
			/* the container stands in for a group being attached first */
			rc = iommufd_vfio_compat_ioas_create(ictx);
			if (rc) {
				errno = -rc;
				return -1;
			}
		}
		if (cmd == VFIO_IOMMU_MAP_DMA && arg) {
			struct vfio_iommu_type1_dma_map *m = arg;

			if (m->argsz >= sizeof(*m))
				shim_hostmem_sync(&S.hostmem, S.proc, m->vaddr, m->size);
		}
		return iommufd_vfio_ioctl_opts(ictx, cmd, arg, &opts);
	}

	sync_user_memory(cmd, arg);
	if (cmd == IOMMU_DESTROY && arg && is_access_handle(f->ctx, arg)) {
		/* an access lives as long as its fd, as in the kernel */
		errno = ENOENT;
		return -1;
	}
	if (cmd != IOMMU_TEST_CMD || !arg)
		return iommufd_ioctl(ictx, cmd, arg);

	/*
	 * IOMMU_TEST_CMD: translate access fds in, and new ones out, on a copy
	 * of the caller's struct (one snapshot, as the kernel copies it).
	 */
	memcpy(&size, arg, sizeof(size));
	if (size < offsetof(struct iommu_test_cmd, last) + 4)
		return iommufd_ioctl(ictx, cmd, arg); /* EINVAL: too short */
	len = size;
	if (size > sizeof(tcmd)) {
		/*
		 * A larger (newer) struct. The simulator, like
		 * copy_struct_from_user, refuses it with E2BIG before looking
		 * at anything when a byte past its struct is set, and otherwise
		 * answers exactly as for its own size. So: a set tail goes
		 * through as it is; a zero one runs on the known part.
		 */
		if (!zero_tail(arg, sizeof(tcmd), size))
			return iommufd_ioctl(ictx, cmd, arg);
		len = sizeof(tcmd);
	}
	memcpy(&tcmd, arg, len);
	tcmd.size = (uint32_t)len;
	if (test_op_takes_access(tcmd.op)) {
		acc = file_get((int)tcmd.id);
		if (!acc || acc->kind != SHIM_ACCESS || acc->stale || acc->ctx != f->ctx) {
			if (acc)
				file_put(acc);
			errno = EBADFD;
			return -1;
		}
		tcmd.id = acc->handle;
	}
	rc = iommufd_ioctl(ictx, cmd, &tcmd);
	if (acc) {
		tcmd.id = (uint32_t)acc->fd; /* the caller's id was this fd */
		file_put(acc);
	}
	if (!rc && tcmd.op == IOMMU_TEST_OP_CREATE_ACCESS) {
		uint32_t handle = tcmd.create_access.out_access_fd;
		int fd = access_wrap(f, handle, true);

		if (fd < 0) {
			struct iommu_destroy d = { .size = sizeof(d), .id = handle };

			iommufd_ioctl(ictx, IOMMU_DESTROY, &d);
			errno = -fd;
			return -1;
		}
		tcmd.create_access.out_access_fd = (uint32_t)fd;
	}
	tcmd.size = size; /* the caller's, as the kernel writes it back */
	memcpy(arg, &tcmd, len);
	return rc;
}

SHIM_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	struct shim_file *f;
	va_list ap;
	void *arg;
	int rc;

	need_real();
	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);

	f = file_get(fd);
	if (!f)
		return real.ioctl(fd, request, arg);
	if (f->stale) {
		errno = EBADF;
		rc = -1;
	} else if (f->kind == SHIM_ACCESS) {
		/* the kernel's access file has no ioctls */
		errno = ENOTTY;
		rc = -1;
	} else {
		rc = iommufd_file_ioctl(f, request, arg);
	}
	file_put(f);
	return rc;
}

/* ------------------------------------------------------------ the rest */

SHIM_EXPORT int close(int fd)
{
	struct shim_file *f;

	need_real();
	if (!slot_load(fd))
		return real.close(fd);
	pthread_mutex_lock(&S.lock);
	f = slot_load(fd);
	if (f)
		__atomic_store_n(&S.files[fd], NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&S.lock);
	/* the real fd goes first: the number may be reused as soon as we return */
	if (f)
		real.close(fd);
	if (f) {
		file_put(f);
		return 0;
	}
	return real.close(fd);
}

/*
 * The errno for a call the simulator's files do not support (neither the
 * iommufd file nor the access file has read, write or mmap): EBADF for a
 * dead (inherited) fd or one closed meanwhile, @err otherwise. A reference
 * is taken so the stale flag is read from a file that cannot be freed
 * under us by a racing close.
 */
static int unsupported(int fd, int err)
{
	struct shim_file *f = file_get(fd);
	int rc = err;

	if (!f)
		return EBADF;
	if (f->stale)
		rc = EBADF;
	file_put(f);
	return rc;
}

SHIM_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
	need_real();
	if (!slot_load(fd))
		return real.read(fd, buf, count);
	errno = unsupported(fd, EINVAL);
	return -1;
}

SHIM_EXPORT ssize_t write(int fd, const void *buf, size_t count)
{
	need_real();
	if (!slot_load(fd))
		return real.write(fd, buf, count);
	errno = unsupported(fd, EINVAL);
	return -1;
}

SHIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	need_real();
	if ((flags & MAP_ANONYMOUS) || !slot_load(fd))
		return real.mmap(addr, len, prot, flags, fd, off);
	/* no mmap-able objects (vIOMMU queues) are simulated */
	errno = unsupported(fd, ENODEV);
	return MAP_FAILED;
}

SHIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	need_real();
	if ((flags & MAP_ANONYMOUS) || !slot_load(fd))
		return real.mmap64(addr, len, prot, flags, fd, off);
	errno = unsupported(fd, ENODEV);
	return MAP_FAILED;
}

/* ------------------------------------------------------------ exit */

/*
 * At exit the kernel would close every fd: do the same so the trace ends
 * with the teardown and nothing is left allocated. Only the process that
 * owns the simulator does it (a forked child leaves the parent's alone).
 */
__attribute__((destructor)) static void shim_fini(void)
{
	if (!S.files)
		return;
	for (int fd = 0; fd < S.nfiles; fd++) {
		struct shim_file *f = S.files[fd];

		if (!f || f->stale)
			continue;
		S.files[fd] = NULL;
		file_put(f);
	}
	pthread_mutex_lock(&S.lock);
	if (S.mach && !S.nctx) {
		trace_flush_locked();
		if (S.trace_out)
			fclose(S.trace_out);
		S.trace_out = NULL;
		shim_hostmem_fini(&S.hostmem);
		mach_proc_destroy(S.proc);
		mach_user_put(S.user);
		mach_destroy(S.mach);
		S.proc = NULL;
		S.user = NULL;
		S.mach = NULL;
	}
	pthread_mutex_unlock(&S.lock);
}
