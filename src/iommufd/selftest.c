/* SPDX-License-Identifier: MIT */
/*
 * IOMMU_TEST_CMD: the kernel selftest's private command
 * (drivers/iommu/iommufd/selftest.c) with the same op numbers and argument
 * structs, so programs written in the selftest's vocabulary run here.
 *
 * Selftest objects (IOMMUFD_OBJ_SELFTEST) stand for two kernel things:
 *   TYPE_IDEV    the mock device made by MOCK_DOMAIN[_FLAGS]: a mock IOMMU
 *                instance, a mock endpoint behind it, its iommufd device
 *                object (bound, attached). Destroying it detaches, unbinds
 *                and frees the endpoint, as the kernel's does.
 *   TYPE_ACCESS  what the kernel returns as an "access fd": an access on an
 *                IOAS plus the list of ranges pinned through ACCESS_PAGES.
 *                Its object id is returned in create_access.out_access_fd
 *                and every later op names it in cmd->id; IOMMU_DESTROY of
 *                that id is what closing the fd does in the kernel.
 *
 * Pointers in the test command: check_map.uptr, check_refs.uptr and
 * access_pages.uptr name pages of the simulated process (like
 * IOAS_MAP.user_va: they are compared with what was pinned);
 * access_rw.uptr is the caller's data buffer (a host pointer, like every
 * other nested pointer of the uAPI).
 *
 * MD_CHECK_REFS: the kernel compares page_ref_count() / GUP_PIN_COUNTING_BIAS,
 * i.e. the number of FOLL_PIN pins on the page, with check_refs.refs, and
 * skips compound (huge) pages. We compare the frame's pin count
 * (mach_frame_info.pincount) with refs, excluding the transient pin taken to
 * find the frame, and skip MACH_FRAME_COMPOUND frames the same way. Since
 * iopt_pages pins a page once however many areas, domains and accesses use
 * it, refs is 1 for any mapped page and 0 once everything is unmapped.
 *
 * Locking: an access object's item list is under its own mutex, held
 * across the pin in ACCESS_PAGES exactly like the kernel; the unmap
 * callback takes it too (iommufd calls it with no io_pagetable lock held).
 */
#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/iommufd_test.h>
#include <iommusim/machine.h>

#include "iommu/mock/mock.h"
#include "iommufd/device.h"
#include "iommufd/io_pagetable.h"

enum selftest_obj_type {
	TYPE_IDEV,
	TYPE_ACCESS,
};

struct selftest_access_item {
	struct list_head node;
	uint64_t iova;
	uint64_t length;
	uint32_t id;
};

struct selftest_obj {
	struct iommufd_object obj; /* first */
	enum selftest_obj_type type;
	struct iommufd_ctx *ictx;
	union {
		struct {
			struct iommufd_device *idev;
			struct iommu_device *mock_iommu;
			struct iommu_dev *mock_dev;
		} idev;
		struct {
			struct iommufd_access *access;
			pthread_mutex_t lock;
			struct list_head items;
			uint32_t next_id;
			bool needs_pin;
		} access;
	};
};

static struct selftest_obj *get_selftest_obj(struct iommufd_ctx *ictx, uint32_t id,
					     enum selftest_obj_type type)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_SELFTEST);
	struct selftest_obj *sobj;

	if (!obj)
		return NULL;
	sobj = container_of(obj, struct selftest_obj, obj);
	if (sobj->type != type) {
		iommufd_put_object(ictx, obj);
		return NULL;
	}
	return sobj;
}

/* ------------------------------------------------------ mock domains */

