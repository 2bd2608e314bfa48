/* SPDX-License-Identifier: MIT */
/*
 * Trace contexts, per-thread buffers, emission and collection.
 *
 * Data structure (see trace_internal.h): a context owns one struct
 * trace_thread per emitting thread; each holds a chain of chunks of records
 * in emission order. A record takes its sequence number from the context's
 * atomic counter only once its slot is reserved, so sequence numbers of
 * delivered records are dense and each buffer is sorted by seq; collection
 * is a k-way merge over the buffers (linear scan of the heads: the number of
 * threads is small and the merge is not on the emission path).
 *
 * Finding the calling thread's buffer: a thread-local cache of a few
 * (context address, context nonce) -> buffer entries. The nonce is a random
 * 64-bit value chosen at creation, so a context created at the address of a
 * destroyed one does not match stale entries; two contexts never see each
 * other's buffers. On a miss the slot table is searched under the lock by
 * pthread_self() and, failing that, a new slot is added. A thread id reused
 * by the C library after a thread exited maps to the exited thread's slot:
 * harmless, the slot's records stay ordered by seq.
 *
 * Memory: plain malloc(), not fault_malloc(): tracing sits below fault
 * injection (fault:inject is itself a trace event), so a trace allocation
 * can never be an injection point. When a chunk cannot be allocated, or the
 * per-thread limit is reached, the record is dropped and counted.
 *
 * Chunks grow geometrically (TRACE_CHUNK_MIN to TRACE_CHUNK_MAX records);
 * after a collect each buffer keeps its chunks, emptied, for reuse, up to
 * TRACE_RETAIN_RECORDS records of capacity (about 3 MiB per thread).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "trace_internal.h"

#define TRACE_CHUNK_MIN 256u
#define TRACE_CHUNK_MAX 16384u
#define TRACE_RETAIN_RECORDS 32768u
#define TRACE_TLS_WAYS 4u

struct trace_tls_entry {
	const struct trace_ctx *tc;
	uint64_t nonce;
	struct trace_thread *thr;
};

/* Keyed by (context, nonce): see the comment at the top of the file. */
static __thread struct trace_tls_entry trace_tls[TRACE_TLS_WAYS];
static __thread unsigned trace_tls_victim;

