// SPDX-License-Identifier: MIT
/*
 * The io_pagetable: IOVA allocation, areas, reserved and allowed ranges, and
 * keeping every attached domain identical to the areas (see io_pagetable.h
 * for the structures and the lock order).
 *
 * Map runs in three steps so that slow work happens outside the iova lock:
 *   1. under iova_rwsem (write): choose/check the IOVA and insert the area
 *      with pages == NULL, which reserves the range;
 *   2. under domains_rwsem (read) and the pages' mutex only: pin and fill
 *      every domain;
 *   3. under iova_rwsem (write) again: publish area->pages.
 * Unmap mirrors it: mark the area busy (pages = NULL) under the iova lock,
 * unfill and unpin with only domains_rwsem (read) held, then remove the
 * area. The rule that keeps attach/detach (domains_rwsem for write) away
 * from half-built areas: an area's domain mappings only change with
 * domains_rwsem held for read, from the fill through publishing pages (map)
 * and from marking the area busy through removing it (unmap). An area with
 * NULL pages is also in the tree outside those sections (map's step 1, and
 * a failed map removing it after its fill was undone), but then it holds
 * nothing in any domain: attach/detach skip every area with NULL pages.
 */
#include "iommufd/iommufd_private.h"

#include <assert.h>

struct iopt_pages_list {
	struct iopt_pages *pages;
	struct iopt_area *area;
	struct list_head next;
	uint64_t start_byte;
	uint64_t length;
};

/* ------------------------------------------------------------ helpers */

bool iopt_next_hole(struct itree_root *t1, struct itree_root *t2, uint64_t *pos, uint64_t last,
		    uint64_t *hs, uint64_t *hl)
{
	uint64_t p = *pos;

	while (p <= last) {
		struct itree_node *n = itree_iter_first(t1, p, p);
		uint64_t end;

		if (!n && t2)
			n = itree_iter_first(t2, p, p);
		if (n) {
			if (n->last >= last) {
				/* covered to the end (a later call finds the same) */
				*pos = last;
				return false;
			}
			p = n->last + 1;
			continue;
		}
		end = last;
		n = itree_iter_first(t1, p, last);
		if (n)
			end = min(end, n->start - 1);
		if (t2) {
			n = itree_iter_first(t2, p, last);
			if (n)
				end = min(end, n->start - 1);
		}
		*hs = p;
		*hl = end;
		*pos = end + 1; /* callers keep last < UINT64_MAX */
		return true;
	}
	*pos = p;
	return false;
}

static struct iopt_area *area_iter_first(struct io_pagetable *iopt, uint64_t s, uint64_t l)
{
	struct itree_node *n = itree_iter_first(&iopt->area_itree, s, l);

	return n ? container_of(n, struct iopt_area, node) : NULL;
}

static struct iopt_area *area_iter_next(struct iopt_area *a, uint64_t s, uint64_t l)
{
	struct itree_node *n = itree_iter_next(&a->node, s, l);

	return n ? container_of(n, struct iopt_area, node) : NULL;
}

struct iopt_area *iopt_area_contig_init(struct iopt_area_contig_iter *iter,
					struct io_pagetable *iopt, uint64_t iova,
					uint64_t last_iova)
{
	iter->cur_iova = iova;
	iter->last_iova = last_iova;
	iter->area = area_iter_first(iopt, iova, iova);
	if (iter->area && !iter->area->pages)
		iter->area = NULL;
	return iter->area;
}

struct iopt_area *iopt_area_contig_next(struct iopt_area_contig_iter *iter)
{
	uint64_t last;

	if (!iter->area)
		return NULL;
	last = iopt_area_last_iova(iter->area);
	if (iter->last_iova <= last)
		return NULL;
	iter->cur_iova = last + 1;
	iter->area = area_iter_next(iter->area, iter->cur_iova, iter->last_iova);
	if (iter->area && (iter->cur_iova != iopt_area_iova(iter->area) || !iter->area->pages))
		iter->area = NULL;
	return iter->area;
}

/* ------------------------------------------------------------ IOVA */

static bool check_hole(uint64_t *start, uint64_t last, uint64_t length, uint64_t align,
		       uint64_t page_offset)
{
	uint64_t s;

	if (last - *start < length - 1)
		return false;
	if (align_up_overflow(*start, align, &s))
		return false;
	s |= page_offset;
	if (s > last || last - s < length - 1)
		return false;
	*start = s;
	return true;
}

/*
 * Automatic IOVA: the lowest fitting hole (never at 0) inside the allowed
 * ranges, aligned to min(roundup_pow_of_two(length), lowest set bit of
 * uptr) so large pages stay possible, and keeping uptr's in-page offset.
 */
