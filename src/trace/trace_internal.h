/* SPDX-License-Identifier: MIT */
/*
 * Private layout of the trace context, shared by the files of src/trace/.
 *
 * struct trace_ctx
 *   head          the public enable mask (must stay first: trace_on() casts)
 *   seq           next global sequence number (atomic fetch-add per record)
 *   dropped       records lost because a buffer could not grow (atomic)
 *   limit         records one thread may hold between collects, 0 = no limit
 *   threads[]     one struct trace_thread per thread that ever emitted into
 *                 this context, indexed by slot (slots are handed out in order
 *                 of first emission and never reused within a context)
 *   nonce         a random 64-bit tag that, with the context's address, keys
 *                 the per-thread lookup cache (see buffer.c)
 *
 * struct trace_thread: the records of one emitting thread, a singly linked
 * list of chunks filled in order, so records within one buffer are sorted
 * by seq. Only the owning thread appends; readers (collect) run only while
 * no thread emits into the context (the contract in trace.h).
 *
 * Locking: 'lock' protects threads[]/nthreads/cap (the slot table). It is
 * taken only when a thread emits into a context for the first time (or its
 * cache entry was evicted) and by the readers.
 */
#ifndef IOMMUSIM_TRACE_INTERNAL_H
#define IOMMUSIM_TRACE_INTERNAL_H

#include <pthread.h>
#include <stddef.h>

#include <iommusim/trace.h>

struct trace_chunk {
	struct trace_chunk *next;
	uint32_t cap;
	uint32_t len;
	struct trace_record recs[];
};

struct trace_thread {
	pthread_t owner;
	uint32_t slot;
	uint64_t count; /* records held since the last collect */
	struct trace_chunk *head;
	struct trace_chunk *tail;
	/* Read cursor, used only inside trace_collect(). */
	struct trace_chunk *rd_chunk;
	uint32_t rd_idx;
};

struct trace_ctx {
	struct trace_ctx_head head; /* must stay first */
	trace_clock_fn clock;
	void *clock_arg;
	uint64_t nonce;
	uint64_t seq;
	uint64_t dropped;
	uint64_t limit;
	pthread_mutex_t lock;
	struct trace_thread **threads;
	uint32_t nthreads;
	uint32_t cap;
};

/* text.c: the mini printf over uint64 fields. Returns the length needed. */
int trace_format_fields(const char *fmt, const uint64_t *fields, unsigned nfields, char *buf,
			size_t size);

#endif /* IOMMUSIM_TRACE_INTERNAL_H */
