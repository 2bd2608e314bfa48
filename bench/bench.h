/* SPDX-License-Identifier: MIT */
/*
 * iommusim-bench: the benchmark interface.
 *
 * A benchmark is a struct bench_def. The harness (harness.c) calls setup()
 * once, then run() repeatedly with an iteration count it chooses so that one
 * repetition lasts at least --min-time, then teardown(). run() performs
 * @iterations units of work and reports what it did in @out: items (what
 * one item is, the def's 'item' string says) and bytes moved, if any.
 *
 * Registration: every benchmark is listed once in bench/benchmarks.def as
 * BENCH(sym), and defined in some bench_*.c file as
 *
 *     BENCH_REGISTER(pin_4k) = {
 *             .name = "pin.4k",
 *             .item = "one 4 KiB page pinned and unpinned",
 *             .setup = pin_setup, .run = pin_run, .teardown = pin_teardown,
 *     };
 *
 * which defines `const struct bench_def bench_pin_4k`. Names follow
 * docs/bench.md: "area.subject.variant", never reused with another meaning.
 *
 * Rules for run(): no printing, no timing of its own, return 0 or a negative
 * errno (the harness reports the failure and exits 1). Work that must not be
 * timed belongs in setup(). The same state is passed to every run() call,
 * including the calibration runs, so run() must leave it reusable.
 */
#ifndef IOMMUSIM_BENCH_H
#define IOMMUSIM_BENCH_H

#include <stdbool.h>
#include <stdint.h>

/* What the harness tells a benchmark's setup(). */
struct bench_args {
	double min_time; /* seconds one repetition lasts at least */
	unsigned repetitions; /* how many repetitions will be run */
	uint64_t seed; /* fixed seed for any randomness (default 1) */
};

/* What run() did: summed over its iterations. Rates are derived from them. */
struct bench_counters {
	uint64_t items;
	uint64_t bytes;
};

/* Flags of a bench_def. */
enum {
	/*
	 * Measure CPU time of the whole process rather than of the calling
	 * thread: for benchmarks whose run() hands work to other threads.
	 */
	BENCH_PROCESS_CPU = 1u << 0,
};

struct bench_def {
	const char *name; /* "area.subject.variant" */
	const char *item; /* what one item is, for --list and the docs */
	int (*setup)(void **state, const struct bench_args *args); /* may be NULL */
	int (*run)(void *state, uint64_t iterations, struct bench_counters *out); /* required */
	void (*teardown)(void *state); /* may be NULL */
	unsigned flags; /* BENCH_* */
};

#define BENCH_REGISTER(sym) const struct bench_def bench_##sym

/* Declarations of every registered benchmark, from benchmarks.def. */
#define BENCH(sym) extern const struct bench_def bench_##sym;
#include "benchmarks.def"
#undef BENCH

/* Keep the compiler from discarding a value a benchmark computed. */
#define BENCH_KEEP(v) __asm__ volatile("" : : "g"(v) : "memory")

#endif /* IOMMUSIM_BENCH_H */
