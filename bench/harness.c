/* SPDX-License-Identifier: MIT */
/*
 * iommusim-bench: runs the benchmarks registered in benchmarks.def.
 *
 * For each selected benchmark: setup() once; calibrate the iteration count
 * by running with 1, then geometrically more iterations (as Google
 * Benchmark does) until one run lasts at least --min-time of wall time;
 * that run is repetition 0 and the remaining repetitions reuse its
 * iteration count; then teardown(). Wall time is CLOCK_MONOTONIC; CPU time
 * is the calling thread's CLOCK_THREAD_CPUTIME_ID, or the whole process's
 * CLOCK_PROCESS_CPUTIME_ID for benchmarks flagged BENCH_PROCESS_CPU.
 * Times are reported per iteration in ns; items/bytes per second are
 * divided by wall time (a simulator's throughput is what a user waits for;
 * Google Benchmark divides by CPU time unless told otherwise).
 *
 * Output: an aligned table, or with --json Google Benchmark's JSON schema so
 * its tools (compare.py) and ours read the results; with --repetitions > 1,
 * aggregate entries (mean, median, stddev, p99, best) follow each benchmark's runs.
 * Results are printed once all selected benchmarks have run, so the JSON is
 * complete or absent. Diagnostics go to stderr.
 *
 * Exit codes: 0 success, 1 a benchmark failed, 2 usage error, 3 internal
 * error (duplicate registration, out of memory).
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef IOMMUSIM_HAVE_PROFILER
#include <gperftools/profiler.h>
#endif

#include "bench.h"
#include "trace/json.h"

enum {
	EXIT_BENCH_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_INTERNAL = 3,
};

static const struct bench_def *const bench_all[] = {
#define BENCH(sym) &bench_##sym,
#include "benchmarks.def"
#undef BENCH
	NULL, /* keeps the array non-empty while no benchmark is registered */
};
#define BENCH_COUNT (sizeof(bench_all) / sizeof(bench_all[0]) - 1)

/* Longest a calibration may push one run: far beyond any sane min-time. */
#define BENCH_MAX_ITERATIONS 100000000000ull

struct run_result {
	uint64_t iterations;
	double real_ns; /* per iteration */
	double cpu_ns; /* per iteration */
	double items_ps;
	double bytes_ps;
};

struct bench_result {
	const struct bench_def *def;
	unsigned nruns;
	struct run_result *runs;
	bool has_items, has_bytes;
	int error; /* negative errno from setup/run, 0 if fine */
	const char *error_where;
};

struct options {
	bool list, json;
	unsigned repetitions;
	double min_time;
	const char *profile;
	char **patterns;
	int npatterns;
};

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [NAME or GLOB...] [options]\n"
		"Run iommusim's benchmarks (all of them when no name is given).\n"
		"\n"
		"Options:\n"
		"  --list             print each benchmark's name and what one item is, then exit\n"
		"  --json             print results as Google Benchmark JSON instead of a table\n"
		"  --repetitions N    run each benchmark N times (default 1); with N > 1, also\n"
		"                     report mean, median, stddev, p99 and best (the fastest\n"
		"                     repetition) over the repetitions\n"
		"  --min-time S       seconds one repetition lasts at least (default 0.5)\n"
		"  --profile FILE     write a gperftools CPU profile of the runs to FILE\n"
		"                     (read it with: google-pprof --text %s FILE)\n"
		"  --help             print this help and exit\n"
		"\n"
		"Names and globs (fnmatch: * ? [..]) select benchmarks from --list.\n"
		"\n"
		"Exit status:\n"
		"  0  every selected benchmark ran\n"
		"  1  a benchmark failed (its setup or run returned an error)\n"
		"  2  usage error: unknown option or benchmark name, bad value, or\n"
		"     --profile when this build has no profiler or the file cannot be written\n"
		"  3  internal error (duplicate benchmark name, out of memory)\n",
		prog, prog);
}

