// SPDX-License-Identifier: MIT
/*
 * The replay commands of the iommusim program (replay, info, merge, shrink,
 * demo), run as a user runs them, from the source directory:
 *  - --help exits 0 for each, bad command lines exit 2;
 *  - malformed input exits 3 with "FILE:LINE: field 'F': message" on stderr;
 *  - unknown keys exit 3 naming the key; `info` lists the VT-d keys;
 *  - --json is byte-identical across runs and equals the golden file;
 *  - --emit-jobs, running the emitted lines and `merge` give the same bytes
 *    (JSON) and the same table as the sweep itself, also when the options
 *    were abbreviated (--emi, --thr, -t8); long value lists and many
 *    settings are neither truncated nor limited;
 *  - --trace-out FILE.json is valid JSON (python3 -m json.tool) with DMA
 *    spans; the ftrace text has replay:dma lines;
 *  - shrink reduces a faulting trace and exits 1 when the condition is absent;
 *  - the demo passes its own checks, and exits 3 when a run fails.
 * Needs the iommusim program built in the build directory.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIN IOMMUSIM_BINARY_DIR "/iommusim"
#define SRC IOMMUSIM_SOURCE_DIR

static char tmpdir[64];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/iommusim-cli-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	cr_assert_eq(chdir(SRC), 0);
	cr_assert_eq(access(BIN, X_OK), 0, "build the iommusim program first (%s)", BIN);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *b;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	cr_assert(b);
	cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = 0;
	fclose(f);
	return b;
}

/* Run `iommusim ARGS` (shell syntax) with stdout/stderr in files; exit code. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096], args[3000];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "cd %s && %s >%s/out 2>%s/err", SRC, args, tmpdir, tmpdir);
	st = system(cmd);
	cr_assert(WIFEXITED(st), "%s: killed", args);
	return WEXITSTATUS(st);
}

static char *out_text(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/out", tmpdir);
	return slurp(p);
}

static char *err_text(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/err", tmpdir);
	return slurp(p);
}

static void put(const char *name, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

TestSuite(replay_cli, .init = setup, .fini = teardown, .timeout = 300);

Test(replay_cli, help_and_usage_exit_codes)
{
	static const char *const cmds[] = { "replay", "info", "merge", "shrink", "demo" };

	for (unsigned i = 0; i < 5; i++) {
		char *o;

		cr_expect_eq(sh(BIN " %s --help", cmds[i]), 0, "%s --help", cmds[i]);
		o = out_text();
		cr_expect(strstr(o, "usage: iommusim"), "%s --help prints usage", cmds[i]);
		free(o);
		cr_expect_eq(sh(BIN " %s --no-such-option", cmds[i]), 2, "%s: bad option", cmds[i]);
	}
	cr_expect_eq(sh(BIN " replay"), 2, "no trace");
	cr_expect_eq(sh(BIN " replay a b"), 2, "two traces");
	cr_expect_eq(sh(BIN " replay --model nosuch traces/nvme-4k.trace"), 2);
	cr_expect_eq(sh(BIN " shrink traces/mix.trace --until sometimes -o x"), 2);
	cr_expect_eq(sh(BIN " info nosuch"), 2);
	cr_expect_eq(sh(BIN " --help"), 0);
	{
		char *o = out_text();

		cr_expect(strstr(o, "replay") && strstr(o, "shrink") && strstr(o, "merge") &&
			  strstr(o, "info"));
		free(o);
	}
}

Test(replay_cli, malformed_input_names_file_line_field)
{
	char *e;

	put("bad.trace",
	    "iommusim-trace v1\nmachine mem=4096\ndma dev=x dir=sideways iova=0 len=1\n");
	cr_expect_eq(sh(BIN " replay %s/bad.trace", tmpdir), 3);
	e = err_text();
	cr_expect(strstr(e, "bad.trace:3: field 'dir':"), "stderr: %s", e);
	free(e);
	cr_expect_eq(sh(BIN " replay %s/no-such-file.trace", tmpdir), 3);
	cr_expect_eq(sh(BIN " replay --set vtd.iotlbx=1 traces/nvme-4k.trace"), 3);
	e = err_text();
	cr_expect(strstr(e, "vtd.iotlbx: unknown key"), "stderr: %s", e);
	free(e);
	cr_expect_eq(sh(BIN " replay --set vtd.qi=0 traces/nvme-4k.trace"), 3);
	e = err_text();
	cr_expect(strstr(e, "queued invalidation"), "stderr: %s", e);
	free(e);
	/* A vendor the build has no model for. */
	put("v.trace", "iommusim-trace v1\niommu name=i0 vendor=nosuch\n");
	cr_expect_eq(sh(BIN " replay %s/v.trace", tmpdir), 3);
	e = err_text();
	cr_expect(strstr(e, "model 'nosuch' is not available"), "stderr: %s", e);
	free(e);
}

