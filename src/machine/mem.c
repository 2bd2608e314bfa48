/* SPDX-License-Identifier: MIT */
/*
 * The machine object, its clock, and physical memory: the frame allocator,
 * frame reference/pin counts, the host-backed window, physical access.
 * (The structures and invariants are described in internal.h.)
 *
 * Locking rules of this file
 *   - m->list[0].lock, list[1].lock, list[2].lock guard the free lists of
 *     orders 0, 9, 18, the next/prev links of the frames on them, and
 *     (list[0]) blk_free[] / (list[1]) sec_free[]. They nest upwards only:
 *     0 -> 9 -> 18 (a 4 KiB free may coalesce into 2 MiB, which may coalesce
 *     into 1 GiB; a 4 KiB allocation may split a 2 MiB block, which may
 *     split a 1 GiB section).
 *   - Frame count words are atomics and need no lock: whoever holds a
 *     reference may add references or pins; the one who drops the last
 *     reference frees the allocation.
 *   - Head state words are written by the allocator (under a list lock) only
 *     while nobody else holds a reference, and read with relaxed atomics.
 *   - A struct mach_free_batch belongs to the one thread filling it; its
 *     flush takes list[0].lock once for the whole batch.
 *   - m->host_lock guards the host slot free list and the bump index.
 *   - Statistics are relaxed atomic counters.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define ORDER_IDX(o) ((o) == 0 ? 0 : (o) == 9 ? 1 : 2)
#define SEC_SHIFT 18
#define BLK_SHIFT 9

/* ---------------------------------------------------------------- clock */

uint64_t mach_now(struct mach *m)
{
	return READ_ONCE(m->clock);
}

void mach_clock_advance(struct mach *m, uint64_t ns)
{
	__atomic_fetch_add(&m->clock, ns, __ATOMIC_RELAXED);
}

static uint64_t mach_trace_clock(void *arg)
{
	return mach_now(arg);
}

struct fault_ctx *mach_fault(struct mach *m)
{
	return m->fc;
}

struct trace_ctx *mach_trace(struct mach *m)
{
	return m->tc;
}

uint64_t mach_ram_size(struct mach *m)
{
	return m->mem_size;
}

/* ------------------------------------------------------------ free lists */

static void fl_push(struct mach *m, struct mach_freelist *fl, uint32_t idx)
{
	struct mach_frame *f = &m->frames[idx];

	f->prev = 0;
	f->next = fl->head;
	if (fl->head)
		m->frames[fl->head].prev = idx;
	fl->head = idx;
}

static void fl_del(struct mach *m, struct mach_freelist *fl, uint32_t idx)
{
	struct mach_frame *f = &m->frames[idx];

	if (f->prev)
		m->frames[f->prev].next = f->next;
	else
		fl->head = f->next;
	if (f->next)
		m->frames[f->next].prev = f->prev;
	f->next = f->prev = 0;
}

static uint32_t fl_pop(struct mach *m, struct mach_freelist *fl)
{
	uint32_t idx = fl->head;

	if (idx)
		fl_del(m, fl, idx);
	return idx;
}

/* Push the pieces of [first, first + n * step) so that pops come out ascending. */
static void fl_push_run(struct mach *m, struct mach_freelist *fl, uint64_t first, uint64_t n,
			uint64_t step)
{
	for (uint64_t i = n; i-- > 0;)
		fl_push(m, fl, (uint32_t)(first + i * step));
}

/* Take a 1 GiB section off list 2 (caller holds list[2].lock). */
static uint32_t take_section(struct mach *m)
{
	return fl_pop(m, &m->list[2]);
}

/*
 * The next never-used whole block of a partial section (caller holds
 * list[1].lock), lowest section first, ascending: the order in which the
 * blocks would come off list 1 had they been pushed at create.
 */
