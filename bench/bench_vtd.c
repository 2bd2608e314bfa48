/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of the VT-d hardware model (hw-models/vtd/), driven directly
 * through its register interface and hwm_translate() over a private flat
 * memory bus (no driver, no machine: this measures the model itself).
 *
 * translate.vtd.hit   a translation served by the IOTLB (64 pages cycled,
 *                     all resident). Item: one translation.
 * translate.vtd.walk  a 4-level second-stage walk with cold walk caches:
 *                     512 pages, one per PML4 slot, an IOTLB and a
 *                     paging-structure cache of one entry each, so every
 *                     translation misses and reads four entries. Item: one
 *                     translation. The lower-level indices differ from page
 *                     to page (a fixed permutation), so the 1536 entries
 *                     read are spread over the tables' cache lines as real
 *                     tables' would be: with index 0/0/1 everywhere they all
 *                     sat at page offset 0 or 8 and thrashed a few host L1/L2
 *                     sets, so the figure measured the host's caches (and
 *                     other processes' load) more than the model.
 * translate.vtd.pwc   an IOTLB miss with warm paging-structure caches: 512
 *                     pages of one 2 MiB region, a one-entry IOTLB, the
 *                     default PWC; each walk reads only the leaf. Item: one
 *                     translation.
 * inval.vtd           page-selective IOTLB invalidation descriptors processed
 *                     from the queue, 255 per IQT write, default caches.
 *                     Item: one descriptor processed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/hw.h>
#include <iommusim/hw_vtd.h>

#include "bench.h"

#define MEM (32ull << 20)
#define RID 0x0100
#define DID 1

struct vbench {
	uint8_t *mem;
	uint64_t next;
	struct hwm_bus_ops ops;
	struct hwm_bus bus;
	struct hwm_iommu *iommu;
	uint64_t ss_root, iq;
	uint64_t iovas[512];
	unsigned n, cur;
	struct hwm_req req;
};

static int rd(void *c, uint64_t pa, void *b, size_t n)
{
	struct vbench *v = c;
	if (pa >= MEM || n > MEM - pa)
		return HWM_MEM_ABORT;
	if (n == 8) /* a table entry: one load, not a library call (as a RAM bus would) */
		memcpy(b, v->mem + pa, 8);
	else
		memcpy(b, v->mem + pa, n);
	return HWM_MEM_OK;
}

static int wr(void *c, uint64_t pa, const void *b, size_t n)
{
	struct vbench *v = c;
	if (pa >= MEM || n > MEM - pa)
		return HWM_MEM_ABORT;
	memcpy(v->mem + pa, b, n);
	return HWM_MEM_OK;
}

static uint64_t page(struct vbench *v)
{
	uint64_t p = v->next;
	v->next += 4096;
	return p;
}

static uint64_t *ent(struct vbench *v, uint64_t pa)
{
	return (uint64_t *)(v->mem + pa);
}

/* Map a 4 KiB page in the 4-level second-stage table (VT-d 3.4 §9.8). */
static void map4k(struct vbench *v, uint64_t iova, uint64_t pa)
{
	uint64_t t = v->ss_root;
	for (int l = 4; l > 1; l--) {
		uint64_t *e = ent(v, t + ((iova >> (12 + 9 * (l - 1))) & 511) * 8);
		if (!*e)
			*e = page(v) | 3;
		t = *e & ~0xfffull;
	}
	*ent(v, t + ((iova >> 12) & 511) * 8) = pa | 3;
}

static void vb_teardown(void *state)
{
	struct vbench *v = state;
	if (!v)
		return;
	hwm_destroy(v->iommu);
	free(v->mem);
	free(v);
}

static int vb_setup(void **state, struct hwm_cache_geom iotlb, struct hwm_cache_geom pwc)
{
	struct vtd_config cfg = vtd_config_default();
	struct vbench *v = calloc(1, sizeof(*v));
	uint64_t root, ct;
	int err;

	if (!v)
		return -ENOMEM;
	v->mem = calloc(1, MEM);
	if (!v->mem) {
		free(v);
		return -ENOMEM;
	}
	v->next = 0x100000;
	v->ops = (struct hwm_bus_ops){ .read = rd, .write = wr };
	v->bus = (struct hwm_bus){ .ops = &v->ops, .ctx = v };
	cfg.scalable = false;
	cfg.iotlb = iotlb;
	cfg.pwc = pwc;
	err = vtd_create(&cfg, &v->bus, &v->iommu);
	if (err) {
		vb_teardown(v);
		return err;
	}
	/* legacy root + context entry (§9.1, §9.3), 4-level, DID 1 */
	root = page(v);
	ct = page(v);
	v->ss_root = page(v);
	*ent(v, root + (RID >> 8) * 16) = ct | 1;
	*ent(v, ct + (RID & 0xff) * 16) = v->ss_root | 1;
	*ent(v, ct + (RID & 0xff) * 16 + 8) = 2 | (DID << 8);
	v->iq = page(v);
	hwm_mmio_write(v->iommu, 0x20, 8, root); /* RTADDR */
	hwm_mmio_write(v->iommu, 0x18, 4, 1u << 30); /* SRTP */
	hwm_mmio_write(v->iommu, 0x90, 8, v->iq); /* IQA, 256 entries */
	hwm_mmio_write(v->iommu, 0x18, 4, 1u << 26); /* QIE */
	hwm_mmio_write(v->iommu, 0x18, 4, (1u << 26) | (1u << 31)); /* + TE */
	v->req = (struct hwm_req){ .rid = RID, .access = HWM_ACC_READ };
	*state = v;
	return 0;
}

