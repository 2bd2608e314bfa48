/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/trace: the catalogue, enabling by id and pattern,
 * per-thread buffers merged by sequence number, the ftrace text layout of
 * the kernel's iommu:map and of our own events, the formatter, drops and
 * collection.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/trace.h>

#include "trace/trace_internal.h"

static struct trace_ctx *tc;

static void setup(void)
{
	cr_assert_eq(trace_ctx_create(NULL, NULL, &tc), 0);
}

static void teardown(void)
{
	trace_ctx_destroy(tc);
	tc = NULL;
}

TestSuite(trace, .init = setup, .fini = teardown);

/* Collect everything into a malloc'd array. */
struct recs {
	struct trace_record *v;
	long n;
	long cap;
	long stop_after; /* 0: never stop */
};

static int keep(const struct trace_record *rec, void *arg)
{
	struct recs *r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = realloc(r->v, (size_t)r->cap * sizeof(*r->v));
		cr_assert_not_null(r->v);
	}
	r->v[r->n++] = *rec;
	return r->stop_after && r->n >= r->stop_after;
}

Test(trace, catalogue_descriptors)
{
	int map = trace_event_lookup("iommu:map");
	int inject = trace_event_lookup("fault:inject");
	const struct trace_event_desc *d;

	cr_assert_eq(map, TRACE_EV_iommu_map);
	cr_assert_eq(inject, TRACE_EV_fault_inject);
	cr_assert_eq(trace_event_lookup("iommu:nosuch"), -1);
	cr_assert_eq(trace_event_lookup(NULL), -1);
	d = trace_event_desc(TRACE_EV_iommu_map);
	cr_assert_str_eq(d->name, "iommu:map");
	cr_assert_eq(d->nfields, 4);
	cr_assert_str_eq(d->fields[2], "paddr");
	cr_assert(d->kernel);
	cr_assert(trace_event_desc(TRACE_EV_iommu_unmap)->kernel);
	cr_assert_not(trace_event_desc(TRACE_EV_fault_inject)->kernel);
	cr_assert_null(trace_event_desc(TRACE_EV__COUNT));
	for (int i = 0; i < TRACE_EV__COUNT; i++) {
		d = trace_event_desc(i);
		cr_assert_not_null(d->name);
		cr_assert_not_null(strchr(d->name, ':'), "%s: no subsystem", d->name);
		cr_assert_eq(trace_event_lookup(d->name), i, "%s not unique", d->name);
	}
}

Test(trace, enable_and_disable)
{
	cr_assert_not(trace_on(tc, TRACE_EV_iommu_map));
	cr_assert_not(trace_on(NULL, TRACE_EV_iommu_map));
	TRACE(tc, iommu_map, 1, 2, 3, 4);
	cr_assert_eq(trace_collect(tc, NULL, NULL), 0);

	trace_enable(tc, TRACE_EV_iommu_map, true);
	cr_assert(trace_on(tc, TRACE_EV_iommu_map));
	cr_assert_not(trace_on(tc, TRACE_EV_iommu_unmap));
	TRACE(tc, iommu_map, 1, 2, 3, 4);
	TRACE(tc, iommu_unmap, 1, 2, 3, 4);
	cr_assert_eq(trace_collect(tc, NULL, NULL), 1);

	trace_enable(tc, TRACE_EV_iommu_map, false);
	TRACE(tc, iommu_map, 1, 2, 3, 4);
	cr_assert_eq(trace_collect(tc, NULL, NULL), 0);

	trace_enable_all(tc, true);
	for (int i = 0; i < TRACE_EV__COUNT; i++)
		cr_assert(trace_on(tc, i));
	trace_enable_all(tc, false);
	for (int i = 0; i < TRACE_EV__COUNT; i++)
		cr_assert_not(trace_on(tc, i));
}

