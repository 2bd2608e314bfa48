/* SPDX-License-Identifier: MIT */
/* Trace events of the iommu layer: an X-macro list, read through trace_events.h. */
/*
 * The Linux kernel's own events (include/trace/events/iommu.h), with the
 * kernel's exact TP_printk text. iova_end is iova + size, which the kernel
 * computes in its printk arguments. Strings (%s) must be static or outlive
 * the trace context: device names come from struct iommu_dev::name, driver
 * names from struct iommu_device_ops::name.
 */
TRACE_EVENT(iommu_map, "iommu:map", "IOMMU: iova=0x%016llx - 0x%016llx paddr=0x%016llx size=%zu", 4,
	    "iova", "iova_end", "paddr", "size")
TRACE_EVENT(iommu_unmap, "iommu:unmap",
	    "IOMMU: iova=0x%016llx - 0x%016llx size=%zu unmapped_size=%zu", 4, "iova", "iova_end",
	    "size", "unmapped_size")
TRACE_EVENT(iommu_attach_device_to_domain, "iommu:attach_device_to_domain", "IOMMU: device=%s", 1,
	    "device")
TRACE_EVENT(iommu_detach_device_from_domain, "iommu:detach_device_from_domain", "IOMMU: device=%s",
	    1, "device")
TRACE_EVENT(iommu_io_page_fault, "iommu:io_page_fault", "IOMMU:%s %s iova=0x%016llx flags=0x%04x",
	    4, "driver", "device", "iova", "flags")
