/* SPDX-License-Identifier: MIT */
/*
 * GPU workload: device gpu0 (0000:65:00.0, ATS, 20 PASID bits) with
 * `depth` (default 4) bulk buffers of buf_size (default 256 MiB) on huge
 * pages (1 GiB pages when the buffer is a multiple of 1 GiB, else 2 MiB),
 * each mapped once at a 1 GiB-aligned IOVA. `queues` streams (default 2)
 * each walk a buffer sequentially in chunks of `size` (default 2 MiB),
 * alternating copy-in (device reads) and copy-out (device writes). About one
 * transfer in 64 evicts a buffer: unmap, flush, map again, as a driver
 * migrating memory would.
 */
#include "gen.h"

#define GiB (1ull << 30)

struct stream {
	uint32_t buf;
	uint64_t off;
};

int rt_gen_gpu(const struct rt_gen_params *p, struct rt_trace *t)
{
	uint32_t nbuf = p->depth ? p->depth : 4, streams = p->queues ? p->queues : 2;
	uint64_t bsize = p->buf_size ? p->buf_size : 256ull << 20;
	uint64_t chunk = p->size ? p->size : 2ull << 20, rate = p->rate_ns ? p->rate_ns : 20000;
	uint16_t huge = bsize % GiB == 0 ? RT_MMAP_HUGE_1G : RT_MMAP_HUGE_2M;
	uint64_t va = 0x7e0000000000ull, span = (bsize + GiB - 1) & ~(GiB - 1);
	struct stream st[64] = { { 0 } };
	struct gen g;
	uint32_t dev;

	if (!nbuf || nbuf > 256 || !streams || streams > 64 || !chunk || chunk > bsize ||
	    bsize % (2ull << 20))
		return -EINVAL;
	gen_begin(&g, t, p, (uint64_t)nbuf * bsize + GiB);
	dev = gen_device(&g, "gpu0", 0x65, 0, 0, 20, RT_DEV_ATS);
	for (uint32_t b = 0; b < nbuf; b++)
		gen_mmap(&g, 1, va + b * span, bsize, huge | RT_MMAP_POPULATE);
	gen_ioas(&g, 1);
	gen_attach(&g, dev, 1, RT_PASID_NONE);
	for (uint32_t b = 0; b < nbuf; b++)
		gen_map(&g, 1, (uint64_t)(b + 1) * span, 1, va + b * span, bsize, 0);
	for (uint32_t s = 0; s < streams; s++)
		st[s].buf = s % nbuf;
	for (uint64_t n = 0; n < p->count && !g.err; n++) {
		struct stream *s = &st[n % streams];
		uint64_t base = (uint64_t)(s->buf + 1) * span;
		uint64_t len = chunk < bsize - s->off ? chunk : bsize - s->off;

		gen_time(&g, rate / 2 + gen_below(&g, rate + 1));
		gen_dma(&g, dev, (n / streams) % 2 ? RT_DIR_WRITE : RT_DIR_READ, base + s->off,
			len);
		s->off += len;
		if (s->off >= bsize) {
			s->off = 0;
			s->buf = (uint32_t)gen_below(&g, nbuf);
		}
		if (gen_below(&g, 64) == 0) {
			uint32_t b = (uint32_t)gen_below(&g, nbuf);

			gen_unmap(&g, 1, (uint64_t)(b + 1) * span, bsize, 0);
			if (!p->strict_flush)
				gen_flush(&g, 1);
			gen_map(&g, 1, (uint64_t)(b + 1) * span, 1, va + b * span, bsize, 0);
		}
	}
	return gen_finish(&g);
}
