/* SPDX-License-Identifier: MIT */
/* Helpers for the replay unit tests: traces to and from memory buffers. */
#ifndef IOMMUSIM_TEST_REPLAY_UTIL_H
#define IOMMUSIM_TEST_REPLAY_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include <criterion/criterion.h>
#include <iommusim/replay_trace.h>

struct membuf {
	char *p;
	size_t len;
};

static inline struct membuf write_mem(const struct rt_trace *t, int binary)
{
	struct membuf m = { 0 };
	FILE *f = open_memstream(&m.p, &m.len);

	cr_assert(f);
	cr_assert_eq(binary ? rt_bin_write(t, f) : rt_text_write(t, f), 0);
	cr_assert_eq(fclose(f), 0);
	return m;
}

static inline char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b;
	long n;

	cr_assert(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	cr_assert(b);
	cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b[n] = 0;
	*len = (size_t)n;
	return b;
}

static inline const char *err_text(const struct rt_error *e)
{
	static __thread char buf[512];

	rt_error_format(e, buf, sizeof(buf));
	return buf;
}

#endif