static int test_mock_domain(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct selftest_obj *sobj;
	uint32_t pt_id = cmd->id, dev_flags = 0, idev_id;
	int rc;

	sobj = iommufd_object_alloc(ictx, sobj, IOMMUFD_OBJ_SELFTEST, &rc);
	if (!sobj)
		return rc ? rc : -ENOMEM;
	sobj->type = TYPE_IDEV;
	sobj->ictx = ictx;
	if (cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS)
		dev_flags = cmd->mock_domain_flags.dev_flags;

	rc = mock_iommu_create(ictx->mach, &sobj->idev.mock_iommu);
	if (rc)
		goto out_sobj;
	rc = mock_dev_create(sobj->idev.mock_iommu, sobj->obj.id, dev_flags, &sobj->idev.mock_dev);
	if (rc)
		goto out_iommu;
	sobj->idev.idev = iommufd_device_bind(ictx, sobj->idev.mock_dev, &idev_id, &rc);
	if (!sobj->idev.idev)
		goto out_mdev;
	rc = iommufd_device_attach(sobj->idev.idev, &pt_id);
	if (rc)
		goto out_unbind;

	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_stdev_id = sobj->obj.id;
	cmd->mock_domain.out_idev_id = idev_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_detach;
	iommufd_object_finalize(ictx, &sobj->obj);
	return 0;

out_detach:
	iommufd_device_detach(sobj->idev.idev);
out_unbind:
	iommufd_device_unbind(sobj->idev.idev);
out_mdev:
	mock_dev_destroy(sobj->idev.mock_dev);
out_iommu:
	iommu_device_put(sobj->idev.mock_iommu);
out_sobj:
	iommufd_object_abort(ictx, &sobj->obj);
	return rc;
}

static int test_mock_domain_replace(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	uint32_t pt_id = cmd->mock_domain_replace.pt_id;
	struct iommufd_object *obj;
	struct selftest_obj *sobj;
	int rc;

	obj = iommufd_get_object(ictx, cmd->id, IOMMUFD_OBJ_SELFTEST);
	if (!obj)
		return -ENOENT;
	sobj = container_of(obj, struct selftest_obj, obj);
	if (sobj->type != TYPE_IDEV) {
		rc = -EINVAL;
		goto out_put;
	}
	rc = iommufd_device_replace(sobj->idev.idev, &pt_id);
	if (rc)
		goto out_put;
	cmd->mock_domain_replace.pt_id = pt_id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ictx, obj);
	return rc;
}

static int test_add_reserved(struct iommufd_ucmd *ucmd, uint32_t ioas_id, uint64_t start,
			     uint64_t length)
{
	struct iommufd_ioas *ioas;
	uint64_t last;
	int rc;

	ioas = iommufd_get_ioas(ucmd->ictx, ioas_id);
	if (!ioas)
		return -ENOENT;
	if (!length || check_add_overflow(start, length - 1, &last))
		rc = -EINVAL;
	else
		rc = iopt_reserve_iova(&ioas->iopt, start, last, NULL);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return rc;
}

/* The frame behind the simulated process's page at @va (like get_user_pages + put_page). */
static int user_page_pfn(struct iommufd_ctx *ictx, uint64_t va, uint64_t *pfn,
			 struct mach_frame_info *info)
{
	long n;

	n = mach_pin_user_pages(ictx->proc, ALIGN_DOWN(va, MACH_PAGE_SIZE), 1, 0, pfn);
	if (n < 0)
		return (int)n;
	if (n != 1)
		return -EFAULT;
	if (info)
		mach_frame_query(ictx->mach, *pfn, info);
	mach_unpin_pages(ictx->mach, pfn, 1);
	return 0;
}

