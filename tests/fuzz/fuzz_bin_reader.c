/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the binary reader. An accepted file, written back,
 * must read back to the same trace.
 */
#include <stdlib.h>

#include <iommusim/replay_trace.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct rt_error err;
	struct rt_trace t, u;
	char msg[512];

	rt_trace_init(&t, NULL);
	rt_trace_init(&u, NULL);
	if (!rt_bin_read(data, size, NULL, &t, &err)) {
		char *p = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&p, &n);

		if (rt_bin_write(&t, f))
			abort();
		fclose(f);
		if (rt_bin_read(p, n, NULL, &u, NULL))
			abort();
		if (rt_trace_canonicalise(&t) || rt_trace_canonicalise(&u) ||
		    !rt_trace_equal(&t, &u))
			abort();
		free(p);
	}
	rt_error_format(&err, msg, sizeof(msg));
	rt_trace_free(&t);
	rt_trace_free(&u);
	return 0;
}