static uint32_t take_seed_block(struct mach *m)
{
	struct mach_seed *best = NULL;

	for (unsigned i = 0; i < m->nblk_seed; i++) {
		struct mach_seed *sd = &m->blk_seed[i];

		if (sd->next < sd->end && (!best || sd->next < best->next))
			best = sd;
	}
	if (!best)
		return 0;
	uint32_t blk = best->next;
	best->next += 1u << BLK_SHIFT;
	return blk;
}

/* Take a 2 MiB block, splitting a section if needed (caller holds list[1].lock). */
static uint32_t take_block(struct mach *m)
{
	struct mach_freelist *l1 = &m->list[1];

	if (!l1->head) {
		uint32_t sec = take_seed_block(m);

		if (sec) {
			m->sec_free[sec >> SEC_SHIFT]--;
			return sec;
		}

		pthread_mutex_lock(&m->list[2].lock);
		sec = take_section(m);
		pthread_mutex_unlock(&m->list[2].lock);
		if (!sec)
			return 0;
		fl_push_run(m, l1, sec, 1u << (SEC_SHIFT - BLK_SHIFT), 1u << BLK_SHIFT);
		m->sec_free[sec >> SEC_SHIFT] = 1u << (SEC_SHIFT - BLK_SHIFT);
	}
	uint32_t blk = fl_pop(m, l1);
	m->sec_free[blk >> SEC_SHIFT]--;
	return blk;
}

/* Take a 4 KiB frame, splitting a block if needed (caller holds list[0].lock). */
static uint32_t take_frame(struct mach *m)
{
	struct mach_freelist *l0 = &m->list[0];

	if (!l0->head) {
		uint32_t blk;

		pthread_mutex_lock(&m->list[1].lock);
		blk = take_block(m);
		pthread_mutex_unlock(&m->list[1].lock);
		if (!blk)
			return 0;
		fl_push_run(m, l0, blk, 1u << BLK_SHIFT, 1);
		m->blk_free[blk >> BLK_SHIFT] = 1u << BLK_SHIFT;
	}
	uint32_t f = fl_pop(m, l0);
	m->blk_free[f >> BLK_SHIFT]--;
	return f;
}

/* Give back a 1 GiB section (caller holds nothing at order 18). */
static void give_section(struct mach *m, uint32_t sec)
{
	pthread_mutex_lock(&m->list[2].lock);
	fl_push(m, &m->list[2], sec);
	pthread_mutex_unlock(&m->list[2].lock);
}

/* Give back a 2 MiB block; caller holds list[1].lock. Coalesces a full section. */
static void give_block_locked(struct mach *m, uint32_t blk)
{
	uint64_t sec = blk >> SEC_SHIFT;
	const uint32_t per = 1u << (SEC_SHIFT - BLK_SHIFT);

	fl_push(m, &m->list[1], blk);
	if (++m->sec_free[sec] == per) {
		/* Every block of the section is free: only whole sections reach
		 * this count (section 0 never does, its pfn 0 is never free). */
		for (uint32_t i = 0; i < per; i++)
			fl_del(m, &m->list[1],
			       (uint32_t)((sec << SEC_SHIFT) + ((uint64_t)i << BLK_SHIFT)));
		m->sec_free[sec] = 0;
		give_section(m, (uint32_t)(sec << SEC_SHIFT));
	}
}

static void give_frame_locked(struct mach *m, uint32_t pfn)
{
	uint64_t blk = pfn >> BLK_SHIFT;
	const uint32_t per = 1u << BLK_SHIFT;

	fl_push(m, &m->list[0], pfn);
	if (++m->blk_free[blk] == per) {
		for (uint32_t i = 0; i < per; i++)
			fl_del(m, &m->list[0], (uint32_t)((blk << BLK_SHIFT) + i));
		m->blk_free[blk] = 0;
		pthread_mutex_lock(&m->list[1].lock);
		give_block_locked(m, (uint32_t)(blk << BLK_SHIFT));
		pthread_mutex_unlock(&m->list[1].lock);
	}
}

