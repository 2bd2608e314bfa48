/* SPDX-License-Identifier: MIT */
/*
 * The Linux ftrace importer on traces/linux-example.txt (every line
 * accounted for, exact counts) and on malformed lines.
 */
#include <string.h>

#include "replay_test_util.h"

Test(linux_import, bundled_example_every_line_accounted_for)
{
	struct rt_read_opts o = { .name = "linux-example.txt" };
	struct rt_linux_stats st;
	struct rt_error err;
	struct rt_trace t;
	unsigned kinds[RT_EV_NR_KINDS] = { 0 };
	uint64_t ns = 0;
	size_t len;
	char *buf = read_all(IOMMUSIM_SOURCE_DIR "/traces/linux-example.txt", &len);

	rt_trace_init(&t, NULL);
	cr_assert_eq(rt_linux_read(buf, len, &o, &t, &st, &err), 0, "%s", err_text(&err));
	cr_assert_eq(st.lines, 54);
	cr_assert_eq(st.parsed, 31);
	cr_assert_eq(st.header, 21);
	cr_assert_eq(st.unrelated, 2);
	cr_assert_eq(st.bad, 0);
	cr_assert_eq(st.parsed + st.header + st.unrelated + st.bad, st.lines);
	cr_assert_eq(st.events, t.n);
	cr_assert_eq(t.n, 71);
	for (size_t i = 0; i < t.n; i++) {
		kinds[t.ev[i].kind]++;
		if (t.ev[i].kind == RT_EV_TIME)
			ns += t.ev[i].u.time.ns;
	}
	cr_assert_eq(kinds[RT_EV_LX_MAP], 5);
	cr_assert_eq(kinds[RT_EV_LX_UNMAP], 3);
	cr_assert_eq(kinds[RT_EV_LX_FAULT], 1);
	cr_assert_eq(kinds[RT_EV_LX_ATTACH], 1);
	cr_assert_eq(kinds[RT_EV_LX_DETACH], 1);
	cr_assert_eq(kinds[RT_EV_LX_ADD_GROUP], 1);
	cr_assert_eq(kinds[RT_EV_LX_REMOVE_GROUP], 1);
	cr_assert_eq(kinds[RT_EV_LX_DMA_MAP_PAGE], 5);
	cr_assert_eq(kinds[RT_EV_LX_DMA_UNMAP_PAGE], 2);
	cr_assert_eq(kinds[RT_EV_LX_DMA_MAP_PHYS], 1);
	cr_assert_eq(kinds[RT_EV_LX_DMA_UNMAP_PHYS], 1);
	cr_assert_eq(kinds[RT_EV_LX_DMA_ALLOC], 1);
	cr_assert_eq(kinds[RT_EV_LX_DMA_FREE], 1);
	cr_assert_eq(kinds[RT_EV_LX_DMA_MAP_SG], 2);
	cr_assert_eq(kinds[RT_EV_LX_DMA_UNMAP_SG], 1);
	cr_assert_eq(kinds[RT_EV_LX_DMA_SYNC_SG_FOR_CPU], 1);
	cr_assert_eq(kinds[RT_EV_LX_DMA_SYNC_SG_FOR_DEVICE], 1);
	cr_assert_eq(kinds[RT_EV_LX_DMA_SYNC_SINGLE_FOR_CPU], 1);
	cr_assert_eq(kinds[RT_EV_LX_DMA_SYNC_SINGLE_FOR_DEVICE], 1);
	cr_assert_eq(kinds[RT_EV_LX_SG_ENT], 11);
	cr_assert_eq(kinds[RT_EV_TIME], 29);
	/* the clock advanced from the first to the last timestamp */
	cr_assert_eq(ns, 1523900010000ull - 1523104211000ull);
	/* spot checks: fields, the old map layout, the driver of a fault */
	for (size_t i = 0; i < t.n; i++) {
		const struct rt_event *e = &t.ev[i];

		if (e->kind == RT_EV_LX_FAULT) {
			cr_assert_str_eq(rt_str(&t, e->u.lx_fault.driver), "nvme");
			cr_assert_str_eq(rt_str(&t, e->u.lx_fault.dev), "0000:04:00.0");
			cr_assert_eq(e->u.lx_fault.iova, 0xdead0000);
			cr_assert_eq(e->u.lx_fault.fault_flags, 1);
		}
		if (e->kind == RT_EV_LX_MAP && e->u.lx_map.iova == 0x80600000)
			cr_assert_eq(e->flags, RT_LX_NO_END);
		if (e->kind == RT_EV_LX_DMA_MAP_PAGE && e->u.lx_dma.dma == 0xffffe000) {
			cr_assert_eq(e->dir, RT_DIR_READ);
			cr_assert_eq(e->u.lx_dma.size, 60);
			cr_assert_eq(e->u.lx_dma.phys, 0x12a3b5000);
			cr_assert_eq(rt_lx_attrs(e), RT_ATTR_SKIP_CPU_SYNC);
		}
	}
	free(buf);
	rt_trace_free(&t);
}

