/* SPDX-License-Identifier: MIT */
/*
 * Redaction: replace host addresses with stable pseudonyms so a trace can be
 * shared without revealing a machine's address layout.
 *
 *  - User VAs: each mmap region (in order of appearance) is relocated to a
 *    new base; every VA inside a region (map, munmap, later mmaps) moves with
 *    it, so containment and offsets inside regions survive. New bases are laid
 *    out upwards from 0x100000000000 with keyed gaps, aligned to the region's
 *    page size. VAs outside every region go through the address permutation
 *    below.
 *  - Physical and kernel addresses (lx paddr, phys, virt, sg entries): a keyed
 *    permutation of the 2 MiB frame number (bits 21..51; higher bits and the
 *    low 21 bits are kept). A permutation keeps distinct frames distinct and
 *    the same frame always gets the same pseudonym, and keeping the offset in
 *    2 MiB keeps huge mappings and the 4 KiB pages inside them consistent
 *    between iommu:map and dma:* lines.
 *
 * The permutation is a 4-round Feistel network on 32 bits with cycle-walking
 * down to the 31-bit domain, keyed by rt_mix64(key + round).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>

#include "rt_schema.h"

#define FRAME_SHIFT 21
#define FRAME_BITS 31 /* bits 21..51 */

static uint32_t feistel32(uint32_t x, uint64_t key)
{
	uint32_t l = x >> 16, r = x & 0xffff;

	for (unsigned i = 0; i < 4; i++) {
		uint32_t f =
			(uint32_t)rt_mix64(key + i * UINT64_C(0x9e3779b97f4a7c15) + r) & 0xffff;
		uint32_t nl = r;

		r = l ^ f;
		l = nl;
	}
	return l << 16 | r;
}

static uint64_t redact_phys(uint64_t a, uint64_t key)
{
	uint64_t frame = (a >> FRAME_SHIFT) & ((UINT64_C(1) << FRAME_BITS) - 1);
	uint32_t x = (uint32_t)frame;

	/* cycle-walk: a bijection on [0, 2^32) restricted to [0, 2^31) */
	do
		x = feistel32(x, key);
	while (x >> FRAME_BITS);
	return (a & ~(((UINT64_C(1) << FRAME_BITS) - 1) << FRAME_SHIFT)) |
	       ((uint64_t)x << FRAME_SHIFT);
}

struct region {
	uint32_t pid;
	uint64_t va, len, nva;
};

static int region_cmp(const void *a, const void *b)
{
	const struct region *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->va < y->va ? -1 : x->va > y->va;
}

/* The region containing [va, va+1) for pid, or NULL (regions sorted). */
static const struct region *lookup(const struct region *r, size_t n, uint32_t pid, uint64_t va)
{
	size_t lo = 0, hi = n;
	const struct region *best = NULL;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].pid < pid || (r[mid].pid == pid && r[mid].va <= va)) {
			if (r[mid].pid == pid)
				best = &r[mid];
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (best && va - best->va < best->len)
		return best;
	return NULL;
}

static uint64_t redact_va(const struct region *r, size_t n, uint32_t pid, uint64_t va, uint64_t key)
{
	const struct region *g = lookup(r, n, pid, va);

	if (g)
		return g->nva + (va - g->va);
	return redact_phys(va, key ^ UINT64_C(0x5641)); /* "VA" tweak */
}

int rt_redact(struct rt_trace *t, uint64_t key)
{
	struct region *rg;
	size_t nr = 0, m = 0;
	uint64_t next = UINT64_C(0x100000000000);

	for (size_t i = 0; i < t->n; i++)
		nr += t->ev[i].kind == RT_EV_MMAP;
	rg = fault_calloc(t->fc, "replay.redact", nr ? nr : 1, sizeof(*rg));
	if (!rg)
		return -ENOMEM;
	/* new bases in order of appearance; identical regions keep one pseudonym */
	for (size_t i = 0; i < t->n; i++) {
		const struct rt_event *e = &t->ev[i];
		uint64_t align = 1ull << 12, gap;

		if (e->kind != RT_EV_MMAP)
			continue;
		if (e->flags & RT_MMAP_HUGE_1G)
			align = 1ull << 30;
		else if (e->flags & RT_MMAP_HUGE_2M)
			align = 1ull << 21;
		gap = (rt_mix64(key ^ (m * 0x9e37u)) & 0xff) << 12;
		next = (next + gap + align - 1) & ~(align - 1);
		rg[m].pid = e->u.mmap.pid;
		rg[m].va = e->u.mmap.va;
		rg[m].len = e->u.mmap.len;
		rg[m].nva = next + (e->u.mmap.va & (align - 1) & 0xfff);
		next += (e->u.mmap.len + 0xfff) & ~UINT64_C(0xfff);
		m++;
	}
	qsort(rg, m, sizeof(*rg), region_cmp);
	for (size_t i = 0; i < t->n; i++) {
		struct rt_event *e = &t->ev[i];

		switch (e->kind) {
		case RT_EV_MMAP:
		case RT_EV_MUNMAP:
			e->u.mmap.va = redact_va(rg, m, e->u.mmap.pid, e->u.mmap.va, key);
			break;
		case RT_EV_MAP:
			e->u.map.va = redact_va(rg, m, e->u.map.pid, e->u.map.va, key);
			break;
		case RT_EV_LX_MAP:
			e->u.lx_map.paddr = redact_phys(e->u.lx_map.paddr, key);
			break;
		case RT_EV_LX_DMA_MAP_PAGE:
		case RT_EV_LX_DMA_MAP_RESOURCE:
		case RT_EV_LX_DMA_MAP_PHYS:
		case RT_EV_LX_DMA_ALLOC:
		case RT_EV_LX_DMA_ALLOC_PAGES:
		case RT_EV_LX_DMA_FREE:
		case RT_EV_LX_DMA_FREE_PAGES:
		case RT_EV_LX_DMA_ALLOC_SGT:
		case RT_EV_LX_DMA_ALLOC_SGT_ERR:
		case RT_EV_LX_DMA_FREE_SGT:
			if (e->u.lx_dma.phys)
				e->u.lx_dma.phys = redact_phys(e->u.lx_dma.phys, key);
			if (e->u.lx_dma.virt)
				e->u.lx_dma.virt =
					redact_phys(e->u.lx_dma.virt, key ^ UINT64_C(0x4b56));
			break;
		case RT_EV_LX_SG_ENT:
			if (e->flags & RT_SG_HAS_PHYS)
				e->u.lx_sg_ent.phys = redact_phys(e->u.lx_sg_ent.phys, key);
			break;
		default:
			break;
		}
	}
	fault_free(rg);
	return 0;
}
