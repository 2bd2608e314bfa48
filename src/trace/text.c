/* SPDX-License-Identifier: MIT */
/*
 * The text sink: records as lines in the layout of the Linux kernel's
 * /sys/kernel/tracing/trace file, and the mini printf that renders an
 * event's catalogue format over its uint64 fields.
 *
 * Line layout (kernel default options: irq-info on, no tgid, time in us):
 *
 *   "%16s-%-7d [%03d] " task, pid, cpu
 *   "....."             irqs-off, need-resched, hard/softirq, preempt depth,
 *                       migrate-disable: a simulated thread has none of them
 *   " %5llu.%06llu: "   seconds and microseconds of the (simulated) time stamp
 *   "<event>: "         the bare name for kernel events ("map"), our events
 *                       keep "subsystem:event"
 *   fields              the catalogue format, rendered below
 *
 * The task is "iommusim", the pid 1000 + the thread slot and the cpu the
 * thread slot, so lines from different simulated threads stay apart, and
 * tools that parse ftrace text (trace-cmd, our replay) accept them.
 *
 * Why our own formatter: the fields travel as uint64_t and the formats come
 * from the catalogue, not from the compiler's view of a call site, so
 * passing them to vsnprintf would need a va_list built by hand. The
 * formatter consumes one field per conversion, in order, and never reads
 * past nfields (a missing field prints "<missing>").
 * Supported: %d %i %u %x %X %o %c %s %p %%, flags "-0+ #", a width, a
 * precision, and any length modifier (ignored: every field is 64 bits).
 *
 * No state: safe to call from any thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "trace_internal.h"

/* An snprintf-style bounded writer: len counts what the full output needs. */
struct tw {
	char *buf;
	size_t size;
	size_t len;
};

static void tw_putc(struct tw *w, char c)
{
	if (w->size && w->len < w->size - 1)
		w->buf[w->len] = c;
	w->len++;
}

static void tw_puts(struct tw *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tw_putc(w, s[i]);
}

static void tw_pad(struct tw *w, char c, size_t n)
{
	while (n--)
		tw_putc(w, c);
}

static int tw_finish(struct tw *w)
{
	if (w->size)
		w->buf[w->len < w->size ? w->len : w->size - 1] = '\0';
	return w->len > INT_MAX ? INT_MAX : (int)w->len;
}

struct spec {
	bool left, zero, plus, space, alt;
	size_t width;
	bool has_prec;
	size_t prec;
	char conv;
};

static void fmt_string(struct tw *w, const struct spec *sp, const char *s)
{
	size_t n;

	if (!s)
		s = "(null)";
	n = strlen(s);
	if (sp->has_prec && sp->prec < n)
		n = sp->prec;
	if (!sp->left && sp->width > n)
		tw_pad(w, ' ', sp->width - n);
	tw_puts(w, s, n);
	if (sp->left && sp->width > n)
		tw_pad(w, ' ', sp->width - n);
}

static void fmt_number(struct tw *w, const struct spec *sp, uint64_t v)
{
	static const char lower[] = "0123456789abcdef";
	static const char upper[] = "0123456789ABCDEF";
	const char *digits = sp->conv == 'X' ? upper : lower;
	unsigned base = 10;
	char tmp[24]; /* 22 octal digits for 2^64 - 1 */
	const char *prefix = "";
	char sign = 0;
	size_t nd = 0, zeros = 0, total;

	switch (sp->conv) {
	case 'd':
	case 'i':
		if ((int64_t)v < 0) {
			sign = '-';
			v = 0 - v; /* well defined for unsigned, INT64_MIN included */
		} else if (sp->plus) {
			sign = '+';
		} else if (sp->space) {
			sign = ' ';
		}
		break;
	case 'x':
	case 'X':
	case 'p':
		base = 16;
		if ((sp->alt && v) || sp->conv == 'p')
			prefix = sp->conv == 'X' ? "0X" : "0x";
		break;
	case 'o':
		base = 8;
		break;
	default:
		break;
	}
	/* C: a zero value with precision 0 prints no digits. */
	if (!(v == 0 && sp->has_prec && sp->prec == 0)) {
		do {
			tmp[nd++] = digits[v % base];
			v /= base;
		} while (v);
	}
	if (sp->conv == 'o' && sp->alt && (nd == 0 || tmp[nd - 1] != '0'))
		tmp[nd++] = '0';
	if (sp->has_prec && sp->prec > nd)
		zeros = sp->prec - nd;
	total = (sign ? 1 : 0) + strlen(prefix) + zeros + nd;
	/* '0' pads with zeros after sign and prefix, unless '-' or a precision. */
	if (sp->zero && !sp->left && !sp->has_prec && sp->width > total) {
		zeros += sp->width - total;
		total = sp->width;
	}
	if (!sp->left && sp->width > total)
		tw_pad(w, ' ', sp->width - total);
	if (sign)
		tw_putc(w, sign);
	tw_puts(w, prefix, strlen(prefix));
	tw_pad(w, '0', zeros);
	while (nd)
		tw_putc(w, tmp[--nd]);
	if (sp->left && sp->width > total)
		tw_pad(w, ' ', sp->width - total);
}

