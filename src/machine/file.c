/* SPDX-License-Identifier: MIT */
/*
 * Files (memfd-like): a size and a page cache, the radix table of pt.c indexed
 * by file page, holding one reference on each cached frame. Pages are
 * allocated on first use (pin, fault of a mapping, write) and zero filled.
 * Shared anonymous mappings are backed by a hidden file of this kind.
 *
 * Locking rules of this file
 *   - f->lock (rw): read side to look pages up, fill holes (compare-and-swap
 *     in the table) and pin; write side to change the size and drop pages
 *     (truncate). Taken inside proc->mmap_lock when reached via a mapping.
 *   - f->refs is atomic; the last mach_file_put() frees the file, dropping
 *     the cache's references (pinned pages live on through their pins).
 *   - The machine's file list is under m->obj_lock (only for mach_destroy).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static uint64_t size_pages(uint64_t size)
{
	return ALIGN_UP(size, MACH_PAGE_SIZE) >> MACH_PAGE_SHIFT;
}

int mach_file_create_internal(struct mach *m, uint64_t size, struct mach_file **out)
{
	struct mach_file *f;
	int ret;

	if (size_pages(size) > MACH_FILE_MAX_PAGES || size > UINT64_MAX - MACH_PAGE_SIZE)
		return -EINVAL;
	f = fault_zalloc(m->fc, "mach.file_alloc", sizeof(*f));
	if (!f)
		return -ENOMEM;
	ret = mach_pt_init(m, &f->pc);
	if (ret) {
		fault_free(f);
		return ret;
	}
	f->m = m;
	f->refs = 1;
	f->size = size;
	pthread_rwlock_init(&f->lock, NULL);
	pthread_mutex_lock(&m->obj_lock);
	f->next = m->files;
	if (m->files)
		m->files->prev = f;
	m->files = f;
	pthread_mutex_unlock(&m->obj_lock);
	*out = f;
	return 0;
}

int mach_file_create(struct mach *m, uint64_t size, struct mach_file **out)
{
	return mach_file_create_internal(m, size, out);
}

void mach_file_get(struct mach_file *f)
{
	__atomic_fetch_add(&f->refs, 1, __ATOMIC_RELAXED);
}

static void file_free(struct mach_file *f)
{
	mach_pt_destroy(f->m, &f->pc);
	pthread_rwlock_destroy(&f->lock);
	fault_free(f);
}

static void file_unlink(struct mach_file *f)
{
	struct mach *m = f->m;

	pthread_mutex_lock(&m->obj_lock);
	if (f->prev)
		f->prev->next = f->next;
	else
		m->files = f->next;
	if (f->next)
		f->next->prev = f->prev;
	pthread_mutex_unlock(&m->obj_lock);
}

void mach_file_put(struct mach_file *f)
{
	if (!f || __atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	file_unlink(f);
	file_free(f);
}

/* At mach_destroy: free files whose owners leaked them. */
void mach_file_free_all(struct mach *m)
{
	while (m->files) {
		struct mach_file *f = m->files;

		m->files = f->next;
		file_free(f);
	}
}

uint64_t mach_file_size(struct mach_file *f)
{
	pthread_rwlock_rdlock(&f->lock);
	uint64_t s = f->size;
	pthread_rwlock_unlock(&f->lock);
	return s;
}

int mach_file_truncate(struct mach_file *f, uint64_t size)
{
	struct mach *m = f->m;

	if (size_pages(size) > MACH_FILE_MAX_PAGES || size > UINT64_MAX - MACH_PAGE_SIZE)
		return -EINVAL;
	pthread_rwlock_wrlock(&f->lock);
	if (size < f->size) {
		mach_pt_zap(m, &f->pc, size_pages(size), size_pages(f->size));
		/* As the kernel does, the cut part of the last page reads as zeros. */
		if (size & (MACH_PAGE_SIZE - 1)) {
			int err;
			uint64_t *s =
				mach_pt_slot(m, &f->pc, size >> MACH_PAGE_SHIFT, 0, false, &err);
			uint64_t e = s ? READ_ONCE(*s) : 0;

			if (e && m->ram) {
				uint64_t off = size & (MACH_PAGE_SIZE - 1);

				memset(m->ram + (e & ~(MACH_PAGE_SIZE - 1)) + off, 0,
				       MACH_PAGE_SIZE - off);
			}
		}
	}
	f->size = size;
	pthread_rwlock_unlock(&f->lock);
	return 0;
}

