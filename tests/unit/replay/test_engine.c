// SPDX-License-Identifier: MIT
/*
 * The replay engine (src/replay/engine*.c, config*.c, metrics.c, sweep.c,
 * shrink.c) through its library API:
 *  - determinism: two runs of the same trace, configuration and seed give
 *    byte-identical JSON (bundled traces, strict and lazy);
 *  - golden counts of small hand-written traces (tests/golden/replay/):
 *    translations, IOTLB hits, faults by reason, stale windows (0 under
 *    strict invalidation, 1 under lazy on the crafted trace);
 *  - configuration: unknown keys, bad values, geometry forms, the canonical
 *    configuration string, every VT-d knob round-trips through format/parse;
 *  - a sweep gives one row per configuration, in job order;
 *  - the Linux example drives the domain (maps, the io_page_fault fault);
 *  - shrink reduces a faulting trace to a handful of events;
 *  - the latency histogram's buckets.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <iommusim/replay.h>
#include <iommusim/replay_trace.h>

#include "replay/engine.h"

#define SRC IOMMUSIM_SOURCE_DIR

static void load(const char *rel, struct rt_trace *t)
{
	char path[512];
	struct rt_error err;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", SRC, rel);
	rt_trace_init(t, NULL);
	rc = rt_read_file(path, RT_FMT_AUTO, &(struct rt_read_opts){ .name = rel }, t, NULL, &err);
	cr_assert_eq(rc, 0, "reading %s: %s (line %llu)", rel, err.msg,
		     (unsigned long long)err.line);
}

static void run(const struct rt_trace *t, const char *settings, struct replay_result *r)
{
	struct replay_config c;
	char err[256] = "";

	replay_config_init(&c);
	if (settings)
		cr_assert_eq(replay_config_set(&c, settings, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_run(t, &c, NULL, r, err, sizeof(err)), 0, "replay: %s", err);
	replay_config_free(&c);
}

static char *json_of(const struct rt_trace *t, const char *settings)
{
	struct replay_row_info info = { .trace_name = "t", .jobs = 1 };
	struct replay_buf b = { 0 };
	struct replay_result r;

	run(t, settings, &r);
	cr_assert_eq(replay_result_json(&r, &info, &b), 0);
	replay_result_free(&r);
	return b.s;
}

static uint64_t reason_count(const struct replay_result *r, uint32_t reason)
{
	for (unsigned i = 0; i < r->nreasons; i++)
		if (r->reasons[i].reason == reason)
			return r->reasons[i].count;
	return 0;
}

/* ------------------------------------------------------------ determinism */

Test(replay_engine, json_is_deterministic)
{
	static const char *const cases[][2] = {
		{ "traces/nvme-4k.trace", "inval=strict" },
		{ "traces/mix.trace", "inval=lazy" },
		{ "traces/gpu-bulk.trace", "vtd.iotlb=4x2:random seed=7" },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rt_trace t;
		char *a, *b;

		load(cases[i][0], &t);
		a = json_of(&t, cases[i][1]);
		b = json_of(&t, cases[i][1]);
		cr_assert_str_eq(a, b, "%s with %s: two runs differ", cases[i][0], cases[i][1]);
		cr_assert(!strstr(a, "wall"), "no wall time in the JSON");
		free(a);
		free(b);
		rt_trace_free(&t);
	}
}

Test(replay_engine, seed_changes_random_replacement_only)
{
	struct replay_result a, b;
	struct rt_trace t;

	load("traces/mix.trace", &t);
	run(&t, "vtd.iotlb=2x2:random seed=1", &a);
	run(&t, "vtd.iotlb=2x2:random seed=99", &b);
	cr_expect_eq(a.translations, b.translations);
	cr_expect_eq(a.faults, b.faults, "faults do not depend on replacement");
	cr_expect_eq(a.seed, 1);
	cr_expect_eq(b.seed, 99);
	replay_result_free(&a);
	replay_result_free(&b);
	rt_trace_free(&t);
}

/* ------------------------------------------------------------ golden traces */

