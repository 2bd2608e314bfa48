/* SPDX-License-Identifier: MIT */
/*
 * Invalidations that run while a walk is in flight (hw-models/common/
 * hwm_cache.h, "Invalidation epochs"). The builder's bus calls back after
 * the model has read a chosen entry; the callback plays the driver on
 * another CPU: it clears that entry (a leaf, a table pointer, a context
 * entry) and invalidates through the queue, waiting for completion. The walk
 * then goes on with what it read. Its own translation may give the old
 * mapping (it began before the invalidation, as a DMA in flight would), but
 * nothing it read may stay cached: the next translation must fault. Without
 * the epoch check the walk's fills land after the invalidation and the next
 * translation hits them. Each case runs with the checker off (the fast path)
 * and on (the general path).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "vtd_builder.h"

#define RID 0x0108
#define DID 3
#define IOVA 0x12345000ull
#define PA1 0x2000000ull

/* Descriptors (§6.5.2), written from the spec here. */
#define D_CC_GLOBAL (1ull | 1ull << 4)
#define D_IOTLB_PSI(did) (2ull | 3ull << 4 | (uint64_t)(did) << 16)
#define D_IOTLB_DSI(did) (2ull | 2ull << 4 | (uint64_t)(did) << 16)

struct race {
	uint64_t at; /* the entry whose read triggers the "driver" */
	uint64_t qw0, qw1; /* the invalidation it then queues */
	bool ctx; /* a context entry: also flush the IOTLB of the domain */
	unsigned fired;
};

/* The driver's side, run once, right after the walk read @at. */
static void driver_unmaps(struct vb *b, uint64_t pa, size_t len)
{
	struct race *r = b->hook_arg;

	/* the walk's own read of the entry, not the checker's fingerprint of its page */
	if (r->fired || pa != r->at || len > 16)
		return;
	r->fired++;
	vb_wr64(b, r->at, 0);
	vb_qi_put(b, r->qw0, r->qw1, true);
	if (r->ctx)
		vb_qi_put(b, D_IOTLB_DSI(DID), 0, true);
	vb_qi_wait(b, 0x5a, false);
	cr_assert_eq(vb_rd32(b, b->status), 0x5a, "the invalidation completed");
}

/* The address of the level-@level entry for @iova (4-level second stage). */
static uint64_t ss_entry(struct vb *b, uint64_t root, uint64_t iova, unsigned level)
{
	uint64_t table = root;

	for (unsigned l = 4;; l--) {
		uint64_t pa = table + ((iova >> (12 + 9 * (l - 1))) & 511) * 8;
		if (l == level)
			return pa;
		table = vb_rd64(b, pa) & 0x000ffffffffff000ull;
		cr_assert(table, "no table at level %u", l - 1);
	}
}

static struct vtd_stats stats(struct vb *b)
{
	struct vtd_stats s;

	cr_assert_eq(vtd_get_stats(b->iommu, &s), 0);
	return s;
}

enum target { T_LEAF, T_TABLE, T_CONTEXT };

/*
 * One race: map IOVA and the next page (same level-1 table), translate IOVA
 * with the driver stepping in after the read of @t, then translate both
 * pages again: both must fault. Returns the stats afterwards.
 */
static struct vtd_stats run_race(bool checker, enum target t)
{
	struct vtd_config cfg = vb_config();
	struct race r = { 0 };
	struct hwm_xlate x;
	struct vtd_stats s;
	struct vb_dev d;
	uint64_t leaf;
	struct vb b;

	cfg.checker = checker;
	vb_init(&b, &cfg, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	leaf = vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	vb_ss_map(&b, d.ss_root, 4, IOVA + 0x1000, PA1 + 0x1000, 1, SS_R | SS_W);
	switch (t) {
	case T_LEAF:
		r = (struct race){ .at = leaf, .qw0 = D_IOTLB_PSI(DID), .qw1 = IOVA };
		break;
	case T_TABLE: /* the level-2 entry pointing at the level-1 table */
		r = (struct race){ .at = ss_entry(&b, d.ss_root, IOVA, 2),
				   .qw0 = D_IOTLB_DSI(DID) };
		break;
	case T_CONTEXT:
		r = (struct race){ .at = d.ctx, .qw0 = D_CC_GLOBAL, .ctx = true };
		break;
	}
	b.after_read = driver_unmaps;
	b.hook_arg = &r;

	x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_assert_eq(r.fired, 1, "the walk never read the entry at %#llx",
		     (unsigned long long)r.at);
	/* began before the invalidation: the old mapping is an allowed answer */
	cr_assert_eq(x.status, HWM_XLATE_OK, "checker %d target %d: reason %#x", checker, t,
		     x.fault.reason);
	cr_assert_eq(x.pa, PA1);

	x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
	cr_expect_neq(x.status, HWM_XLATE_OK,
		      "checker %d target %d: IOVA still translates (to %#llx) after the "
		      "invalidation completed",
		      checker, t, (unsigned long long)x.pa);
	if (t != T_LEAF) {
		/* the neighbour was never translated: only a stale walk cache finds it */
		x = vb_xlate(&b, RID, IOVA + 0x1000, HWM_ACC_READ);
		cr_expect_neq(x.status, HWM_XLATE_OK,
			      "checker %d target %d: a walk cache kept the unlinked %s", checker, t,
			      t == T_TABLE ? "table" : "context");
	}
	s = stats(&b);
	vb_fini(&b);
	return s;
}

Test(vtd_inflight, leaf_cleared_during_walk)
{
	for (int checker = 0; checker < 2; checker++) {
		struct vtd_stats s = run_race(checker, T_LEAF);
		cr_expect_eq(s.iotlb.fills_dropped, 1, "checker %d: %llu IOTLB fills dropped",
			     checker, (unsigned long long)s.iotlb.fills_dropped);
	}
}

Test(vtd_inflight, table_unlinked_during_walk)
{
	for (int checker = 0; checker < 2; checker++) {
		struct vtd_stats s = run_race(checker, T_TABLE);
		/* the level-2 entry's own fill and everything after it */
		cr_expect_geq(s.pwc.fills_dropped, 1, "checker %d", checker);
		cr_expect_eq(s.iotlb.fills_dropped, 1, "checker %d", checker);
	}
}

Test(vtd_inflight, context_cleared_during_fetch)
{
	for (int checker = 0; checker < 2; checker++) {
		struct vtd_stats s = run_race(checker, T_CONTEXT);
		cr_expect_eq(s.ctx.fills_dropped, 1, "checker %d", checker);
	}
}

/* Without a race nothing is dropped: single-threaded runs stay exact. */
Test(vtd_inflight, no_race_no_drop)
{
	struct vtd_config cfg = vb_config();
	struct vtd_stats s;
	struct hwm_xlate x;
	struct vb_dev d;
	struct vb b;

	vb_init(&b, &cfg, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	vb_ss_map(&b, d.ss_root, 4, IOVA, PA1, 1, SS_R | SS_W);
	for (int i = 0; i < 3; i++) {
		x = vb_xlate(&b, RID, IOVA, HWM_ACC_READ);
		cr_assert_eq(x.pa, PA1);
		vb_qi_put(&b, D_IOTLB_DSI(DID), 0, true);
	}
	s = stats(&b);
	cr_expect_eq(s.iotlb.fills, 3);
	cr_expect_eq(s.iotlb.fills_dropped + s.pwc.fills_dropped + s.ctx.fills_dropped, 0);
	vb_fini(&b);
}
