// SPDX-License-Identifier: MIT
/*
 * iopt_pages: pinning, pfn storage and accounting for one run of user or
 * file memory, shared by every area (in any IOAS) that maps part of it.
 *
 * Invariant (checked by iopt_pages_check()): page index i is pinned, once,
 * exactly when i is covered by domains_itree or by access_itree, and
 * npinned counts those indexes. The pages' account charge and the source
 * process's pinned_vm move together with npinned (pages_pin/pages_unpin are
 * the only places that change any of them).
 *
 * Where a pfn comes from (pages_read_pfns): an index covered by an access is
 * in pinned_pfns; an index covered by a filled area is read back from that
 * area's storage domain with iova_to_phys; anything else is pinned from the
 * source now. A read that pins (a "hole") hands the pins to the caller, who
 * either makes the index covered (inserts the area or access into its tree)
 * or gives them back with pages_unpin_holes() while the trees are unchanged.
 *
 * Batches: pfns move in arrays of at most ictx->temp_memory_limit bytes
 * (64 KiB: 8192 pages = 32 MiB per step); a domain gets one iommu_map() per
 * physically contiguous run inside a batch (per page when large pages are
 * disabled). Teardown paths fall back to a 32-entry array on the stack when
 * the allocation fails, so they never fail.
 *
 * Unfill order: read the pfns back from the storage domain, unmap the batch's
 * iova range from every domain (iommu_unmap_fast + one iommu_iotlb_sync per
 * domain), and only then unpin, so no device can reach an unpinned page.
 *
 * iommu_map() is relied on to be all or nothing, as the kernel's is.
 *
 * Locking: every function here runs under pages->mutex (taken here or by the
 * caller as noted in io_pagetable.h); domain lists are stable because the
 * caller holds domains_rwsem.
 */
#include "iommufd/iommufd_private.h"

#include <assert.h>

#define BATCH_BACKUP 32

struct pfn_batch {
	uint64_t *pfns;
	uint64_t cap;
	bool allocated;
};

static uint64_t batch_cap_for(const struct iopt_pages *pages)
{
	size_t limit = __atomic_load_n(pages->temp_limit, __ATOMIC_RELAXED);
	uint64_t cap = limit / sizeof(uint64_t);

	return cap ? cap : 1;
}

/* Allocate a batch for up to @want pages. With @backup, never fails. */
static int batch_init(struct pfn_batch *b, struct iopt_pages *pages, uint64_t want,
		      uint64_t *backup)
{
	uint64_t cap = min(batch_cap_for(pages), want);

	b->pfns = fault_malloc(pages->fc, "iopt.batch", cap * sizeof(uint64_t));
	if (b->pfns) {
		b->cap = cap;
		b->allocated = true;
		return 0;
	}
	if (!backup)
		return -ENOMEM;
	b->pfns = backup;
	b->cap = BATCH_BACKUP;
	b->allocated = false;
	return 0;
}

static void batch_destroy(struct pfn_batch *b)
{
	if (b->allocated)
		fault_free(b->pfns);
}

/* ------------------------------------------------------------ accounting */

static uint64_t rlimit_pages(struct mach_proc *p)
{
	uint64_t lim = mach_proc_rlimit_memlock(p);

	return lim == MACH_RLIM_INFINITY ? MACH_RLIM_INFINITY : lim >> IOPT_PAGE_SHIFT;
}

static int pages_charge(struct iopt_pages *pages, uint64_t n)
{
	int rc = 0;

	if (fault_should_fail(pages->fc, FAULT_CLASS_ACCOUNT, "iopt.account"))
		rc = -ENOMEM;
	else if (pages->account_mode == IOPT_PAGES_ACCOUNT_USER)
		rc = mach_user_charge_locked(pages->source_user, n,
					     rlimit_pages(pages->source_proc));
	else if (pages->account_mode == IOPT_PAGES_ACCOUNT_MM)
		rc = mach_proc_charge_locked(pages->source_proc, n,
					     rlimit_pages(pages->source_proc));
	TRACE(pages->tc, iommufd_account_charge, pages->account_mode, n, (uint64_t)(int64_t)rc);
	if (rc)
		return rc;
	mach_proc_add_pinned(pages->source_proc, (int64_t)n);
	pages->npinned += n;
	return 0;
}

