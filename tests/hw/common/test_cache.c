/* SPDX-License-Identifier: MIT */
/* The generic cache model (hw-models/common/hwm_cache.h) with tiny geometries. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
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

/* A payload that is not whole words (bounce buffers on both sides) and every tag field. */
struct odd {
	uint8_t b[13];
};

Test(hwm_cache, odd_payload_and_all_tag_fields)
{
	uint32_t all = HWM_TAG_ADDR | HWM_TAG_SID | HWM_TAG_PASID | HWM_TAG_DOMAIN | HWM_TAG_VMID |
		       HWM_TAG_LEVEL | HWM_TAG_KIND;
	struct hwm_cache_config c = { "t", 4, 2, HWM_REPL_LRU, 3, sizeof(struct odd), all };
	struct hwm_cache *h;
	struct hwm_ctag t = { .addr = 0x5000,
			      .shift = 12,
			      .sid = 7,
			      .pasid = 9,
			      .domain = 11,
			      .vmid = 13,
			      .level = 2,
			      .kind = 1,
			      .flags = 0x5a,
			      .pad = 0x77 };
	struct hwm_ctag probe, out;
	struct odd p, o;
	struct {
		uint64_t align;
		struct odd o;
	} __attribute__((packed)) un;

	memset(&p, 0x3c, sizeof(p));
	cr_assert_eq(hwm_cache_create(&c, NULL, &h), 0);
	cr_assert_eq(hwm_cache_capacity(h), 8);
	cr_assert_str_eq(hwm_cache_name(h), "t");
	cr_assert(!hwm_cache_fill(h, &t, &p, NULL));
	/* each field is compared: change one at a time */
	for (int f = 0; f < 8; f++) {
		probe = t;
		switch (f) {
		case 0:
			probe.addr ^= 0x1000;
			break;
		case 1:
			probe.sid++;
			break;
		case 2:
			probe.pasid++;
			break;
		case 3:
			probe.domain++;
			break;
		case 4:
			probe.vmid++;
			break;
		case 5:
			probe.level++;
			break;
		case 6:
			probe.kind++;
			break;
		case 7:
			probe.shift = 13;
			break;
		}
		cr_assert(!hwm_cache_lookup(h, &probe, &o, NULL), "field %d", f);
		cr_assert(!hwm_ctag_match(&probe, &t, all), "field %d", f);
	}
	/* flags are carried, not compared; the tag comes back whole */
	probe = t;
	probe.flags = 0;
	memset(&o, 0, sizeof(o));
	cr_assert(hwm_cache_lookup(h, &probe, &o, &out));
	cr_assert(!memcmp(&o, &p, sizeof(p)));
	cr_assert_eq(out.flags, 0x5a);
	cr_assert_eq(out.pad, 0x77);
	cr_assert_eq(out.vmid, 13);
	/* an unaligned caller buffer */
	cr_assert(hwm_cache_lookup(h, &t, &un.o, NULL));
	cr_assert(!memcmp(&un.o, &p, sizeof(p)));
	/* a refill of the same tag from an unaligned buffer replaces in place */
	memset(&un.o, 0x11, sizeof(un.o));
	cr_assert(!hwm_cache_fill(h, &t, &un.o, NULL));
	cr_assert(hwm_cache_lookup(h, &t, &o, NULL));
	cr_assert_eq(o.b[12], 0x11);
	cr_assert_eq(hwm_cache_count_valid(h), 1);
	hwm_cache_destroy(h);
	hwm_cache_destroy(NULL);
	c.index = HWM_TAG_ADDR | HWM_TAG_DOMAIN;
	c.match = HWM_TAG_ADDR;
	cr_assert_eq(hwm_cache_create(&c, NULL, &h), -EINVAL, "index outside match");
}

static void count_visit(const struct hwm_ctag *t, const void *p, void *arg)
{
	(*(unsigned *)arg)++;
}

