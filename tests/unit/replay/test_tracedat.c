/* SPDX-License-Identifier: MIT */
/*
 * trace-cmd trace.dat input:
 *  - the magic is detected as RT_FMT_TRACEDAT;
 *  - rt_read_file() routes it to rt_tracedat_read(): a file libtracecmd
 *    cannot parse is an error naming the file, never a silent empty trace;
 *  - the reader built without libtracecmd (compiled here from the same
 *    source with IOMMUSIM_HAVE_LIBTRACECMD undefined) returns -EOPNOTSUPP
 *    with a message that says what to do;
 *  - with libtracecmd, a trace.dat built here byte by byte (format version
 *    6, two iommu:map records and one unrelated event) gives the expected
 *    events, and the same canonical trace as `trace-cmd report -t` of it when
 *    the trace-cmd program is installed;
 *  - a recorded trace.dat (IOMMUSIM_TRACEDAT=FILE in the environment) gives
 *    the same trace as its report text. None ships with the tree: recording
 *    needs ftrace as root, and libtracecmd has no public API to write one,
 *    so that test skips without the variable.
 */
/* the library's reader as built without libtracecmd, under other names */
#define rt_tracedat_read nolib_tracedat_read
#define rt_tracedat_supported nolib_tracedat_supported
#pragma push_macro("IOMMUSIM_HAVE_LIBTRACECMD")
#undef IOMMUSIM_HAVE_LIBTRACECMD
#include "replay/tracedat.c"
#pragma pop_macro("IOMMUSIM_HAVE_LIBTRACECMD")
#undef rt_tracedat_read
#undef rt_tracedat_supported

int rt_tracedat_read(const char *path, const struct rt_read_opts *opts, struct rt_trace *out,
		     struct rt_linux_stats *stats, struct rt_error *err);
bool rt_tracedat_supported(void);

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "replay_test_util.h"

static const char fake_dat[] = "\x17\x08\x44tracing6\0not really a trace";

static void write_fake(char *path, size_t size)
{
	int fd;

	snprintf(path, size, "/tmp/iommusim-tracedat-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, fake_dat, sizeof(fake_dat)), (ssize_t)sizeof(fake_dat));
	close(fd);
}

Test(tracedat, detect)
{
	cr_assert_eq(rt_format_detect(fake_dat, sizeof(fake_dat)), RT_FMT_TRACEDAT);
	/* the magic alone is enough; a cut-off one is not */
	cr_assert_eq(rt_format_detect(fake_dat, RT_TRACEDAT_MAGIC_LEN), RT_FMT_TRACEDAT);
	cr_assert_neq(rt_format_detect(fake_dat, RT_TRACEDAT_MAGIC_LEN - 1), RT_FMT_TRACEDAT);
}

Test(tracedat, without_libtracecmd)
{
	struct rt_read_opts o = { .name = "x.dat" };
	struct rt_linux_stats st = { .lines = 7 };
	struct rt_error err;
	struct rt_trace t;
	char msg[512];

	rt_trace_init(&t, NULL);
	cr_assert_not(nolib_tracedat_supported());
	cr_assert_eq(nolib_tracedat_read("x.dat", &o, &t, &st, &err), -EOPNOTSUPP);
	cr_assert_eq(err.code, -EOPNOTSUPP);
	cr_assert_eq(t.n, 0);
	cr_assert_eq(st.lines, 0);
	rt_error_format(&err, msg, sizeof(msg));
	cr_assert(strstr(msg, "x.dat"), "%s", msg);
	cr_assert(strstr(msg, "needs libtracecmd"), "%s", msg);
	cr_assert(strstr(msg, "trace-cmd report"), "%s", msg);
	rt_trace_free(&t);
}

Test(tracedat, bad_file_through_read_file)
{
	struct rt_error err;
	struct rt_trace t;
	char path[64], msg[512];
	int ret;

	write_fake(path, sizeof(path));
	rt_trace_init(&t, NULL);
	ret = rt_read_file(path, RT_FMT_AUTO, NULL, &t, NULL, &err);
	unlink(path);
	cr_assert_lt(ret, 0);
	cr_assert_eq(err.code, ret);
	cr_assert_eq(t.n, 0);
	rt_error_format(&err, msg, sizeof(msg));
	cr_assert(strstr(msg, path), "%s", msg);
	if (rt_tracedat_supported())
		cr_assert(strstr(msg, "libtracecmd cannot open"), "%s", msg);
	else
		cr_assert(ret == -EOPNOTSUPP && strstr(msg, "needs libtracecmd"), "%s", msg);
	rt_trace_free(&t);
}

/* @dat read directly equals `trace-cmd report -t` of it read as text. */
static void check_against_report(const char *dat)
{
	struct rt_trace a, b;
	struct rt_error err;
	char txt[64], cmd[512], msg[512];
	int fd;

	snprintf(txt, sizeof(txt), "/tmp/iommusim-report-XXXXXX");
	fd = mkstemp(txt);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "trace-cmd report -t -i '%s' > '%s' 2>/dev/null", dat, txt);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	rt_trace_init(&a, NULL);
	rt_trace_init(&b, NULL);
	if (rt_read_file(dat, RT_FMT_AUTO, NULL, &a, NULL, &err)) {
		rt_error_format(&err, msg, sizeof(msg));
		cr_assert_fail("%s", msg);
	}
	if (rt_read_file(txt, RT_FMT_LINUX, NULL, &b, NULL, &err)) {
		rt_error_format(&err, msg, sizeof(msg));
		cr_assert_fail("%s", msg);
	}
	unlink(txt);
	cr_assert_eq(rt_trace_canonicalise(&a), 0);
	cr_assert_eq(rt_trace_canonicalise(&b), 0);
	cr_assert_eq(a.n, b.n, "%zu events from the trace.dat, %zu from the report", a.n, b.n);
	cr_assert(rt_trace_equal(&a, &b));
	rt_trace_free(&a);
	rt_trace_free(&b);
}