static void pages_uncharge(struct iopt_pages *pages, uint64_t n)
{
	if (pages->account_mode == IOPT_PAGES_ACCOUNT_USER)
		mach_user_uncharge_locked(pages->source_user, n);
	else if (pages->account_mode == IOPT_PAGES_ACCOUNT_MM)
		mach_proc_uncharge_locked(pages->source_proc, n);
	TRACE(pages->tc, iommufd_account_uncharge, pages->account_mode, n);
	mach_proc_add_pinned(pages->source_proc, -(int64_t)n);
	assert(pages->npinned >= n);
	pages->npinned -= n;
}

/* --------------------------------------------------------- pin / unpin */

/* Pin and account indexes [index, index + n): all or nothing. */
static int pages_pin(struct iopt_pages *pages, uint64_t index, uint64_t n, uint64_t *pfns)
{
	unsigned int flags = pages->writable ? MACH_PIN_WRITE : 0;
	long rc;

	if (pages->type == IOPT_ADDRESS_USER)
		rc = mach_pin_user_pages(pages->source_proc, pages->uptr + index * IOPT_PAGE_SIZE,
					 n, flags, pfns);
	else
		rc = mach_file_pin_pages(pages->file, pages->start / IOPT_PAGE_SIZE + index, n,
					 flags, pfns);
	TRACE(pages->tc, iommufd_pin_batch, index, n, (uint64_t)(rc < 0 ? rc : 0));
	if (rc < 0)
		return (int)rc;
	rc = pages_charge(pages, n);
	if (rc) {
		mach_unpin_pages(pages->mach, pfns, n);
		return (int)rc;
	}
	return 0;
}

static void pages_unpin(struct iopt_pages *pages, uint64_t index, const uint64_t *pfns, uint64_t n)
{
	mach_unpin_pages(pages->mach, pfns, n);
	TRACE(pages->tc, iommufd_unpin_batch, index, n);
	pages_uncharge(pages, n);
}

static bool pages_next_hole(struct iopt_pages *pages, uint64_t *pos, uint64_t last, uint64_t *hs,
			    uint64_t *hl)
{
	return iopt_next_hole(&pages->domains_itree, &pages->access_itree, pos, last, hs, hl);
}

/* Unpin the indexes of [s, e] covered by no tree; pfns[0] is index s. */
static void pages_unpin_holes(struct iopt_pages *pages, uint64_t s, uint64_t e,
			      const uint64_t *pfns)
{
	uint64_t pos = s, hs, hl;

	while (pages_next_hole(pages, &pos, e, &hs, &hl))
		pages_unpin(pages, hs, pfns + (hs - s), hl - hs + 1);
}

/* ------------------------------------------------------ domain helpers */

/* pfns of [s, e] of @area as stored in @domain. */
static void batch_from_domain(struct iopt_area *area, struct iommu_domain *domain, uint64_t s,
			      uint64_t e, uint64_t *pfns)
{
	for (uint64_t i = s; i <= e; i++) {
		uint64_t iova = iopt_area_index_to_iova(area, i);
		uint64_t off = i == iopt_area_index(area) ? area->page_offset : 0;
		uint64_t phys = iommu_iova_to_phys(domain, iova);

		pfns[i - s] = (phys - off) >> IOPT_PAGE_SHIFT;
	}
}

static void domain_unmap_iova(struct iommu_domain *domain, uint64_t iova, uint64_t last)
{
	struct iommu_iotlb_gather gather;

	iommu_iotlb_gather_init(&gather);
	iommu_unmap_fast(domain, iova, last - iova + 1, &gather);
	iommu_iotlb_sync(domain, &gather);
}