/* Events whose name starts with @prefix, counted from the catalogue. */
static int count_prefix(const char *prefix)
{
	int n = 0;

	for (int i = 0; i < TRACE_EV__COUNT; i++)
		n += strncmp(trace_event_desc(i)->name, prefix, strlen(prefix)) == 0;
	return n;
}

static int count_enabled(void)
{
	int n = 0;

	for (int i = 0; i < TRACE_EV__COUNT; i++)
		n += trace_on(tc, i);
	return n;
}

Test(trace, enable_patterns)
{
	int iommu = count_prefix("iommu:");

	cr_assert_geq(iommu, 2);
	cr_assert_eq(trace_enable_pattern(tc, "iommu:*"), iommu);
	cr_assert_eq(count_enabled(), iommu);
	cr_assert(trace_on(tc, TRACE_EV_iommu_map));
	cr_assert(trace_on(tc, TRACE_EV_iommu_unmap));
	cr_assert_not(trace_on(tc, TRACE_EV_fault_inject));
	/* "iommu:*" is not "iommufd:*": the colon is part of the prefix. */
	for (int i = 0; i < TRACE_EV__COUNT; i++)
		if (strncmp(trace_event_desc(i)->name, "iommufd:", 8) == 0)
			cr_assert_not(trace_on(tc, i), "%s", trace_event_desc(i)->name);
	trace_enable_all(tc, false);

	cr_assert_eq(trace_enable_pattern(tc, "iommu:unmap, fault:inject"), 2);
	cr_assert_eq(count_enabled(), 2);
	cr_assert_not(trace_on(tc, TRACE_EV_iommu_map));
	cr_assert(trace_on(tc, TRACE_EV_iommu_unmap));
	cr_assert(trace_on(tc, TRACE_EV_fault_inject));
	trace_enable_all(tc, false);

	cr_assert_eq(trace_enable_pattern(tc, "iommu:map"), 1);
	cr_assert_eq(count_enabled(), 1);
	cr_assert_eq(trace_enable_pattern(tc, "*"), TRACE_EV__COUNT);
	cr_assert_eq(count_enabled(), TRACE_EV__COUNT);
	trace_enable_all(tc, false);

	/* Overlapping tokens count each event once; prefixes need not end at ':'. */
	cr_assert_eq(trace_enable_pattern(tc, "iommu:*,iommu:map"), iommu);
	trace_enable_all(tc, false);
	cr_assert_eq(trace_enable_pattern(tc, "iommu:unm*"), 1);
	trace_enable_all(tc, false);
}

Test(trace, bad_patterns_enable_nothing)
{
	static const char *const bad[] = {
		"",  "nosuch:*", "iommu:map,bogus", "io*mu:map", "iommu:map,,iommu:unmap",
		",", "iommu:ma"
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(trace_enable_pattern(tc, bad[i]), -EINVAL, "pattern '%s'", bad[i]);
		for (int e = 0; e < TRACE_EV__COUNT; e++)
			cr_assert_not(trace_on(tc, e), "pattern '%s' enabled %d", bad[i], e);
	}
	cr_assert_eq(trace_enable_pattern(tc, NULL), -EINVAL);
}

static uint64_t fake_clock(void *arg)
{
	uint64_t *now = arg;

	return *now += 1500;
}

Test(trace, records_carry_seq_time_thread_and_fields)
{
	struct trace_ctx *ctc;
	uint64_t now = 0;
	struct recs r = { 0 };

	cr_assert_eq(trace_ctx_create(fake_clock, &now, &ctc), 0);
	trace_enable_all(ctc, true);
	for (uint64_t i = 0; i < 1000; i++)
		TRACE(ctc, iommu_unmap, i, i + 1, i + 2, i + 3);
	cr_assert_eq(trace_collect(ctc, keep, &r), 1000);
	for (long i = 0; i < r.n; i++) {
		cr_assert_eq(r.v[i].seq, (uint64_t)i);
		cr_assert_eq(r.v[i].timestamp, 1500 * (uint64_t)(i + 1));
		cr_assert_eq(r.v[i].thread, 0);
		cr_assert_eq(r.v[i].event, TRACE_EV_iommu_unmap);
		cr_assert_eq(r.v[i].fields[3], (uint64_t)i + 3);
		cr_assert_eq(r.v[i].fields[4], 0);
	}
	free(r.v);
	trace_ctx_destroy(ctc);
}