static bool pred_dom_range(const struct hwm_ctag *t, const void *p, void *arg)
{
	const uint64_t *r = arg; /* domain, first, last */
	uint64_t last = t->addr + (1ull << t->shift) - 1;
	return t->domain == r[0] && t->addr <= r[2] && last >= r[1];
}

/*
 * Range invalidation visiting only the sets of the range (index {addr, domain},
 * match adds the PASID): the same result as a scan of the whole cache.
 */
Test(hwm_cache, inval_span_equals_full_scan)
{
	struct hwm_cache_config c = { "t",
				      16,
				      2,
				      HWM_REPL_LRU,
				      3,
				      sizeof(struct pl),
				      HWM_TAG_ADDR | HWM_TAG_DOMAIN | HWM_TAG_PASID,
				      HWM_TAG_ADDR | HWM_TAG_DOMAIN };
	struct hwm_cache *a, *b;
	uint64_t seed = 99;

	cr_assert_eq(hwm_cache_create(&c, NULL, &a), 0);
	cr_assert_eq(hwm_cache_create(&c, NULL, &b), 0);
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 24; i++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			unsigned sh = (seed >> 60) % 3 == 0 ? 21 : 12;
			struct hwm_ctag t = { .addr = ((seed >> 20) % 64) << sh,
					      .shift = sh,
					      .domain = (seed >> 40) % 2,
					      .pasid = (seed >> 50) % 3 };
			struct pl p = { seed };
			hwm_cache_fill(a, &t, &p, NULL);
			hwm_cache_fill(b, &t, &p, NULL);
		}
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		{
			uint64_t first = ((seed >> 20) % 64) << 12, len = ((seed >> 33) % 4 + 1)
									  << 12;
			uint64_t r[3] = { (seed >> 40) % 2, first, first + len - 1 };
			struct hwm_ctag key = { .domain = (uint32_t)r[0] };
			size_t n1 = hwm_cache_inval_span(a, HWM_TAG_DOMAIN, &key, r[1], r[2],
							 pred_dom_range, r);
			size_t n2 = hwm_cache_inval(b, pred_dom_range, r);
			cr_assert_eq(n1, n2, "round %d", round);
		}
		cr_assert_eq(hwm_cache_count_valid(a), hwm_cache_count_valid(b));
	}
	/* wide ranges and unindexed fields fall back to the full scan */
	{
		uint64_t r[3] = { 1, 0, ~0ull };
		struct hwm_ctag key = { .domain = 1 };
		cr_assert_eq(
			hwm_cache_inval_span(a, HWM_TAG_DOMAIN, &key, 0, ~0ull, pred_dom_range, r),
			hwm_cache_inval(b, pred_dom_range, r));
		r[0] = 0;
		key.domain = 0;
		cr_assert_eq(hwm_cache_inval_span(a, 0, &key, 0, 0xfff, pred_dom_range, r),
			     hwm_cache_inval(b, pred_dom_range, r));
		cr_assert_eq(
			hwm_cache_inval_span(a, HWM_TAG_DOMAIN, &key, 10, 5, pred_dom_range, r),
			hwm_cache_inval(b, pred_dom_range, r), "first > last");
	}
	{
		unsigned na = 0, nb = 0;
		hwm_cache_for_each(a, count_visit, &na);
		hwm_cache_for_each(b, count_visit, &nb);
		cr_assert_eq(na, nb);
		cr_assert_eq(na, hwm_cache_count_valid(a));
	}
	/* inval_tag naming every indexed field visits one set */
	hwm_cache_destroy(a);
	hwm_cache_destroy(b);
	c.match = HWM_TAG_SID;
	c.index = 0;
	cr_assert_eq(hwm_cache_create(&c, NULL, &a), 0);
	for (uint32_t s = 0; s < 20; s++) {
		struct hwm_ctag t = { .sid = s };
		struct pl p = { s };
		hwm_cache_fill(a, &t, &p, NULL);
	}
	{
		struct hwm_ctag key = { .sid = 7 };
		struct pl o;
		cr_assert_eq(hwm_cache_inval_tag(a, HWM_TAG_SID, &key), 1);
		cr_assert(!hwm_cache_lookup(a, &key, &o, NULL));
		key.sid = 8;
		cr_assert(hwm_cache_lookup(a, &key, &o, NULL));
		cr_assert_eq(o.v, 8);
	}
	hwm_cache_destroy(a);
}