static int iopt_alloc_iova(struct io_pagetable *iopt, uint64_t *iova, uint64_t uptr,
			   uint64_t length)
{
	uint64_t page_offset = uptr % IOPT_PAGE_SIZE;
	uint64_t align;
	struct itree_span span;

	if (length == 0 || length >= UINT64_MAX / 2)
		return -EOVERFLOW;
	align = roundup_pow_of_two(length);
	if (uptr)
		align = min(align, UINT64_C(1) << (ffs64(uptr) - 1));
	if (align < iopt->iova_alignment)
		return -EINVAL;

	itree_for_each_span (&span, &iopt->allowed_itree, IOPT_PAGE_SIZE,
			     UINT64_MAX - IOPT_PAGE_SIZE) {
		uint64_t a_start, a_last, pos, hs, hl;

		if (itree_empty(&iopt->allowed_itree)) {
			a_start = IOPT_PAGE_SIZE;
			a_last = UINT64_MAX - IOPT_PAGE_SIZE;
		} else if (span.is_hole) {
			continue;
		} else {
			a_start = span.start_used;
			a_last = span.last_used;
		}
		if (!check_hole(&a_start, a_last, length, align, page_offset))
			continue;
		pos = a_start;
		while (iopt_next_hole(&iopt->reserved_itree, &iopt->area_itree, &pos, a_last, &hs,
				      &hl)) {
			if (!check_hole(&hs, hl, length, align, page_offset))
				continue;
			*iova = hs;
			return 0;
		}
	}
	return -ENOSPC;
}

