/* SPDX-License-Identifier: MIT */
/*
 * `iommusim replay`: run a trace on a model and configuration; one run, a
 * sweep on all cores, one job of a sweep (--job, what --emit-jobs writes),
 * a gnuplot chart of a sweep (--plot).
 *
 * Everything printed comes from here: the library fills a result and
 * renders JSON into a buffer; the progress bar, errors and tables are this
 * file's.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iommusim/replay.h>
#include <iommusim/replay_trace.h>

#include "cli.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: iommusim replay [options] TRACE\n"
		"\n"
		"Replay TRACE (our text or binary format, or Linux ftrace text) on an IOMMU\n"
		"model and report translations, IOTLB and walk-cache hit rates, memory accesses\n"
		"per translation, invalidations, faults, stale-translation windows and modelled\n"
		"DMA latency. Settings are `key=value` (see `iommusim info`); a value list\n"
		"`key=v1,v2,...` makes a sweep: one run per configuration, on all cores.\n"
		"\n"
		"options:\n"
		"  -m, --model NAME       run on model NAME instead of the trace's vendor\n"
		"  -s, --set KEY=V[,V..]  a setting, or a swept list of them (repeatable)\n"
		"      --iotlb LIST       shorthand for --set MODEL.iotlb=LIST (e.g. 64,256,1024\n"
		"                         entries, or 64x8,128x8:rr geometries)\n"
		"      --inval LIST       shorthand for --set inval=LIST (strict, lazy)\n"
		"      --seed N           shorthand for --set seed=N\n"
		"  -j, --json             JSON instead of the table (byte-identical for the same\n"
		"                         trace, settings and seed)\n"
		"  -o, --output FILE      write the report to FILE instead of stdout\n"
		"  -t, --threads N        sweep threads (default: every core)\n"
		"      --plot FILE.png    draw the swept metric against the first swept key\n"
		"      --metric KEY       the metric --plot draws (default iotlb_hit_rate; any\n"
		"                         number in a JSON row: lat_p99, stale_windows, ...)\n"
		"      --emit-jobs FILE   write one command line per configuration to FILE\n"
		"                         (- for stdout) instead of running the sweep\n"
		"      --job-dir DIR      where the emitted jobs write their JSON (default .)\n"
		"      --job N            run only configuration N of the sweep (JSON row)\n"
		"      --trace-out FILE   the replay's own event trace: ftrace text, or\n"
		"                         Chrome/Perfetto JSON when FILE ends in .json\n"
		"      --trace-events PAT catalogue events for --trace-out (default: iommu:*,\n"
		"                         iommufd:*, walks, invalidations, faults, checker)\n"
		"  -f, --format FMT       input format: auto (default), text, binary, linux\n"
		"      --skip-bad         skip malformed input lines (counted) instead of "
		"stopping\n"
		"      --no-progress      no progress bar (it shows on a terminal after 1 s)\n"
		"  -h, --help             this text\n"
		"\n"
		"exit codes: 0 done, 2 bad command line, 3 bad trace or configuration,\n"
		"4 the simulator failed (out of memory, gnuplot failed).\n");
}

enum {
	OPT_IOTLB = 256,
	OPT_INVAL,
	OPT_SEED,
	OPT_PLOT,
	OPT_METRIC,
	OPT_EMIT,
	OPT_JOBDIR,
	OPT_JOB,
	OPT_TRACE_OUT,
	OPT_TRACE_EVENTS,
	OPT_SKIP_BAD,
	OPT_NO_PROGRESS,
};

static const struct option long_opts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "set", required_argument, NULL, 's' },
	{ "iotlb", required_argument, NULL, OPT_IOTLB },
	{ "inval", required_argument, NULL, OPT_INVAL },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "json", no_argument, NULL, 'j' },
	{ "output", required_argument, NULL, 'o' },
	{ "threads", required_argument, NULL, 't' },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "metric", required_argument, NULL, OPT_METRIC },
	{ "emit-jobs", required_argument, NULL, OPT_EMIT },
	{ "job-dir", required_argument, NULL, OPT_JOBDIR },
	{ "job", required_argument, NULL, OPT_JOB },
	{ "trace-out", required_argument, NULL, OPT_TRACE_OUT },
	{ "trace-events", required_argument, NULL, OPT_TRACE_EVENTS },
	{ "format", required_argument, NULL, 'f' },
	{ "skip-bad", no_argument, NULL, OPT_SKIP_BAD },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ------------------------------------------------------------ shared helpers */

