/* SPDX-License-Identifier: MIT */
/* Trace events of the iommufd layer: an X-macro list, read through trace_events.h. */
