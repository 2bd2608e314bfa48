/* SPDX-License-Identifier: MIT */
/*
 * Text and binary formats: round trips in both directions, canonical output,
 * malformed input and the error text naming file, line and field.
 */
#include <string.h>

#include "replay_test_util.h"

static const char sample[] =
	"# a hand-written trace using every kind of our own\n"
	"iommusim-trace v1\n"
	"\n"
	"machine mem=4G\n"
	"iommu name=iommu0 vendor=vtd config=\"vtd.levels=4 vtd.iotlb=64x8\"\n"
	"device name=nic0 iommu=iommu0 bdf=03:00.0 flags=ats,pri pasid_bits=20\n"
	"mmap pid=1 va=0x7f0000000000 len=2M prot=rw flags=huge2m,locked   # trailing comment\n"
	"memfd name=\"buf one\" size=1M\n"
	"ioas_alloc id=1\n"
	"hwpt_alloc id=2 dev=nic0 pt=1 flags=nest_parent\n"
	"attach dev=nic0 pt=1\n"
	"attach dev=nic0 pt=2 pasid=7\n"
	"map ioas=1 iova=0x100000 pid=1 va=0x7f0000000000 len=0x200000 flags=read,write\n"
	"map ioas=1 iova=auto pid=1 va=0x7f0000001000 len=4096 flags=read tag=9\n"
	"map_file ioas=1 iova=0x400000 file=\"buf one\" offset=0 len=4K flags=read,write\n"
	"copy dst_ioas=1 dst_iova=auto src_ioas=1 src_iova=0x100000 len=4096 flags=read dst_tag=3\n"
	"dma dev=nic0 dir=write iova=0x100000 len=1500\n"
	"dma dev=nic0 dir=read iova=0x10 len=16 tag=9 pasid=7\n"
	"time ns=1000\n"
	"unmap ioas=1 iova=0x100000 len=0x200000\n"
	"flush ioas=1 iova=0x100000 len=2097152 flags=devtlb\n"
	"flush\n"
	"detach dev=nic0 pasid=7\n"
	"ioas_destroy id=2\n"
	"munmap pid=1 va=0x7f0000000000 len=2M\n"
	"lx_map iova=0x1000 paddr=0x2000 size=4096\n"
	"lx_unmap iova=0x1000 size=4096 unmapped=4096 flags=no_end\n"
	"lx_io_page_fault dev=0000:03:00.0 driver=\"\" iova=0xdead000 flags=0x1\n"
	"lx_add_group group=-1 dev=0000:03:00.0\n"
	"lx_dma_map_sg dev=0000:03:00.0 dir=FROM_DEVICE n=1 nents=1 ents=1 "
	"attrs=SKIP_CPU_SYNC|TRUNCATED\n"
	"lx_sg dma=0x1000 phys=0x2000 len=4096 flags=dma,phys,len\n"
	"lx_dma_alloc dev=x dir=BIDIRECTIONAL dma=0x1 size=1 virt=0xffff "
	"gfp=GFP_KERNEL|__GFP_ZERO\n";

static void read_text(const char *s, size_t len, struct rt_trace *t)
{
	struct rt_error err;
	struct rt_read_opts o = { .name = "sample.trace" };
	int ret = rt_text_read(s, len, &o, t, &err);

	cr_assert_eq(ret, 0, "%s", err_text(&err));
}

Test(formats, text_binary_text_identical_after_canonicalisation)
{
	struct rt_trace a, b, c;
	struct membuf canon, bin, text2, bin2;
	struct rt_error err;

	rt_trace_init(&a, NULL);
	read_text(sample, strlen(sample), &a);
	cr_assert_eq(a.n, 29);
	canon = write_mem(&a, 0);

	/* canonical text -> binary -> text: byte-identical */
	rt_trace_init(&b, NULL);
	read_text(canon.p, canon.len, &b);
	bin = write_mem(&b, 1);
	rt_trace_init(&c, NULL);
	cr_assert_eq(rt_bin_read(bin.p, bin.len, NULL, &c, &err), 0, "%s", err_text(&err));
	text2 = write_mem(&c, 0);
	cr_assert_eq(text2.len, canon.len);
	cr_assert(!memcmp(text2.p, canon.p, canon.len), "text differs:\n%s\n---\n%s", canon.p,
		  text2.p);

	/* binary -> text -> binary: identical */
	rt_trace_free(&b);
	rt_trace_init(&b, NULL);
	read_text(text2.p, text2.len, &b);
	bin2 = write_mem(&b, 1);
	cr_assert_eq(bin2.len, bin.len);
	cr_assert(!memcmp(bin2.p, bin.p, bin.len));

	cr_assert(rt_trace_canonicalise(&a) == 0 && rt_trace_canonicalise(&c) == 0);
	cr_assert(rt_trace_equal(&a, &c));
	/* binary is much smaller than text */
	cr_assert_lt(bin.len * 2, canon.len);

	free(canon.p), free(bin.p), free(text2.p), free(bin2.p);
	rt_trace_free(&a), rt_trace_free(&b), rt_trace_free(&c);
}

