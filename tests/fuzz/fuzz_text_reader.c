/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the text reader, strict and --skip-bad. Whatever it
 * accepts must survive a text and a binary round trip unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include <iommusim/replay_trace.h>

static void check_round_trip(struct rt_trace *t)
{
	struct rt_trace u, v;
	char *p = NULL, *q = NULL;
	size_t n = 0, m = 0;
	FILE *f;

	if (rt_trace_canonicalise(t))
		abort();
	rt_trace_init(&u, NULL);
	rt_trace_init(&v, NULL);
	f = open_memstream(&p, &n);
	if (rt_text_write(t, f))
		abort();
	fclose(f);
	if (rt_text_read(p, n, NULL, &u, NULL))
		abort(); /* the writer produced something the reader rejects */
	f = open_memstream(&q, &m);
	if (rt_bin_write(&u, f))
		abort();
	fclose(f);
	if (rt_bin_read(q, m, NULL, &v, NULL))
		abort();
	if (rt_trace_canonicalise(&u) || rt_trace_canonicalise(&v))
		abort();
	if (!rt_trace_equal(t, &u) || !rt_trace_equal(t, &v))
		abort(); /* lossy */
	free(p);
	free(q);
	rt_trace_free(&u);
	rt_trace_free(&v);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	for (int skip = 0; skip < 2; skip++) {
		struct rt_read_opts o = { .name = "fuzz", .skip_bad = skip };
		struct rt_error err;
		struct rt_trace t;
		char msg[512];

		rt_trace_init(&t, NULL);
		if (!rt_text_read((const char *)data, size, &o, &t, &err))
			check_round_trip(&t);
		rt_error_format(&err, msg, sizeof(msg));
		rt_trace_free(&t);
	}
	return 0;
}
