/* SPDX-License-Identifier: MIT */
/*
 * NVMe workload: device nvme0 (0000:04:00.0), per queue a submission queue
 * (64-byte entries) and a completion queue (16-byte entries) mapped for the
 * whole run, and 4 KiB random I/O on a data region (buf_size, default
 * 64 MiB) with one map per I/O, like the block layer's dma_map per request.
 *
 * Each queue keeps up to `depth` I/Os in flight. Submitting maps the data
 * page at the next IOVA of the queue's rotating window and the device
 * fetches the SQ entry; completing (a random in-flight I/O, so completions
 * are out of order) moves the data (device reads memory for a write, writes
 * it for a read), posts the CQ entry and unmaps the page.
 *
 * The window has 8 x depth slots taken in rotation; a slot whose I/O is
 * still in flight (out-of-order completion can keep one there for a whole
 * rotation) is skipped, so an IOVA is never mapped twice.
 */
#include "gen.h"

#define SQE 64
#define CQE 16
#define PAGE 4096ull

struct io {
	uint64_t iova;
	uint32_t len;
	bool read; /* a read command: the device writes memory */
};

struct nvq {
	uint64_t sq, cq, win, next, tail, cq_head;
	struct io *inflight;
	bool *busy; /* window slots whose I/O is in flight */
	uint32_t n;
};

int rt_gen_nvme(const struct rt_gen_params *p, struct rt_trace *t)
{
	uint32_t queues = p->queues ? p->queues : 1, depth = p->depth ? p->depth : 32;
	uint32_t size = p->size ? p->size : 4096, reads = p->rx_percent ? p->rx_percent : 70;
	uint64_t data = p->buf_size ? p->buf_size : 64ull << 20,
		 rate = p->rate_ns ? p->rate_ns : 2000;
	uint64_t va = 0x7f1000000000ull, dva = va + (1ull << 30), iova = 0x100000;
	uint64_t pages = data / PAGE, io_pages = (size + PAGE - 1) / PAGE;
	uint64_t winpages = 8ull * depth * io_pages;
	struct nvq *q;
	struct gen g;
	uint32_t dev;

	if (!depth || !size || pages < io_pages || queues > 1024 || reads > 100)
		return -EINVAL;
	q = fault_calloc(t->fc, "replay.gen_nvme", queues, sizeof(*q));
	if (!q)
		return -ENOMEM;
	gen_begin(&g, t, p, 1ull << 32);
	dev = gen_device(&g, "nvme0", 4, 0, 0, 0, 0);
	gen_mmap(&g, 1, va,
		 (uint64_t)queues * 2 * (((uint64_t)depth * SQE + PAGE - 1) & ~(PAGE - 1)),
		 RT_MMAP_LOCKED);
	gen_mmap(&g, 1, dva, pages * PAGE, 0);
	gen_ioas(&g, 1);
	gen_attach(&g, dev, 1, RT_PASID_NONE);
	for (uint32_t i = 0; i < queues && !g.err; i++) {
		uint64_t qb = ((uint64_t)depth * SQE + PAGE - 1) & ~(PAGE - 1);

		q[i].sq = iova, iova += qb;
		q[i].cq = iova, iova += qb;
		gen_map(&g, 1, q[i].sq, 1, va + (2ull * i) * qb, qb, 0);
		gen_map(&g, 1, q[i].cq, 1, va + (2ull * i + 1) * qb, qb, 0);
		q[i].inflight = fault_calloc(t->fc, "replay.gen_nvme", depth, sizeof(struct io));
		q[i].busy =
			fault_calloc(t->fc, "replay.gen_nvme", winpages / io_pages, sizeof(bool));
		if (!q[i].inflight || !q[i].busy)
			g.err = -ENOMEM;
	}
	iova = (iova + (2ull << 20) - 1) & ~((2ull << 20) - 1);
	for (uint32_t i = 0; i < queues; i++)
		q[i].win = iova + (uint64_t)i * winpages * PAGE;
	for (uint64_t n = 0; n < p->count && !g.err; n++) {
		struct nvq *c = &q[gen_below(&g, queues)];

		gen_time(&g, rate / 2 + gen_below(&g, rate + 1));
		if (c->n == depth) {
			/* complete a random in-flight I/O */
			uint32_t k = (uint32_t)gen_below(&g, c->n);
			struct io io = c->inflight[k];

			c->inflight[k] = c->inflight[--c->n];
			c->busy[(io.iova - c->win) / (io_pages * PAGE)] = false;
			gen_dma(&g, dev, io.read ? RT_DIR_WRITE : RT_DIR_READ, io.iova, io.len);
			gen_dma(&g, dev, RT_DIR_WRITE, c->cq + (c->cq_head++ % depth) * CQE, CQE);
			gen_unmap(&g, 1, io.iova, io_pages * PAGE, 0);
		}
		{
			struct io *io = &c->inflight[c->n++];
			uint64_t pg = gen_below(&g, pages - io_pages + 1);

			uint64_t slots = winpages / io_pages, slot;

			/* depth < slots, so a free slot is always found */
			while (c->busy[c->next % slots])
				c->next++;
			slot = c->next++ % slots;
			c->busy[slot] = true;
			io->iova = c->win + slot * io_pages * PAGE;
			io->len = size;
			io->read = gen_below(&g, 100) < reads;
			gen_map(&g, 1, io->iova, 1, dva + pg * PAGE, io_pages * PAGE, 0);
			gen_dma(&g, dev, RT_DIR_READ, c->sq + (c->tail++ % depth) * SQE, SQE);
		}
	}
	/* drain */
	for (uint32_t i = 0; i < queues && !g.err; i++) {
		while (q[i].n) {
			struct io io = q[i].inflight[--q[i].n];

			gen_dma(&g, dev, io.read ? RT_DIR_WRITE : RT_DIR_READ, io.iova, io.len);
			gen_dma(&g, dev, RT_DIR_WRITE, q[i].cq + (q[i].cq_head++ % depth) * CQE,
				CQE);
			gen_unmap(&g, 1, io.iova, io_pages * PAGE, 0);
		}
	}
	for (uint32_t i = 0; i < queues; i++) {
		fault_free(q[i].inflight);
		fault_free(q[i].busy);
	}
	fault_free(q);
	return gen_finish(&g);
}