Test(replay_engine, golden_basic)
{
	struct replay_result r;
	struct rt_trace t;

	load("tests/golden/replay/basic.trace", &t);
	run(&t, NULL, &r);
	cr_expect_eq(r.events, t.n);
	cr_expect_eq(r.dma_events, 5);
	cr_expect_eq(r.dma_ok, 3);
	cr_expect_eq(r.dma_faulted, 2);
	cr_expect_eq(r.translations, 6, "1 + 1 + 2 pages + 2 faulting: %llu",
		     (unsigned long long)r.translations);
	cr_expect_eq(r.hw.hw.iotlb_hits, 1, "only the second DMA hits: %llu",
		     (unsigned long long)r.hw.hw.iotlb_hits);
	cr_expect_eq(r.bytes, 64 + 64 + 4096);
	cr_expect_eq(r.faults, 2);
	cr_expect_eq(r.unexpected_faults, 0);
	cr_expect_eq(reason_count(&r, 6), 1, "read of an unmapped IOVA: no_read");
	cr_expect_eq(reason_count(&r, 5), 1, "write to a read-only mapping: no_write");
	cr_expect_eq(r.stale, 0);
	cr_expect_eq(r.maps, 2);
	cr_expect_eq(r.unmaps, 1);
	cr_expect_eq(r.op_errors, 0);
	cr_expect_eq(r.sim_time_ns, 100);
	cr_expect_eq(r.lat_count, 5);
	cr_expect_eq(r.first_fault_event, 11, "event %llu",
		     (unsigned long long)r.first_fault_event);
	replay_result_free(&r);
	rt_trace_free(&t);
}

Test(replay_engine, golden_stale_strict_vs_lazy)
{
	struct replay_result s, l;
	struct rt_trace t;

	load("tests/golden/replay/stale.trace", &t);
	run(&t, "inval=strict", &s);
	run(&t, "inval=lazy", &l);
	cr_expect_eq(s.stale, 0, "strict invalidation never leaves a stale window");
	cr_expect_eq(s.faults, 1, "strict: the DMA after unmap faults on its first page");
	cr_expect_eq(s.dma_ok, 1);
	cr_expect_eq(l.stale, 1, "lazy: the DMA after unmap is served by the IOTLB");
	cr_expect_eq(l.faults, 1, "lazy: ...and faults on the next, never-mapped page");
	cr_assert_eq(l.nstale_list, 1);
	cr_expect_str_eq(rt_str(&t, l.stale_list[0].dev), "dev1");
	cr_expect_eq(l.stale_list[0].iova, 0x400fc4);
	cr_expect_eq(l.stale_list[0].pasid, RT_PASID_NONE);
	cr_expect_eq(l.stale_list[0].event, t.n - 1, "the last event");
	cr_expect_eq(l.unexpected_faults + s.unexpected_faults, 0);
	replay_result_free(&s);
	replay_result_free(&l);
	rt_trace_free(&t);
}

Test(replay_engine, bundled_traces_strict_have_no_stale_window)
{
	static const char *const traces[] = { "traces/nvme-4k.trace", "traces/nic-perpacket.trace",
					      "traces/mix.trace", "traces/gpu-bulk.trace" };

	for (unsigned i = 0; i < sizeof(traces) / sizeof(traces[0]); i++) {
		struct replay_result r;
		struct rt_trace t;

		load(traces[i], &t);
		run(&t, "inval=strict", &r);
		cr_expect_eq(r.stale, 0, "%s: %llu stale windows under strict", traces[i],
			     (unsigned long long)r.stale);
		cr_expect_eq(r.unexpected_faults, 0, "%s: faults on mapped IOVAs", traces[i]);
		cr_expect_gt(r.translations, 0, "%s", traces[i]);
		replay_result_free(&r);
		rt_trace_free(&t);
	}
}

Test(replay_engine, lazy_mix_shows_stale_windows)
{
	struct replay_result r;
	struct rt_trace t;

	load("traces/mix.trace", &t);
	run(&t, "inval=lazy", &r);
	cr_expect_gt(r.stale, 0, "the adversarial mix reads after unmap");
	cr_expect_gt(r.nstale_list, 0);
	replay_result_free(&r);
	rt_trace_free(&t);
}

Test(replay_engine, nvme_strict_vs_lazy_invalidations)
{
	struct replay_result s, l;
	struct rt_trace t;
	uint64_t psi_s = 0, fq_l = 0;

	load("traces/nvme-4k.trace", &t);
	run(&t, "inval=strict", &s);
	run(&t, "inval=lazy fq.size=64", &l);
	for (unsigned i = 0; i < s.hw.ninval; i++)
		if (!strcmp(s.hw.inval[i].name, "iotlb_psi"))
			psi_s = s.hw.inval[i].a;
	for (unsigned i = 0; i < l.hw.ninval; i++)
		if (!strcmp(l.hw.inval[i].name, "fq_flushes"))
			fq_l = l.hw.inval[i].a;
	cr_expect_eq(psi_s, s.unmaps, "strict: one page-selective invalidation per unmap");
	cr_expect_gt(fq_l, 2500 / 64 - 1, "lazy: the flush queue flushed when full (%llu)",
		     (unsigned long long)fq_l);
	cr_expect_eq(s.dma_events, 7500);
	cr_expect_eq(s.faults + l.faults, 0);
	replay_result_free(&s);
	replay_result_free(&l);
	rt_trace_free(&t);
}

