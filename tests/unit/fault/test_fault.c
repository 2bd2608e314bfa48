/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/fault: nth mode (arming thread only, fires once, the
 * fired flag), filters by class and name, probability determinism, the
 * fault:inject trace event and the fallible allocator.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/trace.h>

static struct fault_ctx *fc;

static void setup(void)
{
	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
}

static void teardown(void)
{
	fault_ctx_destroy(fc);
	fc = NULL;
}

TestSuite(fault, .init = setup, .fini = teardown);

Test(fault, disarmed_and_null_never_fail)
{
	for (int i = 0; i < 100; i++) {
		cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.x"));
		cr_assert_not(fault_should_fail(NULL, FAULT_CLASS_ALL, "t.x"));
	}
	cr_assert_eq(fault_injected_total(fc), 0);
	cr_assert_not(fault_nth_fired(fc));
}

struct hitter {
	struct fault_ctx *fc;
	int hits;
	int failed;
};

static void *hit_points(void *arg)
{
	struct hitter *h = arg;

	for (int i = 0; i < h->hits; i++)
		h->failed += fault_should_fail(h->fc, FAULT_CLASS_ALLOC, "t.other_thread");
	return NULL;
}

Test(fault, nth_counts_only_the_arming_thread)
{
	struct hitter h = { fc, 50, 0 };
	pthread_t t;

	fault_set_nth(fc, 3);
	/* Another thread's points neither count nor fail. */
	cr_assert_eq(pthread_create(&t, NULL, hit_points, &h), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(h.failed, 0);
	cr_assert_eq(fault_nth_count(fc), 0);
	cr_assert_not(fault_nth_fired(fc));

	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.a"));
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_PIN, "t.b"));
	cr_assert_eq(fault_nth_count(fc), 2);
	cr_assert_not(fault_nth_fired(fc));
	cr_assert(fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.c"));
	cr_assert(fault_nth_fired(fc));
	cr_assert_eq(fault_injected_total(fc), 1);
}

Test(fault, nth_fires_once_then_disarms_and_fired_stays)
{
	fault_set_nth(fc, 1);
	cr_assert(fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.a"));
	for (int i = 0; i < 20; i++)
		cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.a"));
	cr_assert(fault_nth_fired(fc));
	cr_assert_eq(fault_nth_count(fc), 1);
	cr_assert_eq(fault_injected_total(fc), 1);

	/* Re-arming clears the verdict; n == 0 disarms. */
	fault_set_nth(fc, 5);
	cr_assert_not(fault_nth_fired(fc));
	cr_assert_eq(fault_nth_count(fc), 0);
	fault_set_nth(fc, 0);
	for (int i = 0; i < 10; i++)
		cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.a"));
	cr_assert_not(fault_nth_fired(fc));
}

Test(fault, nth_sweep_terminates)
{
	/* The fail-nth sweep pattern: raise N until the Nth point is never reached. */
	uint64_t n;

	for (n = 1; n < 100; n++) {
		int failed_at = -1;

		fault_set_nth(fc, n);
		for (int i = 0; i < 7; i++)
			if (fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.sweep")) {
				failed_at = i;
				break;
			}
		if (!fault_nth_fired(fc)) {
			cr_assert_eq(failed_at, -1);
			break;
		}
		cr_assert_eq(failed_at, (int)n - 1, "n=%llu failed at %d", (unsigned long long)n,
			     failed_at);
	}
	cr_assert_eq(n, 8);
	cr_assert_eq(fault_injected_total(fc), 7);
}

Test(fault, filter_by_class)
{
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_PIN | FAULT_CLASS_QUEUE, NULL), 0);
	fault_set_nth(fc, 2);
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.alloc"));
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_HW, "t.hw"));
	cr_assert_eq(fault_nth_count(fc), 0, "non-matching classes must not count");
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_PIN, "t.pin"));
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.alloc"));
	cr_assert(fault_should_fail(fc, FAULT_CLASS_QUEUE, "t.queue"));
}