int cli_load_trace(const char *cmd, const char *path, enum rt_format fmt, bool skip_bad,
		   struct rt_trace *t, struct rt_linux_stats *stats)
{
	struct rt_read_opts ro = { .name = path, .skip_bad = skip_bad };
	struct rt_linux_stats local;
	struct rt_error err;
	char msg[512];
	int rc;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats)); /* only Linux input fills it */
	rt_trace_init(t, NULL);
	rc = rt_read_file(path, fmt, &ro, t, stats, &err);
	if (rc || err.skipped) {
		rt_error_format(&err, msg, sizeof(msg));
		if (rc)
			fprintf(stderr, "iommusim %s: %s\n", cmd, msg);
		else
			fprintf(stderr, "iommusim %s: skipped %llu bad line(s); first: %s\n", cmd,
				(unsigned long long)err.skipped, msg);
	}
	if (rc) {
		rt_trace_free(t);
		return rc == -ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_INPUT;
	}
	return CLI_EXIT_OK;
}

int cli_parse_format(const char *s, enum rt_format *out)
{
	static const char *const names[] = { "auto", "text", "binary", "linux" };

	for (unsigned i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum rt_format)i;
			return 0;
		}
	return -EINVAL;
}

/* ------------------------------------------------------------ progress */

struct progress {
	struct timespec t0;
	bool shown;
};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static int progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	double el = since(&p->t0);
	unsigned w = 40, fill = total ? (unsigned)((double)done / (double)total * w) : 0;
	char bar[41];

	if (el < 1.0)
		return 0;
	memset(bar, '#', fill);
	memset(bar + fill, ' ', w - fill);
	bar[w] = 0;
	fprintf(stderr, "\r[%s] %3.0f%% %" PRIu64 "/%" PRIu64 " events, %.1f s", bar,
		total ? 100.0 * (double)done / (double)total : 0.0, done, total, el);
	p->shown = true;
	return 0;
}

static void progress_end(struct progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r%*s\r", 78, "");
}

/* ------------------------------------------------------------ plot */

static bool have_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	while (path && *path) {
		const char *c = strchr(path, ':');
		size_t n = c ? (size_t)(c - path) : strlen(path);

		if (n && n + strlen(name) + 2 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
			if (!access(buf, X_OK))
				return true;
		}
		path += n + (c ? 1 : 0);
	}
	return false;
}