Test(replay_engine, linux_example_drives_the_domain)
{
	struct replay_result r;
	struct rt_trace t;

	load("traces/linux-example.txt", &t);
	run(&t, NULL, &r);
	cr_expect_gt(r.maps, 0);
	cr_expect_gt(r.unmaps, 0);
	cr_expect_gt(r.dma_events, 0);
	cr_expect_eq(r.faults, 1, "the io_page_fault line faults again");
	cr_expect_eq(r.op_errors, 0, "first refused: event %llu (%d)",
		     (unsigned long long)r.first_op_error_event + 1, r.first_op_error);
	replay_result_free(&r);
	rt_trace_free(&t);
}

/* ------------------------------------------------------------ configuration */

Test(replay_config, errors_name_the_key)
{
	struct replay_config c;
	char err[256];

	replay_config_init(&c);
	cr_expect_eq(replay_config_set(&c, "vtd.iotlbx=3", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "vtd.iotlbx: unknown key"), "%s", err);
	cr_expect_eq(replay_config_set(&c, "nosuch.key=3", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "nosuch.key: unknown key"), "%s", err);
	cr_expect_eq(replay_config_set(&c, "vtd.nfr=0", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "out of range 1..256"), "%s", err);
	cr_expect_eq(replay_config_set(&c, "vtd.iotlb=3x8", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "power of two"), "%s", err);
	cr_expect_eq(replay_config_set(&c, "inval=sometimes", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "strict|lazy"), "%s", err);
	cr_expect_eq(replay_config_set(&c, "vtd.cm", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "expected key=value"), "%s", err);
	cr_expect_null(c.settings, "nothing was kept");
	cr_expect_eq(replay_config_set(&c, "vtd.iotlb=16x4:rr inval=lazy", err, sizeof(err)), 0);
	replay_config_free(&c);
}

Test(replay_config, canonical_string_and_geometry_forms)
{
	struct replay_result r;
	struct rt_trace t;

	load("tests/golden/replay/basic.trace", &t);
	run(&t, "vtd.iotlb=256 inval=lazy vtd.levels=5 vtd.cost.mem=100", &r);
	/* 256 entries keep the default 8 ways: 32 sets. */
	cr_expect_str_eq(r.config, "inval=lazy vtd.levels=5 vtd.sagaw=8 vtd.mgaw=57 "
				   "vtd.iotlb=32x8:lru vtd.cost.mem=100");
	replay_result_free(&r);
	run(&t, "vtd.iotlb=4", &r);
	cr_expect_str_eq(r.config, "vtd.iotlb=1x4:lru",
			 "fewer entries than ways: fully associative");
	replay_result_free(&r);
	rt_trace_free(&t);
}

Test(replay_config, every_knob_round_trips)
{
	size_t n;
	const struct replay_model *const *models = replay_models(&n);

	cr_assert_geq(n, 1);
	cr_expect_str_eq(models[0]->name, "vtd");
	for (size_t i = 0; i < n; i++) {
		const struct replay_model *m = models[i];
		unsigned char a[4096], b[4096];

		cr_assert_leq(m->cfg_size, sizeof(a));
		m->cfg_default(a);
		m->cfg_default(b);
		cr_expect(m->nknobs >= 30, "%s: %zu knobs", m->name, m->nknobs);
		for (size_t k = 0; k < m->nknobs; k++) {
			char v[128], w[128], err[256];

			cr_expect_eq(strncmp(m->knobs[k].key, m->name, strlen(m->name)), 0);
			replay_knob_format(&m->knobs[k], a, v, sizeof(v));
			cr_expect_eq(replay_knob_parse(&m->knobs[k], b, v, err, sizeof(err)), 0,
				     "%s=%s: %s", m->knobs[k].key, v, err);
			replay_knob_format(&m->knobs[k], b, w, sizeof(w));
			cr_expect_str_eq(v, w, "%s", m->knobs[k].key);
		}
		cr_expect_eq(memcmp(a, b, m->cfg_size), 0, "%s: defaults survive a round trip",
			     m->name);
	}
}

/* ------------------------------------------------------------ sweeps */

