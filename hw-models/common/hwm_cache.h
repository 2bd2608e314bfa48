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
 * by the domain id it stores); the set index is computed from those same
 * fields, so a lookup and the fill that preceded it land in the same set.
 * Replacement per set: LRU (a per-set tick stamped on each hit/fill),
 * round-robin (a per-set cursor) or random (a per-set xorshift generator
 * seeded from the configured seed and the set number: deterministic).
 *
 * Invariants: at most one valid entry per distinct masked tag per set (a
 * fill of an existing tag overwrites it in place); counters only grow.
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
	uint64_t addr;   /* input address, aligned to 2^shift (0 when unused) */
	uint32_t sid;    /* requester / stream id */
	uint32_t pasid;  /* PASID / substream id / ASID (HWM_PASID_NONE when absent) */
	uint32_t domain; /* domain id (VT-d DID, AMD DomainID, SMMU ASID) */
	uint16_t vmid;   /* SMMU VMID, AMD guest id */
	uint8_t shift;   /* log2 of the covered range: 12, 21, 30... */
	uint8_t level;   /* table level for walk caches */
	uint8_t kind;    /* vendor-defined entry kind (stage, negative entry...) */
	uint8_t flags;   /* vendor-defined, not compared (e.g. "global") */
	uint16_t pad;
};

struct hwm_cache_config {
	const char *name;      /* static string, for diagnostics */
	uint32_t sets;         /* power of two, >= 1 */
	uint32_t ways;         /* >= 1 */
	enum hwm_repl repl;
	uint64_t seed;         /* for HWM_REPL_RANDOM */
	uint32_t payload_size; /* bytes of payload per entry, <= 256 */
	uint32_t match;        /* HWM_TAG_* compared by lookups */
};

struct hwm_cache_counters {
	uint64_t hits, misses, fills, evictions, invalidations;
};

struct hwm_cache;

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
 * Insert @tag with @payload, replacing an entry with the same masked tag or,
 * when the set is full, a victim chosen by the replacement policy. Returns
 * true when a valid entry was evicted (its tag copied to @evicted if not NULL).
 */
bool hwm_cache_fill(struct hwm_cache *c, const struct hwm_ctag *tag, const void *payload,
		    struct hwm_ctag *evicted);

/* Invalidate every entry for which @pred returns true. Returns how many. */
typedef bool (*hwm_cache_pred)(const struct hwm_ctag *tag, const void *payload, void *arg);
size_t hwm_cache_inval(struct hwm_cache *c, hwm_cache_pred pred, void *arg);

size_t hwm_cache_inval_all(struct hwm_cache *c);

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
 * Bit s set when an entry with shift s may be valid (set by fills, cleared
 * only by hwm_cache_inval_all). Lets a multi-page-size IOTLB skip probes.
 */
uint64_t hwm_cache_shift_mask(const struct hwm_cache *c);

/* Do two tags match in the fields of @mask? (ADDR compares addr and shift.) */
bool hwm_ctag_match(const struct hwm_ctag *a, const struct hwm_ctag *b, uint32_t mask);

#endif /* HWM_CACHE_H */
