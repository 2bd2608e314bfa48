/* SPDX-License-Identifier: MIT */
/*
 * The event catalogue as data, and enabling events by id or pattern.
 *
 * The descriptor table is generated from the X-macro list in
 * include/iommusim/trace_events.h, so the enum in trace.h and this table can
 * never disagree: entry i describes TRACE_EV_i. It is static const; the only
 * mutable state is the per-context enable mask, a bitmap of
 * TRACE_MASK_WORDS words updated with atomic or/and so that enabling one
 * event never loses a concurrent change to a neighbour in the same word.
 *
 * A "kernel" event is one the Linux kernel itself defines (iommu:*, dma:*):
 * the text sink prints its bare name and its format must be the kernel's
 * TP_printk text, so that our traces and the kernel's look the same.
 */
#include <errno.h>
#include <string.h>

#include "trace_internal.h"

/* Count the variadic field names so a catalogue entry cannot miscount them. */
#define TRACE_COUNT_(...) (sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(const char *))

#define TRACE_IS_KERNEL_(name) \
	(__builtin_strncmp(name, "iommu:", 6) == 0 || __builtin_strncmp(name, "dma:", 4) == 0)

static const struct trace_event_desc trace_descs[TRACE_EV__COUNT] = {
#define TRACE_EVENT(sym, name_, fmt, nfields_, ...) \
	[TRACE_EV_##sym] = {                        \
		.name = name_,                      \
		.format = fmt,                      \
		.nfields = nfields_,                \
		.fields = { __VA_ARGS__ },          \
		.kernel = TRACE_IS_KERNEL_(name_),  \
	},
#include <iommusim/trace_events.h>
#undef TRACE_EVENT
};

/* Compile-time checks of every catalogue entry: field count and limit. */
#define TRACE_EVENT(sym, name_, fmt, nfields_, ...)                                      \
	_Static_assert((nfields_) == TRACE_COUNT_(__VA_ARGS__),                          \
		       "trace event " name_ ": NFIELDS does not match the field names"); \
	_Static_assert((nfields_) <= TRACE_MAX_FIELDS, "trace event " name_ ": too many fields");
#include <iommusim/trace_events.h>
#undef TRACE_EVENT

const struct trace_event_desc *trace_event_desc(enum trace_event_id id)
{
	if ((unsigned)id >= TRACE_EV__COUNT)
		return NULL;
	return &trace_descs[id];
}

int trace_event_lookup(const char *name)
{
	if (!name)
		return -1;
	for (unsigned i = 0; i < TRACE_EV__COUNT; i++)
		if (strcmp(trace_descs[i].name, name) == 0)
			return (int)i;
	return -1;
}

void trace_enable(struct trace_ctx *tc, enum trace_event_id id, bool on)
{
	uint64_t bit;

	if ((unsigned)id >= TRACE_EV__COUNT)
		return;
	bit = 1ull << (id % 64);
	if (on)
		__atomic_fetch_or(&tc->head.enabled[id / 64], bit, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&tc->head.enabled[id / 64], ~bit, __ATOMIC_RELAXED);
}

void trace_enable_all(struct trace_ctx *tc, bool on)
{
	for (unsigned i = 0; i < TRACE_EV__COUNT; i++)
		trace_enable(tc, (enum trace_event_id)i, on);
}

/* Does one pattern token [tok, tok + len) match @name? */
static bool trace_token_match(const char *tok, size_t len, const char *name)
{
	if (len && tok[len - 1] == '*')
		return strncmp(name, tok, len - 1) == 0;
	return strlen(name) == len && strncmp(name, tok, len) == 0;
}

/*
 * Parse @patterns into per-event matches in @hit. Every token must be
 * well-formed ('*' only at its end) and name at least one event; nothing is
 * enabled unless the whole list is valid.
 */
static int trace_pattern_scan(const char *patterns, bool hit[TRACE_EV__COUNT])
{
	const char *p = patterns;

	if (!patterns)
		return -EINVAL;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *star;
		bool any = false;

		/* Trim blanks around a token: "iommu:map, iommu:unmap". */
		while (len && (*p == ' ' || *p == '\t')) {
			p++;
			len--;
		}
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (!len)
			return -EINVAL;
		star = memchr(p, '*', len);
		if (star && star != p + len - 1)
			return -EINVAL;
		for (unsigned i = 0; i < TRACE_EV__COUNT; i++) {
			if (trace_token_match(p, len, trace_descs[i].name)) {
				hit[i] = true;
				any = true;
			}
		}
		if (!any)
			return -EINVAL;
		if (!end)
			return 0;
		p = end + 1;
	}
}

int trace_enable_pattern(struct trace_ctx *tc, const char *patterns)
{
	bool hit[TRACE_EV__COUNT] = { false };
	int n = 0;
	int err;

	err = trace_pattern_scan(patterns, hit);
	if (err)
		return err;
	for (unsigned i = 0; i < TRACE_EV__COUNT; i++) {
		if (hit[i]) {
			trace_enable(tc, (enum trace_event_id)i, true);
			n++;
		}
	}
	return n;
}