static int parse_uint(const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max || s[0] == '-')
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == 's') /* "0.5s", as Google Benchmark writes it */
		end++;
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Returns 0 to go on, 1 to exit successfully (--help), -1 on a usage error. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_LIST = 256, OPT_JSON, OPT_REPS, OPT_MIN_TIME, OPT_PROFILE, OPT_HELP };
	static const struct option longopts[] = {
		{ "list", no_argument, NULL, OPT_LIST },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "repetitions", required_argument, NULL, OPT_REPS },
		{ "min-time", required_argument, NULL, OPT_MIN_TIME },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->repetitions = 1;
	o->min_time = 0.5;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LIST:
			o->list = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_REPS:
			if (parse_uint(optarg, 1000000, &o->repetitions)) {
				fprintf(stderr, "%s: bad --repetitions '%s' (1..1000000)\n",
					argv[0], optarg);
				return -1;
			}
			break;
		case OPT_MIN_TIME:
			if (parse_seconds(optarg, &o->min_time)) {
				fprintf(stderr, "%s: bad --min-time '%s' (seconds > 0)\n", argv[0],
					optarg);
				return -1;
			}
			break;
		case OPT_PROFILE:
			o->profile = optarg;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout, argv[0]);
			return 1;
		default:
			if (optopt)
				fprintf(stderr, "%s: option '%s' needs a value or is unknown\n",
					argv[0], argv[optind - 1]);
			else
				fprintf(stderr, "%s: unknown option '%s'\n", argv[0],
					argv[optind - 1]);
			fprintf(stderr, "Try '%s --help'.\n", argv[0]);
			return -1;
		}
	}
	o->patterns = argv + optind;
	o->npatterns = argc - optind;
	return 0;
}

static bool is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Mark the selected benchmarks in @sel. Returns 0 or -1 (unknown name, reported). */
static int select_benchmarks(const struct options *o, bool *sel, const char *prog)
{
	if (!o->npatterns) {
		for (size_t i = 0; i < BENCH_COUNT; i++)
			sel[i] = true;
		return 0;
	}
	for (int p = 0; p < o->npatterns; p++) {
		const char *pat = o->patterns[p];
		bool any = false;

		for (size_t i = 0; i < BENCH_COUNT; i++) {
			bool m = is_glob(pat) ? fnmatch(pat, bench_all[i]->name, 0) == 0
					      : strcmp(pat, bench_all[i]->name) == 0;

			if (m) {
				sel[i] = true;
				any = true;
			}
		}
		if (!any) {
			fprintf(stderr, "%s: no benchmark %s '%s' (see --list)\n", prog,
				is_glob(pat) ? "matches" : "named", pat);
			return -1;
		}
	}
	return 0;
}

static int check_registry(const char *prog)
{
	for (size_t i = 0; i < BENCH_COUNT; i++) {
		const struct bench_def *d = bench_all[i];

		if (!d->name || !d->item || !d->run) {
			fprintf(stderr, "%s: benchmark #%zu lacks a name, item or run()\n", prog,
				i);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(bench_all[j]->name, d->name) == 0) {
				fprintf(stderr, "%s: benchmark '%s' registered twice\n", prog,
					d->name);
				return -1;
			}
		}
	}
	return 0;
}

static void list_benchmarks(void)
{
	int w = 4;

	for (size_t i = 0; i < BENCH_COUNT; i++)
		if ((int)strlen(bench_all[i]->name) > w)
			w = (int)strlen(bench_all[i]->name);
	for (size_t i = 0; i < BENCH_COUNT; i++)
		printf("%-*s  %s\n", w, bench_all[i]->name, bench_all[i]->item);
}

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct timed {
	double wall, cpu; /* seconds */
	struct bench_counters c;
};

static int timed_run(const struct bench_def *d, void *state, uint64_t iters, struct timed *t)
{
	clockid_t cpu_clk =
		d->flags & BENCH_PROCESS_CPU ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_THREAD_CPUTIME_ID;
	double w0, c0;
	int err;

	memset(&t->c, 0, sizeof(t->c));
	w0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(cpu_clk);
	err = d->run(state, iters, &t->c);
	t->cpu = now_s(cpu_clk) - c0;
	t->wall = now_s(CLOCK_MONOTONIC) - w0;
	return err;
}

