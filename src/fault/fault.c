/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: the injection-point decision (include/iommusim/fault.h).
 *
 * Data structure: one struct fault_ctx per machine. Its first member is the
 * public struct fault_ctx_head, whose 'armed' word is the only thing the
 * inline fast path reads: 0 means "no mode armed" and every point returns
 * false after one relaxed load. Everything else (mode, filter, nth target,
 * arming thread, probability, generator state) is read only on the slow
 * path, which runs only while a mode is armed.
 *
 * Invariants:
 *  - head.armed != 0  <=>  mode != FAULT_MODE_NONE. The only exception is
 *    the instant between disarming and the store of armed = 0, which is why
 *    the slow path re-checks the mode under the lock.
 *  - In nth mode, nth_count counts matching points hit by 'armer' only;
 *    when it reaches nth_target the point fails, nth_fired becomes true and
 *    the context disarms itself. nth_fired stays true until the next
 *    fault_set_nth()/fault_disarm(), so a sweep can ask afterwards whether
 *    its Nth point was reached.
 *  - The filter (classes + optional pattern) survives mode changes; only
 *    fault_disarm() clears it. It is owned by the context (a private copy).
 *
 * Locking: 'lock' serialises configuration changes against the slow path,
 * so a point never sees a half-written filter or an nth target from one
 * arming and a count from another. The slow path only runs while armed
 * (tests, sweeps, stress runs), so a mutex there costs nothing in normal
 * runs. Counters that are read without the lock (nth_count, fired, totals)
 * are atomics. The fault:inject trace event is emitted after the lock is
 * dropped: tracing never calls back into fault injection, but keeping the
 * critical section short matters for multi-threaded probability runs.
 *
 * Memory: the context itself and the filter copy use plain malloc(), not
 * fault_malloc(): the injection layer cannot inject into itself (a failure
 * injected while arming would be indistinguishable from the failure being
 * studied, and fault_malloc would need the very context being built).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/trace.h>

enum fault_mode {
	FAULT_MODE_NONE = 0,
	FAULT_MODE_NTH,
	FAULT_MODE_PROB,
};

struct fault_ctx {
	struct fault_ctx_head head; /* must stay first: the inline fast path casts to it */
	struct trace_ctx *trace;
	pthread_mutex_t lock;

	/* Protected by lock. */
	enum fault_mode mode;
	uint32_t classes;
	char *pattern; /* NULL: any name */
	size_t pattern_len; /* without the trailing '*' when prefix */
	bool prefix;
	pthread_t armer;
	uint64_t nth_target;
	uint32_t ppm;
	uint64_t rng; /* splitmix64 state */
	uint64_t prob_hits; /* matching points seen in probability mode */

	/* Atomics: read without the lock. */
	uint64_t nth_count;
	int nth_fired;
	uint64_t injected_total;
};

#define FAULT_PPM_ONE 1000000u

static void fault_set_armed(struct fault_ctx *fc, int armed)
{
	__atomic_store_n(&fc->head.armed, armed, __ATOMIC_RELEASE);
}

int fault_ctx_create(struct trace_ctx *trace, struct fault_ctx **out)
{
	struct fault_ctx *fc;
	int err;

	/* Plain calloc: see the comment at the top of the file. */
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return -ENOMEM;
	err = pthread_mutex_init(&fc->lock, NULL);
	if (err) {
		free(fc);
		return -err;
	}
	fc->trace = trace;
	fc->classes = FAULT_CLASS_ALL;
	*out = fc;
	return 0;
}

void fault_ctx_destroy(struct fault_ctx *fc)
{
	if (!fc)
		return;
	pthread_mutex_destroy(&fc->lock);
	free(fc->pattern);
	free(fc);
}

void fault_set_nth(struct fault_ctx *fc, uint64_t n)
{
	pthread_mutex_lock(&fc->lock);
	__atomic_store_n(&fc->nth_count, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fc->nth_fired, 0, __ATOMIC_RELAXED);
	fc->nth_target = n;
	fc->armer = pthread_self();
	fc->mode = n ? FAULT_MODE_NTH : FAULT_MODE_NONE;
	fault_set_armed(fc, n != 0);
	pthread_mutex_unlock(&fc->lock);
}

bool fault_nth_fired(struct fault_ctx *fc)
{
	return __atomic_load_n(&fc->nth_fired, __ATOMIC_ACQUIRE) != 0;
}

uint64_t fault_nth_count(struct fault_ctx *fc)
{
	return __atomic_load_n(&fc->nth_count, __ATOMIC_RELAXED);
}

