/* SPDX-License-Identifier: MIT */
/*
 * Benchmarks of the iommufd map path: IOMMU_IOAS_MAP + IOMMU_IOAS_UNMAP of
 * 1 GiB of populated anonymous memory into an IOAS with mock domains, which
 * pins every page (accounted to the user), fills the domains one
 * contiguous run at a time and then unmaps (read back, unmap, sync, unpin).
 *
 * map.mock.4k          4 KiB-backed memory, one mock domain (2 KiB IO pages)
 * map.mock.2m          2 MiB-backed memory, one mock domain with huge IO pages
 *                      (MOCK_FLAGS_DEVICE_HUGE_IOVA), so runs map as 1 MiB pages
 * map.mock.4k.2dom     as map.mock.4k with two mock domains on the IOAS
 * map.mock.4k.threads2 as map.mock.4k, two threads each mapping and unmapping
 *                      their own 512 MiB half at the same time
 *
 * An item is one 4 KiB page mapped and unmapped; bytes are bytes mapped.
 * The machine is data-less (no page contents), so the figures are the cost
 * of the iommufd core, the iommu core and the mock driver.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/iommufd.h>
#include <iommusim/iommufd_ctx.h>
#include <iommusim/iommufd_test.h>
#include <iommusim/machine.h>

#include "bench.h"
#include "bench_util.h"
#include "iommu/mock/mock.h"
#include "iommufd/iommufd_private.h"

#define MAP_BENCH_LEN (1ULL << 30)
#define MAP_BENCH_IOVA (1ULL << 30) /* inside the mock aperture 16 MiB .. 2 GiB-1 */

struct map_bench {
	struct bench_proc bp;
	struct iommufd_ctx *ictx;
	struct iommu_device *mock;
	struct iommu_dev *dev[2];
	struct iommu_domain *dom[2];
	unsigned int ndom;
	uint32_t ioas;
	unsigned int nthreads;
};

static void map_teardown(void *state)
{
	struct map_bench *b = state;
	struct iommufd_ioas *ioas;

	if (!b)
		return;
	if (b->ictx) {
		ioas = iommufd_get_ioas(b->ictx, b->ioas);
		for (unsigned int i = 0; i < b->ndom; i++) {
			if (ioas)
				iopt_table_remove_domain(&ioas->iopt, b->dom[i]);
			iommu_domain_free(b->dom[i]);
			mock_dev_destroy(b->dev[i]);
		}
		if (ioas)
			iommufd_put_object(b->ictx, &ioas->obj);
		iommufd_ctx_close(b->ictx);
	}
	if (b->mock)
		iommu_device_put(b->mock);
	bench_proc_teardown(&b->bp);
	free(b);
}

static int map_setup(void **state, unsigned int mmap_flags, uint32_t dev_flags, unsigned int ndom,
		     unsigned int nthreads)
{
	struct mach_config cfg = { .mem_size = 2 * MAP_BENCH_LEN,
				   .backing = MACH_BACKING_DATALESS };
	struct map_bench *b = calloc(1, sizeof(*b));
	struct iommufd_ioas *ioas;
	int err;

	if (!b)
		return -ENOMEM;
	b->nthreads = nthreads;
	err = bench_proc_setup(&b->bp, &cfg, MAP_BENCH_LEN, mmap_flags, true);
	if (!err)
		err = bench_ioas_open(b->bp.p, &b->ictx, &b->ioas);
	if (!err)
		err = mock_iommu_create(b->bp.m, &b->mock);
	if (err)
		goto err;
	ioas = iommufd_get_ioas(b->ictx, b->ioas);
	for (unsigned int i = 0; i < ndom && !err; i++) {
		err = mock_dev_create(b->mock, i + 1, dev_flags, &b->dev[i]);
		if (err)
			break;
		err = iommu_domain_alloc_paging(b->dev[i], 0, &b->dom[i]);
		if (err) {
			mock_dev_destroy(b->dev[i]);
			break;
		}
		err = iopt_table_add_domain(&ioas->iopt, b->dom[i]);
		if (err) {
			iommu_domain_free(b->dom[i]);
			mock_dev_destroy(b->dev[i]);
			break;
		}
		b->ndom++;
	}
	iommufd_put_object(b->ictx, &ioas->obj);
	if (err)
		goto err;
	*state = b;
	return 0;
err:
	map_teardown(b);
	return err;
}

