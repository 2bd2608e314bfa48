/* SPDX-License-Identifier: MIT */
/*
 * Long-term pinning of user pages, unpinning, demand faults, and copies
 * through a process's page tables.
 *
 * The pin hot path is built to avoid per-page locks and allocations: one
 * read acquisition of mmap_lock per call; per region one walk down the radix
 * table per 512 pages (or per huge page); per page one relaxed load of the
 * entry and one atomic add on the frame's count word (references and pins
 * together). Huge pages take all the pins of a run in a single add on the
 * head. The count of pinned frames is added once per call.
 *
 * Locking rules of this file
 *   - mach_pin_user_pages / copy: p->mmap_lock for reading for the whole
 *     call; mapping holes are filled with compare-and-swap (pt.c), so
 *     concurrent faults of the same page agree on one frame.
 *   - A pin may add to a frame's count only while it is reachable through a
 *     table entry we can see under the owner's read lock: the entry holds a
 *     reference, so the count cannot reach zero under us. Entries are cleared
 *     only under the write side (munmap, truncate).
 *   - mach_unpin_pages takes no lock: the caller owns the pins it drops.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------- unpinning */

void mach_unpin_internal(struct mach *m, const uint64_t *pfns, uint64_t npages)
{
	struct mach_free_batch b;
	uint64_t unpinned = 0;

	b.n = 0;

	for (uint64_t i = 0; i < npages;) {
		uint64_t pfn = pfns[i], k = 1, old;
		unsigned order;
		uint64_t head = mach_frame_head(m, pfn, &order);

		if (order) {
			/* Take a run of consecutive pages of one huge page in one go. */
			uint64_t last = head + (1ULL << order);

			while (i + k < npages && pfns[i + k] == pfn + k && pfn + k < last)
				k++;
		}
		old = __atomic_fetch_sub(mach_frame_count(m, head), k * MACH_PIN_ONE,
					 __ATOMIC_ACQ_REL);
		if (unlikely(MACH_CNT_PINS(old) < k || MACH_CNT_REFS(old) < k))
			__builtin_trap(); /* unpin of a frame that is not pinned */
		if (MACH_CNT_PINS(old) == k)
			unpinned += 1ULL << order;
		if (unlikely(MACH_CNT_REFS(old) == k))
			mach_frame_free_head_batch(m, &b, head, order);
		i += k;
	}
	mach_free_batch_flush(m, &b);
	if (unpinned)
		__atomic_fetch_sub(&m->pinned_frames, unpinned, __ATOMIC_RELAXED);
}

void mach_unpin_pages(struct mach *m, const uint64_t *pfns, uint64_t npages)
{
	if (!npages)
		return;
	TRACE(m->tc, mach_unpin, npages);
	mach_unpin_internal(m, pfns, npages);
}

/* --------------------------------------------------------------- pinning */

int mach_pt_pin(struct mach *m, struct mach_pt *pt, uint64_t idx, uint64_t n, uint64_t *pfns,
		struct mach_pin_delta *pinned_delta, mach_fault_fn fault, void *arg)
{
	struct fault_ctx *fc = m->fc;
	uint64_t done = 0, newly = 0;
	int ret = 0;

	while (done < n) {
		uint64_t *slot = mach_pt_slot(m, pt, idx + done, 0, true, &ret);
		uint64_t cnt;

		if (unlikely(!slot))
			break;
		cnt = min(n - done, 512 - ((idx + done) & 511));
		for (uint64_t i = 0; i < cnt; i++) {
			uint64_t e, pfn, old;

			if (unlikely(fault_should_fail(fc, FAULT_CLASS_PIN, "mach.pin"))) {
				ret = -ENOMEM;
				goto out;
			}
			e = LOAD_ACQ(slot[i]);
			if (unlikely(!e)) {
				ret = fault(arg, idx + done, &slot[i], &e);
				if (ret)
					goto out;
			}
			pfn = e >> MACH_PAGE_SHIFT;
			old = __atomic_fetch_add(mach_frame_count(m, pfn), MACH_PIN_ONE,
						 __ATOMIC_RELAXED);
			newly += !MACH_CNT_PINS(old);
			pfns[done++] = pfn;
		}
	}
out:
	pinned_delta->pages += done;
	pinned_delta->newly += newly;
	return ret;
}

struct region_fault {
	struct mach_proc *p;
	struct mach_region *r;
};

