/* SPDX-License-Identifier: MIT */
/*
 * Users, processes, accounting, and address-space changes (mmap, munmap,
 * mprotect, host mappings).
 *
 * A process's address space is a sorted array of disjoint regions (struct
 * mach_region) plus one page table (pt.c) for the whole space. Regions carry
 * the policy (protection, backing kind, page order, file and offset); the
 * page table carries the frames. Splitting a region (partial munmap or
 * mprotect) is therefore a metadata change only. Shared regions (shared
 * anon = a hidden file, shared file mappings) keep no entries in the page
 * table: they reach the file's page cache directly, so truncating a file
 * needs no reverse map. Huge regions (order 9 or 18) are never cut inside a
 * huge page: such requests fail with -EINVAL, as for hugetlbfs.
 *
 * Locking rules of this file
 *   - p->mmap_lock: write side for mmap/munmap/mprotect/destroy (the region
 *     array and clearing page-table entries); read side for pin, copy and
 *     fault (pin.c). File references are dropped under it (file->lock nests
 *     inside it).
 *   - m->obj_lock: the user table (with user reference counts), the process
 *     and file lists, the pid counter. A leaf lock.
 *   - Counters (locked_vm, pinned_vm), rlimit and capability: atomics; a
 *     charge is a compare-and-swap loop against the caller's limit.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* ----------------------------------------------------------------- users */

