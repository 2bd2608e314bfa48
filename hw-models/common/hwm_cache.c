/* SPDX-License-Identifier: MIT */
/*
 * The generic cache model (see hwm_cache.h for the data structure, the
 * invariants and the locking).
 *
 * Layout: one array of struct hwm_cset (64-byte aligned, so two sets never
 * share a line), and one array of entries, set-major: entry (s, w) lives at
 * entries + (s * ways + w) * stride. The stride is the header plus the payload
 * rounded up to 8 bytes.
 */
#include "common/hwm_cache.h"

#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>

struct hwm_cset {
	uint32_t lock; /* writers (fill, invalidate, counters) */
	uint32_t seq;  /* seqcount: odd while a writer changes entries */
	uint32_t rr;
	uint32_t pad;
	uint64_t rng;
	uint64_t tick; /* LRU clock: relaxed atomics (lossy under contention, by design) */
	uint64_t hits, misses; /* relaxed atomics, bumped by lock-free readers */
	uint64_t fills, evictions, invalidations; /* under @lock */
} __attribute__((aligned(64)));

/*
 * An entry is accessed only as 64-bit words with relaxed atomics (readers
 * run without the lock, validated by the set's seqcount), so its layout is
 * a whole number of words: tag (4), stamp (1), valid (1), payload.
 */
struct hwm_centry {
	struct hwm_ctag tag;
	uint64_t stamp; /* LRU: set tick of the last use */
	uint64_t valid;
	uint64_t payload[];
};

#define HDR_WORDS (sizeof(struct hwm_centry) / 8)
#define MAX_PAYLOAD_WORDS 32

_Static_assert(sizeof(struct hwm_ctag) == 32, "tag is four words");
_Static_assert(sizeof(struct hwm_centry) == 48, "entry header is six words");

struct hwm_cache {
	struct hwm_cache_config cfg;
	size_t stride;
	uint32_t pwords; /* payload words */
	uint64_t shift_mask; /* atomic */
	struct hwm_cset *sets;
	unsigned char *entries;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void set_lock(struct hwm_cset *s)
{
	while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&s->lock, __ATOMIC_RELAXED))
			cpu_relax();
}

