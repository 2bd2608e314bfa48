/* SPDX-License-Identifier: MIT */
/*
 * The fixture's functions, included by fixture.h into each test (static
 * inline: the test support library does not see src/).
 */
#ifndef IOMMUSIM_TEST_IOMMUFD_FIXTURE_IMPL_H
#define IOMMUSIM_TEST_IOMMUFD_FIXTURE_IMPL_H

#include <string.h>

#include <iommusim/iommufd_test.h>

#include "iommu/mock/mock.h"
#include "iommufd/iommufd_private.h"

static inline int fx_init(struct fx *f, uint64_t mem)
{
	struct mach_config cfg = { .mem_size = mem ? mem : 256 * MiB };
	int rc;

	memset(f, 0, sizeof(*f));
	rc = mach_create(&cfg, &f->m);
	if (rc)
		return rc;
	rc = mach_user_get(f->m, 1000, &f->u);
	if (rc)
		return rc;
	rc = mach_proc_create(f->m, f->u, &f->p);
	if (rc)
		return rc;
	mach_proc_set_rlimit_memlock(f->p, MACH_RLIM_INFINITY);
	rc = iommufd_ctx_open(f->p, &f->ictx);
	if (rc)
		return rc;
	f->next_dev_id = 1;
	return mock_iommu_create(f->m, &f->mock);
}

static inline void fx_teardown(struct fx *f)
{
	for (int i = (int)f->ndoms - 1; i >= 0; i--)
		if (f->doms[i].domain)
			fx_del_domain(f, i);
	if (f->ictx)
		iommufd_ctx_close(f->ictx);
	f->ictx = NULL;
	if (f->mock)
		iommu_device_put(f->mock);
	f->mock = NULL;
	if (f->p)
		mach_proc_destroy(f->p);
	if (f->u)
		mach_user_put(f->u);
	if (f->m)
		mach_destroy(f->m);
	memset(f, 0, sizeof(*f));
}

static inline int fx_fini(struct fx *f)
{
	int rc = 0;

	for (int i = (int)f->ndoms - 1; i >= 0; i--)
		if (f->doms[i].domain)
			fx_del_domain(f, i);
	iommufd_ctx_close(f->ictx);
	f->ictx = NULL;
	if (fx_pinned_frames(f) != 0)
		rc = -1;
	if (mach_user_locked_vm(f->u) != 0 || mach_proc_locked_vm(f->p) != 0 ||
	    mach_proc_pinned_vm(f->p) != 0)
		rc = -2;
	fx_teardown(f);
	return rc;
}

static inline int fx_ioctl(struct fx *f, unsigned long cmd, void *arg)
{
	return iommufd_ioctl(f->ictx, cmd, arg) ? -errno : 0;
}

static inline int fx_ioas_alloc(struct fx *f, uint32_t *id)
{
	struct iommu_ioas_alloc c = { .size = sizeof(c) };
	int rc = fx_ioctl(f, IOMMU_IOAS_ALLOC, &c);

	*id = c.out_ioas_id;
	return rc;
}

static inline int fx_map(struct fx *f, uint32_t ioas, uint64_t va, uint64_t len, uint64_t *iova,
			 uint32_t flags)
{
	struct iommu_ioas_map c = { .size = sizeof(c),
				    .flags = flags,
				    .ioas_id = ioas,
				    .user_va = va,
				    .length = len,
				    .iova = iova ? *iova : 0 };
	int rc = fx_ioctl(f, IOMMU_IOAS_MAP, &c);

	if (!rc && iova)
		*iova = c.iova;
	return rc;
}

static inline int fx_map_fixed(struct fx *f, uint32_t ioas, uint64_t va, uint64_t len,
			       uint64_t iova)
{
	return fx_map(f, ioas, va, len, &iova, MAP_RW | IOMMU_IOAS_MAP_FIXED_IOVA);
}

static inline int fx_unmap(struct fx *f, uint32_t ioas, uint64_t iova, uint64_t len,
			   uint64_t *unmapped)
{
	struct iommu_ioas_unmap c = {
		.size = sizeof(c), .ioas_id = ioas, .iova = iova, .length = len
	};
	int rc = fx_ioctl(f, IOMMU_IOAS_UNMAP, &c);

	if (unmapped)
		*unmapped = c.length;
	return rc;
}

static inline int fx_copy(struct fx *f, uint32_t dst, uint32_t src, uint64_t src_iova, uint64_t len,
			  uint64_t *dst_iova, uint32_t flags)
{
	struct iommu_ioas_copy c = { .size = sizeof(c),
				     .flags = flags,
				     .dst_ioas_id = dst,
				     .src_ioas_id = src,
				     .length = len,
				     .dst_iova = *dst_iova,
				     .src_iova = src_iova };
	int rc = fx_ioctl(f, IOMMU_IOAS_COPY, &c);

	if (!rc)
		*dst_iova = c.dst_iova;
	return rc;
}

