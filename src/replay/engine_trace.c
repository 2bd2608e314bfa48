/* SPDX-License-Identifier: MIT */
/*
 * The replay's own event trace (--trace-out): the catalogue events of the
 * stack (iommu:*, iommufd:*, hw:*) from the machine's trace context, plus
 * what only the engine knows: one record per DMA with its modelled latency.
 *
 *   ftrace text   catalogue lines as trace_flush_text() writes them, and a
 *                 "replay:dma:" line per DMA in the same layout (the
 *                 catalogue is drained before each, so the order holds);
 *   Perfetto JSON one track per device with a span per DMA (start at the
 *                 simulated time, or where the device's previous DMA ended,
 *                 duration = modelled translation latency) and, nested in
 *                 it, a span per translation that walked memory; counters
 *                 "iotlb_hit_rate" (cumulative, every 16 DMAs) and
 *                 "live_mappings" (the queue depth of outstanding mappings,
 *                 at every map, copy, unmap and IOAS destroy); catalogue
 *                 records as instants.
 *
 * A pattern naming no event or a writer that cannot start fails the run
 * (rp_trace_start returns the error): no silent fallback, no silent
 * untraced run.
 *
 * Only reached when e->tracing is set, i.e. never on the benchmark path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <iommusim/machine.h>
#include <iommusim/trace.h>

#include "replay/engine_int.h"

static const char *default_events = "iommu:*,iommufd:*,hw:walk,hw:inval_process,"
				    "hw:inval_complete,hw:fault_record,hw:checker,hw:cmd_error";

int rp_trace_start(struct engine *e)
{
	const struct replay_opts *o = e->o;
	const char *pat = o->trace_events ? o->trace_events : default_events;
	int rc;

	if (!o->trace_out || !e->m)
		return 0;
	rc = trace_enable_pattern(mach_trace(e->m), pat);
	if (rc < 0) {
		rp_err(e, "trace events '%s': %s", pat,
		       rc == -EINVAL ? "a pattern names no event (e.g. iommu:map, hw:*)"
				     : strerror(-rc));
		return rc;
	}
	if (o->trace_perfetto) {
		rc = trace_perfetto_open(o->trace_out, "iommusim replay", &e->pw);
		if (rc) {
			rp_err(e, "cannot start the Perfetto trace: %s", strerror(-rc));
			return rc;
		}
	}
	e->tracing = true;
	return 0;
}

void rp_trace_track(struct engine *e, struct rp_dev *d)
{
	if (!e->tracing || !e->pw)
		return;
	trace_perfetto_track(e->pw, d->track, d->name ? rt_str(e->t, d->name) : "linux-domain");
}

static uint64_t span_start(struct engine *e, struct rp_dev *d)
{
	uint64_t now = mach_now(e->m);

	return d->busy_until > now ? d->busy_until : now;
}

void rp_trace_xlate(struct engine *e, struct rp_dev *d, uint64_t iova, const struct hwm_xlate *x,
		    uint64_t offset_ns)
{
	e->tr_xlates++;
	if (x->cost.iotlb_hits)
		e->tr_hits++;
	if (e->pw && x->cost.mem_accesses) {
		static const char *const keys[] = { "iova", "mem_accesses", "cache_hits" };
		uint64_t v[] = { iova, x->cost.mem_accesses, x->cost.cache_hits };

		trace_perfetto_span(e->pw, "walk", "hw", d->track, span_start(e, d) + offset_ns,
				    x->cost.ns, 3, keys, v, 1);
	}
}

void rp_trace_drain(struct engine *e)
{
	if (!e->tracing)
		return;
	if (e->pw)
		trace_flush_perfetto(mach_trace(e->m), e->pw);
	else
		trace_flush_text(mach_trace(e->m), e->o->trace_out);
}

void rp_trace_dma(struct engine *e, struct rp_dev *d, uint32_t pasid, uint64_t iova, uint64_t len,
		  uint32_t access, uint64_t cost_ns, const struct hwm_xlate *fault, bool stale)
{
	static const char *const dirs[] = { "none", "read", "write", "rw" };
	uint64_t start = span_start(e, d);
	char pasid_s[12];

	e->tr_dma++;
	if (e->pw) {
		static const char *const keys[] = { "iova",	    "len",   "pasid",
						    "fault_reason", "stale", "event" };
		uint64_t v[] = { iova,		 len, pasid, fault ? fault->fault.reason : 0, stale,
				 e->ev_index + 1 };

		trace_perfetto_span(e->pw,
				    fault   ? "dma (fault)"
				    : stale ? "dma (stale)"
					    : "dma",
				    "dma", d->track, start, cost_ns ? cost_ns : 1, 6, keys, v, 1);
		d->busy_until = start + (cost_ns ? cost_ns : 1);
		if (!(e->tr_dma & 15) && e->tr_xlates)
			trace_perfetto_counter(e->pw, "iotlb_hit_rate", start,
					       (double)e->tr_hits / (double)e->tr_xlates);
		return;
	}
	if (pasid == RT_PASID_NONE)
		snprintf(pasid_s, sizeof(pasid_s), "none");
	else
		snprintf(pasid_s, sizeof(pasid_s), "%" PRIu32, pasid);
	rp_trace_drain(e);
	fprintf(e->o->trace_out,
		"%16s-%-7d [%03d] ..... %5" PRIu64 ".%06" PRIu64
		": replay:dma: dev=%s pasid=%s iova=0x%016" PRIx64 " len=%" PRIu64
		" dir=%s result=%s reason=0x%x ns=%" PRIu64 "\n",
		"iommusim", 1000, 0, (uint64_t)(start / 1000000000u),
		(uint64_t)((start / 1000u) % 1000000u), d->name ? rt_str(e->t, d->name) : "?",
		pasid_s, iova, len, dirs[access & 3],
		fault	? "fault"
		: stale ? "stale"
			: "ok",
		fault ? fault->fault.reason : 0, cost_ns);
}

void rp_trace_depth(struct engine *e)
{
	if (e->pw)
		trace_perfetto_counter(e->pw, "live_mappings", mach_now(e->m),
				       (double)e->live_maps);
}

void rp_trace_stop(struct engine *e)
{
	if (!e->tracing)
		return;
	rp_trace_drain(e);
	if (e->pw)
		trace_perfetto_close(e->pw);
	else
		fflush(e->o->trace_out);
	e->pw = NULL;
	e->tracing = false;
}
