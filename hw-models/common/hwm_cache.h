/* SPDX-License-Identifier: MIT */
/*
 * The generic hardware cache model, used for every vendor's IOTLB, context /
 * configuration caches, PASID caches, paging-structure (walk) caches and
 * device TLBs.
 *
 * Data structure: @sets x @ways entries (sets a power of two; sets == 1 is
 * fully associative). Each entry is a tag (struct hwm_ctag: vendor fields
 * domain id / PASID / ASID / VMID / stream id, plus an input address aligned
 * to 2^shift, a level and a kind) and an opaque payload of a fixed size chosen
 * at creation. A lookup compares only the tag fields named in the cache's
 * match mask (a PASID cache can be looked up by {sid, pasid} and invalidated
 * by the domain id it stores); the set index is computed from a subset of
 * those same fields, so a lookup and the fill that preceded it land in the
 * same set.
 * Replacement per set: LRU (a per-set tick stamped on each hit/fill),
 * round-robin (a per-set cursor) or random (a per-set xorshift generator
 * seeded from the configured seed and the set number: deterministic).
 *
 * Invariants: at most one valid entry per distinct masked tag per set (a
 * fill of an existing tag overwrites it in place); counters only grow.
 *
 * Set index: a hash of the tag fields in the cache's *index mask*, a subset
 * of the match mask (default: the match mask itself). ADDR contributes the
 * page number addr >> shift, so consecutive pages fall in consecutive sets.
 * A vendor leaves out of the index the fields an invalidation cannot name
 * (VT-d: the PASID, since an IOTLB invalidation drops second-stage entries of
 * a domain for every PASID), so that hwm_cache_inval_span() can visit only
 * the few sets an address range can live in instead of the whole cache.
 *
 * Tags are compared as four 64-bit words ANDed with per-word masks built from
 * the match mask at creation (no per-field branches); an entry's valid bit
 * lives in the tag's tail padding, so an invalid entry never matches.
 *
 * Locking: writers (fill, invalidation, counter reads) take a per-set
 * spinlock and bump the set's seqcount around entry changes; lookups take no
 * lock at all: they read the entries as 64-bit words with relaxed atomic
 * loads and retry if the seqcount moved (TSan-clean: every shared word is
 * accessed atomically). Hit/miss counters and the LRU clock are bumped by
 * readers with relaxed load+store, so under concurrent hits they may lose
 * counts (exact in single-threaded runs). Counters live in the set and are
 * summed when read. No allocation after creation.
 */
#ifndef HWM_CACHE_H
#define HWM_CACHE_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <iommusim/hw.h> /* enum hwm_repl, HWM_PASID_NONE */

struct fault_ctx;

/* Tag fields a lookup compares (the cache's match mask). */
enum hwm_tag_field {
	HWM_TAG_ADDR = 1u << 0, /* addr and shift */
	HWM_TAG_SID = 1u << 1,
	HWM_TAG_PASID = 1u << 2,
	HWM_TAG_DOMAIN = 1u << 3,
	HWM_TAG_VMID = 1u << 4,
	HWM_TAG_LEVEL = 1u << 5,
	HWM_TAG_KIND = 1u << 6,
};

struct hwm_ctag {
	uint64_t addr; /* input address, aligned to 2^shift (0 when unused) */
	uint32_t sid; /* requester / stream id */
	uint32_t pasid; /* PASID / substream id / ASID (HWM_PASID_NONE when absent) */
	uint32_t domain; /* domain id (VT-d DID, AMD DomainID, SMMU ASID) */
	uint16_t vmid; /* SMMU VMID, AMD guest id */
	uint8_t shift; /* log2 of the covered range: 12, 21, 30... */
	uint8_t level; /* table level for walk caches */
	uint8_t kind; /* vendor-defined entry kind (stage, negative entry...) */
	uint8_t flags; /* vendor-defined, not compared (e.g. "global") */
	uint16_t pad;
};

struct hwm_cache_config {
	const char *name; /* static string, for diagnostics */
	uint32_t sets; /* power of two, >= 1 */
	uint32_t ways; /* >= 1 */
	enum hwm_repl repl;
	uint64_t seed; /* for HWM_REPL_RANDOM */
	uint32_t payload_size; /* bytes of payload per entry, <= 256 */
	uint32_t match; /* HWM_TAG_* compared by lookups */
	uint32_t index; /* HWM_TAG_* hashed into the set index: a subset of @match;
				  0 = @match */
};

struct hwm_cache_counters {
	uint64_t hits, misses, fills, evictions, invalidations;
	uint64_t dropped; /* fills refused: an invalidation began after their walk did */
};

struct hwm_cache; /* its layout is at the end of this header, for the inline lookup */

/* Returns 0, -EINVAL on a bad geometry, -ENOMEM (point "hwm.cache_alloc"). */
int hwm_cache_create(const struct hwm_cache_config *cfg, struct fault_ctx *fc,
		     struct hwm_cache **out);
