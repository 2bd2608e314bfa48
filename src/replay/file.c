/* SPDX-License-Identifier: MIT */
/*
 * Whole-file helpers: format detection and reading or writing a trace file
 * in one call. A file is read into one buffer (the parsers work on buffers,
 * which is also what the fuzz targets feed them), parsed, and released.
 * trace-cmd's trace.dat is the exception: libtracecmd reads it by path
 * (tracedat.c), so it is only detected from the buffer, which is then dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>

#include "rt_schema.h"

enum rt_format rt_format_detect(const void *data, size_t len)
{
	const char *p = data, *end = p + len;

	if (len >= 8 && !memcmp(p, RT_BIN_MAGIC, 8))
		return RT_FMT_BINARY;
	if (len >= RT_TRACEDAT_MAGIC_LEN && !memcmp(p, RT_TRACEDAT_MAGIC, RT_TRACEDAT_MAGIC_LEN))
		return RT_FMT_TRACEDAT;
	/* our text: the first line that is not blank or a comment is the header */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		while (p < le && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		if (p < le && *p != '#')
			return (size_t)(le - p) >= 15 && !memcmp(p, "iommusim-trace ", 15)
				       ? RT_FMT_TEXT
				       : RT_FMT_LINUX;
		p = nl ? nl + 1 : end;
	}
	return RT_FMT_TEXT; /* empty: let the text reader say what is missing */
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

enum rt_format rt_format_from_name(const char *path)
{
	if (ends_with(path, ".rtb") || ends_with(path, ".bin"))
		return RT_FMT_BINARY;
	return RT_FMT_TEXT;
}

static int slurp(const char *path, struct fault_ctx *fc, char **buf, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0;
	char *b;

	if (!f)
		return -errno;
	b = fault_malloc(fc, "replay.file_buf", cap);
	if (!b)
		goto err_nomem;
	for (;;) {
		size_t got;

		if (n == cap) {
			char *nb = fault_realloc(fc, "replay.file_buf", b, cap * 2);

			if (!nb)
				goto err_nomem;
			b = nb;
			cap *= 2;
		}
		got = fread(b + n, 1, cap - n, f);
		n += got;
		if (!got)
			break;
	}
	if (ferror(f)) {
		fault_free(b);
		if (f != stdin)
			fclose(f);
		return -EIO;
	}
	if (f != stdin)
		fclose(f);
	*buf = b;
	*len = n;
	return 0;
err_nomem:
	fault_free(b);
	if (f != stdin)
		fclose(f);
	return -ENOMEM;
}

int rt_read_file(const char *path, enum rt_format fmt, const struct rt_read_opts *opts,
		 struct rt_trace *out, struct rt_linux_stats *stats, struct rt_error *err)
{
	struct rt_read_opts o = opts ? *opts : (struct rt_read_opts){ 0 };
	struct rt_error dummy;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (!err)
		err = &dummy;
	if (!o.name)
		o.name = path;
	memset(err, 0, sizeof(*err));
	ret = slurp(path, out->fc, &buf, &len);
	if (ret) {
		rt_err_set(err, &o, ret, 0, NULL, "cannot read: %s", strerror(-ret));
		return ret;
	}
	if (fmt == RT_FMT_AUTO)
		fmt = rt_format_detect(buf, len);
	/* "--from linux" given a trace.dat: it is Linux input, just not text */
	if (fmt == RT_FMT_LINUX && rt_format_detect(buf, len) == RT_FMT_TRACEDAT)
		fmt = RT_FMT_TRACEDAT;
	if (fmt == RT_FMT_TRACEDAT) {
		fault_free(buf);
		return rt_tracedat_read(path, &o, out, stats, err);
	}
	switch (fmt) {
	case RT_FMT_BINARY:
		ret = rt_bin_read(buf, len, &o, out, err);
		break;
	case RT_FMT_LINUX:
		ret = rt_linux_read(buf, len, &o, out, stats, err);
		break;
	default:
		ret = rt_text_read(buf, len, &o, out, err);
		break;
	}
	fault_free(buf);
	return ret;
}

int rt_write_file(const struct rt_trace *t, const char *path, enum rt_format fmt)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "wb") : stdout;
	int ret;

	if (!f)
		return -errno;
	if (fmt == RT_FMT_AUTO)
		fmt = rt_format_from_name(path);
	ret = fmt == RT_FMT_BINARY ? rt_bin_write(t, f) : rt_text_write(t, f);
	if (f != stdout) {
		if (fclose(f) && !ret)
			ret = -EIO;
	} else if (fflush(f) && !ret) {
		ret = -EIO;
	}
	return ret;
}
