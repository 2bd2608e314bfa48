/* SPDX-License-Identifier: MIT */
/* Trace events of the fault layer: an X-macro list, read through trace_events.h. */
TRACE_EVENT(fault_inject, "fault:inject", "class=0x%llx point=%s nth=%llu", 3, "class", "point",
	    "nth")