Test(formats, canonical_spelling)
{
	static const char in[] = "iommusim-trace v1\n"
				 "dma   len=4K iova=4096 dir=read dev=\"nic0\" pasid=none\n"
				 "device name=d iommu=i bdf=0001:0a:1f.7\n";
	struct rt_trace t;
	struct membuf m;

	rt_trace_init(&t, NULL);
	read_text(in, strlen(in), &t);
	m = write_mem(&t, 0);
	cr_assert_str_eq(m.p, "iommusim-trace v1\n"
			      "dma dev=nic0 dir=read iova=0x1000 len=4096\n"
			      "device name=d iommu=i bdf=0001:0a:1f.7\n");
	cr_assert_eq(t.ev[0].src_line, 2);
	cr_assert_eq(t.ev[0].u.dma.pasid, RT_PASID_NONE);
	free(m.p);
	rt_trace_free(&t);
}

Test(formats, string_escapes_round_trip)
{
	struct rt_trace t, u;
	struct membuf m;
	uint32_t id;
	struct rt_event *e;
	struct rt_error err;

	rt_trace_init(&t, NULL);
	e = rt_trace_push(&t);
	e->kind = RT_EV_IOMMU;
	cr_assert_eq(rt_str_intern_cstr(&t, "a \"q\" \\ #=\t\x01\xff", &id), 0);
	e->u.iommu.name = id;
	e->u.iommu.vendor = id;
	m = write_mem(&t, 0);
	rt_trace_init(&u, NULL);
	cr_assert_eq(rt_text_read(m.p, m.len, NULL, &u, &err), 0, "%s", err_text(&err));
	cr_assert_str_eq(rt_str(&u, u.ev[0].u.iommu.name), "a \"q\" \\ #=\t\x01\xff");
	free(m.p);
	rt_trace_free(&t), rt_trace_free(&u);
}

struct bad_case {
	const char *body;
	const char *msg;
};

Test(formats, malformed_text_names_file_line_field)
{
	static const struct bad_case cases[] = {
		{ "iommusim-trace v1\ndma dev=nic0 dir=read iova=0x1000 len=abc\n",
		  "bad.trace:2: field 'len': not a number: 'abc'" },
		{ "iommusim-trace v1\n# c\ndma dev=nic0 dir=read iova=0x1000\n",
		  "bad.trace:3: field 'len': missing (required by 'dma')" },
		{ "iommusim-trace v1\ndma dev=nic0 dir=read iova=0x1000 len=1 foo=1\n",
		  "bad.trace:2: field 'foo': unknown field for 'dma'" },
		{ "iommusim-trace v1\ndma dev=nic0 dir=read dir=write iova=0 len=1\n",
		  "bad.trace:2: field 'dir': given twice" },
		{ "iommusim-trace v1\nfrob x=1\n", "bad.trace:2: unknown event kind 'frob'" },
		{ "dma dev=nic0\n", "bad.trace:1: expected the header line 'iommusim-trace v1'" },
		{ "iommusim-trace v2\n",
		  "bad.trace:1: unsupported version 'v2' (this build reads v1)" },
		{ "", "bad.trace: empty input: no 'iommusim-trace v1' header" },
		{ "iommusim-trace v1\ndma dev=nic0 dir=sideways iova=0 len=1\n",
		  "bad.trace:2: field 'dir': unknown direction 'sideways'" },
		{ "iommusim-trace v1\nattach dev=x pt=1 pasid=4294967295\n",
		  "bad.trace:2: field 'pasid': PASID out of range: '4294967295'" },
		{ "iommusim-trace v1\niommu name=\"abc vendor=x\n",
		  "bad.trace:2: field 'name': unterminated string" },
		{ "iommusim-trace v1\nmap ioas=1 iova=0x1 pid=1 va=0 len=99999999999999999999\n",
		  "bad.trace:2: field 'len': number out of range: '99999999999999999999'" },
		{ "iommusim-trace v1\ndevice name=d iommu=i bdf=00:20.0\n",
		  "bad.trace:2: field 'bdf': PCI address out of range: '00:20.0'" },
		{ "iommusim-trace v1\nmmap pid=1 va=0 len=1 prot=rq\n",
		  "bad.trace:2: field 'prot': bad protection 'rq' (use r, w, x or none)" },
		{ "iommusim-trace v1\nmap ioas=1 iova=0 pid=1 va=0 len=1 flags=read,exec\n",
		  "bad.trace:2: field 'flags': unknown flag 'exec'" },
		{ "iommusim-trace v1\nflush bogus\n",
		  "bad.trace:2: expected key=value, got 'bogus'" },
	};
	struct rt_read_opts o = { .name = "bad.trace" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rt_trace t;
		struct rt_error err;

		rt_trace_init(&t, NULL);
		cr_assert_eq(rt_text_read(cases[i].body, strlen(cases[i].body), &o, &t, &err), -22,
			     "case %zu", i);
		cr_assert_str_eq(err_text(&err), cases[i].msg, "case %zu", i);
		cr_assert_eq(t.n, 0, "case %zu: a bad line left an event", i);
		rt_trace_free(&t);
	}
}

