/* SPDX-License-Identifier: MIT */
/*
 * Replay results as JSON and as tables.
 *
 * JSON layout (one object per run; a sweep is {"iommusim_sweep": 1, "jobs":
 * N, "rows": [objects]}): fixed key order, two-space indentation, integers
 * in decimal, addresses as "0x..." strings, ratios with six decimals. Every
 * key is unique inside a row, so replay_json_number() can read a row back
 * by key (sweep and merge tables are printed from the row text, which is
 * what makes `iommusim merge` of emitted jobs print the same table as the
 * sweep). Nothing host-dependent is written: no wall time, no pointer.
 *
 * No state.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>

#include "replay/engine.h"
#include "trace/json.h"

void replay_buf_free(struct replay_buf *b)
{
	fault_free(b->s);
	memset(b, 0, sizeof(*b));
}

void replay_buf_printf(struct replay_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = b->cap ? b->cap * 2 : 4096;
			char *s;

			while (cap - b->len <= (size_t)n)
				cap *= 2;
			s = fault_realloc(NULL, "replay.buf", b->s, cap);
			if (!s) {
				b->oom = true;
				return;
			}
			b->s = s;
			b->cap = cap;
		}
	}
}

static void buf_put(void *ctx, const char *s, size_t n)
{
	replay_buf_printf(ctx, "%.*s", (int)n, s);
}

static void json_escaped(struct replay_buf *b, const char *s)
{
	trace_json_escape(s, buf_put, b);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static uint64_t inval_total(const struct replay_result *r)
{
	uint64_t n = 0;

	/* The counters the model marks as requests (b = 1), not its breakdowns. */
	for (unsigned i = 0; i < r->hw.ninval; i++)
		if (r->hw.inval[i].b)
			n += r->hw.inval[i].a;
	return n;
}

int replay_result_json(const struct replay_result *r, const struct replay_row_info *info,
		       struct replay_buf *b)
{
	const struct rt_trace *t = r->trace;
	unsigned i;

