/* SPDX-License-Identifier: MIT */
/*
 * `iommusim demo`: the replay comparison (the default trace on every model,
 * strict and lazy invalidation, side by side), and with --machine the
 * original end-to-end run of the machine layer, with the numbers it
 * produces printed as it goes. Each step checks its own result and
 * the command exits 1 if any of them did not come out as the model says it
 * must, so the demo doubles as a smoke test of a fresh build.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <iommusim/fault.h>
#include <iommusim/machine.h>
#include <iommusim/replay.h>
#include <iommusim/replay_trace.h>
#include <iommusim/trace.h>

#include "cli.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

struct demo {
	bool verbose;
	int failures;
};

static void check(struct demo *d, bool ok, const char *what)
{
	printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
	if (!ok)
		d->failures++;
}

static int demo_pinning(struct demo *d)
{
	struct mach_config cfg = { .mem_size = 1 * GiB, .backing = MACH_BACKING_OWNED, .seed = 1 };
	struct mach_user *user = NULL;
	struct mach_proc *proc = NULL;
	struct mach_mem_stats st, before;
	struct mach *m;
	uint64_t va, *pfns = NULL;
	const uint64_t npages = 4096; /* 16 MiB */
	long rc;

	printf("\n== A machine, a process, pinning and accounting ==\n");
	rc = mach_create(&cfg, &m);
	if (rc) {
		fprintf(stderr, "iommusim: mach_create: %s\n", strerror((int)-rc));
		return CLI_EXIT_INTERNAL;
	}
	if (d->verbose)
		trace_enable_pattern(mach_trace(m), "mach:*");
	rc = mach_user_get(m, 1000, &user);
	if (!rc)
		rc = mach_proc_create(m, user, &proc);
	if (rc)
		goto out;
	mach_proc_set_rlimit_memlock(proc, 32 * MiB);
	printf("  machine: %" PRIu64
	       " MiB of RAM; process pid %u, uid 1000, RLIMIT_MEMLOCK 32 MiB\n",
	       (uint64_t)(mach_ram_size(m) / MiB), mach_proc_pid(proc));

	rc = mach_mmap(proc, 0, 64 * MiB, MACH_PROT_READ | MACH_PROT_WRITE, MACH_MAP_PRIVATE, NULL,
		       0, &va);
	if (rc)
		goto out;
	printf("  mmap 64 MiB anonymous at 0x%" PRIx64 "\n", va);

	mach_mem_stats(m, &before);
	pfns = calloc(npages, sizeof(*pfns));
	if (!pfns) {
		rc = -ENOMEM;
		goto out;
	}
	rc = mach_user_charge_locked(user, npages,
				     mach_proc_rlimit_memlock(proc) >> MACH_PAGE_SHIFT);
	check(d, rc == 0, "charge 16 MiB to the user's locked_vm (under the 32 MiB limit)");
	rc = mach_pin_user_pages(proc, va, npages, MACH_PIN_WRITE, pfns);
	check(d, rc == (long)npages, "long-term pin of 4096 pages (faults them in)");
	if (rc == (long)npages)
		mach_proc_add_pinned(proc, (int64_t)npages);
	mach_mem_stats(m, &st);
	printf("  user locked_vm %" PRIu64 " pages, process pinned_vm %" PRIu64
	       " pages, frames pinned %" PRIu64 ", free %" PRIu64 " of %" PRIu64 "\n",
	       mach_user_locked_vm(user), mach_proc_pinned_vm(proc), st.pinned_frames,
	       st.free_frames, st.ram_frames);

	rc = mach_user_charge_locked(user, 2 * npages,
				     mach_proc_rlimit_memlock(proc) >> MACH_PAGE_SHIFT);
	check(d, rc == -ENOMEM, "charging 32 MiB more is refused with ENOMEM (RLIMIT_MEMLOCK)");
	if (rc == 0)
		mach_user_uncharge_locked(user, 2 * npages);

	rc = mach_munmap(proc, va, 64 * MiB);
	mach_mem_stats(m, &st);
	check(d, rc == 0 && st.pinned_frames == npages,
	      "munmap of the region: the pinned pages stay alive until unpinned");
	mach_unpin_pages(m, pfns, npages);
	mach_proc_add_pinned(proc, -(int64_t)npages);
	mach_user_uncharge_locked(user, npages);
	mach_mem_stats(m, &st);
	check(d,
	      st.pinned_frames == 0 && st.free_frames == before.free_frames &&
		      mach_user_locked_vm(user) == 0 && mach_proc_pinned_vm(proc) == 0,
	      "unpin + uncharge: every frame free again, locked_vm and pinned_vm back to 0");
	rc = 0;
	if (d->verbose)
		trace_flush_text(mach_trace(m), stdout);