static int have_trace_cmd(void)
{
	return !system("command -v trace-cmd >/dev/null 2>&1");
}

Test(tracedat, same_as_report_text)
{
	const char *dat = getenv("IOMMUSIM_TRACEDAT");

	if (!rt_tracedat_supported())
		cr_skip_test("built without libtracecmd");
	if (!dat || !*dat)
		cr_skip_test("no recorded trace.dat: set IOMMUSIM_TRACEDAT=FILE (recording needs "
			     "ftrace as root); generated_file covers a synthetic one");
	if (!have_trace_cmd())
		cr_skip_test("trace-cmd program not installed");
	check_against_report(dat);
}

/*
 * A minimal trace.dat (file format version 6, little endian, 64-bit longs,
 * 4 KiB pages) holding one CPU buffer page with two iommu:map records and
 * one unrelated event, built byte by byte from trace-cmd's documented layout
 * (trace-cmd.dat(5)). The event formats are the kernel's own text.
 */
struct obuf {
	char *p;
	size_t len;
	FILE *f;
};

static void put(struct obuf *b, const void *p, size_t n)
{
	cr_assert_eq(fwrite(p, 1, n, b->f), n);
}

static void put_u16(struct obuf *b, uint16_t v)
{
	put(b, &v, 2);
}
static void put_u32(struct obuf *b, uint32_t v)
{
	put(b, &v, 4);
}
static void put_u64(struct obuf *b, uint64_t v)
{
	put(b, &v, 8);
}

static void put_str(struct obuf *b, const char *s)
{
	put(b, s, strlen(s) + 1);
}

static void put_sized8(struct obuf *b, const char *s)
{
	put_u64(b, strlen(s));
	put(b, s, strlen(s));
}

static const char header_page[] = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
				  "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
				  "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
				  "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:1;\n";

static const char header_event[] = "# compressed entry header\n"
				   "\ttype_len    :    5 bits\n"
				   "\ttime_delta  :   27 bits\n"
				   "\tarray       :   32 bits\n"
				   "\n"
				   "\tpadding     : type == 29\n"
				   "\ttime_extend : type == 30\n"
				   "\ttime_stamp : type == 31\n"
				   "\tdata max type_len  == 28\n";

#define COMMON_FIELDS                                                                  \
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"         \
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"         \
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n" \
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"

static const char fmt_map[] =
	"name: map\nID: 700\nformat:\n" COMMON_FIELDS
	"\tfield:u64 iova;\toffset:8;\tsize:8;\tsigned:0;\n"
	"\tfield:u64 paddr;\toffset:16;\tsize:8;\tsigned:0;\n"
	"\tfield:size_t size;\toffset:24;\tsize:8;\tsigned:0;\n\n"
	"print fmt: \"IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx size=%zu\", "
	"REC->iova, REC->iova + REC->size, REC->paddr, REC->size\n";

static const char fmt_other[] = "name: other\nID: 701\nformat:\n" COMMON_FIELDS
				"\tfield:u64 x;\toffset:8;\tsize:8;\tsigned:0;\n\n"
				"print fmt: \"x=%llu\", REC->x\n";

/* One data record: type_len = payload words, time delta, payload. */
static void put_rec(struct obuf *b, uint32_t delta, uint16_t id, const uint64_t *f, unsigned nf)
{
	uint32_t words = (8 + 8 * nf) / 4;

	put_u32(b, words | delta << 5);
	put_u16(b, id);
	put_u16(b, 0); /* flags, preempt count */
	put_u32(b, 42); /* pid */
	put(b, f, 8 * nf);
}

