// SPDX-License-Identifier: MIT
/*
 * Stress test of the iommufd core (run it in the TSan build): several
 * threads map and unmap disjoint ranges of one IOAS with a mock domain,
 * copy their ranges into a second IOAS, pin them through an access and read
 * through it, while another thread attaches and detaches a second domain.
 * Every thread checks its own mappings; at the end nothing may be pinned or
 * charged. Fixed seed per thread (printed on failure).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include <iommusim/iommufd.h>
#include <iommusim/iommufd_ctx.h>
#include <iommusim/machine.h>

#include "iommu/mock/mock.h"
#include "iommufd/iommufd_private.h"

#define MiB (1ULL << 20)
#define PG 4096ULL
#define NTHREADS 4
#define ITERS 200
#define SLICE (4 * MiB) /* each thread's share of the buffer */
#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static struct mach *m;
static struct mach_user *u;
static struct mach_proc *p;
static struct iommufd_ctx *ictx;
static struct iommu_device *mock;
static uint32_t ioas, ioas2;
static uint64_t buf;
static int stop; /* atomic */

struct worker {
	pthread_t th;
	unsigned idx;
	uint64_t seed;
	struct iommufd_access *access;
	uint64_t pin_iova, pin_len;
	pthread_mutex_t lock; /* the access's pin record, shared with the unmap callback */
	int failures;
	int first_op, first_err; /* the first failure, for the report */
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void w_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct worker *w = data;

	pthread_mutex_lock(&w->lock);
	if (w->pin_len && w->pin_iova <= iova + length - 1 &&
	    iova <= w->pin_iova + w->pin_len - 1) {
		iommufd_access_unpin_pages(w->access, w->pin_iova, w->pin_len);
		w->pin_len = 0;
	}
	pthread_mutex_unlock(&w->lock);
}

static const struct iommufd_access_ops w_ops = { .needs_pin_pages = true, .unmap = w_unmap };

static int do_map(uint32_t id, uint64_t va, uint64_t len, uint64_t *iova, uint32_t flags)
{
	struct iommu_ioas_map c = { .size = sizeof(c),
				    .flags = flags,
				    .ioas_id = id,
				    .user_va = va,
				    .length = len,
				    .iova = *iova };

	if (iommufd_ioctl(ictx, IOMMU_IOAS_MAP, &c))
		return -errno;
	*iova = c.iova;
	return 0;
}

static int do_unmap(uint32_t id, uint64_t iova, uint64_t len)
{
	struct iommu_ioas_unmap c = {
		.size = sizeof(c), .ioas_id = id, .iova = iova, .length = len
	};

	return iommufd_ioctl(ictx, IOMMU_IOAS_UNMAP, &c) ? -errno : 0;
}

static void fail(struct worker *w, int op, int err)
{
	if (!w->failures++) {
		w->first_op = op;
		w->first_err = err;
	}
}

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	uint64_t s = w->seed;
	uint64_t base = buf + w->idx * SLICE;

	for (int it = 0; it < ITERS; it++) {
		uint64_t off = (rnd(&s) % (SLICE / PG / 2)) * PG;
		uint64_t len = (1 + rnd(&s) % 64) * PG;
		uint64_t iova = 0, iova2 = 0, pfns[64];
		struct iommu_ioas_copy c = { .size = sizeof(c),
					     .flags = MAP_RW,
					     .dst_ioas_id = ioas2,
					     .src_ioas_id = ioas,
					     .length = len };
		char data[256];

		int rc = do_map(ioas, base + off, len, &iova, MAP_RW);

		if (rc) {
			fail(w, 1, rc);
			continue;
		}
		c.src_iova = iova;
		if (iommufd_ioctl(ictx, IOMMU_IOAS_COPY, &c) == 0)
			iova2 = c.dst_iova;
		else
			fail(w, 2, -errno);
		if (rnd(&s) & 1) {
			uint64_t n = 1 + rnd(&s) % (len / PG);

			pthread_mutex_lock(&w->lock);
			rc = iommufd_access_pin_pages(w->access, iova, n * PG, pfns, 0);
			if (rc == 0) {
				w->pin_iova = iova;
				w->pin_len = n * PG;
			} else {
				fail(w, 3, rc);
			}
			pthread_mutex_unlock(&w->lock);
		}
		rc = iommufd_access_rw(w->access, iova, data, sizeof(data), 0);
		if (rc)
			fail(w, 4, rc);
		/* unmapping triggers the callback when pinned */
		rc = do_unmap(ioas, iova, len);
		if (rc)
			fail(w, 5, rc);
		if (iova2 && (rc = do_unmap(ioas2, iova2, len)))
			fail(w, 6, rc);
	}
	return NULL;
}