/* Seed the free lists with every frame but pfn 0 (single-threaded, at create). */
static void seed_free_lists(struct mach *m)
{
	const uint64_t sec_frames = 1ULL << SEC_SHIFT, blk_frames = 1ULL << BLK_SHIFT;
	uint64_t nsec = (m->nframes + sec_frames - 1) >> SEC_SHIFT;

	for (uint64_t s = nsec; s-- > 0;) {
		uint64_t s0 = s << SEC_SHIFT, s1 = min(m->nframes, s0 + sec_frames);
		struct mach_seed *sd;

		if (s != 0 && s1 - s0 == sec_frames) {
			fl_push(m, &m->list[2], (uint32_t)s0);
			continue;
		}
		/* The whole blocks of a partial section (section 0, the last one)
		 * are one range handed out by take_seed_block(): pushing them here
		 * would touch a page of frame metadata per block. */
		sd = &m->blk_seed[m->nblk_seed++];
		sd->next = sd->end = 0;
		for (uint64_t b0 = s0 + ALIGN_UP(s1 - s0, blk_frames); b0 > s0;) {
			b0 -= blk_frames;
			uint64_t b1 = min(s1, b0 + blk_frames);

			if (b0 != 0 && b1 - b0 == blk_frames) {
				if (!sd->end)
					sd->end = (uint32_t)(b0 + blk_frames);
				sd->next = (uint32_t)b0;
				m->sec_free[s]++;
				continue;
			}
			for (uint64_t f = b1; f-- > max_t(uint64_t, b0, 1);) {
				fl_push(m, &m->list[0], (uint32_t)f);
				m->blk_free[b0 >> BLK_SHIFT]++;
			}
		}
	}
	m->free_frames = m->nframes - 1;
}

/* ---------------------------------------------------------------- frames */

int mach_frame_alloc_internal(struct mach *m, unsigned order, uint64_t *pfn)
{
	struct mach_freelist *fl;
	uint32_t idx;

	if (order != MACH_ORDER_4K && order != MACH_ORDER_2M && order != MACH_ORDER_1G)
		return -EINVAL;
	if (fault_should_fail(m->fc, FAULT_CLASS_ALLOC, "mach.frame_alloc"))
		return -ENOMEM;
	fl = &m->list[ORDER_IDX(order)];
	pthread_mutex_lock(&fl->lock);
	idx = order == 0 ? take_frame(m) : order == 9 ? take_block(m) : take_section(m);
	if (idx) {
		struct mach_frame *f = &m->frames[idx];

		WRITE_ONCE(f->count, MACH_REF_ONE);
		WRITE_ONCE(f->state,
			   MACH_STATE(MACH_FRAME_ALLOCATED | (order ? MACH_FRAME_COMPOUND : 0),
				      order));
	}
	pthread_mutex_unlock(&fl->lock);
	if (!idx)
		return -ENOMEM;
	__atomic_fetch_sub(&m->free_frames, 1ULL << order, __ATOMIC_RELAXED);
	TRACE(m->tc, mach_frame_alloc, idx, order);
	*pfn = idx;
	return 0;
}

/* Runs of at least this many contiguous written 4 KiB frames are cleared with
 * one madvise(MADV_DONTNEED) rather than page by page. */
#define CLEAR_MADV_MIN 8

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;

	for (size_t i = 0; i < MACH_PAGE_SIZE / 8; i += 8) {
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		    w[i + 7])
			return false;
	}
	return true;
}

/* ---------------------------------------------------------- dirty bitmap */

/*
 * Mark frames [pfn, pfn + n) of RAM as possibly written: every way to write
 * RAM bytes (mach_phys_write, mach_phys_copy, a pointer from mach_phys_ptr)
 * marks first. Relaxed test first: a page written again costs one load.
 */
static inline void mark_dirty(struct mach *m, uint64_t pfn, uint64_t n)
{
	if (!m->dirty)
		return;
	for (uint64_t end = pfn + n; pfn < end; pfn++) {
		uint64_t *w = &m->dirty[pfn >> 6], bit = 1ULL << (pfn & 63);

		if (unlikely(!(READ_ONCE(*w) & bit)))
			__atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
	}
}