static void area_unmap_indexes(struct iopt_area *area, struct iommu_domain *domain, uint64_t s,
			       uint64_t e)
{
	domain_unmap_iova(domain, iopt_area_index_to_iova(area, s),
			  iopt_area_index_to_last_iova(area, e));
}

/* Map [s, e] of @area into @domain: one iommu_map per contiguous run. All or nothing. */
static int batch_to_domain(struct iopt_area *area, struct iommu_domain *domain, uint64_t s,
			   uint64_t e, const uint64_t *pfns)
{
	bool small = READ_ONCE(area->iopt->disable_large_pages);
	uint64_t i = s;
	int rc;

	while (i <= e) {
		uint64_t j = i, iova, last, off;

		if (!small)
			while (j < e && pfns[j + 1 - s] == pfns[j - s] + 1)
				j++;
		iova = iopt_area_index_to_iova(area, i);
		last = iopt_area_index_to_last_iova(area, j);
		off = i == iopt_area_index(area) ? area->page_offset : 0;
		rc = iommu_map(domain, iova, (pfns[i - s] << IOPT_PAGE_SHIFT) + off,
			       last - iova + 1, area->iommu_prot);
		if (rc) {
			if (i > s)
				area_unmap_indexes(area, domain, s, i - 1);
			return rc;
		}
		i = j + 1;
	}
	return 0;
}

/*
 * pfns of [s, e] into @pfns, pinning the holes (see the top comment). On
 * failure nothing is left pinned by this call.
 */
static int pages_read_pfns(struct iopt_pages *pages, uint64_t s, uint64_t e, uint64_t *pfns)
{
	uint64_t i = s;
	int rc;

	while (i <= e) {
		struct itree_node *n;
		uint64_t end;

		n = itree_iter_first(&pages->access_itree, i, i);
		if (n) {
			end = min(n->last, e);
			for (uint64_t j = i; j <= end; j++)
				pfns[j - s] = sparse_load(&pages->pinned_pfns, j);
			i = end + 1;
			continue;
		}
		n = itree_iter_first(&pages->domains_itree, i, i);
		if (n) {
			struct iopt_area *area = container_of(n, struct iopt_area, pages_node);

			end = min(n->last, e);
			batch_from_domain(area, area->storage_domain, i, end, pfns + (i - s));
			i = end + 1;
			continue;
		}
		end = e;
		n = itree_iter_first(&pages->access_itree, i, e);
		if (n)
			end = min(end, n->start - 1);
		n = itree_iter_first(&pages->domains_itree, i, e);
		if (n)
			end = min(end, n->start - 1);
		rc = pages_pin(pages, i, end - i + 1, pfns + (i - s));
		if (rc) {
			if (i > s)
				pages_unpin_holes(pages, s, i - 1, pfns);
			return rc;
		}
		i = end + 1;
	}
	return 0;
}

/*
 * Remove [s, l] of @area from @domains (all of them), then unpin the indexes
 * no tree covers any more, reading their pfns back from @storage first.
 * Never fails.
 */
static void area_unfill_range(struct iopt_area *area, struct iopt_pages *pages, uint64_t s,
			      uint64_t l, struct iommu_domain *const *domains, unsigned int nd,
			      struct iommu_domain *storage)
{
	uint64_t backup[BATCH_BACKUP];
	struct pfn_batch b;

	TRACE(pages->tc, iommufd_domain_unfill, iopt_area_index_to_iova(area, s),
	      iopt_area_index_to_last_iova(area, l), nd);
	batch_init(&b, pages, l - s + 1, backup);
	while (s <= l) {
		uint64_t e = min(l, s + b.cap - 1);
		uint64_t pos = s, hs, hl;

		while (pages_next_hole(pages, &pos, e, &hs, &hl))
			batch_from_domain(area, storage, hs, hl, b.pfns + (hs - s));
		for (unsigned int d = 0; d < nd; d++)
			area_unmap_indexes(area, domains[d], s, e);
		pages_unpin_holes(pages, s, e, b.pfns);
		s = e + 1;
	}
	batch_destroy(&b);
}

