/* SPDX-License-Identifier: MIT */
/*
 * The VT-d model's private state and the spec's layouts, written from the
 * Intel VT-d Architecture Specification rev 3.4 (sections cited as "§").
 *
 * struct vtd: one remapping hardware unit.
 *  - Register state is guarded by @lock (a mutex: MMIO, queued invalidation,
 *    fault recording, page requests are the control path).
 *  - The translation path reads the handful of registers it needs (GSTS,
 *    the latched root-table address) with atomic loads and never takes @lock
 *    unless it records a fault. Caches have their own per-set locks.
 *  - Counters: those bumped under @lock or off the hot path are relaxed
 *    atomics; the per-walk ones (walks, walk_mem) use vtd_add_relaxed(),
 *    exact single-threaded, possibly lossy under concurrent walks.
 * Lock order: @lock, then any cache set lock (cache code takes nothing else).
 */
#ifndef VTD_INTERNAL_H
#define VTD_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <iommusim/fault.h>
#include <iommusim/hw.h>
#include <iommusim/hw_vtd.h>

#include "common/hwm_cache.h"
#include "common/hwm_cost.h"
#include "common/hwm_ring.h"

#define BIT(n) (1ull << (n))
#define GENMASK(h, l) ((~0ull >> (63 - (h))) & (~0ull << (l)))
#define FIELD(v, h, l) (((v)&GENMASK(h, l)) >> (l))

/* Registers, §11.4 (Table "Register offsets"). */
#define VTD_VER 0x00
#define VTD_CAP 0x08
#define VTD_ECAP 0x10
#define VTD_GCMD 0x18
#define VTD_GSTS 0x1c
#define VTD_RTADDR 0x20
#define VTD_CCMD 0x28
#define VTD_FSTS 0x34
#define VTD_FECTL 0x38
#define VTD_FEDATA 0x3c
#define VTD_FEADDR 0x40
#define VTD_FEUADDR 0x44
#define VTD_IQH 0x80
#define VTD_IQT 0x88
#define VTD_IQA 0x90
#define VTD_ICS 0x9c
#define VTD_IECTL 0xa0
#define VTD_IEDATA 0xa4
#define VTD_IEADDR 0xa8
#define VTD_IEUADDR 0xac
#define VTD_IQER 0xb0
#define VTD_PQH 0xc0
#define VTD_PQT 0xc8
#define VTD_PQA 0xd0
#define VTD_PRS 0xdc
#define VTD_PECTL 0xe0
#define VTD_PEDATA 0xe4
#define VTD_PEADDR 0xe8
#define VTD_PEUADDR 0xec
/* Our placement of the IOTLB and fault-recording registers (CAP.FRO, ECAP.IRO are x16). */
#define VTD_IRO_OFF 0x300 /* IVA_REG at +0, IOTLB_REG at +8 (§11.4.8) */
#define VTD_FRO_OFF 0x400 /* FRCD_REG i at +16*i (§11.4.14) */

/* GCMD/GSTS bits, §11.4.4/§11.4.5 */
#define GCMD_TE BIT(31)
#define GCMD_SRTP BIT(30)
#define GCMD_SFL BIT(29)
#define GCMD_EAFL BIT(28)
#define GCMD_WBF BIT(27)
#define GCMD_QIE BIT(26)
#define GCMD_IRE BIT(25)
#define GCMD_SIRTP BIT(24)
#define GCMD_CFI BIT(23)
/* Model-private, in a reserved GSTS bit (never read back by MMIO): a
 * "vtd.inval_delay" effect is pending (struct vtd, delay_armed). */
#define GSTS_DELAY_PENDING BIT(0)

/* RTADDR: TTM 11:10, 01 = scalable mode (§11.4.6) */
#define RTADDR_TTM_SHIFT 10