Test(formats, skip_bad_counts_and_keeps_first_error)
{
	static const char in[] = "iommusim-trace v1\n"
				 "dma dev=a dir=read iova=0 len=1\n"
				 "dma dev=a dir=read iova=zz len=1\n"
				 "time ns=5\n"
				 "nope\n"
				 "time ns=x\n";
	struct rt_read_opts o = { .name = "s.trace", .skip_bad = true };
	struct rt_trace t;
	struct rt_error err;

	rt_trace_init(&t, NULL);
	cr_assert_eq(rt_text_read(in, strlen(in), &o, &t, &err), 0);
	cr_assert_eq(err.skipped, 3);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(err_text(&err), "s.trace:3: field 'iova': not a number: 'zz'");
	rt_trace_free(&t);
}

Test(formats, malformed_binary)
{
	static const char in[] = "iommusim-trace v1\ndma dev=nic0 dir=read iova=0x1000 len=64\n";
	struct rt_read_opts o = { .name = "b.rtb" };
	struct rt_trace t, u;
	struct rt_error err;
	struct membuf m;

	rt_trace_init(&t, NULL);
	read_text(in, strlen(in), &t);
	m = write_mem(&t, 1);
	rt_trace_init(&u, NULL);
	/* every truncation fails cleanly */
	for (size_t cut = 0; cut < m.len; cut++) {
		cr_assert_eq(rt_bin_read(m.p, cut, &o, &u, &err), -22, "cut %zu", cut);
		u.n = 0;
	}
	cr_assert_eq(rt_bin_read(m.p, m.len - 1, &o, &u, &err), -22);
	cr_assert_str_eq(err_text(&err), "b.rtb:record 1: field 'tag': truncated (offset 44)");
	/* a bad version */
	m.p[12] = 9;
	cr_assert_eq(rt_bin_read(m.p, m.len, &o, &u, &err), -22);
	cr_assert_str_eq(err_text(&err),
			 "b.rtb: field 'version': unsupported version 9 (this build reads 1)");
	m.p[12] = 1;
	/* a big-endian header reads the same */
	{
		char *be = malloc(m.len);

		memcpy(be, m.p, m.len);
		for (int i = 0; i < 2; i++) {
			char x = be[8 + i];

			be[8 + i] = be[11 - i], be[11 - i] = x;
		}
		be[12] = 0, be[13] = 1, be[14] = 0, be[15] = 32;
		for (int i = 0; i < 2; i++) {
			char x = be[20 + i];

			be[20 + i] = be[23 - i], be[23 - i] = x;
		}
		for (int i = 0; i < 4; i++) {
			char x = be[24 + i];

			be[24 + i] = be[31 - i], be[31 - i] = x;
		}
		cr_assert_eq(rt_bin_read(be, m.len, &o, &u, &err), 0, "%s", err_text(&err));
		cr_assert_eq(u.n, 1);
		cr_assert_eq(u.ev[0].u.dma.len, 64);
		free(be);
	}
	free(m.p);
	rt_trace_free(&t), rt_trace_free(&u);
}

Test(formats, detect)
{
	cr_assert_eq(rt_format_detect("IOMMUTRC\x04\x03", 10), RT_FMT_BINARY);
	cr_assert_eq(rt_format_detect("# x\n\niommusim-trace v1\n", 22), RT_FMT_TEXT);
	cr_assert_eq(rt_format_detect("# tracer: nop\n  bash-1 [000] 1.0: map: x\n", 40),
		     RT_FMT_LINUX);
	cr_assert_eq(rt_format_from_name("x.rtb"), RT_FMT_BINARY);
	cr_assert_eq(rt_format_from_name("x.trace"), RT_FMT_TEXT);
}
