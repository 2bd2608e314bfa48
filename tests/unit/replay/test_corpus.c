/* SPDX-License-Identifier: MIT */
/*
 * Replays the fuzz seed corpus (tests/fuzz/corpus/{text,binary,linux}) and
 * the bundled traces through every parser, so CI exercises the inputs the
 * fuzzers start from (and any crash reproducer added there) without clang's
 * libFuzzer. The parsers must return cleanly, whatever they say.
 */
#include <dirent.h>
#include <string.h>

#include "replay_test_util.h"

static unsigned run_dir(const char *sub)
{
	char dir[512];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), IOMMUSIM_SOURCE_DIR "/tests/fuzz/corpus/%s", sub);
	d = opendir(dir);
	cr_assert(d, "no corpus at %s", dir);
	while ((de = readdir(d))) {
		char path[1024];
		struct rt_read_opts o = { .name = de->d_name };
		struct rt_error err;
		struct rt_trace t;
		size_t len;
		char *buf;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		buf = read_all(path, &len);
		for (int skip = 0; skip < 2; skip++) {
			o.skip_bad = skip;
			rt_trace_init(&t, NULL);
			(void)rt_text_read(buf, len, &o, &t, &err);
			rt_trace_free(&t);
			rt_trace_init(&t, NULL);
			(void)rt_bin_read(buf, len, &o, &t, &err);
			rt_trace_free(&t);
			rt_trace_init(&t, NULL);
			(void)rt_linux_read(buf, len, &o, &t, NULL, &err);
			if (t.n) {
				struct membuf m = write_mem(&t, 1);
				struct rt_trace u;

				rt_trace_init(&u, NULL);
				cr_assert_eq(rt_bin_read(m.p, m.len, NULL, &u, &err), 0, "%s: %s",
					     path, err_text(&err));
				rt_trace_free(&u);
				free(m.p);
			}
			rt_trace_free(&t);
		}
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

Test(corpus, seeds_parse_without_crashing)
{
	cr_assert_gt(run_dir("text"), 0);
	cr_assert_gt(run_dir("binary"), 0);
	cr_assert_gt(run_dir("linux"), 0);
}
