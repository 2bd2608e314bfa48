/* SPDX-License-Identifier: MIT */
/*
 * Linux-derived events (iommu:* and dma:* tracepoints) on the simulated
 * stack.
 *
 * The choice: a Linux trace shows what the kernel's DMA layer did to one
 * device's default domain, and iommu:map/unmap lines do not even name the
 * device. So the engine gives those events one paging domain of the iommu
 * core (iommu_domain_alloc_paging on the first unit), attaches every device
 * a Linux event names to it, and calls iommu_map()/iommu_unmap() directly,
 * the way dma-iommu does in the kernel. No iommufd object is involved.
 *
 *   iommu:map / iommu:unmap       iommu_map / iommu_unmap of the range;
 *   dma_map_{page,phys,resource}  map the pages of [dma, dma+size) to phys,
 *                                 then one device access of the buffer in
 *                                 its direction (the device uses what it was
 *                                 given); dma_map_sg the same per entry;
 *   dma_unmap_*, dma_free*        unmap (dma_unmap_sg by the entries' phys);
 *   dma_alloc*                    map, no access (coherent memory);
 *   dma_sync_*                    one device access of the range;
 *   io_page_fault                 one device access at the faulting IOVA;
 *   attach/detach, groups         attach to / detach from the domain.
 * Both layers of one operation often appear (dma_map_page and the iommu:map
 * it caused): a range already in the reference map is not mapped again, a
 * range no longer in it is not unmapped again, so either order works.
 *
 * Devices are named by their PCI address ("0000:03:00.0"); a name that is
 * not one gets a bus number of its own from 0x80 up.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "replay/engine_int.h"

#define PG 4096ULL

static int lx_unit(struct engine *e)
{
	const struct replay_model *m;
	size_t n;
	int rc;

	if (e->lx_unit)
		return 0;
	if (e->nunits) {
		e->lx_unit = &e->units[0];
		return 0;
	}
	m = e->c->model ? e->c->model : replay_models(&n)[0];
	rc = rp_unit_add(e, 0, m->name, NULL, &e->lx_unit);
	return rc;
}

static void parse_bdf(struct engine *e, const char *s, struct plat_dev_config *dc)
{
	unsigned seg = 0, bus, dev, fn;

	if (sscanf(s, "%x:%x:%x.%x", &seg, &bus, &dev, &fn) == 4 ||
	    (seg = 0, sscanf(s, "%x:%x.%x", &bus, &dev, &fn) == 3)) {
		if (seg <= 0xffff && bus <= 0xff && dev <= 31 && fn <= 7) {
			dc->seg = (uint16_t)seg;
			dc->bus = (uint8_t)bus;
			dc->dev = (uint8_t)dev;
			dc->fn = (uint8_t)fn;
			return;
		}
	}
	dc->seg = 0;
	dc->bus = (uint8_t)(0x80 + e->lx_next_bus++);
	dc->dev = 0;
	dc->fn = 0;
}

static int lx_domain(struct engine *e)
{
	struct plat_dev_config dc = { 0 };
	struct rp_dev *d;
	int rc;

	if (e->lx_dom)
		return 0;
	rc = lx_unit(e);
	if (rc)
		return rc;
	for (d = e->devs; d; d = d->next)
		if (d->unit == e->lx_unit && !d->fdev)
			break;
	if (!d) {
		/* A map before any device: a function of our own to allocate the domain with. */
		dc.bus = 0x7f;
		rc = rp_dev_add(e, e->lx_unit, 0, &dc, &e->lx_phantom);
		if (rc)
			return rc;
		d = e->lx_phantom;
	}
	return iommu_domain_alloc_paging(d->idev, 0, &e->lx_dom);
}

/* The device a Linux event names, made and attached to the domain on first use. */
static int lx_dev(struct engine *e, uint32_t name, bool attach, struct rp_dev **out)
{
	struct plat_dev_config dc = { 0 };
	struct rp_dev *d = name < e->t->str.n ? e->dev_by_str[name] : NULL;
	int rc;

	rc = lx_unit(e);
	if (rc)
		return rc;
	if (!d) {
		parse_bdf(e, rt_str(e->t, name), &dc);
		rc = rp_dev_add(e, e->lx_unit, name, &dc, &d);
		if (rc == -EEXIST) { /* two names for one BDF */
			parse_bdf(e, "", &dc);
			rc = rp_dev_add(e, e->lx_unit, name, &dc, &d);
		}
		if (rc)
			return rc;
	}
	if (d->fdev)
		return -EBUSY; /* a device of the native part of the trace */
	if (attach && !d->lx_dom) {
		rc = lx_domain(e);
		if (rc)
			return rc;
		rc = iommu_attach_device(e->lx_dom, d->idev);
		if (rc)
			return rc;
		d->lx_dom = e->lx_dom;
		d->as = &e->lx_as;
	}
	*out = d;
	return 0;
}