/* Demand fault of a 4 KiB page of a non-shared region (anon, private file, host). */
static int region_fault4k(void *arg, uint64_t idx, uint64_t *slot, uint64_t *entry)
{
	struct region_fault *rf = arg;
	struct mach *m = rf->p->m;
	struct mach_region *r = rf->r;
	uint64_t pfn;
	int ret;

	if (r->kind == MACH_R_HOST) {
		ret = mach_host_frame_alloc(m, (void *)(uintptr_t)(idx << MACH_PAGE_SHIFT), &pfn);
	} else {
		ret = mach_frame_alloc_internal(m, 0, &pfn);
		if (!ret && r->kind == MACH_R_FILE_PRIVATE) {
			/* A private file mapping gets its copy at first fault. */
			ret = mach_file_copy_page(
				r->file, r->pgoff + idx - (r->start >> MACH_PAGE_SHIFT), pfn);
			if (ret)
				mach_frame_unref(m, pfn, 0, MACH_REF_ONE);
		}
	}
	if (ret)
		return ret;
	*entry = mach_pt_fill(m, slot, pfn, 0);
	return 0;
}

/* The leaf entry of the huge page holding @idx, faulting it in. */
static int huge_entry(struct mach_proc *p, struct mach_region *r, uint64_t idx, uint64_t *entry)
{
	struct mach *m = p->m;
	uint64_t *slot, e, pfn;
	int ret;

	slot = mach_pt_slot(m, &p->pt, idx, r->order / 9, true, &ret);
	if (!slot)
		return ret;
	e = LOAD_ACQ(*slot);
	if (!e) {
		ret = mach_frame_alloc_internal(m, r->order, &pfn);
		if (ret)
			return ret;
		e = mach_pt_fill(m, slot, pfn, r->order);
	}
	*entry = e;
	return 0;
}

/* As mach_pt_pin, for a region of huge pages. */
static int pin_huge(struct mach_proc *p, struct mach_region *r, uint64_t idx, uint64_t n,
		    uint64_t *pfns, struct mach_pin_delta *pinned_delta)
{
	struct mach *m = p->m;
	const uint64_t unit = 1ULL << r->order;
	uint64_t done = 0, newly = 0;
	int ret = 0;

	while (done < n) {
		uint64_t cur = idx + done, e = 0, head, off, cnt, k, old;

		ret = huge_entry(p, r, cur, &e);
		if (ret)
			break;
		head = e >> MACH_PAGE_SHIFT;
		off = cur & (unit - 1);
		cnt = min(n - done, unit - off);
		for (k = 0; k < cnt; k++) {
			if (unlikely(fault_should_fail(m->fc, FAULT_CLASS_PIN, "mach.pin"))) {
				ret = -ENOMEM;
				break;
			}
			pfns[done + k] = head + off + k;
		}
		if (k) {
			old = __atomic_fetch_add(mach_frame_count(m, head), k * MACH_PIN_ONE,
						 __ATOMIC_RELAXED);
			if (!MACH_CNT_PINS(old))
				newly += unit;
			done += k;
		}
		if (ret)
			break;
	}
	pinned_delta->pages += done;
	pinned_delta->newly += newly;
	return ret;
}

static int check_prot(const struct mach_region *r, bool write)
{
	if (!(r->prot & (MACH_PROT_READ | MACH_PROT_WRITE)))
		return -EFAULT; /* PROT_NONE: nothing to reach */
	if (write && !(r->prot & MACH_PROT_WRITE))
		return -EPERM;
	return 0;
}