/* ------------------------------------------------------ area <-> domains */

/*
 * Map the area's pinned pages into @nd domains, batch by batch. On failure
 * whatever this call mapped is unmapped again and the pins it took are
 * dropped. Caller holds pages->mutex.
 */
static int area_fill(struct iopt_area *area, struct iopt_pages *pages,
		     struct iommu_domain *const *domains, unsigned int nd)
{
	uint64_t s0 = iopt_area_index(area), l0 = iopt_area_last_index(area);
	uint64_t done = s0, s;
	struct pfn_batch b;
	unsigned int d;
	int rc;

	rc = batch_init(&b, pages, l0 - s0 + 1, NULL);
	if (rc)
		return rc;
	TRACE(pages->tc, iommufd_domain_fill, iopt_area_iova(area), iopt_area_last_iova(area), nd);
	for (s = s0; s <= l0; s += b.cap) {
		uint64_t e = min(l0, s + b.cap - 1);

		rc = pages_read_pfns(pages, s, e, b.pfns);
		if (rc)
			goto err_unfill;
		for (d = 0; d < nd; d++) {
			rc = batch_to_domain(area, domains[d], s, e, b.pfns);
			if (rc)
				break;
		}
		if (rc) {
			while (d--)
				area_unmap_indexes(area, domains[d], s, e);
			pages_unpin_holes(pages, s, e, b.pfns);
			goto err_unfill;
		}
		done = e + 1;
		if (e == l0)
			break;
	}
	batch_destroy(&b);
	return 0;

err_unfill:
	if (done > s0)
		area_unfill_range(area, pages, s0, done - 1, domains, nd, domains[0]);
	batch_destroy(&b);
	return rc;
}

int iopt_area_fill_domains(struct iopt_area *area, struct iopt_pages *pages)
{
	struct io_pagetable *iopt = area->iopt;
	int rc;

	if (!iopt->ndomains)
		return 0;
	pthread_mutex_lock(&pages->mutex);
	rc = area_fill(area, pages, iopt->domains, iopt->ndomains);
	if (!rc) {
		area->storage_domain = iopt->domains[0];
		itree_insert(&pages->domains_itree, &area->pages_node);
	}
	pthread_mutex_unlock(&pages->mutex);
	return rc;
}

void iopt_area_unfill_domains(struct iopt_area *area, struct iopt_pages *pages)
{
	struct io_pagetable *iopt = area->iopt;

	pthread_mutex_lock(&pages->mutex);
	if (area->storage_domain) {
		itree_remove(&pages->domains_itree, &area->pages_node);
		area_unfill_range(area, pages, iopt_area_index(area), iopt_area_last_index(area),
				  iopt->domains, iopt->ndomains, area->storage_domain);
		area->storage_domain = NULL;
	}
	pthread_mutex_unlock(&pages->mutex);
}

/* One more domain for a filled area (pages->mutex held by the caller). */
int iopt_area_fill_domain(struct iopt_area *area, struct iommu_domain *domain)
{
	return area_fill(area, area->pages, &domain, 1);
}

void iopt_area_unmap_domain(struct iopt_area *area, struct iommu_domain *domain)
{
	domain_unmap_iova(domain, iopt_area_iova(area), iopt_area_last_iova(area));
}

void iopt_area_unfill_domain(struct iopt_area *area, struct iopt_pages *pages,
			     struct iommu_domain *domain)
{
	area_unfill_range(area, pages, iopt_area_index(area), iopt_area_last_index(area), &domain,
			  1, domain);
}

/* ------------------------------------------------------------- accesses */