static int xlate_run(void *state, uint64_t iterations, struct bench_counters *out)
{
	struct vbench *v = state;
	struct hwm_xlate x;

	for (uint64_t i = 0; i < iterations; i++) {
		v->req.iova = v->iovas[v->cur];
		if (++v->cur == v->n)
			v->cur = 0;
		hwm_translate(v->iommu, &v->req, &x);
		if (x.status != HWM_XLATE_OK)
			return -EIO;
		BENCH_KEEP(x.pa);
	}
	out->items += iterations;
	return 0;
}

static int hit_setup(void **state, const struct bench_args *a)
{
	struct vbench *v;
	int err = vb_setup(state, (struct hwm_cache_geom){ 64, 8, HWM_REPL_LRU },
			   (struct hwm_cache_geom){ 16, 4, HWM_REPL_LRU });
	if (err)
		return err;
	v = *state;
	v->n = 64;
	for (unsigned i = 0; i < v->n; i++) {
		v->iovas[i] = 0x40000000ull + i * 4096ull;
		map4k(v, v->iovas[i], 0x800000 + i * 4096ull);
	}
	return 0;
}

static int walk_setup(void **state, const struct bench_args *a)
{
	struct vbench *v;
	int err = vb_setup(state, (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU },
			   (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU });
	if (err)
		return err;
	v = *state;
	v->n = 512;
	for (unsigned i = 0; i < v->n; i++) {
		v->iovas[i] = (uint64_t)i << 39 | (uint64_t)(i * 7 % 512) << 30 |
			      (uint64_t)(i * 13 % 512) << 21 | (uint64_t)(i * 29 % 512) << 12;
		map4k(v, v->iovas[i], 0x800000);
	}
	return 0;
}

static int pwc_setup(void **state, const struct bench_args *a)
{
	struct vbench *v;
	int err = vb_setup(state, (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU },
			   (struct hwm_cache_geom){ 16, 4, HWM_REPL_LRU });
	if (err)
		return err;
	v = *state;
	v->n = 512;
	for (unsigned i = 0; i < v->n; i++) {
		v->iovas[i] = 0x40000000ull + i * 4096ull;
		map4k(v, v->iovas[i], 0x800000 + i * 4096ull);
	}
	return 0;
}

static int inval_setup(void **state, const struct bench_args *a)
{
	int err = hit_setup(state, a);
	struct vbench *v;
	struct hwm_xlate x;

	if (err)
		return err;
	v = *state;
	for (unsigned i = 0; i < v->n; i++) { /* something to invalidate */
		v->req.iova = v->iovas[i];
		hwm_translate(v->iommu, &v->req, &x);
	}
	return 0;
}

static int inval_run(void *state, uint64_t iterations, struct bench_counters *out)
{
	struct vbench *v = state;
	uint64_t done = 0, tail, head;

	hwm_mmio_read(v->iommu, 0x88, 8, &tail);
	tail >>= 4;
	while (done < iterations) {
		unsigned batch = iterations - done < 255 ? (unsigned)(iterations - done) : 255;
		for (unsigned i = 0; i < batch; i++) {
			uint64_t *d = ent(v, v->iq + tail * 16);
			d[0] = 2 | (3ull << 4) | ((uint64_t)DID << 16); /* IOTLB PSI (§6.5.2.3) */
			d[1] = v->iovas[(done + i) % v->n];
			tail = (tail + 1) % 256;
		}
		hwm_mmio_write(v->iommu, 0x88, 8, tail << 4);
		done += batch;
	}
	/* the queue consumed every descriptor: IQH caught up with IQT (one read per run) */
	if (hwm_mmio_read(v->iommu, 0x80, 8, &head) || head != tail << 4)
		return -EIO;
	out->items += iterations;
	return 0;
}

BENCH_REGISTER(translate_vtd_hit) = {
	.name = "translate.vtd.hit",
	.item = "one translation served by the VT-d IOTLB",
	.setup = hit_setup,
	.run = xlate_run,
	.teardown = vb_teardown,
};

BENCH_REGISTER(translate_vtd_walk) = {
	.name = "translate.vtd.walk",
	.item = "one translation by a 4-level second-stage walk, cold caches",
	.setup = walk_setup,
	.run = xlate_run,
	.teardown = vb_teardown,
};

BENCH_REGISTER(translate_vtd_pwc) = {
	.name = "translate.vtd.pwc",
	.item = "one IOTLB-missing translation with warm paging-structure caches",
	.setup = pwc_setup,
	.run = xlate_run,
	.teardown = vb_teardown,
};

BENCH_REGISTER(inval_vtd) = {
	.name = "inval.vtd",
	.item = "one page-selective IOTLB invalidation descriptor processed",
	.setup = inval_setup,
	.run = inval_run,
	.teardown = vb_teardown,
};