static int iopt_check_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length)
{
	uint64_t last;

	if (iova & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	if (itree_iter_first(&iopt->reserved_itree, iova, last))
		return -EINVAL;
	if (itree_iter_first(&iopt->area_itree, iova, last))
		return -EEXIST;
	return 0;
}

/* The area maps [start_byte, start_byte + length) of @pages at @iova. Held: iova write. */
static int iopt_insert_area(struct io_pagetable *iopt, struct iopt_area *area,
			    struct iopt_pages *pages, uint64_t iova, uint64_t start_byte,
			    uint64_t length, int iommu_prot)
{
	uint64_t lastb;

	if ((iommu_prot & IOMMU_WRITE) && !pages->writable)
		return -EPERM;
	area->iommu_prot = iommu_prot;
	area->page_offset = start_byte % IOPT_PAGE_SIZE;
	if (area->page_offset & (iopt->iova_alignment - 1))
		return -EINVAL;
	area->node.start = iova;
	if (check_add_overflow(iova, length - 1, &area->node.last))
		return -EOVERFLOW;
	area->pages_node.start = start_byte / IOPT_PAGE_SIZE;
	if (check_add_overflow(start_byte, length - 1, &lastb))
		return -EOVERFLOW;
	area->pages_node.last = lastb / IOPT_PAGE_SIZE;
	if (area->pages_node.last >= pages->npages)
		return -EOVERFLOW;
	/* pages stays NULL until the domains are filled: the range is taken, the area not usable */
	area->iopt = iopt;
	itree_insert(&iopt->area_itree, &area->node);
	TRACE(iopt->ictx->tc, iommufd_area_insert, iova, area->node.last, area->pages_node.start,
	      iommu_prot);
	return 0;
}

static int iopt_alloc_area_pages(struct io_pagetable *iopt, struct list_head *pages_list,
				 uint64_t length, uint64_t *dst_iova, int iommu_prot,
				 unsigned int flags)
{
	struct iopt_pages_list *elm;
	uint64_t iova;
	int rc = 0;

	list_for_each_entry(elm, pages_list, next)
	{
		elm->area = fault_zalloc(iopt->ictx->fc, "iopt.area", sizeof(*elm->area));
		if (!elm->area)
			return -ENOMEM;
	}

	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	if ((length & (iopt->iova_alignment - 1)) || !length) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (flags & IOPT_ALLOC_IOVA) {
		/* the first element's address guides the alignment */
		elm = list_first_entry(pages_list, struct iopt_pages_list, next);
		rc = iopt_alloc_iova(iopt, dst_iova,
				     (elm->pages->type == IOPT_ADDRESS_USER ? elm->pages->uptr
									    : elm->pages->start) +
					     elm->start_byte,
				     length);
		if (rc)
			goto out_unlock;
		assert(!iopt_check_iova(iopt, *dst_iova, length));
	} else {
		rc = iopt_check_iova(iopt, *dst_iova, length);
		if (rc)
			goto out_unlock;
	}
	iova = *dst_iova;
	list_for_each_entry(elm, pages_list, next)
	{
		rc = iopt_insert_area(iopt, elm->area, elm->pages, iova, elm->start_byte,
				      elm->length, iommu_prot);
		if (rc)
			goto out_unlock;
		iova += elm->length;
	}
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	return rc;
}

static void iopt_abort_area(struct iopt_area *area)
{
	struct io_pagetable *iopt = area->iopt;

	assert(!area->pages);
	if (iopt) {
		pthread_rwlock_wrlock(&iopt->iova_rwsem);
		itree_remove(&iopt->area_itree, &area->node);
		pthread_rwlock_unlock(&iopt->iova_rwsem);
		TRACE(iopt->ictx->tc, iommufd_area_remove, area->node.start, area->node.last);
	}
	fault_free(area);
}

static void iopt_free_pages_list(struct list_head *pages_list)
{
	struct iopt_pages_list *elm, *tmp;

	list_for_each_entry_safe(elm, tmp, pages_list, next)
	{
		if (elm->area)
			iopt_abort_area(elm->area);
		if (elm->pages)
			iopt_put_pages(elm->pages);
		list_del(&elm->next);
		fault_free(elm);
	}
}

static int iopt_fill_domains_pages(struct list_head *pages_list)
{
	struct iopt_pages_list *elm, *undo;
	int rc;

	list_for_each_entry(elm, pages_list, next)
	{
		rc = iopt_area_fill_domains(elm->area, elm->pages);
		if (rc)
			goto err_undo;
	}
	return 0;
err_undo:
	list_for_each_entry(undo, pages_list, next)
	{
		if (undo == elm)
			break;
		iopt_area_unfill_domains(undo->area, undo->pages);
	}
	return rc;
}

static int iopt_map_pages(struct io_pagetable *iopt, struct list_head *pages_list, uint64_t length,
			  uint64_t *dst_iova, int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list *elm;
	int rc;

	rc = iopt_alloc_area_pages(iopt, pages_list, length, dst_iova, iommu_prot, flags);
	if (rc)
		return rc;

	pthread_rwlock_rdlock(&iopt->domains_rwsem);
	rc = iopt_fill_domains_pages(pages_list);
	if (rc)
		goto out_unlock_domains;
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	list_for_each_entry(elm, pages_list, next)
	{
		/* published inside domains_rwsem so a later attach fills it; the list's ref moves */
		elm->area->pages = elm->pages;
		elm->pages = NULL;
		elm->area = NULL;
	}
	pthread_rwlock_unlock(&iopt->iova_rwsem);
out_unlock_domains:
	pthread_rwlock_unlock(&iopt->domains_rwsem);
	return rc;
}

static int map_single(struct io_pagetable *iopt, struct iopt_pages *pages, uint64_t start_byte,
		      uint64_t *iova, uint64_t length, int iommu_prot, unsigned int flags)
{
	struct iopt_pages_list elm = { 0 };
	LIST_HEAD(pages_list);
	int rc;

	elm.pages = pages;
	elm.start_byte = start_byte;
	elm.length = length;
	list_add(&elm.next, &pages_list);
	rc = iopt_map_pages(iopt, &pages_list, length, iova, iommu_prot, flags);
	if (elm.area)
		iopt_abort_area(elm.area);
	if (elm.pages)
		iopt_put_pages(elm.pages);
	return rc;
}

int iopt_map_user_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt, uint64_t *iova,
			uint64_t uptr, uint64_t length, int iommu_prot, unsigned int flags)
{
	struct iopt_pages *pages;
	int rc;

	pages = iopt_alloc_user_pages(ictx, uptr, length, iommu_prot & IOMMU_WRITE, &rc);
	if (!pages)
		return rc;
	return map_single(iopt, pages, uptr - pages->uptr, iova, length, iommu_prot, flags);
}

int iopt_map_file_pages(struct iommufd_ctx *ictx, struct io_pagetable *iopt, uint64_t *iova,
			struct mach_file *file, uint64_t start, uint64_t length, int iommu_prot,
			unsigned int flags)
{
	struct iopt_pages *pages;
	int rc;

	pages = iopt_alloc_file_pages(ictx, file, start, length, iommu_prot & IOMMU_WRITE, &rc);
	if (!pages)
		return rc;
	return map_single(iopt, pages, start - pages->start, iova, length, iommu_prot, flags);
}

