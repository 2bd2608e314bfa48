/* SPDX-License-Identifier: MIT */
/*
 * Cost accumulation for one translation: models add events as they happen
 * and call hwm_cost_finish() once, which derives the modelled time from the
 * cycles with the instance's struct hwm_cost_config (see iommusim/hw.h for
 * the defaults and what they mean).
 */
#ifndef HWM_COST_H
#define HWM_COST_H

#include <iommusim/hw.h>

static inline void hwm_cost_mem(struct hwm_cost *c, const struct hwm_cost_config *cfg)
{
	c->mem_accesses++;
	c->cycles += cfg->mem_access_cycles;
}

static inline void hwm_cost_cache_hit(struct hwm_cost *c, const struct hwm_cost_config *cfg)
{
	c->cache_hits++;
	c->cycles += cfg->cache_hit_cycles;
}

static inline void hwm_cost_iotlb_hit(struct hwm_cost *c, const struct hwm_cost_config *cfg)
{
	c->iotlb_hits++;
	c->cycles += cfg->iotlb_hit_cycles;
}

static inline void hwm_cost_finish(struct hwm_cost *c, const struct hwm_cost_config *cfg)
{
	c->ns = c->cycles * cfg->ps_per_cycle / 1000;
}

/* Sum @b into @a (for a multi-page DMA). */
static inline void hwm_cost_add(struct hwm_cost *a, const struct hwm_cost *b)
{
	a->mem_accesses += b->mem_accesses;
	a->cache_hits += b->cache_hits;
	a->iotlb_hits += b->iotlb_hits;
	a->cycles += b->cycles;
	a->ns += b->ns;
}

#endif /* HWM_COST_H */