/* The HWPT @id when it is a mock paging domain. */
static struct iommufd_hw_pagetable *get_md_pagetable(struct iommufd_ctx *ictx, uint32_t id,
						     int *err)
{
	struct iommufd_object *obj = iommufd_get_object(ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	struct iommufd_hw_pagetable *hwpt;

	if (!obj) {
		*err = -ENOENT;
		return NULL;
	}
	hwpt = container_of(obj, struct iommufd_hw_pagetable, obj);
	if (!iommu_domain_is_mock(hwpt->domain)) {
		iommufd_put_object(ictx, obj);
		*err = -EINVAL;
		return NULL;
	}
	return hwpt;
}

/* Every 2 KiB of [iova, +length) must translate to the frame under uptr. */
static int test_md_check_map(struct iommufd_ucmd *ucmd, uint32_t id, uint64_t iova, uint64_t length,
			     uint64_t uptr)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_hw_pagetable *hwpt;
	uint64_t end, pfn = 0, pfn_va = UINT64_MAX;
	int rc = 0;

	if (iova % MOCK_IO_PAGE_SIZE || length % MOCK_IO_PAGE_SIZE || uptr % MOCK_IO_PAGE_SIZE ||
	    check_add_overflow(uptr, length, &end))
		return -EINVAL;
	hwpt = get_md_pagetable(ictx, id, &rc);
	if (!hwpt)
		return rc;

	for (; length; length -= MOCK_IO_PAGE_SIZE) {
		struct mock_pte pte;

		if (ALIGN_DOWN(uptr, MACH_PAGE_SIZE) != pfn_va) {
			rc = user_page_pfn(ictx, uptr, &pfn, NULL);
			if (rc)
				goto out_put;
			pfn_va = ALIGN_DOWN(uptr, MACH_PAGE_SIZE);
		}
		if (mock_domain_lookup(hwpt->domain, iova, &pte) ||
		    pte.paddr != pfn * MACH_PAGE_SIZE + uptr % MACH_PAGE_SIZE) {
			rc = -EINVAL;
			goto out_put;
		}
		iova += MOCK_IO_PAGE_SIZE;
		uptr += MOCK_IO_PAGE_SIZE;
	}
out_put:
	iommufd_put_object(ictx, &hwpt->obj);
	return rc;
}

static int test_md_check_refs(struct iommufd_ucmd *ucmd, uint64_t uptr, uint64_t length,
			      uint32_t refs)
{
	uint64_t end;

	if (length % MACH_PAGE_SIZE || uptr % MACH_PAGE_SIZE ||
	    check_add_overflow(uptr, length, &end))
		return -EINVAL;

	for (; length; length -= MACH_PAGE_SIZE, uptr += MACH_PAGE_SIZE) {
		struct mach_frame_info info = { 0 };
		uint64_t pfn;
		int rc;

		rc = user_page_pfn(ucmd->ictx, uptr, &pfn, &info);
		if (rc)
			return rc;
		if (info.flags & MACH_FRAME_COMPOUND)
			continue;
		/* info was read while our own lookup pin was held: discount it. */
		if (info.pincount - 1 != refs)
			return -EIO;
	}
	return 0;
}

/* ---------------------------------------------------------- accesses */

static void test_access_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct selftest_obj *sobj = data;
	struct selftest_access_item *item, *tmp;
	uint64_t last = length ? iova + length - 1 : iova;

	if (length && last < iova)
		last = UINT64_MAX;
	pthread_mutex_lock(&sobj->access.lock);
	list_for_each_entry_safe(item, tmp, &sobj->access.items, node)
	{
		if (iova > item->iova + item->length - 1 || last < item->iova)
			continue;
		list_del(&item->node);
		iommufd_access_unpin_pages(sobj->access.access, item->iova, item->length);
		fault_free(item);
	}
	pthread_mutex_unlock(&sobj->access.lock);
}

static const struct iommufd_access_ops selftest_access_ops_pin = {
	.needs_pin_pages = true,
	.unmap = test_access_unmap,
};

static const struct iommufd_access_ops selftest_access_ops = {
	.needs_pin_pages = false,
	.unmap = test_access_unmap,
};

static int test_create_access(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	uint32_t flags = cmd->create_access.flags;
	struct selftest_obj *sobj;
	uint32_t access_id;
	int rc;

	if (flags & ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	sobj = iommufd_object_alloc(ictx, sobj, IOMMUFD_OBJ_SELFTEST, &rc);
	if (!sobj)
		return rc ? rc : -ENOMEM;
	sobj->type = TYPE_ACCESS;
	sobj->ictx = ictx;
	pthread_mutex_init(&sobj->access.lock, NULL);
	INIT_LIST_HEAD(&sobj->access.items);
	sobj->access.needs_pin = flags & MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;

	sobj->access.access = iommufd_access_create(
		ictx, cmd->id,
		sobj->access.needs_pin ? &selftest_access_ops_pin : &selftest_access_ops, sobj,
		&access_id);
	if (!sobj->access.access) {
		rc = errno ? -errno : -ENOMEM;
		goto out_sobj;
	}
	cmd->create_access.out_access_fd = sobj->obj.id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc)
		goto out_destroy;
	iommufd_object_finalize(ictx, &sobj->obj);
	return 0;

out_destroy:
	iommufd_access_destroy(sobj->access.access);
out_sobj:
	pthread_mutex_destroy(&sobj->access.lock);
	iommufd_object_abort(ictx, &sobj->obj);
	return rc;
}

