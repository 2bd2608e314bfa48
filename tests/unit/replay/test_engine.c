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
 *  - the latency histogram's buckets;
 *  - numbers in settings follow the trace's rules: decimal or 0x, never
 *    octal ("010" is 10), K/M/G/T suffixes;
 *  - tags and IOAS ids: many tags, an IOAS destroyed (its tags go, the
 *    others stay), an id and a tag reused afterwards;
 *  - the event trace (--trace-out): a bad event pattern fails the run (with
 *    and without an error buffer); PASID 0 prints as 0; the live_mappings
 *    counter follows maps, copies, unmaps and IOAS destruction.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ------------------------------------------------------------ numbers */

Test(replay_config, numbers_are_decimal_or_hex_never_octal)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t v;
	} cases[] = {
		{ "010", 0, 10 },
		{ "08", 0, 8 },
		{ "0", 0, 0 },
		{ "0x10", 0, 16 },
		{ "0X1f", 0, 31 },
		{ "2K", 0, 2048 },
		{ "0x10k", 0, 16384 },
		{ "3M", 0, 3ULL << 20 },
		{ "1g", 0, 1ULL << 30 },
		{ "2T", 0, 2ULL << 40 },
		{ "16777215T", 0, 16777215ULL << 40 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "0x", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "1Q", -EINVAL, 0 },
		{ "1KB", -EINVAL, 0 },
		{ "0o10", -EINVAL, 0 },
		{ "18446744073709551616", -EINVAL, 0 },
		{ "16777216T", -EINVAL, 0 },
	};
	struct replay_settings s;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;

		cr_expect_eq(rp_parse_u64(cases[i].s, &v), cases[i].rc, "'%s'", cases[i].s);
		if (!cases[i].rc)
			cr_expect_eq(v, cases[i].v, "'%s' gave %llu", cases[i].s,
				     (unsigned long long)v);
	}
	/* Through the key=value parser, as --set and a trace's config= use it. */
	replay_settings_default(&s);
	cr_assert_eq(
		rp_config_apply(NULL, NULL, &s, "fq.size=010 fq.timeout_ns=0x10", err, sizeof(err)),
		0, "%s", err);
	cr_expect_eq(s.fq_size, 10, "fq.size=010 is ten, not octal eight");
	cr_expect_eq(s.fq_timeout_ns, 16);
}

/* ------------------------------------------------------------ tags and ids */

static void parse(const char *text, struct rt_trace *t)
{
	struct rt_error err;
	int rc;

	rt_trace_init(t, NULL);
	rc = rt_text_read(text, strlen(text), &(struct rt_read_opts){ .name = "inline" }, t, &err);
	cr_assert_eq(rc, 0, "%s (line %llu)", err.msg, (unsigned long long)err.line);
}

#define HEADER "iommusim-trace v1\n"
#define SETUP                                                            \
	"iommu name=iommu0 vendor=vtd\n"                                 \
	"device name=dev0 iommu=iommu0 bdf=0000:03:00.0 pasid_bits=20\n" \
	"mmap pid=1 va=0x7f0000000000 len=16777216 prot=rw\n"
#define HEAD HEADER SETUP

