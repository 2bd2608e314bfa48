/* SPDX-License-Identifier: MIT */
/*
 * In-memory ring queues (VT-d invalidation and page-request queues, AMD-Vi
 * command buffer / event log / PPR log, SMMUv3 CMDQ / EVTQ / PRIQ).
 *
 * The ring lives in simulated physical memory at @base: @nentries slots of
 * @entry_size bytes. @head and @tail are slot indices in [0, nentries); the
 * vendor's registers hold them in the vendor's own encoding (VT-d: index
 * shifted by the descriptor size; SMMUv3: index plus a wrap bit), converted
 * by the model. The classic "one slot empty" convention: empty when head ==
 * tail, full when tail + 1 == head (mod nentries), so a producer never
 * overwrites an unconsumed slot; producing into a full ring is an overflow,
 * reported to the caller (which sets its vendor's overflow flag).
 *
 * Not thread-safe: the owner (a model) serialises access with its own lock.
 */
#ifndef HWM_RING_H
#define HWM_RING_H

#include <stdbool.h>
#include <stdint.h>

#include <iommusim/hw.h>

struct hwm_ring {
	uint64_t base;
	uint32_t nentries;
	uint32_t entry_size;
	uint32_t head; /* next slot the consumer reads */
	uint32_t tail; /* next slot the producer writes */
};

/* Returns 0 or -EINVAL (zero entries or size). Head and tail start at 0. */
int hwm_ring_init(struct hwm_ring *r, uint64_t base, uint32_t nentries, uint32_t entry_size);

static inline bool hwm_ring_empty(const struct hwm_ring *r)
{
	return r->head == r->tail;
}

static inline bool hwm_ring_full(const struct hwm_ring *r)
{
	return r->nentries == 0 || (r->tail + 1) % r->nentries == r->head;
}

/* Slots holding unconsumed entries. */
static inline uint32_t hwm_ring_used(const struct hwm_ring *r)
{
	return r->nentries ? (r->tail + r->nentries - r->head) % r->nentries : 0;
}

static inline uint64_t hwm_ring_slot_addr(const struct hwm_ring *r, uint32_t idx)
{
	return r->base + (uint64_t)idx * r->entry_size;
}

/* Read / write slot @idx (< nentries). Return HWM_MEM_* (or -EINVAL for a bad index). */
int hwm_ring_read(const struct hwm_bus *bus, const struct hwm_ring *r, uint32_t idx, void *buf);
int hwm_ring_write(const struct hwm_bus *bus, const struct hwm_ring *r, uint32_t idx,
		   const void *buf);

/*
 * Consumer: read the entry at head into @buf without advancing (so a model
 * can stop on a bad entry with head still pointing at it). Returns HWM_MEM_*,
 * or -EAGAIN when empty.
 */
int hwm_ring_peek(const struct hwm_bus *bus, const struct hwm_ring *r, void *buf);
void hwm_ring_advance_head(struct hwm_ring *r);

/* Producer: write @buf at tail and advance. Returns HWM_MEM_*, or -ENOSPC when full. */
int hwm_ring_produce(const struct hwm_bus *bus, struct hwm_ring *r, const void *buf);

#endif /* HWM_RING_H */