static uint64_t trace_make_nonce(const struct trace_ctx *tc)
{
	struct timespec ts;
	uint64_t n = 0;

	if (getrandom(&n, sizeof(n), GRND_NONBLOCK) == (ssize_t)sizeof(n) && n)
		return n;
	/* No entropy yet: the time and address still differ between reuses. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) * 0x9e3779b97f4a7c15ull;
	return (n ^ (uint64_t)(uintptr_t)tc) | 1;
}

int trace_ctx_create(trace_clock_fn clock, void *clock_arg, struct trace_ctx **out)
{
	struct trace_ctx *tc;
	int err;

	tc = calloc(1, sizeof(*tc));
	if (!tc)
		return -ENOMEM;
	err = pthread_mutex_init(&tc->lock, NULL);
	if (err) {
		free(tc);
		return -err;
	}
	tc->clock = clock;
	tc->clock_arg = clock_arg;
	tc->nonce = trace_make_nonce(tc);
	*out = tc;
	return 0;
}

static void trace_free_chunks(struct trace_chunk *c)
{
	while (c) {
		struct trace_chunk *next = c->next;

		free(c);
		c = next;
	}
}

void trace_ctx_destroy(struct trace_ctx *tc)
{
	if (!tc)
		return;
	for (uint32_t i = 0; i < tc->nthreads; i++) {
		trace_free_chunks(tc->threads[i]->head);
		free(tc->threads[i]);
	}
	free(tc->threads);
	pthread_mutex_destroy(&tc->lock);
	free(tc);
}

int trace_set_buffer_limit(struct trace_ctx *tc, uint64_t records)
{
	__atomic_store_n(&tc->limit, records, __ATOMIC_RELAXED);
	return 0;
}

uint64_t trace_dropped(struct trace_ctx *tc)
{
	return __atomic_load_n(&tc->dropped, __ATOMIC_RELAXED);
}

static void trace_drop(struct trace_ctx *tc)
{
	__atomic_add_fetch(&tc->dropped, 1, __ATOMIC_RELAXED);
}

/* Slow lookup: search the slot table, or add this thread to it. */
static struct trace_thread *trace_thread_find(struct trace_ctx *tc)
{
	pthread_t self = pthread_self();
	struct trace_thread *thr = NULL;

	pthread_mutex_lock(&tc->lock);
	for (uint32_t i = 0; i < tc->nthreads; i++) {
		if (pthread_equal(tc->threads[i]->owner, self)) {
			thr = tc->threads[i];
			goto out;
		}
	}
	if (tc->nthreads == tc->cap) {
		uint32_t cap = tc->cap ? tc->cap * 2 : 8;
		struct trace_thread **t = realloc(tc->threads, cap * sizeof(*t));

		if (!t)
			goto out;
		tc->threads = t;
		tc->cap = cap;
	}
	thr = calloc(1, sizeof(*thr));
	if (!thr)
		goto out;
	thr->owner = self;
	thr->slot = tc->nthreads;
	tc->threads[tc->nthreads++] = thr;
out:
	pthread_mutex_unlock(&tc->lock);
	return thr;
}

static struct trace_thread *trace_thread_get(struct trace_ctx *tc)
{
	struct trace_thread *thr;
	unsigned v;

	for (unsigned i = 0; i < TRACE_TLS_WAYS; i++)
		if (trace_tls[i].tc == tc && trace_tls[i].nonce == tc->nonce)
			return trace_tls[i].thr;
	thr = trace_thread_find(tc);
	if (!thr)
		return NULL;
	v = trace_tls_victim++ % TRACE_TLS_WAYS;
	trace_tls[v].tc = tc;
	trace_tls[v].nonce = tc->nonce;
	trace_tls[v].thr = thr;
	return thr;
}

/* A free record slot at the end of @thr's buffer, or NULL. */
static struct trace_record *trace_reserve(struct trace_ctx *tc, struct trace_thread *thr)
{
	struct trace_chunk *c = thr->tail;
	uint64_t limit = __atomic_load_n(&tc->limit, __ATOMIC_RELAXED);

	if (limit && thr->count >= limit)
		return NULL;
	if (c && c->len == c->cap && c->next) {
		/* A chunk kept from before the last collect (already empty). */
		c = thr->tail = c->next;
	} else if (!c || c->len == c->cap) {
		uint32_t cap = c ? c->cap * 2 : TRACE_CHUNK_MIN;

		if (cap > TRACE_CHUNK_MAX)
			cap = TRACE_CHUNK_MAX;
		c = malloc(sizeof(*c) + (size_t)cap * sizeof(c->recs[0]));
		if (!c)
			return NULL;
		c->next = NULL;
		c->cap = cap;
		c->len = 0;
		if (thr->tail)
			thr->tail->next = c;
		else
			thr->head = c;
		thr->tail = c;
	}
	thr->count++;
	return &c->recs[c->len++];
}

void trace_emit(struct trace_ctx *tc, enum trace_event_id id, unsigned n, const uint64_t *fields)
{
	struct trace_thread *thr;
	struct trace_record *rec;

	if (!tc || (unsigned)id >= TRACE_EV__COUNT)
		return;
	if (n > TRACE_MAX_FIELDS)
		n = TRACE_MAX_FIELDS;
	thr = trace_thread_get(tc);
	if (!thr) {
		trace_drop(tc);
		return;
	}
	rec = trace_reserve(tc, thr);
	if (!rec) {
		trace_drop(tc);
		return;
	}
	rec->seq = __atomic_fetch_add(&tc->seq, 1, __ATOMIC_RELAXED);
	rec->timestamp = tc->clock ? tc->clock(tc->clock_arg) : 0;
	rec->event = (uint32_t)id;
	rec->thread = thr->slot;
	memcpy(rec->fields, fields, n * sizeof(uint64_t));
	memset(rec->fields + n, 0, (TRACE_MAX_FIELDS - n) * sizeof(uint64_t));
}

/*
 * Empty a buffer. Chunks are kept for the next records up to
 * TRACE_RETAIN_RECORDS of capacity, so a periodic collect does not hand
 * large chunks back to the allocator (and the kernel) every time; the rest
 * is freed.
 */
static void trace_thread_clear(struct trace_thread *thr)
{
	uint64_t kept = 0;

	for (struct trace_chunk *c = thr->head; c; c = c->next) {
		c->len = 0;
		kept += c->cap;
		if (kept >= TRACE_RETAIN_RECORDS) {
			trace_free_chunks(c->next);
			c->next = NULL;
			break;
		}
	}
	thr->tail = thr->head;
	thr->count = 0;
}

/* The buffer holding the unread record with the lowest seq, or NULL. */
static struct trace_thread *trace_merge_next(struct trace_ctx *tc)
{
	struct trace_thread *best = NULL;
	uint64_t best_seq = 0;

	for (uint32_t i = 0; i < tc->nthreads; i++) {
		struct trace_thread *thr = tc->threads[i];
		struct trace_chunk *c = thr->rd_chunk;

		/* Skip exhausted chunks (a kept chunk may be empty). */
		while (c && thr->rd_idx >= c->len) {
			c = c->next;
			thr->rd_idx = 0;
		}
		thr->rd_chunk = c;
		if (!c)
			continue;
		if (!best || c->recs[thr->rd_idx].seq < best_seq) {
			best = thr;
			best_seq = c->recs[thr->rd_idx].seq;
		}
	}
	return best;
}

long trace_collect(struct trace_ctx *tc, trace_record_cb cb, void *arg)
{
	struct trace_thread *thr;
	long delivered = 0;

	pthread_mutex_lock(&tc->lock);
	for (uint32_t i = 0; i < tc->nthreads; i++) {
		tc->threads[i]->rd_chunk = tc->threads[i]->head;
		tc->threads[i]->rd_idx = 0;
	}
	while ((thr = trace_merge_next(tc))) {
		const struct trace_record *rec = &thr->rd_chunk->recs[thr->rd_idx++];

		delivered++;
		if (cb && cb(rec, arg))
			break;
	}
	for (uint32_t i = 0; i < tc->nthreads; i++)
		trace_thread_clear(tc->threads[i]);
	pthread_mutex_unlock(&tc->lock);
	return delivered;
}