static inline void mark_dirty_pa(struct mach *m, uint64_t pa, size_t len)
{
	if (len)
		mark_dirty(m, pa >> MACH_PAGE_SHIFT,
			   ((pa + len - 1) >> MACH_PAGE_SHIFT) - (pa >> MACH_PAGE_SHIFT) + 1);
}

static inline bool test_dirty(struct mach *m, uint64_t pfn)
{
	return (READ_ONCE(m->dirty[pfn >> 6]) >> (pfn & 63)) & 1;
}

/* Clear the marks of [pfn, pfn + n): the frames are free and zero again. */
static void clear_dirty(struct mach *m, uint64_t pfn, uint64_t n)
{
	while (n) {
		uint64_t sh = pfn & 63, k = min(n, 64 - sh);
		uint64_t mask = (k == 64 ? ~0ULL : ((1ULL << k) - 1)) << sh;
		uint64_t *w = &m->dirty[pfn >> 6];

		if (READ_ONCE(*w) & mask)
			__atomic_fetch_and(w, ~mask, __ATOMIC_RELAXED);
		pfn += k;
		n -= k;
	}
}

static bool any_dirty(struct mach *m, uint64_t pfn, uint64_t n)
{
	while (n) {
		uint64_t sh = pfn & 63, k = min(n, 64 - sh);
		uint64_t mask = (k == 64 ? ~0ULL : ((1ULL << k) - 1)) << sh;

		if (READ_ONCE(m->dirty[pfn >> 6]) & mask)
			return true;
		pfn += k;
		n -= k;
	}
	return false;
}

/*
 * Make the bytes of frames [pfn, pfn + n), whose last reference is gone, zero.
 * Frames never written since they were last cleared are zero already: they
 * are left alone, so that the host never faults in a page just to clear it.
 * A written run is given back to the host (MADV_DONTNEED: later reads see
 * zeros); a lone written page is read first and cleared only if it holds data
 * (it may have been only read through mach_phys_ptr).
 */
static void clear_frames(struct mach *m, uint64_t pfn, uint64_t n)
{
	uint8_t *p;

	if (!m->ram || m->dying || !any_dirty(m, pfn, n))
		return;
	p = m->ram + (pfn << MACH_PAGE_SHIFT);
	if (n >= CLEAR_MADV_MIN) {
		madvise(p, n << MACH_PAGE_SHIFT, MADV_DONTNEED);
	} else {
		for (uint64_t i = 0; i < n; i++)
			if (test_dirty(m, pfn + i) && !page_is_zero(p + (i << MACH_PAGE_SHIFT)))
				memset(p + (i << MACH_PAGE_SHIFT), 0, MACH_PAGE_SIZE);
	}
	clear_dirty(m, pfn, n);
}

static void frame_free(struct mach *m, uint64_t head, unsigned order)
{
	struct mach_frame *f = &m->frames[head];

	/* Free frames hold zeros: clear the bytes before they can be reused. */
	clear_frames(m, head, 1ULL << order);
	TRACE(m->tc, mach_frame_free, head, order);
	WRITE_ONCE(f->state, 0);
	WRITE_ONCE(f->count, 0);
	__atomic_fetch_add(&m->free_frames, 1ULL << order, __ATOMIC_RELAXED);
	if (order == 0) {
		pthread_mutex_lock(&m->list[0].lock);
		give_frame_locked(m, (uint32_t)head);
		pthread_mutex_unlock(&m->list[0].lock);
	} else if (order == 9) {
		pthread_mutex_lock(&m->list[1].lock);
		give_block_locked(m, (uint32_t)head);
		pthread_mutex_unlock(&m->list[1].lock);
	} else {
		give_section(m, (uint32_t)head);
	}
}

static void sort_u32(uint32_t *a, uint32_t n)
{
	/* Zaps free in page-table order, which is nearly always pfn order already:
	 * an insertion sort is linear then, and a batch is small anyway. */
	for (uint32_t i = 1; i < n; i++) {
		uint32_t v = a[i], j = i;

		while (j > 0 && a[j - 1] > v) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = v;
	}
}