static void *attacher_fn(void *arg)
{
	struct iommu_dev *dev;
	struct iommu_domain *dom;
	struct iommufd_ioas *io;
	int *fail = arg;

	if (mock_dev_create(mock, 99, 0, &dev)) {
		(*fail)++;
		return NULL;
	}
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (iommu_domain_alloc_paging(dev, 0, &dom)) {
			(*fail)++;
			break;
		}
		io = iommufd_get_ioas(ictx, ioas2);
		if (iopt_table_add_domain(&io->iopt, dom) == 0)
			iopt_table_remove_domain(&io->iopt, dom);
		else
			(*fail)++;
		iommufd_put_object(ictx, &io->obj);
		iommu_domain_free(dom);
	}
	mock_dev_destroy(dev);
	return NULL;
}

Test(stress, map_unmap_copy_access)
{
	struct mach_config cfg = { .mem_size = 256 * MiB };
	struct iommu_ioas_alloc a = { .size = sizeof(a) };
	struct worker w[NTHREADS];
	struct iommu_dev *dev;
	struct iommu_domain *dom;
	struct iommufd_ioas *io;
	struct mach_mem_stats st;
	pthread_t att;
	int att_fail = 0;

	cr_assert_eq(mach_create(&cfg, &m), 0);
	cr_assert_eq(mach_user_get(m, 1000, &u), 0);
	cr_assert_eq(mach_proc_create(m, u, &p), 0);
	mach_proc_set_rlimit_memlock(p, MACH_RLIM_INFINITY);
	cr_assert_eq(iommufd_ctx_open(p, &ictx), 0);
	cr_assert_eq(mock_iommu_create(m, &mock), 0);
	cr_assert_eq(iommufd_ioctl(ictx, IOMMU_IOAS_ALLOC, &a), 0);
	ioas = a.out_ioas_id;
	cr_assert_eq(iommufd_ioctl(ictx, IOMMU_IOAS_ALLOC, &a), 0);
	ioas2 = a.out_ioas_id;
	cr_assert_eq(mach_mmap(p, 0, NTHREADS * SLICE, MACH_PROT_READ | MACH_PROT_WRITE,
			       MACH_MAP_POPULATE, NULL, 0, &buf),
		     0);
	/* keep automatic IOVA inside the mock aperture of both IOASes */
	io = iommufd_get_ioas(ictx, ioas);
	cr_assert_eq(iopt_reserve_iova(&io->iopt, 0, 16 * MiB - 1, NULL), 0);
	cr_assert_eq(mock_dev_create(mock, 1, 0, &dev), 0);
	cr_assert_eq(iommu_domain_alloc_paging(dev, 0, &dom), 0);
	cr_assert_eq(iopt_table_add_domain(&io->iopt, dom), 0);
	iommufd_put_object(ictx, &io->obj);
	io = iommufd_get_ioas(ictx, ioas2);
	cr_assert_eq(iopt_reserve_iova(&io->iopt, 0, 16 * MiB - 1, NULL), 0);
	iommufd_put_object(ictx, &io->obj);

	for (unsigned i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].idx = i;
		w[i].seed = 0x9e3779b97f4a7c15ULL * (i + 1);
		pthread_mutex_init(&w[i].lock, NULL);
		w[i].access = iommufd_access_create(ictx, ioas, &w_ops, &w[i], NULL);
		cr_assert_not_null(w[i].access);
	}
	cr_assert_eq(pthread_create(&att, NULL, attacher_fn, &att_fail), 0);
	for (unsigned i = 0; i < NTHREADS; i++)
		cr_assert_eq(pthread_create(&w[i].th, NULL, worker_fn, &w[i]), 0);
	for (unsigned i = 0; i < NTHREADS; i++)
		pthread_join(w[i].th, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(att, NULL);
	cr_assert_eq(att_fail, 0);
	for (unsigned i = 0; i < NTHREADS; i++) {
		cr_assert_eq(w[i].failures, 0,
			     "worker %u (seed 0x%llx) saw %d failures, first: op %d errno %d", i,
			     (unsigned long long)w[i].seed, w[i].failures, w[i].first_op,
			     -w[i].first_err);
		iommufd_access_destroy(w[i].access);
	}

	io = iommufd_get_ioas(ictx, ioas);
	cr_assert_eq(iopt_check_invariants(&io->iopt), 0);
	iopt_table_remove_domain(&io->iopt, dom);
	iommufd_put_object(ictx, &io->obj);
	iommu_domain_free(dom);
	mock_dev_destroy(dev);
	iommufd_ctx_close(ictx);
	mach_mem_stats(m, &st);
	cr_assert_eq(st.pinned_frames, 0);
	cr_assert_eq(mach_user_locked_vm(u), 0);
	cr_assert_eq(mach_proc_pinned_vm(p), 0);
	iommu_device_put(mock);
	mach_proc_destroy(p);
	mach_user_put(u);
	mach_destroy(m);
}
