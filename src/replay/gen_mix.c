/* SPDX-License-Identifier: MIT */
/*
 * Random/adversarial mix: two devices (dev0 with PASID and ATS, dev1 plain),
 * two IOASes (dev0 RID and dev1 on IOAS 1, dev0 PASID 5 on IOAS 2), a 64 MiB
 * anonymous region and a 2 MiB huge region. Each step draws one operation:
 * DMA into a live mapping (often crossing page boundaries), new fixed or
 * auto-IOVA (tagged) mappings of 4 KiB..2 MiB, unmaps, DMA to an IOVA that
 * was unmapped a moment ago (a fault, or a stale-translation window under
 * lazy invalidation), DMA to IOVA never mapped, copies between IOASes,
 * explicit flushes, detach/re-attach churn and idle time. IOVA slots are
 * 4 MiB apart so fixed mappings never overlap.
 */
#include "gen.h"

#define PAGE 4096ull
#define SLOT (4ull << 20)
#define NSLOT 64

struct live {
	uint64_t iova, len;
	uint32_t tag; /* auto-IOVA mappings are addressed by tag */
	uint8_t used, ioas;
};

int rt_gen_mix(const struct rt_gen_params *p, struct rt_trace *t)
{
	uint64_t va = 0x7f2000000000ull, hva = 0x7f3000000000ull,
		 rate = p->rate_ns ? p->rate_ns : 500;
	uint64_t region = p->buf_size ? p->buf_size : 64ull << 20;
	struct live lv[NSLOT] = { { 0 } };
	uint64_t last_iova = 0, last_len = 0;
	uint32_t next_tag = 1;
	uint32_t d0, d1;
	struct gen g;

	if (region < (2ull << 20) || region % PAGE)
		return -EINVAL;
	gen_begin(&g, t, p, 1ull << 32);
	d0 = gen_device(&g, "dev0", 5, 0, 0, 20, RT_DEV_ATS);
	d1 = gen_device(&g, "dev1", 6, 0, 0, 0, 0);
	gen_mmap(&g, 1, va, region, 0);
	gen_mmap(&g, 1, hva, 2ull << 20, RT_MMAP_HUGE_2M);
	gen_ioas(&g, 1);
	gen_ioas(&g, 2);
	gen_attach(&g, d0, 1, RT_PASID_NONE);
	gen_attach(&g, d1, 1, RT_PASID_NONE);
	gen_attach(&g, d0, 2, 5);
	for (uint64_t n = 0; n < p->count && !g.err; n++) {
		uint32_t s = (uint32_t)gen_below(&g, NSLOT), op = (uint32_t)gen_below(&g, 100);
		struct live *l = &lv[s];
		uint32_t dev = gen_below(&g, 2) ? d0 : d1;

		gen_time(&g, gen_below(&g, rate + 1));
		if (op < 35) { /* DMA into a live mapping */
			uint64_t off, len;
			struct rt_event *e;

			if (!l->used)
				continue;
			off = gen_below(&g, l->len);
			len = 1 + gen_below(&g, (l->len - off) < 8192 ? (l->len - off) : 8192);
			e = gen_ev(&g, RT_EV_DMA);
			e->dir = (uint8_t)(1 + gen_below(&g, 2));
			e->u.dma.dev = l->ioas == 2 ? d0 : dev;
			e->u.dma.pasid = l->ioas == 2 ? 5 : RT_PASID_NONE;
			e->u.dma.tag = l->tag;
			e->u.dma.iova = l->tag ? off : l->iova + off;
			e->u.dma.len = len;
		} else if (op < 55) { /* map */
			uint64_t len = PAGE << gen_below(&g, 10); /* 4 KiB .. 2 MiB */
			bool huge = len == (2ull << 20) && gen_below(&g, 2);
			uint64_t src =
				huge ? hva : va + (gen_below(&g, (region - len) / PAGE + 1) * PAGE);

			if (l->used)
				continue;
			l->used = 1;
			l->ioas = (uint8_t)(1 + gen_below(&g, 4) / 3); /* mostly IOAS 1 */
			l->len = len;
			if (gen_below(&g, 4) == 0) {
				l->tag = next_tag++;
				l->iova = 0;
				gen_map(&g, l->ioas, RT_IOVA_AUTO, 1, src, len, l->tag);
			} else {
				l->tag = 0;
				l->iova = s * SLOT + (len < SLOT / 2 ? gen_below(&g, 4) * len : 0) +
					  SLOT;
				gen_map(&g, l->ioas, l->iova, 1, src, len, 0);
			}
		} else if (op < 70) { /* unmap */
			if (!l->used)
				continue;
			gen_unmap(&g, l->ioas, l->tag ? 0 : l->iova, l->len, l->tag);
			if (!l->tag) {
				last_iova = l->iova;
				last_len = l->len;
			}
			l->used = 0;
		} else if (op < 78) { /* use-after-unmap */
			if (last_len)
				gen_dma(&g, dev, RT_DIR_WRITE, last_iova + gen_below(&g, last_len),
					64);
		} else if (op < 82) { /* never mapped */
			gen_dma(&g, dev, RT_DIR_READ, (NSLOT + 2) * SLOT + gen_below(&g, SLOT),
				256);
		} else if (op < 88) { /* flush */
			struct rt_event *e = gen_ev(&g, RT_EV_FLUSH);

			if (gen_below(&g, 2) && l->used && !l->tag) {
				e->u.flush.ioas = l->ioas;
				e->u.flush.iova = l->iova;
				e->u.flush.len = l->len;
			}
		} else if (op < 93) { /* copy IOAS 1 -> 2 into a free slot's IOVA */
			struct live *d = &lv[(s + 1) % NSLOT];
			struct rt_event *e;

			if (!l->used || l->tag || l->ioas != 1 || d->used)
				continue;
			e = gen_ev(&g, RT_EV_COPY);
			e->flags = RT_MAP_READ | RT_MAP_WRITE;
			e->u.copy.dst_ioas = 2;
			e->u.copy.src_ioas = 1;
			e->u.copy.dst_iova = ((s + 1) % NSLOT) * SLOT + SLOT;
			e->u.copy.src_iova = l->iova;
			e->u.copy.len = l->len;
			d->used = 1;
			d->ioas = 2;
			d->tag = 0;
			d->iova = e->u.copy.dst_iova;
			d->len = l->len;
		} else if (op < 95) { /* detach / re-attach churn */
			struct rt_event *e = gen_ev(&g, RT_EV_DETACH);

			e->u.attach.dev = d1;
			e->u.attach.pasid = RT_PASID_NONE;
			gen_attach(&g, d1, 1, RT_PASID_NONE);
		} else { /* idle */
			gen_time(&g, rate * 20);
		}
	}
	return gen_finish(&g);
}
