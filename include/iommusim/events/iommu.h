/* SPDX-License-Identifier: MIT */
/* Trace events of the iommu layer: an X-macro list, read through trace_events.h. */
/* The Linux kernel's own events, with the kernel's exact text. */
TRACE_EVENT(iommu_map, "iommu:map", "IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx size=%llu", 4,
	    "iova", "iova_end", "paddr", "size")
TRACE_EVENT(iommu_unmap, "iommu:unmap", "IOMMU: iova=0x%016llx - 0x%016llx size=%llu unmapped_size=%llu", 4,
	    "iova", "iova_end", "size", "unmapped_size")