static void record_run(struct bench_result *r, uint64_t iters, const struct timed *t)
{
	struct run_result *rr = &r->runs[r->nruns++];
	double wall = t->wall > 0 ? t->wall : 1e-9;

	rr->iterations = iters;
	rr->real_ns = t->wall * 1e9 / (double)iters;
	rr->cpu_ns = t->cpu * 1e9 / (double)iters;
	rr->items_ps = (double)t->c.items / wall;
	rr->bytes_ps = (double)t->c.bytes / wall;
	r->has_items |= t->c.items != 0;
	r->has_bytes |= t->c.bytes != 0;
}

/* The next iteration count to try, after a run of @iters that took @wall s. */
static uint64_t next_iterations(uint64_t iters, double wall, double min_time)
{
	double mult = 10;
	double next;

	/* Trust the estimate once a run is long enough to be measurable. */
	if (wall > min_time / 10)
		mult = min_time * 1.4 / wall;
	if (mult > 10)
		mult = 10;
	next = (double)iters * mult;
	if (next < (double)iters + 1)
		next = (double)iters + 1;
	if (next > (double)BENCH_MAX_ITERATIONS)
		next = (double)BENCH_MAX_ITERATIONS;
	return (uint64_t)next;
}

static void run_benchmark(const struct bench_def *d, const struct options *o,
			  struct bench_result *r)
{
	struct bench_args args = { o->min_time, o->repetitions, 1 };
	void *state = NULL;
	uint64_t iters = 1;
	struct timed t;
	int err;

	r->def = d;
	if (d->setup) {
		err = d->setup(&state, &args);
		if (err) {
			r->error = err;
			r->error_where = "setup";
			return;
		}
	}
	/* Calibration: the first run long enough is repetition 0. */
	for (;;) {
		err = timed_run(d, state, iters, &t);
		if (err)
			goto fail;
		if (t.wall >= o->min_time || iters >= BENCH_MAX_ITERATIONS)
			break;
		iters = next_iterations(iters, t.wall, o->min_time);
	}
	record_run(r, iters, &t);
	while (r->nruns < o->repetitions) {
		err = timed_run(d, state, iters, &t);
		if (err)
			goto fail;
		record_run(r, iters, &t);
	}
	if (d->teardown)
		d->teardown(state);
	return;
fail:
	r->error = err;
	r->error_where = "run";
	if (d->teardown)
		d->teardown(state);
}

/* Aggregates over repetitions. */
enum agg { AGG_MEAN, AGG_MEDIAN, AGG_STDDEV, AGG_P99, AGG_BEST, AGG__COUNT };
static const char *const agg_names[AGG__COUNT] = { "mean", "median", "stddev", "p99", "best" };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * @v is sorted in place. p99 is the nearest-rank percentile. best is the
 * fastest repetition's value: the smallest time, the largest rate (@higher
 * says which the column is). On a shared machine other load only ever slows
 * a run down, so best is the steadiest estimate of what the code costs.
 */
static double aggregate(double *v, unsigned n, enum agg a, bool higher)
{
	double sum = 0, mean, ss = 0;
	unsigned rank;

	qsort(v, n, sizeof(*v), cmp_double);
	for (unsigned i = 0; i < n; i++)
		sum += v[i];
	mean = sum / n;
	switch (a) {
	case AGG_MEAN:
		return mean;
	case AGG_MEDIAN:
		return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	case AGG_STDDEV:
		if (n < 2)
			return 0;
		for (unsigned i = 0; i < n; i++)
			ss += (v[i] - mean) * (v[i] - mean);
		return sqrt(ss / (n - 1));
	case AGG_P99:
		rank = (unsigned)ceil(0.99 * n);
		return v[(rank ? rank : 1) - 1];
	case AGG_BEST:
		return higher ? v[n - 1] : v[0];
	default:
		return 0;
	}
}