void mach_free_batch_flush(struct mach *m, struct mach_free_batch *b)
{
	uint32_t n = b->n;

	if (!n)
		return;
	sort_u32(b->pfn, n);
	for (uint32_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && b->pfn[j] == b->pfn[j - 1] + 1; j++)
			;
		clear_frames(m, b->pfn[i], j - i);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct mach_frame *f = &m->frames[b->pfn[i]];

		TRACE(m->tc, mach_frame_free, b->pfn[i], 0);
		WRITE_ONCE(f->state, 0);
		WRITE_ONCE(f->count, 0);
	}
	__atomic_fetch_add(&m->free_frames, n, __ATOMIC_RELAXED);
	/* Highest first, so that later allocations pop them in ascending order. */
	pthread_mutex_lock(&m->list[0].lock);
	for (uint32_t i = n; i-- > 0;)
		give_frame_locked(m, b->pfn[i]);
	pthread_mutex_unlock(&m->list[0].lock);
	b->n = 0;
}

static void host_frame_free(struct mach *m, uint64_t pfn)
{
	uint32_t idx = (uint32_t)(pfn - m->host_base_pfn);

	TRACE(m->tc, mach_frame_free, pfn, 0);
	pthread_mutex_lock(&m->host_lock);
	m->host[idx].host = NULL;
	m->host[idx].next = m->host_free_head;
	m->host_free_head = idx;
	pthread_mutex_unlock(&m->host_lock);
	__atomic_fetch_sub(&m->host_frames, 1, __ATOMIC_RELAXED);
}

/*
 * Drop @sub (references, and pins in the high half) from the head @head of an
 * allocation of @order; free it when no reference is left.
 */
static inline bool unref_is_last(struct mach *m, uint64_t head, unsigned order, uint64_t sub)
{
	uint64_t old = __atomic_fetch_sub(mach_frame_count(m, head), sub, __ATOMIC_ACQ_REL);

	if (unlikely(MACH_CNT_REFS(old) < MACH_CNT_REFS(sub) ||
		     MACH_CNT_PINS(old) < MACH_CNT_PINS(sub)))
		__builtin_trap(); /* a put or unpin of a frame nobody holds */
	if (MACH_CNT_PINS(sub) && MACH_CNT_PINS(old) == MACH_CNT_PINS(sub))
		__atomic_fetch_sub(&m->pinned_frames, 1ULL << order, __ATOMIC_RELAXED);
	return MACH_CNT_REFS(old) == MACH_CNT_REFS(sub);
}

void mach_frame_unref(struct mach *m, uint64_t head, unsigned order, uint64_t sub)
{
	if (unref_is_last(m, head, order, sub))
		mach_frame_free_head(m, head, order);
}

void mach_frame_free_head(struct mach *m, uint64_t head, unsigned order)
{
	if (mach_pfn_is_host(m, head))
		host_frame_free(m, head);
	else
		frame_free(m, head, order);
}

void mach_frame_free_head_batch(struct mach *m, struct mach_free_batch *b, uint64_t head,
				unsigned order)
{
	if (order != 0 || mach_pfn_is_host(m, head)) {
		mach_frame_free_head(m, head, order);
		return;
	}
	b->pfn[b->n++] = (uint32_t)head;
	if (b->n == MACH_FREE_BATCH)
		mach_free_batch_flush(m, b);
}

void mach_frame_unref_batch(struct mach *m, struct mach_free_batch *b, uint64_t head,
			    unsigned order, uint64_t sub)
{
	if (unref_is_last(m, head, order, sub))
		mach_frame_free_head_batch(m, b, head, order);
}

static bool pfn_valid(struct mach *m, uint64_t pfn)
{
	if (pfn == 0)
		return false;
	if (pfn < m->nframes)
		return true;
	if (!mach_pfn_is_host(m, pfn) || pfn - m->host_base_pfn >= READ_ONCE(m->host_next))
		return false;
	return READ_ONCE(m->host[pfn - m->host_base_pfn].count) != 0;
}

