/* SPDX-License-Identifier: MIT */
/*
 * The Chrome/Perfetto JSON sink (the Trace Event Format that ui.perfetto.dev
 * and chrome://tracing load): {"displayTimeUnit": "ns", "traceEvents": [...]}.
 *
 * Driven from the catalogue: an event's name, field names and field types
 * come from its TRACE_EVENT declaration. The type of field i is the
 * conversion of the i-th % directive of the format: s -> a JSON string
 * (the field carries a pointer to a static string), x/X/p -> a "0x..."
 * string (addresses are easier to read in hex and exceed 2^53), anything
 * else -> a JSON number (d/i signed).
 *
 * Catalogue records go on track 1000 + their thread slot; callers use
 * smaller track numbers for their own spans. One process (pid 1).
 *
 * Memory: plain calloc (tracing sits below fault injection, as buffer.c).
 *
 * State: one struct trace_perfetto per document; not thread-safe (one
 * writer). Strings are escaped for JSON (json.c); nothing depends on the host.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "trace_internal.h"

struct trace_perfetto {
	FILE *out;
	bool first;
};

static void sep(struct trace_perfetto *pw)
{
	fputs(pw->first ? "\n" : ",\n", pw->out);
	pw->first = false;
}

static void json_ts(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%03u", ns / 1000, (unsigned)(ns % 1000));
}

int trace_perfetto_open(FILE *out, const char *process_name, struct trace_perfetto **out_pw)
{
	struct trace_perfetto *pw = calloc(1, sizeof(*pw));

	if (!pw)
		return -ENOMEM;
	pw->out = out;
	pw->first = true;
	fputs("{\"displayTimeUnit\": \"ns\", \"traceEvents\": [", out);
	sep(pw);
	fputs("{\"ph\": \"M\", \"pid\": 1, \"tid\": 0, \"name\": \"process_name\", \"args\": "
	      "{\"name\": ",
	      out);
	trace_json_escape_file(out, process_name ? process_name : "iommusim");
	fputs("}}", out);
	*out_pw = pw;
	return 0;
}

int trace_perfetto_close(struct trace_perfetto *pw)
{
	int rc;

	if (!pw)
		return 0;
	fputs("\n]}\n", pw->out);
	rc = ferror(pw->out) ? -EIO : 0;
	free(pw);
	return rc;
}

void trace_perfetto_track(struct trace_perfetto *pw, uint32_t tid, const char *name)
{
	sep(pw);
	fprintf(pw->out,
		"{\"ph\": \"M\", \"pid\": 1, \"tid\": %" PRIu32 ", \"name\": \"thread_name\", "
		"\"args\": {\"name\": ",
		tid);
	trace_json_escape_file(pw->out, name);
	fputs("}}", pw->out);
}

/* The conversion character of each field, from the catalogue format. */
static void field_convs(const char *fmt, char *conv, unsigned n)
{
	unsigned i = 0;

	memset(conv, 'u', n);
	for (const char *p = fmt; *p && i < n; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p == '%')
			continue;
		while (*p && !strchr("diouxXcsp", *p))
			p++;
		if (!*p)
			break;
		conv[i++] = *p;
	}
}

void trace_perfetto_record(struct trace_perfetto *pw, const struct trace_record *rec)
{
	const struct trace_event_desc *d = trace_event_desc((enum trace_event_id)rec->event);
	char conv[TRACE_MAX_FIELDS];
	FILE *f = pw->out;

	if (!d)
		return;
	field_convs(d->format, conv, d->nfields);
	sep(pw);
	fputs("{\"ph\": \"i\", \"s\": \"t\", \"pid\": 1, \"tid\": ", f);
	fprintf(f, "%" PRIu32 ", \"ts\": ", 1000 + rec->thread);
	json_ts(f, rec->timestamp);
	fputs(", \"cat\": ", f);
	{
		const char *colon = strchr(d->name, ':');
		char cat[32];
		size_t n = colon ? (size_t)(colon - d->name) : strlen(d->name);

		if (n >= sizeof(cat))
			n = sizeof(cat) - 1;
		memcpy(cat, d->name, n);
		cat[n] = 0;
		trace_json_escape_file(f, cat);
	}
	fputs(", \"name\": ", f);
	trace_json_escape_file(f, d->name);
	fputs(", \"args\": {", f);
	for (unsigned i = 0; i < d->nfields; i++) {
		uint64_t v = rec->fields[i];

		fputs(i ? ", " : "", f);
		trace_json_escape_file(f, d->fields[i]);
		fputs(": ", f);
		switch (conv[i]) {
		case 's':
			trace_json_escape_file(f, (const char *)(uintptr_t)v);
			break;
		case 'x':
		case 'X':
		case 'p':
			fprintf(f, "\"0x%" PRIx64 "\"", v);
			break;
		case 'd':
		case 'i':
			fprintf(f, "%" PRId64, (int64_t)v);
			break;
		default:
			fprintf(f, "%" PRIu64, v);
			break;
		}
	}
	fputs("}}", f);
}

void trace_perfetto_span(struct trace_perfetto *pw, const char *name, const char *cat, uint32_t tid,
			 uint64_t ts_ns, uint64_t dur_ns, unsigned nargs, const char *const *keys,
			 const uint64_t *vals, uint32_t hex_mask)
{
	FILE *f = pw->out;

	sep(pw);
	fprintf(f, "{\"ph\": \"X\", \"pid\": 1, \"tid\": %" PRIu32 ", \"ts\": ", tid);
	json_ts(f, ts_ns);
	fputs(", \"dur\": ", f);
	json_ts(f, dur_ns);
	fputs(", \"cat\": ", f);
	trace_json_escape_file(f, cat);
	fputs(", \"name\": ", f);
	trace_json_escape_file(f, name);
	fputs(", \"args\": {", f);
	for (unsigned i = 0; i < nargs; i++) {
		fputs(i ? ", " : "", f);
		trace_json_escape_file(f, keys[i]);
		if (hex_mask & (1u << i))
			fprintf(f, ": \"0x%" PRIx64 "\"", vals[i]);
		else
			fprintf(f, ": %" PRIu64, vals[i]);
	}
	fputs("}}", f);
}

void trace_perfetto_counter(struct trace_perfetto *pw, const char *name, uint64_t ts_ns,
			    double value)
{
	FILE *f = pw->out;

	sep(pw);
	fputs("{\"ph\": \"C\", \"pid\": 1, \"tid\": 0, \"ts\": ", f);
	json_ts(f, ts_ns);
	fputs(", \"name\": ", f);
	trace_json_escape_file(f, name);
	fprintf(f, ", \"args\": {\"value\": %.6g}}", value);
}

static int perfetto_cb(const struct trace_record *rec, void *arg)
{
	trace_perfetto_record(arg, rec);
	return 0;
}

long trace_flush_perfetto(struct trace_ctx *tc, struct trace_perfetto *pw)
{
	return trace_collect(tc, perfetto_cb, pw);
}