/* One row of output: a repetition or an aggregate. */
struct row {
	double real_ns, cpu_ns, items_ps, bytes_ps;
	uint64_t iterations;
};

static int aggregate_row(const struct bench_result *r, enum agg a, struct row *out)
{
	double *v = malloc(r->nruns * sizeof(*v));

	if (!v)
		return -ENOMEM;
#define AGG_FIELD(dst, field, higher)                         \
	do {                                                  \
		for (unsigned i = 0; i < r->nruns; i++)       \
			v[i] = r->runs[i].field;              \
		out->dst = aggregate(v, r->nruns, a, higher); \
	} while (0)
	AGG_FIELD(real_ns, real_ns, false);
	AGG_FIELD(cpu_ns, cpu_ns, false);
	AGG_FIELD(items_ps, items_ps, true);
	AGG_FIELD(bytes_ps, bytes_ps, true);
#undef AGG_FIELD
	out->iterations = r->nruns;
	free(v);
	return 0;
}

static void human_rate(char *buf, size_t size, double v, const char *unit)
{
	static const char *const sfx[] = { "", "k", "M", "G", "T" };
	unsigned i = 0;

	while (v >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(buf, size, "%.4g%s%s/s", v, sfx[i], unit);
}

static void print_table_row(int w, const char *name, const struct bench_result *r,
			    const struct row *row)
{
	char items[32] = "", bytes[32] = "";

	if (r->has_items)
		human_rate(items, sizeof(items), row->items_ps, "");
	if (r->has_bytes)
		human_rate(bytes, sizeof(bytes), row->bytes_ps, "B");
	printf("%-*s %13.2f ns %13.2f ns %12llu %14s %14s\n", w, name, row->real_ns, row->cpu_ns,
	       (unsigned long long)row->iterations, items, bytes);
}

static int print_table(const struct bench_result *res, size_t n, unsigned reps)
{
	int w = 9;
	char name[256];
	int dashes;

	for (size_t i = 0; i < n; i++) {
		int l = (int)strlen(res[i].def->name) + (reps > 1 ? 7 : 0);

		if (l > w)
			w = l;
	}
	dashes = w + 1 + 16 + 1 + 16 + 1 + 12 + 1 + 14 + 1 + 14;
	printf("%-*s %16s %16s %12s %14s %14s\n", w, "Benchmark", "Time", "CPU", "Iterations",
	       "items/s", "bytes/s");
	for (int i = 0; i < dashes; i++)
		putchar('-');
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		if (r->error) {
			printf("%-*s ERROR in %s: %s\n", w, r->def->name, r->error_where,
			       strerror(-r->error));
			continue;
		}
		for (unsigned k = 0; k < r->nruns; k++) {
			struct row row = { r->runs[k].real_ns, r->runs[k].cpu_ns,
					   r->runs[k].items_ps, r->runs[k].bytes_ps,
					   r->runs[k].iterations };

			print_table_row(w, r->def->name, r, &row);
		}
		if (r->nruns < 2)
			continue;
		for (int a = 0; a < AGG__COUNT; a++) {
			struct row row;

			if (aggregate_row(r, a, &row))
				return -ENOMEM;
			snprintf(name, sizeof(name), "%s_%s", r->def->name, agg_names[a]);
			print_table_row(w, name, r, &row);
		}
	}
	printf("\nItems:\n");
	for (size_t i = 0; i < n; i++)
		printf("  %-*s %s\n", w, res[i].def->name, res[i].def->item);
	return 0;
}

/* JSON has no inf or nan. */
static void json_double(FILE *f, double v)
{
	fprintf(f, "%.17g", isfinite(v) ? v : 0.0);
}

static long cpu_mhz(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	long mhz = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		const char *colon = strchr(line, ':');

		if (strncmp(line, "cpu MHz", 7) == 0 && colon) {
			mhz = lround(strtod(colon + 1, NULL));
			break;
		}
	}
	fclose(f);
	return mhz;
}

