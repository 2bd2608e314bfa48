/* SPDX-License-Identifier: MIT */
/*
 * The replay engine: run a trace (iommusim/replay_trace.h) on a chosen IOMMU
 * model and configuration and measure what the hardware and the driver did.
 *
 * Configuration. Everything is set from `key=value` text, the same text the
 * trace's `iommu ... config="..."` field and the shim read:
 *   - engine and driver keys, vendor-neutral: `inval=strict|lazy`,
 *     `fq.size`, `fq.timeout_ns`, `pgsize=4k|2m|1g`, `seed`, `mem`,
 *     `stale.list`;
 *   - model keys, prefixed with the model name (`vtd.iotlb=64x8`), from the
 *     model's knob table (src/replay/config_<model>.c). A model is one
 *     struct replay_model: a knob table over its configuration structure
 *     plus the hooks that bring the hardware and its driver up. Adding a
 *     vendor is one table file and one line in src/replay/config_models.h;
 *     the engine does not change.
 * Unknown keys, out-of-range values and keys of an unknown model are errors
 * (-EINVAL with a message naming the key).
 *
 * Running. replay_run() builds a private machine (struct mach) for the
 * trace, so runs share nothing and may go on many threads at once; the trace
 * itself is only read. Native events go through the iommufd uAPI
 * (iommufd_ioctl) of one context; Linux-derived events (iommu:map/unmap,
 * dma:*) drive one paging domain of the iommu core directly, shared by the
 * trace's devices (see docs/replay.md). A DMA is translated page by page
 * through the device's IOMMU (plat_dev_translate); data is not moved: the
 * replay measures translation, not copying.
 *
 * Stale-translation windows. The engine keeps its own reference map of the
 * live mappings of each IOAS (and of the Linux domain). A translation that
 * succeeds for an IOVA the reference says is not mapped was served from a
 * cached translation of a mapping that is gone: a stale window, counted and
 * listed (device, PASID, IOVA, simulated time, event index).
 *
 * Determinism: the result depends only on the trace, the configuration and
 * the seed. replay_result_json() prints no pointer, wall time or host value;
 * the wall time is in the result for the human table only.
 *
 * The library never prints: writers take the caller's FILE or buffer.
 */
#ifndef IOMMUSIM_REPLAY_H
#define IOMMUSIM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <iommusim/hw.h>
#include <iommusim/replay_trace.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mach;
struct plat_iommu;
struct plat_dev;
struct iommu_dev;

/* ------------------------------------------------------------ knobs */

enum replay_knob_type {
	REPLAY_KNOB_BOOL, /* 0/1, true/false, on/off, yes/no */
	REPLAY_KNOB_U8, /* numbers in [min, max]; decimal or 0x hex, K/M/G suffixes */
	REPLAY_KNOB_U16,
	REPLAY_KNOB_U32,
	REPLAY_KNOB_U64,
	REPLAY_KNOB_GEOM, /* struct hwm_cache_geom: "SETSxWAYS[:lru|rr|random]" or "ENTRIES" */
	REPLAY_KNOB_ENUM, /* a uint32_t holding the index of one of @names */
	REPLAY_KNOB_CUSTOM, /* parse / format hooks */
};

struct replay_knob {
	const char *key; /* full key, "vtd.iotlb" */
	enum replay_knob_type type;
	size_t off; /* offset of the field in the configuration structure */
	uint64_t min, max; /* numbers: inclusive range */
	const char *const *names; /* ENUM: value names, NULL-terminated */
	/* CUSTOM: parse @val into @cfg (0 or -EINVAL with @err), and print the value. */
	int (*parse)(void *cfg, const char *val, char *err, size_t errlen);
	void (*format)(const void *cfg, char *buf, size_t len);
	const char *range; /* CUSTOM: the range as `info` shows it */
	const char *help;
};

/* ------------------------------------------------------------ models */

/* Vendor-neutral driver and engine settings (the keys without a model prefix). */
enum replay_pgsize { REPLAY_PGSIZE_1G = 0, REPLAY_PGSIZE_2M = 1, REPLAY_PGSIZE_4K = 2 };

