// SPDX-License-Identifier: MIT
/*
 * VFIO type1 container semantics on top of an IOAS.
 *
 * A VFIO container is one I/O address space shared by every device of its
 * groups; here it is the context's compatibility IOAS (ictx->vfio_ioas,
 * chosen with IOMMU_VFIO_IOAS, or created by iommufd_vfio_compat_ioas_create
 * for the shim's /dev/vfio/vfio). Every type1 ioctl looks that IOAS up with
 * a short-term reference, works through the io_pagetable API and drops it:
 * this file owns no state of its own, so there is nothing to lock beyond
 * what the io_pagetable already locks.
 *
 * Where type1 and iommufd differ, this file takes type1's side on the
 * argument checks (page-aligned vaddr/iova/size, READ or WRITE required,
 * dma_entry_limit when configured) and iommufd's side on the mapping
 * model, as the kernel's compat layer does: a type1 (v1) container (large
 * pages disabled) may unmap part of a mapping, vfio_unmap_dma() first
 * cutting the areas at the range's ends with iopt_cut_iova(); a type1v2
 * unmap must cover whole areas (ENOENT otherwise), and a cut the
 * io_pagetable refuses (an area an access has pinned, one being mapped or
 * unmapped) fails the unmap. docs/preload.md lists each difference.
 *
 * The dma_entry_limit check counts the IOAS's areas before mapping; two
 * maps racing on the last free slot may both pass. Type1 holds one mutex
 * across the check and the map; the simulator does not serialise maps for
 * this, and says so in the docs.
 */
#include "iommufd/vfio_compat.h"

#include <iommusim/iommufd.h>
#include <iommusim/vfio.h>

#include "iommufd/iommufd_private.h"

#define VFIO_PAGE_SIZE 4096ULL

/* The compatibility IOAS with a short-term reference, or NULL (-ENODEV). */
static struct iommufd_ioas *compat_ioas_get(struct iommufd_ctx *ictx)
{
	for (;;) {
		struct iommufd_ioas *ioas;
		uint32_t id;
		bool same;

		pthread_mutex_lock(&ictx->objects_lock);
		id = ictx->vfio_ioas ? ictx->vfio_ioas->obj.id : 0;
		pthread_mutex_unlock(&ictx->objects_lock);
		if (!id)
			return NULL;
		ioas = iommufd_get_ioas(ictx, id);
		if (!ioas)
			return NULL;
		/* The id may have been destroyed and reused between the two locks. */
		pthread_mutex_lock(&ictx->objects_lock);
		same = ictx->vfio_ioas == ioas;
		pthread_mutex_unlock(&ictx->objects_lock);
		if (same)
			return ioas;
		iommufd_put_object(ictx, &ioas->obj);
	}
}

