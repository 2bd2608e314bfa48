/* SPDX-License-Identifier: MIT */
/*
 * The fallible allocator (include/iommusim/fault.h).
 *
 * Every allocation in the project passes an injection point of class
 * FAULT_CLASS_ALLOC named by the caller, then goes to the C allocator that
 * the program linked (jemalloc, glibc or tcmalloc: chosen at link time, never
 * here). An injected failure looks exactly like a real one: NULL with errno
 * set to ENOMEM, and for realloc the old block left untouched.
 *
 * No state of its own: the decision lives in the fault context, so this
 * file has no locking rules beyond fault_should_fail()'s.
 *
 * Size-zero requests: realloc(p, 0) and aligned allocation of 0 bytes have
 * implementation-defined (and, for realloc, historically inconsistent)
 * results, so both are rounded up to one byte: a non-NULL result always
 * means success and must be freed, NULL always means failure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>

static bool fault_alloc_inject(struct fault_ctx *fc, const char *point)
{
	if (fault_should_fail(fc, FAULT_CLASS_ALLOC, point)) {
		errno = ENOMEM;
		return true;
	}
	return false;
}

void *fault_malloc(struct fault_ctx *fc, const char *point, size_t size)
{
	if (fault_alloc_inject(fc, point))
		return NULL;
	return malloc(size);
}

void *fault_zalloc(struct fault_ctx *fc, const char *point, size_t size)
{
	if (fault_alloc_inject(fc, point))
		return NULL;
	return calloc(1, size);
}

void *fault_calloc(struct fault_ctx *fc, const char *point, size_t n, size_t size)
{
	size_t total;

	/*
	 * An overflowing request is a caller bug, not an allocation that could
	 * succeed: refuse it before the injection point so it does not consume
	 * an nth-mode count.
	 */
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (fault_alloc_inject(fc, point))
		return NULL;
	return calloc(n, size);
}

void *fault_realloc(struct fault_ctx *fc, const char *point, void *p, size_t size)
{
	if (fault_alloc_inject(fc, point))
		return NULL;
	return realloc(p, size ? size : 1);
}

void *fault_aligned_alloc(struct fault_ctx *fc, const char *point, size_t align, size_t size)
{
	void *p;
	int err;

	/* posix_memalign wants a power of two that is a multiple of sizeof(void *). */
	if (!align || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (fault_alloc_inject(fc, point))
		return NULL;
	err = posix_memalign(&p, align, size ? size : 1);
	if (err) {
		errno = err;
		return NULL;
	}
	return p;
}

void fault_free(void *p)
{
	free(p);
}
