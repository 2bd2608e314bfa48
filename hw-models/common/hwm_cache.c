/* SPDX-License-Identifier: MIT */
/*
 * The generic cache model (see hwm_cache.h for the data structure, the
 * invariants and the locking).
 *
 * Layout: one array of struct hwm_cset (64-byte aligned, so two sets never
 * share a line), and one array of entries, set-major: entry (s, w) lives at
 * entries + (s * ways + w) * stride. The stride is the header (the tag's four
 * words and the LRU stamp) plus the payload rounded up to 8 bytes.
 *
 * Tag words: see the implementation section of hwm_cache.h. Keys are turned
 * into words from their fields (never by reading the struct as words: the
 * caller just wrote it with narrow stores, and a wide reload of those stalls
 * store forwarding).
 *
 * Hot paths: the lookup (hwm_cache_get, inline in the header) masks the key
 * once, tests the most selective word of each way first (the address for
 * TLB-like caches) and copies the payload straight into the caller's buffer;
 * fill likewise stores from the caller's payload when it is whole words.
 */
#include "common/hwm_cache.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <iommusim/fault.h>

#define TAG_WORDS 4
#define VALID HWM_CENTRY_VALID
#define MAX_PAYLOAD_WORDS 32

_Static_assert(sizeof(struct hwm_centry) == 40, "entry header is five words");

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

#define ld hwm_ld_
#define st hwm_st_

static inline void wload(uint64_t *dst, const uint64_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = ld(&src[i]);
}

static inline void bump(uint64_t *c)
{
	st(c, ld(c) + 1);
}

#define entry_at hwm_cache_entry_
#define set_of hwm_cache_set_of_
#define e_match hwm_centry_match_

static inline bool e_valid(const struct hwm_centry *e)
{
	return ld(&e->tag[3]) & VALID;
}

/* Tag words back to fields (the inverse of hwm_ctag_words; the valid bit is ours). */
static inline void words_tag(const uint64_t w[TAG_WORDS], struct hwm_ctag *t)
{
	memset(t, 0, sizeof(*t));
	t->addr = w[0];
	t->sid = (uint32_t)w[1];
	t->pasid = (uint32_t)(w[1] >> 32);
	t->domain = (uint32_t)w[2];
	t->vmid = (uint16_t)(w[2] >> 32);
	t->shift = (uint8_t)(w[2] >> 48);
	t->level = (uint8_t)(w[2] >> 56);
	t->kind = (uint8_t)w[3];
	t->flags = (uint8_t)(w[3] >> 8);
	t->pad = (uint16_t)(w[3] >> 16);
}

static inline void e_tag(const struct hwm_centry *e, struct hwm_ctag *t)
{
	uint64_t w[TAG_WORDS];

	wload(w, e->tag, TAG_WORDS);
	words_tag(w, t);
}

