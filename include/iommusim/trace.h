/* SPDX-License-Identifier: MIT */
/*
 * Tracing: one catalogue of events (include/iommusim/trace_events.h and the
 * per-layer lists it includes), per-thread buffers, and sinks.
 *
 * An event is declared once, in the catalogue, as
 *     TRACE_EVENT(sym, "subsystem:event", "printf-style format", NFIELDS, "f0", "f1", ...)
 * with at most TRACE_MAX_FIELDS fields. Every field travels as a uint64_t;
 * the format may use %llx %llu %lld %016llx (and widths) for numbers and %s
 * for a field carrying a pointer to a *static* string. The text, binary and
 * Perfetto sinks are all driven from that declaration.
 *
 * Events of the Linux kernel (iommu:map, iommu:unmap, iommu:io_page_fault,
 * dma:*) use the kernel's exact format text and print in the ftrace layout
 * with the kernel's bare event name ("map:"); our own events print their full
 * "subsystem:event" name.
 *
 * Emitting:   TRACE(tc, sym, a0, a1, ...);
 * costs one load and one predictable branch when the event is off. When on,
 * the record (event id, simulated timestamp, global sequence number, thread
 * slot, fields) goes to the calling thread's buffer; records are merged by
 * sequence number when read, so a single-threaded run gives the same trace
 * bit for bit every time.
 *
 * Locking: enabling/disabling is atomic per event; each thread owns its
 * buffer; reading (trace_collect, trace_flush_text) must not run concurrently
 * with emitters of the same context.
 */
#ifndef IOMMUSIM_TRACE_H
#define IOMMUSIM_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRACE_MAX_FIELDS 8

enum trace_event_id {
#define TRACE_EVENT(sym, name, fmt, nfields, ...) TRACE_EV_##sym,
#include <iommusim/trace_events.h>
#undef TRACE_EVENT
	TRACE_EV__COUNT
};

#define TRACE_MASK_WORDS ((TRACE_EV__COUNT + 63) / 64)

/* Static description of an event, from the catalogue. */
struct trace_event_desc {
	const char *name; /* "subsystem:event" */
	const char *format; /* printf-style, see above */
	unsigned nfields;
	const char *fields[TRACE_MAX_FIELDS];
	bool kernel; /* a Linux kernel event: print its bare name */
};

const struct trace_event_desc *trace_event_desc(enum trace_event_id id);
/* Look an event up by "subsystem:event"; returns -1 when unknown. */
int trace_event_lookup(const char *name);

/* One record as read back from the buffers. */
struct trace_record {
	uint64_t seq; /* global order of emission */
	uint64_t timestamp; /* simulated nanoseconds */
	uint32_t event; /* enum trace_event_id */
	uint32_t thread; /* emitting thread's slot, from 0 in order of first emission */
	uint64_t fields[TRACE_MAX_FIELDS];
};

/* Public head of the opaque context, for the inline fast path only. */
struct trace_ctx_head {
	uint64_t enabled[TRACE_MASK_WORDS]; /* read with relaxed atomic loads */
};

struct trace_ctx;

typedef uint64_t (*trace_clock_fn)(void *arg);

/* @clock gives the simulated time stamped on each record (may be NULL: 0). */
int trace_ctx_create(trace_clock_fn clock, void *clock_arg, struct trace_ctx **out);
void trace_ctx_destroy(struct trace_ctx *tc);

void trace_enable(struct trace_ctx *tc, enum trace_event_id id, bool on);
void trace_enable_all(struct trace_ctx *tc, bool on);
/*
 * Enable by pattern: "iommu:map", "iommu:*", "*", or a comma-separated list
 * of those. Returns the number of events enabled, or -EINVAL for a pattern
 * naming no event.
 */
int trace_enable_pattern(struct trace_ctx *tc, const char *patterns);

/*
 * Read every buffered record in emission order (by seq), then clear the
 * buffers. @cb returns 0 to continue or non-zero to stop (the rest is still
 * cleared). Returns the number of records delivered.
 */
