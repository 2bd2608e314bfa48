/* SPDX-License-Identifier: MIT */
/* The VT-d test table builder: see vtd_builder.h. */
#include "vtd_builder.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define MEM_SIZE (64ull << 20)

static bool aborts(struct vb *b, uint64_t pa, size_t len)
{
	for (unsigned i = 0; i < b->naborts; i++)
		if (b->abort_pa[i] >= pa && b->abort_pa[i] < pa + len)
			return true;
	return false;
}

static int bus_read(void *ctx, uint64_t pa, void *buf, size_t len)
{
	struct vb *b = ctx;
	if (pa >= b->size || len > b->size - pa || aborts(b, pa, len))
		return HWM_MEM_ABORT;
	if (len == 8 && !(pa & 7)) { /* an entry: one atomic word, as a bus would (and TSan) */
		uint64_t v = __atomic_load_n((uint64_t *)(b->mem + pa), __ATOMIC_RELAXED);
		memcpy(buf, &v, 8);
	} else {
		memcpy(buf, b->mem + pa, len);
	}
	if (b->after_read)
		b->after_read(b, pa, len);
	return HWM_MEM_OK;
}

static int bus_write(void *ctx, uint64_t pa, const void *buf, size_t len)
{
	struct vb *b = ctx;
	if (pa >= b->size || len > b->size - pa)
		return HWM_MEM_ABORT;
	memcpy(b->mem + pa, buf, len);
	return HWM_MEM_OK;
}