/* FSTS, §11.4.10 */
#define FSTS_PFO BIT(0)
#define FSTS_PPF BIT(1)
#define FSTS_IQE BIT(4)
#define FSTS_ICE BIT(5)
#define FSTS_ITE BIT(6)
#define FSTS_PRO BIT(7)
#define FSTS_RW1C (FSTS_PFO | FSTS_IQE | FSTS_ICE | FSTS_ITE | BIT(2) | BIT(3))
#define CTL_IM BIT(31) /* FECTL/IECTL/PECTL interrupt mask */
#define CTL_IP BIT(30) /* interrupt pending */

/* IQER.IQEI, §11.4.9.9 */
#define IQEI_TAIL_MISALIGNED 1
#define IQEI_FETCH_ERROR 2
#define IQEI_INVALID_TYPE 3
#define IQEI_RSVD_FIELD 4
#define IQEI_INVALID_WIDTH 5

/* Fault reasons, §7.1.3 (legacy 0x1-0xD, scalable 0x30 onwards). */
enum vtd_fr {
	FR_ROOT_NP = 0x1,
	FR_CTX_NP = 0x2,
	FR_CTX_INVALID = 0x3,
	FR_ADDR_BEYOND_MGAW = 0x4,
	FR_WRITE = 0x5,
	FR_READ = 0x6,
	FR_PTE_ACCESS = 0x7,
	FR_ROOT_ACCESS = 0x8,
	FR_CTX_ACCESS = 0x9,
	FR_ROOT_RSVD = 0xa,
	FR_CTX_RSVD = 0xb,
	FR_PTE_RSVD = 0xc,
	FR_TT_BLOCKED = 0xd,
	/* scalable mode */
	FR_SM_RTA_INVALID = 0x30,
	FR_SM_ROOT_ACCESS = 0x38,
	FR_SM_ROOT_NP = 0x39,
	FR_SM_ROOT_RSVD = 0x3a,
	FR_SM_CTX_ACCESS = 0x40,
	FR_SM_CTX_NP = 0x41,
	FR_SM_CTX_RSVD = 0x42,
	FR_SM_CTX_INVALID = 0x43,
	FR_SM_CTX_DTE = 0x44,
	FR_SM_CTX_PASIDE = 0x45,
	FR_SM_PASID_TOO_LARGE = 0x46,
	FR_SM_CTX_PRE = 0x47,
	FR_SM_RID_PASID = 0x48,
	FR_SM_PDIR_ACCESS = 0x50,
	FR_SM_PDIR_NP = 0x51,
	FR_SM_PDIR_RSVD = 0x52,
	FR_SM_PE_ACCESS = 0x58,
	FR_SM_PE_NP = 0x59,
	FR_SM_PE_RSVD = 0x5a,
	FR_SM_PE_INVALID = 0x5b,
	FR_SM_PE_ERE = 0x5c,
	FR_SM_PE_SRE = 0x5d,
	FR_FS_ACCESS = 0x70,
	FR_FS_NP = 0x71,
	FR_FS_RSVD = 0x72,
	FR_FS_PTR_INVALID = 0x73,
	FR_SS_ACCESS = 0x78,
	FR_SS_NP = 0x79,
	FR_SS_RSVD = 0x7a,
	FR_SS_PTR_INVALID = 0x7b,
	FR_FS_NONCANONICAL = 0x80,
	FR_FS_US = 0x81,
	FR_FS_XD = 0x82,
	FR_FS_BEYOND = 0x83,
	FR_SS_BEYOND = 0x84,
	FR_SM_WRITE = 0x85,
	FR_SM_READ = 0x86,
};

/*
 * Tag fields each cache compares (match) and hashes into its set index
 * (index), named once here for vtd_create() and the inline lookups
 * (hwm_cache_get_spec) alike. Indexes leave out what an invalidation may not
 * name, so page-selective invalidations visit only the sets of their pages:
 * the PASID in the IOTLB and walk cache (type 2 drops second-stage entries of
 * a DID for every PASID; a walk-cache entry's level follows from its size),
 * the PASID in device TLBs (type 3 names the SID only).
 */