Test(fault, filter_by_name_prefix_and_exact)
{
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALL, "iopt.*"), 0);
	fault_set_nth(fc, 1);
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, "mach.pin"));
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, "iop"));
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, NULL));
	cr_assert_eq(fault_nth_count(fc), 0);
	cr_assert(fault_should_fail(fc, FAULT_CLASS_ALLOC, "iopt.area_alloc"));

	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALL, "mach.pin"), 0);
	fault_set_nth(fc, 1);
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_PIN, "mach.pin2"));
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_PIN, "mach.pi"));
	cr_assert(fault_should_fail(fc, FAULT_CLASS_PIN, "mach.pin"));

	/* The filter survives re-arming; fault_disarm() clears it. */
	fault_set_nth(fc, 1);
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_PIN, "other"));
	fault_disarm(fc);
	fault_set_nth(fc, 1);
	cr_assert(fault_should_fail(fc, FAULT_CLASS_PIN, "other"));
}

Test(fault, filter_rejects_bad_input)
{
	cr_assert_eq(fault_set_filter(fc, 0, NULL), -EINVAL);
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALL, "a*b"), -EINVAL);
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALL, "**"), -EINVAL);
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALL, ""), -EINVAL);
	/* A lone '*' is the empty prefix: every name. */
	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALL, "*"), 0);
	fault_set_nth(fc, 1);
	cr_assert(fault_should_fail(fc, FAULT_CLASS_ALLOC, "anything"));
}

static void draw_sequence(uint32_t ppm, uint64_t seed, bool *out, int n)
{
	fault_set_probability(fc, ppm, seed);
	for (int i = 0; i < n; i++)
		out[i] = fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.prob");
}

Test(fault, probability_is_deterministic_for_a_seed)
{
	enum { N = 2000 };
	static bool a[N], b[N], c[N];
	const uint64_t seed = 0x5eed1234;
	int fired = 0, differ = 0;

	draw_sequence(250000, seed, a, N);
	draw_sequence(250000, seed, b, N);
	draw_sequence(250000, seed + 1, c, N);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(a[i], b[i], "seed 0x%llx: draw %d differs", (unsigned long long)seed,
			     i);
		fired += a[i];
		differ += a[i] != c[i];
	}
	/* 25% of 2000 = 500; a binomial 6 sigma band is about +-116. */
	cr_assert(fired > 384 && fired < 616, "seed 0x%llx: %d fired", (unsigned long long)seed,
		  fired);
	cr_assert(differ > 0, "another seed must give another sequence");
}

Test(fault, probability_extremes_and_filter)
{
	enum { N = 200 };
	bool v[N];

	draw_sequence(1000000, 7, v, N);
	for (int i = 0; i < N; i++)
		cr_assert(v[i]);
	draw_sequence(2000000, 7, v, N); /* clamped to 1e6 */
	for (int i = 0; i < N; i++)
		cr_assert(v[i]);
	draw_sequence(0, 7, v, N);
	for (int i = 0; i < N; i++)
		cr_assert_not(v[i]);

	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_HW, NULL), 0);
	fault_set_probability(fc, 1000000, 7);
	cr_assert_not(fault_should_fail(fc, FAULT_CLASS_ALLOC, "t.prob"));
	cr_assert(fault_should_fail(fc, FAULT_CLASS_HW, "t.hw"));
}

struct inject_seen {
	int n;
	struct trace_record rec;
};

static int catch_record(const struct trace_record *rec, void *arg)
{
	struct inject_seen *s = arg;

	s->rec = *rec;
	s->n++;
	return 0;
}