	replay_buf_printf(b, "{\n  \"job\": %u,\n  \"jobs\": %u,\n", info ? info->job : 0,
			  info ? info->jobs : 1);
	replay_buf_printf(b, "  \"trace\": ");
	json_escaped(b, info && info->trace_name ? info->trace_name : "");
	replay_buf_printf(b, ",\n  \"params\": {");
	for (i = 0; info && i < info->nparams; i++) {
		replay_buf_printf(b, "%s", i ? ", " : "");
		json_escaped(b, info->param_keys[i]);
		replay_buf_printf(b, ": ");
		json_escaped(b, info->param_values[i]);
	}
	replay_buf_printf(b, "},\n  \"model\": ");
	json_escaped(b, r->model);
	replay_buf_printf(b, ",\n  \"config\": ");
	json_escaped(b, r->config);
	replay_buf_printf(b,
			  ",\n  \"seed\": %" PRIu64 ",\n  \"events\": %" PRIu64
			  ",\n  \"dma_events\": %" PRIu64 ",\n  \"dma_ok\": %" PRIu64
			  ",\n  \"dma_faulted\": %" PRIu64 ",\n  \"bytes\": %" PRIu64
			  ",\n  \"maps\": %" PRIu64 ",\n  \"unmaps\": %" PRIu64
			  ",\n  \"translations\": %" PRIu64 ",\n",
			  r->seed, r->events, r->dma_events, r->dma_ok, r->dma_faulted, r->bytes,
			  r->maps, r->unmaps, r->translations);
	replay_buf_printf(b,
			  "  \"iotlb\": {\"iotlb_hits\": %" PRIu64 ", \"iotlb_misses\": %" PRIu64
			  ", \"iotlb_fills\": %" PRIu64 ", \"iotlb_evictions\": %" PRIu64
			  ", \"iotlb_hit_rate\": %.6f},\n",
			  r->hw.hw.iotlb_hits, r->hw.hw.iotlb_misses, r->hw.hw.iotlb_fills,
			  r->hw.hw.iotlb_evictions, replay_iotlb_hit_rate(r));
	replay_buf_printf(b, "  \"caches\": {");
	for (i = 0; i < r->hw.ncaches; i++) {
		const struct replay_named *c = &r->hw.caches[i];

		replay_buf_printf(b,
				  "%s\"%s\": {\"%s_hits\": %" PRIu64 ", \"%s_misses\": %" PRIu64
				  ", \"%s_hit_rate\": %.6f}",
				  i ? ", " : "", c->name, c->name, c->a, c->name, c->b, c->name,
				  ratio(c->a, c->a + c->b));
	}
	replay_buf_printf(b,
			  "},\n  \"walks\": %" PRIu64 ",\n  \"mem_accesses\": %" PRIu64
			  ",\n  \"mem_accesses_per_translation\": %.6f,\n",
			  r->hw.hw.walks, r->mem_accesses, ratio(r->mem_accesses, r->translations));
	replay_buf_printf(b, "  \"invalidations\": {\"invalidations_total\": %" PRIu64,
			  inval_total(r));
	for (i = 0; i < r->hw.ninval; i++)
		replay_buf_printf(b, ", \"inval_%s\": %" PRIu64, r->hw.inval[i].name,
				  r->hw.inval[i].a);
	replay_buf_printf(b,
			  "},\n  \"faults\": {\"faults_total\": %" PRIu64
			  ", \"faults_unexpected\": %" PRIu64 ", \"by_reason\": [",
			  r->faults, r->unexpected_faults);
	for (i = 0; i < r->nreasons; i++) {
		replay_buf_printf(b, "%s{\"reason\": %" PRIu32 ", \"name\": ", i ? ", " : "",
				  r->reasons[i].reason);
		json_escaped(b, r->reasons[i].name ? r->reasons[i].name : "");
		replay_buf_printf(b, ", \"count\": %" PRIu64 "}", r->reasons[i].count);
	}
	replay_buf_printf(b, "]},\n  \"stale\": {\"stale_windows\": %" PRIu64 ", \"listed\": [",
			  r->stale);
	for (i = 0; i < r->nstale_list; i++) {
		const struct replay_stale *s = &r->stale_list[i];

		replay_buf_printf(b, "%s\n    {\"dev\": ", i ? "," : "");
		json_escaped(b, t ? rt_str(t, s->dev) : "");
		if (s->pasid == RT_PASID_NONE)
			replay_buf_printf(b, ", \"pasid\": null");
		else
			replay_buf_printf(b, ", \"pasid\": %" PRIu32, s->pasid);
		replay_buf_printf(b,
				  ", \"iova\": \"0x%" PRIx64 "\", \"time_ns\": %" PRIu64
				  ", \"event\": %" PRIu64 "}",
				  s->iova, s->time_ns, s->event + 1);
	}
	replay_buf_printf(b, "%s]},\n", r->nstale_list ? "\n  " : "");
	replay_buf_printf(b,
			  "  \"latency_ns\": {\"lat_mean\": %.3f, \"lat_p50\": %" PRIu64
			  ", \"lat_p90\": %" PRIu64 ", \"lat_p99\": %" PRIu64
			  ", \"lat_p999\": %" PRIu64 ", \"lat_max\": %" PRIu64 "},\n",
			  r->lat_count ? (double)r->modelled_ns / (double)r->lat_count : 0.0,
			  replay_latency_percentile(r, 50), replay_latency_percentile(r, 90),
			  replay_latency_percentile(r, 99), replay_latency_percentile(r, 99.9),
			  r->lat_max);
	replay_buf_printf(b, "  \"modelled_ns\": %" PRIu64 ",\n  \"sim_time_ns\": %" PRIu64 ",\n",
			  r->modelled_ns, r->sim_time_ns);
	replay_buf_printf(b, "  \"checker_warnings\": %" PRIu64 ",\n", r->hw.checker_warnings);
	replay_buf_printf(b, "  \"op_errors\": {\"op_errors_total\": %" PRIu64, r->op_errors);
	for (i = 0; i < RT_EV_NR_KINDS; i++)
		if (r->op_errors_by_kind[i])
			replay_buf_printf(b, ", \"err_%s\": %" PRIu64, rt_kind_name(i),
					  r->op_errors_by_kind[i]);
	replay_buf_printf(b, "},\n  \"skipped\": {\"skipped_total\": %" PRIu64, r->skipped);
	for (i = 0; i < RT_EV_NR_KINDS; i++)
		if (r->skipped_by_kind[i])
			replay_buf_printf(b, ", \"skip_%s\": %" PRIu64, rt_kind_name(i),
					  r->skipped_by_kind[i]);
	replay_buf_printf(b, "}\n}");
	return b->oom ? -ENOMEM : 0;
}

