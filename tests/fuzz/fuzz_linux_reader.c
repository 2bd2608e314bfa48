/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the Linux ftrace importer, strict and --skip-bad. Every
 * line must land in exactly one bucket, and what it produced must survive
 * the text writer and reader.
 */
#include <stdlib.h>
#include <string.h>

#include <iommusim/replay_trace.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	for (int skip = 0; skip < 2; skip++) {
		struct rt_read_opts o = { .name = "fuzz", .skip_bad = skip };
		struct rt_linux_stats st;
		struct rt_error err;
		struct rt_trace t, u;
		char msg[512];
		int ret;

		rt_trace_init(&t, NULL);
		rt_trace_init(&u, NULL);
		ret = rt_linux_read((const char *)data, size, &o, &t, &st, &err);
		if (!ret) {
			char *p = NULL;
			size_t n = 0;
			FILE *f;

			if (st.parsed + st.header + st.unrelated + st.bad != st.lines ||
			    st.events != t.n)
				abort();
			f = open_memstream(&p, &n);
			if (rt_text_write(&t, f))
				abort();
			fclose(f);
			if (rt_text_read(p, n, NULL, &u, NULL))
				abort();
			if (rt_trace_canonicalise(&t) || rt_trace_canonicalise(&u) ||
			    !rt_trace_equal(&t, &u))
				abort();
			free(p);
		}
		rt_error_format(&err, msg, sizeof(msg));
		rt_trace_free(&t);
		rt_trace_free(&u);
	}
	return 0;
}