/* Two threads take turns, so the global order is known in advance. */
struct turns {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int turn;
	int per_thread;
};

struct turn_arg {
	struct turns *t;
	int me;
};

static void *take_turns(void *p)
{
	struct turn_arg *a = p;
	struct turns *t = a->t;

	for (int i = 0; i < t->per_thread; i++) {
		pthread_mutex_lock(&t->lock);
		while (t->turn % 2 != a->me)
			pthread_cond_wait(&t->cond, &t->lock);
		TRACE(tc, iommu_map, (uint64_t)t->turn, (uint64_t)a->me, 0, 0);
		t->turn++;
		pthread_cond_broadcast(&t->cond);
		pthread_mutex_unlock(&t->lock);
	}
	return NULL;
}

Test(trace, two_threads_merge_by_seq)
{
	struct turns t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 700 };
	struct turn_arg a0 = { &t, 0 }, a1 = { &t, 1 };
	pthread_t th0, th1;
	struct recs r = { 0 };

	trace_enable(tc, TRACE_EV_iommu_map, true);
	cr_assert_eq(pthread_create(&th0, NULL, take_turns, &a0), 0);
	cr_assert_eq(pthread_create(&th1, NULL, take_turns, &a1), 0);
	pthread_join(th0, NULL);
	pthread_join(th1, NULL);
	cr_assert_eq(trace_collect(tc, keep, &r), 1400);
	for (long i = 0; i < r.n; i++) {
		cr_assert_eq(r.v[i].seq, (uint64_t)i);
		cr_assert_eq(r.v[i].fields[0], (uint64_t)i, "record %ld out of order", i);
		cr_assert_eq(r.v[i].fields[1], (uint64_t)(i % 2));
		/* Slots follow first emission: thread 0 emitted first. */
		cr_assert_eq(r.v[i].thread, (uint32_t)(i % 2));
	}
	free(r.v);
}

static void *emit_some(void *p)
{
	for (int i = 0; i < 5000; i++)
		TRACE(tc, iommu_map, (uint64_t)i, 0, 0, 0);
	return p;
}

Test(trace, concurrent_threads_give_dense_sorted_seq)
{
	pthread_t th[4];
	struct recs r = { 0 };

	trace_enable(tc, TRACE_EV_iommu_map, true);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, emit_some, NULL), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(trace_collect(tc, keep, &r), 20000);
	for (long i = 0; i < r.n; i++) {
		cr_assert_eq(r.v[i].seq, (uint64_t)i);
		cr_assert_lt(r.v[i].thread, 4);
	}
	free(r.v);
	cr_assert_eq(trace_dropped(tc), 0);
}

/*
 * The kernel's iommu:map line as /sys/kernel/tracing/trace shows it:
 * trace_print_context() prints "%16s-%-7d [%03d] ", the five irq-info
 * characters, " %5lu.%06lu: ", then "<event>: " and the TP_printk text
 * "IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx size=%zu".
 */
Test(trace, kernel_iommu_map_text_is_ftrace_exact)
{
	struct trace_record rec = {
		.seq = 0,
		.timestamp = 1234567890123ull, /* ns: 1234.567890 s */
		.event = TRACE_EV_iommu_map,
		.thread = 0,
		.fields = { 0x100000, 0x101000, 0xabcd0000, 4096 },
	};
	const char *want = "        iommusim-1000    [000] .....  1234.567890: map: IOMMU: "
			   "iova=0x0000000000100000 - 0x0000000000101000 "
			   "paddr=0x00000000abcd0000 size=4096";
	char buf[512];
	int n = trace_format_text(&rec, buf, sizeof(buf));

	cr_assert_str_eq(buf, want);
	cr_assert_eq(n, (int)strlen(want));

	/* Small buffers: snprintf semantics. */
	char small[20];

	cr_assert_eq(trace_format_text(&rec, small, sizeof(small)), n);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	cr_assert_eq(strncmp(small, want, sizeof(small) - 1), 0);
	cr_assert_eq(trace_format_text(&rec, NULL, 0), n);
}