struct replay_settings {
	uint32_t lazy; /* ENUM strict(0) / lazy(1) invalidation */
	uint32_t fq_size; /* lazy flush-queue entries */
	uint64_t fq_timeout_ns; /* lazy flush-queue timeout, simulated ns */
	uint32_t pgsize; /* enum replay_pgsize: the largest page size the driver may use */
	uint64_t seed; /* machine seed and the model's replacement seed */
	uint64_t mem; /* machine memory in bytes; 0 = the trace's (default 4 GiB) */
	uint32_t stale_list; /* stale windows listed in the result (all are counted) */
};

/* What a model reports after a run: generic counters plus named extras. */
#define REPLAY_MAX_NAMED 16

struct replay_named {
	const char *name; /* static */
	uint64_t a, b; /* caches: hits, misses; invalidations: count, 1 if it counts in
			     the total (a request, not a breakdown of one) */
};

struct replay_unit_stats {
	struct hwm_stats hw;
	struct replay_named caches[REPLAY_MAX_NAMED]; /* walk / context / device-TLB caches */
	unsigned ncaches;
	struct replay_named inval[REPLAY_MAX_NAMED]; /* invalidations by kind */
	unsigned ninval;
	uint64_t checker_warnings;
};

/* One brought-up IOMMU: the platform instance and the model's driver. */
struct replay_unit_hw {
	struct plat_iommu *pi;
	void *drv;
};

struct replay_model {
	const char *name; /* key prefix and trace vendor name: "vtd" */
	enum hwm_vendor vendor;
	const char *description;
	const char *features; /* one line: what the model implements */
	size_t cfg_size; /* bytes of its configuration structure */
	const struct replay_knob *knobs;
	size_t nknobs;
	const char *iotlb_key; /* the knob `--iotlb` sweeps */
	const char *checker_key; /* the knob that turns the protocol checker on, or NULL */
	void (*cfg_default)(void *cfg);
	/* Apply the vendor-neutral settings (page-size policy, seed); check consistency. */
	int (*cfg_finish)(void *cfg, const struct replay_settings *s, char *err, size_t errlen);
	/* Bring up hardware + driver on @m; tear down; endpoints. */
	int (*unit_create)(struct mach *m, const void *cfg, const struct replay_settings *s,
			   struct replay_unit_hw *out);
	void (*unit_destroy)(struct replay_unit_hw *u);
	int (*probe_device)(struct replay_unit_hw *u, struct plat_dev *pd, struct iommu_dev **out);
	void (*release_device)(struct iommu_dev *dev);
	void (*unit_stats)(struct replay_unit_hw *u, struct replay_unit_stats *out);
	/* Short static name of a fault reason code, or NULL. */
	const char *(*fault_reason_name)(uint32_t reason);
	/* Static name of checker rule @i, or NULL past the last (for `--until checker:RULE`). */
	const char *(*checker_rule_name)(unsigned i);
	/* Findings of rule @i so far. */
	uint64_t (*checker_count)(struct replay_unit_hw *u, unsigned i);
};

/* Every model compiled in, in a fixed order. */
const struct replay_model *const *replay_models(size_t *n);
const struct replay_model *replay_model_find(const char *name);
/* The engine keys (no prefix) over struct replay_settings. */
const struct replay_knob *replay_engine_knobs(size_t *n);
void replay_settings_default(struct replay_settings *s);

/*
 * Parse one knob value into @cfg (a model configuration or struct
 * replay_settings); format one back (`info`, the canonical config string).
 */
int replay_knob_parse(const struct replay_knob *k, void *cfg, const char *val, char *err,
		      size_t errlen);
void replay_knob_format(const struct replay_knob *k, const void *cfg, char *buf, size_t len);
/* Range text of a knob ("1..256", "strict|lazy", "SETSxWAYS..."). */
void replay_knob_range(const struct replay_knob *k, char *buf, size_t len);

/* ------------------------------------------------------------ configuration */

/*
 * A run's configuration: the model override and the settings text. The
 * settings apply after the trace's own `config` text of each IOMMU instance,
 * in order (a later key wins).
 */
struct replay_config {
	const struct replay_model *model; /* NULL: each instance's vendor from the trace */
	char *settings; /* "key=value ..." (owned), or NULL */
	bool data; /* reserved: move data as well (not implemented) */
};

void replay_config_init(struct replay_config *c);
void replay_config_free(struct replay_config *c);
/*
 * Append `key=value ...` text: each key is checked now (unknown keys,
 * unknown models and bad values are -EINVAL with @err filled).
 */
int replay_config_set(struct replay_config *c, const char *text, char *err, size_t errlen);
int replay_config_copy(struct replay_config *dst, const struct replay_config *src);