/* Map and unmap [va + off, +len) at MAP_BENCH_IOVA + off. */
static int map_one(struct map_bench *b, uint64_t off, uint64_t len)
{
	return bench_ioas_map_unmap(b->ictx, b->ioas, b->bp.va + off, MAP_BENCH_IOVA + off, len);
}

struct map_thread {
	struct map_bench *b;
	uint64_t off, len, iterations;
	int err;
};

static void *map_thread_fn(void *arg)
{
	struct map_thread *t = arg;

	for (uint64_t i = 0; i < t->iterations && !t->err; i++)
		t->err = map_one(t->b, t->off, t->len);
	return NULL;
}

static int map_run(void *state, uint64_t iterations, struct bench_counters *out)
{
	struct map_bench *b = state;
	int err = 0;

	if (b->nthreads <= 1) {
		for (uint64_t i = 0; i < iterations && !err; i++)
			err = map_one(b, 0, MAP_BENCH_LEN);
	} else {
		struct map_thread t[8];
		pthread_t th[8];
		uint64_t part = MAP_BENCH_LEN / b->nthreads;
		unsigned int started = 0;

		for (; started < b->nthreads; started++) {
			t[started] = (struct map_thread){
				.b = b, .off = started * part, .len = part, .iterations = iterations
			};
			if (pthread_create(&th[started], NULL, map_thread_fn, &t[started])) {
				/*
				 * The threads already started use t[] on this
				 * stack and the state teardown frees: join them
				 * before returning the error.
				 */
				break;
			}
		}
		for (unsigned int i = 0; i < started; i++) {
			pthread_join(th[i], NULL);
			if (t[i].err)
				err = t[i].err;
		}
		if (started < b->nthreads)
			err = -EAGAIN;
	}
	if (err)
		return err;
	out->items += iterations * (MAP_BENCH_LEN >> MACH_PAGE_SHIFT);
	out->bytes += iterations * MAP_BENCH_LEN;
	return 0;
}

static int map_4k_setup(void **state, const struct bench_args *args)
{
	return map_setup(state, 0, 0, 1, 1);
}

static int map_2m_setup(void **state, const struct bench_args *args)
{
	return map_setup(state, MACH_MAP_HUGE_2M, MOCK_FLAGS_DEVICE_HUGE_IOVA, 1, 1);
}

static int map_4k_2dom_setup(void **state, const struct bench_args *args)
{
	return map_setup(state, 0, 0, 2, 1);
}

static int map_4k_threads2_setup(void **state, const struct bench_args *args)
{
	return map_setup(state, 0, 0, 1, 2);
}

BENCH_REGISTER(map_mock_4k) = {
	.name = "map.mock.4k",
	.item = "one 4 KiB page mapped and unmapped (1 GiB per iteration, one mock domain)",
	.setup = map_4k_setup,
	.run = map_run,
	.teardown = map_teardown,
};

BENCH_REGISTER(map_mock_2m) = {
	.name = "map.mock.2m",
	.item = "one 4 KiB page of 2 MiB-backed memory mapped and unmapped (huge IO pages)",
	.setup = map_2m_setup,
	.run = map_run,
	.teardown = map_teardown,
};

BENCH_REGISTER(map_mock_4k_2dom) = {
	.name = "map.mock.4k.2dom",
	.item = "one 4 KiB page mapped and unmapped into two mock domains",
	.setup = map_4k_2dom_setup,
	.run = map_run,
	.teardown = map_teardown,
};

BENCH_REGISTER(map_mock_4k_threads2) = {
	.name = "map.mock.4k.threads2",
	.item = "one 4 KiB page mapped and unmapped, two threads on disjoint halves",
	.setup = map_4k_threads2_setup,
	.run = map_run,
	.teardown = map_teardown,
	.flags = BENCH_PROCESS_CPU,
};