Test(trace, kernel_iommu_unmap_and_thread_columns)
{
	struct trace_record rec = {
		.timestamp = 5000, /* 5 us */
		.event = TRACE_EV_iommu_unmap,
		.thread = 12,
		.fields = { 0x2000, 0x3000, 4096, 4096 },
	};
	char buf[512];

	trace_format_text(&rec, buf, sizeof(buf));
	cr_assert_str_eq(buf, "        iommusim-1012    [012] .....     0.000005: unmap: IOMMU: "
			      "iova=0x0000000000002000 - 0x0000000000003000 size=4096 "
			      "unmapped_size=4096");
}

Test(trace, our_events_keep_subsystem_name)
{
	static const char point[] = "iopt.area_alloc";
	struct trace_record rec = {
		.timestamp = 3000000000ull,
		.event = TRACE_EV_fault_inject,
		.thread = 1,
		.fields = { 0x4, TRACE_STR(point), 17 },
	};
	char buf[512];

	trace_format_text(&rec, buf, sizeof(buf));
	cr_assert_str_eq(buf, "        iommusim-1001    [001] .....     3.000000: fault:inject: "
			      "class=0x4 point=iopt.area_alloc nth=17");
}

Test(trace, mini_formatter)
{
	static const struct {
		const char *fmt;
		uint64_t f[4];
		unsigned n;
		const char *want;
	} cases[] = {
		{ "%llu %llx %llX", { 0, 255, 255 }, 3, "0 ff FF" },
		{ "%lld %lld", { (uint64_t)-5, 5 }, 2, "-5 5" },
		{ "%lld", { 0x8000000000000000ull }, 1, "-9223372036854775808" },
		{ "%llu", { UINT64_MAX }, 1, "18446744073709551615" },
		{ "[%5llu][%-5llu][%05llu]", { 42, 42, 42 }, 3, "[   42][42   ][00042]" },
		{ "[%016llx]", { 0xdead }, 1, "[000000000000dead]" },
		{ "[%#llx][%#llx][%#06llx]", { 0x1f, 0, 0x1f }, 3, "[0x1f][0][0x001f]" },
		{ "[%+lld][% lld][%05lld]", { 3, 3, (uint64_t)-3 }, 3, "[+3][ 3][-0003]" },
		{ "[%.3llu][%8.3llx]", { 7, 0xa }, 2, "[007][     00a]" },
		{ "[%s][%6s][%-6s][%.2s]", { 0 }, 4, "[(null)][(null)][(null)][(n]" },
		{ "%zu %u %d %lx", { 1, 2, 3, 4 }, 4, "1 2 3 4" },
		{ "100%% %llo", { 8 }, 1, "100% 10" },
		{ "%llu %llu", { 1 }, 1, "1 <missing>" },
		{ "odd %y %llu", { 9 }, 1, "odd %y 9" },
		{ "tail %", { 0 }, 0, "tail %" },
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = trace_format_fields(cases[i].fmt, cases[i].f, cases[i].n, buf, sizeof(buf));

		cr_assert_str_eq(buf, cases[i].want, "format '%s'", cases[i].fmt);
		cr_assert_eq(n, (int)strlen(cases[i].want), "format '%s'", cases[i].fmt);
	}

	uint64_t s[2] = { TRACE_STR("abc"), TRACE_STR("xy") };

	trace_format_fields("[%5s|%-4s]", s, 2, buf, sizeof(buf));
	cr_assert_str_eq(buf, "[  abc|xy  ]");
}