static inline void set_unlock(struct hwm_cset *s)
{
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

/* Writer side of the seqcount, under the set lock. */
static inline void write_begin(struct hwm_cset *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void write_end(struct hwm_cset *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

static inline void wload(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

static inline void wstore(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
}

static inline void bump(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static inline struct hwm_centry *entry_at(const struct hwm_cache *c, uint32_t set, uint32_t way)
{
	return (struct hwm_centry *)(c->entries + ((size_t)set * c->cfg.ways + way) * c->stride);
}

static inline uint64_t e_valid(const struct hwm_centry *e)
{
	return __atomic_load_n(&e->valid, __ATOMIC_RELAXED);
}

static inline uint64_t e_stamp(const struct hwm_centry *e)
{
	return __atomic_load_n(&e->stamp, __ATOMIC_RELAXED);
}

static inline void e_tag(const struct hwm_centry *e, struct hwm_ctag *t)
{
	wload((uint64_t *)t, (const uint64_t *)&e->tag, 4);
}

/* Invalidate an entry (writer, under lock and inside write_begin/end). */
static inline void e_clear(struct hwm_centry *e)
{
	__atomic_store_n(&e->valid, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&e->stamp, 0, __ATOMIC_RELAXED);
}

bool hwm_ctag_match(const struct hwm_ctag *a, const struct hwm_ctag *b, uint32_t mask)
{
	if ((mask & HWM_TAG_ADDR) && (a->addr != b->addr || a->shift != b->shift))
		return false;
	if ((mask & HWM_TAG_SID) && a->sid != b->sid)
		return false;
	if ((mask & HWM_TAG_PASID) && a->pasid != b->pasid)
		return false;
	if ((mask & HWM_TAG_DOMAIN) && a->domain != b->domain)
		return false;
	if ((mask & HWM_TAG_VMID) && a->vmid != b->vmid)
		return false;
	if ((mask & HWM_TAG_LEVEL) && a->level != b->level)
		return false;
	if ((mask & HWM_TAG_KIND) && a->kind != b->kind)
		return false;
	return true;
}

/* The set index from the masked fields only: the page number's low bits
 * spread consecutive pages; the ids are mixed in multiplicatively. */
static inline uint32_t set_index(const struct hwm_cache *c, const struct hwm_ctag *t)
{
	uint32_t m = c->cfg.match;
	uint64_t h = 0;

	if (c->cfg.sets == 1)
		return 0;
	if (m & HWM_TAG_ADDR)
		h = t->addr >> t->shift;
	if (m & HWM_TAG_SID)
		h += (uint64_t)t->sid * 0x9e3779b1u;
	if (m & HWM_TAG_PASID)
		h += (uint64_t)t->pasid * 0x85ebca77u;
	if (m & HWM_TAG_DOMAIN)
		h += (uint64_t)t->domain * 0xc2b2ae3du;
	if (m & HWM_TAG_VMID)
		h += (uint64_t)t->vmid * 0x27d4eb2fu;
	if (m & HWM_TAG_LEVEL)
		h += (uint64_t)t->level * 0x165667b1u;
	if (m & HWM_TAG_KIND)
		h += (uint64_t)t->kind * 0xd3a2646cu;
	return (uint32_t)(h ^ (h >> 17)) & (c->cfg.sets - 1);
}

int hwm_cache_create(const struct hwm_cache_config *cfg, struct fault_ctx *fc,
		     struct hwm_cache **out)
{
	struct hwm_cache *c;

	*out = NULL;
	if (!cfg->sets || (cfg->sets & (cfg->sets - 1)) || !cfg->ways || cfg->payload_size > 256 ||
	    (uint64_t)cfg->sets * cfg->ways > (1u << 24) || cfg->repl > HWM_REPL_RANDOM)
		return -EINVAL;
	c = fault_zalloc(fc, "hwm.cache_alloc", sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->stride = (sizeof(struct hwm_centry) + cfg->payload_size + 7) & ~(size_t)7;
	c->pwords = (cfg->payload_size + 7) / 8;
	c->sets = fault_aligned_alloc(fc, "hwm.cache_alloc", 64,
				      sizeof(struct hwm_cset) * cfg->sets);
	if (!c->sets)
		goto err_sets;
	memset(c->sets, 0, sizeof(struct hwm_cset) * cfg->sets);
	c->entries = fault_calloc(fc, "hwm.cache_alloc", (size_t)cfg->sets * cfg->ways, c->stride);
	if (!c->entries)
		goto err_entries;
	for (uint32_t s = 0; s < cfg->sets; s++) {
		/* splitmix64 of (seed, set): never zero, distinct per set */
		uint64_t z = cfg->seed + 0x9e3779b97f4a7c15ull * (s + 1);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		c->sets[s].rng = z ? z : 1;
	}
	*out = c;
	return 0;

err_entries:
	fault_free(c->sets);
err_sets:
	fault_free(c);
	return -ENOMEM;
}

void hwm_cache_destroy(struct hwm_cache *c)
{
	if (!c)
		return;
	fault_free(c->entries);
	fault_free(c->sets);
	fault_free(c);
}

/*
 * Lock-free lookup: scan the set's entries word by word with relaxed loads,
 * then validate with the seqcount; a writer in between makes us retry. The
 * LRU stamp and the hit/miss counters are updated with relaxed stores: a
 * lost update under contention perturbs LRU order or a counter by one, never
 * the correctness of a translation.
 */
bool hwm_cache_lookup(struct hwm_cache *c, const struct hwm_ctag *key, void *payload,
		      struct hwm_ctag *tag_out)
{
	uint32_t si = set_index(c, key);
	struct hwm_cset *s = &c->sets[si];
	uint32_t m = c->cfg.match;
	uint64_t buf[MAX_PAYLOAD_WORDS];
	/* Copy straight into the caller's buffer when it is whole aligned words. */
	bool direct = payload && !((uintptr_t)payload & 7) && !(c->cfg.payload_size & 7);
	uint64_t *dst = direct ? payload : buf;
	struct hwm_ctag t;
	struct hwm_centry *hit;

	for (;;) {
		uint32_t s0 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

		if (s0 & 1) {
			cpu_relax();
			continue;
		}
		hit = NULL;
		for (uint32_t w = 0; w < c->cfg.ways; w++) {
			struct hwm_centry *e = entry_at(c, si, w);

			if (!e_valid(e))
				continue;
			/* the address word rejects most ways: test it before the rest */
			if ((m & HWM_TAG_ADDR) &&
			    __atomic_load_n(&e->tag.addr, __ATOMIC_RELAXED) != key->addr)
				continue;
			e_tag(e, &t);
			if (!hwm_ctag_match(&t, key, m))
				continue;
			wload(dst, e->payload, c->pwords);
			hit = e;
			break;
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == s0)
			break;
	}
	if (!hit) {
		bump(&s->misses);
		return false;
	}
	bump(&s->tick);
	__atomic_store_n(&hit->stamp, __atomic_load_n(&s->tick, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	bump(&s->hits);
	if (payload && !direct)
		memcpy(payload, buf, c->cfg.payload_size);
	if (tag_out)
		*tag_out = t;
	return true;
}

static uint32_t pick_victim(struct hwm_cache *c, struct hwm_cset *s, uint32_t si)
{
	uint32_t ways = c->cfg.ways, v = 0;

	switch (c->cfg.repl) {
	case HWM_REPL_LRU: {
		uint64_t best = UINT64_MAX;
		for (uint32_t w = 0; w < ways; w++) {
			uint64_t st = e_stamp(entry_at(c, si, w));
			if (st < best) {
				best = st;
				v = w;
			}
		}
		break;
	}
	case HWM_REPL_RR:
		v = s->rr;
		s->rr = (s->rr + 1) % ways;
		break;
	case HWM_REPL_RANDOM: {
		uint64_t x = s->rng; /* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		s->rng = x;
		v = (uint32_t)(x % ways);
		break;
	}
	}
	return v;
}

bool hwm_cache_fill(struct hwm_cache *c, const struct hwm_ctag *tag, const void *payload,
		    struct hwm_ctag *evicted)
{
	uint32_t si = set_index(c, tag);
	struct hwm_cset *s = &c->sets[si];
	struct hwm_centry *slot = NULL;
	uint64_t buf[MAX_PAYLOAD_WORDS];
	struct hwm_ctag t;
	bool ev = false;

	buf[c->pwords - (c->pwords > 0)] = 0; /* the padding of a partial last word */
	memcpy(buf, payload, c->cfg.payload_size);
	set_lock(s);
	for (uint32_t w = 0; w < c->cfg.ways; w++) {
		struct hwm_centry *e = entry_at(c, si, w);
		if (e_valid(e)) {
			e_tag(e, &t);
			if (hwm_ctag_match(&t, tag, c->cfg.match)) {
				slot = e; /* same tag: refresh in place */
				break;
			}
		} else if (!slot) {
			slot = e;
		}
	}
	if (!slot) {
		slot = entry_at(c, si, pick_victim(c, s, si));
		ev = true;
		s->evictions++;
		if (evicted)
			e_tag(slot, evicted);
	}
	write_begin(s);
	wstore((uint64_t *)&slot->tag, (const uint64_t *)tag, 4);
	wstore(slot->payload, buf, c->pwords);
	bump(&s->tick);
	__atomic_store_n(&slot->stamp, __atomic_load_n(&s->tick, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&slot->valid, 1, __ATOMIC_RELAXED);
	write_end(s);
	s->fills++;
	set_unlock(s);
	if (tag->shift < 64 &&
	    !(__atomic_load_n(&c->shift_mask, __ATOMIC_RELAXED) & (1ull << tag->shift)))
		__atomic_fetch_or(&c->shift_mask, 1ull << tag->shift, __ATOMIC_RELAXED);
	return ev;
}

size_t hwm_cache_inval(struct hwm_cache *c, hwm_cache_pred pred, void *arg)
{
	uint64_t buf[MAX_PAYLOAD_WORDS];
	struct hwm_ctag t;
	size_t n = 0;

	for (uint32_t si = 0; si < c->cfg.sets; si++) {
		struct hwm_cset *s = &c->sets[si];
		bool begun = false;

		set_lock(s);
		for (uint32_t w = 0; w < c->cfg.ways; w++) {
			struct hwm_centry *e = entry_at(c, si, w);
			if (!e_valid(e))
				continue;
			e_tag(e, &t);
			if (pred) {
				wload(buf, e->payload, c->pwords);
				if (!pred(&t, buf, arg))
					continue;
			}
			if (!begun) {
				write_begin(s);
				begun = true;
			}
			e_clear(e);
			s->invalidations++;
			n++;
		}
		if (begun)
			write_end(s);
		set_unlock(s);
	}
	return n;
}

size_t hwm_cache_inval_all(struct hwm_cache *c)
{
	size_t n = hwm_cache_inval(c, NULL, NULL);
	__atomic_store_n(&c->shift_mask, 0, __ATOMIC_RELAXED);
	return n;
}

struct tag_arg {
	uint32_t mask;
	const struct hwm_ctag *key;
	uint64_t first, last;
};

static bool pred_tag(const struct hwm_ctag *t, const void *p, void *arg)
{
	struct tag_arg *a = arg;
	return hwm_ctag_match(t, a->key, a->mask & ~HWM_TAG_ADDR);
}

static bool pred_range(const struct hwm_ctag *t, const void *p, void *arg)
{
	struct tag_arg *a = arg;
	uint64_t last;

	if (!hwm_ctag_match(t, a->key, a->mask & ~HWM_TAG_ADDR))
		return false;
	last = t->shift >= 64 ? UINT64_MAX : t->addr + ((1ull << t->shift) - 1);
	return t->addr <= a->last && last >= a->first;
}

size_t hwm_cache_inval_tag(struct hwm_cache *c, uint32_t mask, const struct hwm_ctag *key)
{
	struct tag_arg a = { .mask = mask, .key = key };
	return hwm_cache_inval(c, pred_tag, &a);
}

size_t hwm_cache_inval_range(struct hwm_cache *c, uint32_t mask, const struct hwm_ctag *key,
			     uint64_t first, uint64_t last)
{
	struct tag_arg a = { .mask = mask, .key = key, .first = first, .last = last };
	return hwm_cache_inval(c, pred_range, &a);
}

void hwm_cache_for_each(struct hwm_cache *c, hwm_cache_visit cb, void *arg)
{
	uint64_t buf[MAX_PAYLOAD_WORDS];
	struct hwm_ctag t;

	for (uint32_t si = 0; si < c->cfg.sets; si++) {
		struct hwm_cset *s = &c->sets[si];
		set_lock(s);
		for (uint32_t w = 0; w < c->cfg.ways; w++) {
			struct hwm_centry *e = entry_at(c, si, w);
			if (!e_valid(e))
				continue;
			e_tag(e, &t);
			wload(buf, e->payload, c->pwords);
			cb(&t, buf, arg);
		}
		set_unlock(s);
	}
}

void hwm_cache_get_counters(struct hwm_cache *c, struct hwm_cache_counters *out)
{
	memset(out, 0, sizeof(*out));
	for (uint32_t si = 0; si < c->cfg.sets; si++) {
		struct hwm_cset *s = &c->sets[si];
		set_lock(s);
		out->hits += __atomic_load_n(&s->hits, __ATOMIC_RELAXED);
		out->misses += __atomic_load_n(&s->misses, __ATOMIC_RELAXED);
		out->fills += s->fills;
		out->evictions += s->evictions;
		out->invalidations += s->invalidations;
		set_unlock(s);
	}
}

size_t hwm_cache_count_valid(struct hwm_cache *c)
{
	size_t n = 0;
	for (uint32_t si = 0; si < c->cfg.sets; si++) {
		struct hwm_cset *s = &c->sets[si];
		set_lock(s);
		for (uint32_t w = 0; w < c->cfg.ways; w++)
			n += e_valid(entry_at(c, si, w)) != 0;
		set_unlock(s);
	}
	return n;
}

uint32_t hwm_cache_capacity(const struct hwm_cache *c)
{
	return c->cfg.sets * c->cfg.ways;
}

const char *hwm_cache_name(const struct hwm_cache *c)
{
	return c->cfg.name;
}

uint64_t hwm_cache_shift_mask(const struct hwm_cache *c)
{
	return __atomic_load_n(&c->shift_mask, __ATOMIC_RELAXED);
}
