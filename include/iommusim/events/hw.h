/* SPDX-License-Identifier: MIT */
/* Trace events of the hw layer: an X-macro list, read through trace_events.h. */
/*
 * Every hardware event carries the vendor as its first field (a static string:
 * "vtd", "amdvi", "smmuv3", "s390") so the other models reuse the same events.
 * rid is the requester / stream / function id; pasid is 0xffffffff when absent.
 */
TRACE_EVENT(
	hw_walk, "hw:walk",
	"vendor=%s rid=0x%llx pasid=0x%llx iova=0x%016llx levels=%llu accesses=%llu result=0x%llx",
	7, "vendor", "rid", "pasid", "iova", "levels", "accesses", "result")
TRACE_EVENT(hw_iotlb_hit, "hw:iotlb_hit",
	    "vendor=%s rid=0x%llx domain=0x%llx iova=0x%016llx pa=0x%016llx", 5, "vendor", "rid",
	    "domain", "iova", "pa")
TRACE_EVENT(hw_iotlb_miss, "hw:iotlb_miss", "vendor=%s rid=0x%llx domain=0x%llx iova=0x%016llx", 4,
	    "vendor", "rid", "domain", "iova")
TRACE_EVENT(hw_iotlb_fill, "hw:iotlb_fill",
	    "vendor=%s domain=0x%llx iova=0x%016llx pa=0x%016llx size=%llu perms=0x%llx", 6,
	    "vendor", "domain", "iova", "pa", "size", "perms")
TRACE_EVENT(hw_iotlb_evict, "hw:iotlb_evict", "vendor=%s domain=0x%llx iova=0x%016llx size=%llu", 4,
	    "vendor", "domain", "iova", "size")
TRACE_EVENT(hw_inval_submit, "hw:inval_submit", "vendor=%s head=%llu tail=%llu", 3, "vendor",
	    "head", "tail")
TRACE_EVENT(hw_inval_process, "hw:inval_process",
	    "vendor=%s index=%llu type=%llu qw0=0x%016llx qw1=0x%016llx entries=%llu", 6, "vendor",
	    "index", "type", "qw0", "qw1", "entries")
TRACE_EVENT(hw_inval_complete, "hw:inval_complete",
	    "vendor=%s index=%llu status_addr=0x%016llx status=0x%llx", 4, "vendor", "index",
	    "status_addr", "status")
TRACE_EVENT(hw_cmd_error, "hw:cmd_error", "vendor=%s index=%llu code=%llu qw0=0x%016llx", 4,
	    "vendor", "index", "code", "qw0")
TRACE_EVENT(hw_fault_record, "hw:fault_record",
	    "vendor=%s rid=0x%llx pasid=0x%llx addr=0x%016llx reason=0x%llx index=%lld", 6,
	    "vendor", "rid", "pasid", "addr", "reason", "index")
TRACE_EVENT(hw_checker, "hw:checker",
	    "vendor=%s rule=%s spec=%s rid=0x%llx addr=0x%016llx value=0x%016llx", 6, "vendor",
	    "rule", "spec", "rid", "addr", "value")
TRACE_EVENT(hw_inject, "hw:inject", "vendor=%s point=%s addr=0x%016llx", 3, "vendor", "point",
	    "addr")
TRACE_EVENT(hw_page_request, "hw:page_request",
	    "vendor=%s rid=0x%llx pasid=0x%llx addr=0x%016llx prgi=%llu overflow=%llu", 6, "vendor",
	    "rid", "pasid", "addr", "prgi", "overflow")
