/* SPDX-License-Identifier: MIT */
/*
 * Importer for trace-cmd's binary trace.dat, through libtracecmd.
 *
 * Data structure. One growing text buffer (struct tdr.buf). libtracecmd
 * walks the file's per-CPU buffers merged in time order; every record of an
 * iommu:* or dma:* event is rendered as one ftrace text line
 *
 *   COMM-PID [CPU] SEC.NSEC: SYSTEM:EVENT: PAYLOAD
 *
 * where PAYLOAD is the event's own TP_printk format evaluated by
 * libtraceevent, exactly what `trace-cmd report -t` prints. The whole buffer
 * then goes through rt_linux_read(), the one parser of that text: a
 * trace.dat and its report text cannot give different traces, because there
 * is only one place that turns payloads into events. Records of other
 * events are dropped before rendering and are not counted in the stats.
 *
 * Invariants: buf[0..len) holds whole lines, each ending in '\n'; cap > len
 * whenever buf is non-NULL.
 *
 * Without libtracecmd (IOMMUSIM_HAVE_LIBTRACECMD undefined) the reader only
 * reports -EOPNOTSUPP, so format detection still names the format.
 *
 * Locking: none; all state lives in the call.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <iommusim/fault.h>

#include "rt_schema.h"

#ifdef IOMMUSIM_HAVE_LIBTRACECMD
#include <event-parse.h>
#include <trace-cmd.h>
#include <trace-seq.h>

struct tdr {
	struct tep_handle *tep;
	struct fault_ctx *fc;
	char *buf;
	size_t len, cap;
	int ret;
};

static int buf_put(struct tdr *r, const char *s, size_t n)
{
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 1 << 16;
		char *nb;

		while (r->len + n + 1 > cap)
			cap *= 2;
		nb = fault_realloc(r->fc, "replay.tracedat_buf", r->buf, cap);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	return 0;
}

static int wanted(const struct tep_event *ev)
{
	return ev && ev->system && (!strcmp(ev->system, "iommu") || !strcmp(ev->system, "dma"));
}

static int one_record(struct tracecmd_input *h, struct tep_record *rec, int cpu, void *data)
{
	struct tdr *r = data;
	struct tep_event *ev = tep_find_event_by_record(r->tep, rec);
	struct trace_seq s;
	unsigned long long ts = rec->ts;
	int ret;

	if (!wanted(ev))
		return 0;
	trace_seq_init(&s);
	tep_print_event(r->tep, &s, rec, "%s-%d [%03d] ", TEP_PRINT_COMM, TEP_PRINT_PID,
			TEP_PRINT_CPU);
	trace_seq_printf(&s, "%llu.%09llu: %s:%s: ", ts / 1000000000ull, ts % 1000000000ull,
			 ev->system, ev->name);
	tep_print_event(r->tep, &s, rec, "%s", TEP_PRINT_INFO);
	trace_seq_putc(&s, '\n');
	trace_seq_terminate(&s);
	if (s.state != TRACE_SEQ__GOOD) {
		ret = s.state == TRACE_SEQ__MEM_ALLOC_FAILED ? -ENOMEM : -EIO;
	} else {
		/* a payload with a newline in it would split into two lines: flatten it */
		for (unsigned i = 0; i + 1 < s.len; i++)
			if (s.buffer[i] == '\n')
				s.buffer[i] = ' ';
		ret = buf_put(r, s.buffer, s.len);
	}
	trace_seq_destroy(&s);
	if (ret) {
		r->ret = ret;
		return 1; /* stop iterating */
	}
	return 0;
}

int rt_tracedat_read(const char *path, const struct rt_read_opts *opts, struct rt_trace *out,
		     struct rt_linux_stats *stats, struct rt_error *err)
{
	struct rt_read_opts o = opts ? *opts : (struct rt_read_opts){ 0 };
	struct tdr r = { .fc = out->fc };
	struct tracecmd_input *h;
	struct rt_error dummy;
	int ret;

	if (!err)
		err = &dummy;
	if (!o.name)
		o.name = path;
	memset(err, 0, sizeof(*err));
	if (!strcmp(path, "-")) {
		rt_err_set(err, &o, -EOPNOTSUPP, 0, NULL,
			   "trace.dat cannot be read from standard input: give a file name");
		return -EOPNOTSUPP;
	}
	/* trace-cmd's own diagnostics go to stderr; the library never prints */
	tracecmd_set_loglevel(TEP_LOG_NONE);
	/* errno after a failed tracecmd_open() is not reliable: check access first */
	if (access(path, R_OK)) {
		ret = -errno;
		rt_err_set(err, &o, ret, 0, NULL, "cannot read: %s", strerror(-ret));
		return ret;
	}
	h = tracecmd_open(path, 0);
	if (!h) {
		rt_err_set(err, &o, -EINVAL, 0, NULL,
			   "libtracecmd cannot open this trace.dat (corrupt or unsupported)");
		return -EINVAL;
	}
	r.tep = tracecmd_get_tep(h);
	if (tracecmd_iterate_events(h, NULL, 0, one_record, &r) < 0 && !r.ret)
		r.ret = -EIO;
	tracecmd_close(h);
	if (r.ret) {
		fault_free(r.buf);
		rt_err_set(err, &o, r.ret, 0, NULL, "reading trace.dat records: %s",
			   strerror(-r.ret));
		return r.ret;
	}
	ret = rt_linux_read(r.buf ? r.buf : "", r.len, &o, out, stats, err);
	fault_free(r.buf);
	return ret;
}

bool rt_tracedat_supported(void)
{
	return true;
}

#else /* !IOMMUSIM_HAVE_LIBTRACECMD */

int rt_tracedat_read(const char *path, const struct rt_read_opts *opts, struct rt_trace *out,
		     struct rt_linux_stats *stats, struct rt_error *err)
{
	struct rt_read_opts o = opts ? *opts : (struct rt_read_opts){ 0 };
	struct rt_error dummy;

	if (!err)
		err = &dummy;
	if (!o.name)
		o.name = path;
	memset(err, 0, sizeof(*err));
	if (stats)
		memset(stats, 0, sizeof(*stats));
	rt_err_set(err, &o, -EOPNOTSUPP, 0, NULL,
		   "trace-cmd trace.dat needs libtracecmd (not in this build): "
		   "convert it with `trace-cmd report -t` and read the text");
	return -EOPNOTSUPP;
}

bool rt_tracedat_supported(void)
{
	return false;
}

#endif
