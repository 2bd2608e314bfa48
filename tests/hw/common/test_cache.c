/* SPDX-License-Identifier: MIT */
/* The generic cache model (hw-models/common/hwm_cache.h) with tiny geometries. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "../../../hw-models/common/hwm_cache.h"

struct pl {
	uint64_t v;
};

static struct hwm_cache *mk(uint32_t sets, uint32_t ways, enum hwm_repl r, uint32_t match)
{
	struct hwm_cache_config c = { "t", sets, ways, r, 7, sizeof(struct pl), match };
	struct hwm_cache *h;
	cr_assert_eq(hwm_cache_create(&c, NULL, &h), 0);
	return h;
}

static struct hwm_ctag tag(uint64_t addr, uint32_t dom)
{
	struct hwm_ctag t = { .addr = addr, .shift = 12, .domain = dom, .pasid = HWM_PASID_NONE };
	return t;
}

Test(hwm_cache, bad_geometry)
{
	struct hwm_cache_config c = { "t", 3, 2, HWM_REPL_LRU, 0, 8, HWM_TAG_ADDR };
	struct hwm_cache *h;
	cr_assert_eq(hwm_cache_create(&c, NULL, &h), -EINVAL);
	c.sets = 2;
	c.ways = 0;
	cr_assert_eq(hwm_cache_create(&c, NULL, &h), -EINVAL);
}

Test(hwm_cache, lru_evicts_least_recent)
{
	struct hwm_cache *h = mk(1, 2, HWM_REPL_LRU, HWM_TAG_ADDR | HWM_TAG_DOMAIN);
	struct hwm_ctag a = tag(0x1000, 1), b = tag(0x2000, 1), c = tag(0x3000, 1), ev;
	struct pl p = { 1 }, o;
	struct hwm_cache_counters k;

	cr_assert(!hwm_cache_fill(h, &a, &p, NULL));
	p.v = 2;
	cr_assert(!hwm_cache_fill(h, &b, &p, NULL));
	cr_assert(hwm_cache_lookup(h, &a, &o, NULL)); /* a is now most recent */
	cr_assert_eq(o.v, 1);
	p.v = 3;
	cr_assert(hwm_cache_fill(h, &c, &p, &ev));
	cr_assert_eq(ev.addr, 0x2000, "b was least recently used");
	cr_assert(!hwm_cache_lookup(h, &b, NULL, NULL));
	cr_assert(hwm_cache_lookup(h, &c, &o, NULL));
	cr_assert_eq(o.v, 3);
	/* refill of an existing tag replaces in place */
	p.v = 4;
	cr_assert(!hwm_cache_fill(h, &c, &p, NULL));
	cr_assert(hwm_cache_lookup(h, &c, &o, NULL));
	cr_assert_eq(o.v, 4);
	hwm_cache_get_counters(h, &k);
	cr_assert_eq(k.fills, 4);
	cr_assert_eq(k.evictions, 1);
	cr_assert_eq(k.hits, 3);
	cr_assert_eq(k.misses, 1);
	cr_assert_eq(hwm_cache_count_valid(h), 2);
	hwm_cache_destroy(h);
}

Test(hwm_cache, round_robin_and_random)
{
	struct hwm_cache *h = mk(1, 2, HWM_REPL_RR, HWM_TAG_ADDR);
	struct pl p = { 0 };
	struct hwm_ctag ev;

	for (int i = 0; i < 2; i++) {
		struct hwm_ctag t = tag(0x1000 * (i + 1), 0);
		hwm_cache_fill(h, &t, &p, NULL);
	}
	for (int i = 0; i < 4; i++) {
		struct hwm_ctag t = tag(0x10000 * (i + 1), 0);
		cr_assert(hwm_cache_fill(h, &t, &p, &ev));
		if (i == 0)
			cr_assert_eq(ev.addr, 0x1000);
		if (i == 1)
			cr_assert_eq(ev.addr, 0x2000);
	}
	hwm_cache_destroy(h);

	/* random: deterministic for a seed, and every fill into a full set evicts */
	uint64_t seq[2][8];
	for (int run = 0; run < 2; run++) {
		h = mk(2, 2, HWM_REPL_RANDOM, HWM_TAG_ADDR);
		for (int i = 0; i < 8 + 4; i++) {
			struct hwm_ctag t = tag(0x1000ull * (uint64_t)(i * 2), 0);
			bool e = hwm_cache_fill(h, &t, &p, &ev);
			if (i >= 4) {
				cr_assert(e || i < 4);
				seq[run][i - 4] = e ? ev.addr : 0;
			}
		}
		hwm_cache_destroy(h);
	}
	cr_assert(!memcmp(seq[0], seq[1], sizeof(seq[0])), "same seed, same victims");
}

Test(hwm_cache, set_associative_spread_and_invalidate)
{
	struct hwm_cache *h = mk(4, 1, HWM_REPL_LRU, HWM_TAG_ADDR | HWM_TAG_DOMAIN);
	struct pl p = { 9 };
	struct hwm_cache_counters k;

	for (uint32_t d = 1; d <= 2; d++)
		for (int i = 0; i < 2; i++) {
			struct hwm_ctag t = tag(0x1000ull * i, d);
			hwm_cache_fill(h, &t, &p, NULL);
		}
	cr_assert_leq(hwm_cache_count_valid(h), 4);
	struct hwm_ctag key = tag(0, 1);
	size_t n1 = hwm_cache_count_valid(h);
	size_t gone = hwm_cache_inval_tag(h, HWM_TAG_DOMAIN, &key);
	cr_assert_eq(hwm_cache_count_valid(h), n1 - gone);
	struct hwm_ctag probe = tag(0x1000, 1);
	cr_assert(!hwm_cache_lookup(h, &probe, NULL, NULL));
	hwm_cache_get_counters(h, &k);
	cr_assert_eq(k.invalidations, gone);
	hwm_cache_destroy(h);
}

Test(hwm_cache, invalidate_range_by_size)
{
	struct hwm_cache *h = mk(1, 8, HWM_REPL_LRU, HWM_TAG_ADDR | HWM_TAG_DOMAIN);
	struct pl p = { 0 };
	struct hwm_ctag big = { .addr = 0x200000, .shift = 21, .domain = 1 };
	struct hwm_ctag small = tag(0x600000, 1), other = tag(0x200000, 2);

	hwm_cache_fill(h, &big, &p, NULL);
	hwm_cache_fill(h, &small, &p, NULL);
	hwm_cache_fill(h, &other, &p, NULL);
	cr_assert_eq(hwm_cache_shift_mask(h), (1ull << 21) | (1ull << 12));
	struct hwm_ctag key = { .domain = 1 };
	/* one 4K page inside the 2M entry removes the 2M entry only */
	cr_assert_eq(hwm_cache_inval_range(h, HWM_TAG_DOMAIN, &key, 0x3ff000, 0x3fffff), 1);
	cr_assert(!hwm_cache_lookup(h, &big, NULL, NULL));
	cr_assert(hwm_cache_lookup(h, &small, NULL, NULL));
	cr_assert(hwm_cache_lookup(h, &other, NULL, NULL));
	cr_assert_eq(hwm_cache_inval_all(h), 2);
	cr_assert_eq(hwm_cache_shift_mask(h), 0);
	hwm_cache_destroy(h);
}