struct bad_case {
	const char *line;
	const char *msg;
};

Test(linux_import, malformed_lines)
{
	static const struct bad_case cases[] = {
		{ " a-1 [000] 1.5: dma_map_page: 0000:03:00.0 dir=SIDEWAYS dma_addr=1 size=1 "
		  "phys_addr=1 attrs=\n",
		  "x.txt:1: field 'dir': unknown direction 'SIDEWAYS'" },
		{ " a-1 [000] 1.5: dma_map_page: 0000:03:00.0 dir=TO_DEVICE dma_addr=1 size=1 "
		  "attrs=\n",
		  "x.txt:1: field 'phys_addr': missing" },
		{ " a-1 [000] 1.5: map: IOMMU: iova=0x1000 - 0x3000 paddr=0x0 size=4096\n",
		  "x.txt:1: field 'iova': end 0x3000 is not iova + size" },
		{ " a-1 [000] 1.5: iommu:map: iova=0x1000 paddr=0x0 size=4096\n",
		  "x.txt:1: payload does not start with 'IOMMU:'" },
		{ " a-1 [000] 1.5: dma_unmap_page: dev dir=NONE dma_addr=xyz size=1 attrs=\n",
		  "x.txt:1: field 'dma_addr': not a hex number: 'xyz'" },
		{ " a-1 [000] 1.5: dma_map_sg: dev dir=NONE dma_addrs={0x1,0x2} sizes={0x1} "
		  "phys_addrs={} attrs=\n",
		  "x.txt:1: field 'sizes': 1 sizes for 2 dma_addrs" },
		{ " a-1 [000] 1.5: dma_sync_sg_for_cpu: dev dir=NONE dma_addrs={0x1,} "
		  "sizes={0x1}\n",
		  "x.txt:1: field 'dma_addrs': trailing ',' in array" },
	};
	struct rt_read_opts o = { .name = "x.txt" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rt_linux_stats st;
		struct rt_error err;
		struct rt_trace t;

		rt_trace_init(&t, NULL);
		cr_assert_eq(rt_linux_read(cases[i].line, strlen(cases[i].line), &o, &t, &st, &err),
			     -22, "case %zu", i);
		cr_assert_str_eq(err_text(&err), cases[i].msg, "case %zu", i);
		cr_assert_eq(t.n, 0, "case %zu", i);
		rt_trace_free(&t);
	}
}

Test(linux_import, skip_bad_and_unrelated)
{
	static const char in[] =
		"  a-1 [000] 1.000001: dma_map_page: d dir=TO_DEVICE dma_addr=1 size=1 phys_addr=2 "
		"attrs=\n"
		"  a-1 [000] 1.000002: dma_map_page: d dir=TO_DEVICE size=1 phys_addr=2 attrs=\n"
		"  a-1 [000] 1.000003: map: not the iommu one\n"
		"  a-1 [000] 1.000004: something else entirely\n"
		"garbage\n"
		"  a-1 [000] 1.000005: dma_unmap_page: d dir=TO_DEVICE dma_addr=1 size=1 "
		"attrs=NO_WARN|FUTURE\n";
	struct rt_read_opts o = { .name = "y.txt", .skip_bad = true };
	struct rt_linux_stats st;
	struct rt_error err;
	struct rt_trace t;

	rt_trace_init(&t, NULL);
	cr_assert_eq(rt_linux_read(in, strlen(in), &o, &t, &st, &err), 0);
	cr_assert_eq(st.lines, 6);
	cr_assert_eq(st.parsed, 2);
	cr_assert_eq(st.bad, 1);
	cr_assert_eq(st.unrelated, 3);
	cr_assert_eq(err.skipped, 1);
	cr_assert_str_eq(err_text(&err), "y.txt:2: field 'dma_addr': missing");
	/* map, time (4 us: the bad and unrelated lines do not move the clock), unmap */
	cr_assert_eq(t.n, 3);
	cr_assert_eq(t.ev[1].kind, RT_EV_TIME);
	cr_assert_eq(t.ev[1].u.time.ns, 4000);
	cr_assert_eq(rt_lx_attrs(&t.ev[2]), RT_ATTR_NO_WARN | RT_ATTR_OTHER);
	rt_trace_free(&t);
}