void hwm_cache_destroy(struct hwm_cache *c);

/*
 * Look @key up (fields in the match mask). On a hit the payload is copied to
 * @payload (may be NULL) and the entry's full tag to @tag_out (may be NULL).
 */
bool hwm_cache_lookup(struct hwm_cache *c, const struct hwm_ctag *key, void *payload,
		      struct hwm_ctag *tag_out);

/*
 * The same lookup for hot paths, inline (defined at the end of this header):
 * @payload is 8-byte aligned and the first @size bytes of the payload (a
 * multiple of 8, at most the cache's payload size) are copied to it; @size
 * is a compile-time constant at the call site, so the key stays in registers
 * and the copy is unrolled. A vendor that puts its hot fields first copies
 * only those.
 */
static inline __attribute__((always_inline)) bool
hwm_cache_get(struct hwm_cache *c, const struct hwm_ctag *key, void *payload, size_t size);

/*
 * Insert @tag with @payload, replacing an entry with the same masked tag or,
 * when the set is full, a victim chosen by the replacement policy. Returns
 * true when a valid entry was evicted (its tag copied to @evicted if not NULL).
 * Inline wrapper (end of this header): the tag is turned into words in the
 * caller, where its fields usually sit in registers.
 */
static inline bool hwm_cache_fill(struct hwm_cache *c, const struct hwm_ctag *tag,
				  const void *payload, struct hwm_ctag *evicted);

/*
 * Invalidation epochs: a fill must not bring back what an invalidation that
 * ran while its walk was in flight removed. Silicon guarantees this by
 * completing an invalidation only once the walks that began before it are
 * done (their results are not cached); here a vendor keeps one counter (its
 * epoch) that it increments before applying any invalidation, a translation
 * loads it (acquire) before its first cache lookup or table read, and fills
 * with hwm_cache_fill_since() / hwm_cache_fill_spec_since() naming the
 * counter and the value seen. The fill compares them under the set lock and
 * drops itself (counted in `dropped`) when they differ. Why the lock makes
 * this exact: an invalidation bumps the epoch before it takes any set lock,
 * so either the fill saw the bump, or the fill's entry was in place before
 * the invalidation visited the set and is removed by it (the epoch and
 * page-size mask accesses involved are sequentially consistent, see
 * hwm_cache_fill_core_()). Single-threaded runs never drop a fill
 * (nothing runs between a translation's start and its fills), so results
 * and counters stay deterministic. The unguarded fills (hwm_cache_fill(),
 * hwm_cache_fill_spec()) are for caches no invalidation can race with.
 */
bool hwm_cache_fill_since(struct hwm_cache *c, const struct hwm_ctag *tag, const void *payload,
			  const uint64_t *epoch, uint64_t seen, struct hwm_ctag *evicted);

static inline uint64_t hwm_epoch_read(const uint64_t *epoch)
{
	return __atomic_load_n(epoch, __ATOMIC_ACQUIRE);
}

/* Before an invalidation's first change to any cache guarded by @epoch. */
static inline void hwm_epoch_bump(uint64_t *epoch)
{
	__atomic_fetch_add(epoch, 1, __ATOMIC_SEQ_CST);
}

/* Invalidate every entry for which @pred returns true. Returns how many. */
typedef bool (*hwm_cache_pred)(const struct hwm_ctag *tag, const void *payload, void *arg);
size_t hwm_cache_inval(struct hwm_cache *c, hwm_cache_pred pred, void *arg);

size_t hwm_cache_inval_all(struct hwm_cache *c);

/*
 * Like hwm_cache_inval(), but visits only the sets where an entry whose range
 * intersects [first, last] (last inclusive) can live, given that @pred accepts
 * only entries whose fields in @fixed equal @key's: for each page size present
 * (hwm_cache_shift_mask()), each aligned page of the range. Falls back to
 * every set when the index mask has fields outside @fixed | ADDR, when ADDR is
 * not in the index, or when the range spans more pages than there are sets.
 * @pred still decides alone which entries go (it must check the range too):
 * the result is the same as hwm_cache_inval(c, pred, arg), only cheaper.
 */
size_t hwm_cache_inval_span(struct hwm_cache *c, uint32_t fixed, const struct hwm_ctag *key,
			    uint64_t first, uint64_t last, hwm_cache_pred pred, void *arg);

/* Entries whose fields in @mask equal @key's (ADDR excluded from @mask here). */
size_t hwm_cache_inval_tag(struct hwm_cache *c, uint32_t mask, const struct hwm_ctag *key);

/*
 * Entries whose fields in @mask (without HWM_TAG_ADDR) equal @key's and whose
 * range [addr, addr + 2^shift) intersects [first, last] (last inclusive).
 */
size_t hwm_cache_inval_range(struct hwm_cache *c, uint32_t mask, const struct hwm_ctag *key,
			     uint64_t first, uint64_t last);