Test(replay_engine, tags_survive_other_ioas_destroy_and_ids_are_reused)
{
	/* 40 tags (the table grows), alternating between IOAS 1 and 2. */
	char text[8192];
	struct replay_result r;
	struct rt_trace t;
	size_t n = 0;

	n += (size_t)snprintf(text + n, sizeof(text) - n,
			      HEAD "ioas_alloc id=1\nioas_alloc id=2\nattach dev=dev0 pt=2\n");
	for (unsigned tag = 1; tag <= 40; tag++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "map ioas=%u iova=auto pid=1 va=0x%llx len=4096 "
				      "flags=read,write tag=%u\n",
				      tag & 1 ? 1 : 2, 0x7f0000000000ULL + tag * 4096ULL, tag);
	n += (size_t)snprintf(text + n, sizeof(text) - n,
			      /* IOAS 1 goes: tags 1, 3, ... 39 with it */
			      "ioas_destroy id=1\n"
			      /* 2 ok: 2, 40 and 20 were moved around the table */
			      "dma dev=dev0 dir=read iova=0x10 len=64 tag=2\n"
			      "dma dev=dev0 dir=read iova=0x10 len=64 tag=40\n"
			      "dma dev=dev0 dir=write iova=0x800 len=64 tag=20\n"
			      /* 3 refused: the tags of IOAS 1 are gone */
			      "dma dev=dev0 dir=read iova=0x10 len=64 tag=1\n"
			      "dma dev=dev0 dir=read iova=0x10 len=64 tag=39\n"
			      "unmap ioas=2 iova=0 len=4096 tag=3\n"
			      /* refused: IOAS 1 is no more */
			      "map ioas=1 iova=auto pid=1 va=0x7f0000100000 len=4096 tag=50\n"
			      /* id 1 and tag 1 again; tag 2 moves to IOAS 1 */
			      "ioas_alloc id=1\n"
			      "map ioas=1 iova=auto pid=1 va=0x7f0000100000 len=4096 "
			      "flags=read,write tag=1\n"
			      "map ioas=1 iova=auto pid=1 va=0x7f0000101000 len=8192 "
			      "flags=read,write tag=2\n"
			      "unmap ioas=1 iova=0 len=4096 tag=1\n"
			      "unmap ioas=1 iova=0 len=8192 tag=2\n"
			      /* the old mapping behind tag 2 in IOAS 2 is untouched */
			      "dma dev=dev0 dir=read iova=0x20 len=64 tag=4\n");
	cr_assert_lt(n, sizeof(text));
	parse(text, &t);
	run(&t, NULL, &r);
	cr_expect_eq(r.maps, 42);
	cr_expect_eq(r.unmaps, 2);
	cr_expect_eq(r.dma_events, 4);
	cr_expect_eq(r.dma_ok, 4, "%llu faulted", (unsigned long long)r.dma_faulted);
	cr_expect_eq(r.op_errors, 4);
	cr_expect_eq(r.op_errors_by_kind[RT_EV_DMA], 2);
	cr_expect_eq(r.op_errors_by_kind[RT_EV_UNMAP], 1);
	cr_expect_eq(r.op_errors_by_kind[RT_EV_MAP], 1);
	cr_expect_eq(r.first_op_error, -ENOENT);
	cr_expect_eq(r.stale, 0);
	replay_result_free(&r);
	rt_trace_free(&t);
}

/* ------------------------------------------------------------ event trace */

/* Run @t with its event trace written to memory (*out, to free); replay_run's code. */
static int run_traced(const struct rt_trace *t, bool perfetto, const char *events, char *err,
		      size_t errlen, char **out)
{
	struct replay_opts o = { .trace_perfetto = perfetto, .trace_events = events };
	struct replay_config c;
	struct replay_result r;
	size_t len;
	int rc;

	*out = NULL;
	o.trace_out = open_memstream(out, &len);
	cr_assert_not_null(o.trace_out);
	replay_config_init(&c);
	rc = replay_run(t, &c, &o, &r, err, errlen);
	replay_result_free(&r);
	replay_config_free(&c);
	cr_assert_eq(fclose(o.trace_out), 0);
	cr_assert_not_null(*out);
	return rc;
}

/*
 * The event trace is deterministic too, physical addresses included: freed
 * table pages return to the machine at the same point of every run (they
 * once went back from a call_rcu thread, so later allocations, and the
 * paddr= of later map: lines, changed from run to run).
 */
Test(replay_trace_out, event_trace_is_deterministic)
{
	struct rt_trace t;
	char err[256], *a, *b;

	load("traces/mix.trace", &t);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(run_traced(&t, false, NULL, err, sizeof(err), &a), 0, "%s", err);
		cr_assert_eq(run_traced(&t, false, NULL, err, sizeof(err), &b), 0, "%s", err);
		cr_assert(strstr(a, "map: IOMMU:"), "no map events traced");
		cr_assert_str_eq(a, b, "two runs of traces/mix.trace traced differently");
		free(a);
		free(b);
	}
	rt_trace_free(&t);
}