int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_vfio_ioas set = { .size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	struct iommufd_ioas *ioas;

	ioas = compat_ioas_get(ictx);
	if (ioas) {
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	}
	if (iommufd_ioctl(ictx, IOMMU_IOAS_ALLOC, &alloc))
		return -errno;
	set.ioas_id = alloc.out_ioas_id;
	if (iommufd_ioctl(ictx, IOMMU_VFIO_IOAS, &set)) {
		int rc = -errno;

		destroy.id = alloc.out_ioas_id;
		iommufd_ioctl(ictx, IOMMU_DESTROY, &destroy);
		return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ SET_IOMMU */

static int vfio_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	struct iommufd_ioas *ioas;
	int rc = 0;

	if (type != VFIO_TYPE1_IOMMU && type != VFIO_TYPE1v2_IOMMU)
		return -EINVAL;
	/* A real container refuses SET_IOMMU until a group is attached. */
	ioas = compat_ioas_get(ictx);
	if (!ioas)
		return -ENODEV;
	/*
	 * Type1 (v1) may unmap part of a mapping. iommufd emulates it by
	 * keeping every IOPTE at PAGE_SIZE so that any page boundary can be
	 * cut; we do the same, and vfio_unmap_dma() cuts with iopt_cut_iova().
	 */
	if (type == VFIO_TYPE1_IOMMU)
		rc = iopt_disable_large_pages(&ioas->iopt);
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

/* ------------------------------------------------------ CHECK_EXTENSION */

static int vfio_check_extension(struct iommufd_ctx *ictx, unsigned long ext)
{
	struct iommufd_ioas *ioas;

	switch (ext) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_DMA_CC_IOMMU:
		/*
		 * Every simulated IOMMU enforces coherency (no no-snoop
		 * path), so this only needs a container to ask about.
		 */
		ioas = compat_ioas_get(ictx);
		if (!ioas)
			return -ENODEV;
		iommufd_put_object(ictx, &ioas->obj);
		return 1;
	case VFIO_NOIOMMU_IOMMU: /* no unsafe no-IOMMU mode in a simulator */
	case VFIO_UPDATE_VADDR: /* re-pointing live maps is not supported */
	case VFIO_TYPE1_NESTING_IOMMU:
	default:
		return 0;
	}
}

/* ---------------------------------------------------------- GET_INFO */

/* Page sizes every attached domain supports, at least the IOAS alignment. */
static uint64_t vfio_iova_pgsizes(struct iommufd_ioas *ioas)
{
	struct io_pagetable *iopt = &ioas->iopt;
	uint64_t sizes = UINT64_MAX;

	pthread_rwlock_rdlock(&iopt->domains_rwsem);
	for (unsigned int i = 0; i < iopt->ndomains; i++)
		sizes &= iopt->domains[i]->pgsize_bitmap;
	/* sub-page sizes collapse into PAGE_SIZE, as type1 reports them */
	if (sizes & (VFIO_PAGE_SIZE - 1)) {
		sizes &= ~(VFIO_PAGE_SIZE - 1);
		sizes |= VFIO_PAGE_SIZE;
	}
	if (sizes < iopt->iova_alignment)
		sizes = iopt->iova_alignment;
	pthread_rwlock_unlock(&iopt->domains_rwsem);
	return sizes;
}

static uint64_t vfio_count_areas(struct io_pagetable *iopt)
{
	uint64_t n = 0;

	for (struct itree_node *node = itree_first(&iopt->area_itree); node;
	     node = itree_next(node))
		n++;
	return n;
}

/*
 * Each cap writer puts its capability at @buf (NULL: nothing fits) with
 * @room bytes available and returns the size the capability needs.
 * Held: iopt->iova_rwsem for read.
 */
static size_t cap_dma_avail(struct iommufd_ioas *ioas, const struct iommufd_vfio_opts *opts,
			    uint8_t *buf, size_t room)
{
	struct vfio_iommu_type1_info_dma_avail cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, .version = 1 },
		/* iommufd reports UINT32_MAX (no count limit) unless one is configured */
		.avail = UINT32_MAX,
	};

	if (opts->dma_entry_limit) {
		uint64_t used = vfio_count_areas(&ioas->iopt);

		cap.avail = used >= opts->dma_entry_limit
				    ? 0
				    : (uint32_t)(opts->dma_entry_limit - used);
	}
	if (buf && room >= sizeof(cap))
		memcpy(buf, &cap, sizeof(cap));
	return sizeof(cap);
}

static size_t cap_iova_range(struct iommufd_ioas *ioas, const struct iommufd_vfio_opts *opts,
			     uint8_t *buf, size_t room)
{
	struct vfio_iommu_type1_info_cap_iova_range cap = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1 },
	};
	struct itree_span span;
	size_t need;

	(void)opts;
	/* the usable ranges are the holes between reserved ranges */
	itree_for_each_span (&span, &ioas->iopt.reserved_itree, 0, UINT64_MAX) {
		struct vfio_iova_range r;

		if (!span.is_hole)
			continue;
		r.start = span.start_hole;
		r.end = span.last_hole;
		need = sizeof(cap) + (cap.nr_iovas + 1) * sizeof(r);
		if (buf && room >= need)
			memcpy(buf + sizeof(cap) + cap.nr_iovas * sizeof(r), &r, sizeof(r));
		cap.nr_iovas++;
	}
	need = sizeof(cap) + cap.nr_iovas * sizeof(struct vfio_iova_range);
	if (buf && room >= need)
		memcpy(buf, &cap, sizeof(cap));
	return need;
}

