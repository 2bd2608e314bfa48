/* SPDX-License-Identifier: MIT */
/*
 * NIC workload: per queue an RX and a TX descriptor ring (16-byte
 * descriptors) and packet buffers (2 KiB slots), in one huge-page region of
 * process 1, behind device nic0 (0000:03:00.0) attached to IOAS 1.
 *
 *  ring mode:      rings and buffer pools are mapped once (DPDK-style
 *                  persistent mappings); each packet is DMA only.
 *  per-packet mode: rings are persistent, but every buffer is mapped when it
 *                  is posted and unmapped when the packet completes (the
 *                  kernel's dma_map_single per skb). IOVAs rotate through a
 *                  window of 16 x depth pages per queue, like the kernel's
 *                  IOVA allocator, so a just-freed IOVA is not reused at once.
 *
 * Per packet, RX: fetch descriptor (read 16), write the frame, write back
 * the descriptor (write 16). TX: fetch descriptor, read the frame, write back.
 */
#include "gen.h"

#define DESC 16
#define SLOT 2048
#define PAGE 4096
#define MiB (1ull << 20)

struct nicq {
	uint64_t rx_ring, tx_ring, rx_buf, tx_buf; /* IOVAs */
	uint64_t va_rx_ring, va_tx_ring, va_rx_buf, va_tx_buf;
	uint64_t win, head_rx, head_tx, next_iova, next_va;
	uint64_t *posted; /* per-packet: IOVA posted in each RX slot */
};

int rt_gen_nic(const struct rt_gen_params *p, bool perpacket, struct rt_trace *t)
{
	uint32_t queues = p->queues ? p->queues : 1, depth = p->depth ? p->depth : 256;
	uint32_t size = p->size ? p->size : 1500, rx = p->rx_percent ? p->rx_percent : 50;
	uint64_t rate = p->rate_ns ? p->rate_ns : 1000;
	uint64_t ring = ((uint64_t)depth * DESC + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	uint64_t bufs = (uint64_t)depth * SLOT;
	uint64_t per_q = 2 * ring + 2 * bufs + (perpacket ? 4ull * depth * PAGE : 0);
	uint64_t region = (queues * per_q + 2 * MiB - 1) & ~(2 * MiB - 1);
	uint64_t va = 0x7f0000000000ull, iova = 0x100000;
	struct nicq *q;
	struct gen g;
	uint32_t nic;

	if (size > SLOT || size == 0 || depth == 0 || queues > 64 || rx > 100)
		return -EINVAL; /* -EINVAL */
	q = fault_calloc(t->fc, "replay.gen_nic", queues, sizeof(*q));
	if (!q)
		return -ENOMEM;
	gen_begin(&g, t, p, 1ull << 32);
	nic = gen_device(&g, "nic0", 3, 0, 0, 0, 0);
	gen_mmap(&g, 1, va, region, RT_MMAP_HUGE_2M | RT_MMAP_LOCKED);
	gen_ioas(&g, 1);
	gen_attach(&g, nic, 1, RT_PASID_NONE);
	for (uint32_t i = 0; i < queues && !g.err; i++) {
		uint64_t v = va + i * per_q;

		q[i].va_rx_ring = v, v += ring;
		q[i].va_tx_ring = v, v += ring;
		q[i].va_rx_buf = v, v += bufs;
		q[i].va_tx_buf = v, v += bufs;
		q[i].next_va = v; /* per-packet buffer pages */
		q[i].rx_ring = iova, iova += ring;
		q[i].tx_ring = iova, iova += ring;
		gen_map(&g, 1, q[i].rx_ring, 1, q[i].va_rx_ring, ring, 0);
		gen_map(&g, 1, q[i].tx_ring, 1, q[i].va_tx_ring, ring, 0);
		if (!perpacket) {
			q[i].rx_buf = iova, iova += bufs;
			q[i].tx_buf = iova, iova += bufs;
			gen_map(&g, 1, q[i].rx_buf, 1, q[i].va_rx_buf, bufs, 0);
			gen_map(&g, 1, q[i].tx_buf, 1, q[i].va_tx_buf, bufs, 0);
		}
	}
	if (perpacket) {
		/* per-queue IOVA windows after the rings, 16 x depth pages each */
		iova = (iova + 2 * MiB - 1) & ~(2 * MiB - 1);
		for (uint32_t i = 0; i < queues && !g.err; i++) {
			q[i].win = iova + (uint64_t)i * 16 * depth * PAGE;
			q[i].posted =
				fault_calloc(t->fc, "replay.gen_nic", depth, sizeof(uint64_t));
			if (!q[i].posted) {
				g.err = -ENOMEM;
				break;
			}
			/* post every RX slot */
			for (uint32_t s = 0; s < depth; s++) {
				uint64_t io =
					q[i].win + (q[i].next_iova++ % (16ull * depth)) * PAGE;
				uint64_t bva = q[i].next_va + (s % (4ull * depth)) * PAGE;

				gen_map(&g, 1, io, 1, bva, PAGE, 0);
				q[i].posted[s] = io;
			}
		}
	}
	for (uint64_t n = 0; n < p->count && !g.err; n++) {
		struct nicq *c = &q[n % queues];
		bool is_rx = gen_below(&g, 100) < rx;
		uint32_t len = size - (uint32_t)gen_below(&g, size / 4 + 1);

		gen_time(&g, rate / 2 + gen_below(&g, rate + 1));
		if (is_rx) {
			uint32_t s = (uint32_t)(c->head_rx++ % depth);
			uint64_t buf = perpacket ? c->posted[s] : c->rx_buf + (uint64_t)s * SLOT;

			gen_dma(&g, nic, RT_DIR_READ, c->rx_ring + (uint64_t)s * DESC, DESC);
			gen_dma(&g, nic, RT_DIR_WRITE, buf, len);
			gen_dma(&g, nic, RT_DIR_WRITE, c->rx_ring + (uint64_t)s * DESC, DESC);
			if (perpacket) {
				uint64_t io = c->win + (c->next_iova++ % (16ull * depth)) * PAGE;
				uint64_t bva = c->next_va + (c->next_iova % (4ull * depth)) * PAGE;

				gen_unmap(&g, 1, buf, PAGE, 0);
				gen_map(&g, 1, io, 1, bva, PAGE, 0);
				c->posted[s] = io;
			}
		} else {
			uint32_t s = (uint32_t)(c->head_tx++ % depth);
			uint64_t buf = c->tx_buf + (uint64_t)s * SLOT;

			if (perpacket) {
				buf = c->win + (c->next_iova++ % (16ull * depth)) * PAGE;
				gen_map(&g, 1, buf, 1,
					c->next_va + (c->next_iova % (4ull * depth)) * PAGE, PAGE,
					0);
			}
			gen_dma(&g, nic, RT_DIR_READ, c->tx_ring + (uint64_t)s * DESC, DESC);
			gen_dma(&g, nic, RT_DIR_READ, buf, len);
			gen_dma(&g, nic, RT_DIR_WRITE, c->tx_ring + (uint64_t)s * DESC, DESC);
			if (perpacket)
				gen_unmap(&g, 1, buf, PAGE, 0);
		}
	}
	for (uint32_t i = 0; i < queues; i++)
		fault_free(q[i].posted);
	fault_free(q);
	return gen_finish(&g);
}
