/* SPDX-License-Identifier: MIT */
/*
 * Generator plumbing: parameters and their defaults, kind names, the
 * dispatcher and the event emitters declared in gen.h. Every generator is a
 * pure function of its parameters: same kind and parameters (seed included),
 * same events, on every host.
 */
#include <errno.h>
#include <string.h>

#include "gen.h"

static const char *const kind_names[] = {
	[RT_GEN_NIC_RING] = "nic-ring", [RT_GEN_NIC_PERPACKET] = "nic-perpacket",
	[RT_GEN_NVME] = "nvme",		[RT_GEN_GPU] = "gpu",
	[RT_GEN_MIX] = "mix",
};

void rt_gen_defaults(struct rt_gen_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->count = 10000;
	p->vendor = "vtd";
	p->config = "";
	/* 0 for the rest means "the kind's default", resolved by each generator */
}

int rt_gen_kind_from_name(const char *s, enum rt_gen_kind *out)
{
	for (unsigned i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (!strcmp(s, kind_names[i])) {
			*out = (enum rt_gen_kind)i;
			return 0;
		}
	return -EINVAL;
}

const char *rt_gen_kind_name(enum rt_gen_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : NULL;
}

int rt_gen(enum rt_gen_kind kind, const struct rt_gen_params *p, struct rt_trace *out)
{
	switch (kind) {
	case RT_GEN_NIC_RING:
		return rt_gen_nic(p, false, out);
	case RT_GEN_NIC_PERPACKET:
		return rt_gen_nic(p, true, out);
	case RT_GEN_NVME:
		return rt_gen_nvme(p, out);
	case RT_GEN_GPU:
		return rt_gen_gpu(p, out);
	case RT_GEN_MIX:
		return rt_gen_mix(p, out);
	}
	return -EINVAL;
}

struct rt_event *gen_ev(struct gen *g, enum rt_kind kind)
{
	struct rt_event *e;

	/* pending idle time goes out just before the next event, merged */
	if (g->pending_ns) {
		uint64_t ns = g->pending_ns;

		g->pending_ns = 0;
		gen_ev(g, RT_EV_TIME)->u.time.ns = ns;
	}
	e = g->err ? NULL : rt_trace_push(g->t);

	if (!e) {
		if (!g->err)
			g->err = -ENOMEM;
		e = &g->scratch;
		memset(e, 0, sizeof(*e));
	}
	e->kind = (uint8_t)kind;
	return e;
}

uint32_t gen_str(struct gen *g, const char *s)
{
	uint32_t id = 0;

	if (!g->err && rt_str_intern_cstr(g->t, s, &id))
		g->err = -ENOMEM;
	return id;
}

void gen_begin(struct gen *g, struct rt_trace *t, const struct rt_gen_params *p, uint64_t mem)
{
	struct rt_event *e;

	memset(g, 0, sizeof(*g));
	g->t = t;
	g->p = p;
	g->rng = p->seed;
	e = gen_ev(g, RT_EV_MACHINE);
	e->u.machine.mem_size = mem;
	g->iommu = gen_str(g, "iommu0");
	e = gen_ev(g, RT_EV_IOMMU);
	e->u.iommu.name = g->iommu;
	e->u.iommu.vendor = gen_str(g, p->vendor && *p->vendor ? p->vendor : "vtd");
	e->u.iommu.config = gen_str(g, p->config ? p->config : "");
}

int gen_finish(struct gen *g)
{
	return g->err;
}

uint32_t gen_device(struct gen *g, const char *name, unsigned bus, unsigned dev, unsigned fn,
		    unsigned pasid_bits, uint16_t flags)
{
	uint32_t id = gen_str(g, name);
	struct rt_event *e = gen_ev(g, RT_EV_DEVICE);

	e->u.device.name = id;
	e->u.device.iommu = g->iommu;
	e->u.device.bus = (uint8_t)bus;
	e->u.device.devfn = (uint8_t)(dev << 3 | fn);
	e->u.device.pasid_bits = (uint8_t)pasid_bits;
	e->flags = flags;
	return id;
}

void gen_mmap(struct gen *g, uint32_t pid, uint64_t va, uint64_t len, uint16_t flags)
{
	struct rt_event *e = gen_ev(g, RT_EV_MMAP);

	e->u.mmap.pid = pid;
	e->u.mmap.va = va;
	e->u.mmap.len = len;
	e->u.mmap.prot = 3;
	e->flags = flags;
}

void gen_ioas(struct gen *g, uint32_t id)
{
	gen_ev(g, RT_EV_IOAS_ALLOC)->u.ioas.id = id;
}

void gen_attach(struct gen *g, uint32_t dev, uint32_t pt, uint32_t pasid)
{
	struct rt_event *e = gen_ev(g, RT_EV_ATTACH);

	e->u.attach.dev = dev;
	e->u.attach.pt = pt;
	e->u.attach.pasid = pasid;
}

void gen_map(struct gen *g, uint32_t ioas, uint64_t iova, uint32_t pid, uint64_t va, uint64_t len,
	     uint32_t tag)
{
	struct rt_event *e = gen_ev(g, RT_EV_MAP);

	e->flags = RT_MAP_READ | RT_MAP_WRITE;
	e->u.map.ioas = ioas;
	e->u.map.iova = iova;
	e->u.map.pid = pid;
	e->u.map.va = va;
	e->u.map.len = len;
	e->u.map.tag = tag;
}

void gen_unmap(struct gen *g, uint32_t ioas, uint64_t iova, uint64_t len, uint32_t tag)
{
	struct rt_event *e = gen_ev(g, RT_EV_UNMAP);

	e->u.unmap.ioas = ioas;
	e->u.unmap.iova = iova;
	e->u.unmap.len = len;
	e->u.unmap.tag = tag;
	if (g->p->strict_flush)
		gen_flush(g, ioas);
}

void gen_dma(struct gen *g, uint32_t dev, enum rt_dir dir, uint64_t iova, uint64_t len)
{
	struct rt_event *e = gen_ev(g, RT_EV_DMA);

	e->dir = (uint8_t)dir;
	e->u.dma.dev = dev;
	e->u.dma.pasid = RT_PASID_NONE;
	e->u.dma.iova = iova;
	e->u.dma.len = len;
}

void gen_time(struct gen *g, uint64_t ns)
{
	g->pending_ns += ns;
}

void gen_flush(struct gen *g, uint32_t ioas)
{
	gen_ev(g, RT_EV_FLUSH)->u.flush.ioas = ioas;
}