Test(trace, dropped_records_are_counted)
{
	trace_enable(tc, TRACE_EV_iommu_map, true);
	cr_assert_eq(trace_set_buffer_limit(tc, 10), 0);
	for (uint64_t i = 0; i < 15; i++)
		TRACE(tc, iommu_map, i, 0, 0, 0);
	cr_assert_eq(trace_dropped(tc), 5);

	struct recs r = { 0 };

	cr_assert_eq(trace_collect(tc, keep, &r), 10);
	/* Dropped records take no sequence number: what is kept is dense. */
	for (long i = 0; i < r.n; i++) {
		cr_assert_eq(r.v[i].seq, (uint64_t)i);
		cr_assert_eq(r.v[i].fields[0], (uint64_t)i);
	}
	free(r.v);
	/* The limit is per collect: room again, the drop count stays. */
	TRACE(tc, iommu_map, 99, 0, 0, 0);
	cr_assert_eq(trace_collect(tc, NULL, NULL), 1);
	cr_assert_eq(trace_dropped(tc), 5);
}

Test(trace, collect_clears_even_when_stopped)
{
	struct recs r = { .stop_after = 3 };

	trace_enable(tc, TRACE_EV_iommu_map, true);
	/* Enough to span several chunks. */
	for (uint64_t i = 0; i < 5000; i++)
		TRACE(tc, iommu_map, i, 0, 0, 0);
	cr_assert_eq(trace_collect(tc, keep, &r), 3);
	cr_assert_eq(r.n, 3);
	cr_assert_eq(trace_collect(tc, NULL, NULL), 0);

	/* The buffer is reusable after a clear and keeps counting seq. */
	TRACE(tc, iommu_map, 1, 0, 0, 0);
	r.n = 0;
	r.stop_after = 0;
	cr_assert_eq(trace_collect(tc, keep, &r), 1);
	cr_assert_eq(r.v[0].seq, 5000);
	free(r.v);
}

Test(trace, flush_text_writes_lines)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	trace_enable_pattern(tc, "iommu:*");
	TRACE(tc, iommu_map, 0x1000, 0x1fff, 0x5000, 4096);
	TRACE(tc, iommu_unmap, 0x1000, 0x1fff, 4096, 4096);
	cr_assert_eq(trace_flush_text(tc, f), 2);
	fclose(f);
	cr_assert_str_eq(text, "        iommusim-1000    [000] .....     0.000000: map: IOMMU: "
			       "iova=0x0000000000001000 - 0x0000000000001fff "
			       "paddr=0x0000000000005000 size=4096\n"
			       "        iommusim-1000    [000] .....     0.000000: unmap: IOMMU: "
			       "iova=0x0000000000001000 - 0x0000000000001fff size=4096 "
			       "unmapped_size=4096\n");
	free(text);
	cr_assert_eq(trace_collect(tc, NULL, NULL), 0);
}

Test(trace, contexts_do_not_share_buffers)
{
	struct trace_ctx *other;

	cr_assert_eq(trace_ctx_create(NULL, NULL, &other), 0);
	trace_enable_all(tc, true);
	trace_enable_all(other, true);
	TRACE(tc, iommu_map, 1, 0, 0, 0);
	TRACE(other, iommu_map, 2, 0, 0, 0);
	TRACE(other, iommu_map, 3, 0, 0, 0);
	cr_assert_eq(trace_collect(tc, NULL, NULL), 1);
	cr_assert_eq(trace_collect(other, NULL, NULL), 2);
	/* A new context, possibly at a destroyed one's address, starts clean. */
	trace_ctx_destroy(other);
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(trace_ctx_create(NULL, NULL, &other), 0);
		trace_enable_all(other, true);
		TRACE(other, iommu_map, 4, 0, 0, 0);
		cr_assert_eq(trace_collect(other, NULL, NULL), 1);
		trace_ctx_destroy(other);
	}
}
