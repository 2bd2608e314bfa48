/* SPDX-License-Identifier: MIT */
/*
 * map.vtd.4k: IOMMU_IOAS_MAP + IOMMU_IOAS_UNMAP of 1 GiB of populated
 * anonymous 4 KiB memory through iommufd into a VT-d domain: a machine with
 * one VT-d unit (hw-models/vtd, default configuration: 4-level tables,
 * 2 MiB / 1 GiB pages, queued invalidation processed synchronously), the
 * Intel driver (src/iommu/intel/) and one PCI device bound to the iommufd
 * context and attached to the IOAS (an automatic domain), the same shape as
 * map.mock.4k. Each iteration pins every page, writes the second-stage
 * tables in simulated memory, then unmaps: clears the PTEs and frees the
 * leaf tables, one page-selective IOTLB invalidation and a wait descriptor
 * processed by the model, unpin.
 *
 * An item is one 4 KiB page mapped and unmapped; bytes are bytes mapped.
 * The machine owns its memory (the driver's tables must be addressable),
 * but user pages are never touched, so the host cost is the tables only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/hw_vtd.h>
#include <iommusim/iommufd.h>
#include <iommusim/iommufd_ctx.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>

#include "bench.h"
#include "bench_util.h"
#include "iommu/intel/intel.h"
#include "iommufd/device.h"

#define VTD_MAP_LEN (1ULL << 30)
#define VTD_MAP_IOVA (1ULL << 32)

struct vtd_map_bench {
	struct bench_proc bp;
	struct plat_iommu *pi;
	struct intel_iommu *iommu;
	struct plat_dev *pd;
	struct iommu_dev *dev;
	struct iommufd_ctx *ictx;
	struct iommufd_device *idev;
	uint32_t ioas, dev_id;
};

static void vtd_map_teardown(void *state)
{
	struct vtd_map_bench *b = state;

	if (!b)
		return;
	if (b->idev) {
		if (b->idev->hwpt)
			iommufd_device_detach(b->idev);
		iommufd_device_unbind(b->idev);
	}
	if (b->ictx)
		iommufd_ctx_close(b->ictx);
	if (b->dev)
		intel_iommu_release_device(b->dev);
	if (b->pd)
		plat_dev_remove(b->pd);
	if (b->iommu)
		intel_iommu_remove(b->iommu);
	if (b->pi)
		plat_iommu_remove(b->pi);
	bench_proc_teardown(&b->bp);
	free(b);
}

static int vtd_map_setup(void **state, const struct bench_args *args)
{
	struct mach_config cfg = { .mem_size = 2 * VTD_MAP_LEN, .backing = MACH_BACKING_OWNED };
	struct plat_dev_config dc = { .bus = 0, .dev = 3, .fn = 0 };
	struct vtd_map_bench *b = calloc(1, sizeof(*b));
	uint32_t pt;
	int err;

	if (!b)
		return -ENOMEM;
	err = bench_proc_setup(&b->bp, &cfg, VTD_MAP_LEN, 0, true);
	if (!err)
		err = plat_iommu_add_vtd(b->bp.m, NULL, &b->pi);
	if (!err)
		err = intel_iommu_probe(b->pi, NULL, &b->iommu);
	if (!err)
		err = plat_dev_add(b->pi, &dc, &b->pd);
	if (!err)
		err = intel_iommu_probe_device(b->iommu, b->pd, &b->dev);
	if (!err)
		err = bench_ioas_open(b->bp.p, &b->ictx, &b->ioas);
	if (err)
		goto err;
	b->idev = iommufd_device_bind(b->ictx, b->dev, &b->dev_id, &err);
	if (!b->idev)
		goto err;
	pt = b->ioas;
	err = iommufd_device_attach(b->idev, &pt);
	if (err)
		goto err;
	*state = b;
	return 0;
err:
	vtd_map_teardown(b);
	return err;
}

static int vtd_map_run(void *state, uint64_t iterations, struct bench_counters *out)
{
	struct vtd_map_bench *b = state;

	for (uint64_t i = 0; i < iterations; i++) {
		int err =
			bench_ioas_map_unmap(b->ictx, b->ioas, b->bp.va, VTD_MAP_IOVA, VTD_MAP_LEN);

		if (err)
			return err;
	}
	out->items += iterations * (VTD_MAP_LEN >> MACH_PAGE_SHIFT);
	out->bytes += iterations * VTD_MAP_LEN;
	return 0;
}

BENCH_REGISTER(map_vtd_4k) = {
	.name = "map.vtd.4k",
	.item = "one 4 KiB page mapped and unmapped (1 GiB per iteration, one VT-d domain)",
	.setup = vtd_map_setup,
	.run = vtd_map_run,
	.teardown = vtd_map_teardown,
};
