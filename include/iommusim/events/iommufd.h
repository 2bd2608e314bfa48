/* SPDX-License-Identifier: MIT */
/* Trace events of the iommufd layer: an X-macro list, read through trace_events.h. */
TRACE_EVENT(iommufd_ioctl, "iommufd:ioctl", "cmd=0x%llx nr=0x%llx result=%lld", 3, "cmd", "nr",
	    "result")
TRACE_EVENT(iommufd_area_insert, "iommufd:area_insert",
	    "iova=0x%016llx last=0x%016llx index=%llu prot=0x%llx", 4, "iova", "last", "index",
	    "prot")
TRACE_EVENT(iommufd_area_remove, "iommufd:area_remove", "iova=0x%016llx last=0x%016llx", 2, "iova",
	    "last")
TRACE_EVENT(iommufd_domain_fill, "iommufd:domain_fill",
	    "iova=0x%016llx last=0x%016llx ndomains=%llu", 3, "iova", "last", "ndomains")
TRACE_EVENT(iommufd_domain_unfill, "iommufd:domain_unfill",
	    "iova=0x%016llx last=0x%016llx ndomains=%llu", 3, "iova", "last", "ndomains")
TRACE_EVENT(iommufd_pin_batch, "iommufd:pin_batch", "index=%llu npages=%llu result=%lld", 3,
	    "index", "npages", "result")
TRACE_EVENT(iommufd_unpin_batch, "iommufd:unpin_batch", "index=%llu npages=%llu", 2, "index",
	    "npages")
TRACE_EVENT(iommufd_account_charge, "iommufd:account_charge", "mode=%llu npages=%llu result=%lld",
	    3, "mode", "npages", "result")
TRACE_EVENT(iommufd_account_uncharge, "iommufd:account_uncharge", "mode=%llu npages=%llu", 2,
	    "mode", "npages")