Test(replay_cli, info_lists_the_vtd_keys)
{
	static const char *const keys[] = { "vtd.iotlb",    "vtd.levels", "vtd.pwc", "vtd.cm",
					    "vtd.cost.mem", "inval",	  "fq.size", "pgsize" };
	char *o;

	cr_assert_eq(sh(BIN " info"), 0);
	o = out_text();
	cr_expect(strstr(o, "models: vtd"), "%s", o);
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_expect(strstr(o, keys[i]), "info lists %s", keys[i]);
	cr_expect(strstr(o, "64x8:lru"), "the IOTLB default");
	cr_expect(strstr(o, "strict|lazy"), "a range");
	free(o);
}

Test(replay_cli, json_deterministic_and_golden)
{
	char *a, *b, *g;

	cr_assert_eq(sh(BIN " replay --json tests/golden/replay/basic.trace"), 0);
	a = out_text();
	cr_assert_eq(sh(BIN " replay --json tests/golden/replay/basic.trace"), 0);
	b = out_text();
	cr_expect_str_eq(a, b);
	g = slurp(SRC "/tests/golden/replay/basic.json");
	cr_assert_not_null(g);
	cr_expect_str_eq(
		a, g,
		"differs from tests/golden/replay/basic.json; if the change is intended, "
		"regenerate it with `iommusim replay --json tests/golden/replay/basic.trace "
		"-o tests/golden/replay/basic.json`");
	free(a);
	free(b);
	free(g);
}