static struct iopt_pages_access *pages_exact_access(struct iopt_pages *pages, uint64_t s,
						    uint64_t l)
{
	struct itree_node *n;

	itree_for_each (n, &pages->access_itree, s, l)
		if (n->start == s && n->last == l)
			return container_of(n, struct iopt_pages_access, node);
	return NULL;
}

/* Drop pinned_pfns entries of [s, l] no access covers; unpin those no domain covers either. */
static void pages_unfill_xarray(struct iopt_pages *pages, uint64_t s, uint64_t l)
{
	uint64_t backup[BATCH_BACKUP];
	uint64_t pos = s, as, al;
	struct pfn_batch b;

	batch_init(&b, pages, l - s + 1, backup);
	while (iopt_next_hole(&pages->access_itree, NULL, &pos, l, &as, &al)) {
		uint64_t dpos = as, hs, hl;

		/* unpin what no domain holds, in batches */
		while (iopt_next_hole(&pages->domains_itree, NULL, &dpos, al, &hs, &hl)) {
			while (hs <= hl) {
				uint64_t e = min(hl, hs + b.cap - 1);

				for (uint64_t i = hs; i <= e; i++)
					b.pfns[i - hs] = sparse_load(&pages->pinned_pfns, i);
				pages_unpin(pages, hs, b.pfns, e - hs + 1);
				if (e == hl)
					break;
				hs = e + 1;
			}
		}
		sparse_erase_range(&pages->pinned_pfns, as, al);
	}
	batch_destroy(&b);
}

int iopt_area_add_access(struct iopt_area *area, uint64_t start_index, uint64_t last_index,
			 uint64_t *out_pfns, unsigned int flags)
{
	struct iopt_pages *pages = area->pages;
	struct iopt_pages_access *acc;
	uint64_t pos, as, al;
	int rc;

	if ((flags & IOMMUFD_ACCESS_RW_WRITE) && !pages->writable)
		return -EPERM;

	pthread_mutex_lock(&pages->mutex);
	acc = pages_exact_access(pages, start_index, last_index);
	if (acc) {
		acc->users++;
		area->num_accesses++;
		for (uint64_t i = start_index; i <= last_index; i++)
			out_pfns[i - start_index] = sparse_load(&pages->pinned_pfns, i);
		pthread_mutex_unlock(&pages->mutex);
		return 0;
	}

	acc = fault_zalloc(pages->fc, "iopt.pages_access", sizeof(*acc));
	if (!acc) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	rc = pages_read_pfns(pages, start_index, last_index, out_pfns);
	if (rc)
		goto err_free;
	/* Store the pfns no access held yet; all or nothing per range, undone on failure. */
	pos = start_index;
	while (iopt_next_hole(&pages->access_itree, NULL, &pos, last_index, &as, &al)) {
		rc = sparse_store_range(&pages->pinned_pfns, as, al, out_pfns + (as - start_index));
		if (rc) {
			if (as > start_index) {
				uint64_t p2 = start_index, bs, bl;

				while (iopt_next_hole(&pages->access_itree, NULL, &p2, as - 1, &bs,
						      &bl))
					sparse_erase_range(&pages->pinned_pfns, bs, bl);
			}
			pages_unpin_holes(pages, start_index, last_index, out_pfns);
			goto err_free;
		}
	}
	acc->node.start = start_index;
	acc->node.last = last_index;
	acc->users = 1;
	itree_insert(&pages->access_itree, &acc->node);
	area->num_accesses++;
	pthread_mutex_unlock(&pages->mutex);
	return 0;

err_free:
	fault_free(acc);
out_unlock:
	pthread_mutex_unlock(&pages->mutex);
	return rc;
}