#define VTD_IOTLB_MATCH (HWM_TAG_ADDR | HWM_TAG_DOMAIN | HWM_TAG_PASID)
#define VTD_IOTLB_INDEX (HWM_TAG_ADDR | HWM_TAG_DOMAIN)
#define VTD_CTX_MATCH HWM_TAG_SID
#define VTD_CTX_INDEX HWM_TAG_SID
#define VTD_PASIDC_MATCH (HWM_TAG_SID | HWM_TAG_PASID)
#define VTD_PASIDC_INDEX (HWM_TAG_SID | HWM_TAG_PASID)
#define VTD_PWC_MATCH (HWM_TAG_ADDR | HWM_TAG_DOMAIN | HWM_TAG_PASID | HWM_TAG_LEVEL | HWM_TAG_KIND)
#define VTD_PWC_INDEX (HWM_TAG_ADDR | HWM_TAG_DOMAIN)
#define VTD_DEVTLB_MATCH (HWM_TAG_ADDR | HWM_TAG_SID | HWM_TAG_PASID)
#define VTD_DEVTLB_INDEX (HWM_TAG_ADDR | HWM_TAG_SID)

/*
 * Cache payloads put what a translation needs first and what only the
 * protocol checker needs (the raw entries and where they live) last: a hit
 * copies just the hot prefix (VTD_*_HOT bytes) unless the checker is on.
 */

/* Decoded context (legacy or scalable) - the context cache payload. */
struct vtd_ctxi {
	uint64_t sslptr; /* legacy: second-stage table; scalable: PASID directory */
	uint16_t did; /* legacy */
	uint8_t levels; /* legacy: 3/4/5 */
	uint8_t tt; /* legacy TT */
	uint8_t scalable;
	uint8_t fpd, dte, paside;
	uint32_t rid_pasid; /* scalable */
	uint8_t pdts; /* scalable: directory has 2^(pdts+7) entries */
	uint8_t pre;
	/* checker only: */
	uint64_t raw[2]; /* qw0, qw1 as read */
	uint64_t entry_pa; /* address of the context entry */
};
#define VTD_CTXI_HOT offsetof(struct vtd_ctxi, raw)

/* PASID-granular translation types (PASID entry PGTT, §9.6). */
enum { PGTT_FS = 1, PGTT_SS = 2, PGTT_NESTED = 3, PGTT_PT = 4 };

/* Decoded PASID entry - the PASID cache payload. */
struct vtd_pei {
	uint64_t ssptr, fsptr;
	uint16_t did;
	uint8_t pgtt, sslevels, fslevels;
	uint8_t fpd, ssade, sre, wpe, nxe;
	/* checker only: */
	uint64_t raw[3];
	uint64_t entry_pa;
};
#define VTD_PEI_HOT offsetof(struct vtd_pei, raw)

/* IOTLB payload. kind: */
enum { IOTLB_KIND_SS = 0, IOTLB_KIND_FS = 1, IOTLB_KIND_NESTED = 2, IOTLB_KIND_NEG = 3 };

struct vtd_tlbe {
	uint64_t pa; /* output page base */
	uint32_t perms; /* HWM_ACC_* */
	uint16_t reason; /* negative entries: the fault reason */
	uint8_t dirty; /* D was set (or A/D not in use) */
	uint8_t kind; /* IOTLB_KIND_*, as in the tag: a hit needs no tag copy */
	/* checker only: */
	uint64_t pte; /* the leaf entry as read */
	uint64_t pte_pa; /* where it lives, 0 when unknown */
};
#define VTD_TLBE_HOT offsetof(struct vtd_tlbe, pte)
_Static_assert(offsetof(struct vtd_tlbe, perms) == 8 && offsetof(struct vtd_tlbe, reason) == 12 &&
		       offsetof(struct vtd_tlbe, dirty) == 14 &&
		       offsetof(struct vtd_tlbe, kind) == 15 && sizeof(struct vtd_tlbe) == 32,
	       "vtd_tlbe_words() knows this layout");