/* The inline variants: constant masks, payload prefixes, hit references. */
Test(hwm_cache, spec_lookup_fill_and_refs)
{
#define M (HWM_TAG_ADDR | HWM_TAG_DOMAIN | HWM_TAG_PASID)
#define I (HWM_TAG_ADDR | HWM_TAG_DOMAIN)
	struct hwm_cache_config c = { "t", 8, 2, HWM_REPL_RR, 3, 2 * sizeof(uint64_t), M, I };
	struct hwm_cache *h;
	struct hwm_ctag t = { .addr = 0x7000, .shift = 12, .domain = 2, .pasid = 5 }, ev;
	uint64_t p[2] = { 0x1111, 0x2222 }, o[2] = { 0, 0 };
	struct hwm_cache_ref ref = { 0 };
	struct hwm_cache_counters k0, k1;

	cr_assert_eq(hwm_cache_create(&c, NULL, &h), 0);
	cr_assert(!hwm_cache_fill_spec(h, &t, p, sizeof(p), M, I, &ev));
	cr_assert(hwm_cache_get_spec_ref(h, &t, o, sizeof(uint64_t), M, I, &ref));
	cr_assert_eq(o[0], 0x1111);
	cr_assert_eq(o[1], 0, "a prefix of one word");
	cr_assert(hwm_cache_ref_valid(h, ref.set, ref.seq));
	hwm_cache_get_counters(h, &k0);
	hwm_cache_ref_touch(h, ref.set, ref.way);
	hwm_cache_get_counters(h, &k1);
	cr_assert_eq(k1.hits, k0.hits + 1);
	cr_assert(!hwm_cache_ref_valid(h, 1000, ref.seq), "a set out of range");
	/* a fill into the set moves its seqcount: the reference is stale */
	{
		struct hwm_ctag t2 = t;
		t2.pasid = 6;
		hwm_cache_fill_spec(h, &t2, p, sizeof(p), M, I, NULL);
		cr_assert(!hwm_cache_ref_valid(h, ref.set, ref.seq));
		/* a third tag of the set evicts (round-robin), and reports the victim */
		t2.pasid = 7;
		cr_assert(hwm_cache_fill_spec(h, &t2, p, sizeof(p), M, I, &ev));
		cr_assert_eq(ev.addr, 0x7000);
		cr_assert_eq(ev.pasid, 5);
	}
	cr_assert(!hwm_cache_get_spec(h, &t, o, sizeof(o), M, I));
	cr_assert(!hwm_cache_get(h, &t, o, sizeof(o)));
	{
		struct hwm_cache_view v = hwm_cache_view(h);
		struct hwm_ctag t3 = t;
		t3.pasid = 7;
		cr_assert(hwm_cache_get_spec_view(&v, &t3, o, sizeof(o), M, I));
		cr_assert_eq(o[1], 0x2222);
	}
	cr_assert_eq(hwm_cache_shift_mask(h), 1ull << 12);
	hwm_cache_destroy(h);
#undef M
#undef I
}