/* Invalidate an entry (writer, under lock and inside write_begin/end). */
static inline void e_clear(struct hwm_centry *e)
{
	st(&e->tag[3], ld(&e->tag[3]) & ~VALID);
	st(&e->stamp, 0);
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

/* The word masks of the fields in @fields (ADDR covers addr and shift). */
static void field_masks(uint32_t fields, uint64_t w[TAG_WORDS])
{
	struct hwm_ctag t;

	memset(&t, 0, sizeof(t));
	if (fields & HWM_TAG_ADDR) {
		t.addr = ~0ull;
		t.shift = 0xff;
	}
	if (fields & HWM_TAG_SID)
		t.sid = ~0u;
	if (fields & HWM_TAG_PASID)
		t.pasid = ~0u;
	if (fields & HWM_TAG_DOMAIN)
		t.domain = ~0u;
	if (fields & HWM_TAG_VMID)
		t.vmid = 0xffff;
	if (fields & HWM_TAG_LEVEL)
		t.level = 0xff;
	if (fields & HWM_TAG_KIND)
		t.kind = 0xff;
	hwm_ctag_words(&t, w);
}

/* The key's words, masked for comparison (VALID set: only valid entries match). */
static inline void key_words(const struct hwm_cache *c, const struct hwm_ctag *key,
			     uint64_t raw[TAG_WORDS], uint64_t k[TAG_WORDS])
{
	hwm_ctag_words(key, raw);
	k[0] = raw[0] & c->km[0];
	k[1] = raw[1] & c->km[1];
	k[2] = raw[2] & c->km[2];
	k[3] = (raw[3] & c->km[3]) | VALID;
}

int hwm_cache_create(const struct hwm_cache_config *cfg, struct fault_ctx *fc,
		     struct hwm_cache **out)
{
	uint32_t index = cfg->index ? cfg->index : cfg->match;
	struct hwm_cache *c;

	*out = NULL;
	if (!cfg->sets || (cfg->sets & (cfg->sets - 1)) || !cfg->ways || cfg->payload_size > 256 ||
	    (uint64_t)cfg->sets * cfg->ways > (1u << 24) || cfg->repl > HWM_REPL_RANDOM ||
	    (index & ~cfg->match))
		return -EINVAL;
	c = fault_zalloc(fc, "hwm.cache_alloc", sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->cfg.index = index;
	c->set_mask = cfg->sets - 1;
	c->ways = cfg->ways;
	c->stride = (sizeof(struct hwm_centry) + cfg->payload_size + 7) & ~(size_t)7;
	c->pwords = (cfg->payload_size + 7) / 8;
	c->set_stride = c->stride * cfg->ways;
	field_masks(cfg->match, c->km);
	c->km[3] |= VALID;
	field_masks(index & ~HWM_TAG_ADDR, c->ixm);
	c->ix_addr = index & HWM_TAG_ADDR;
	c->pw = c->km[0] ? 0 : c->km[1] ? 1 : c->km[2] ? 2 : 3;
	c->sets =
		fault_aligned_alloc(fc, "hwm.cache_alloc", 64, sizeof(struct hwm_cset) * cfg->sets);
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
 * The general lookup (any payload alignment, the tag wanted): the same
 * algorithm as hwm_cache_get() in the header, with a bounce buffer.
 */
bool hwm_cache_lookup_slow_(struct hwm_cache *c, const struct hwm_ctag *key, void *payload,
			    struct hwm_ctag *tag_out)
{
	uint64_t raw[TAG_WORDS], k[TAG_WORDS], buf[MAX_PAYLOAD_WORDS], t[TAG_WORDS];
	uint32_t si, pw = c->pw;
	const uint64_t *m = c->km;
	struct hwm_cset *s;
	struct hwm_centry *hit;

	key_words(c, key, raw, k);
	si = set_of(c, raw);
	s = &c->sets[si];
	for (;;) {
		uint64_t s0 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

		if (s0 & 1) {
			cpu_relax();
			continue;
		}
		hit = NULL;
		for (uint32_t w = 0; w < c->ways; w++) {
			struct hwm_centry *e = entry_at(c, si, w);

			if ((ld(&e->tag[pw]) & m[pw]) != k[pw] || !e_match(e, m, k))
				continue;
			wload(buf, e->payload, c->pwords);
			wload(t, e->tag, TAG_WORDS);
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
	st(&hit->stamp, ld(&s->tick));
	bump(&s->hits);
	if (payload)
		memcpy(payload, buf, c->cfg.payload_size);
	if (tag_out)
		words_tag(t, tag_out);
	return true;
}

bool hwm_cache_lookup(struct hwm_cache *c, const struct hwm_ctag *key, void *payload,
		      struct hwm_ctag *tag_out)
{
	if (payload && !tag_out)
		return hwm_cache_get(c, key, payload, c->cfg.payload_size);
	return hwm_cache_lookup_slow_(c, key, payload, tag_out);
}

static uint32_t pick_victim(struct hwm_cache *c, struct hwm_cset *s, uint32_t si)
{
	uint32_t ways = c->ways, v = 0;

	switch (c->cfg.repl) {
	case HWM_REPL_LRU: {
		uint64_t best = UINT64_MAX;
		for (uint32_t w = 0; w < ways; w++) {
			uint64_t stamp = ld(&entry_at(c, si, w)->stamp);
			if (stamp < best) {
				best = stamp;
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

/*
 * Every fill that is not inline: the core (hwm_cache.h) with the cache's own
 * masks. @t: the tag words; @src: whole-word payload.
 */
bool hwm_cache_fill_set_(struct hwm_cache *c, uint32_t si, const uint64_t t[TAG_WORDS],
			 const uint64_t *src, const uint64_t *epoch, uint64_t seen,
			 struct hwm_ctag *evicted)
{
	return hwm_cache_fill_core_(c, si, t[0], t[1], t[2], t[3], c->km[0], c->km[1], c->km[2],
				    c->km[3], c->pw, src, (size_t)c->pwords * 8, epoch, seen,
				    evicted);
}

/* The replacement policy's victim in a full set (for hwm_cache_fill_spec); under the lock. */
uint32_t hwm_cache_victim_(struct hwm_cache *c, uint32_t si)
{
	return pick_victim(c, &c->sets[si], si);
}

/* A payload that is not whole aligned words goes through a bounce buffer. */
static __attribute__((noinline)) bool fill_bounce(struct hwm_cache *c, uint32_t si,
						  const uint64_t t[TAG_WORDS], const void *payload,
						  const uint64_t *epoch, uint64_t seen,
						  struct hwm_ctag *evicted)
{
	uint64_t buf[MAX_PAYLOAD_WORDS];

	buf[c->pwords - (c->pwords > 0)] = 0; /* the padding of a partial last word */
	memcpy(buf, payload, c->cfg.payload_size);
	return hwm_cache_fill_set_(c, si, t, buf, epoch, seen, evicted);
}

bool hwm_cache_fill_words_(struct hwm_cache *c, const uint64_t tag[TAG_WORDS], const void *payload,
			   const uint64_t *epoch, uint64_t seen, struct hwm_ctag *evicted)
{
	uint32_t si = set_of(c, tag);

	if (((uintptr_t)payload & 7) || (c->cfg.payload_size & 7))
		return fill_bounce(c, si, tag, payload, epoch, seen, evicted);
	return hwm_cache_fill_set_(c, si, tag, payload, epoch, seen, evicted);
}

bool hwm_cache_fill_since(struct hwm_cache *c, const struct hwm_ctag *tag, const void *payload,
			  const uint64_t *epoch, uint64_t seen, struct hwm_ctag *evicted)
{
	uint64_t w[TAG_WORDS];

	hwm_ctag_words(tag, w);
	return hwm_cache_fill_words_(c, w, payload, epoch, seen, evicted);
}

/* Invalidate the entries of set @si that @pred accepts (all when @pred is NULL). */
static size_t inval_set(struct hwm_cache *c, uint32_t si, hwm_cache_pred pred, void *arg)
{
	uint64_t buf[MAX_PAYLOAD_WORDS];
	struct hwm_cset *s = &c->sets[si];
	struct hwm_ctag t;
	bool begun = false;
	size_t n = 0;

	set_lock(s);
	for (uint32_t w = 0; w < c->ways; w++) {
		struct hwm_centry *e = entry_at(c, si, w);
		if (!e_valid(e))
			continue;
		if (pred) {
			e_tag(e, &t);
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
	return n;
}

size_t hwm_cache_inval(struct hwm_cache *c, hwm_cache_pred pred, void *arg)
{
	size_t n = 0;

	for (uint32_t si = 0; si <= c->set_mask; si++)
		n += inval_set(c, si, pred, arg);
	return n;
}

size_t hwm_cache_inval_all(struct hwm_cache *c)
{
	/* before the sweep, not after: see hwm_cache_fill_core_() */
	__atomic_store_n(&c->shift_mask, 0, __ATOMIC_SEQ_CST);
	return hwm_cache_inval(c, NULL, NULL);
}

size_t hwm_cache_inval_span(struct hwm_cache *c, uint32_t fixed, const struct hwm_ctag *key,
			    uint64_t first, uint64_t last, hwm_cache_pred pred, void *arg)
{
	/* seq_cst: see hwm_cache_fill_core_() */
	uint64_t shifts = __atomic_load_n(&c->shift_mask, __ATOMIC_SEQ_CST), m, pages = 0,
		 raw[TAG_WORDS];
	uint32_t nsets = c->set_mask + 1;
	size_t n = 0;

	if (nsets == 1 || !c->ix_addr || (c->cfg.index & ~(fixed | HWM_TAG_ADDR)) || first > last ||
	    (shifts & (1ull << 63)))
		return hwm_cache_inval(c, pred, arg);
	for (m = shifts; m; m &= m - 1) {
		unsigned sh = __builtin_ctzll(m);
		uint64_t span = (last >> sh) - (first >> sh); /* pages - 1: cannot overflow */
		if (span >= nsets || (pages += span + 1) > nsets)
			return hwm_cache_inval(c, pred, arg);
	}
	hwm_ctag_words(key, raw);
	for (m = shifts; m; m &= m - 1) {
		unsigned sh = __builtin_ctzll(m);
		uint64_t p0 = first >> sh, span = (last >> sh) - p0;
		/* A set visited twice is harmless: its matching entries are already gone. */
		for (uint64_t i = 0; i <= span; i++) {
			raw[0] = (p0 + i) << sh;
			raw[2] = (raw[2] & ~(0xffull << 48)) | ((uint64_t)sh << 48);
			n += inval_set(c, set_of(c, raw), pred, arg);
		}
	}
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
	uint64_t raw[TAG_WORDS];

	/* Every indexed field named: the entries can only be in the key's set. */
	if (!c->ix_addr && !(c->cfg.index & ~mask)) {
		hwm_ctag_words(key, raw);
		return inval_set(c, set_of(c, raw), pred_tag, &a);
	}
	return hwm_cache_inval(c, pred_tag, &a);
}

size_t hwm_cache_inval_range(struct hwm_cache *c, uint32_t mask, const struct hwm_ctag *key,
			     uint64_t first, uint64_t last)
{
	struct tag_arg a = { .mask = mask, .key = key, .first = first, .last = last };
	return hwm_cache_inval_span(c, mask & ~HWM_TAG_ADDR, key, first, last, pred_range, &a);
}

void hwm_cache_for_each(struct hwm_cache *c, hwm_cache_visit cb, void *arg)
{
	uint64_t buf[MAX_PAYLOAD_WORDS];
	struct hwm_ctag t;

	for (uint32_t si = 0; si <= c->set_mask; si++) {
		struct hwm_cset *s = &c->sets[si];
		set_lock(s);
		for (uint32_t w = 0; w < c->ways; w++) {
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
	for (uint32_t si = 0; si <= c->set_mask; si++) {
		struct hwm_cset *s = &c->sets[si];
		set_lock(s);
		out->hits += ld(&s->hits);
		out->misses += ld(&s->misses);
		out->fills += s->fills;
		out->evictions += s->evictions;
		out->invalidations += s->invalidations;
		out->dropped += s->dropped;
		set_unlock(s);
	}
}

size_t hwm_cache_count_valid(struct hwm_cache *c)
{
	size_t n = 0;
	for (uint32_t si = 0; si <= c->set_mask; si++) {
		struct hwm_cset *s = &c->sets[si];
		set_lock(s);
		for (uint32_t w = 0; w < c->ways; w++)
			n += e_valid(entry_at(c, si, w));
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