/*
 * An IOTLB payload as the four words a fill stores (little-endian layout of
 * struct vtd_tlbe): composed in registers from the narrow fields, because a
 * payload just written field by field and read back as words by the fill
 * waits for a failed store forward.
 */
static inline void vtd_tlbe_words(const struct vtd_tlbe *e, uint64_t w[4])
{
	w[0] = e->pa;
	w[1] = e->perms | (uint64_t)e->reason << 32 | (uint64_t)e->dirty << 48 |
	       (uint64_t)e->kind << 56;
	w[2] = e->pte;
	w[3] = e->pte_pa;
}
_Static_assert(!(VTD_CTXI_HOT % 8) && !(VTD_PEI_HOT % 8) && !(VTD_TLBE_HOT % 8),
	       "hot payload prefixes are whole words");

/* Paging-structure cache payload: a non-leaf entry at tag.level. */
struct vtd_pwce {
	uint64_t next; /* next-level table */
	uint64_t perms; /* bits 31:0 HWM_ACC_*, cumulative, including this entry (a whole
			      word: filled from registers, read back as words); bits 63:32
			      checker only: fingerprint of the page at @next when filled,
			      0 = none (the table-reuse rule; kept here so the payload and
			      the entry stride stay as small as without it) */
	/* checker only: */
	uint64_t entry; /* the entry as read */
	uint64_t entry_pa;
};
#define VTD_PWCE_HOT offsetof(struct vtd_pwce, entry)

/*
 * The translation memo (vtd_xlate.c): a direct-mapped table of recent
 * fast-path hits, by {RID, PASID, 4 KiB page}. A slot remembers where the
 * context, PASID and IOTLB lookups hit (struct hwm_cache_ref, packed) and
 * what the fast path derived from them; it is reused only while none of
 * those cache sets has been written since, and its use accounts the hits in
 * the caches exactly as the lookups would have. It is a simulator shortcut,
 * not a modelled structure: nothing observable depends on it but speed.
 * Words are relaxed atomics under a per-slot seqlock (writers claim it with
 * a compare-and-exchange and skip the update when it is taken).
 */
#define VTD_MEMO_SLOTS 64

struct vtd_memo {
	uint64_t seq; /* odd while written */
	uint64_t page; /* iova >> 12 */
	uint64_t id; /* rid | has_pasid << 32 | VALID (bit 63) */
	uint64_t pasid; /* the request's PASID, when it has one */
	uint64_t rta; /* the root-table address and mode it was made under */
	uint64_t ctx_ref, ctx_seq; /* set << 32 | way, the set's seqcount */
	uint64_t pasid_ref, pasid_seq; /* scalable mode */
	uint64_t tlb_ref, tlb_seq;
	uint64_t pa; /* output page base */
	uint64_t meta; /* perms | shift << 8 | kind << 16 | dirty << 24 |
				     hits << 32 | did << 40 */
	uint64_t pad[3];
};

struct vtd {
	struct hwm_iommu iommu;
	struct vtd_config cfg;
	struct hwm_bus bus;
	uint64_t cap, ecap;
	uint64_t haw_mask; /* address bits 51:12 below HAW */
	uint64_t rsvd_haw; /* bits 51:HAW, reserved in table entries */
	uint64_t beyond_mgaw; /* input address bits at and above MGAW */

	pthread_mutex_t lock;