/* Fill an empty page-cache entry (f->lock held for reading). */
static int file_fault(void *arg, uint64_t idx, uint64_t *slot, uint64_t *entry)
{
	struct mach_file *f = arg;
	uint64_t pfn;
	int ret = mach_frame_alloc_internal(f->m, 0, &pfn);

	(void)idx;
	if (ret)
		return ret;
	*entry = mach_pt_fill(f->m, slot, pfn, 0);
	return 0;
}

long mach_file_pin_range(struct mach_file *f, uint64_t pgoff, uint64_t npages, uint64_t *pfns,
			 int beyond_err, struct mach_pin_delta *pinned_delta)
{
	long ret;

	pthread_rwlock_rdlock(&f->lock);
	if (pgoff >= size_pages(f->size) || npages > size_pages(f->size) - pgoff)
		ret = beyond_err;
	else
		ret = mach_pt_pin(f->m, &f->pc, pgoff, npages, pfns, pinned_delta, file_fault, f);
	pthread_rwlock_unlock(&f->lock);
	return ret;
}

long mach_file_pin_pages(struct mach_file *f, uint64_t pgoff, uint64_t npages, unsigned flags,
			 uint64_t *pfns)
{
	struct mach *m = f->m;
	struct mach_pin_delta delta = { 0 };
	long ret;

	if (flags & ~MACH_PIN_WRITE)
		return -EINVAL;
	if (!npages)
		return 0;
	TRACE(m->tc, mach_pin, 0, pgoff << MACH_PAGE_SHIFT, npages, flags);
	ret = mach_file_pin_range(f, pgoff, npages, pfns, -EINVAL, &delta);
	if (delta.newly)
		__atomic_fetch_add(&m->pinned_frames, delta.newly, __ATOMIC_RELAXED);
	if (ret < 0) {
		mach_unpin_internal(m, pfns, delta.pages);
		return ret;
	}
	return (long)npages;
}

/* Copy within one page of the file through a mapping; f->lock taken here. */
int mach_file_access(struct mach_file *f, uint64_t pgoff, unsigned off, void *buf, size_t len,
		     bool write)
{
	struct mach *m = f->m;
	uint64_t *slot, e = 0;
	int ret = 0, err;

	pthread_rwlock_rdlock(&f->lock);
	if (pgoff >= size_pages(f->size)) {
		ret = -EFAULT; /* SIGBUS beyond the end of the file */
		goto out;
	}
	slot = mach_pt_slot(m, &f->pc, pgoff, 0, write, &err);
	if (!slot && err) { /* the table node for a write could not be allocated */
		ret = err;
		goto out;
	}
	if (slot)
		e = LOAD_ACQ(*slot);
	if (!e && write) {
		ret = file_fault(f, pgoff, slot, &e);
		if (ret)
			goto out;
	}
	if (!e)
		memset(buf, 0, len); /* a hole reads as zeros */
	else if (write)
		ret = mach_phys_write(m, (e & ~(MACH_PAGE_SIZE - 1)) + off, buf, len);
	else
		ret = mach_phys_read(m, (e & ~(MACH_PAGE_SIZE - 1)) + off, buf, len);
out:
	pthread_rwlock_unlock(&f->lock);
	return ret;
}

/* Fill private frame @dst_pfn from file page @pgoff (a private mapping's fault). */
int mach_file_copy_page(struct mach_file *f, uint64_t pgoff, uint64_t dst_pfn)
{
	struct mach *m = f->m;
	uint64_t *slot, e = 0;
	int ret = 0, err;

	pthread_rwlock_rdlock(&f->lock);
	if (pgoff >= size_pages(f->size)) {
		ret = -EFAULT;
		goto out;
	}
	slot = mach_pt_slot(m, &f->pc, pgoff, 0, false, &err);
	if (slot)
		e = LOAD_ACQ(*slot);
	if (e)
		ret = mach_phys_copy(m, dst_pfn << MACH_PAGE_SHIFT, e & ~(MACH_PAGE_SIZE - 1),
				     MACH_PAGE_SIZE);
out:
	pthread_rwlock_unlock(&f->lock);
	return ret;
}