static void human_ns(char *buf, size_t n, double ns)
{
	if (ns < 10000)
		snprintf(buf, n, "%.0f ns", ns);
	else if (ns < 1e7)
		snprintf(buf, n, "%.1f us", ns / 1e3);
	else
		snprintf(buf, n, "%.2f ms", ns / 1e6);
}

void replay_result_table(const struct replay_result *r, FILE *out)
{
	char a[32], b2[32];
	unsigned i;

	fprintf(out, "model          %s\n", r->model[0] ? r->model : "(none)");
	fprintf(out, "config         %s\n", r->config[0] ? r->config : "(defaults)");
	fprintf(out,
		"events         %" PRIu64 " (%" PRIu64 " DMA: %" PRIu64 " ok, %" PRIu64
		" faulted; %" PRIu64 " maps, %" PRIu64 " unmaps)\n",
		r->events, r->dma_events, r->dma_ok, r->dma_faulted, r->maps, r->unmaps);
	fprintf(out, "translations   %" PRIu64 " (%.2f per DMA)\n", r->translations,
		ratio(r->translations, r->dma_events));
	fprintf(out,
		"IOTLB          %.2f %% hit (%" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
		" evictions)\n",
		100.0 * replay_iotlb_hit_rate(r), r->hw.hw.iotlb_hits, r->hw.hw.iotlb_misses,
		r->hw.hw.iotlb_evictions);
	for (i = 0; i < r->hw.ncaches; i++) {
		const struct replay_named *c = &r->hw.caches[i];

		if (!c->a && !c->b)
			continue;
		fprintf(out, "  %-12s %.2f %% hit (%" PRIu64 " hits, %" PRIu64 " misses)\n",
			c->name, 100.0 * ratio(c->a, c->a + c->b), c->a, c->b);
	}
	fprintf(out, "memory         %.3f accesses per translation (%" PRIu64 " walks)\n",
		ratio(r->mem_accesses, r->translations), r->hw.hw.walks);
	fprintf(out, "invalidations  %" PRIu64 "\n", inval_total(r));
	for (i = 0; i < r->hw.ninval; i++)
		if (r->hw.inval[i].a)
			fprintf(out, "  %-12s %" PRIu64 "\n", r->hw.inval[i].name,
				r->hw.inval[i].a);
	fprintf(out, "faults         %" PRIu64 " (%" PRIu64 " where the reference had a mapping)\n",
		r->faults, r->unexpected_faults);
	for (i = 0; i < r->nreasons; i++)
		fprintf(out, "  0x%-4x %-24s %" PRIu64 "\n", r->reasons[i].reason,
			r->reasons[i].name ? r->reasons[i].name : "", r->reasons[i].count);
	fprintf(out, "stale windows  %" PRIu64 "\n", r->stale);
	for (i = 0; i < r->nstale_list && i < 10; i++) {
		const struct replay_stale *s = &r->stale_list[i];

		fprintf(out, "  %-10s iova 0x%" PRIx64 " at %" PRIu64 " ns (event %" PRIu64 ")\n",
			r->trace ? rt_str(r->trace, s->dev) : "?", s->iova, s->time_ns,
			s->event + 1);
	}
	if (r->stale > 10)
		fprintf(out, "  ... (%" PRIu64 " more; --json lists up to stale.list)\n",
			r->stale - 10);
	human_ns(a, sizeof(a), r->lat_count ? (double)r->modelled_ns / (double)r->lat_count : 0);
	fprintf(out, "DMA latency    mean %s", a);
	human_ns(a, sizeof(a), (double)replay_latency_percentile(r, 50));
	human_ns(b2, sizeof(b2), (double)replay_latency_percentile(r, 99));
	fprintf(out, ", p50 %s, p99 %s", a, b2);
	human_ns(a, sizeof(a), (double)r->lat_max);
	fprintf(out, ", max %s (modelled)\n", a);
	if (r->hw.checker_warnings)
		fprintf(out, "checker        %" PRIu64 " warnings\n", r->hw.checker_warnings);
	if (r->op_errors) {
		fprintf(out, "refused ops    %" PRIu64 " (first: event %" PRIu64 ", %s)\n",
			r->op_errors, r->first_op_error_event + 1, strerror(-r->first_op_error));
		for (i = 0; i < RT_EV_NR_KINDS; i++)
			if (r->op_errors_by_kind[i])
				fprintf(out, "  %-12s %" PRIu64 "\n", rt_kind_name(i),
					r->op_errors_by_kind[i]);
	}
	if (r->skipped)
		fprintf(out, "skipped        %" PRIu64 " events the engine cannot replay yet\n",
			r->skipped);
	human_ns(a, sizeof(a), (double)r->sim_time_ns);
	fprintf(out, "simulated time %s; wall time %.3f s (%.2f M DMA/s)\n", a,
		(double)r->wall_ns / 1e9,
		r->wall_ns ? (double)r->dma_events / ((double)r->wall_ns / 1e3) : 0.0);
}