long mach_pin_user_pages(struct mach_proc *p, uint64_t va, uint64_t npages, unsigned flags,
			 uint64_t *pfns)
{
	struct mach *m = p->m;
	struct mach_pin_delta delta = { 0 };
	int ret = 0;

	if (flags & ~MACH_PIN_WRITE)
		return -EINVAL;
	if (!npages)
		return 0;
	if (!IS_ALIGNED(va, MACH_PAGE_SIZE))
		return -EINVAL;
	if (va >= MACH_VA_LIMIT || npages > (MACH_VA_LIMIT - va) >> MACH_PAGE_SHIFT)
		return -EFAULT;
	TRACE(m->tc, mach_pin, p->pid, va, npages, flags);

	pthread_rwlock_rdlock(&p->mmap_lock);
	/* Each step pins pfns[delta.pages, ...): delta.pages is what is done. */
	while (delta.pages < npages) {
		uint64_t done = delta.pages, cur = va + (done << MACH_PAGE_SHIFT),
			 idx = cur >> MACH_PAGE_SHIFT, cnt;
		struct mach_region *r = mach_region_find(p, cur);

		if (!r) {
			ret = -EFAULT;
			break;
		}
		ret = check_prot(r, flags & MACH_PIN_WRITE);
		if (ret)
			break;
		cnt = min(npages - done, (r->end - cur) >> MACH_PAGE_SHIFT);
		if (r->kind == MACH_R_FILE_SHARED) {
			ret = (int)mach_file_pin_range(
				r->file, r->pgoff + idx - (r->start >> MACH_PAGE_SHIFT), cnt,
				pfns + done, -EFAULT, &delta);
		} else if (r->order) {
			ret = pin_huge(p, r, idx, cnt, pfns + done, &delta);
		} else {
			struct region_fault rf = { p, r };

			ret = mach_pt_pin(m, &p->pt, idx, cnt, pfns + done, &delta, region_fault4k,
					  &rf);
		}
		if (ret)
			break;
	}
	pthread_rwlock_unlock(&p->mmap_lock);

	/* One rollback for every way to fail: the inner pins stay counted in delta. */
	if (delta.newly)
		__atomic_fetch_add(&m->pinned_frames, delta.newly, __ATOMIC_RELAXED);
	if (ret) {
		mach_unpin_internal(m, pfns, delta.pages);
		return ret;
	}
	return (long)npages;
}

/* ------------------------------------------------------------- faulting */

int mach_region_page(struct mach_proc *p, struct mach_region *r, uint64_t idx, uint64_t *pa)
{
	struct mach *m = p->m;
	uint64_t e = 0;
	int ret;

	if (r->order) {
		ret = huge_entry(p, r, idx, &e);
		if (ret)
			return ret;
		*pa = (e & ~(MACH_PAGE_SIZE - 1)) +
		      ((idx & ((1ULL << r->order) - 1)) << MACH_PAGE_SHIFT);
		return 0;
	}
	uint64_t *slot = mach_pt_slot(m, &p->pt, idx, 0, true, &ret);
	struct region_fault rf = { p, r };

	if (!slot)
		return ret;
	e = LOAD_ACQ(*slot);
	if (!e) {
		ret = region_fault4k(&rf, idx, slot, &e);
		if (ret)
			return ret;
	}
	*pa = e & ~(MACH_PAGE_SIZE - 1);
	return 0;
}

static int copy_user(struct mach_proc *p, uint64_t va, void *buf, size_t len, bool write)
{
	struct mach *m = p->m;
	int ret = 0;

	if (va >= MACH_VA_LIMIT || len > MACH_VA_LIMIT - va)
		return -EFAULT;
	pthread_rwlock_rdlock(&p->mmap_lock);
	while (len) {
		struct mach_region *r = mach_region_find(p, va);
		unsigned off = va & (MACH_PAGE_SIZE - 1);
		size_t n = min(len, MACH_PAGE_SIZE - off);
		uint64_t idx = va >> MACH_PAGE_SHIFT, pa;

		if (!r) {
			ret = -EFAULT;
			break;
		}
		ret = check_prot(r, write);
		if (ret)
			break;
		if (r->kind == MACH_R_FILE_SHARED) {
			ret = mach_file_access(r->file,
					       r->pgoff + idx - (r->start >> MACH_PAGE_SHIFT), off,
					       buf, n, write);
		} else {
			ret = mach_region_page(p, r, idx, &pa);
			if (!ret)
				ret = write ? mach_phys_write(m, pa + off, buf, n)
					    : mach_phys_read(m, pa + off, buf, n);
		}
		if (ret)
			break;
		buf = (uint8_t *)buf + n;
		va += n;
		len -= n;
	}
	pthread_rwlock_unlock(&p->mmap_lock);
	return ret;
}

int mach_copy_from_user(struct mach_proc *p, void *dst, uint64_t va, size_t len)
{
	return copy_user(p, va, dst, len, false);
}

int mach_copy_to_user(struct mach_proc *p, uint64_t va, const void *src, size_t len)
{
	return copy_user(p, va, (void *)(uintptr_t)src, len, true);
}