/* Map the pages of [iova, iova + size) not yet in the reference, to pa + offset. */
static int lx_map(struct engine *e, uint64_t iova, uint64_t pa, uint64_t size)
{
	uint64_t start = iova & ~(PG - 1), end = (iova + size + PG - 1) & ~(PG - 1);
	uint64_t a = start;
	int rc;

	if (!size || end <= start)
		return 0;
	pa &= ~(PG - 1);
	rc = lx_domain(e);
	if (rc)
		return rc;
	while (a < end) {
		struct itree_node *n = itree_iter_first(&e->lx_as.ref, a, end - 1);
		uint64_t run_end = end;

		if (n && n->start <= a) {
			a = n->last + 1;
			if (!a)
				break;
			continue;
		}
		if (n)
			run_end = n->start;
		rc = iommu_map(e->lx_dom, a, pa + (a - start), run_end - a,
			       IOMMU_READ | IOMMU_WRITE);
		if (rc)
			return rc;
		rc = rp_ref_add(e, &e->lx_as, a, run_end - a, HWM_ACC_READ | HWM_ACC_WRITE,
				pa + (a - start));
		if (rc)
			return rc;
		e->res->maps++;
		a = run_end;
	}
	rp_trace_depth(e);
	return 0;
}

/* Unmap what the reference has inside [iova, iova + size). */
static int lx_unmap(struct engine *e, uint64_t iova, uint64_t size)
{
	uint64_t start = iova & ~(PG - 1), end = (iova + size + PG - 1) & ~(PG - 1);
	struct itree_node *n;

	if (!size || end <= start || !e->lx_dom)
		return 0;
	while ((n = itree_iter_first(&e->lx_as.ref, start, end - 1))) {
		uint64_t s = n->start > start ? n->start : start;
		uint64_t l = n->last < end - 1 ? n->last : end - 1;

		iommu_unmap(e->lx_dom, s, l - s + 1);
		e->res->unmaps++;
		if (rp_ref_remove(e, &e->lx_as, s, l))
			return -ENOMEM;
	}
	rp_trace_depth(e);
	return 0;
}

/* dma_unmap_sg: the entries carry only phys; find the mapping by its physical address. */
static int lx_unmap_phys(struct engine *e, uint64_t phys)
{
	for (struct itree_node *n = itree_first(&e->lx_as.ref); n; n = itree_next(n)) {
		struct rp_ref *r = (struct rp_ref *)n;

		if ((phys & ~(PG - 1)) >= r->pa && (phys & ~(PG - 1)) - r->pa <= n->last - n->start)
			return lx_unmap(e, n->start + ((phys & ~(PG - 1)) - r->pa), PG);
	}
	return 0;
}