/* ------------------------------------------------------------ reading rows back */

static const char *json_key(const char *row, const char *key)
{
	size_t n = strlen(key);
	const char *p = row;

	while ((p = strchr(p, '"'))) {
		if (!strncmp(p + 1, key, n) && p[n + 1] == '"' && p[n + 2] == ':')
			return p + n + 3;
		p++;
	}
	return NULL;
}

bool replay_json_number(const char *row, const char *key, double *out)
{
	const char *p = json_key(row, key);
	char *end;

	if (!p)
		return false;
	while (*p == ' ')
		p++;
	*out = strtod(p, &end);
	return end != p;
}

bool replay_json_string(const char *row, const char *key, char *buf, size_t len)
{
	const char *p = json_key(row, key);
	size_t n = 0;

	if (!p)
		return false;
	while (*p == ' ')
		p++;
	if (*p != '"')
		return false;
	for (p++; *p && *p != '"' && n + 1 < len; p++) {
		if (*p == '\\' && p[1])
			p++;
		buf[n++] = *p;
	}
	buf[n] = 0;
	return true;
}

void replay_sweep_json(const char *const *rows, unsigned n, FILE *out)
{
	fprintf(out, "{\"iommusim_sweep\": 1, \"jobs\": %u, \"rows\": [\n", n);
	for (unsigned i = 0; i < n; i++)
		fprintf(out, "%s%s", rows[i], i + 1 < n ? ",\n" : "\n");
	fprintf(out, "]}\n");
}

/* The "params" object of a row, as "k=v k=v". */
static void row_params(const char *row, char *buf, size_t len)
{
	const char *p = strstr(row, "\"params\": {"), *end;
	size_t o = 0;

	buf[0] = 0;
	if (!p)
		return;
	p += strlen("\"params\": {");
	end = strchr(p, '}');
	while (p && p < end && o + 1 < len) {
		if (*p == '"') {
			p++;
			continue;
		}
		if (*p == ':') {
			buf[o++] = '=';
			p++;
			while (*p == ' ')
				p++;
			continue;
		}
		if (*p == ',') {
			buf[o++] = ' ';
			p += 2;
			continue;
		}
		buf[o++] = *p++;
	}
	buf[o] = 0;
}

void replay_sweep_table(const char *const *rows, unsigned n, FILE *out)
{
	char params[256], model[32];

	fprintf(out, "%-4s %-28s %-6s %9s %8s %8s %8s %7s %9s %9s\n", "job", "parameters", "model",
		"IOTLB hit", "acc/xlt", "invals", "stale", "faults", "lat p50", "lat p99");
	for (unsigned i = 0; i < n; i++) {
		double job = 0, hit = 0, acc = 0, inv = 0, stale = 0, faults = 0, p50 = 0, p99 = 0;

		replay_json_number(rows[i], "job", &job);
		replay_json_number(rows[i], "iotlb_hit_rate", &hit);
		replay_json_number(rows[i], "mem_accesses_per_translation", &acc);
		replay_json_number(rows[i], "invalidations_total", &inv);
		replay_json_number(rows[i], "stale_windows", &stale);
		replay_json_number(rows[i], "faults_total", &faults);
		replay_json_number(rows[i], "lat_p50", &p50);
		replay_json_number(rows[i], "lat_p99", &p99);
		row_params(rows[i], params, sizeof(params));
		if (!replay_json_string(rows[i], "model", model, sizeof(model)))
			model[0] = 0;
		fprintf(out,
			"%-4.0f %-28s %-6s %8.2f%% %8.3f %8.0f %8.0f %7.0f %6.0f ns %6.0f ns\n",
			job, params[0] ? params : "-", model, 100.0 * hit, acc, inv, stale, faults,
			p50, p99);
	}
}