out:
	if (rc < 0)
		fprintf(stderr, "iommusim: demo step failed: %s\n", strerror((int)-rc));
	free(pfns);
	if (proc)
		mach_proc_destroy(proc);
	if (user)
		mach_user_put(user);
	mach_destroy(m);
	return rc < 0 ? CLI_EXIT_INTERNAL : 0;
}

static int demo_host_backed(struct demo *d)
{
	struct mach_config cfg = { .mem_size = 64 * MiB };
	struct mach_user *user = NULL;
	struct mach_proc *proc = NULL;
	struct mach *m;
	uint64_t pfn = 0;
	char *buf;
	long rc;

	printf("\n== Host-backed memory: DMA lands in the caller's own buffer ==\n");
	buf = aligned_alloc(MACH_PAGE_SIZE, MACH_PAGE_SIZE);
	if (!buf)
		return CLI_EXIT_INTERNAL;
	memset(buf, 0, MACH_PAGE_SIZE);
	rc = mach_create(&cfg, &m);
	if (rc) {
		free(buf);
		return CLI_EXIT_INTERNAL;
	}
	rc = mach_user_get(m, 1000, &user);
	if (!rc)
		rc = mach_proc_create(m, user, &proc);
	if (!rc)
		rc = mach_mmap_host(proc, buf, MACH_PAGE_SIZE, MACH_PROT_READ | MACH_PROT_WRITE);
	if (!rc)
		rc = mach_pin_user_pages(proc, (uint64_t)(uintptr_t)buf, 1, MACH_PIN_WRITE, &pfn);
	check(d, rc == 1, "pin one page of a real malloc'd buffer through its real address");
	if (rc == 1) {
		static const char msg[] = "written by a simulated DMA";
		rc = mach_phys_write(m, pfn << MACH_PAGE_SHIFT, msg, sizeof(msg));
		printf("  physical address 0x%" PRIx64 "; the buffer now reads \"%s\"\n",
		       pfn << MACH_PAGE_SHIFT, buf);
		check(d, rc == 0 && !strcmp(buf, msg), "a physical write reached the host buffer");
		mach_unpin_pages(m, &pfn, 1);
		rc = 0;
	}
	if (proc)
		mach_proc_destroy(proc);
	if (user)
		mach_user_put(user);
	mach_destroy(m);
	free(buf);
	return rc < 0 ? CLI_EXIT_INTERNAL : 0;
}

static int demo_dataless(struct demo *d)
{
	struct mach_config cfg = { .mem_size = 1 * TiB, .backing = MACH_BACKING_DATALESS };
	struct mach_user *user = NULL;
	struct mach_proc *proc = NULL;
	struct mach *m;
	uint64_t va, pfn = 0, total = 0, word = 1;
	const uint64_t chunk = GiB >> MACH_PAGE_SHIFT;
	uint64_t *pfns;
	long rc;

	printf("\n== A 1 TiB data-less machine: scale without the bytes ==\n");
	pfns = malloc(chunk * sizeof(*pfns));
	if (!pfns)
		return CLI_EXIT_INTERNAL;
	rc = mach_create(&cfg, &m);
	if (rc) {
		free(pfns);
		return CLI_EXIT_INTERNAL;
	}
	rc = mach_user_get(m, 0, &user);
	if (!rc)
		rc = mach_proc_create(m, user, &proc);
	if (!rc)
		rc = mach_mmap(proc, 0, 1 * TiB - 1 * GiB, MACH_PROT_READ | MACH_PROT_WRITE,
			       MACH_MAP_PRIVATE | MACH_MAP_HUGE_1G, NULL, 0, &va);
	/* Pin the whole region a gigabyte at a time, then let it go. */
	for (uint64_t off = 0; !rc && off < 1 * TiB - 1 * GiB; off += GiB) {
		rc = mach_pin_user_pages(proc, va + off, chunk, MACH_PIN_WRITE, pfns);
		if (rc == (long)chunk) {
			total += chunk;
			pfn = pfns[0];
			mach_unpin_pages(m, pfns, chunk);
			rc = 0;
		}
	}
	check(d, rc == 0 && total == (1 * TiB - 1 * GiB) >> MACH_PAGE_SHIFT,
	      "mapped and pinned 1023 GiB in 1 GiB pages");
	printf("  %" PRIu64 " pages pinned and unpinned\n", total);
	if (!rc) {
		rc = mach_phys_read(m, pfn << MACH_PAGE_SHIFT, &word, sizeof(word));
		check(d, rc == 0 && word == 0, "data-less memory reads as zeros");
	}
	if (proc)
		mach_proc_destroy(proc);
	if (user)
		mach_user_put(user);
	mach_destroy(m);
	free(pfns);
	return rc < 0 ? CLI_EXIT_INTERNAL : 0;
}