Test(fault, firing_emits_fault_inject)
{
	static const char point[] = "t.traced";
	struct trace_ctx *tc;
	struct fault_ctx *tfc;
	struct inject_seen seen = { 0 };

	cr_assert_eq(trace_ctx_create(NULL, NULL, &tc), 0);
	cr_assert_eq(fault_ctx_create(tc, &tfc), 0);
	trace_enable(tc, TRACE_EV_fault_inject, true);
	fault_set_nth(tfc, 4);
	for (int i = 0; i < 6; i++)
		fault_should_fail(tfc, FAULT_CLASS_PIN, point);
	cr_assert_eq(trace_collect(tc, catch_record, &seen), 1);
	cr_assert_eq(seen.n, 1);
	cr_assert_eq(seen.rec.event, TRACE_EV_fault_inject);
	cr_assert_eq(seen.rec.fields[0], FAULT_CLASS_PIN);
	cr_assert_eq(seen.rec.fields[1], TRACE_STR(point));
	cr_assert_eq(seen.rec.fields[2], 4);
	fault_ctx_destroy(tfc);
	trace_ctx_destroy(tc);
}

Test(fault, allocator_returns_null_on_injection)
{
	void *p, *q;
	unsigned char *z;

	cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALLOC, "t.alloc.*"), 0);
	fault_set_nth(fc, 2);
	p = fault_malloc(fc, "t.alloc.a", 64);
	cr_assert_not_null(p);
	/* Not matching the filter: neither fails nor counts. */
	q = fault_malloc(fc, "t.other", 64);
	cr_assert_not_null(q);
	fault_free(q);
	errno = 0;
	cr_assert_null(fault_malloc(fc, "t.alloc.b", 64));
	cr_assert_eq(errno, ENOMEM);
	fault_free(p);

	fault_set_nth(fc, 1);
	cr_assert_null(fault_zalloc(fc, "t.alloc.z", 16));
	z = fault_zalloc(fc, "t.alloc.z", 16);
	cr_assert_not_null(z);
	for (int i = 0; i < 16; i++)
		cr_assert_eq(z[i], 0);
	z[0] = 0xa5;

	/* A failed realloc leaves the old block intact. */
	fault_set_nth(fc, 1);
	cr_assert_null(fault_realloc(fc, "t.alloc.r", z, 4096));
	cr_assert_eq(z[0], 0xa5);
	z = fault_realloc(fc, "t.alloc.r", z, 4096);
	cr_assert_not_null(z);
	cr_assert_eq(z[0], 0xa5);
	fault_free(z);

	fault_set_nth(fc, 1);
	cr_assert_null(fault_calloc(fc, "t.alloc.c", 4, 8));
	p = fault_calloc(fc, "t.alloc.c", 4, 8);
	cr_assert_not_null(p);
	fault_free(p);

	fault_set_nth(fc, 1);
	cr_assert_null(fault_aligned_alloc(fc, "t.alloc.al", 4096, 100));
	p = fault_aligned_alloc(fc, "t.alloc.al", 4096, 100);
	cr_assert_not_null(p);
	cr_assert_eq((uintptr_t)p % 4096, 0);
	fault_free(p);
	cr_assert_eq(fault_injected_total(fc), 5);
	fault_free(NULL);
}

Test(fault, calloc_overflow_is_null_and_not_counted)
{
	fault_set_nth(fc, 1);
	errno = 0;
	cr_assert_null(fault_calloc(fc, "t.calloc", SIZE_MAX / 2, 3));
	cr_assert_eq(errno, ENOMEM);
	cr_assert_null(fault_calloc(fc, "t.calloc", SIZE_MAX, SIZE_MAX));
	cr_assert_eq(fault_nth_count(fc), 0);
	cr_assert_not(fault_nth_fired(fc));
	/* Disarmed context: overflow still refused. */
	cr_assert_null(fault_calloc(NULL, "t.calloc", (size_t)1 << (sizeof(size_t) * 4),
				    (size_t)1 << (sizeof(size_t) * 4)));
}

Test(fault, aligned_alloc_rejects_bad_alignment)
{
	errno = 0;
	cr_assert_null(fault_aligned_alloc(fc, "t.al", 3, 64));
	cr_assert_eq(errno, EINVAL);
	cr_assert_null(fault_aligned_alloc(fc, "t.al", 0, 64));
	void *p = fault_aligned_alloc(fc, "t.al", 1, 10); /* raised to sizeof(void *) */
	cr_assert_not_null(p);
	fault_free(p);
}