int mach_frame_alloc(struct mach *m, unsigned order, uint64_t *pfn)
{
	return mach_frame_alloc_internal(m, order, pfn);
}

void mach_frame_get(struct mach *m, uint64_t pfn)
{
	unsigned order;
	uint64_t head = mach_frame_head(m, pfn, &order);

	__atomic_fetch_add(mach_frame_count(m, head), MACH_REF_ONE, __ATOMIC_RELAXED);
}

void mach_frame_put(struct mach *m, uint64_t pfn)
{
	unsigned order;
	uint64_t head = mach_frame_head(m, pfn, &order);

	mach_frame_unref(m, head, order, MACH_REF_ONE);
}

int mach_frame_query(struct mach *m, uint64_t pfn, struct mach_frame_info *info)
{
	unsigned order;
	uint64_t head, c;

	memset(info, 0, sizeof(*info));
	if (!pfn_valid(m, pfn))
		return -EINVAL;
	head = mach_frame_head(m, pfn, &order);
	c = READ_ONCE(*mach_frame_count(m, head));
	info->refcount = MACH_CNT_REFS(c);
	info->pincount = MACH_CNT_PINS(c);
	if (mach_pfn_is_host(m, pfn)) {
		info->flags = MACH_FRAME_ALLOCATED | MACH_FRAME_HOST;
		return 0;
	}
	uint32_t s = READ_ONCE(m->frames[head].state);
	info->flags = s & 0xffu;
	info->order = (s & MACH_FRAME_ALLOCATED) ? MACH_STATE_ORDER(s) : 0;
	return 0;
}

void mach_mem_stats(struct mach *m, struct mach_mem_stats *st)
{
	st->ram_frames = m->nframes;
	st->free_frames = READ_ONCE(m->free_frames);
	st->pinned_frames = READ_ONCE(m->pinned_frames);
	st->host_frames = READ_ONCE(m->host_frames);
}

/* ---------------------------------------------------------- host window */

int mach_host_frame_alloc(struct mach *m, void *host, uint64_t *pfn)
{
	uint32_t idx;

	if (fault_should_fail(m->fc, FAULT_CLASS_ALLOC, "mach.frame_alloc"))
		return -ENOMEM;
	pthread_mutex_lock(&m->host_lock);
	idx = m->host_free_head;
	if (idx) {
		m->host_free_head = m->host[idx].next;
	} else if (m->host_next < MACH_HOST_MAX) {
		idx = m->host_next;
		WRITE_ONCE(m->host_next, idx + 1);
	}
	if (idx) {
		m->host[idx].host = host;
		m->host[idx].next = 0;
		STORE_REL(m->host[idx].count, MACH_REF_ONE);
	}
	pthread_mutex_unlock(&m->host_lock);
	if (!idx)
		return -ENOMEM;
	__atomic_fetch_add(&m->host_frames, 1, __ATOMIC_RELAXED);
	*pfn = m->host_base_pfn + idx;
	TRACE(m->tc, mach_frame_alloc, *pfn, 0);
	return 0;
}

/* ------------------------------------------------------ physical access */

enum { PA_RAM, PA_HOST };

/* Check [pa, pa + len) lies in RAM or in allocated host frames. */
static int pa_check(struct mach *m, uint64_t pa, size_t len, int *kind)
{
	uint64_t end;

	if (__builtin_add_overflow(pa, (uint64_t)len, &end))
		return -EFAULT;
	if (end <= m->mem_size) {
		*kind = PA_RAM;
		return 0;
	}
	if ((pa >> MACH_PAGE_SHIFT) < m->host_base_pfn)
		return -EFAULT;
	for (uint64_t p = pa >> MACH_PAGE_SHIFT; p << MACH_PAGE_SHIFT < end; p++)
		if (!pfn_valid(m, p))
			return -EFAULT;
	*kind = PA_HOST;
	return 0;
}