/* Invalidations the model counts as requests, and one named counter. */
static uint64_t demo_inval(const struct replay_result *r)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < r->hw.ninval; i++)
		if (r->hw.inval[i].b)
			n += r->hw.inval[i].a;
	return n;
}

static uint64_t demo_named(const struct replay_result *r, const char *name)
{
	for (unsigned i = 0; i < r->hw.ninval; i++)
		if (!strcmp(r->hw.inval[i].name, name))
			return r->hw.inval[i].a;
	return 0;
}

static void demo_usage(FILE *out)
{
	fprintf(out,
		"usage: iommusim demo [--trace FILE] [--machine [--verbose]] [--help]\n\n"
		"The main demo: replays the default trace (traces/nvme-4k.trace) on every IOMMU\n"
		"model there is, with strict and with lazy invalidation, and prints the\n"
		"results side by side; then the adversarial mix (traces/mix.trace), where\n"
		"DMA after unmap shows stale-translation windows under lazy invalidation.\n"
		"A missing bundled trace is generated (the same bytes `iommusim gen` makes).\n"
		"  -t, --trace FILE  replay FILE instead of the default trace\n"
		"  -m, --machine     the older demonstration of the machine layer instead\n"
		"                    (pinning, host-backed and data-less memory)\n"
		"  -v, --verbose     with --machine: also print the trace of the first part\n"
		"  -h, --help        this text\n"
		"Exit 0 when every check came out right, 1 when one did not (e.g. a stale\n"
		"window under strict invalidation), 3 for an unreadable trace, 4 when the\n"
		"simulator failed.\n");
}

/* ------------------------------------------------------------ the replay demo */

struct demo_col {
	const struct replay_model *m;
	bool lazy;
	struct replay_result r;
};

/* Read or generate @t; on failure @t is freed. */
static int demo_load(const char *path, enum rt_gen_kind kind, uint64_t count, struct rt_trace *t)
{
	struct rt_read_opts ro = { .name = path };
	struct rt_gen_params p;
	struct rt_error err;
	char msg[512];
	int rc;

	rt_trace_init(t, NULL);
	rc = rt_read_file(path, RT_FMT_AUTO, &ro, t, NULL, &err);
	if (!rc)
		return 0;
	if (err.code != -ENOENT && access(path, F_OK) == 0) {
		rt_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "iommusim demo: %s\n", msg);
		rt_trace_free(t);
		return CLI_EXIT_INPUT;
	}
	rt_trace_free(t);
	rt_trace_init(t, NULL);
	rt_gen_defaults(&p);
	p.count = count;
	if (rt_gen(kind, &p, t)) {
		fprintf(stderr, "iommusim demo: cannot generate %s\n", path);
		rt_trace_free(t);
		return CLI_EXIT_INTERNAL;
	}
	printf("(%s not found: generated with `iommusim gen %s -n %llu`)\n", path,
	       rt_gen_kind_name(kind), (unsigned long long)count);
	return 0;
}

/*
 * One column per model and invalidation mode, sized from the model count.
 * *@cols is set whenever it was allocated, also on failure, and every column
 * up to *@ncols holds a result demo_cols_free() may free (zeroed by calloc,
 * or filled by replay_run(), which also leaves a failed run's freeable).
 */
static int demo_runs(const struct rt_trace *t, struct demo_col **cols, unsigned *ncols)
{
	const struct replay_model *const *models;
	size_t nm;
	char err[512];

	models = replay_models(&nm);
	*ncols = 0;
	*cols = calloc(nm * 2, sizeof(**cols));
	if (!*cols) {
		fprintf(stderr, "iommusim demo: out of memory\n");
		return CLI_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < nm; i++)
		for (int lazy = 0; lazy < 2; lazy++) {
			struct demo_col *c = &(*cols)[(*ncols)++];
			struct replay_config cfg;
			int rc;

			replay_config_init(&cfg);
			cfg.model = models[i];
			c->m = models[i];
			c->lazy = lazy;
			rc = replay_config_set(&cfg, lazy ? "inval=lazy" : "inval=strict", err,
					       sizeof(err));
			if (!rc)
				rc = replay_run(t, &cfg, NULL, &c->r, err, sizeof(err));
			replay_config_free(&cfg);
			if (rc) {
				fprintf(stderr, "iommusim demo: %s %s: %s\n", models[i]->name,
					lazy ? "lazy" : "strict", err[0] ? err : strerror(-rc));
				return rc == -EINVAL ? CLI_EXIT_INPUT : CLI_EXIT_INTERNAL;
			}
		}
	return 0;
}

static void demo_cols_free(struct demo_col *cols, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		replay_result_free(&cols[i].r);
	free(cols);
}