static void json_context(FILE *f, const char *exe)
{
	char date[64] = "", host[256] = "";
	time_t now = time(NULL);
	struct tm tm;
	double load[3];
	long mhz = cpu_mhz();

	if (localtime_r(&now, &tm) && strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S%z", &tm)) {
		/* Google Benchmark writes the offset as +hh:mm. */
		size_t l = strlen(date);

		if (l >= 5 && l + 2 < sizeof(date)) {
			memmove(date + l - 1, date + l - 2, 3);
			date[l - 2] = ':';
		}
	}
	if (gethostname(host, sizeof(host) - 1))
		strcpy(host, "unknown");
	fprintf(f, "  \"context\": {\n    \"date\": ");
	trace_json_escape_file(f, date);
	fprintf(f, ",\n    \"host_name\": ");
	trace_json_escape_file(f, host);
	fprintf(f, ",\n    \"executable\": ");
	trace_json_escape_file(f, exe);
	fprintf(f, ",\n    \"num_cpus\": %ld", sysconf(_SC_NPROCESSORS_ONLN));
	if (mhz > 0)
		fprintf(f, ",\n    \"mhz_per_cpu\": %ld", mhz);
	if (getloadavg(load, 3) == 3) {
		fprintf(f, ",\n    \"load_avg\": [");
		for (int i = 0; i < 3; i++) {
			json_double(f, load[i]);
			fputs(i < 2 ? "," : "", f);
		}
		fputc(']', f);
	}
#ifdef __OPTIMIZE__
	fprintf(f, ",\n    \"library_build_type\": \"release\"");
#else
	fprintf(f, ",\n    \"library_build_type\": \"debug\"");
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	fprintf(f, ",\n    \"iommusim_sanitized\": true");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	fprintf(f, ",\n    \"iommusim_sanitized\": true");
#else
	fprintf(f, ",\n    \"iommusim_sanitized\": false");
#endif
#else
	fprintf(f, ",\n    \"iommusim_sanitized\": false");
#endif
#ifdef IOMMUSIM_HAVE_PROFILER
	fprintf(f, ",\n    \"iommusim_profiler\": true");
#else
	fprintf(f, ",\n    \"iommusim_profiler\": false");
#endif
	fprintf(f, "\n  },\n");
}

static void json_entry(FILE *f, bool *first, const struct bench_result *r, size_t family,
		       const char *agg, unsigned rep, const struct row *row)
{
	fprintf(f, "%s    {\n      \"name\": ", *first ? "" : ",\n");
	*first = false;
	if (agg) {
		char name[256];

		snprintf(name, sizeof(name), "%s_%s", r->def->name, agg);
		trace_json_escape_file(f, name);
	} else {
		trace_json_escape_file(f, r->def->name);
	}
	fprintf(f, ",\n      \"family_index\": %zu,\n      \"per_family_instance_index\": 0",
		family);
	fprintf(f, ",\n      \"run_name\": ");
	trace_json_escape_file(f, r->def->name);
	if (r->error) {
		fprintf(f, ",\n      \"run_type\": \"iteration\",\n      \"error_occurred\": true"
			   ",\n      \"error_message\": ");
		char msg[128];

		snprintf(msg, sizeof(msg), "%s: %s", r->error_where, strerror(-r->error));
		trace_json_escape_file(f, msg);
		fprintf(f, "\n    }");
		return;
	}
	fprintf(f, ",\n      \"run_type\": \"%s\"", agg ? "aggregate" : "iteration");
	fprintf(f, ",\n      \"repetitions\": %u", r->nruns);
	if (!agg)
		fprintf(f, ",\n      \"repetition_index\": %u", rep);
	fprintf(f, ",\n      \"threads\": 1");
	if (agg)
		fprintf(f,
			",\n      \"aggregate_name\": \"%s\",\n      \"aggregate_unit\": \"time\"",
			agg);
	fprintf(f, ",\n      \"iterations\": %llu", (unsigned long long)row->iterations);
	fprintf(f, ",\n      \"real_time\": ");
	json_double(f, row->real_ns);
	fprintf(f, ",\n      \"cpu_time\": ");
	json_double(f, row->cpu_ns);
	fprintf(f, ",\n      \"time_unit\": \"ns\"");
	if (r->has_items) {
		fprintf(f, ",\n      \"items_per_second\": ");
		json_double(f, row->items_ps);
	}
	if (r->has_bytes) {
		fprintf(f, ",\n      \"bytes_per_second\": ");
		json_double(f, row->bytes_ps);
	}
	fprintf(f, "\n    }");
}