static size_t parse_num(const char **p)
{
	size_t n = 0;

	while (**p >= '0' && **p <= '9') {
		if (n < 100000)
			n = n * 10 + (size_t)(**p - '0');
		(*p)++;
	}
	return n;
}

/*
 * Render @fmt over @fields into @w. Returns nothing: @w counts the length.
 * An unknown conversion is copied through literally and consumes no field.
 */
static void fmt_fields(struct tw *w, const char *fmt, const uint64_t *fields, unsigned nfields)
{
	unsigned next = 0;
	const char *p = fmt;

	while (*p) {
		const char *start = p;
		struct spec sp = { 0 };

		if (*p != '%') {
			tw_putc(w, *p++);
			continue;
		}
		p++;
		if (*p == '%') {
			tw_putc(w, '%');
			p++;
			continue;
		}
		for (;; p++) {
			if (*p == '-')
				sp.left = true;
			else if (*p == '0')
				sp.zero = true;
			else if (*p == '+')
				sp.plus = true;
			else if (*p == ' ')
				sp.space = true;
			else if (*p == '#')
				sp.alt = true;
			else
				break;
		}
		sp.width = parse_num(&p);
		if (*p == '.') {
			p++;
			sp.has_prec = true;
			sp.prec = parse_num(&p);
		}
		while (*p && strchr("hljztLq", *p))
			p++;
		sp.conv = *p;
		if (!sp.conv || !strchr("diuxXopcs", sp.conv)) {
			/* Not ours: print it as written. */
			if (*p)
				p++;
			tw_puts(w, start, (size_t)(p - start));
			continue;
		}
		p++;
		if (next >= nfields) {
			tw_puts(w, "<missing>", 9);
			continue;
		}
		if (sp.conv == 's') {
			fmt_string(w, &sp, (const char *)(uintptr_t)fields[next++]);
		} else if (sp.conv == 'c') {
			char c[2] = { (char)fields[next++], 0 };

			fmt_string(w, &sp, c);
		} else {
			fmt_number(w, &sp, fields[next++]);
		}
	}
}

int trace_format_fields(const char *fmt, const uint64_t *fields, unsigned nfields, char *buf,
			size_t size)
{
	struct tw w = { buf, size, 0 };

	fmt_fields(&w, fmt, fields, nfields);
	return tw_finish(&w);
}

#define TRACE_TEXT_TASK "iommusim"
#define TRACE_TEXT_PID_BASE 1000u

int trace_format_text(const struct trace_record *rec, char *buf, size_t size)
{
	const struct trace_event_desc *d = trace_event_desc((enum trace_event_id)rec->event);
	uint64_t usec = rec->timestamp / 1000;
	struct tw w = { buf, size, 0 };
	const char *name;
	char head[96];
	int n;

	n = snprintf(head, sizeof(head), "%16s-%-7u [%03u] ..... %5llu.%06llu: ", TRACE_TEXT_TASK,
		     TRACE_TEXT_PID_BASE + rec->thread, rec->thread,
		     (unsigned long long)(usec / 1000000), (unsigned long long)(usec % 1000000));
	tw_puts(&w, head, n > 0 ? (size_t)n : 0);
	if (!d) {
		tw_puts(&w, "unknown:", 8);
		return tw_finish(&w);
	}
	name = d->name;
	if (d->kernel) {
		const char *colon = strchr(name, ':');

		if (colon)
			name = colon + 1;
	}
	tw_puts(&w, name, strlen(name));
	tw_puts(&w, ": ", 2);
	fmt_fields(&w, d->format, rec->fields, d->nfields);
	return tw_finish(&w);
}

struct flush_state {
	FILE *out;
	long lines;
	int err;
};

static int flush_one(const struct trace_record *rec, void *arg)
{
	struct flush_state *st = arg;
	char small[256];
	char *line = small;
	int n;

	n = trace_format_text(rec, small, sizeof(small));
	if ((size_t)n >= sizeof(small)) {
		/* Plain malloc: tracing is below fault injection. */
		line = malloc((size_t)n + 1);
		if (!line) {
			st->err = -ENOMEM;
			return 1;
		}
		trace_format_text(rec, line, (size_t)n + 1);
	}
	if (fwrite(line, 1, (size_t)n, st->out) != (size_t)n || fputc('\n', st->out) == EOF)
		st->err = -EIO;
	if (line != small)
		free(line);
	if (st->err)
		return 1;
	st->lines++;
	return 0;
}

long trace_flush_text(struct trace_ctx *tc, FILE *out)
{
	struct flush_state st = { out, 0, 0 };

	trace_collect(tc, flush_one, &st);
	return st.err ? st.err : st.lines;
}