int mach_user_get(struct mach *m, uint32_t uid, struct mach_user **out)
{
	struct mach_user *u;
	int ret = 0;

	pthread_mutex_lock(&m->obj_lock);
	for (u = m->users; u; u = u->next)
		if (u->uid == uid)
			break;
	if (u) {
		u->refs++;
	} else {
		u = fault_zalloc(m->fc, "mach.user_alloc", sizeof(*u));
		if (u) {
			u->m = m;
			u->uid = uid;
			u->refs = 1;
			u->next = m->users;
			m->users = u;
		} else {
			ret = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&m->obj_lock);
	if (!ret)
		*out = u;
	return ret;
}

void mach_user_put(struct mach_user *u)
{
	struct mach *m;

	if (!u)
		return;
	m = u->m;
	pthread_mutex_lock(&m->obj_lock);
	if (--u->refs == 0) {
		struct mach_user **pp = &m->users;

		while (*pp != u)
			pp = &(*pp)->next;
		*pp = u->next;
		fault_free(u);
	}
	pthread_mutex_unlock(&m->obj_lock);
}

void mach_user_free_all(struct mach *m)
{
	while (m->users) {
		struct mach_user *u = m->users;

		m->users = u->next;
		fault_free(u);
	}
}

uint32_t mach_user_uid(const struct mach_user *u)
{
	return u->uid;
}

uint64_t mach_user_locked_vm(const struct mach_user *u)
{
	return READ_ONCE(u->locked_vm);
}

/* ------------------------------------------------------------ accounting */

static int charge(struct mach *m, uint64_t *ctr, uint64_t n, uint64_t limit, uint64_t *total)
{
	uint64_t cur, nw;

	if (fault_should_fail(m->fc, FAULT_CLASS_ACCOUNT, "mach.account"))
		return -ENOMEM;
	cur = READ_ONCE(*ctr);
	do {
		if (__builtin_add_overflow(cur, n, &nw))
			return -ENOMEM;
		if (limit != MACH_RLIM_INFINITY && nw > limit)
			return -ENOMEM;
	} while (!__atomic_compare_exchange_n(ctr, &cur, nw, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	*total = nw;
	return 0;
}

static uint64_t uncharge(uint64_t *ctr, uint64_t n)
{
	uint64_t old = __atomic_fetch_sub(ctr, n, __ATOMIC_RELAXED);

	if (unlikely(old < n))
		__builtin_trap(); /* uncharging more than was charged */
	return old - n;
}

int mach_user_charge_locked(struct mach_user *u, uint64_t npages, uint64_t limit_pages)
{
	uint64_t total;
	int ret = charge(u->m, &u->locked_vm, npages, limit_pages, &total);

	if (!ret)
		TRACE(u->m->tc, mach_account_charge, TRACE_STR("user"), u->uid, npages, total);
	return ret;
}

void mach_user_uncharge_locked(struct mach_user *u, uint64_t npages)
{
	uint64_t total = uncharge(&u->locked_vm, npages);

	TRACE(u->m->tc, mach_account_uncharge, TRACE_STR("user"), u->uid, npages, total);
}

int mach_proc_charge_locked(struct mach_proc *p, uint64_t npages, uint64_t limit_pages)
{
	uint64_t total;
	int ret = charge(p->m, &p->locked_vm, npages, limit_pages, &total);

	if (!ret)
		TRACE(p->m->tc, mach_account_charge, TRACE_STR("proc"), p->pid, npages, total);
	return ret;
}

void mach_proc_uncharge_locked(struct mach_proc *p, uint64_t npages)
{
	uint64_t total = uncharge(&p->locked_vm, npages);

	TRACE(p->m->tc, mach_account_uncharge, TRACE_STR("proc"), p->pid, npages, total);
}

void mach_proc_add_pinned(struct mach_proc *p, int64_t delta_pages)
{
	uint64_t old = __atomic_fetch_add(&p->pinned_vm, (uint64_t)delta_pages, __ATOMIC_RELAXED);

	if (unlikely(delta_pages < 0 && old < (uint64_t)-delta_pages))
		__builtin_trap(); /* pinned_vm would go negative */
}

/* ------------------------------------------------------------- processes */

int mach_proc_create(struct mach *m, struct mach_user *u, struct mach_proc **out)
{
	struct mach_proc *p;
	int ret;

	p = fault_zalloc(m->fc, "mach.proc_alloc", sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = mach_pt_init(m, &p->pt);
	if (ret) {
		fault_free(p);
		return ret;
	}
	p->m = m;
	p->u = u;
	p->rlimit_memlock = 8ULL << 20;
	pthread_rwlock_init(&p->mmap_lock, NULL);
	pthread_mutex_lock(&m->obj_lock);
	u->refs++;
	p->pid = m->next_pid++;
	p->next = m->procs;
	if (m->procs)
		m->procs->prev = p;
	m->procs = p;
	pthread_mutex_unlock(&m->obj_lock);
	*out = p;
	return 0;
}

void mach_proc_destroy(struct mach_proc *p)
{
	struct mach *m;

	if (!p)
		return;
	m = p->m;
	pthread_mutex_lock(&m->obj_lock);
	if (p->prev)
		p->prev->next = p->next;
	else
		m->procs = p->next;
	if (p->next)
		p->next->prev = p->prev;
	pthread_mutex_unlock(&m->obj_lock);

	mach_pt_destroy(m, &p->pt);
	for (size_t i = 0; i < p->nr; i++)
		mach_file_put(p->r[i].file);
	fault_free(p->r);
	pthread_rwlock_destroy(&p->mmap_lock);
	mach_user_put(p->u);
	fault_free(p);
}

void mach_proc_destroy_all(struct mach *m)
{
	while (m->procs)
		mach_proc_destroy(m->procs);
}

struct mach *mach_proc_machine(const struct mach_proc *p)
{
	return p->m;
}

struct mach_user *mach_proc_user(const struct mach_proc *p)
{
	return p->u;
}

uint32_t mach_proc_pid(const struct mach_proc *p)
{
	return p->pid;
}

void mach_proc_set_rlimit_memlock(struct mach_proc *p, uint64_t bytes)
{
	WRITE_ONCE(p->rlimit_memlock, bytes);
}

uint64_t mach_proc_rlimit_memlock(const struct mach_proc *p)
{
	return READ_ONCE(p->rlimit_memlock);
}

void mach_proc_set_cap_ipc_lock(struct mach_proc *p, bool cap)
{
	WRITE_ONCE(p->cap_ipc_lock, cap);
}

bool mach_proc_cap_ipc_lock(const struct mach_proc *p)
{
	return READ_ONCE(p->cap_ipc_lock);
}

uint64_t mach_proc_locked_vm(const struct mach_proc *p)
{
	return READ_ONCE(p->locked_vm);
}

uint64_t mach_proc_pinned_vm(const struct mach_proc *p)
{
	return READ_ONCE(p->pinned_vm);
}

/* --------------------------------------------------------------- regions */

/* Index of the first region ending above @va. */
static size_t region_index(const struct mach_proc *p, uint64_t va)
{
	size_t lo = 0, hi = p->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->r[mid].end <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct mach_region *mach_region_find(struct mach_proc *p, uint64_t va)
{
	size_t i = region_index(p, va);

	return i < p->nr && p->r[i].start <= va ? &p->r[i] : NULL;
}

static int reserve_regions(struct mach_proc *p, size_t need)
{
	struct mach_region *nr;
	size_t cap;

	if (need <= p->cap)
		return 0;
	cap = max(need, p->cap * 2);
	cap = max_t(size_t, cap, 8);
	nr = fault_realloc(p->m->fc, "mach.region_alloc", p->r, cap * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	p->r = nr;
	p->cap = cap;
	return 0;
}

static void region_insert(struct mach_proc *p, size_t i, const struct mach_region *r)
{
	memmove(&p->r[i + 1], &p->r[i], (p->nr - i) * sizeof(*r));
	p->r[i] = *r;
	p->nr++;
}

static void region_remove(struct mach_proc *p, size_t i)
{
	mach_file_put(p->r[i].file);
	memmove(&p->r[i], &p->r[i + 1], (p->nr - i - 1) * sizeof(p->r[0]));
	p->nr--;
}

static uint64_t region_unit(const struct mach_region *r)
{
	return MACH_PAGE_SIZE << r->order;
}

/* Split region @i at @va (strictly inside, capacity reserved). */
static void region_split(struct mach_proc *p, size_t i, uint64_t va)
{
	struct mach_region tail = p->r[i];

	tail.start = va;
	tail.pgoff += (va - p->r[i].start) >> MACH_PAGE_SHIFT;
	if (tail.file)
		mach_file_get(tail.file);
	p->r[i].end = va;
	region_insert(p, i + 1, &tail);
}

/*
 * Check that cutting [s, e) out of the regions it meets keeps huge pages
 * whole, and count the regions that must split in two.
 */
static int check_cut(struct mach_proc *p, uint64_t s, uint64_t e, size_t *splits)
{
	*splits = 0;
	for (size_t i = region_index(p, s); i < p->nr && p->r[i].start < e; i++) {
		const struct mach_region *r = &p->r[i];
		uint64_t unit = region_unit(r);

		if ((r->start < s && !IS_ALIGNED(s, unit)) || (r->end > e && !IS_ALIGNED(e, unit)))
			return -EINVAL;
		*splits += (r->start < s) + (r->end > e);
	}
	return 0;
}

/* Remove [s, e) from the address space (mmap_lock held for writing). */
static int do_unmap(struct mach_proc *p, uint64_t s, uint64_t e)
{
	size_t splits, i;
	int ret = check_cut(p, s, e, &splits);

	if (ret)
		return ret;
	/* Only a region straddling both ends grows the array. */
	ret = reserve_regions(p, p->nr + (splits == 2 ? 1 : 0));
	if (ret)
		return ret;
	i = region_index(p, s);
	while (i < p->nr && p->r[i].start < e) {
		struct mach_region *r = &p->r[i];
		uint64_t cs = max(r->start, s), ce = min(r->end, e);

		if (r->kind != MACH_R_FILE_SHARED)
			mach_pt_zap(p->m, &p->pt, cs >> MACH_PAGE_SHIFT, ce >> MACH_PAGE_SHIFT);
		if (r->start < cs && r->end > ce) {
			region_split(p, i, ce);
			p->r[i].end = cs;
			break;
		} else if (r->start < cs) {
			r->end = cs;
			i++;
		} else if (r->end > ce) {
			r->pgoff += (ce - r->start) >> MACH_PAGE_SHIFT;
			r->start = ce;
			break;
		} else {
			region_remove(p, i);
		}
	}
	return 0;
}

static bool range_free(struct mach_proc *p, uint64_t s, uint64_t e)
{
	size_t i = region_index(p, s);

	return i >= p->nr || p->r[i].start >= e;
}

/* Pick an address for a non-fixed mapping: the hint if free, else the first gap. */
static int find_gap(struct mach_proc *p, uint64_t hint, uint64_t len, uint64_t unit, uint64_t *out)
{
	uint64_t c;

	if (hint && IS_ALIGNED(hint, unit) && hint < MACH_VA_LIMIT && len <= MACH_VA_LIMIT - hint &&
	    range_free(p, hint, hint + len)) {
		*out = hint;
		return 0;
	}
	c = MACH_MMAP_BASE;
	for (size_t i = region_index(p, c); i < p->nr; i++) {
		if (p->r[i].start >= c && p->r[i].start - c >= len)
			break;
		c = ALIGN_UP(p->r[i].end, unit);
	}
	if (c >= MACH_VA_LIMIT || len > MACH_VA_LIMIT - c)
		return -ENOMEM;
	*out = c;
	return 0;
}

/* Fault every page of [start, end) in; errors are ignored as MAP_POPULATE does. */
static void populate(struct mach_proc *p, uint64_t start, uint64_t end)
{
	pthread_rwlock_rdlock(&p->mmap_lock);
	for (uint64_t va = start; va < end;) {
		struct mach_region *r = mach_region_find(p, va);
		uint64_t pa;

		if (!r || r->kind == MACH_R_FILE_SHARED)
			break;
		if (mach_region_page(p, r, va >> MACH_PAGE_SHIFT, &pa))
			break;
		va += region_unit(r);
	}
	pthread_rwlock_unlock(&p->mmap_lock);
}

#define MAP_KNOWN_FLAGS \
	(MACH_MAP_SHARED | MACH_MAP_FIXED | MACH_MAP_HUGE_2M | MACH_MAP_HUGE_1G | MACH_MAP_POPULATE)
#define PROT_KNOWN (MACH_PROT_READ | MACH_PROT_WRITE)

/* Insert a region, at @r->start if @fixed (replacing what is there), else anywhere. */
static int map_region(struct mach_proc *p, struct mach_region *r, uint64_t hint, bool fixed)
{
	uint64_t len = r->end - r->start, start;
	size_t splits;
	int ret;

	pthread_rwlock_wrlock(&p->mmap_lock);
	if (fixed) {
		start = hint;
		ret = check_cut(p, start, start + len, &splits);
		if (!ret)
			ret = reserve_regions(p, p->nr + 2);
		if (!ret)
			ret = do_unmap(p, start, start + len); /* cannot fail now */
	} else {
		ret = reserve_regions(p, p->nr + 1);
		if (!ret)
			ret = find_gap(p, hint, len, region_unit(r), &start);
	}
	if (!ret) {
		r->start = start;
		r->end = start + len;
		region_insert(p, region_index(p, start), r);
	}
	pthread_rwlock_unlock(&p->mmap_lock);
	return ret;
}

int mach_mmap(struct mach_proc *p, uint64_t addr, uint64_t len, unsigned prot, unsigned flags,
	      struct mach_file *f, uint64_t offset, uint64_t *out_addr)
{
	struct mach_region r = { 0 };
	struct mach_file *hidden = NULL;
	uint64_t unit;
	int ret;

	if (!len || (prot & ~PROT_KNOWN) || (flags & ~MAP_KNOWN_FLAGS))
		return -EINVAL;
	if ((flags & MACH_MAP_HUGE_2M) && (flags & MACH_MAP_HUGE_1G))
		return -EINVAL;
	r.order = (flags & MACH_MAP_HUGE_2M)   ? MACH_ORDER_2M
		  : (flags & MACH_MAP_HUGE_1G) ? MACH_ORDER_1G
					       : MACH_ORDER_4K;
	/* Huge pages come only as private anonymous memory here. */
	if (r.order && (f || (flags & MACH_MAP_SHARED)))
		return -EINVAL;
	unit = MACH_PAGE_SIZE << r.order;
	if (len > MACH_VA_LIMIT)
		return -ENOMEM;
	len = ALIGN_UP(len, unit);
	if (flags & MACH_MAP_FIXED) {
		if (!IS_ALIGNED(addr, unit))
			return -EINVAL;
		if (addr >= MACH_VA_LIMIT || len > MACH_VA_LIMIT - addr)
			return -ENOMEM;
	}
	if (f) {
		if (!IS_ALIGNED(offset, MACH_PAGE_SIZE))
			return -EINVAL;
		if ((offset >> MACH_PAGE_SHIFT) + (len >> MACH_PAGE_SHIFT) > MACH_FILE_MAX_PAGES)
			return -EOVERFLOW;
		r.kind = (flags & MACH_MAP_SHARED) ? MACH_R_FILE_SHARED : MACH_R_FILE_PRIVATE;
		r.pgoff = offset >> MACH_PAGE_SHIFT;
		mach_file_get(f);
		r.file = f;
	} else if (flags & MACH_MAP_SHARED) {
		ret = mach_file_create_internal(p->m, len, &hidden);
		if (ret)
			return ret;
		r.kind = MACH_R_FILE_SHARED;
		r.file = hidden;
	} else {
		r.kind = MACH_R_ANON;
	}
	r.prot = prot;
	r.start = 0;
	r.end = len;
	ret = map_region(p, &r, addr, flags & MACH_MAP_FIXED);
	if (ret) {
		mach_file_put(r.file);
		return ret;
	}
	if (flags & MACH_MAP_POPULATE)
		populate(p, r.start, r.end);
	if (out_addr)
		*out_addr = r.start;
	return 0;
}

int mach_mmap_host(struct mach_proc *p, void *host, uint64_t len, unsigned prot)
{
	struct mach_region r = { 0 };
	uint64_t va = (uint64_t)(uintptr_t)host;

	if (!len || !IS_ALIGNED(va, MACH_PAGE_SIZE) || !IS_ALIGNED(len, MACH_PAGE_SIZE) ||
	    (prot & ~PROT_KNOWN))
		return -EINVAL;
	if (va >= MACH_VA_LIMIT || len > MACH_VA_LIMIT - va)
		return -EINVAL;
	r.kind = MACH_R_HOST;
	r.prot = prot;
	r.end = len;
	return map_region(p, &r, va, true);
}

int mach_munmap(struct mach_proc *p, uint64_t addr, uint64_t len)
{
	int ret;

	if (!len || !IS_ALIGNED(addr, MACH_PAGE_SIZE))
		return -EINVAL;
	if (addr >= MACH_VA_LIMIT || len > MACH_VA_LIMIT - addr)
		return -EINVAL;
	len = ALIGN_UP(len, MACH_PAGE_SIZE);
	pthread_rwlock_wrlock(&p->mmap_lock);
	ret = do_unmap(p, addr, addr + len);
	pthread_rwlock_unlock(&p->mmap_lock);
	return ret;
}

int mach_mprotect(struct mach_proc *p, uint64_t addr, uint64_t len, unsigned prot)
{
	uint64_t s = addr, e, cur;
	size_t splits, i;
	int ret;

	if (!IS_ALIGNED(addr, MACH_PAGE_SIZE) || (prot & ~PROT_KNOWN))
		return -EINVAL;
	if (!len)
		return 0;
	if (addr >= MACH_VA_LIMIT || len > MACH_VA_LIMIT - addr)
		return -ENOMEM;
	e = s + ALIGN_UP(len, MACH_PAGE_SIZE);

	pthread_rwlock_wrlock(&p->mmap_lock);
	/* The whole range must be mapped (-ENOMEM otherwise, as Linux). */
	cur = s;
	for (i = region_index(p, s); i < p->nr && p->r[i].start <= cur && cur < e; i++)
		cur = p->r[i].end;
	ret = cur < e ? -ENOMEM : 0;
	if (!ret)
		ret = check_cut(p, s, e, &splits);
	if (!ret)
		ret = reserve_regions(p, p->nr + splits);
	if (ret)
		goto out;
	i = region_index(p, s);
	if (p->r[i].start < s) {
		region_split(p, i, s);
		i++;
	}
	for (; i < p->nr && p->r[i].start < e; i++) {
		if (p->r[i].end > e)
			region_split(p, i, e);
		p->r[i].prot = prot;
	}
out:
	pthread_rwlock_unlock(&p->mmap_lock);
	return ret;
}