static int test_access_replace_ioas(struct iommufd_ucmd *ucmd, uint32_t id, uint32_t ioas_id)
{
	struct selftest_obj *sobj = get_selftest_obj(ucmd->ictx, id, TYPE_ACCESS);
	int rc;

	if (!sobj)
		return -EBADFD;
	rc = iommufd_access_replace_ioas(sobj->access.access, ioas_id);
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

/* The pinned frames must be the ones under the process's pages at @uptr. */
static int test_check_pages(struct iommufd_ctx *ictx, uint64_t uptr, const uint64_t *pfns,
			    uint64_t npages)
{
	for (uint64_t i = 0; i < npages; i++, uptr += MACH_PAGE_SIZE) {
		uint64_t pfn;
		int rc = user_page_pfn(ictx, uptr, &pfn, NULL);

		if (rc)
			return rc;
		if (pfn != pfns[i])
			return -EBADE;
	}
	return 0;
}

static int test_access_pages(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	uint64_t iova = cmd->access_pages.iova, length = cmd->access_pages.length;
	uint64_t uptr = cmd->access_pages.uptr, npages, end;
	uint32_t flags = cmd->access_pages.flags;
	struct selftest_access_item *item;
	struct selftest_obj *sobj;
	uint64_t *pfns;
	int rc;

	/* The kernel refuses giant requests before allocating for them. */
	if (length > 16 * 1024 * 1024)
		return -ENOMEM;
	/* MOCK_FLAGS_ACCESS_SYZ (syzkaller's IOVA encoding) is not modelled. */
	if (flags & ~MOCK_FLAGS_ACCESS_WRITE)
		return -EOPNOTSUPP;
	if (check_add_overflow(iova, length, &end))
		return -EOVERFLOW;

	sobj = get_selftest_obj(ictx, cmd->id, TYPE_ACCESS);
	if (!sobj)
		return -EBADFD;
	if (!sobj->access.needs_pin) {
		rc = -EOPNOTSUPP;
		goto out_put;
	}

	npages =
		(ALIGN_UP(end, MACH_PAGE_SIZE) - ALIGN_DOWN(iova, MACH_PAGE_SIZE)) / MACH_PAGE_SIZE;
	pfns = fault_calloc(ictx->fc, "selftest.access_pfns", npages ? npages : 1, sizeof(*pfns));
	if (!pfns) {
		rc = -ENOMEM;
		goto out_put;
	}

	pthread_mutex_lock(&sobj->access.lock);
	rc = iommufd_access_pin_pages(sobj->access.access, iova, length, pfns,
				      (flags & MOCK_FLAGS_ACCESS_WRITE) ? IOMMUFD_ACCESS_RW_WRITE
									: 0);
	if (rc)
		goto out_unlock;
	if (uptr) {
		rc = test_check_pages(ictx, uptr - (iova % MACH_PAGE_SIZE), pfns, npages);
		if (rc)
			goto out_unpin;
	}
	item = fault_zalloc(ictx->fc, "selftest.access_item", sizeof(*item));
	if (!item) {
		rc = -ENOMEM;
		goto out_unpin;
	}
	item->iova = iova;
	item->length = length;
	item->id = sobj->access.next_id++;
	list_add_tail(&item->node, &sobj->access.items);
	cmd->access_pages.out_access_pages_id = item->id;
	rc = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (rc) {
		list_del(&item->node);
		fault_free(item);
		goto out_unpin;
	}
	goto out_unlock;

out_unpin:
	iommufd_access_unpin_pages(sobj->access.access, iova, length);
out_unlock:
	pthread_mutex_unlock(&sobj->access.lock);
	fault_free(pfns);
out_put:
	iommufd_put_object(ictx, &sobj->obj);
	return rc;
}

static int test_access_item_destroy(struct iommufd_ucmd *ucmd, uint32_t id, uint32_t item_id)
{
	struct selftest_obj *sobj = get_selftest_obj(ucmd->ictx, id, TYPE_ACCESS);
	struct selftest_access_item *item;
	int rc = -ENOENT;

	if (!sobj)
		return -EBADFD;
	pthread_mutex_lock(&sobj->access.lock);
	list_for_each_entry(item, &sobj->access.items, node)
	{
		if (item->id != item_id)
			continue;
		list_del(&item->node);
		iommufd_access_unpin_pages(sobj->access.access, item->iova, item->length);
		fault_free(item);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&sobj->access.lock);
	iommufd_put_object(ucmd->ictx, &sobj->obj);
	return rc;
}

static int test_access_rw(struct iommufd_ucmd *ucmd, struct iommu_test_cmd *cmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	uint64_t length = cmd->access_rw.length;
	uint32_t flags = cmd->access_rw.flags;
	struct selftest_obj *sobj;
	void *tmp;
	int rc;

	if (length > 16 * 1024 * 1024)
		return -ENOMEM;
	if (flags & ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH))
		return -EOPNOTSUPP;

	sobj = get_selftest_obj(ictx, cmd->id, TYPE_ACCESS);
	if (!sobj)
		return -EBADFD;
	tmp = fault_zalloc(ictx->fc, "selftest.access_rw", length ? length : 1);
	if (!tmp) {
		rc = -ENOMEM;
		goto out_put;
	}
	if (flags & MOCK_ACCESS_RW_WRITE) {
		rc = iommufd_copy_from_user(tmp, cmd->access_rw.uptr, length);
		if (rc)
			goto out_free;
	}
	rc = iommufd_access_rw(sobj->access.access, cmd->access_rw.iova, tmp, length,
			       (flags & MOCK_ACCESS_RW_WRITE) ? IOMMUFD_ACCESS_RW_WRITE : 0);
	if (rc)
		goto out_free;
	if (!(flags & MOCK_ACCESS_RW_WRITE))
		rc = iommufd_copy_to_user(cmd->access_rw.uptr, tmp, length);
out_free:
	fault_free(tmp);
out_put:
	iommufd_put_object(ictx, &sobj->obj);
	return rc;
}

