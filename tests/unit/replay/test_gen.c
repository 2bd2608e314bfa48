/* SPDX-License-Identifier: MIT */
/*
 * Generators: determinism (same seed, same bytes), seeds matter, the
 * bundled traces are reproducible from the commands in traces/README.md,
 * and redaction is stable and keeps the structure the replay needs.
 */
#include <string.h>

#include "replay_test_util.h"

static struct membuf gen_text(enum rt_gen_kind k, const struct rt_gen_params *p)
{
	struct rt_trace t;
	struct membuf m;

	rt_trace_init(&t, NULL);
	cr_assert_eq(rt_gen(k, p, &t), 0, "kind %d seed %llu", k, (unsigned long long)p->seed);
	m = write_mem(&t, 0);
	rt_trace_free(&t);
	return m;
}

Test(gen, deterministic_for_a_seed)
{
	for (int k = RT_GEN_NIC_RING; k <= RT_GEN_MIX; k++) {
		struct rt_gen_params p;
		struct membuf a, b, c;

		rt_gen_defaults(&p);
		p.count = 500;
		p.seed = 42;
		a = gen_text(k, &p);
		b = gen_text(k, &p);
		cr_assert_eq(a.len, b.len, "kind %d seed 42", k);
		cr_assert(!memcmp(a.p, b.p, a.len), "kind %d seed 42", k);
		p.seed = 43;
		c = gen_text(k, &p);
		cr_assert(a.len != c.len || memcmp(a.p, c.p, a.len), "kind %d: seed ignored", k);
		free(a.p), free(b.p), free(c.p);
	}
}

/* The commands in traces/README.md, as parameters. */
Test(gen, bundled_traces_reproduce)
{
	static const struct {
		const char *file;
		enum rt_gen_kind kind;
		uint64_t count;
		uint32_t depth;
		bool strict;
	} b[] = {
		{ "nic-ring.trace", RT_GEN_NIC_RING, 3000, 0, false },
		{ "nic-perpacket.trace", RT_GEN_NIC_PERPACKET, 2000, 64, false },
		{ "nvme-4k.trace", RT_GEN_NVME, 2500, 0, false },
		{ "gpu-bulk.trace", RT_GEN_GPU, 3000, 0, false },
		{ "mix.trace", RT_GEN_MIX, 5000, 0, false },
	};

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		char path[512];
		struct rt_gen_params p;
		struct membuf m;
		size_t len;
		char *file;

		snprintf(path, sizeof(path), IOMMUSIM_SOURCE_DIR "/traces/%s", b[i].file);
		file = read_all(path, &len);
		rt_gen_defaults(&p);
		p.count = b[i].count;
		p.depth = b[i].depth;
		p.strict_flush = b[i].strict;
		m = gen_text(b[i].kind, &p);
		cr_assert_lt(len, 1 << 20, "%s is over 1 MiB", b[i].file);
		cr_assert_eq(m.len, len, "%s: regenerate it (traces/README.md)", b[i].file);
		cr_assert(!memcmp(m.p, file, len), "%s differs from its generator", b[i].file);
		free(m.p);
		free(file);
	}
}

Test(gen, bad_parameters)
{
	struct rt_gen_params p;
	struct rt_trace t;
	enum rt_gen_kind k;

	rt_gen_defaults(&p);
	p.size = 9000; /* larger than a NIC buffer slot */
	rt_trace_init(&t, NULL);
	cr_assert_eq(rt_gen(RT_GEN_NIC_RING, &p, &t), -22);
	rt_trace_free(&t);
	cr_assert_eq(rt_gen_kind_from_name("nvme", &k), 0);
	cr_assert_eq(k, RT_GEN_NVME);
	cr_assert_eq(rt_gen_kind_from_name("tape", &k), -22);
}

static const struct rt_event *find_kind(const struct rt_trace *t, unsigned kind, size_t nth)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->ev[i].kind == kind && nth-- == 0)
			return &t->ev[i];
	return NULL;
}

Test(gen, redaction_stable_and_structure_preserving)
{
	struct rt_gen_params p;
	struct rt_trace a, b, c, lx;
	struct membuf ma, mb, mc;
	struct rt_error err;
	size_t len;
	char *buf;

	rt_gen_defaults(&p);
	p.count = 300;
	rt_trace_init(&a, NULL), rt_trace_init(&b, NULL), rt_trace_init(&c, NULL);
	cr_assert_eq(rt_gen(RT_GEN_NVME, &p, &a), 0);
	cr_assert_eq(rt_gen(RT_GEN_NVME, &p, &b), 0);
	cr_assert_eq(rt_gen(RT_GEN_NVME, &p, &c), 0);
	cr_assert_eq(rt_redact(&a, 7), 0);
	cr_assert_eq(rt_redact(&b, 7), 0);
	cr_assert_eq(rt_redact(&c, 8), 0);
	ma = write_mem(&a, 0), mb = write_mem(&b, 0), mc = write_mem(&c, 0);
	cr_assert(ma.len == mb.len && !memcmp(ma.p, mb.p, ma.len), "same key, different output");
	cr_assert(ma.len != mc.len || memcmp(ma.p, mc.p, ma.len), "key ignored");
	/* every map's VA still lies inside a (redacted) mmap region of its process */
	for (size_t i = 0; i < a.n; i++) {
		const struct rt_event *e = &a.ev[i];
		bool inside = false;

		if (e->kind != RT_EV_MAP)
			continue;
		for (size_t j = 0; j < a.n; j++) {
			const struct rt_event *m = &a.ev[j];

			if (m->kind == RT_EV_MMAP && m->u.mmap.pid == e->u.map.pid &&
			    e->u.map.va >= m->u.mmap.va &&
			    e->u.map.va + e->u.map.len <= m->u.mmap.va + m->u.mmap.len)
				inside = true;
		}
		cr_assert(inside, "event %zu: va 0x%llx left its region", i,
			  (unsigned long long)e->u.map.va);
	}
	cr_assert_neq(find_kind(&a, RT_EV_MMAP, 0)->u.mmap.va,
		      find_kind(&b, RT_EV_MMAP, 0)->u.mmap.va + 0 * 1 + 1);
	free(ma.p), free(mb.p), free(mc.p);
	rt_trace_free(&a), rt_trace_free(&b), rt_trace_free(&c);

	/* Linux trace: the same physical page keeps one pseudonym, offsets in 2 MiB survive */
	buf = read_all(IOMMUSIM_SOURCE_DIR "/traces/linux-example.txt", &len);
	rt_trace_init(&lx, NULL);
	cr_assert_eq(rt_linux_read(buf, len, NULL, &lx, NULL, &err), 0);
	cr_assert_eq(rt_redact(&lx, 99), 0);
	{
		const struct rt_event *m0 = find_kind(&lx, RT_EV_LX_MAP, 0); /* paddr 0x12a3b4000 */
		const struct rt_event *d0 =
			find_kind(&lx, RT_EV_LX_DMA_MAP_PAGE, 0); /* phys 0x12a3b4040 */

		cr_assert_neq(m0->u.lx_map.paddr, 0x12a3b4000ull);
		cr_assert_eq(d0->u.lx_dma.phys, m0->u.lx_map.paddr + 0x40);
		cr_assert_eq(m0->u.lx_map.paddr & 0x1fffff, 0x12a3b4000ull & 0x1fffff);
		cr_assert_eq(m0->u.lx_map.iova, 0xfffff000); /* IOVAs are kept */
	}
	free(buf);
	rt_trace_free(&lx);
}
