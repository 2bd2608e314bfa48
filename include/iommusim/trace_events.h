/* SPDX-License-Identifier: MIT */
/*
 * The event catalogue. Every event of every layer is declared exactly once,
 * in the per-layer list named below, as
 *     TRACE_EVENT(sym, "subsystem:event", "format", NFIELDS, "field0", ...)
 * (see trace.h for the rules). This file is an X-macro list: it has no include
 * guard and is read with TRACE_EVENT defined by the includer.
 */
#ifndef TRACE_EVENT
#error "define TRACE_EVENT before including trace_events.h"
#endif
#include <iommusim/events/fault.h>
#include <iommusim/events/machine.h>
#include <iommusim/events/iommu.h>
#include <iommusim/events/iommufd.h>
#include <iommusim/events/hw.h>
