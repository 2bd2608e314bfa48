// SPDX-License-Identifier: MIT
/*
 * Stress test of the generic cache model (run it in the TSan build): two
 * writers fill, refill and invalidate a small set-associative cache while
 * two readers look entries up through every lookup flavour (runtime masks,
 * constant masks, a view, a reference then touched). A payload names its
 * tag and repeats a version in every other word, so a reader can tell a
 * payload copied while a writer was in the set (torn) or one that belongs to
 * another tag. Under TSan this also proves that every word readers and
 * writers share is accessed atomically. Fixed seeds.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "../../../hw-models/common/hwm_cache.h"

#define M (HWM_TAG_ADDR | HWM_TAG_DOMAIN)
#define PAGES 32 /* tags: 32 pages of domain 1, in 4 sets x 2 ways */
#define ROUNDS 20000

struct shared {
	struct hwm_cache *c;
	uint64_t epoch;
	int stop;
	unsigned bad[2], hits[2];
};

struct worker {
	struct shared *sh;
	unsigned id;
	uint64_t seed;
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct hwm_ctag page_tag(unsigned page)
{
	return (struct hwm_ctag){ .addr = 0x100000ull + page * 4096ull, .shift = 12, .domain = 1 };
}

static void *writer(void *arg)
{
	struct worker *w = arg;
	struct hwm_cache *c = w->sh->c;

	for (uint64_t n = 1; n <= ROUNDS; n++) {
		uint64_t r = rnd(&w->seed);
		struct hwm_ctag t = page_tag(r % PAGES);
		uint64_t p[4] = { t.addr, n, n, n };

		if (r % 50 == 0) {
			hwm_epoch_bump(&w->sh->epoch);
			hwm_cache_inval_range(c, HWM_TAG_DOMAIN, &t, t.addr, t.addr + 8 * 4096 - 1);
		} else if (r % 997 == 0) {
			hwm_epoch_bump(&w->sh->epoch);
			hwm_cache_inval_all(c);
		} else if (r & 1) {
			hwm_cache_fill_spec_since(c, &t, p, sizeof(p), M, M, &w->sh->epoch,
						  hwm_epoch_read(&w->sh->epoch), NULL);
		} else {
			hwm_cache_fill(c, &t, p, NULL);
		}
	}
	return NULL;
}

/* A payload copied whole from the entry of @t: its tag, then one version thrice. */
static bool whole(const struct hwm_ctag *t, const uint64_t p[4])
{
	return p[0] == t->addr && p[1] == p[2] && p[2] == p[3] && p[1] != 0;
}

static void *reader(void *arg)
{
	struct worker *w = arg;
	struct hwm_cache *c = w->sh->c;
	struct hwm_cache_view v = hwm_cache_view(c);

	while (!__atomic_load_n(&w->sh->stop, __ATOMIC_ACQUIRE)) {
		uint64_t r = rnd(&w->seed);
		struct hwm_ctag t = page_tag(r % PAGES);
		struct hwm_cache_ref ref;
		uint64_t p[4] = { 0, 0, 0, 0 };
		bool hit;

		switch (r >> 32 & 3) {
		case 0:
			hit = hwm_cache_get(c, &t, p, sizeof(p));
			break;
		case 1:
			hit = hwm_cache_get_spec(c, &t, p, sizeof(p), M, M);
			break;
		case 2:
			hit = hwm_cache_get_spec_view(&v, &t, p, sizeof(p), M, M);
			break;
		default:
			hit = hwm_cache_get_spec_ref(c, &t, p, sizeof(p), M, M, &ref);
			if (hit && hwm_cache_ref_valid(c, ref.set, ref.seq))
				hwm_cache_ref_touch(c, ref.set, ref.way);
			break;
		}
		if (hit) {
			w->sh->hits[w->id]++;
			w->sh->bad[w->id] += !whole(&t, p);
		}
	}
	return NULL;
}

Test(hwm_cache_stress, lookups_race_fills_and_invalidations)
{
	struct hwm_cache_config cfg = {
		"race", 4, 2, HWM_REPL_RANDOM, 11, 4 * sizeof(uint64_t), M
	};
	struct shared sh = { 0 };
	struct worker ws[2] = { { &sh, 0, 0x9e3779b97f4a7c15ull },
				{ &sh, 1, 0xd1b54a32d192ed03ull } };
	struct worker rs[2] = { { &sh, 0, 0x2545f4914f6cdd1dull },
				{ &sh, 1, 0x6a09e667f3bcc909ull } };
	pthread_t wt[2], rt[2];

	cr_assert_eq(hwm_cache_create(&cfg, NULL, &sh.c), 0);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(pthread_create(&rt[i], NULL, reader, &rs[i]), 0);
		cr_assert_eq(pthread_create(&wt[i], NULL, writer, &ws[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(wt[i], NULL);
	__atomic_store_n(&sh.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);
	cr_expect_eq(sh.bad[0] + sh.bad[1], 0, "%u of %u hits copied a torn or foreign payload",
		     sh.bad[0] + sh.bad[1], sh.hits[0] + sh.hits[1]);
	cr_expect_neq(sh.hits[0] + sh.hits[1], 0, "the readers never hit");
	hwm_cache_destroy(sh.c);
}