/* Visit every valid entry (under each set's lock; @cb must not call back in). */
typedef void (*hwm_cache_visit)(const struct hwm_ctag *tag, const void *payload, void *arg);
void hwm_cache_for_each(struct hwm_cache *c, hwm_cache_visit cb, void *arg);

void hwm_cache_get_counters(struct hwm_cache *c, struct hwm_cache_counters *out);
size_t hwm_cache_count_valid(struct hwm_cache *c);
uint32_t hwm_cache_capacity(const struct hwm_cache *c);
const char *hwm_cache_name(const struct hwm_cache *c);

/*
 * Bit s set when an entry with shift s may be valid (bit 63: any shift >= 63).
 * Set by a fill before the entry becomes visible, cleared only by
 * hwm_cache_inval_all. Lets a multi-page-size IOTLB skip probes and a range
 * invalidation skip page sizes never filled.
 */
uint64_t hwm_cache_shift_mask(const struct hwm_cache *c);

/* Do two tags match in the fields of @mask? (ADDR compares addr and shift.) */
bool hwm_ctag_match(const struct hwm_ctag *a, const struct hwm_ctag *b, uint32_t mask);

/* ------------------------------------------------------------------------
 * Implementation, exposed only for the inline lookup: use the functions.
 *
 * A tag is stored and compared as four 64-bit words built from its fields
 * (hwm_ctag_words): w0 addr; w1 sid | pasid << 32; w2 domain | vmid << 32 |
 * shift << 48 | level << 56; w3 kind | flags << 8 | pad << 16, and bit 63
 * (HWM_CENTRY_VALID) of w3 marks a valid entry. At creation the match mask
 * becomes four word masks (km[], with the valid bit) and the index mask
 * three (ixm[], the address being hashed as a page number), so comparing a
 * key is four AND/XOR pairs whatever fields a cache compares: an invalid
 * entry never matches because a key always carries the valid bit.
 */
#define HWM_CENTRY_VALID (1ull << 63)

struct hwm_cache_ref {
	uint32_t set, way;
	uint64_t seq;
};

struct hwm_cset {
	uint32_t lock; /* writers (fill, invalidate, counters) */
	uint32_t rr;
	uint64_t seq; /* seqcount: odd while a writer changes entries; 64-bit so that an
			  equal value means "no write since" (struct hwm_cache_ref) */
	uint64_t rng;
	uint64_t tick; /* LRU clock: relaxed atomics (lossy under contention, by design) */
	uint64_t hits, misses; /* relaxed atomics, bumped by lock-free readers */
	uint64_t fills, evictions, invalidations, dropped; /* under @lock */
} __attribute__((aligned(64)));

/*
 * An entry is accessed only as 64-bit words with relaxed atomics (readers
 * run without the lock, validated by the set's seqcount), so its layout is
 * a whole number of words: tag (4, the valid bit in the last), stamp, payload.
 */
struct hwm_centry {
	uint64_t tag[4];
	uint64_t stamp; /* LRU: set tick of the last use */
	uint64_t payload[];
};

struct hwm_cache {
	struct hwm_cache_config cfg;
	uint64_t km[4]; /* match mask as word masks (km[3] has the valid bit) */
	uint64_t ixm[4]; /* index mask as word masks, without the address */
	bool ix_addr; /* the page number is part of the index */
	uint8_t pw; /* the most selective compared word: tested first */
	uint32_t set_mask; /* sets - 1 */
	uint32_t ways;
	uint32_t pwords; /* payload words */
	size_t stride; /* bytes per entry */
	size_t set_stride; /* bytes per set: ways * stride */
	uint64_t shift_mask; /* atomic */
	struct hwm_cset *sets;
	unsigned char *entries;
};