Test(replay_cli, emitted_jobs_merge_to_the_sweep)
{
	const char *sweep = "traces/nvme-4k.trace --iotlb 16,512 --inval strict,lazy";
	char *s, *m, *st, *mt;

	cr_assert_eq(sh(BIN " replay --json %s", sweep), 0);
	s = out_text();
	cr_assert_eq(sh(BIN " replay %s", sweep), 0);
	st = out_text();
	cr_assert_eq(
		sh(BIN " replay %s --emit-jobs %s/jobs.txt --job-dir %s", sweep, tmpdir, tmpdir),
		0);
	cr_assert_eq(sh("wc -l < %s/jobs.txt | grep -qx 4", tmpdir), 0, "four job lines");
	cr_assert_eq(sh("sh %s/jobs.txt", tmpdir), 0);
	cr_assert_eq(sh(BIN " merge %s/job-0003.json %s/job-0001.json %s/job-0000.json "
			    "%s/job-0002.json",
			tmpdir, tmpdir, tmpdir, tmpdir),
		     0);
	m = out_text();
	cr_expect_str_eq(m, s, "merge of the jobs = the sweep's JSON");
	cr_assert_eq(sh(BIN " merge --table %s/job-*.json", tmpdir), 0);
	mt = out_text();
	cr_expect_str_eq(mt, st, "merge --table = the sweep's table");
	cr_expect(strstr(s, "\"rows\": ["));
	cr_expect_eq(sh(BIN " merge %s/job-0000.json %s/job-0001.json", tmpdir, tmpdir), 3,
		     "missing jobs");
	cr_expect_eq(sh(BIN " merge %s/job-0000.json %s/job-0000.json", tmpdir, tmpdir), 3,
		     "a job twice");
	free(s);
	free(m);
	free(st);
	free(mt);
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(replay_cli, long_settings_are_not_truncated)
{
	static const char *const pol[] = { "lru", "rr", "random" };
	char list[1024] = "", last[32] = "", *o, *line;
	unsigned n = 0;
	size_t len = 0;

	/* 48 distinct geometries, ~500 characters: far past any fixed buffer. */
	for (unsigned sets = 1; sets <= 128; sets *= 2)
		for (unsigned ways = 8; ways <= 16; ways *= 2)
			for (unsigned p = 0; p < 3; p++) {
				snprintf(last, sizeof(last), "%ux%u:%s", sets, ways, pol[p]);
				len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
							n++ ? "," : "", last);
			}
	cr_assert_gt(len, 400);
	cr_assert_eq(sh(BIN " replay traces/nvme-4k.trace --iotlb %s --emit-jobs - --job-dir %s",
			list, tmpdir),
		     0);
	o = out_text();
	cr_expect_eq(count_lines(o), n, "one job per value (%u):\n%s", n, o);
	for (line = o; *line; line = strchr(line, '\n') + 1) {
		char *nl = strchr(line, '\n');

		*nl = 0;
		cr_expect(strstr(line, list), "the whole list in every job: %s", line);
		*nl = '\n';
	}
	free(o);
	/* The last value is a real sweep point, and it is the last job. */
	cr_assert_eq(sh(BIN " replay --json --job %u --iotlb %s tests/golden/replay/basic.trace",
			n - 1, list),
		     0);
	o = out_text();
	{
		char want[64];

		snprintf(want, sizeof(want), "\"params\": {\"vtd.iotlb\": \"%s\"}", last);
		cr_expect(strstr(o, want), "%s in:\n%s", want, o);
		snprintf(want, sizeof(want), "\"jobs\": %u,", n);
		cr_expect(strstr(o, want), "%s in:\n%s", want, o);
	}
	free(o);
	/* No fixed limit on the number of settings either; the last one wins. */
	{
		char many[1024] = "";

		len = 0;
		for (unsigned i = 0; i < 80; i++)
			len += (size_t)snprintf(many + len, sizeof(many) - len, " --seed %u",
						i == 79 ? 7 : 1);
		cr_assert_eq(sh(BIN " replay --json%s tests/golden/replay/basic.trace", many), 0);
		o = out_text();
		cr_expect(strstr(o, "\"seed\": 7,"), "%s", o);
		free(o);
	}
}