Test(replay_trace_out, bad_event_pattern_fails_the_run)
{
	struct rt_trace t;
	char err[256], *out;

	/* Starts with a time event: the machine comes up on a non-fatal kind. */
	parse(HEADER "time ns=100\n" SETUP "ioas_alloc id=1\nattach dev=dev0 pt=1\n"
		     "map ioas=1 iova=0x100000 pid=1 va=0x7f0000000000 len=4096 flags=read,write\n"
		     "dma dev=dev0 dir=read iova=0x100000 len=64\n",
	      &t);
	for (int perfetto = 0; perfetto < 2; perfetto++) {
		/* The catalogue's iommu:map, in each layout. */
		const char *map = perfetto ? "\"name\": \"iommu:map\"" : ": map: IOMMU: iova=";

		cr_expect_eq(run_traced(&t, perfetto, "iommu:map,nosuch:*", err, sizeof(err), &out),
			     -EINVAL, "perfetto %d", perfetto);
		cr_expect(strstr(err, "'iommu:map,nosuch:*'"), "%s", err);
		cr_expect(strstr(err, "names no event"), "%s", err);
		cr_expect_str_empty(out, "no fallback to the default set, no untraced run");
		free(out);
		cr_expect_eq(run_traced(&t, perfetto, "iommu:*,nosuch", NULL, 0, &out), -EINVAL,
			     "fails without an error buffer too (perfetto %d)", perfetto);
		free(out);
		cr_expect_eq(run_traced(&t, perfetto, "iommu:map", err, sizeof(err), &out), 0, "%s",
			     err);
		cr_expect(strstr(out, map), "perfetto %d: %s", perfetto, out);
		cr_expect(strstr(out, "replay:dma") || strstr(out, "\"name\": \"dma\""), "%s", out);
		cr_expect_null(strstr(out, "iommufd:ioctl"), "only the events asked for");
		free(out);
		/* The default set has more than iommu:map. */
		cr_expect_eq(run_traced(&t, perfetto, NULL, err, sizeof(err), &out), 0, "%s", err);
		cr_expect(strstr(out, "iommufd:ioctl"), "perfetto %d: %s", perfetto, out);
		free(out);
	}
	rt_trace_free(&t);
}

Test(replay_trace_out, pasid_zero_is_printed)
{
	struct rt_trace t;
	char err[256], *out;

	parse(HEAD "ioas_alloc id=1\nattach dev=dev0 pt=1\n"
		   "map ioas=1 iova=0x100000 pid=1 va=0x7f0000000000 len=4096 flags=read,write\n"
		   "dma dev=dev0 dir=read iova=0x100000 len=64\n"
		   "dma dev=dev0 dir=read iova=0x100000 len=64 pasid=0\n"
		   "dma dev=dev0 dir=read iova=0x100000 len=64 pasid=7\n",
	      &t);
	cr_assert_eq(run_traced(&t, false, NULL, err, sizeof(err), &out), 0, "%s", err);
	cr_expect(strstr(out, "replay:dma: dev=dev0 pasid=none iova=0x0000000000100000"), "%s",
		  out);
	cr_expect(strstr(out, "replay:dma: dev=dev0 pasid=0 iova=0x0000000000100000"), "%s", out);
	cr_expect(strstr(out, "replay:dma: dev=dev0 pasid=7 iova=0x0000000000100000"), "%s", out);
	cr_expect_null(strstr(out, "pasid= "), "%s", out);
	free(out);
	rt_trace_free(&t);
}

Test(replay_trace_out, live_mappings_counter_follows_copy_and_destroy)
{
	static const char key[] = "\"name\": \"live_mappings\", \"args\": {\"value\": ";
	static const int want[] = { 1, 2, 3, 2, 0 };
	struct rt_trace t;
	char err[256], *out, *p;
	unsigned n = 0;

	parse(HEAD "ioas_alloc id=1\nioas_alloc id=2\nattach dev=dev0 pt=1\n"
		   "map ioas=1 iova=0x100000 pid=1 va=0x7f0000000000 len=8192 flags=read,write "
		   "tag=1\n"
		   "copy dst_ioas=2 dst_iova=0x200000 src_ioas=1 src_iova=0 len=8192 "
		   "flags=read,write src_tag=1 dst_tag=2\n"
		   "copy dst_ioas=2 dst_iova=auto src_ioas=1 src_iova=0x100000 len=4096 "
		   "flags=read\n"
		   "unmap ioas=1 iova=0x100000 len=8192\n"
		   "ioas_destroy id=2\n",
	      &t);
	cr_assert_eq(run_traced(&t, true, NULL, err, sizeof(err), &out), 0, "%s", err);
	for (p = strstr(out, key); p; p = strstr(p + 1, key)) {
		int v = atoi(p + sizeof(key) - 1);

		cr_assert_lt(n, sizeof(want) / sizeof(want[0]), "extra value %d", v);
		cr_expect_eq(v, want[n], "value %u: %d, want %d", n, v, want[n]);
		n++;
	}
	cr_expect_eq(n, sizeof(want) / sizeof(want[0]), "%u live_mappings values", n);
	free(out);
	rt_trace_free(&t);
}