static inline uint64_t hwm_ld_(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void hwm_st_(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void hwm_ctag_words(const struct hwm_ctag *t, uint64_t w[4])
{
	w[0] = t->addr;
	w[1] = t->sid | (uint64_t)t->pasid << 32;
	w[2] = t->domain | (uint64_t)t->vmid << 32 | (uint64_t)t->shift << 48 |
	       (uint64_t)t->level << 56;
	w[3] = t->kind | (uint64_t)t->flags << 8 | (uint64_t)t->pad << 16;
}

/*
 * The set of tag words @w0..@w3: the page number (addr >> shift) when the
 * address is indexed, so consecutive pages spread over consecutive sets,
 * plus a multiplicative mix of the other indexed fields. Scalars, not an
 * array: an array invites the compiler to assemble the key in vector
 * registers through the stack, on the critical path of every lookup.
 */
static inline __attribute__((always_inline)) uint32_t
hwm_cache_hash_(uint32_t set_mask, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3, uint64_t x1,
		uint64_t x2, uint64_t x3, bool ix_addr)
{
	uint64_t h = 0, ids, y2 = w2 & x2, y3 = w3 & x3;

	if (!set_mask)
		return 0;
	if (ix_addr) {
		unsigned sh = (w2 >> 48) & 0xff;
		h = sh < 64 ? w0 >> sh : 0;
	}
	/* one multiply on the path (the set feeds the entry loads that follow) */
	ids = (w1 & x1) + (y2 << 23 | y2 >> 41) + (y3 << 47 | y3 >> 17);
	ids *= 0x9e3779b97f4a7c15ull;
	h += ids ^ (ids >> 29);
	return (uint32_t)(h ^ (h >> 17)) & set_mask;
}

static inline uint32_t hwm_cache_set_of4_(const struct hwm_cache *c, uint64_t w0, uint64_t w1,
					  uint64_t w2, uint64_t w3)
{
	return hwm_cache_hash_(c->set_mask, w0, w1, w2, w3, c->ixm[1], c->ixm[2], c->ixm[3],
			       c->ix_addr);
}

static inline uint32_t hwm_cache_set_of_(const struct hwm_cache *c, const uint64_t w[4])
{
	return hwm_cache_set_of4_(c, w[0], w[1], w[2], w[3]);
}

static inline struct hwm_centry *hwm_cache_entry_(const struct hwm_cache *c, uint32_t set,
						  uint32_t way)
{
	return (struct hwm_centry *)(c->entries + (size_t)set * c->set_stride + way * c->stride);
}

/* Does entry @e match the masked key @k under the word masks @m? */
static inline bool hwm_centry_match_(const struct hwm_centry *e, const uint64_t *m,
				     const uint64_t *k)
{
	return !(((hwm_ld_(&e->tag[0]) & m[0]) ^ k[0]) | ((hwm_ld_(&e->tag[1]) & m[1]) ^ k[1]) |
		 ((hwm_ld_(&e->tag[2]) & m[2]) ^ k[2]) | ((hwm_ld_(&e->tag[3]) & m[3]) ^ k[3]));
}

bool hwm_cache_lookup_slow_(struct hwm_cache *c, const struct hwm_ctag *key, void *payload,
			    struct hwm_ctag *tag_out);
bool hwm_cache_fill_words_(struct hwm_cache *c, const uint64_t tag[4], const void *payload,
			   const uint64_t *epoch, uint64_t seen, struct hwm_ctag *evicted);
bool hwm_cache_fill_set_(struct hwm_cache *c, uint32_t si, const uint64_t t[4], const uint64_t *src,
			 const uint64_t *epoch, uint64_t seen, struct hwm_ctag *evicted);

/*
 * Tags are handed to the out-of-line code as words built here, not as the
 * struct: a caller typically has just written the struct with narrow stores,
 * and reading it back as words would stall store forwarding.
 */
static inline bool hwm_cache_fill(struct hwm_cache *c, const struct hwm_ctag *tag,
				  const void *payload, struct hwm_ctag *evicted)
{
	uint64_t w[4];

	hwm_ctag_words(tag, w);
	return hwm_cache_fill_words_(c, w, payload, NULL, 0, evicted);
}

/*
 * Lock-free lookup: scan the set's entries word by word with relaxed loads,
 * then validate with the seqcount; a writer in between makes us retry. The
 * LRU stamp and the hit/miss counters are updated with relaxed stores: a
 * lost update under contention perturbs LRU order or a counter by one, never
 * the correctness of a translation.
 */
/* Word masks of tag fields (constant-folded when @f is a constant). */
/*
 * The tag word a lookup compares first: the most selective one @match uses
 * (address, then SID/PASID, then domain/VMID/level).
 */
static inline unsigned hwm_primary_word_(uint32_t match)
{
	if (match & HWM_TAG_ADDR)
		return 0;
	if (match & (HWM_TAG_SID | HWM_TAG_PASID))
		return 1;
	if (match & (HWM_TAG_DOMAIN | HWM_TAG_VMID | HWM_TAG_LEVEL))
		return 2;
	return 3;
}

static inline uint64_t hwm_fmask_(uint32_t f, unsigned word)
{
	switch (word) {
	case 0:
		return (f & HWM_TAG_ADDR) ? ~0ull : 0;
	case 1:
		return ((f & HWM_TAG_SID) ? 0xffffffffull : 0) |
		       ((f & HWM_TAG_PASID) ? 0xffffffff00000000ull : 0);
	case 2:
		return ((f & HWM_TAG_DOMAIN) ? 0xffffffffull : 0) |
		       ((f & HWM_TAG_VMID) ? 0xffffull << 32 : 0) |
		       ((f & HWM_TAG_ADDR) ? 0xffull << 48 : 0) |
		       ((f & HWM_TAG_LEVEL) ? 0xffull << 56 : 0);
	default:
		return (f & HWM_TAG_KIND) ? 0xffull : 0;
	}
}

/*
 * The fields of a cache a lookup reads, loaded once by a caller that probes
 * it several times in a row (a walk-cache probe per level): the lookups'
 * atomic loads keep the compiler from reusing them across probes otherwise.
 */
struct hwm_cache_view {
	struct hwm_cset *sets;
	unsigned char *entries;
	size_t stride, set_stride;
	uint32_t ways, set_mask;
};

static inline struct hwm_cache_view hwm_cache_view(const struct hwm_cache *c)
{
	return (struct hwm_cache_view){ c->sets,       c->entries, c->stride,
					c->set_stride, c->ways,	   c->set_mask };
}

/*
 * One pass of a lookup over set @s (entries at @base): the most selective
 * word tested alone first, the payload of a match copied word by word.
 * Returns the matching entry or NULL, and false in *@ok when a writer was
 * in the set (odd seqcount, or it moved during the pass): the pass proves
 * nothing then and the caller retries. *@s0 is the seqcount the pass saw.
 */
static inline __attribute__((always_inline)) struct hwm_centry *
hwm_cache_scan_(struct hwm_cset *s, unsigned char *base, uint32_t ways, size_t stride,
		uint64_t *dst, size_t size, uint64_t m0, uint64_t m1, uint64_t m2, uint64_t m3,
		uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3, unsigned pw, uint32_t *way,
		uint64_t *s0, bool *ok)
{
	uint64_t mpw = pw == 0 ? m0 : pw == 1 ? m1 : pw == 2 ? m2 : m3;
	uint64_t kpw = pw == 0 ? k0 : pw == 1 ? k1 : pw == 2 ? k2 : k3;
	struct hwm_centry *hit = NULL;
	uint32_t w = 0;

	*s0 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
	if (__builtin_expect(*s0 & 1, 0)) {
		*ok = false;
		return NULL;
	}
	do { /* (ways >= 1) */
		struct hwm_centry *e = (struct hwm_centry *)(base + w * stride);

		if ((hwm_ld_(&e->tag[pw]) & mpw) != kpw)
			continue;
		/* the other words (a word no field of the mask lives in is not
		 * even loaded when the masks are constants) */
		if ((pw != 0 && m0 ? (hwm_ld_(&e->tag[0]) & m0) ^ k0 : 0) |
		    (pw != 1 && m1 ? (hwm_ld_(&e->tag[1]) & m1) ^ k1 : 0) |
		    (pw != 2 && m2 ? (hwm_ld_(&e->tag[2]) & m2) ^ k2 : 0) |
		    (pw != 3 ? (hwm_ld_(&e->tag[3]) & m3) ^ k3 : 0))
			continue;
#pragma GCC unroll 8
		for (size_t i = 0; i < size / 8; i++)
			dst[i] = hwm_ld_(&e->payload[i]);
		hit = e;
		*way = w;
		break;
	} while (++w < ways);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	*ok = __atomic_load_n(&s->seq, __ATOMIC_RELAXED) == *s0;
	return hit;
}

/* A lookup's accounting, once its pass is valid: LRU stamp and hit, or miss. */
static inline __attribute__((always_inline)) bool
hwm_cache_account_(struct hwm_cset *s, struct hwm_centry *hit, uint32_t si, uint32_t way,
		   uint64_t s0, struct hwm_cache_ref *ref)
{
	uint64_t tick;

	if (!hit) {
		hwm_st_(&s->misses, hwm_ld_(&s->misses) + 1);
		return false;
	}
	if (ref) {
		ref->set = si;
		ref->way = way;
		ref->seq = s0;
	}
	tick = hwm_ld_(&s->tick) + 1;
	hwm_st_(&s->tick, tick);
	hwm_st_(&hit->stamp, tick);
	hwm_st_(&s->hits, hwm_ld_(&s->hits) + 1);
	return true;
}

/*
 * The lookup when a pass met a writer: pass after pass over set @si until
 * one is valid. Out of line (rare), and handed the masked key as words, not
 * the key struct: a struct whose address escapes lives in memory, built
 * with narrow stores on every lookup.
 */
static __attribute__((noinline, cold)) bool
hwm_cache_get_retry_(struct hwm_cset *s, unsigned char *base, uint32_t ways, size_t stride,
		     uint32_t si, void *payload, size_t size, uint64_t m0, uint64_t m1, uint64_t m2,
		     uint64_t m3, uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3, unsigned pw,
		     struct hwm_cache_ref *ref)
{
	struct hwm_centry *hit;
	uint32_t way = 0;
	uint64_t s0;
	bool ok;

	for (;;) {
		hit = hwm_cache_scan_(s, base, ways, stride, payload, size, m0, m1, m2, m3, k0, k1,
				      k2, k3, pw, &way, &s0, &ok);
		if (ok)
			break;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	return hwm_cache_account_(s, hit, si, way, s0, ref);
}

/*
 * The lookup proper, for hwm_cache_get() (masks from the cache) and
 * hwm_cache_get_spec() (masks from constants): the key as four masked words
 * in registers, the set from the index fields, one pass over the set
 * validated by its seqcount (hwm_cache_get_retry_() when a writer was
 * there), then the accounting.
 */
static inline __attribute__((always_inline)) bool
hwm_cache_get_view_(const struct hwm_cache_view *c, const struct hwm_ctag *key, void *payload,
		    size_t size, uint64_t m0, uint64_t m1, uint64_t m2, uint64_t m3, uint64_t x1,
		    uint64_t x2, uint64_t x3, bool ix_addr, unsigned pw, struct hwm_cache_ref *ref)
{
	uint64_t w0 = key->addr, w1 = key->sid | (uint64_t)key->pasid << 32;
	uint64_t w2 = key->domain | (uint64_t)key->vmid << 32 | (uint64_t)key->shift << 48 |
		      (uint64_t)key->level << 56;
	uint64_t w3 = key->kind | (uint64_t)key->flags << 8 | (uint64_t)key->pad << 16;
	/* (a key matches valid entries only: the valid bit is in m3 and k3) */
	uint64_t k0 = w0 & m0, k1 = w1 & m1, k2 = w2 & m2, k3 = (w3 & m3) | HWM_CENTRY_VALID;
	uint32_t si = hwm_cache_hash_(c->set_mask, w0, w1, w2, w3, x1, x2, x3, ix_addr);
	struct hwm_cset *s = &c->sets[si];
	unsigned char *base = c->entries + (size_t)si * c->set_stride;
	struct hwm_centry *hit;
	uint32_t way = 0;
	uint64_t s0;
	bool ok;

	m3 |= HWM_CENTRY_VALID;
	hit = hwm_cache_scan_(s, base, c->ways, c->stride, payload, size, m0, m1, m2, m3, k0, k1,
			      k2, k3, pw, &way, &s0, &ok);
	if (__builtin_expect(!ok, 0))
		return hwm_cache_get_retry_(s, base, c->ways, c->stride, si, payload, size, m0, m1,
					    m2, m3, k0, k1, k2, k3, pw, ref);
	return hwm_cache_account_(s, hit, si, way, s0, ref);
}

static inline __attribute__((always_inline)) bool
hwm_cache_get_core_(struct hwm_cache *c, const struct hwm_ctag *key, void *payload, size_t size,
		    uint64_t m0, uint64_t m1, uint64_t m2, uint64_t m3, uint64_t x1, uint64_t x2,
		    uint64_t x3, bool ix_addr, unsigned pw, struct hwm_cache_ref *ref)
{
	struct hwm_cache_view cv = hwm_cache_view(c);

	return hwm_cache_get_view_(&cv, key, payload, size, m0, m1, m2, m3, x1, x2, x3, ix_addr, pw,
				   ref);
}

static inline __attribute__((always_inline)) bool
hwm_cache_get(struct hwm_cache *c, const struct hwm_ctag *key, void *payload, size_t size)
{
	if (__builtin_expect((size & 7) || ((uintptr_t)payload & 7), 0))
		return hwm_cache_lookup_slow_(c, key, payload, NULL);
	return hwm_cache_get_core_(c, key, payload, size, c->km[0], c->km[1], c->km[2],
				   c->km[3] & ~HWM_CENTRY_VALID, c->ixm[1], c->ixm[2], c->ixm[3],
				   c->ix_addr, c->pw, NULL);
}

/*
 * hwm_cache_get() for a cache created with match mask @match and index mask
 * @index, both compile-time constants at the call site: the masks, the set
 * hash and the first-tested word fold into the code. The same result as
 * hwm_cache_get(); the masks must be the ones the cache was created with.
 */
static inline __attribute__((always_inline)) bool
hwm_cache_get_spec_ref(struct hwm_cache *c, const struct hwm_ctag *key, void *payload, size_t size,
		       uint32_t match, uint32_t index, struct hwm_cache_ref *ref)
{
	/* (the masks are not compared here: that would cost as much as it saves;
	 * a vendor names the same constants when it creates the cache) */
	assert(!(size & 7) && !((uintptr_t)payload & 7));
	return hwm_cache_get_core_(c, key, payload, size, hwm_fmask_(match, 0),
				   hwm_fmask_(match, 1), hwm_fmask_(match, 2), hwm_fmask_(match, 3),
				   hwm_fmask_(index, 1), hwm_fmask_(index & ~HWM_TAG_ADDR, 2),
				   hwm_fmask_(index, 3), index & HWM_TAG_ADDR,
				   hwm_primary_word_(match), ref);
}

/* hwm_cache_get_spec() through a view loaded beforehand (several probes in a row). */
static inline __attribute__((always_inline)) bool
hwm_cache_get_spec_view(const struct hwm_cache_view *cv, const struct hwm_ctag *key, void *payload,
			size_t size, uint32_t match, uint32_t index)
{
	assert(!(size & 7) && !((uintptr_t)payload & 7));
	return hwm_cache_get_view_(cv, key, payload, size, hwm_fmask_(match, 0),
				   hwm_fmask_(match, 1), hwm_fmask_(match, 2), hwm_fmask_(match, 3),
				   hwm_fmask_(index, 1), hwm_fmask_(index & ~HWM_TAG_ADDR, 2),
				   hwm_fmask_(index, 3), index & HWM_TAG_ADDR,
				   hwm_primary_word_(match), NULL);
}

static inline __attribute__((always_inline)) bool hwm_cache_get_spec(struct hwm_cache *c,
								     const struct hwm_ctag *key,
								     void *payload, size_t size,
								     uint32_t match, uint32_t index)
{
	return hwm_cache_get_spec_ref(c, key, payload, size, match, index, NULL);
}

uint32_t hwm_cache_victim_(struct hwm_cache *c, uint32_t si);

/*
 * The core of every fill, under the set's lock: the tag words @w0..@w3 with
 * match word masks @m0..@m3 (constants for hwm_cache_fill_spec_since(), the
 * cache's own for the out-of-line fill), most selective word @pw, into set
 * @si: the way holding the same tag, else a free way, else the replacement
 * policy's victim; @size bytes of whole-word payload @src.
 *
 * The page size is published in the mask under the set lock, before the
 * entry is and before the epoch check: a lookup or invalidation that can
 * see the entry sees its size in the mask. Sequentially consistent, as are
 * the epoch bump and the epoch and mask loads of fills and
 * hwm_cache_inval_span(): of a fill publishing a new size and an
 * invalidation bumping the epoch, one sees the other's write (either the
 * fill is dropped or the invalidation visits the sets of that size); x86
 * emits the same instructions. hwm_cache_inval_all() clears the mask before
 * it sweeps the sets, so an entry whose bit a concurrent clear removed (its
 * fill saw the bit set just before) is in a set the sweep has yet to visit:
 * no valid entry outlives the sweep with its size missing from the mask.
 */
static inline __attribute__((always_inline)) bool
hwm_cache_fill_core_(struct hwm_cache *c, uint32_t si, uint64_t w0, uint64_t w1, uint64_t w2,
		     uint64_t w3, uint64_t m0, uint64_t m1, uint64_t m2, uint64_t m3, unsigned pw,
		     const uint64_t *src, size_t size, const uint64_t *epoch, uint64_t seen,
		     struct hwm_ctag *evicted)
{
	unsigned shift = (w2 >> 48) & 0xff;
	uint64_t k0 = w0 & m0, k1 = w1 & m1, k2 = w2 & m2;
	uint64_t k3 = (w3 & m3) | HWM_CENTRY_VALID, bit = 1ull << (shift < 63 ? shift : 63);
	uint64_t mpw = pw == 0 ? m0 : pw == 1 ? m1 : m2, kpw = pw == 0 ? k0 : pw == 1 ? k1 : k2;
	uint64_t tick, seq;
	uint32_t ways = c->ways;
	size_t stride = c->stride;
	struct hwm_cset *s = &c->sets[si];
	unsigned char *base = c->entries + (size_t)si * c->set_stride;
	struct hwm_centry *slot = NULL;
	bool ev = false;

	m3 |= HWM_CENTRY_VALID;
	while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&s->lock, __ATOMIC_RELAXED))
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#else
			;
#endif
	if (!(__atomic_load_n(&c->shift_mask, __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(&c->shift_mask, bit, __ATOMIC_SEQ_CST);
	/* under the lock: see "Invalidation epochs" above */
	if (epoch && __builtin_expect(__atomic_load_n(epoch, __ATOMIC_SEQ_CST) != seen, 0)) {
		s->dropped++;
		__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
		return false;
	}
	for (uint32_t w = 0; w < ways; w++) {
		struct hwm_centry *e = (struct hwm_centry *)(base + w * stride);
		uint64_t e3 = hwm_ld_(&e->tag[3]);

		if (!(e3 & HWM_CENTRY_VALID)) {
			if (!slot)
				slot = e;
			continue;
		}
		/* the most selective word alone first, as a lookup does */
		if (pw != 3 && (hwm_ld_(&e->tag[pw]) & mpw) != kpw)
			continue;
		if (!((m0 ? (hwm_ld_(&e->tag[0]) & m0) ^ k0 : 0) |
		      (m1 ? (hwm_ld_(&e->tag[1]) & m1) ^ k1 : 0) |
		      (m2 ? (hwm_ld_(&e->tag[2]) & m2) ^ k2 : 0) | ((e3 & m3) ^ k3))) {
			slot = e; /* same tag: refresh in place */
			break;
		}
	}
	if (!slot) {
		slot = (struct hwm_centry *)(base +
					     (ways == 1 ? 0 : hwm_cache_victim_(c, si) * stride));
		ev = true;
		s->evictions++;
		if (evicted) {
			uint64_t t3 = hwm_ld_(&slot->tag[3]), t2 = hwm_ld_(&slot->tag[2]),
				 t1 = hwm_ld_(&slot->tag[1]);
			*evicted = (struct hwm_ctag){ .addr = hwm_ld_(&slot->tag[0]),
						      .sid = (uint32_t)t1,
						      .pasid = (uint32_t)(t1 >> 32),
						      .domain = (uint32_t)t2,
						      .vmid = (uint16_t)(t2 >> 32),
						      .shift = (uint8_t)(t2 >> 48),
						      .level = (uint8_t)(t2 >> 56),
						      .kind = (uint8_t)t3,
						      .flags = (uint8_t)(t3 >> 8),
						      .pad = (uint16_t)(t3 >> 16) };
		}
	}
	/* writer side of the seqcount (odd while the entry changes; only we write it) */
	seq = s->seq;
	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	hwm_st_(&slot->tag[0], w0);
	hwm_st_(&slot->tag[1], w1);
	hwm_st_(&slot->tag[2], w2);
	hwm_st_(&slot->tag[3], w3 | HWM_CENTRY_VALID);
#pragma GCC unroll 8
	for (size_t i = 0; i < size / 8; i++)
		hwm_st_(&slot->payload[i], src[i]);
	tick = hwm_ld_(&s->tick) + 1;
	hwm_st_(&s->tick, tick);
	hwm_st_(&slot->stamp, tick);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
	s->fills++;
	__atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
	return ev;
}

/*
 * hwm_cache_fill() for a cache created with match mask @match and index mask
 * @index (compile-time constants, as for hwm_cache_get_spec) and a payload
 * of @size bytes, whole aligned words (the cache's payload size, a
 * constant): all inline, the tag words, masks and set folded with the
 * constants, the payload stores unrolled. The same result as
 * hwm_cache_fill() (same slot choice, counters, LRU order).
 */
static inline __attribute__((always_inline)) bool
hwm_cache_fill_spec_since(struct hwm_cache *c, const struct hwm_ctag *tag, const void *payload,
			  size_t size, uint32_t match, uint32_t index, const uint64_t *epoch,
			  uint64_t seen, struct hwm_ctag *evicted)
{
	uint64_t w0 = tag->addr, w1 = tag->sid | (uint64_t)tag->pasid << 32;
	uint64_t w2 = tag->domain | (uint64_t)tag->vmid << 32 | (uint64_t)tag->shift << 48 |
		      (uint64_t)tag->level << 56;
	uint64_t w3 = tag->kind | (uint64_t)tag->flags << 8 | (uint64_t)tag->pad << 16;
	uint32_t si = hwm_cache_hash_(c->set_mask, w0, w1, w2, w3, hwm_fmask_(index, 1),
				      hwm_fmask_(index & ~HWM_TAG_ADDR, 2), hwm_fmask_(index, 3),
				      index & HWM_TAG_ADDR);

	assert(!(size & 7) && !((uintptr_t)payload & 7));
	return hwm_cache_fill_core_(c, si, w0, w1, w2, w3, hwm_fmask_(match, 0),
				    hwm_fmask_(match, 1), hwm_fmask_(match, 2),
				    hwm_fmask_(match, 3), hwm_primary_word_(match), payload, size,
				    epoch, seen, evicted);
}

static inline __attribute__((always_inline)) bool
hwm_cache_fill_spec(struct hwm_cache *c, const struct hwm_ctag *tag, const void *payload,
		    size_t size, uint32_t match, uint32_t index, struct hwm_ctag *evicted)
{
	return hwm_cache_fill_spec_since(c, tag, payload, size, match, index, NULL, 0, evicted);
}

/*
 * A hit's reference: where the entry was and the set's seqcount then. While
 * the set's seqcount still has that value no writer has touched the set, so
 * the same lookup would find the same entry with the same payload: a caller
 * that remembered what it derived from the hit (a vendor's translation memo)
 * may reuse it, and account the hit with hwm_cache_ref_touch() exactly as a
 * lookup would have (LRU stamp, hit counter).
 */
static inline __attribute__((always_inline)) bool hwm_cache_ref_valid(const struct hwm_cache *c,
								      uint32_t set, uint64_t seq)
{
	return set <= c->set_mask && __atomic_load_n(&c->sets[set].seq, __ATOMIC_ACQUIRE) == seq;
}

static inline __attribute__((always_inline)) void hwm_cache_ref_touch(struct hwm_cache *c,
								      uint32_t set, uint32_t way)
{
	struct hwm_cset *s = &c->sets[set];
	uint64_t tick = hwm_ld_(&s->tick) + 1;

	hwm_st_(&s->tick, tick);
	hwm_st_(&hwm_cache_entry_(c, set, way)->stamp, tick);
	hwm_st_(&s->hits, hwm_ld_(&s->hits) + 1);
}

static inline uint64_t hwm_cache_shift_mask_(const struct hwm_cache *c)
{
	return __atomic_load_n(&c->shift_mask, __ATOMIC_RELAXED);
}

#endif /* HWM_CACHE_H */