static int bus_cmpxchg(void *ctx, uint64_t pa, uint64_t *exp, uint64_t desired)
{
	struct vb *b = ctx;
	if (pa >= b->size || b->size - pa < 8 || (pa & 7))
		return HWM_MEM_ABORT;
	__atomic_compare_exchange_n((uint64_t *)(b->mem + pa), exp, desired, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return HWM_MEM_OK;
}

static void bus_irq(void *ctx, uint64_t addr, uint32_t data)
{
	struct vb *b = ctx;
	b->irqs++;
	b->last_irq_addr = addr;
	b->last_irq_data = data;
}

static uint64_t bus_now(void *ctx)
{
	return ((struct vb *)ctx)->now;
}

struct vtd_config vb_config(void)
{
	struct vtd_config c = vtd_config_default();
	c.sagaw = 0xe; /* 3, 4 and 5 levels */
	c.mgaw = 57;
	c.fl5lp = true;
	c.checker = true;
	return c;
}

void vb_init(struct vb *b, const struct vtd_config *cfg, bool scalable)
{
	memset(b, 0, sizeof(*b));
	b->size = MEM_SIZE;
	b->mem = calloc(1, MEM_SIZE);
	cr_assert(b->mem);
	b->next_page = 0x100000;
	b->ops = (struct hwm_bus_ops){ bus_read, bus_write, bus_cmpxchg, bus_irq, bus_now };
	b->bus = (struct hwm_bus){ .ops = &b->ops, .ctx = b };
	b->cfg = cfg ? *cfg : vb_config();
	b->scalable = scalable;
	cr_assert_eq(vtd_create(&b->cfg, &b->bus, &b->iommu), 0);
}

void vb_fini(struct vb *b)
{
	hwm_destroy(b->iommu);
	free(b->mem);
}

uint64_t vb_page(struct vb *b)
{
	uint64_t p = b->next_page;
	cr_assert(p + 4096 <= b->size, "builder out of memory");
	b->next_page += 4096;
	memset(b->mem + p, 0, 4096);
	return p;
}

uint64_t vb_rd64(struct vb *b, uint64_t pa)
{
	uint64_t v;
	memcpy(&v, b->mem + pa, 8);
	return v;
}

uint32_t vb_rd32(struct vb *b, uint64_t pa)
{
	uint32_t v;
	memcpy(&v, b->mem + pa, 4);
	return v;
}

void vb_wr64(struct vb *b, uint64_t pa, uint64_t v)
{
	memcpy(b->mem + pa, &v, 8);
}

uint64_t vb_reg(struct vb *b, unsigned off, unsigned size)
{
	uint64_t v = 0;
	cr_assert_eq(hwm_mmio_read(b->iommu, off, size, &v), 0);
	return v;
}

void vb_wreg(struct vb *b, unsigned off, unsigned size, uint64_t v)
{
	cr_assert_eq(hwm_mmio_write(b->iommu, off, size, v), 0);
}

/* GCMD writes keep the persistent bits (§10.4.4 programming note). */
static void gcmd(struct vb *b, uint32_t set, uint32_t clr)
{
	uint32_t sts = (uint32_t)vb_reg(b, R_GSTS, 4) & 0x96ffffffu;
	vb_wreg(b, R_GCMD, 4, (sts | set) & ~clr);
}

void vb_enable(struct vb *b)
{
	b->root = vb_page(b);
	vb_wreg(b, R_RTADDR, 8, b->root | (b->scalable ? 1ull << 10 : 0));
	gcmd(b, 1u << 30, 0); /* SRTP */
	cr_assert(vb_reg(b, R_GSTS, 4) & (1u << 30));
	if (b->cfg.qi) {
		b->iq = vb_page(b);
		b->status = vb_page(b);
		vb_wreg(b, R_IQT, 8, 0);
		vb_wreg(b, R_IQA, 8, b->iq); /* QS 0: 256 x 128-bit descriptors */
		gcmd(b, 1u << 26, 0);
		cr_assert(vb_reg(b, R_GSTS, 4) & (1u << 26));
	}
	gcmd(b, 1u << 31, 0);
	cr_assert(vb_reg(b, R_GSTS, 4) & (1u << 31));
}

static uint64_t root_entry_pa(struct vb *b, uint16_t rid)
{
	return b->root + (rid >> 8) * 16ull;
}

void vb_ctx_legacy(struct vb *b, uint16_t rid, uint16_t did, unsigned levels, unsigned tt,
		   struct vb_dev *d)
{
	uint64_t re = root_entry_pa(b, rid), ct, ce;

	memset(d, 0, sizeof(*d));
	if (!(vb_rd64(b, re) & 1))
		vb_wr64(b, re, vb_page(b) | 1);
	ct = vb_rd64(b, re) & ~0xfffull;
	ce = ct + (rid & 0xff) * 16ull;
	d->root_entry = re;
	d->ctx = ce;
	d->ss_root = vb_page(b);
	/* §9.3: lo P 0, TT 3:2, SSPTPTR 63:12; hi AW 2:0, DID 23:8 */
	vb_wr64(b, ce, d->ss_root | ((uint64_t)tt << 2) | 1);
	vb_wr64(b, ce + 8, (uint64_t)(levels - 2) | ((uint64_t)did << 8));
}

void vb_ctx_sm(struct vb *b, uint16_t rid, unsigned pdts, uint32_t rid_pasid, unsigned flags,
	       struct vb_dev *d)
{
	uint64_t re = root_entry_pa(b, rid), half = (rid & 0x80) ? re + 8 : re, ct, ce, pdir;
	unsigned pages = ((1u << (pdts + 7)) * 8 + 4095) / 4096;

	memset(d, 0, sizeof(*d));
	if (!(vb_rd64(b, half) & 1))
		vb_wr64(b, half, vb_page(b) | 1);
	ct = vb_rd64(b, half) & ~0xfffull;
	ce = ct + (rid & 0x7f) * 32ull;
	d->root_entry = re;
	d->ctx = ce;
	pdir = vb_page(b);
	for (unsigned i = 1; i < pages; i++)
		vb_page(b); /* contiguous */
	/* §9.4: P 0, DTE 2, PASIDE 3, PRE 4, PDTS 11:9, PASIDDIRPTR 63:12; qw1 RID_PASID 19:0 */
	vb_wr64(b, ce,
		pdir | ((uint64_t)pdts << 9) | ((flags & VB_CTX_PASIDE) ? 8 : 0) |
			((flags & VB_CTX_DTE) ? 4 : 0) | ((flags & VB_CTX_PRE) ? 16 : 0) | 1);
	vb_wr64(b, ce + 8, rid_pasid & 0xfffff);
}

void vb_pasid(struct vb *b, struct vb_dev *d, uint32_t pasid, unsigned pgtt, uint16_t did,
	      unsigned sslevels, unsigned fslevels, unsigned flags)
{
	uint64_t pdir = vb_rd64(b, d->ctx) & ~0xfffull, pde = pdir + (pasid >> 6) * 8ull, pt, pe;
	uint64_t q0, q2 = 0;

	if (!(vb_rd64(b, pde) & 1))
		vb_wr64(b, pde, vb_page(b) | 1);
	pt = vb_rd64(b, pde) & ~0xfffull;
	pe = pt + (pasid & 63) * 64ull;
	d->pdir_entry = pde;
	d->pe = pe;
	d->ss_root = (pgtt == PGTT_SS || pgtt == PGTT_NEST) ? vb_page(b) : 0;
	d->fs_root = (pgtt == PGTT_FS || pgtt == PGTT_NEST) ? vb_page(b) : 0;
	/* §9.6: qw0 P 0, AW 4:2, PGTT 8:6, SSADE 9, SSPTPTR 63:12; qw1 DID 15:0;
	 * qw2 SRE 0, FSPM 3:2, WPE 4, NXE 5, FSPTPTR 63:12 */
	q0 = 1 | ((uint64_t)(sslevels ? sslevels - 2 : 2) << 2) | ((uint64_t)pgtt << 6) |
	     ((flags & VB_PE_SSADE) ? 1ull << 9 : 0) | d->ss_root;
	if (d->fs_root)
		q2 = d->fs_root | (fslevels == 5 ? 1ull << 2 : 0) | ((flags & VB_PE_SRE) ? 1 : 0) |
		     ((flags & VB_PE_WPE) ? 1ull << 4 : 0) | ((flags & VB_PE_NXE) ? 1ull << 5 : 0);
	vb_wr64(b, pe + 16, q2);
	vb_wr64(b, pe + 8, did);
	vb_wr64(b, pe, q0);
}

static uint64_t map(struct vb *b, uint64_t root, unsigned levels, uint64_t iova, uint64_t pa,
		    unsigned level, uint64_t attrs, uint64_t nonleaf, uint64_t ps)
{
	uint64_t table = root;

	for (unsigned l = levels; l > level; l--) {
		uint64_t e = table + ((iova >> (12 + 9 * (l - 1))) & 511) * 8;
		if (!vb_rd64(b, e))
			vb_wr64(b, e, vb_page(b) | nonleaf);
		table = vb_rd64(b, e) & 0x000ffffffffff000ull;
	}
	uint64_t leaf = table + ((iova >> (12 + 9 * (level - 1))) & 511) * 8;
	vb_wr64(b, leaf, pa | attrs | (level > 1 ? ps : 0));
	return leaf;
}

uint64_t vb_ss_map(struct vb *b, uint64_t root, unsigned levels, uint64_t iova, uint64_t pa,
		   unsigned level, uint64_t attrs)
{
	return map(b, root, levels, iova, pa, level, attrs, SS_R | SS_W, SS_PS);
}

uint64_t vb_fs_map(struct vb *b, uint64_t root, unsigned levels, uint64_t iova, uint64_t pa,
		   unsigned level, uint64_t attrs)
{
	return map(b, root, levels, iova, pa, level, attrs, FS_P | FS_RW | FS_US, FS_PS);
}

void vb_qi_put(struct vb *b, uint64_t qw0, uint64_t qw1, bool ring)
{
	uint64_t tail = vb_reg(b, R_IQT, 8) >> 4;
	vb_wr64(b, b->iq + tail * 16, qw0);
	vb_wr64(b, b->iq + tail * 16 + 8, qw1);
	(void)ring; /* always rung: the model processes on IQT writes unless qi_sync is off */
	vb_wreg(b, R_IQT, 8, ((tail + 1) % 256) << 4);
}

void vb_qi_wait(struct vb *b, uint32_t data, bool intr)
{
	/* §6.5.2.8: type 5, IF 4, SW 5, status data 63:32; qw1 status address */
	vb_qi_put(b, 5 | (1ull << 5) | (intr ? 1ull << 4 : 0) | ((uint64_t)data << 32), b->status,
		  true);
}

int vb_pop_fault(struct vb *b, uint64_t rec[2])
{
	uint64_t cap = vb_reg(b, R_CAP, 8);
	unsigned fro = ((cap >> 24) & 0x3ff) * 16, nfr = ((cap >> 40) & 0xff) + 1;
	uint32_t fsts = (uint32_t)vb_reg(b, R_FSTS, 4);
	unsigned start = (fsts >> 8) & 0xff;

	if (!(fsts & 2))
		return -1;
	for (unsigned k = 0; k < nfr; k++) {
		unsigned i = (start + k) % nfr;
		uint64_t hi = vb_reg(b, fro + i * 16 + 8, 8);
		if (!(hi >> 63))
			continue;
		rec[0] = vb_reg(b, fro + i * 16, 8);
		rec[1] = hi;
		vb_wreg(b, fro + i * 16 + 12, 4, 1u << 31); /* clear F */
		return (int)((hi >> 32) & 0xff);
	}
	return -1;
}

struct hwm_xlate vb_xlate(struct vb *b, uint16_t rid, uint64_t iova, uint32_t access)
{
	struct hwm_req r = { .rid = rid, .iova = iova, .access = access };
	struct hwm_xlate x;
	cr_assert_eq(hwm_translate(b->iommu, &r, &x), 0);
	return x;
}

struct hwm_xlate vb_xlate_pasid(struct vb *b, uint16_t rid, uint32_t pasid, uint64_t iova,
				uint32_t access)
{
	struct hwm_req r = {
		.rid = rid, .pasid = pasid, .has_pasid = true, .iova = iova, .access = access
	};
	struct hwm_xlate x;
	cr_assert_eq(hwm_translate(b->iommu, &r, &x), 0);
	return x;
}