/* ------------------------------------------------------------ dispatch */

void iommufd_selftest_destroy(struct iommufd_object *obj)
{
	struct selftest_obj *sobj = container_of(obj, struct selftest_obj, obj);

	switch (sobj->type) {
	case TYPE_IDEV:
		iommufd_device_detach(sobj->idev.idev);
		iommufd_device_unbind(sobj->idev.idev);
		mock_dev_destroy(sobj->idev.mock_dev);
		iommu_device_put(sobj->idev.mock_iommu);
		break;
	case TYPE_ACCESS:
		/* Closing the access "fd": unpin everything, then destroy the access. */
		test_access_unmap(sobj, 0, UINT64_MAX);
		iommufd_access_destroy(sobj->access.access);
		pthread_mutex_destroy(&sobj->access.lock);
		break;
	}
}

int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return test_add_reserved(ucmd, cmd->id, cmd->add_reserved.start,
					 cmd->add_reserved.length);
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return test_mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return test_md_check_map(ucmd, cmd->id, cmd->check_map.iova, cmd->check_map.length,
					 cmd->check_map.uptr);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return test_md_check_refs(ucmd, cmd->check_refs.uptr, cmd->check_refs.length,
					  cmd->check_refs.refs);
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return test_create_access(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return test_access_replace_ioas(ucmd, cmd->id, cmd->access_replace_ioas.ioas_id);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return test_access_rw(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return test_access_item_destroy(ucmd, cmd->id,
						cmd->destroy_access_pages.access_pages_id);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		/* The batch must hold at least one element (an unsigned long + a u32). */
		if (cmd->memory_limit.limit < sizeof(unsigned long) + sizeof(uint32_t))
			return -EINVAL;
		iommufd_set_temp_memory_limit(ucmd->ictx, cmd->memory_limit.limit);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}