static int plot(const char *png, const char *metric, const struct replay_sweep *s,
		char *const *rows, unsigned n)
{
	const struct replay_axis *x = &s->axes[0];
	unsigned series = n / x->nvalues;
	FILE *g;
	int rc;

	if (!have_program("gnuplot")) {
		fprintf(stderr, "iommusim replay: --plot needs gnuplot, which is not installed "
				"(scripts/install-deps.sh installs gnuplot-nox)\n");
		return CLI_EXIT_INTERNAL;
	}
	g = popen("gnuplot", "w");
	if (!g) {
		fprintf(stderr, "iommusim replay: cannot run gnuplot: %s\n", strerror(errno));
		return CLI_EXIT_INTERNAL;
	}
	fprintf(g, "set terminal pngcairo size 900,560 noenhanced\n");
	fprintf(g, "set output '%s'\n", png);
	fprintf(g, "set title '%s against %s'\nset xlabel '%s'\nset ylabel '%s'\n", metric, x->key,
		x->key, metric);
	fprintf(g, "set grid\nset key outside right\nset style data linespoints\n");
	fprintf(g, "plot");
	for (unsigned k = 0; k < series; k++) {
		const char *v[REPLAY_MAX_AXES];

		/* Name a series by the values of the other swept keys. */
		replay_sweep_job(s, k, v);
		fprintf(g, "%s '-' using 0:2:xtic(1) title '", k ? "," : "");
		for (unsigned a = 1; a < s->naxes; a++)
			fprintf(g, "%s%s=%s", a > 1 ? " " : "", s->axes[a].key, v[a]);
		fprintf(g, "%s'", s->naxes == 1 ? metric : "");
	}
	fprintf(g, "\n");
	/* Job j: axis 0 is the slowest, so series k = j % series, x = j / series. */
	for (unsigned k = 0; k < series; k++) {
		for (unsigned xi = 0; xi < x->nvalues; xi++) {
			double v = 0;

			replay_json_number(rows[xi * series + k], metric, &v);
			fprintf(g, "\"%s\" %.9g\n", x->values[xi], v);
		}
		fprintf(g, "e\n");
	}
	rc = pclose(g);
	if (rc) {
		fprintf(stderr, "iommusim replay: gnuplot failed (status %d)\n", rc);
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ settings */

/*
 * One setting as given on the command line: -s KEY=V, or a shorthand (--iotlb,
 * --inval, --seed) and its value. The key=value text is built once the whole
 * command line is parsed (--iotlb's key depends on --model, which may come
 * later), at the length it needs.
 */
struct setting {
	int opt; /* 's', OPT_IOTLB, OPT_INVAL or OPT_SEED */
	const char *val; /* optarg */
	char *text; /* "key=value", malloc'd */
};

/*
 * The model whose IOTLB knob --iotlb sets: --model's, else the first model.
 * The trace's own vendor is not known here: settings are checked, and
 * --emit-jobs writes its jobs, before the trace is read (no helper finds a
 * trace's model before replay_run()). replay_models()[0] is also the model
 * the engine uses for a trace that names none (Linux traces).
 */
static const struct replay_model *iotlb_model(const struct replay_model *chosen)
{
	size_t n;

	return chosen ? chosen : replay_models(&n)[0];
}

static char *setting_text(const struct setting *s, const struct replay_model *chosen)
{
	const char *key;
	size_t len;
	char *t;

	switch (s->opt) {
	case OPT_IOTLB:
		key = iotlb_model(chosen)->iotlb_key;
		break;
	case OPT_INVAL:
		key = "inval";
		break;
	case OPT_SEED:
		key = "seed";
		break;
	default:
		return strdup(s->val);
	}
	len = strlen(key) + 1 + strlen(s->val) + 1;
	t = malloc(len);
	if (t)
		snprintf(t, len, "%s=%s", key, s->val);
	return t;
}

/* ------------------------------------------------------------ emit-jobs */

static void shell_quote(FILE *f, const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    "_-./=:,+@%") == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/*
 * What an emitted job runs: the parsed command line minus what only the sweep
 * runner uses (--emit-jobs, --job-dir, --job, --plot, --metric, --threads,
 * --output, --json, --no-progress), rebuilt from the parsed values rather
 * than filtered out of argv, so abbreviated (`--emi`), attached (`-t8`) and
 * `--opt=value` spellings all come out the same.
 */
struct job_cmd {
	const char *model, *format, *trace_out, *trace_events, *trace;
	bool skip_bad;
	const struct setting *sets; /* the settings as key=value text, in order */
	unsigned nsets;
};

static void emit_opt(FILE *f, const char *opt, const char *val)
{
	fprintf(f, " %s ", opt);
	shell_quote(f, val);
}

static int emit_jobs(const char *file, const char *dir, const struct job_cmd *jc, unsigned jobs)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	FILE *f = strcmp(file, "-") ? fopen(file, "w") : stdout;

	if (!f) {
		fprintf(stderr, "iommusim replay: %s: %s\n", file, strerror(errno));
		return CLI_EXIT_INPUT;
	}
	if (n <= 0)
		snprintf(self, sizeof(self), "iommusim");
	else
		self[n] = 0;
	for (unsigned j = 0; j < jobs; j++) {
		shell_quote(f, self);
		fputs(" replay", f);
		if (jc->model)
			emit_opt(f, "--model", jc->model);
		/* In the given order: a later setting wins, and axes keep their order. */
		for (unsigned i = 0; i < jc->nsets; i++)
			emit_opt(f, "--set", jc->sets[i].text);
		if (jc->format)
			emit_opt(f, "--format", jc->format);
		if (jc->skip_bad)
			fputs(" --skip-bad", f);
		if (jc->trace_out)
			emit_opt(f, "--trace-out", jc->trace_out);
		if (jc->trace_events)
			emit_opt(f, "--trace-events", jc->trace_events);
		fprintf(f, " --no-progress --json --job %u -o ", j);
		/* Quoted apart, so no length limit: the shell joins 'a dir'/job-0000.json. */
		shell_quote(f, dir);
		fprintf(f, "/job-%04u.json ", j);
		if (jc->trace[0] == '-' && jc->trace[1])
			fputs("-- ", f); /* a trace named like an option */
		shell_quote(f, jc->trace);
		fputc('\n', f);
	}
	if (f != stdout && fclose(f)) {
		fprintf(stderr, "iommusim replay: %s: %s\n", file, strerror(errno));
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ main */

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

int cli_replay(int argc, char **argv)
{
	const char *out_path = NULL, *plot_path = NULL, *metric = "iotlb_hit_rate";
	const char *emit = NULL, *job_dir = ".", *trace_out = NULL, *trace_events = NULL;
	const char *model_name = NULL, *format_name = NULL, *trace_path;
	struct setting *sets; /* -s/--iotlb/--inval/--seed in order; at most one per argv word */
	unsigned nsets = 0, threads = 0;
	bool json = false, skip_bad = false, no_progress = false;
	long job = -1;
	enum rt_format fmt = RT_FMT_AUTO;
	struct replay_config cfg;
	struct replay_sweep sw;
	struct rt_trace t;
	char err[512];
	FILE *out = stdout, *tout = NULL;
	int c, ret = CLI_EXIT_OK, rc;

	sets = calloc((size_t)argc, sizeof(*sets));
	if (!sets) {
		fprintf(stderr, "iommusim replay: out of memory\n");
		return CLI_EXIT_INTERNAL;
	}
	replay_config_init(&cfg);
	replay_sweep_init(&sw);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":m:s:jo:t:f:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			model_name = optarg;
			break;
		case 's':
		case OPT_IOTLB:
		case OPT_INVAL:
		case OPT_SEED:
			sets[nsets].opt = c;
			sets[nsets].val = optarg;
			nsets++;
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 't': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end || !v || v > 4096) {
				fprintf(stderr, "iommusim replay: --threads: expected 1..4096\n");
				ret = CLI_EXIT_USAGE;
				goto out;
			}
			threads = (unsigned)v;
			break;
		}
		case OPT_PLOT:
			plot_path = optarg;
			break;
		case OPT_METRIC:
			metric = optarg;
			break;
		case OPT_EMIT:
			emit = optarg;
			break;
		case OPT_JOBDIR:
			job_dir = optarg;
			break;
		case OPT_JOB: {
			char *end;

			job = strtol(optarg, &end, 10);
			if (*end || job < 0) {
				fprintf(stderr, "iommusim replay: --job: expected a job number\n");
				ret = CLI_EXIT_USAGE;
				goto out;
			}
			break;
		}
		case OPT_TRACE_OUT:
			trace_out = optarg;
			break;
		case OPT_TRACE_EVENTS:
			trace_events = optarg;
			break;
		case 'f':
			if (cli_parse_format(optarg, &fmt)) {
				fprintf(stderr,
					"iommusim replay: --format: expected auto, text, binary "
					"or linux\n");
				ret = CLI_EXIT_USAGE;
				goto out;
			}
			format_name = optarg;
			break;
		case OPT_SKIP_BAD:
			skip_bad = true;
			break;
		case OPT_NO_PROGRESS:
			no_progress = true;
			break;
		case 'h':
			usage(stdout);
			goto out;
		case ':':
			fprintf(stderr, "iommusim replay: option '%s' needs a value\n",
				argv[optind - 1]);
			ret = CLI_EXIT_USAGE;
			goto out;
		default:
			fprintf(stderr,
				"iommusim replay: unknown option '%s' (try 'iommusim replay "
				"--help')\n",
				argv[optind - 1]);
			ret = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr,
			"iommusim replay: expected one TRACE (try 'iommusim replay --help')\n");
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	trace_path = argv[optind];

	if (model_name) {
		cfg.model = replay_model_find(model_name);
		if (!cfg.model) {
			fprintf(stderr,
				"iommusim replay: unknown model '%s' (see 'iommusim info')\n",
				model_name);
			ret = CLI_EXIT_USAGE;
			goto out;
		}
	}
	/* Settings: plain ones into the base configuration, lists into sweep axes. */
	for (unsigned i = 0; i < nsets; i++) {
		sets[i].text = setting_text(&sets[i], cfg.model);
		if (!sets[i].text) {
			fprintf(stderr, "iommusim replay: out of memory\n");
			ret = CLI_EXIT_INTERNAL;
			goto out;
		}
		if (strchr(sets[i].text, ','))
			rc = replay_sweep_add(&sw, sets[i].text, err, sizeof(err));
		else
			rc = replay_config_set(&cfg, sets[i].text, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "iommusim replay: %s\n", err);
			ret = rc == -ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_INPUT;
			goto out;
		}
	}
	if (emit) {
		const struct job_cmd jc = {
			.model = model_name,
			.format = format_name,
			.trace_out = trace_out,
			.trace_events = trace_events,
			.trace = trace_path,
			.skip_bad = skip_bad,
			.sets = sets,
			.nsets = nsets,
		};

		ret = emit_jobs(emit, job_dir, &jc, replay_sweep_jobs(&sw));
		goto out;
	}
	if (job >= 0 && (unsigned long)job >= replay_sweep_jobs(&sw)) {
		fprintf(stderr, "iommusim replay: --job %ld: the sweep has %u configurations\n",
			job, replay_sweep_jobs(&sw));
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (plot_path && !sw.naxes) {
		fprintf(stderr,
			"iommusim replay: --plot needs a sweep (a KEY=V1,V2,... setting)\n");
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	ret = cli_load_trace("replay", trace_path, fmt, skip_bad, &t, NULL);
	if (ret)
		goto out;
	if (out_path) {
		out = fopen(out_path, "w");
		if (!out) {
			fprintf(stderr, "iommusim replay: %s: %s\n", out_path, strerror(errno));
			ret = CLI_EXIT_INPUT;
			goto out_trace;
		}
	}

	if (sw.naxes && job < 0) {
		unsigned n = replay_sweep_jobs(&sw);
		char **rows = calloc(n, sizeof(*rows));

		if (!rows) {
			ret = CLI_EXIT_INTERNAL;
			goto out_file;
		}
		if (trace_out)
			fprintf(stderr, "iommusim replay: --trace-out is ignored in a sweep (use "
					"--job N)\n");
		rc = replay_sweep_run(&t, trace_path, &cfg, &sw, 0, n, threads, rows, err,
				      sizeof(err));
		if (rc) {
			fprintf(stderr, "iommusim replay: %s\n", err);
			ret = rc == -EINVAL ? CLI_EXIT_INPUT : CLI_EXIT_INTERNAL;
		} else {
			if (json)
				replay_sweep_json((const char *const *)rows, n, out);
			else
				replay_sweep_table((const char *const *)rows, n, out);
			if (plot_path)
				ret = plot(plot_path, metric, &sw, rows, n);
		}
		for (unsigned i = 0; i < n; i++)
			free(rows[i]);
		free(rows);
		goto out_file;
	}

	/* One run: the plain configuration, or job N of the sweep. */
	{
		struct replay_opts o = { 0 };
		struct replay_result res;
		struct replay_config jc;
		struct progress pr;
		const char *values[REPLAY_MAX_AXES], *keys[REPLAY_MAX_AXES];
		struct replay_row_info info = { 0 };

		rc = replay_sweep_config(&sw, job < 0 ? 0 : (unsigned)job, &cfg, &jc, err,
					 sizeof(err));
		if (rc) {
			fprintf(stderr, "iommusim replay: %s\n", err);
			ret = CLI_EXIT_INPUT;
			goto out_file;
		}
		if (trace_out) {
			tout = fopen(trace_out, "w");
			if (!tout) {
				fprintf(stderr, "iommusim replay: %s: %s\n", trace_out,
					strerror(errno));
				replay_config_free(&jc);
				ret = CLI_EXIT_INPUT;
				goto out_file;
			}
			o.trace_out = tout;
			o.trace_perfetto = ends_with(trace_out, ".json");
			o.trace_events = trace_events;
		}
		clock_gettime(CLOCK_MONOTONIC, &pr.t0);
		pr.shown = false;
		if (!no_progress && isatty(2)) {
			o.progress = progress_cb;
			o.progress_arg = &pr;
		}
		rc = replay_run(&t, &jc, &o, &res, err, sizeof(err));
		progress_end(&pr);
		replay_config_free(&jc);
		if (tout && fclose(tout)) {
			fprintf(stderr, "iommusim replay: %s: %s\n", trace_out, strerror(errno));
			ret = CLI_EXIT_INTERNAL;
		}
		if (rc) {
			fprintf(stderr, "iommusim replay: %s: %s\n", trace_path,
				err[0] ? err : strerror(-rc));
			replay_result_free(&res);
			ret = rc == -EINVAL ? CLI_EXIT_INPUT : CLI_EXIT_INTERNAL;
			goto out_file;
		}
		replay_sweep_job(&sw, job < 0 ? 0 : (unsigned)job, values);
		for (unsigned k = 0; k < sw.naxes; k++)
			keys[k] = sw.axes[k].key;
		info.trace_name = trace_path;
		info.job = job < 0 ? 0 : (unsigned)job;
		info.jobs = replay_sweep_jobs(&sw);
		info.nparams = sw.naxes;
		info.param_keys = keys;
		info.param_values = values;
		if (json) {
			struct replay_buf b = { 0 };

			if (replay_result_json(&res, &info, &b)) {
				ret = CLI_EXIT_INTERNAL;
			} else {
				fwrite(b.s, 1, b.len, out);
				fputc('\n', out);
			}
			replay_buf_free(&b);
		} else {
			fprintf(out, "trace          %s\n", trace_path);
			replay_result_table(&res, out);
		}
		replay_result_free(&res);
	}

out_file:
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "iommusim replay: %s: %s\n", out_path, strerror(errno));
		ret = CLI_EXIT_INTERNAL;
	}
out_trace:
	rt_trace_free(&t);
out:
	replay_sweep_free(&sw);
	replay_config_free(&cfg);
	for (unsigned i = 0; i < nsets; i++)
		free(sets[i].text);
	free(sets);
	return ret;
}
