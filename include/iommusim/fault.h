/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: named injection points and the fallible allocator.
 *
 * Every allocation, pin, accounting charge, queue slot and modelled hardware
 * action in iommusim passes an injection point: a (class, name) pair checked
 * with fault_should_fail(). A fault context belongs to one machine; nothing
 * here is global, so two simulations in one process never see each other's
 * injections.
 *
 * Modes (one at a time; arming a mode replaces the previous one):
 *  - nth:         fail the Nth matching point hit *by the arming thread*
 *                 (points hit by other threads are not counted), once, like
 *                 Linux's /proc/self/task/<tid>/fail-nth. fault_nth_fired()
 *                 tells afterwards whether the Nth point was reached, which
 *                 is how a sweep knows it is done.
 *  - probability: fail each matching point with probability ppm/1e6, drawn
 *                 from a generator seeded by the caller (deterministic for a
 *                 single-threaded run).
 * A filter restricts which points match: a mask of classes and an optional
 * name pattern (exact name, or a prefix ending in '*').
 *
 * Cost when disarmed: one relaxed load and a predictable branch.
 *
 * Locking: the configuration is written by fault_set_*() and read by any
 * thread; counters are atomics. Arming while other threads run points is
 * allowed; the change takes effect at their next point.
 */
#ifndef IOMMUSIM_FAULT_H
#define IOMMUSIM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct trace_ctx;

/* Classes of injection points; a filter is a mask of these. */
enum fault_class {
	FAULT_CLASS_ALLOC = 1u << 0, /* memory allocation */
	FAULT_CLASS_PIN = 1u << 1, /* pinning a user or file page */
	FAULT_CLASS_ACCOUNT = 1u << 2, /* charging locked_vm / pinned_vm */
	FAULT_CLASS_QUEUE = 1u << 3, /* a queue slot (command, event, fault) */
	FAULT_CLASS_HW = 1u << 4, /* a modelled hardware action */
	FAULT_CLASS_ALL = 0xffffffffu,
};

/*
 * The public head of the opaque fault context: only what the inline fast
 * path needs. Do not touch the fields directly.
 */
struct fault_ctx_head {
	int armed; /* read with a relaxed atomic load */
};

struct fault_ctx;

/* @trace may be NULL; when set, every fired injection emits fault:inject. */
int fault_ctx_create(struct trace_ctx *trace, struct fault_ctx **out);
void fault_ctx_destroy(struct fault_ctx *fc);

/* Arm nth mode for the calling thread. n == 0 disarms. */
void fault_set_nth(struct fault_ctx *fc, uint64_t n);
/* True once the armed Nth point was reached (and failed). */
bool fault_nth_fired(struct fault_ctx *fc);
/* Points hit by the arming thread since fault_set_nth() (matching the filter). */
uint64_t fault_nth_count(struct fault_ctx *fc);

/* Arm probability mode: each matching point fails with ppm / 1e6. */
void fault_set_probability(struct fault_ctx *fc, uint32_t ppm, uint64_t seed);

/*
 * Restrict matching points to @classes and, when @pattern is not NULL, to a
 * name: exact, or a prefix when the pattern ends in '*'. The pattern is
 * copied. Returns 0 or -ENOMEM / -EINVAL.
 */
int fault_set_filter(struct fault_ctx *fc, uint32_t classes, const char *pattern);

/* Disarm every mode and clear the filter. */
void fault_disarm(struct fault_ctx *fc);

/* How many injections fired since the context was created. */
uint64_t fault_injected_total(struct fault_ctx *fc);

/* Slow path of fault_should_fail(); call that instead. */
bool fault_should_fail_slow(struct fault_ctx *fc, uint32_t cls, const char *point);

/*
 * The injection point. @point is a static string naming the site, such as
 * "mach.pin" or "iopt.area_alloc". Returns true when the caller must fail as
 * if the operation had failed for real. @fc may be NULL (never fails).
 */
static inline bool fault_should_fail(struct fault_ctx *fc, uint32_t cls, const char *point)
{
	if (__builtin_expect(!fc, 0))
		return false;
	if (__builtin_expect(
		    !__atomic_load_n(&((struct fault_ctx_head *)fc)->armed, __ATOMIC_RELAXED), 1))
		return false;
	return fault_should_fail_slow(fc, cls, point);
}

/*
 * The fallible allocator: every allocation in the project goes through these.
 * Each passes an injection point of class FAULT_CLASS_ALLOC named @point.
 * fault_calloc() checks n * size for overflow. Free with fault_free().
 */
void *fault_malloc(struct fault_ctx *fc, const char *point, size_t size);
void *fault_zalloc(struct fault_ctx *fc, const char *point, size_t size);
void *fault_calloc(struct fault_ctx *fc, const char *point, size_t n, size_t size);
void *fault_realloc(struct fault_ctx *fc, const char *point, void *p, size_t size);
void *fault_aligned_alloc(struct fault_ctx *fc, const char *point, size_t align, size_t size);
void fault_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_FAULT_H */