static void *host_addr(struct mach *m, uint64_t pa)
{
	struct mach_hframe *h = &m->host[(pa >> MACH_PAGE_SHIFT) - m->host_base_pfn];

	return (uint8_t *)h->host + (pa & (MACH_PAGE_SIZE - 1));
}

int mach_phys_read(struct mach *m, uint64_t pa, void *buf, size_t len)
{
	int kind, ret = pa_check(m, pa, len, &kind);

	if (ret)
		return ret;
	if (kind == PA_RAM) {
		if (m->ram)
			memcpy(buf, m->ram + pa, len);
		else
			memset(buf, 0, len);
		return 0;
	}
	while (len) {
		size_t n = min(len, MACH_PAGE_SIZE - (pa & (MACH_PAGE_SIZE - 1)));

		memcpy(buf, host_addr(m, pa), n);
		buf = (uint8_t *)buf + n;
		pa += n;
		len -= n;
	}
	return 0;
}

int mach_phys_write(struct mach *m, uint64_t pa, const void *buf, size_t len)
{
	int kind, ret = pa_check(m, pa, len, &kind);

	if (ret)
		return ret;
	if (kind == PA_RAM) {
		if (m->ram) {
			mark_dirty_pa(m, pa, len);
			memcpy(m->ram + pa, buf, len);
		}
		return 0;
	}
	while (len) {
		size_t n = min(len, MACH_PAGE_SIZE - (pa & (MACH_PAGE_SIZE - 1)));

		memcpy(host_addr(m, pa), buf, n);
		buf = (const uint8_t *)buf + n;
		pa += n;
		len -= n;
	}
	return 0;
}

int mach_phys_copy(struct mach *m, uint64_t dst, uint64_t src, size_t len)
{
	int kd, ks, ret;
	uint8_t tmp[512];

	ret = pa_check(m, src, len, &ks);
	if (!ret)
		ret = pa_check(m, dst, len, &kd);
	if (ret)
		return ret;
	if (kd == PA_RAM && ks == PA_RAM) {
		if (m->ram) {
			mark_dirty_pa(m, dst, len);
			memmove(m->ram + dst, m->ram + src, len);
		}
		return 0;
	}
	/* Mixed kinds never overlap (RAM and host window are disjoint), and two
	 * host ranges overlap only if the caller's pages do: copy backwards
	 * when the destination starts inside the source. */
	bool back = dst > src && dst < src + len;
	size_t done = 0;

	while (done < len) {
		size_t n = min(sizeof(tmp), len - done);
		uint64_t off = back ? len - done - n : done;

		mach_phys_read(m, src + off, tmp, n);
		mach_phys_write(m, dst + off, tmp, n);
		done += n;
	}
	return 0;
}

void *mach_phys_ptr(struct mach *m, uint64_t pa, size_t len)
{
	int kind;

	if (pa_check(m, pa, len, &kind))
		return NULL;
	if (kind == PA_RAM) {
		if (!m->ram)
			return NULL;
		/* The caller may write through the pointer. */
		mark_dirty_pa(m, pa, len);
		return m->ram + pa;
	}
	if ((pa >> MACH_PAGE_SHIFT) != ((pa + len - (len != 0)) >> MACH_PAGE_SHIFT))
		return NULL;
	return host_addr(m, pa);
}

/* -------------------------------------------------------- create/destroy */

