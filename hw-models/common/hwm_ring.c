/* SPDX-License-Identifier: MIT */
/* In-memory ring queues: see hwm_ring.h for the conventions. */
#include "common/hwm_ring.h"

#include <errno.h>

int hwm_ring_init(struct hwm_ring *r, uint64_t base, uint32_t nentries, uint32_t entry_size)
{
	if (!nentries || !entry_size)
		return -EINVAL;
	r->base = base;
	r->nentries = nentries;
	r->entry_size = entry_size;
	r->head = 0;
	r->tail = 0;
	return 0;
}

int hwm_ring_read(const struct hwm_bus *bus, const struct hwm_ring *r, uint32_t idx, void *buf)
{
	if (idx >= r->nentries)
		return -EINVAL;
	return hwm_bus_read(bus, hwm_ring_slot_addr(r, idx), buf, r->entry_size);
}

int hwm_ring_write(const struct hwm_bus *bus, const struct hwm_ring *r, uint32_t idx,
		   const void *buf)
{
	if (idx >= r->nentries)
		return -EINVAL;
	return hwm_bus_write(bus, hwm_ring_slot_addr(r, idx), buf, r->entry_size);
}

int hwm_ring_peek(const struct hwm_bus *bus, const struct hwm_ring *r, void *buf)
{
	if (hwm_ring_empty(r))
		return -EAGAIN;
	return hwm_ring_read(bus, r, r->head, buf);
}

void hwm_ring_advance_head(struct hwm_ring *r)
{
	if (!hwm_ring_empty(r))
		r->head = (r->head + 1) % r->nentries;
}

int hwm_ring_produce(const struct hwm_bus *bus, struct hwm_ring *r, const void *buf)
{
	int st;

	if (hwm_ring_full(r))
		return -ENOSPC;
	st = hwm_ring_write(bus, r, r->tail, buf);
	if (st == HWM_MEM_OK)
		r->tail = (r->tail + 1) % r->nentries;
	return st;
}