/*
 * Check @text against every model and the engine keys without keeping it:
 * 0 or -EINVAL with @err ("vtd.iotlbx: unknown key").
 */
int replay_config_check(const char *text, char *err, size_t errlen);

/* ------------------------------------------------------------ results */

#define REPLAY_MAX_REASONS 32

struct replay_stale {
	uint32_t dev; /* string id in the trace (device name) */
	uint32_t pasid; /* RT_PASID_NONE: the RID */
	uint64_t iova;
	uint64_t time_ns;
	uint64_t event; /* index of the DMA event in the trace */
};

struct replay_reason {
	uint32_t reason;
	const char *name; /* static, or NULL */
	uint64_t count;
};

#define REPLAY_LAT_BUCKETS 2048

struct replay_result {
	/* What ran */
	char model[16]; /* the first unit's model name */
	char config[1024]; /* the effective settings of the first unit, canonical */
	uint64_t seed;
	/* Events */
	uint64_t events, dma_events, dma_ok, dma_faulted;
	uint64_t translations, bytes;
	uint64_t maps, unmaps;
	/* Hardware (summed over units) */
	struct replay_unit_stats hw;
	uint64_t mem_accesses; /* summed over the engine's translations (cost model) */
	uint64_t modelled_ns; /* summed modelled translation latency */
	/* Faults (DMA translations that faulted), by vendor reason code */
	uint64_t faults, unexpected_faults; /* unexpected: the reference map had it mapped */
	struct replay_reason reasons[REPLAY_MAX_REASONS];
	unsigned nreasons;
	/* Stale windows */
	uint64_t stale;
	struct replay_stale *stale_list; /* first replay_settings.stale_list of them */
	uint32_t nstale_list;
	uint64_t first_stale_event, first_fault_event; /* UINT64_MAX: none */
	/* Operations the stack refused, and events the engine cannot replay */
	uint64_t op_errors, op_errors_by_kind[RT_EV_NR_KINDS];
	uint64_t skipped, skipped_by_kind[RT_EV_NR_KINDS];
	int first_op_error; /* negative errno of the first refused operation */
	uint64_t first_op_error_event;
	/* Modelled DMA latency: histogram of per-DMA ns (log-linear buckets) */
	uint64_t lat_hist[REPLAY_LAT_BUCKETS];
	uint64_t lat_max, lat_count;
	uint64_t sim_time_ns;
	/* Checker rule counts of the first unit (for shrink) */
	uint64_t checker_rules[32];
	unsigned nchecker_rules;
	/* Host wall time of the run: human table only, never JSON */
	uint64_t wall_ns;
	/* For the JSON: the trace's string table (device names) at run time */
	const struct rt_trace *trace;
};

void replay_result_free(struct replay_result *r);
/* Latency percentile @p in [0, 100] of the histogram, in ns (bucket lower bound). */
uint64_t replay_latency_percentile(const struct replay_result *r, double p);
double replay_iotlb_hit_rate(const struct replay_result *r);

/* ------------------------------------------------------------ running */

#define REPLAY_STOP_FAULT (1u << 0)
#define REPLAY_STOP_STALE (1u << 1)

/* Called every so many events; return non-zero to stop (the run returns -ECANCELED). */
typedef int (*replay_progress_fn)(void *arg, uint64_t done, uint64_t total);

struct replay_opts {
	replay_progress_fn progress;
	void *progress_arg;
	/* Own event trace: catalogue events (ftrace text, or Perfetto JSON with spans). */
	FILE *trace_out;
	bool trace_perfetto;
	const char *trace_events; /* pattern for trace_enable_pattern(); NULL: a default set */
	/* Stop after the first event showing these (REPLAY_STOP_*; shrink). */
	unsigned stop_at;
};

/*
 * Run @t. Returns 0 (the result is filled even when operations were refused:
 * see op_errors), -EINVAL for a configuration the model rejects (with @err),
 * -ENOMEM, -ECANCELED.
 */
int replay_run(const struct rt_trace *t, const struct replay_config *c, const struct replay_opts *o,
	       struct replay_result *res, char *err, size_t errlen);

/* ------------------------------------------------------------ output */