Test(replay_cli, emitted_jobs_from_abbreviated_options)
{
	const char *sweep = "traces/mix.trace --inval strict,lazy --mod vtd --form=text --skip";
	static const char *const gone[] = {
		" --emi", " --thr",  " -t8",	 " --job-d", " --metr",
		" --js ", " --outp", " --no-p ", " -t 2",    " --plot"
	};
	char *s, *o, *line;
	unsigned j = 0;

	cr_assert_eq(sh(BIN " replay --json %s", sweep), 0);
	s = out_text();
	/* Abbreviated, attached and --opt=value spellings of what the runner drops. */
	cr_assert_eq(sh(BIN " replay %s --emi - --thr 4 -t8 -t 2 --job-d %s --metr lat_p99 --js "
			    "--outp=%s/x --no-p",
			sweep, tmpdir, tmpdir),
		     0);
	o = out_text();
	cr_assert_eq(count_lines(o), 2, "%s", o);
	for (line = o; *line; line = strchr(line, '\n') + 1, j++) {
		char *nl = strchr(line, '\n'), want[160];

		*nl = 0;
		for (unsigned i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
			cr_expect(!strstr(line, gone[i]), "'%s' in: %s", gone[i], line);
		snprintf(want, sizeof(want), " --json --job %u -o %s/job-%04u.json ", j, tmpdir, j);
		cr_expect(strstr(line, want), "'%s' in: %s", want, line);
		cr_expect(strstr(line, " --model vtd"), "%s", line);
		cr_expect(strstr(line, " --set inval=strict,lazy"), "%s", line);
		cr_expect(strstr(line, " --format text"), "%s", line);
		cr_expect(strstr(line, " --skip-bad"), "%s", line);
		cr_expect(strstr(line, " traces/mix.trace"), "%s", line);
		*nl = '\n';
	}
	put("jobs.txt", o);
	free(o);
	cr_assert_eq(sh("sh %s/jobs.txt", tmpdir), 0);
	cr_assert_eq(sh(BIN " merge %s/job-0001.json %s/job-0000.json", tmpdir, tmpdir), 0);
	o = out_text();
	cr_expect_str_eq(o, s, "merge of the jobs = the sweep's JSON");
	free(o);
	free(s);
}

Test(replay_cli, perfetto_trace_out_is_json)
{
	char *j, *t;

	cr_assert_eq(
		sh(BIN " replay --inval lazy --trace-out %s/mix.json traces/mix.trace", tmpdir), 0);
	if (sh("command -v python3") == 0)
		cr_expect_eq(sh("python3 -m json.tool %s/mix.json", tmpdir), 0,
			     "ui.perfetto.dev needs valid JSON");
	else
		cr_log_warn("python3 missing: JSON syntax not checked");
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/mix.json", tmpdir);
		j = slurp(p);
	}
	cr_assert_not_null(j);
	cr_expect(strstr(j, "\"traceEvents\""));
	cr_expect(strstr(j, "\"name\": \"dma\""), "DMA spans");
	cr_expect(strstr(j, "\"name\": \"walk\""), "walk spans");
	cr_expect(strstr(j, "\"iotlb_hit_rate\""), "hit-rate counter");
	cr_expect(strstr(j, "\"live_mappings\""), "queue-depth counter");
	cr_expect(strstr(j, "\"name\": \"iommu:map\""), "catalogue events");
	free(j);
	cr_assert_eq(sh(BIN " replay --trace-out %s/n.txt traces/nvme-4k.trace", tmpdir), 0);
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/n.txt", tmpdir);
		t = slurp(p);
	}
	cr_assert_not_null(t);
	cr_expect(strstr(t, ": replay:dma: dev=nvme0"), "DMA lines in the ftrace layout");
	cr_expect(strstr(t, "] ..... "), "the ftrace prefix");
	free(t);
}

Test(replay_cli, shrink_reduces_a_fault)
{
	char p[128], *t;
	size_t lines = 0;

	cr_assert_eq(sh(BIN " shrink traces/mix.trace --until fault -o %s/min.trace", tmpdir), 0);
	snprintf(p, sizeof(p), "%s/min.trace", tmpdir);
	t = slurp(p);
	cr_assert_not_null(t);
	for (char *c = t; *c; c++)
		lines += *c == '\n';
	cr_expect_leq(lines, 7, "header + a handful of events:\n%s", t);
	free(t);
	cr_expect_eq(
		sh(BIN " replay %s/min.trace --json | grep -q '\"faults_total\": [1-9]'", tmpdir),
		0);
	cr_expect_eq(sh(BIN " shrink traces/nvme-4k.trace --until stale -o %s/x.trace", tmpdir), 1,
		     "nvme shows no stale window");
}

Test(replay_cli, demo_passes)
{
	char *o;

	cr_assert_eq(sh(BIN " demo"), 0);
	o = out_text();
	cr_expect(strstr(o, "vtd strict") && strstr(o, "vtd lazy"), "%s", o);
	cr_expect(strstr(o, "stale-translation windows"));
	cr_expect(!strstr(o, "FAIL"));
	free(o);
}

Test(replay_cli, demo_run_failure_exits_3)
{
	char *e;

	/* Every run of this trace fails; under ASan a leaked result fails the exit code. */
	put("q.trace", "iommusim-trace v1\niommu name=i0 vendor=vtd config=\"vtd.qi=0\"\n");
	cr_expect_eq(sh(BIN " demo --trace %s/q.trace", tmpdir), 3);
	e = err_text();
	cr_expect(strstr(e, "vtd strict: vtd.qi=0"), "stderr: %s", e);
	free(e);
}
