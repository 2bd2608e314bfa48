/* SPDX-License-Identifier: MIT */
/* Trace events of the machine layer: an X-macro list, read through trace_events.h. */
/* A frame allocation of 2^order frames from @pfn; host-backed frames report order 0. */
TRACE_EVENT(mach_frame_alloc, "mach:frame_alloc", "pfn=0x%llx order=%llu", 2, "pfn", "order")
TRACE_EVENT(mach_frame_free, "mach:frame_free", "pfn=0x%llx order=%llu", 2, "pfn", "order")
/* A pin request (before it is tried). File pins report pid=0 and va=the file offset. */
TRACE_EVENT(mach_pin, "mach:pin", "pid=%llu va=0x%016llx npages=%llu flags=0x%llx", 4, "pid", "va",
	    "npages", "flags")
TRACE_EVENT(mach_unpin, "mach:unpin", "npages=%llu", 1, "npages")
/* kind is "user" (id = uid) or "proc" (id = pid); total is the counter afterwards. */
TRACE_EVENT(mach_account_charge, "mach:account_charge", "kind=%s id=%llu npages=%llu total=%llu", 4,
	    "kind", "id", "npages", "total")
TRACE_EVENT(mach_account_uncharge, "mach:account_uncharge",
	    "kind=%s id=%llu npages=%llu total=%llu", 4, "kind", "id", "npages", "total")
/*
 * One DMA transfer of a platform device (src/machine/device.c), before its
 * first translation and after its last byte. vendor is the IOMMU's ("vtd",
 * ...), rid the requester id, pasid 0xffffffff when absent, dir "read"
 * (device reads memory) or "write". result is 0 or the negative errno the
 * DMA call returns; done the bytes moved before it stopped.
 */
TRACE_EVENT(mach_dma_issue, "mach:dma_issue",
	    "vendor=%s rid=0x%llx pasid=0x%llx iova=0x%016llx len=%llu dir=%s", 6, "vendor", "rid",
	    "pasid", "iova", "len", "dir")
TRACE_EVENT(
	mach_dma_complete, "mach:dma_complete",
	"vendor=%s rid=0x%llx pasid=0x%llx iova=0x%016llx len=%llu dir=%s result=%lld done=%llu", 8,
	"vendor", "rid", "pasid", "iova", "len", "dir", "result", "done")