static void *reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int mach_create(const struct mach_config *cfg, struct mach **out)
{
	struct mach_config def = { 0 };
	struct mach *m;
	int ret;

	if (!cfg)
		cfg = &def;
	uint64_t size = cfg->mem_size ? cfg->mem_size : 1ULL << 30;
	if (!IS_ALIGNED(size, MACH_PAGE_SIZE) || size < 2 * MACH_PAGE_SIZE ||
	    (size >> MACH_PAGE_SHIFT) > MACH_MAX_FRAMES ||
	    (cfg->backing != MACH_BACKING_OWNED && cfg->backing != MACH_BACKING_DATALESS))
		return -EINVAL;

	/* No fault context exists yet to inject into: this one cannot be failed. */
	m = fault_zalloc(NULL, "mach.create", sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->seed = cfg->seed;
	m->mem_size = size;
	m->nframes = size >> MACH_PAGE_SHIFT;
	m->backing = cfg->backing;
	m->next_pid = 1;
	for (int i = 0; i < 3; i++)
		pthread_mutex_init(&m->list[i].lock, NULL);
	pthread_mutex_init(&m->host_lock, NULL);
	pthread_mutex_init(&m->obj_lock, NULL);

	ret = trace_ctx_create(mach_trace_clock, m, &m->tc);
	if (ret)
		goto err_trace;
	ret = fault_ctx_create(m->tc, &m->fc);
	if (ret)
		goto err_fault;

	ret = -ENOMEM;
	m->frames_bytes = m->nframes * sizeof(struct mach_frame);
	m->frames = reserve(m->frames_bytes);
	if (!m->frames)
		goto err_frames;
	if (m->backing == MACH_BACKING_OWNED) {
		m->ram = reserve(size);
		if (!m->ram)
			goto err_ram;
		m->dirty_bytes = ((m->nframes + 63) / 64) * sizeof(uint64_t);
		m->dirty = reserve(m->dirty_bytes);
		if (!m->dirty)
			goto err_dirty;
	}
	m->blk_free = fault_calloc(m->fc, "mach.create", (m->nframes >> 9) + 1, sizeof(uint16_t));
	if (!m->blk_free)
		goto err_blk;
	m->sec_free = fault_calloc(m->fc, "mach.create", (m->nframes >> 18) + 1, sizeof(uint16_t));
	if (!m->sec_free)
		goto err_sec;
	m->host_bytes = MACH_HOST_MAX * sizeof(struct mach_hframe);
	m->host = reserve(m->host_bytes);
	if (!m->host)
		goto err_host;
	m->host_base_pfn = ALIGN_UP(size, MACH_HOST_ALIGN) >> MACH_PAGE_SHIFT;
	m->host_next = 1; /* slot 0 is the free-list nil */

	seed_free_lists(m);
	*out = m;
	return 0;

err_host:
	fault_free(m->sec_free);
err_sec:
	fault_free(m->blk_free);
err_blk:
	if (m->dirty)
		munmap(m->dirty, m->dirty_bytes);
err_dirty:
	if (m->ram)
		munmap(m->ram, size);
err_ram:
	munmap(m->frames, m->frames_bytes);
err_frames:
	fault_ctx_destroy(m->fc);
err_fault:
	trace_ctx_destroy(m->tc);
err_trace:
	for (int i = 0; i < 3; i++)
		pthread_mutex_destroy(&m->list[i].lock);
	pthread_mutex_destroy(&m->host_lock);
	pthread_mutex_destroy(&m->obj_lock);
	fault_free(m);
	return ret;
}

void mach_destroy(struct mach *m)
{
	if (!m)
		return;
	/* Processes first (they hold file and user references), then files,
	 * then users. Frames still pinned simply vanish with the arrays, and
	 * the bytes of the frames freed now are unmapped below: no clearing. */
	m->dying = true;
	mach_proc_destroy_all(m);
	mach_file_free_all(m);
	mach_user_free_all(m);
	munmap(m->host, m->host_bytes);
	fault_free(m->sec_free);
	fault_free(m->blk_free);
	if (m->dirty)
		munmap(m->dirty, m->dirty_bytes);
	if (m->ram)
		munmap(m->ram, m->mem_size);
	munmap(m->frames, m->frames_bytes);
	fault_ctx_destroy(m->fc);
	trace_ctx_destroy(m->tc);
	for (int i = 0; i < 3; i++)
		pthread_mutex_destroy(&m->list[i].lock);
	pthread_mutex_destroy(&m->host_lock);
	pthread_mutex_destroy(&m->obj_lock);
	fault_free(m);
}