Test(replay_sweep, one_row_per_configuration)
{
	struct replay_sweep s;
	struct replay_config base;
	struct rt_trace t;
	char err[256], *rows[6];
	double hits[6];

	load("traces/nvme-4k.trace", &t);
	replay_sweep_init(&s);
	replay_config_init(&base);
	cr_assert_eq(replay_sweep_add(&s, "vtd.iotlb=16,64,512", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_sweep_add(&s, "inval=strict,lazy", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(replay_sweep_jobs(&s), 6);
	cr_assert_eq(replay_sweep_run(&t, "nvme", &base, &s, 0, 6, 0, rows, err, sizeof(err)), 0,
		     "%s", err);
	for (unsigned i = 0; i < 6; i++) {
		double job, jobs;
		char params[64];

		cr_assert_not_null(rows[i]);
		cr_expect(replay_json_number(rows[i], "job", &job) && job == i);
		cr_expect(replay_json_number(rows[i], "jobs", &jobs) && jobs == 6);
		cr_expect(replay_json_number(rows[i], "iotlb_hit_rate", &hits[i]));
		snprintf(params, sizeof(params),
			 "\"params\": {\"vtd.iotlb\": \"%s\", \"inval\": \"%s\"}",
			 i / 2 == 0   ? "16"
			 : i / 2 == 1 ? "64"
				      : "512",
			 i % 2 ? "lazy" : "strict");
		cr_expect(strstr(rows[i], params), "row %u: %s", i, rows[i]);
	}
	/* A single thread gives the same rows. */
	{
		char *one[6];

		cr_assert_eq(
			replay_sweep_run(&t, "nvme", &base, &s, 0, 6, 1, one, err, sizeof(err)), 0);
		for (unsigned i = 0; i < 6; i++) {
			cr_expect_str_eq(one[i], rows[i]);
			free(one[i]);
		}
	}
	for (unsigned i = 0; i < 6; i++)
		free(rows[i]);
	cr_expect_eq(replay_sweep_add(&s, "vtd.iotlb=1,2", err, sizeof(err)), -EINVAL,
		     "a key swept twice");
	cr_expect_eq(replay_sweep_add(&s, "vtd.nfr=1,1000", err, sizeof(err)), -EINVAL);
	cr_expect(strstr(err, "out of range"), "%s", err);
	replay_sweep_free(&s);
	replay_config_free(&base);
	rt_trace_free(&t);
}

/* ------------------------------------------------------------ shrink */

Test(replay_shrink, fault_to_a_handful_of_events)
{
	struct replay_shrink_stats st;
	struct replay_config c;
	struct replay_until u;
	struct rt_trace t, out;
	char err[128];

	load("traces/mix.trace", &t);
	replay_config_init(&c);
	cr_assert_eq(replay_until_parse("fault:no_read", &u, err, sizeof(err)), 0);
	rt_trace_init(&out, NULL);
	cr_assert_eq(replay_shrink(&t, &c, &u, &out, &st), 0);
	cr_expect_leq(out.n, 6, "%zu events left", out.n);
	cr_expect_eq(st.before, t.n);
	cr_expect_eq(st.after, out.n);
	cr_expect_eq(replay_until_check(&out, &c, &u), 1, "the result still faults");
	rt_trace_free(&out);

	cr_assert_eq(replay_until_parse("stale", &u, err, sizeof(err)), 0);
	rt_trace_init(&out, NULL);
	cr_expect_eq(replay_shrink(&t, &c, &u, &out, &st), -ENOENT, "strict: no stale window");
	rt_trace_free(&out);

	cr_expect_eq(replay_until_parse("sometimes", &u, err, sizeof(err)), -EINVAL);
	replay_config_free(&c);
	rt_trace_free(&t);
}

Test(replay_shrink, stale_under_lazy)
{
	struct replay_shrink_stats st;
	struct replay_config c;
	struct replay_until u;
	struct rt_trace t, out;
	char err[128];

	load("traces/mix.trace", &t);
	replay_config_init(&c);
	cr_assert_eq(replay_config_set(&c, "inval=lazy", err, sizeof(err)), 0);
	cr_assert_eq(replay_until_parse("stale", &u, err, sizeof(err)), 0);
	rt_trace_init(&out, NULL);
	cr_assert_eq(replay_shrink(&t, &c, &u, &out, &st), 0);
	cr_expect_leq(out.n, 12, "%zu events left", out.n);
	cr_expect_eq(replay_until_check(&out, &c, &u), 1);
	rt_trace_free(&out);
	replay_config_free(&c);
	rt_trace_free(&t);
}

/* ------------------------------------------------------------ latency */

Test(replay_engine, latency_buckets)
{
	uint64_t prev = 0;

	for (uint64_t ns = 0; ns < 5000000; ns = ns < 2000 ? ns + 1 : ns * 1.01) {
		unsigned b = rp_lat_bucket(ns);
		uint64_t lo = rp_lat_bucket_floor(b);

		cr_assert_leq(lo, ns, "ns %llu bucket %u floor %llu", (unsigned long long)ns, b,
			      (unsigned long long)lo);
		cr_assert(ns - lo <= ns / 64 + 1, "relative error above 1/64 at %llu",
			  (unsigned long long)ns);
		cr_assert_geq(lo, prev);
		prev = lo;
	}
}