static int print_json(const struct bench_result *res, size_t n, const char *exe)
{
	bool first = true;

	printf("{\n");
	json_context(stdout, exe);
	printf("  \"benchmarks\": [\n");
	for (size_t i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		if (r->error) {
			json_entry(stdout, &first, r, i, NULL, 0, NULL);
			continue;
		}
		for (unsigned k = 0; k < r->nruns; k++) {
			struct row row = { r->runs[k].real_ns, r->runs[k].cpu_ns,
					   r->runs[k].items_ps, r->runs[k].bytes_ps,
					   r->runs[k].iterations };

			json_entry(stdout, &first, r, i, NULL, k, &row);
		}
		if (r->nruns < 2)
			continue;
		for (int a = 0; a < AGG__COUNT; a++) {
			struct row row;

			if (aggregate_row(r, a, &row))
				return -ENOMEM;
			json_entry(stdout, &first, r, i, agg_names[a], 0, &row);
		}
	}
	printf("\n  ]\n}\n");
	return 0;
}

static int profile_start(const char *file, const char *prog)
{
	if (!file)
		return 0;
#ifdef IOMMUSIM_HAVE_PROFILER
	if (!ProfilerStart(file)) {
		fprintf(stderr, "%s: cannot start the CPU profiler writing '%s'\n", prog, file);
		return -1;
	}
	return 0;
#else
	fprintf(stderr,
		"%s: --profile needs gperftools' libprofiler; this build has none "
		"(configure with -DIOMMUSIM_PROFILE=ON, outside sanitizer builds)\n",
		prog);
	return -1;
#endif
}

static void profile_stop(const char *file)
{
#ifdef IOMMUSIM_HAVE_PROFILER
	if (file)
		ProfilerStop();
#endif
}

int main(int argc, char **argv)
{
	const char *prog = argc ? argv[0] : "iommusim-bench";
	bool sel[BENCH_COUNT + 1] = { false };
	struct bench_result *res = NULL;
	struct options o = { 0 };
	size_t n = 0;
	int status = 0;
	int err;

	if (check_registry(prog))
		return EXIT_INTERNAL;
	err = parse_options(argc, argv, &o);
	if (err)
		return err > 0 ? 0 : EXIT_USAGE;
	if (o.list) {
		list_benchmarks();
		return 0;
	}
	if (select_benchmarks(&o, sel, prog))
		return EXIT_USAGE;
	res = calloc(BENCH_COUNT + 1, sizeof(*res));
	if (!res)
		return EXIT_INTERNAL;
	if (profile_start(o.profile, prog)) {
		free(res);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < BENCH_COUNT; i++) {
		struct bench_result *r;

		if (!sel[i])
			continue;
		r = &res[n++];
		r->runs = calloc(o.repetitions, sizeof(*r->runs));
		if (!r->runs) {
			status = EXIT_INTERNAL;
			break;
		}
		run_benchmark(bench_all[i], &o, r);
		if (r->error) {
			fprintf(stderr, "%s: %s: %s failed: %s\n", prog, r->def->name,
				r->error_where, strerror(-r->error));
			status = EXIT_BENCH_FAILED;
		}
	}
	profile_stop(o.profile);
	if (status != EXIT_INTERNAL) {
		err = o.json ? print_json(res, n, prog) : print_table(res, n, o.repetitions);
		if (err)
			status = EXIT_INTERNAL;
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "%s: cannot write the results\n", prog);
		status = status ? status : EXIT_INTERNAL;
	}
	for (size_t i = 0; i < n; i++)
		free(res[i].runs);
	free(res);
	return status;
}
