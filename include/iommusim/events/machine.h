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
TRACE_EVENT(mach_account_charge, "mach:account_charge", "kind=%s id=%llu npages=%llu total=%llu",
	    4, "kind", "id", "npages", "total")
TRACE_EVENT(mach_account_uncharge, "mach:account_uncharge",
	    "kind=%s id=%llu npages=%llu total=%llu", 4, "kind", "id", "npages", "total")