/* Invalidation epochs: a fill made against an epoch that has moved lands nowhere. */
Test(hwm_cache, fill_since_drops_after_epoch_moved)
{
	struct hwm_cache *h = mk(4, 2, HWM_REPL_LRU, HWM_TAG_ADDR | HWM_TAG_DOMAIN);
	struct hwm_ctag a = tag(0x1000, 1), b = tag(0x2000, 1);
	struct pl p = { 9 }, o;
	struct hwm_cache_counters k;
	uint64_t epoch = 5, seen = hwm_epoch_read(&epoch);

	/* unchanged epoch: both fill flavours land */
	hwm_cache_fill_since(h, &a, &p, &epoch, seen, NULL);
	cr_assert(hwm_cache_lookup(h, &a, &o, NULL));
	cr_assert_eq(o.v, 9);
	/* an invalidation began after the walk did: the fill is refused */
	hwm_epoch_bump(&epoch);
	cr_assert_eq(epoch, 6);
	cr_assert(!hwm_cache_fill_since(h, &b, &p, &epoch, seen, NULL));
	cr_assert(!hwm_cache_lookup(h, &b, NULL, NULL), "a stale fill landed");
	cr_assert(!hwm_cache_fill_spec_since(h, &b, &p, sizeof(p), HWM_TAG_ADDR | HWM_TAG_DOMAIN,
					     HWM_TAG_ADDR | HWM_TAG_DOMAIN, &epoch, seen, NULL));
	cr_assert(!hwm_cache_lookup(h, &b, NULL, NULL), "a stale inline fill landed");
	/* a walk that starts now sees the new epoch and fills */
	seen = hwm_epoch_read(&epoch);
	hwm_cache_fill_spec_since(h, &b, &p, sizeof(p), HWM_TAG_ADDR | HWM_TAG_DOMAIN,
				  HWM_TAG_ADDR | HWM_TAG_DOMAIN, &epoch, seen, NULL);
	cr_assert(hwm_cache_lookup(h, &b, NULL, NULL));
	hwm_cache_get_counters(h, &k);
	cr_expect_eq(k.dropped, 2);
	cr_expect_eq(k.fills, 2);
	hwm_cache_destroy(h);
}

/*
 * Lookups racing fills of the same set: a lookup that meets a writer (odd
 * seqcount, or one that moved during its pass) must retry, never return a
 * payload half old and half new, and never miss an entry that stays cached.
 * The writer refills entry A in place with payloads whose four words are
 * all the same number, and its neighbour B; the readers check every copy.
 */
#define RACE_M (HWM_TAG_ADDR | HWM_TAG_DOMAIN)

struct race {
	struct hwm_cache *h;
	int stop;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	struct hwm_ctag a = tag(0x1000, 1), b = tag(0x2000, 1);

	for (uint64_t n = 1; !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE); n++) {
		uint64_t p[4] = { n, n, n, n };
		hwm_cache_fill_spec(r->h, &a, p, sizeof(p), RACE_M, RACE_M, NULL);
		hwm_cache_fill_spec(r->h, &b, p, sizeof(p), RACE_M, RACE_M, NULL);
	}
	return NULL;
}

Test(hwm_cache, lookups_racing_fills_see_whole_entries)
{
	struct hwm_cache_config c = { "t", 1, 2, HWM_REPL_LRU, 0, 4 * sizeof(uint64_t), RACE_M };
	struct hwm_ctag a = tag(0x1000, 1);
	uint64_t p[4] = { 0, 0, 0, 0 }, o[4];
	struct race r = { 0 };
	struct hwm_cache_counters k;
	unsigned missed = 0, torn = 0;
	pthread_t t;

	cr_assert_eq(hwm_cache_create(&c, NULL, &r.h), 0);
	hwm_cache_fill_spec(r.h, &a, p, sizeof(p), RACE_M, RACE_M, NULL);
	cr_assert_eq(pthread_create(&t, NULL, race_writer, &r), 0);
	for (int i = 0; i < 200000; i++) {
		bool hit = i & 1 ? hwm_cache_get_spec(r.h, &a, o, sizeof(o), RACE_M, RACE_M)
				 : hwm_cache_get(r.h, &a, o, sizeof(o));
		missed += !hit;
		torn += hit && !(o[0] == o[1] && o[1] == o[2] && o[2] == o[3]);
	}
	/* (the writer stops before anything is asserted: a failure leaves no thread behind) */
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	cr_expect_eq(missed, 0, "lookups missed an entry that is never evicted");
	cr_expect_eq(torn, 0, "lookups copied torn payloads");
	hwm_cache_get_counters(r.h, &k);
	cr_expect_eq(k.hits, 200000, "one hit per lookup, retries not counted");
	cr_expect_eq(k.misses, 0);
	hwm_cache_destroy(r.h);
}