void iopt_area_remove_access(struct iopt_area *area, uint64_t start_index, uint64_t last_index)
{
	struct iopt_pages *pages = area->pages;
	struct iopt_pages_access *acc;

	pthread_mutex_lock(&pages->mutex);
	acc = pages_exact_access(pages, start_index, last_index);
	assert(acc && area->num_accesses);
	area->num_accesses--;
	if (--acc->users == 0) {
		itree_remove(&pages->access_itree, &acc->node);
		pages_unfill_xarray(pages, start_index, last_index);
		fault_free(acc);
	}
	pthread_mutex_unlock(&pages->mutex);
}

/*
 * Read/write through the pages. Pinned pages are used in place; the rest go
 * through the source: the process's page tables (as copy_to/from_user does
 * in the kernel) or a short pin of the file page.
 */
int iopt_pages_rw_access(struct iopt_pages *pages, uint64_t start_byte, void *data, uint64_t length,
			 unsigned int flags)
{
	bool write = flags & IOMMUFD_ACCESS_RW_WRITE;
	char *buf = data;
	int rc = 0;

	if (write && !pages->writable)
		return -EPERM;

	pthread_mutex_lock(&pages->mutex);
	while (length) {
		uint64_t index = start_byte / IOPT_PAGE_SIZE;
		uint64_t off = start_byte % IOPT_PAGE_SIZE;
		uint64_t n = min(length, IOPT_PAGE_SIZE - off);
		uint64_t pfn = 0;
		bool tmp_pin = false;
		struct itree_node *node;

		if (itree_iter_first(&pages->access_itree, index, index)) {
			pfn = sparse_load(&pages->pinned_pfns, index);
		} else if ((node = itree_iter_first(&pages->domains_itree, index, index))) {
			struct iopt_area *area = container_of(node, struct iopt_area, pages_node);

			batch_from_domain(area, area->storage_domain, index, index, &pfn);
		} else if (pages->type == IOPT_ADDRESS_USER) {
			uint64_t va = pages->uptr + start_byte;

			rc = write ? mach_copy_to_user(pages->source_proc, va, buf, n)
				   : mach_copy_from_user(pages->source_proc, buf, va, n);
			if (rc)
				break;
			goto next;
		} else {
			long r = mach_file_pin_pages(pages->file,
						     pages->start / IOPT_PAGE_SIZE + index, 1,
						     write ? MACH_PIN_WRITE : 0, &pfn);
			if (r < 0) {
				rc = (int)r;
				break;
			}
			tmp_pin = true;
		}
		rc = write ? mach_phys_write(pages->mach, (pfn << IOPT_PAGE_SHIFT) + off, buf, n)
			   : mach_phys_read(pages->mach, (pfn << IOPT_PAGE_SHIFT) + off, buf, n);
		if (tmp_pin)
			mach_unpin_pages(pages->mach, &pfn, 1);
		if (rc)
			break;
	next:
		buf += n;
		start_byte += n;
		length -= n;
	}
	pthread_mutex_unlock(&pages->mutex);
	return rc;
}

/* ---------------------------------------------------------- lifetime */

static struct iopt_pages *pages_alloc(struct iommufd_ctx *ictx, uint64_t start_byte,
				      uint64_t length, bool writable, int *err)
{
	struct mach_user *u = mach_proc_user(ictx->proc);
	struct iopt_pages *pages;
	int rc;

	/* the iommu API takes size_t lengths; also keeps the round-up below from wrapping */
	if (length == 0 || length > SIZE_MAX - IOPT_PAGE_SIZE) {
		*err = -EINVAL;
		return NULL;
	}
	pages = fault_zalloc(ictx->fc, "iopt.pages", sizeof(*pages));
	if (!pages) {
		*err = -ENOMEM;
		return NULL;
	}
	rc = mach_user_get(ictx->mach, mach_user_uid(u), &pages->source_user);
	if (rc) {
		fault_free(pages);
		*err = rc;
		return NULL;
	}
	pages->refcount = 1;
	pthread_mutex_init(&pages->mutex, NULL);
	pages->mach = ictx->mach;
	pages->source_proc = ictx->proc;
	pages->fc = ictx->fc;
	pages->tc = ictx->tc;
	pages->temp_limit = &ictx->temp_memory_limit;
	pages->writable = writable;
	/* fixed for the pages' life: RLIMIT_MODE only changes while the context is empty */
	pages->account_mode =
		mach_proc_cap_ipc_lock(ictx->proc) ? IOPT_PAGES_ACCOUNT_NONE : ictx->account_mode;
	pages->npages = (length + start_byte + IOPT_PAGE_SIZE - 1) / IOPT_PAGE_SIZE;
	sparse_init(&pages->pinned_pfns, ictx->fc);
	itree_init(&pages->access_itree);
	itree_init(&pages->domains_itree);
	return pages;
}