static void demo_table(const char *title, struct demo_col *cols, unsigned n)
{
	unsigned i;

	printf("\n== %s ==\n%-34s", title, "");
	for (i = 0; i < n; i++) {
		char h[40];

		snprintf(h, sizeof(h), "%s %s", cols[i].m->name, cols[i].lazy ? "lazy" : "strict");
		printf(" %14s", h);
	}
	printf("\n");
#define ROW(label, fmt, expr)                                       \
	do {                                                        \
		printf("%-34s", label);                             \
		for (i = 0; i < n; i++) {                           \
			const struct replay_result *r = &cols[i].r; \
			printf(" %14" fmt, expr);                   \
		}                                                   \
		printf("\n");                                       \
	} while (0)
	ROW("DMA events", PRIu64, r->dma_events);
	ROW("translations", PRIu64, r->translations);
	ROW("IOTLB hit rate (%)", ".2f", 100.0 * replay_iotlb_hit_rate(r));
	ROW("memory accesses / translation", ".3f",
	    r->translations ? (double)r->mem_accesses / (double)r->translations : 0.0);
	ROW("invalidations (IOTLB+ctx+devTLB)", PRIu64, demo_inval(r));
	ROW("  of which page-selective", PRIu64, demo_named(r, "iotlb_psi"));
	ROW("  flush-queue flushes", PRIu64, demo_named(r, "fq_flushes"));
	ROW("faults", PRIu64, r->faults);
	ROW("stale-translation windows", PRIu64, r->stale);
	ROW("DMA latency mean (ns, modelled)", ".1f",
	    r->lat_count ? (double)r->modelled_ns / (double)r->lat_count : 0.0);
	ROW("DMA latency p99 (ns, modelled)", PRIu64, replay_latency_percentile(r, 99));
#undef ROW
}

static int demo_replay(const char *trace_path)
{
	struct demo_col *cols = NULL, *mixc = NULL;
	unsigned n = 0, nmix = 0, bad = 0;
	struct rt_trace t, mix;
	int rc;

	printf("iommusim demo: %s on every model, strict and lazy invalidation\n", trace_path);
	rc = demo_load(trace_path, RT_GEN_NVME, 2500, &t);
	if (rc)
		return rc;
	rc = demo_runs(&t, &cols, &n);
	if (rc)
		goto out_cols;
	demo_table(trace_path, cols, n);
	rc = demo_load("traces/mix.trace", RT_GEN_MIX, 5000, &mix);
	if (rc)
		goto out_cols;
	rc = demo_runs(&mix, &mixc, &nmix);
	if (rc)
		goto out_mix;
	demo_table("traces/mix.trace (DMA after unmap, detach churn)", mixc, nmix);
	printf("\nchecks:\n");
	for (unsigned i = 0; i < n + nmix; i++) {
		struct demo_col *c = i < n ? &cols[i] : &mixc[i - n];
		bool ok_stale = c->lazy || c->r.stale == 0;
		bool ok_ref = c->r.unexpected_faults == 0;

		printf("  [%s] %-6s %-6s %-10s %s\n", ok_stale && ok_ref ? " ok " : "FAIL",
		       c->m->name, c->lazy ? "lazy" : "strict", i < n ? "default" : "mix",
		       c->lazy ? "no fault on a mapped IOVA (stale windows allowed: lazy)"
			       : "no fault on a mapped IOVA, no stale window");
		bad += !(ok_stale && ok_ref);
	}
	printf("\nColumns are configurations; `iommusim replay TRACE --inval strict,lazy --json`\n"
	       "gives the same numbers as JSON, `iommusim info` lists every knob.\n");
	rc = bad ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
out_mix:
	demo_cols_free(mixc, nmix);
	rt_trace_free(&mix);
out_cols:
	demo_cols_free(cols, n);
	rt_trace_free(&t);
	return rc;
}

int cli_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "machine", no_argument, NULL, 'm' },
		{ "trace", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *trace_path = "traces/nvme-4k.trace";
	struct demo d = { 0 };
	bool machine = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "vmt:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			d.verbose = true;
			break;
		case 'm':
			machine = true;
			break;
		case 't':
			trace_path = optarg;
			break;
		case 'h':
			demo_usage(stdout);
			return CLI_EXIT_OK;
		default:
			demo_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		demo_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!machine)
		return demo_replay(trace_path);
	printf("iommusim demo --machine\n");
	rc = demo_pinning(&d);
	if (!rc)
		rc = demo_host_backed(&d);
	if (!rc)
		rc = demo_dataless(&d);
	if (rc)
		return rc;
	printf("\n%s: %d check(s) failed\n", d.failures ? "FAILED" : "all good", d.failures);
	return d.failures ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