static void make_tracedat(const char *path)
{
	struct obuf b = { 0 };
	uint64_t m1[] = { 0x100000, 0x21f201000, 0x1000 }, m2[] = { 0x200000, 0x300000, 0x2000 };
	uint64_t x[] = { 5 };
	size_t data_off, page_start, commit;

	b.f = open_memstream(&b.p, &b.len);
	cr_assert(b.f);
	put(&b, "\x17\x08\x44tracing6", 11);
	put(&b, "", 1); /* version string NUL */
	put(&b, "\0\x08", 2); /* little endian, long size 8 */
	put_u32(&b, 4096); /* page size */
	put_str(&b, "header_page");
	put_sized8(&b, header_page);
	put_str(&b, "header_event");
	put_sized8(&b, header_event);
	put_u32(&b, 0); /* ftrace event formats */
	put_u32(&b, 2); /* event systems */
	put_str(&b, "iommu");
	put_u32(&b, 1);
	put_sized8(&b, fmt_map);
	put_str(&b, "other");
	put_u32(&b, 1);
	put_sized8(&b, fmt_other);
	put_u32(&b, 0); /* kallsyms */
	put_u32(&b, 0); /* printk formats */
	put_sized8(&b, "42 dmatest\n"); /* saved cmdlines */
	put_u32(&b, 1); /* CPUs */
	put(&b, "options  ", 10);
	put_u16(&b, 0); /* no options */
	put(&b, "flyrecord", 10);
	fflush(b.f);
	data_off = (b.len + 16 + 4095) & ~(size_t)4095;
	put_u64(&b, data_off);
	put_u64(&b, 4096);
	fflush(b.f);
	while (b.len < data_off) {
		put(&b, "", 1);
		fflush(b.f);
	}
	page_start = b.len;
	put_u64(&b, 1000001000); /* page time stamp: 1.000001 s */
	put_u64(&b, 0); /* commit, patched below */
	put_rec(&b, 0, 700, m1, 3);
	put_rec(&b, 500, 701, x, 1);
	put_rec(&b, 1500, 700, m2, 3);
	fflush(b.f);
	commit = b.len - page_start - 16;
	while (b.len < page_start + 4096) {
		put(&b, "", 1);
		fflush(b.f);
	}
	cr_assert_eq(fclose(b.f), 0);
	memcpy(b.p + page_start + 8, &commit, 8);
	{
		FILE *f = fopen(path, "wb");

		cr_assert(f);
		cr_assert_eq(fwrite(b.p, 1, b.len, f), b.len);
		cr_assert_eq(fclose(f), 0);
	}
	free(b.p);
}

static const char expect_text[] =
	"dmatest-42 [000] 1.000001000: iommu:map: IOMMU: iova=0x0000000000100000 - "
	"0x0000000000101000 paddr=0x000000021f201000 size=4096\n"
	"dmatest-42 [000] 1.000003000: iommu:map: IOMMU: iova=0x0000000000200000 - "
	"0x0000000000202000 paddr=0x0000000000300000 size=8192\n";

Test(tracedat, generated_file)
{
	struct rt_linux_stats st;
	struct rt_trace a, b;
	struct rt_error err;
	char path[64], msg[512];
	int fd;

	if (!rt_tracedat_supported())
		cr_skip_test("built without libtracecmd");
	snprintf(path, sizeof(path), "/tmp/iommusim-gen-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	make_tracedat(path);
	rt_trace_init(&a, NULL);
	rt_trace_init(&b, NULL);
	if (rt_read_file(path, RT_FMT_AUTO, NULL, &a, &st, &err)) {
		rt_error_format(&err, msg, sizeof(msg));
		cr_assert_fail("%s", msg);
	}
	if (have_trace_cmd())
		check_against_report(path);
	unlink(path);
	/* the first timestamp only sets the origin */
	cr_assert_eq(a.n, 3, "map, time, map (%zu)", a.n);
	cr_assert_eq(a.ev[0].kind, RT_EV_LX_MAP);
	cr_assert_eq(a.ev[0].u.lx_map.paddr, 0x21f201000);
	cr_assert_eq(a.ev[1].kind, RT_EV_TIME);
	cr_assert_eq(a.ev[1].u.time.ns, 2000);
	cr_assert_eq(a.ev[2].kind, RT_EV_LX_MAP);
	cr_assert_eq(a.ev[2].u.lx_map.size, 0x2000);
	cr_assert_eq(st.lines, 2, "only the iommu records are rendered (%llu)",
		     (unsigned long long)st.lines);
	cr_assert_eq(st.parsed, 2);
	cr_assert_eq(rt_linux_read(expect_text, strlen(expect_text), NULL, &b, NULL, &err), 0);
	cr_assert_eq(rt_trace_canonicalise(&a), 0);
	cr_assert_eq(rt_trace_canonicalise(&b), 0);
	cr_assert_eq(a.n, b.n);
	cr_assert(rt_trace_equal(&a, &b));
	rt_trace_free(&a);
	rt_trace_free(&b);
}