/* The pages behind [iova, iova + length) of @iopt, which must be mapped without a gap. */
static int iopt_get_pages_list(struct io_pagetable *iopt, uint64_t iova, uint64_t length,
			       struct list_head *pages_list)
{
	struct iopt_area_contig_iter iter;
	struct iopt_area *area;
	uint64_t last_iova;
	int rc;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last_iova))
		return -EOVERFLOW;

	pthread_rwlock_rdlock(&iopt->iova_rwsem);
	iopt_for_each_contig_area(&iter, area, iopt, iova, last_iova)
	{
		uint64_t last = min(last_iova, iopt_area_last_iova(area));
		struct iopt_pages_list *elm;

		elm = fault_zalloc(iopt->ictx->fc, "iopt.pages_list", sizeof(*elm));
		if (!elm) {
			rc = -ENOMEM;
			goto err_free;
		}
		elm->start_byte = iopt_area_start_byte(area, iter.cur_iova);
		elm->pages = area->pages;
		elm->length = last - iter.cur_iova + 1;
		iopt_get_pages(elm->pages);
		list_add_tail(&elm->next, pages_list);
	}
	if (!iopt_area_contig_done(&iter)) {
		rc = -ENOENT;
		goto err_free;
	}
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	return 0;
err_free:
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	iopt_free_pages_list(pages_list);
	return rc;
}

int iopt_copy(struct io_pagetable *src, uint64_t src_iova, struct io_pagetable *dst,
	      uint64_t *dst_iova, uint64_t length, int iommu_prot, unsigned int flags)
{
	LIST_HEAD(pages_list);
	int rc;

	rc = iopt_get_pages_list(src, src_iova, length, &pages_list);
	if (rc)
		return rc;
	rc = iopt_map_pages(dst, &pages_list, length, dst_iova, iommu_prot, flags);
	iopt_free_pages_list(&pages_list);
	return rc;
}

/* ------------------------------------------------------------ unmap */

static int iopt_unmap_iova_range(struct io_pagetable *iopt, uint64_t start, uint64_t last,
				 uint64_t *unmapped)
{
	uint64_t unmapped_bytes = 0, notified_start = 0;
	bool notified = false;
	struct iopt_area *area;
	int rc = -ENOENT;

again:
	pthread_rwlock_rdlock(&iopt->domains_rwsem);
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	while ((area = area_iter_first(iopt, start, last))) {
		uint64_t area_first = iopt_area_iova(area), area_last = iopt_area_last_iova(area);
		struct iopt_pages *pages;

		/* racing a map or unmap of the same area */
		if (!area->pages) {
			rc = -EBUSY;
			goto out_unlock;
		}
		/* no splitting: the range must cover whole areas */
		if (area_first < start || area_last > last) {
			rc = -ENOENT;
			goto out_unlock;
		}
		/* writers of num_accesses hold iova_rwsem too (for read) */
		if (area->num_accesses) {
			uint64_t len = iopt_area_length(area);

			/* the accesses were asked and still hold it: they will not let go */
			if (notified && notified_start == area_first) {
				rc = -EDEADLK;
				goto out_unlock;
			}
			/*
			 * Ask the accesses to let go, with no lock held, then look
			 * again from this area's start: once the locks are dropped
			 * another unmap may free the area, so it is not touched
			 * until it is found again under the lock.
			 */
			start = area_first;
			notified = true;
			notified_start = area_first;
			area->prevent_access = true;
			pthread_rwlock_unlock(&iopt->iova_rwsem);
			pthread_rwlock_unlock(&iopt->domains_rwsem);
			iommufd_access_notify_unmap(iopt, area_first, len);
			goto again;
		}
		pages = area->pages;
		area->pages = NULL;
		pthread_rwlock_unlock(&iopt->iova_rwsem);

		iopt_area_unfill_domains(area, pages);
		iopt_abort_area(area);
		iopt_put_pages(pages);
		unmapped_bytes += area_last - area_first + 1;

		pthread_rwlock_wrlock(&iopt->iova_rwsem);
		/*
		 * Areas go in IOVA order, so everything below area_last is done.
		 * Moving start past it (the kernel does not) keeps a concurrent
		 * automatic-IOVA map that lands in the hole just freed from being
		 * unmapped, or failing this unmap with EBUSY.
		 */
		if (area_last >= last)
			break;
		start = area_last + 1;
	}
	if (unmapped_bytes)
		rc = 0;
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	pthread_rwlock_unlock(&iopt->domains_rwsem);
	if (unmapped)
		*unmapped = unmapped_bytes;
	return rc;
}

int iopt_unmap_iova(struct io_pagetable *iopt, uint64_t iova, uint64_t length, uint64_t *unmapped)
{
	uint64_t last;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_unmap_iova_range(iopt, iova, last, unmapped);
}