int rp_linux_event(struct engine *e, const struct rt_event *ev)
{
	const struct rt_event *end = e->t->ev + e->t->n;
	struct rp_dev *d = NULL;
	int rc;

	switch ((enum rt_kind)ev->kind) {
	case RT_EV_LX_MAP:
		return lx_map(e, ev->u.lx_map.iova, ev->u.lx_map.paddr, ev->u.lx_map.size);
	case RT_EV_LX_UNMAP:
		return lx_unmap(e, ev->u.lx_unmap.iova, ev->u.lx_unmap.size);
	case RT_EV_LX_FAULT:
		rc = lx_dev(e, ev->u.lx_fault.dev, true, &d);
		if (rc)
			return rc;
		return rp_dma(e, d, d->as, RT_PASID_NONE, ev->u.lx_fault.iova, 1,
			      (ev->u.lx_fault.fault_flags & 1) ? HWM_ACC_WRITE : HWM_ACC_READ);
	case RT_EV_LX_ATTACH:
	case RT_EV_LX_ADD_GROUP:
		return lx_dev(e, ev->u.lx_dev.dev, true, &d);
	case RT_EV_LX_DETACH:
	case RT_EV_LX_REMOVE_GROUP:
		rc = lx_dev(e, ev->u.lx_dev.dev, false, &d);
		if (rc)
			return rc;
		if (d->lx_dom) {
			iommu_detach_device(d->lx_dom, d->idev);
			d->lx_dom = NULL;
			d->as = NULL;
		}
		return 0;
	case RT_EV_LX_DMA_MAP_PAGE:
	case RT_EV_LX_DMA_MAP_RESOURCE:
	case RT_EV_LX_DMA_MAP_PHYS:
		rc = lx_dev(e, ev->u.lx_dma.dev, true, &d);
		if (!rc)
			rc = lx_map(e, ev->u.lx_dma.dma, ev->u.lx_dma.phys, ev->u.lx_dma.size);
		if (rc)
			return rc;
		return rp_dma(e, d, d->as, RT_PASID_NONE, ev->u.lx_dma.dma, ev->u.lx_dma.size,
			      rp_dir_access(ev->dir));
	case RT_EV_LX_DMA_ALLOC:
	case RT_EV_LX_DMA_ALLOC_PAGES:
	case RT_EV_LX_DMA_ALLOC_SGT:
		rc = lx_dev(e, ev->u.lx_dma.dev, true, &d);
		if (rc)
			return rc;
		return lx_map(e, ev->u.lx_dma.dma,
			      ev->u.lx_dma.phys ? ev->u.lx_dma.phys : ev->u.lx_dma.dma,
			      ev->u.lx_dma.size);
	case RT_EV_LX_DMA_UNMAP_PAGE:
	case RT_EV_LX_DMA_UNMAP_RESOURCE:
	case RT_EV_LX_DMA_UNMAP_PHYS:
	case RT_EV_LX_DMA_FREE:
	case RT_EV_LX_DMA_FREE_PAGES:
	case RT_EV_LX_DMA_FREE_SGT:
		rc = lx_dev(e, ev->u.lx_dma.dev, true, &d);
		if (rc)
			return rc;
		return lx_unmap(e, ev->u.lx_dma.dma, ev->u.lx_dma.size);
	case RT_EV_LX_DMA_SYNC_SINGLE_FOR_CPU:
	case RT_EV_LX_DMA_SYNC_SINGLE_FOR_DEVICE:
		rc = lx_dev(e, ev->u.lx_dma.dev, true, &d);
		if (rc)
			return rc;
		return rp_dma(e, d, d->as, RT_PASID_NONE, ev->u.lx_dma.dma, ev->u.lx_dma.size,
			      rp_dir_access(ev->dir));
	case RT_EV_LX_DMA_ALLOC_SGT_ERR:
	case RT_EV_LX_DMA_MAP_SG_ERR:
		return lx_dev(e, ev->u.lx_sg.dev, false, &d);
	case RT_EV_LX_DMA_MAP_SG:
	case RT_EV_LX_DMA_UNMAP_SG:
	case RT_EV_LX_DMA_SYNC_SG_FOR_CPU:
	case RT_EV_LX_DMA_SYNC_SG_FOR_DEVICE:
		rc = lx_dev(e, ev->u.lx_sg.dev, true, &d);
		if (rc)
			return rc;
		for (const struct rt_event *c = ev + 1; c < end && c->kind == RT_EV_LX_SG_ENT;
		     c++) {
			uint64_t len = (c->flags & RT_SG_HAS_LEN) ? c->u.lx_sg_ent.len : PG;
			bool has_dma = c->flags & RT_SG_HAS_DMA;

			if (ev->kind == RT_EV_LX_DMA_UNMAP_SG) {
				if (has_dma)
					rc = lx_unmap(e, c->u.lx_sg_ent.dma, len);
				else if (c->flags & RT_SG_HAS_PHYS)
					rc = lx_unmap_phys(e, c->u.lx_sg_ent.phys);
			} else if (has_dma) {
				if (ev->kind == RT_EV_LX_DMA_MAP_SG)
					rc = lx_map(e, c->u.lx_sg_ent.dma,
						    (c->flags & RT_SG_HAS_PHYS)
							    ? c->u.lx_sg_ent.phys
							    : c->u.lx_sg_ent.dma,
						    len);
				if (!rc)
					rc = rp_dma(e, d, d->as, RT_PASID_NONE, c->u.lx_sg_ent.dma,
						    len, rp_dir_access(ev->dir));
			}
			if (rc)
				return rc;
		}
		return 0;
	case RT_EV_LX_SG_ENT:
		return 0; /* handled with its parent */
	default:
		return -EINVAL;
	}
}

void rp_linux_teardown(struct engine *e)
{
	for (struct rp_dev *d = e->devs; d; d = d->next) {
		if (d->lx_dom) {
			iommu_detach_device(d->lx_dom, d->idev);
			d->lx_dom = NULL;
		}
	}
	if (e->lx_dom) {
		iommu_domain_free(e->lx_dom);
		e->lx_dom = NULL;
	}
}
