/* SPDX-License-Identifier: MIT */
/*
 * JSON string escaping (see json.h for the rules). Plain bytes are passed to
 * the writer in runs between the characters that need escaping, so a string
 * with nothing to escape costs three writer calls. No state, no allocation.
 */
#include "json.h"

void trace_json_escape(const char *s, trace_json_put_fn put, void *ctx)
{
	static const char hex[] = "0123456789abcdef";
	const char *run;

	if (!s)
		s = "";
	run = s;
	put(ctx, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', (char)c };
		size_t n = 2;

		if (c < 0x20) {
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			n = 6;
		} else if (c != '"' && c != '\\') {
			continue;
		}
		if (s > run)
			put(ctx, run, (size_t)(s - run));
		put(ctx, esc, n);
		run = s + 1;
	}
	if (s > run)
		put(ctx, run, (size_t)(s - run));
	put(ctx, "\"", 1);
}

static void put_file(void *ctx, const char *s, size_t n)
{
	fwrite(s, 1, n, ctx);
}

void trace_json_escape_file(FILE *f, const char *s)
{
	trace_json_escape(s, put_file, f);
}