int iopt_unmap_all(struct io_pagetable *iopt, uint64_t *unmapped)
{
	int rc = iopt_unmap_iova_range(iopt, 0, UINT64_MAX, unmapped);

	/* an empty IOAS unmaps all successfully */
	return rc == -ENOENT ? 0 : rc;
}

/* ------------------------------------------------------------ cut */

/*
 * Split the area covering @iova so that @iova ends one area and @iova + 1
 * starts the next. Both halves share the pages (one reference each), the
 * storage domain and every domain's mappings: only the bookkeeping changes,
 * nothing is unmapped or unpinned. This is what lets VFIO type1 (v1) unmap
 * part of a mapping. As in the kernel, an area some access has pinned is not
 * split (the access keeps no record of which half it used), nor one whose
 * domains may hold large pages a split would cut through.
 * Held: iova_rwsem for write.
 */
static int iopt_area_split(struct iopt_area *area, uint64_t iova)
{
	struct io_pagetable *iopt = area->iopt;
	uint64_t first = iopt_area_iova(area), last = iopt_area_last_iova(area);
	uint64_t align = iopt->iova_alignment, next = iova + 1;
	struct iopt_pages *pages = area->pages;
	struct iopt_area *lhs, *rhs;
	int rc;

	if (iova == first || iova == last)
		return 0;
	/* being mapped, unmapped or waited on by an unmap */
	if (!pages || area->prevent_access)
		return -EBUSY;
	if ((next & (align - 1)) || (iopt_area_start_byte(area, next) & (align - 1)))
		return -EINVAL;

	lhs = fault_zalloc(iopt->ictx->fc, "iopt.area_split", sizeof(*lhs));
	if (!lhs)
		return -ENOMEM;
	rhs = fault_zalloc(iopt->ictx->fc, "iopt.area_split", sizeof(*rhs));
	if (!rhs) {
		rc = -ENOMEM;
		goto err_free_lhs;
	}

	pthread_mutex_lock(&pages->mutex);
	if (area->num_accesses || (area->storage_domain && !iopt->disable_large_pages)) {
		rc = -EINVAL;
		goto err_unlock;
	}
	itree_remove(&iopt->area_itree, &area->node);
	rc = iopt_insert_area(iopt, lhs, pages, first, iopt_area_start_byte(area, first),
			      next - first, area->iommu_prot);
	if (rc)
		goto err_reinsert;
	rc = iopt_insert_area(iopt, rhs, pages, next, iopt_area_start_byte(area, next),
			      last - next + 1, area->iommu_prot);
	if (rc)
		goto err_remove_lhs;
	if (area->storage_domain) {
		itree_remove(&pages->domains_itree, &area->pages_node);
		itree_insert(&pages->domains_itree, &lhs->pages_node);
		itree_insert(&pages->domains_itree, &rhs->pages_node);
	}
	lhs->storage_domain = area->storage_domain;
	rhs->storage_domain = area->storage_domain;
	/* the old area's reference moves to lhs; rhs takes its own */
	iopt_get_pages(pages);
	lhs->pages = pages;
	rhs->pages = pages;
	pthread_mutex_unlock(&pages->mutex);
	TRACE(iopt->ictx->tc, iommufd_area_remove, first, last);
	fault_free(area);
	return 0;

err_remove_lhs:
	itree_remove(&iopt->area_itree, &lhs->node);
err_reinsert:
	itree_insert(&iopt->area_itree, &area->node);
err_unlock:
	pthread_mutex_unlock(&pages->mutex);
	fault_free(rhs);
err_free_lhs:
	fault_free(lhs);
	return rc;
}

int iopt_cut_iova(struct io_pagetable *iopt, const uint64_t *iovas, size_t num_iovas)
{
	int rc = 0;
	size_t i;

	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	for (i = 0; i != num_iovas && !rc; i++) {
		struct iopt_area *area = area_iter_first(iopt, iovas[i], iovas[i]);

		if (area)
			rc = iopt_area_split(area, iovas[i]);
	}
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	return rc;
}

/* ---------------------------------------------------- allowed / reserved */

int iopt_set_allow_iova(struct io_pagetable *iopt, struct itree_root *allowed)
{
	struct itree_root tmp;
	struct itree_node *n;

	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	tmp = *allowed;
	*allowed = iopt->allowed_itree;
	iopt->allowed_itree = tmp;
	for (n = itree_first(&iopt->allowed_itree); n; n = itree_next(n)) {
		if (itree_iter_first(&iopt->reserved_itree, n->start, n->last)) {
			tmp = *allowed;
			*allowed = iopt->allowed_itree;
			iopt->allowed_itree = tmp;
			pthread_rwlock_unlock(&iopt->iova_rwsem);
			return -EADDRINUSE;
		}
	}
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	return 0;
}