static int vfio_iommu_get_info(struct iommufd_ctx *ictx, void *arg,
			       const struct iommufd_vfio_opts *opts)
{
	typedef size_t (*cap_fn)(struct iommufd_ioas *, const struct iommufd_vfio_opts *, uint8_t *,
				 size_t);
	static const cap_fn caps[] = { cap_dma_avail, cap_iova_range };
	const size_t minsz =
		offsetof(struct vfio_iommu_type1_info, iova_pgsizes) + sizeof(uint64_t);
	struct vfio_iommu_type1_info info = { 0 };
	uint8_t *ubuf = arg;
	struct iommufd_ioas *ioas;
	size_t total, prev = 0, copy;

	if (iommufd_copy_from_user(&info, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	copy = min_t(size_t, info.argsz, sizeof(info));

	ioas = compat_ioas_get(ictx);
	if (!ioas)
		return -ENODEV;

	info.flags = VFIO_IOMMU_INFO_PGSIZES;
	info.iova_pgsizes = vfio_iova_pgsizes(ioas);
	info.cap_offset = 0;

	pthread_rwlock_rdlock(&ioas->iopt.iova_rwsem);
	total = sizeof(info);
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		bool room = info.argsz > total;
		size_t len = caps[i](ioas, opts, room ? ubuf + total : NULL,
				     room ? info.argsz - total : 0);

		len = ALIGN_UP(len, sizeof(uint64_t));
		/* chain the previous capability to this one when it was written */
		if (prev && info.argsz >= total) {
			uint32_t next = (uint32_t)total;

			memcpy(ubuf + prev + offsetof(struct vfio_info_cap_header, next), &next,
			       sizeof(next));
		}
		prev = total;
		total += len;
	}
	pthread_rwlock_unlock(&ioas->iopt.iova_rwsem);
	iommufd_put_object(ictx, &ioas->obj);

	/* Too small a buffer: no chain, but argsz says how much is needed. */
	if (info.argsz >= total)
		info.cap_offset = sizeof(info);
	info.argsz = (uint32_t)total;
	info.flags |= VFIO_IOMMU_INFO_CAPS;
	memcpy(arg, &info, copy);
	return 0;
}

/* ---------------------------------------------------------- MAP / UNMAP */

static int vfio_map_dma(struct iommufd_ctx *ictx, void *arg, const struct iommufd_vfio_opts *opts)
{
	const size_t minsz = offsetof(struct vfio_iommu_type1_dma_map, size) + sizeof(uint64_t);
	const uint32_t known = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	struct vfio_iommu_type1_dma_map map;
	struct iommufd_ioas *ioas;
	int prot = IOMMU_CACHE;
	uint64_t iova, pgsize, end;
	int rc;

	if (iommufd_copy_from_user(&map, (uintptr_t)arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz || (map.flags & ~known))
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;

	ioas = compat_ioas_get(ictx);
	if (!ioas)
		return -ENODEV;

	/*
	 * Type1's argument rules: a direction is required, and vaddr, iova
	 * and size are multiples of the smallest IOMMU page size, with no
	 * wrap-around of either range.
	 */
	pgsize = vfio_iova_pgsizes(ioas);
	pgsize &= -pgsize;
	if (!(prot & (IOMMU_READ | IOMMU_WRITE)) || !map.size ||
	    ((map.size | map.iova | map.vaddr) & (pgsize - 1)) ||
	    check_add_overflow(map.iova, map.size - 1, &end) ||
	    check_add_overflow(map.vaddr, map.size - 1, &end)) {
		rc = -EINVAL;
		goto out_put;
	}

	if (opts->dma_entry_limit) {
		uint64_t used;

		pthread_rwlock_rdlock(&ioas->iopt.iova_rwsem);
		used = vfio_count_areas(&ioas->iopt);
		pthread_rwlock_unlock(&ioas->iopt.iova_rwsem);
		if (used >= opts->dma_entry_limit) {
			rc = -ENOSPC;
			goto out_put;
		}
	}

	/* Legacy maps are always at the given iova (no IOPT_ALLOC_IOVA). */
	iova = map.iova;
	rc = iopt_map_user_pages(ictx, &ioas->iopt, &iova, map.vaddr, map.size, prot, 0);
out_put:
	iommufd_put_object(ictx, &ioas->obj);
	return rc;
}

static int vfio_unmap_dma(struct iommufd_ctx *ictx, void *arg)
{
	const size_t minsz = offsetof(struct vfio_iommu_type1_dma_unmap, size) + sizeof(uint64_t);
	struct vfio_iommu_type1_dma_unmap unmap;
	struct iommufd_ioas *ioas;
	uint64_t unmapped = 0;
	int rc;

	if (iommufd_copy_from_user(&unmap, (uintptr_t)arg, minsz))
		return -EFAULT;
	/* dirty bitmaps moved to iommufd's dirty tracking; VADDR is not emulated */
	if (unmap.argsz < minsz || (unmap.flags & ~VFIO_DMA_UNMAP_FLAG_ALL))
		return -EINVAL;

	ioas = compat_ioas_get(ictx);
	if (!ioas)
		return -ENODEV;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			rc = -EINVAL;
		else
			rc = iopt_unmap_all(&ioas->iopt, &unmapped);
	} else {
		rc = 0;
		/*
		 * Type1 (v1) unmaps part of a mapping: cut the areas at both ends
		 * of the range first, as the kernel's compat layer does for an
		 * IOAS with large pages disabled (what VFIO_SET_IOMMU type1
		 * sets). Type1v2 keeps iommufd's rule: whole areas only.
		 */
		if (READ_ONCE(ioas->iopt.disable_large_pages) && unmap.size &&
		    unmap.iova + unmap.size - 1 >= unmap.iova) {
			uint64_t cuts[2] = { unmap.iova + unmap.size - 1, unmap.iova - 1 };

			rc = iopt_cut_iova(&ioas->iopt, cuts, unmap.iova ? 2 : 1);
		}
		if (!rc)
			rc = iopt_unmap_iova(&ioas->iopt, unmap.iova, unmap.size, &unmapped);
	}
	iommufd_put_object(ictx, &ioas->obj);
	if (rc)
		return rc;
	unmap.size = unmapped;
	return iommufd_copy_to_user((uintptr_t)arg, &unmap, minsz);
}

/* ------------------------------------------------------------- dispatch */

static int vfio_ioctl_rc(struct iommufd_ctx *ictx, unsigned long cmd, void *arg,
			 const struct iommufd_vfio_opts *opts)
{
	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return vfio_check_extension(ictx, (unsigned long)(uintptr_t)arg);
	case VFIO_SET_IOMMU:
		return vfio_set_iommu(ictx, (unsigned long)(uintptr_t)arg);
	case VFIO_IOMMU_GET_INFO:
		return vfio_iommu_get_info(ictx, arg, opts);
	case VFIO_IOMMU_MAP_DMA:
		return vfio_map_dma(ictx, arg, opts);
	case VFIO_IOMMU_UNMAP_DMA:
		return vfio_unmap_dma(ictx, arg);
	default:
		/* VFIO_IOMMU_DIRTY_PAGES, ENABLE/DISABLE and group/device ioctls */
		return -ENOTTY;
	}
}

int iommufd_vfio_ioctl_opts(struct iommufd_ctx *ictx, unsigned long cmd, void *arg,
			    const struct iommufd_vfio_opts *opts)
{
	static const struct iommufd_vfio_opts defaults = { 0 };
	int rc;

	rc = vfio_ioctl_rc(ictx, cmd, arg, opts ? opts : &defaults);
	TRACE(ictx->tc, iommufd_ioctl, cmd, cmd & 0xff, (uint64_t)(int64_t)rc);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc;
}

int iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned long cmd, void *arg)
{
	return iommufd_vfio_ioctl_opts(ictx, cmd, arg, NULL);
}