void fault_set_probability(struct fault_ctx *fc, uint32_t ppm, uint64_t seed)
{
	if (ppm > FAULT_PPM_ONE)
		ppm = FAULT_PPM_ONE;
	pthread_mutex_lock(&fc->lock);
	fc->ppm = ppm;
	fc->rng = seed;
	fc->prob_hits = 0;
	/* Arming another mode ends nth mode: its verdict no longer applies. */
	__atomic_store_n(&fc->nth_fired, 0, __ATOMIC_RELAXED);
	fc->mode = ppm ? FAULT_MODE_PROB : FAULT_MODE_NONE;
	fault_set_armed(fc, ppm != 0);
	pthread_mutex_unlock(&fc->lock);
}

int fault_set_filter(struct fault_ctx *fc, uint32_t classes, const char *pattern)
{
	char *copy = NULL;
	size_t len = 0;
	bool prefix = false;

	if (!classes)
		return -EINVAL;
	if (pattern) {
		const char *star = strchr(pattern, '*');

		len = strlen(pattern);
		/* A '*' is allowed only as the last character (a prefix). */
		if (star && star != pattern + len - 1)
			return -EINVAL;
		if (!len)
			return -EINVAL;
		prefix = star != NULL;
		copy = strdup(pattern);
		if (!copy)
			return -ENOMEM;
		if (prefix)
			len--;
	}
	pthread_mutex_lock(&fc->lock);
	free(fc->pattern);
	fc->classes = classes;
	fc->pattern = copy;
	fc->pattern_len = len;
	fc->prefix = prefix;
	pthread_mutex_unlock(&fc->lock);
	return 0;
}

void fault_disarm(struct fault_ctx *fc)
{
	pthread_mutex_lock(&fc->lock);
	fc->mode = FAULT_MODE_NONE;
	fault_set_armed(fc, 0);
	fc->nth_target = 0;
	__atomic_store_n(&fc->nth_count, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fc->nth_fired, 0, __ATOMIC_RELAXED);
	fc->ppm = 0;
	fc->classes = FAULT_CLASS_ALL;
	free(fc->pattern);
	fc->pattern = NULL;
	fc->pattern_len = 0;
	fc->prefix = false;
	pthread_mutex_unlock(&fc->lock);
}

uint64_t fault_injected_total(struct fault_ctx *fc)
{
	return __atomic_load_n(&fc->injected_total, __ATOMIC_RELAXED);
}

/* Caller holds fc->lock. */
static bool fault_filter_match(const struct fault_ctx *fc, uint32_t cls, const char *point)
{
	if (!(cls & fc->classes))
		return false;
	if (!fc->pattern)
		return true;
	if (!point)
		return false;
	if (fc->prefix)
		return strncmp(point, fc->pattern, fc->pattern_len) == 0;
	return strcmp(point, fc->pattern) == 0;
}

/*
 * splitmix64 (Steele, Lea, Flood 2014): one 64-bit add and a mix per draw, a
 * full-period sequence, and a well-defined stream for any seed including 0.
 * Caller holds fc->lock, so a single-threaded run draws the same sequence
 * every time.
 */
static uint64_t fault_rng_next(struct fault_ctx *fc)
{
	uint64_t z = (fc->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

bool fault_should_fail_slow(struct fault_ctx *fc, uint32_t cls, const char *point)
{
	uint64_t ordinal = 0;
	bool fire = false;

	pthread_mutex_lock(&fc->lock);
	if (!fault_filter_match(fc, cls, point))
		goto out;
	switch (fc->mode) {
	case FAULT_MODE_NTH:
		if (!pthread_equal(fc->armer, pthread_self()))
			break;
		ordinal = __atomic_add_fetch(&fc->nth_count, 1, __ATOMIC_RELAXED);
		if (ordinal == fc->nth_target) {
			fire = true;
			fc->mode = FAULT_MODE_NONE;
			fault_set_armed(fc, 0);
			__atomic_store_n(&fc->nth_fired, 1, __ATOMIC_RELEASE);
		}
		break;
	case FAULT_MODE_PROB: {
		/* Scale a 64-bit draw to [0, 1e6) without modulo bias worth naming. */
		uint64_t r = fault_rng_next(fc);
		uint64_t draw = (uint64_t)(((unsigned __int128)r * FAULT_PPM_ONE) >> 64);

		ordinal = ++fc->prob_hits;
		fire = draw < fc->ppm;
		break;
	}
	case FAULT_MODE_NONE:
		break;
	}
out:
	pthread_mutex_unlock(&fc->lock);
	if (fire) {
		__atomic_add_fetch(&fc->injected_total, 1, __ATOMIC_RELAXED);
		TRACE(fc->trace, fault_inject, cls, TRACE_STR(point), ordinal);
	}
	return fire;
}