static int __iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last,
			       void *owner)
{
	struct iopt_reserved *r;

	if (itree_iter_first(&iopt->area_itree, start, last) ||
	    itree_iter_first(&iopt->allowed_itree, start, last))
		return -EADDRINUSE;
	r = fault_zalloc(iopt->ictx->fc, "iopt.reserved", sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->node.start = start;
	r->node.last = last;
	r->owner = owner;
	itree_insert(&iopt->reserved_itree, &r->node);
	return 0;
}

static void __iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	struct itree_node *n, *next;

	for (n = itree_first(&iopt->reserved_itree); n; n = next) {
		struct iopt_reserved *r = container_of(n, struct iopt_reserved, node);

		next = itree_next(n);
		if (r->owner == owner) {
			itree_remove(&iopt->reserved_itree, n);
			fault_free(r);
		}
	}
}

int iopt_reserve_iova(struct io_pagetable *iopt, uint64_t start, uint64_t last, void *owner)
{
	int rc;

	if (start > last)
		return -EINVAL;
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	rc = __iopt_reserve_iova(iopt, start, last, owner);
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	return rc;
}

void iopt_remove_reserved_iova(struct io_pagetable *iopt, void *owner)
{
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	__iopt_remove_reserved_iova(iopt, owner);
	pthread_rwlock_unlock(&iopt->iova_rwsem);
}

/* ------------------------------------------------------------ domains */

static struct iopt_area *area_first_all(struct io_pagetable *iopt)
{
	struct itree_node *n = itree_first(&iopt->area_itree);

	return n ? container_of(n, struct iopt_area, node) : NULL;
}

static struct iopt_area *area_next_all(struct iopt_area *a)
{
	struct itree_node *n = itree_next(&a->node);

	return n ? container_of(n, struct iopt_area, node) : NULL;
}

static int iopt_check_iova_alignment(struct io_pagetable *iopt, uint64_t align)
{
	uint64_t mask = align - 1;
	struct iopt_area *area;

	for (area = area_first_all(iopt); area; area = area_next_all(area))
		if ((iopt_area_iova(area) & mask) || (iopt_area_length(area) & mask) ||
		    (area->page_offset & mask))
			return -EADDRINUSE;
	return 0;
}

static int iopt_calculate_iova_alignment(struct io_pagetable *iopt)
{
	uint64_t align = iopt->disable_large_pages ? IOPT_PAGE_SIZE : 1;
	struct iommufd_access *access;

	for (unsigned int i = 0; i < iopt->ndomains; i++)
		align = max(align, UINT64_C(1) << (ffs64(iopt->domains[i]->pgsize_bitmap) - 1));
	pthread_mutex_lock(&iopt->access_lock);
	list_for_each_entry(access, &iopt->access_list, iopt_node) align =
		max(align, access->iova_alignment);
	pthread_mutex_unlock(&iopt->access_lock);
	if (align > iopt->iova_alignment) {
		int rc = iopt_check_iova_alignment(iopt, align);

		if (rc)
			return rc;
	}
	iopt->iova_alignment = align;
	return 0;
}

/* Fill @domain from every area; on failure the domain and the pages are as before. */
static int iopt_fill_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	struct iopt_area *area, *end_area;
	int rc;

	for (area = area_first_all(iopt); area; area = area_next_all(area)) {
		struct iopt_pages *pages = area->pages;

		if (!pages)
			continue;
		pthread_mutex_lock(&pages->mutex);
		rc = iopt_area_fill_domain(area, domain);
		if (rc) {
			pthread_mutex_unlock(&pages->mutex);
			goto err_unfill;
		}
		if (!area->storage_domain) {
			area->storage_domain = domain;
			itree_insert(&pages->domains_itree, &area->pages_node);
		}
		pthread_mutex_unlock(&pages->mutex);
	}
	return 0;

err_unfill:
	end_area = area;
	for (area = area_first_all(iopt); area && area != end_area; area = area_next_all(area)) {
		struct iopt_pages *pages = area->pages;

		if (!pages)
			continue;
		pthread_mutex_lock(&pages->mutex);
		if (iopt->ndomains == 0) {
			itree_remove(&pages->domains_itree, &area->pages_node);
			area->storage_domain = NULL;
		}
		iopt_area_unfill_domain(area, pages, domain);
		pthread_mutex_unlock(&pages->mutex);
	}
	return rc;
}