static inline int fx_destroy(struct fx *f, uint32_t id)
{
	struct iommu_destroy c = { .size = sizeof(c), .id = id };

	return fx_ioctl(f, IOMMU_DESTROY, &c);
}

static inline int fx_reserve(struct fx *f, uint32_t ioas_id, uint64_t start, uint64_t last)
{
	struct iommufd_ioas *ioas = iommufd_get_ioas(f->ictx, ioas_id);
	int rc;

	if (!ioas)
		return -ENOENT;
	/* owner NULL, as the selftest's ADD_RESERVED */
	rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	iommufd_put_object(f->ictx, &ioas->obj);
	return rc;
}

static inline int fx_option(struct fx *f, uint32_t option, uint16_t op, uint32_t obj, uint64_t *val)
{
	struct iommu_option c = {
		.size = sizeof(c), .option_id = option, .op = op, .object_id = obj, .val64 = *val
	};
	int rc = fx_ioctl(f, IOMMU_OPTION, &c);

	*val = c.val64;
	return rc;
}

static inline uint64_t fx_mmap(struct fx *f, uint64_t len, unsigned prot, unsigned flags)
{
	uint64_t va = 0;

	if (mach_mmap(f->p, 0, len, prot, flags, NULL, 0, &va))
		return 0;
	return va;
}

static inline int fx_add_domain(struct fx *f, uint32_t ioas_id, uint32_t dev_flags)
{
	struct fx_dom *d = &f->doms[f->ndoms];
	struct iommufd_ioas *ioas;
	int rc;

	if (f->ndoms == 4)
		return -ENOSPC;
	rc = mock_dev_create(f->mock, f->next_dev_id++, dev_flags, &d->dev);
	if (rc)
		return rc;
	rc = iommu_domain_alloc_paging(d->dev, 0, &d->domain);
	if (rc)
		goto err_dev;
	ioas = iommufd_get_ioas(f->ictx, ioas_id);
	if (!ioas) {
		rc = -ENOENT;
		goto err_domain;
	}
	rc = iopt_table_add_domain(&ioas->iopt, d->domain);
	iommufd_put_object(f->ictx, &ioas->obj);
	if (rc)
		goto err_domain;
	d->ioas_id = ioas_id;
	return (int)f->ndoms++;

err_domain:
	iommu_domain_free(d->domain);
	d->domain = NULL;
err_dev:
	mock_dev_destroy(d->dev);
	d->dev = NULL;
	return rc;
}

static inline void fx_del_domain(struct fx *f, int idx)
{
	struct fx_dom *d = &f->doms[idx];
	struct iommufd_ioas *ioas = iommufd_get_ioas(f->ictx, d->ioas_id);

	if (ioas) {
		iopt_table_remove_domain(&ioas->iopt, d->domain);
		iommufd_put_object(f->ictx, &ioas->obj);
	}
	iommu_domain_free(d->domain);
	mock_dev_destroy(d->dev);
	d->domain = NULL;
	d->dev = NULL;
}

static inline bool fx_dom_maps(struct fx *f, int idx, uint64_t iova, uint64_t va)
{
	uint64_t pfn;
	struct mock_pte pte;

	if (mach_pin_user_pages(f->p, va & ~(PG - 1), 1, 0, &pfn) != 1)
		return false;
	mach_unpin_pages(f->m, &pfn, 1);
	if (mock_domain_lookup(f->doms[idx].domain, iova, &pte))
		return false;
	return pte.paddr == (pfn << 12) + (va & (PG - 1));
}

static inline bool fx_dom_empty_at(struct fx *f, int idx, uint64_t iova)
{
	struct mock_pte pte;

	return mock_domain_lookup(f->doms[idx].domain, iova, &pte) == -ENOENT;
}

static inline uint64_t fx_pinned_frames(struct fx *f)
{
	struct mach_mem_stats st;

	mach_mem_stats(f->m, &st);
	return st.pinned_frames;
}

static inline int fx_check_ioas(struct fx *f, uint32_t ioas_id)
{
	struct iommufd_ioas *ioas = iommufd_get_ioas(f->ictx, ioas_id);
	int rc;

	if (!ioas)
		return -ENOENT;
	rc = iopt_check_invariants(&ioas->iopt);
	iommufd_put_object(f->ictx, &ioas->obj);
	return rc;
}

#endif