	/* registers (under @lock unless noted) */
	uint32_t gsts; /* atomic loads from the data path */
	uint64_t rtaddr; /* as written */
	uint64_t rta_active; /* latched by SRTP; atomic loads from the data path */
	uint64_t ccmd, iva, iotlb_reg;
	uint32_t fsts, fectl, fedata, feaddr, feuaddr;
	uint64_t iqa, iqt_reg, iqer;
	uint32_t ics, iectl, iedata, ieaddr, ieuaddr;
	struct hwm_ring iq; /* head = IQH index, tail = IQT index */
	unsigned iq_shift; /* 4 for 128-bit, 5 for 256-bit descriptors */
	bool iq_stalled; /* a wait descriptor is being stalled (injection) */
	/* "vtd.inval_delay": the descriptor at IQH is held until the bus clock
	 * reaches @delay_until; its effect is applied then (by the queue or by
	 * the first translation after it, see vtd_qi_delay_due()), and it retires
	 * at the next processing. GSTS_DELAY_PENDING in @gsts = armed and effect
	 * not yet applied: the translation path tests the GSTS word it loads
	 * anyway, so an idle injection point costs it nothing. */
	bool delay_armed;
	unsigned delay_type;
	uint64_t delay_until, delay_desc[4];
	uint64_t pqa;
	struct hwm_ring pq;
	uint32_t prs, pectl, pedata, peaddr, peuaddr;
	uint64_t (*frcd)[2]; /* nfr fault records */
	uint32_t fr_next; /* next record hardware writes (§7.2.1) */

	struct hwm_cache *iotlb, *ctxc, *pasidc, *pwc, *devtlb;
	/* Invalidation epoch of all five caches (hwm_cache.h, "Invalidation
	 * epochs"): bumped by vtd_qi.c before any invalidation's effect; a
	 * translation reads it before its first lookup and fills only if it has
	 * not moved, so a walk in flight across an invalidation caches nothing. */
	uint64_t inval_epoch;
	/* The cost of an IOTLB hit after 1 (legacy) or 2 (scalable) cache hits,
	 * precomputed from cfg.cost: the fast path's whole cost accounting. */
	struct hwm_cost hit_cost[2];
	struct vtd_memo memo[VTD_MEMO_SLOTS];

	bool checker; /* atomic */
	/* counters (see the locking note above) */
	uint64_t translations, walks, walk_mem; /* vtd_add_relaxed() */
	uint64_t faults, faults_recorded, commands, injected;
	uint64_t checks[VTD_CHK__COUNT];
	uint64_t desc_by_type[16];
	uint64_t iqe, fault_overflows, prq, prq_ovf;
};

#define VTD_VENDOR "vtd"

static inline void vtd_count(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/*
 * A counter bumped without a read-modify-write: exact when its writers are
 * serialised (under @lock) or single-threaded, possibly lossy when
 * translations run concurrently (like the cache hit/miss counters). For the
 * per-walk counters, where a locked add would cost more than the walk step.
 */
static inline void vtd_add_relaxed(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* vtd.c */
void vtd_check(struct vtd *v, enum vtd_check_rule rule, uint32_t rid, uint64_t addr,
	       uint64_t value);
void vtd_record_fault(struct vtd *v, const struct hwm_req *req, uint32_t reason,
		      struct hwm_fault *f);
void vtd_fault_event_locked(struct vtd *v);
bool vtd_injected(struct vtd *v, const char *point, uint64_t addr);

/*
 * An injection point: true when the named hardware fault must happen now.
 * Inline so that a disarmed point costs a NULL test and one relaxed load.
 */
static inline bool vtd_inject(struct vtd *v, const char *point, uint64_t addr)
{
	if (__builtin_expect(!fault_should_fail(v->bus.fault, FAULT_CLASS_HW, point), 1))
		return false;
	return vtd_injected(v, point, addr);
}

/* vtd_qi.c */
long vtd_qi_process_locked(struct vtd *v, unsigned max);
void vtd_qi_delay_due(struct vtd *v) __attribute__((cold));
void vtd_qi_delay_flush_locked(struct vtd *v);
void vtd_inval_context(struct vtd *v, unsigned gran, uint16_t did, uint16_t sid, unsigned fm);
void vtd_inval_iotlb(struct vtd *v, unsigned gran, uint16_t did, uint64_t addr, unsigned am,
		     bool ih);

/* vtd_xlate.c */
int vtd_translate(struct hwm_iommu *iommu, const struct hwm_req *req, struct hwm_xlate *out);

#endif /* VTD_INTERNAL_H */