int iopt_table_add_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	uint64_t new_align;
	int rc = 0;

	pthread_rwlock_wrlock(&iopt->domains_rwsem);
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	for (unsigned int i = 0; i < iopt->ndomains; i++) {
		if (iopt->domains[i] == domain) {
			rc = -EEXIST;
			goto out_unlock;
		}
	}
	/*
	 * The domain's smallest page size drives the alignment; pages are
	 * tracked in 4 KiB units, so a domain must accept 4 KiB.
	 */
	new_align = max(UINT64_C(1) << (ffs64(domain->pgsize_bitmap) - 1), iopt->iova_alignment);
	if (!domain->pgsize_bitmap || new_align > IOPT_PAGE_SIZE) {
		rc = -EINVAL;
		goto out_unlock;
	}
	if (new_align != iopt->iova_alignment) {
		rc = iopt_check_iova_alignment(iopt, new_align);
		if (rc)
			goto out_unlock;
	}
	/* nothing may be mapped outside the aperture */
	if (domain->geometry.aperture_start) {
		rc = __iopt_reserve_iova(iopt, 0, domain->geometry.aperture_start - 1, domain);
		if (rc)
			goto out_reserved;
	}
	if (domain->geometry.aperture_end != UINT64_MAX) {
		rc = __iopt_reserve_iova(iopt, domain->geometry.aperture_end + 1, UINT64_MAX,
					 domain);
		if (rc)
			goto out_reserved;
	}
	if (iopt->ndomains == iopt->domains_cap) {
		unsigned int ncap = iopt->domains_cap ? iopt->domains_cap * 2 : 4;
		struct iommu_domain **n;

		n = fault_realloc(iopt->ictx->fc, "iopt.domains", iopt->domains, ncap * sizeof(*n));
		if (!n) {
			rc = -ENOMEM;
			goto out_reserved;
		}
		iopt->domains = n;
		iopt->domains_cap = ncap;
	}
	rc = iopt_fill_domain(iopt, domain);
	if (rc)
		goto out_reserved;
	iopt->iova_alignment = new_align;
	iopt->domains[iopt->ndomains++] = domain;
	goto out_unlock;

out_reserved:
	__iopt_remove_reserved_iova(iopt, domain);
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	pthread_rwlock_unlock(&iopt->domains_rwsem);
	return rc;
}

static void iopt_unfill_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	struct iopt_area *area;

	if (iopt->ndomains) {
		/* another domain keeps every pfn: just unmap this one */
		struct iommu_domain *storage = iopt->domains[0];

		for (area = area_first_all(iopt); area; area = area_next_all(area)) {
			struct iopt_pages *pages = area->pages;

			if (!pages)
				continue;
			pthread_mutex_lock(&pages->mutex);
			if (area->storage_domain == domain)
				area->storage_domain = storage;
			pthread_mutex_unlock(&pages->mutex);
			iopt_area_unmap_domain(area, domain);
		}
		return;
	}
	for (area = area_first_all(iopt); area; area = area_next_all(area)) {
		struct iopt_pages *pages = area->pages;

		if (!pages)
			continue;
		pthread_mutex_lock(&pages->mutex);
		itree_remove(&pages->domains_itree, &area->pages_node);
		area->storage_domain = NULL;
		iopt_area_unfill_domain(area, pages, domain);
		pthread_mutex_unlock(&pages->mutex);
	}
}

void iopt_table_remove_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	unsigned int i;

	pthread_rwlock_wrlock(&iopt->domains_rwsem);
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	for (i = 0; i < iopt->ndomains; i++)
		if (iopt->domains[i] == domain)
			break;
	if (i == iopt->ndomains)
		goto out_unlock;
	/* keep the array dense: the last entry takes the hole */
	iopt->domains[i] = iopt->domains[--iopt->ndomains];
	iopt_unfill_domain(iopt, domain);
	__iopt_remove_reserved_iova(iopt, domain);
	if (iopt_calculate_iova_alignment(iopt))
		assert(!"alignment can only shrink when a domain leaves");
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	pthread_rwlock_unlock(&iopt->domains_rwsem);
}

/* ------------------------------------------------------------ large pages */

int iopt_disable_large_pages(struct io_pagetable *iopt)
{
	int rc = 0;

	pthread_rwlock_wrlock(&iopt->domains_rwsem);
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	if (iopt->disable_large_pages)
		goto out_unlock;
	/* not once domains may hold large pages */
	if (iopt->ndomains && !itree_empty(&iopt->area_itree)) {
		rc = -EINVAL;
		goto out_unlock;
	}
	WRITE_ONCE(iopt->disable_large_pages, true);
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc)
		WRITE_ONCE(iopt->disable_large_pages, false);
