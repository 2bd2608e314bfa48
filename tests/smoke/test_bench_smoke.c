/* SPDX-License-Identifier: MIT */
/*
 * Smoke tests of iommusim-bench: the program starts, lists its benchmarks,
 * runs one briefly with JSON output, and rejects unknown names with exit 2.
 * Nothing here checks timings: benchmarks never run as timing tests.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define BENCH_PROG IOMMUSIM_BINARY_DIR "/iommusim-bench"

/* Run @cmd, capture stdout (malloc'd, NUL-terminated) and the exit status. */
static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0, cap = 4096;
	char *out = malloc(cap);
	size_t n;
	int st;

	cr_assert_not_null(p, "popen(%s)", cmd);
	cr_assert_not_null(out);
	while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len - 1 == 0) {
			cap *= 2;
			out = realloc(out, cap);
			cr_assert_not_null(out);
		}
	}
	out[len] = '\0';
	st = pclose(p);
	cr_assert(WIFEXITED(st), "%s: did not exit normally (status 0x%x)", cmd, st);
	*status = WEXITSTATUS(st);
	return out;
}

Test(bench_smoke, list)
{
	int status;
	char *out = run(BENCH_PROG " --list", &status);

	cr_assert_eq(status, 0, "--list exit %d", status);
	cr_assert_not_null(strstr(out, "trace.emit.off"), "--list output:\n%s", out);
	cr_assert_not_null(strstr(out, "trace.emit.on"), "--list output:\n%s", out);
	free(out);
}

Test(bench_smoke, json_run)
{
	int status;
	char *out = run(BENCH_PROG " trace.emit.off --json --min-time 0.01", &status);
	const char *b;

	cr_assert_eq(status, 0, "exit %d, output:\n%s", status, out);
	cr_assert_eq(out[0], '{', "output:\n%s", out);
	cr_assert_not_null(strstr(out, "\"context\""));
	b = strstr(out, "\"benchmarks\"");
	cr_assert_not_null(b, "output:\n%s", out);
	cr_assert_not_null(strstr(b, "\"name\": \"trace.emit.off\""), "output:\n%s", out);
	cr_assert_not_null(strstr(b, "\"run_type\": \"iteration\""));
	cr_assert_not_null(strstr(b, "\"time_unit\": \"ns\""));
	cr_assert_not_null(strstr(b, "\"items_per_second\""));
	cr_assert_null(strstr(b, "trace.emit.on"), "only the named benchmark runs");
	/* Balanced braces: a minimal well-formedness check. */
	int depth = 0;

	for (const char *c = out; *c; c++) {
		depth += *c == '{' || *c == '[';
		depth -= *c == '}' || *c == ']';
		cr_assert_geq(depth, 0);
	}
	cr_assert_eq(depth, 0);
	free(out);
}

/* The number after "@key": in the JSON entry named @name (asserts both exist). */
static double json_field(const char *out, const char *name, const char *key)
{
	char pat[128];
	const char *e, *f;

	snprintf(pat, sizeof(pat), "\"name\": \"%s\"", name);
	e = strstr(out, pat);
	cr_assert_not_null(e, "no entry %s in:\n%s", name, out);
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	f = strstr(e, pat);
	cr_assert_not_null(f, "no %s after %s", key, name);
	return strtod(f + strlen(pat), NULL);
}

Test(bench_smoke, repetitions_give_aggregates)
{
	int status;
	char *out =
		run(BENCH_PROG " 'trace.emit.o*' --json --min-time 0.005 --repetitions 3", &status);

	cr_assert_eq(status, 0, "exit %d, output:\n%s", status, out);
	cr_assert_not_null(strstr(out, "\"aggregate_name\": \"median\""));
	cr_assert_not_null(strstr(out, "\"aggregate_name\": \"p99\""));
	cr_assert_not_null(strstr(out, "\"aggregate_name\": \"mean\""));
	cr_assert_not_null(strstr(out, "\"name\": \"trace.emit.on_median\""));
	/* best: the fastest repetition, so no slower than the median, and a rate no lower */
	cr_assert_leq(json_field(out, "trace.emit.on_best", "real_time"),
		      json_field(out, "trace.emit.on_median", "real_time"));
	cr_assert_geq(json_field(out, "trace.emit.on_best", "items_per_second"),
		      json_field(out, "trace.emit.on_median", "items_per_second"));
	cr_assert_gt(json_field(out, "trace.emit.on_best", "real_time"), 0);
	free(out);
}

Test(bench_smoke, usage_errors_exit_2)
{
	int status;
	char *out;

	out = run(BENCH_PROG " no.such.benchmark 2>/dev/null", &status);
	cr_assert_eq(status, 2);
	free(out);
	out = run(BENCH_PROG " --no-such-option 2>/dev/null", &status);
	cr_assert_eq(status, 2);
	free(out);
	out = run(BENCH_PROG " --min-time zero 2>/dev/null", &status);
	cr_assert_eq(status, 2);
	free(out);
	out = run(BENCH_PROG " --help", &status);
	cr_assert_eq(status, 0);
	cr_assert_not_null(strstr(out, "Exit status"));
	free(out);
}

#define COMPARE_PROG IOMMUSIM_SOURCE_DIR "/scripts/bench-compare.sh"

/* scripts/bench-compare.sh: two builds (here the same one) in alternating rounds */
Test(bench_smoke, compare_script)
{
	int status;
	char *out;

	out = run(COMPARE_PROG " --rounds 2 --repetitions 2 --min-time 0.01 " BENCH_PROG
			       " " BENCH_PROG " trace.emit.off",
		  &status);
	cr_assert_eq(status, 0, "exit %d, output:\n%s", status, out);
	cr_assert_not_null(strstr(out, "2 alternating rounds"), "output:\n%s", out);
	cr_assert_not_null(strstr(out, "trace.emit.off\n"), "output:\n%s", out);
	cr_assert_not_null(strstr(out, "  A median middle "), "output:\n%s", out);
	cr_assert_not_null(strstr(out, "  B best   middle "), "output:\n%s", out);
	free(out);
	/* usage errors exit 2; a benchmark that fails to run exits 1 */
	out = run(COMPARE_PROG " " BENCH_PROG " 2>/dev/null", &status);
	cr_assert_eq(status, 2);
	free(out);
	out = run(COMPARE_PROG " --rounds 0 " BENCH_PROG " " BENCH_PROG " 2>/dev/null", &status);
	cr_assert_eq(status, 2);
	free(out);
	out = run(COMPARE_PROG " " BENCH_PROG " /no/such/bench 2>/dev/null", &status);
	cr_assert_eq(status, 2);
	free(out);
	out = run(COMPARE_PROG " --rounds 1 " BENCH_PROG " " BENCH_PROG
			       " no.such.benchmark 2>/dev/null",
		  &status);
	cr_assert_eq(status, 1);
	free(out);
}