struct iopt_pages *iopt_alloc_user_pages(struct iommufd_ctx *ictx, uint64_t uptr, uint64_t length,
					 bool writable, int *err)
{
	uint64_t start_byte = uptr % IOPT_PAGE_SIZE, end;
	struct iopt_pages *pages;

	if (length && check_add_overflow(uptr, length, &end)) {
		*err = -EOVERFLOW;
		return NULL;
	}
	pages = pages_alloc(ictx, start_byte, length, writable, err);
	if (!pages)
		return NULL;
	pages->type = IOPT_ADDRESS_USER;
	pages->uptr = uptr - start_byte;
	return pages;
}

struct iopt_pages *iopt_alloc_file_pages(struct iommufd_ctx *ictx, struct mach_file *file,
					 uint64_t start, uint64_t length, bool writable, int *err)
{
	uint64_t start_byte = start % IOPT_PAGE_SIZE, end;
	struct iopt_pages *pages;

	if (length && check_add_overflow(start, length, &end)) {
		*err = -EOVERFLOW;
		return NULL;
	}
	pages = pages_alloc(ictx, start_byte, length, writable, err);
	if (!pages)
		return NULL;
	pages->type = IOPT_ADDRESS_FILE;
	pages->start = start - start_byte;
	mach_file_get(file);
	pages->file = file;
	return pages;
}

void iopt_get_pages(struct iopt_pages *pages)
{
	__atomic_add_fetch(&pages->refcount, 1, __ATOMIC_RELAXED);
}

void iopt_put_pages(struct iopt_pages *pages)
{
	if (__atomic_sub_fetch(&pages->refcount, 1, __ATOMIC_ACQ_REL))
		return;
	/* Every area and access is gone, so nothing may be pinned. */
	assert(itree_empty(&pages->domains_itree) && itree_empty(&pages->access_itree));
	assert(pages->npinned == 0 && sparse_empty(&pages->pinned_pfns));
	sparse_destroy(&pages->pinned_pfns);
	if (pages->file)
		mach_file_put(pages->file);
	mach_user_put(pages->source_user);
	pthread_mutex_destroy(&pages->mutex);
	fault_free(pages);
}

int iopt_pages_check(struct iopt_pages *pages)
{
	uint64_t pos = 0, hs, hl, holes = 0, acc_holes = 0;
	int rc = 0;

	pthread_mutex_lock(&pages->mutex);
	while (pages_next_hole(pages, &pos, pages->npages - 1, &hs, &hl))
		holes += hl - hs + 1;
	pos = 0;
	while (iopt_next_hole(&pages->access_itree, NULL, &pos, pages->npages - 1, &hs, &hl))
		acc_holes += hl - hs + 1;
	if (pages->npinned != pages->npages - holes)
		rc = -1;
	if (sparse_count(&pages->pinned_pfns) != pages->npages - acc_holes)
		rc = -1;
	if (itree_check(&pages->domains_itree) < 0 || itree_check(&pages->access_itree) < 0 ||
	    sparse_check(&pages->pinned_pfns))
		rc = -1;
	pthread_mutex_unlock(&pages->mutex);
	return rc;
}