/* A growable string (the JSON writers build rows in memory). */
struct replay_buf {
	char *s;
	size_t len, cap;
	bool oom;
};
void replay_buf_free(struct replay_buf *b);
void replay_buf_printf(struct replay_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Identifies one row of a sweep (job index, the swept parameters). */
struct replay_row_info {
	const char *trace_name;
	unsigned job, jobs;
	unsigned nparams;
	const char *const *param_keys;
	const char *const *param_values;
};

/* The result as one JSON object (no trailing newline). Deterministic. */
int replay_result_json(const struct replay_result *r, const struct replay_row_info *info,
		       struct replay_buf *out);
/* The human-readable report of one run. */
void replay_result_table(const struct replay_result *r, FILE *out);

/*
 * Sweep documents: rows are the JSON objects of replay_result_json(), in job
 * order. Writes {"iommusim_sweep": 1, "jobs": N, "rows": [...]}.
 */
void replay_sweep_json(const char *const *rows, unsigned n, FILE *out);
/* One line per row: the parameters and the headline metrics, read back from the JSON. */
void replay_sweep_table(const char *const *rows, unsigned n, FILE *out);
/* A number field of a row ("iotlb_hit_rate"); false when absent. */
bool replay_json_number(const char *row, const char *key, double *out);
/* A string field of a row ("model"); copies at most @len - 1 bytes. */
bool replay_json_string(const char *row, const char *key, char *buf, size_t len);

/* ------------------------------------------------------------ sweeps */

#define REPLAY_MAX_AXES 8

struct replay_axis {
	char *key; /* "vtd.iotlb" */
	char **values; /* "64x8", ... */
	unsigned nvalues;
};

struct replay_sweep {
	struct replay_axis axes[REPLAY_MAX_AXES];
	unsigned naxes;
};

void replay_sweep_init(struct replay_sweep *s);
void replay_sweep_free(struct replay_sweep *s);
/* Add an axis "key=v1,v2,...": values are checked against the key now. */
int replay_sweep_add(struct replay_sweep *s, const char *key_values, char *err, size_t errlen);
/* Number of configurations (the product of the axes' lengths; 1 with no axes). */
unsigned replay_sweep_jobs(const struct replay_sweep *s);
/* The values of job @j, one per axis (the last axis varies fastest). */
void replay_sweep_job(const struct replay_sweep *s, unsigned j, const char **values);
/* @base + the settings of job @j. */
int replay_sweep_config(const struct replay_sweep *s, unsigned j, const struct replay_config *base,
			struct replay_config *out, char *err, size_t errlen);

/*
 * Run the jobs @first..@first+@count-1 of @s on @threads threads (0: all
 * cores), one machine each. rows[i] gets job first+i's JSON (malloc'd; the
 * caller frees). Returns 0 or the first failing job's error (@err names it).
 */
int replay_sweep_run(const struct rt_trace *t, const char *trace_name,
		     const struct replay_config *base, const struct replay_sweep *s, unsigned first,
		     unsigned count, unsigned threads, char **rows, char *err, size_t errlen);

/* ------------------------------------------------------------ shrink */

enum replay_cond {
	REPLAY_COND_FAULT, /* a DMA fault (detail: vendor reason code) */
	REPLAY_COND_STALE, /* a stale-translation window (detail: device name) */
	REPLAY_COND_CHECKER, /* a protocol-checker finding (detail: rule name) */
	REPLAY_COND_CRASH, /* the replay crashes or fails internally (runs in a child) */
};

struct replay_until {
	enum replay_cond cond;
	char detail[64]; /* "" = any */
};

/* "fault", "fault:6", "stale", "checker:stale_iotlb", "crash". 0 or -EINVAL. */
int replay_until_parse(const char *s, struct replay_until *out, char *err, size_t errlen);

/* Whether one run of @t shows @u. 1 yes, 0 no, negative errno. */
int replay_until_check(const struct rt_trace *t, const struct replay_config *c,
		       const struct replay_until *u);

struct replay_shrink_stats {
	uint64_t tests; /* replays run */
	size_t before, after; /* events */
};

/*
 * Delta debugging (ddmin over events; an lx_sg parent and its entries move
 * together): @out receives a trace 1-minimal in its event groups that still
 * shows @u. -ENOENT when @t does not show it at all.
 */
int replay_shrink(const struct rt_trace *t, const struct replay_config *c,
		  const struct replay_until *u, struct rt_trace *out,
		  struct replay_shrink_stats *st);

#ifdef __cplusplus
}
#endif
#endif /* IOMMUSIM_REPLAY_H */
