// SPDX-License-Identifier: MIT
/*
 * DMA trace events (mach:dma_issue / mach:dma_complete, emitted by
 * src/machine/device.c) on a device behind a VT-d unit driven by the Intel
 * driver: one pair per transfer, with the vendor, requester id, PASID,
 * IOVA, length, direction, result and bytes moved; a faulting transfer's
 * completion carries -EFAULT and the bytes moved before the fault; with the
 * events off nothing is recorded.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/hw_vtd.h>
#include <iommusim/machine.h>
#include <iommusim/platform.h>
#include <iommusim/trace.h>

#include "iommu/intel/intel.h"
#include "iommu/iommu.h"

struct cnt {
	long n;
};

static int count_cb(const struct trace_record *rec, void *arg)
{
	(void)rec;
	((struct cnt *)arg)->n++;
	return 0;
}

static char *flush(struct mach *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cr_assert_geq(trace_flush_text(mach_trace(m), f), 0);
	fclose(f);
	return buf;
}

static size_t count_str(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

Test(vtd_trace, dma_issue_and_complete_lines)
{
	struct mach_config mc = { .mem_size = 64ULL << 20, .seed = 1 };
	struct plat_dev_config dc = { .bus = 0, .dev = 3, .fn = 1, .pasid_width = 8 };
	struct vtd_config cfg = vtd_config_default();
	struct plat_iommu *pi;
	struct intel_iommu *iommu;
	struct plat_dev *pd;
	struct iommu_dev *dev;
	struct iommu_domain *d;
	struct mach *m;
	struct cnt c = { 0 };
	uint8_t buf[8192];
	char *t;

	cr_assert_eq(mach_create(&mc, &m), 0);
	cr_assert_eq(plat_iommu_add_vtd(m, &cfg, &pi), 0);
	cr_assert_eq(intel_iommu_probe(pi, NULL, &iommu), 0);
	cr_assert_eq(plat_dev_add(pi, &dc, &pd), 0);
	cr_assert_eq(intel_iommu_probe_device(iommu, pd, &dev), 0);
	cr_assert_eq(iommu_domain_alloc_paging(dev, 0, &d), 0);
	cr_assert_eq(iommu_attach_device(d, dev), 0);
	cr_assert_eq(iommu_map(d, 0x10000, 0x200000, 0x2000, IOMMU_READ | IOMMU_WRITE), 0);

	/* Off: nothing recorded. */
	memset(buf, 0xab, sizeof(buf));
	cr_assert_eq(plat_dma_write(pd, 0x10000, buf, 64, PLAT_NO_PASID, NULL), 0);
	cr_assert_eq(trace_collect(mach_trace(m), count_cb, &c), 0);
	cr_assert_eq(c.n, 0);

	cr_assert_eq(trace_enable_pattern(mach_trace(m), "mach:dma_issue,mach:dma_complete"), 2);
	cr_assert_eq(plat_dma_write(pd, 0x10010, buf, 0x1ff0, PLAT_NO_PASID, NULL), 0);
	cr_assert_eq(plat_dma_read(pd, 0x10000, buf, 16, PLAT_NO_PASID, NULL), 0);
	/* Crosses into the unmapped page 0x12000: 0x100 bytes move, then -EFAULT. */
	cr_assert_eq(plat_dma_read(pd, 0x11f00, buf, 0x200, PLAT_NO_PASID, NULL), -EFAULT);
	t = flush(m);
	cr_expect_eq(count_str(t, "mach:dma_issue:"), 3, "%s", t);
	cr_expect_eq(count_str(t, "mach:dma_complete:"), 3, "%s", t);
	cr_expect_not_null(strstr(t, "mach:dma_issue: vendor=vtd rid=0x19 pasid=0xffffffff "
				     "iova=0x0000000000010010 len=8176 dir=write"),
			   "%s", t);
	cr_expect_not_null(strstr(t,
				  "mach:dma_complete: vendor=vtd rid=0x19 pasid=0xffffffff "
				  "iova=0x0000000000010010 len=8176 dir=write result=0 done=8176"),
			   "%s", t);
	cr_expect_not_null(strstr(t, "mach:dma_complete: vendor=vtd rid=0x19 pasid=0xffffffff "
				     "iova=0x0000000000010000 len=16 dir=read result=0 done=16"),
			   "%s", t);
	cr_expect_not_null(strstr(t,
				  "mach:dma_complete: vendor=vtd rid=0x19 pasid=0xffffffff "
				  "iova=0x0000000000011f00 len=512 dir=read result=-14 done=256"),
			   "%s", t);
	/* Issue precedes its completion. */
	cr_expect_lt(strstr(t, "mach:dma_issue:"), strstr(t, "mach:dma_complete:"));
	free(t);

	cr_assert_eq(iommu_unmap(d, 0x10000, 0x2000), 0x2000);
	while (intel_iommu_pop_fault(iommu, &(struct intel_fault_info){ 0 }) == 0)
		;
	iommu_detach_device(d, dev);
	iommu_domain_free(d);
	intel_iommu_release_device(dev);
	plat_dev_remove(pd);
	intel_iommu_remove(iommu);
	plat_iommu_remove(pi);
	mach_destroy(m);
}