out_unlock:
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	pthread_rwlock_unlock(&iopt->domains_rwsem);
	return rc;
}

void iopt_enable_large_pages(struct io_pagetable *iopt)
{
	pthread_rwlock_wrlock(&iopt->domains_rwsem);
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	WRITE_ONCE(iopt->disable_large_pages, false);
	if (iopt_calculate_iova_alignment(iopt))
		assert(!"alignment can only shrink");
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	pthread_rwlock_unlock(&iopt->domains_rwsem);
}

/* ------------------------------------------------------------ accesses */

int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access)
{
	int rc;

	pthread_rwlock_wrlock(&iopt->domains_rwsem);
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	pthread_mutex_lock(&iopt->access_lock);
	access->iopt_access_id = ++iopt->next_access_id;
	list_add_tail(&access->iopt_node, &iopt->access_list);
	pthread_mutex_unlock(&iopt->access_lock);
	rc = iopt_calculate_iova_alignment(iopt);
	if (rc) {
		pthread_mutex_lock(&iopt->access_lock);
		list_del_init(&access->iopt_node);
		pthread_mutex_unlock(&iopt->access_lock);
	}
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	pthread_rwlock_unlock(&iopt->domains_rwsem);
	return rc;
}

void iopt_remove_access(struct io_pagetable *iopt, struct iommufd_access *access)
{
	pthread_rwlock_wrlock(&iopt->domains_rwsem);
	pthread_rwlock_wrlock(&iopt->iova_rwsem);
	pthread_mutex_lock(&iopt->access_lock);
	list_del_init(&access->iopt_node);
	pthread_mutex_unlock(&iopt->access_lock);
	if (iopt_calculate_iova_alignment(iopt))
		assert(!"alignment can only shrink");
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	pthread_rwlock_unlock(&iopt->domains_rwsem);
}

/* ------------------------------------------------------------ table */

int iopt_init_table(struct io_pagetable *iopt, struct iommufd_ctx *ictx)
{
	memset(iopt, 0, sizeof(*iopt));
	iopt->ictx = ictx;
	pthread_rwlock_init(&iopt->domains_rwsem, NULL);
	pthread_rwlock_init(&iopt->iova_rwsem, NULL);
	pthread_mutex_init(&iopt->access_lock, NULL);
	itree_init(&iopt->area_itree);
	itree_init(&iopt->allowed_itree);
	itree_init(&iopt->reserved_itree);
	INIT_LIST_HEAD(&iopt->access_list);
	/* a software table takes any IOVA: no alignment until a domain or access asks */
	iopt->iova_alignment = 1;
	return 0;
}

void iopt_destroy_table(struct io_pagetable *iopt)
{
	struct itree_node *n;

	/* the selftest's ADD_RESERVED ranges have no owner */
	__iopt_remove_reserved_iova(iopt, NULL);
	while ((n = itree_first(&iopt->allowed_itree))) {
		itree_remove(&iopt->allowed_itree, n);
		fault_free(container_of(n, struct iopt_allowed, node));
	}
	assert(itree_empty(&iopt->reserved_itree));
	assert(iopt->ndomains == 0);
	assert(list_empty(&iopt->access_list));
	assert(itree_empty(&iopt->area_itree));
	fault_free(iopt->domains);
	pthread_mutex_destroy(&iopt->access_lock);
	pthread_rwlock_destroy(&iopt->iova_rwsem);
	pthread_rwlock_destroy(&iopt->domains_rwsem);
}

int iopt_check_invariants(struct io_pagetable *iopt)
{
	struct iopt_area *area;
	int rc = 0;

	pthread_rwlock_rdlock(&iopt->domains_rwsem);
	pthread_rwlock_rdlock(&iopt->iova_rwsem);
	if (itree_check(&iopt->area_itree) < 0 || itree_check(&iopt->reserved_itree) < 0 ||
	    itree_check(&iopt->allowed_itree) < 0)
		rc = -1;
	for (area = area_first_all(iopt); area; area = area_next_all(area)) {
		struct iopt_area *next = area_next_all(area);

		if (next && next->node.start <= area->node.last)
			rc = -1; /* areas never overlap */
		if (itree_iter_first(&iopt->reserved_itree, area->node.start, area->node.last))
			rc = -1;
		if (area->pages && iopt_pages_check(area->pages))
			rc = -1;
		if (area->pages && (iopt->ndomains != 0) != (area->storage_domain != NULL))
			rc = -1;
	}
	pthread_rwlock_unlock(&iopt->iova_rwsem);
	pthread_rwlock_unlock(&iopt->domains_rwsem);
	return rc;
}