typedef int (*trace_record_cb)(const struct trace_record *rec, void *arg);
long trace_collect(struct trace_ctx *tc, trace_record_cb cb, void *arg);

/*
 * Format one record as an ftrace text line (no newline):
 *   "<task>-<pid> [<cpu>] <flags> <sec>.<usec>: <event>: <fields>"
 * Returns the length that the full line needs, like snprintf.
 */
int trace_format_text(const struct trace_record *rec, char *buf, size_t size);

/* Drain the buffers into @out as ftrace text lines. Returns lines written or -errno. */
long trace_flush_text(struct trace_ctx *tc, FILE *out);

/*
 * The Chrome/Perfetto JSON sink (sink_perfetto.c): a {"traceEvents": [...]}
 * document that ui.perfetto.dev and chrome://tracing open. Catalogue records
 * become instant events named "subsystem:event" with their fields as args
 * (named and typed by the catalogue: %s fields as strings, hex fields as
 * "0x..." strings, the rest as numbers), on one track per emitting thread.
 * Callers add their own complete spans (ph "X") and counters (ph "C").
 * Timestamps are simulated nanoseconds, written in microseconds with three
 * decimals. Writes go to the caller's FILE; nothing else is printed.
 */
struct trace_perfetto;
int trace_perfetto_open(FILE *out, const char *process_name, struct trace_perfetto **out_pw);
/* Finish the document and free the writer: 0, or -EIO when a write failed. */
int trace_perfetto_close(struct trace_perfetto *pw);
void trace_perfetto_record(struct trace_perfetto *pw, const struct trace_record *rec);
/* Name a track (thread id) of the process. */
void trace_perfetto_track(struct trace_perfetto *pw, uint32_t tid, const char *name);
/* A complete span; args are numbers, @hex_mask bit i prints arg i as a hex string. */
void trace_perfetto_span(struct trace_perfetto *pw, const char *name, const char *cat, uint32_t tid,
			 uint64_t ts_ns, uint64_t dur_ns, unsigned nargs, const char *const *keys,
			 const uint64_t *vals, uint32_t hex_mask);
void trace_perfetto_counter(struct trace_perfetto *pw, const char *name, uint64_t ts_ns,
			    double value);
/* Drain the context's buffers into @pw. Returns records written. */
long trace_flush_perfetto(struct trace_ctx *tc, struct trace_perfetto *pw);

/* Records dropped because a buffer could not grow. */
uint64_t trace_dropped(struct trace_ctx *tc);

/*
 * Bound each thread's buffer to @records between two collects (0, the
 * default, means no bound). Records beyond it are dropped and counted in
 * trace_dropped(), exactly like records that found no memory. Returns 0.
 */
int trace_set_buffer_limit(struct trace_ctx *tc, uint64_t records);

/* Slow path of TRACE(); call the macro instead. */
void trace_emit(struct trace_ctx *tc, enum trace_event_id id, unsigned n, const uint64_t *fields);

static inline bool trace_on(struct trace_ctx *tc, enum trace_event_id id)
{
	return tc && (__atomic_load_n(&((struct trace_ctx_head *)tc)->enabled[id / 64],
				      __ATOMIC_RELAXED) >>
		      (id % 64)) &
			     1;
}

#define TRACE_ARGS_(...) ((const uint64_t[]){ __VA_ARGS__ })
#define TRACE_NARGS_(...) (sizeof(TRACE_ARGS_(__VA_ARGS__)) / sizeof(uint64_t))

/* Emit event @sym with uint64_t-convertible fields, in catalogue order. */
#define TRACE(tc, sym, ...)                                                              \
	do {                                                                             \
		struct trace_ctx *trace_tc_ = (tc);                                      \
		if (__builtin_expect(trace_on(trace_tc_, TRACE_EV_##sym), 0))            \
			trace_emit(trace_tc_, TRACE_EV_##sym, TRACE_NARGS_(__VA_ARGS__), \
				   TRACE_ARGS_(__VA_ARGS__));                            \
	} while (0)

/* A field carrying a static string. */
#define TRACE_STR(s) ((uint64_t)(uintptr_t)(const char *)(s))

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_TRACE_H */
