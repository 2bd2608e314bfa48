/* SPDX-License-Identifier: MIT */
/*
 * The fast path and the translation memo against the general path.
 *
 * With the protocol checker off, vtd_translate() serves common requests from
 * a fast path (hot payload prefixes, cost from constants) and a memo of
 * recent hits; with it on, every request takes the general path. Neither may
 * change what the model does. Each scenario below is a fixed script of
 * structure edits, invalidations and requests (legacy and scalable mode,
 * every translation type, A/D, caching mode, ATS, faults, tiny caches with
 * evictions); it is run twice, checker off and on, and everything observable
 * is compared: each result (status, address, size, permissions, cost, fault
 * record), the fault registers, the final statistics (checker counters
 * aside) and the whole of simulated memory (A/D bits written by the walks).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "vtd_builder.h"

#define RID_A 0x0108
#define RID_B 0x0110
#define RID_PT 0x0118
#define RID_DT 0x0120
#define DID 3
#define DID2 4
#define MAXR 1024

struct run {
	struct hwm_xlate x[MAXR + 1];
	uint64_t frec[MAXR + 1][2];
	int fr[MAXR + 1];
	unsigned n;
	struct vtd_stats st;
};

static void one(struct vb *b, struct run *r, const struct hwm_req *req)
{
	cr_assert_lt(r->n, MAXR);
	memset(&r->x[r->n], 0xa5, sizeof(r->x[r->n])); /* the model must fill what it uses */
	cr_assert_eq(hwm_translate(b->iommu, req, &r->x[r->n]), 0);
	if (r->x[r->n].status == HWM_XLATE_OK)
		memset(&r->x[r->n].fault, 0, sizeof(r->x[r->n].fault));
	r->fr[r->n] = vb_pop_fault(b, r->frec[r->n]);
	r->n++;
}

static void req(struct vb *b, struct run *r, uint32_t rid, uint64_t iova, uint32_t acc)
{
	struct hwm_req q = { .rid = rid, .iova = iova, .access = acc };
	one(b, r, &q);
}

static void req_pasid(struct vb *b, struct run *r, uint32_t rid, uint32_t pasid, uint64_t iova,
		      uint32_t acc)
{
	struct hwm_req q = {
		.rid = rid, .pasid = pasid, .has_pasid = true, .iova = iova, .access = acc
	};
	one(b, r, &q);
}

static void req_ats(struct vb *b, struct run *r, uint32_t rid, uint64_t iova, uint32_t acc)
{
	struct hwm_req q = { .rid = rid, .iova = iova, .access = acc, .ats = true };
	one(b, r, &q);
}

#define R HWM_ACC_READ
#define W HWM_ACC_WRITE
#define X HWM_ACC_EXEC
#define P HWM_ACC_PRIV
#define D_IOTLB_PSI(did) (2ull | 3ull << 4 | (uint64_t)(did) << 16)
#define D_IOTLB_DSI(did) (2ull | 2ull << 4 | (uint64_t)(did) << 16)
#define D_CC_GLOBAL (1ull | 1ull << 4)
#define D_PC_GLOBAL (7ull | 3ull << 4)
#define D_PIOTLB_PSI(did, pasid) \
	(6ull | 3ull << 4 | (uint64_t)(did) << 16 | (uint64_t)(pasid) << 32)
#define D_DEVTLB(sid) (3ull | (uint64_t)(sid) << 32)

static const uint32_t accs[] = { R, W, R | W, X, R | P, W | P };

/* Legacy mode: 4 KiB / 2 MiB / 1 GiB pages, read-only and write-only pages, TT=2 and TT=1. */
static void scenario_legacy(const struct vtd_config *cfg, struct run *r)
{
	struct vb b;
	struct vb_dev a, bb, pt, dt;
	uint64_t l4k, l2m;

	vb_init(&b, cfg, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID_A, DID, 4, 0, &a);
	vb_ctx_legacy(&b, RID_B, DID2, 3, 0, &bb);
	vb_ctx_legacy(&b, RID_PT, DID, 4, 2, &pt);
	vb_ctx_legacy(&b, RID_DT, DID2, 4, 1, &dt);
	l4k = vb_ss_map(&b, a.ss_root, 4, 0x10000, 0x2000000, 1, SS_R | SS_W);
	vb_ss_map(&b, a.ss_root, 4, 0x11000, 0x2001000, 1, SS_R);
	vb_ss_map(&b, a.ss_root, 4, 0x12000, 0x2002000, 1, SS_W);
	l2m = vb_ss_map(&b, a.ss_root, 4, 0x40000000, 0x2200000, 2, SS_R | SS_W);
	vb_ss_map(&b, a.ss_root, 4, 0x80000000, 0x40000000, 3, SS_R | SS_W);
	vb_ss_map(&b, bb.ss_root, 3, 0x10000, 0x2010000, 1, SS_R | SS_W);
	vb_ss_map(&b, dt.ss_root, 4, 0x10000, 0x2020000, 1, SS_R | SS_W);
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < sizeof(accs) / sizeof(accs[0]); i++) {
			req(&b, r, RID_A, 0x10000 + 0x10, accs[i]);
			req(&b, r, RID_A, 0x11008, accs[i]);
			req(&b, r, RID_A, 0x12000, accs[i]);
			req(&b, r, RID_A, 0x40123456, accs[i]);
			req(&b, r, RID_A, 0x87654321, accs[i]);
			req(&b, r, RID_A, 0x13000, accs[i]); /* unmapped */
			req(&b, r, RID_B, 0x10abc, accs[i]);
			req(&b, r, RID_B, 1ull << 40, accs[i]); /* beyond the 3-level width */
			req(&b, r, RID_PT, 0x777000, accs[i]);
			req(&b, r, RID_DT, 0x10000, accs[i]);
			req(&b, r, 0x0901, 0x10000, accs[i]); /* no root entry */
		}
		req_ats(&b, r, RID_DT, 0x10000, R);
		req_ats(&b, r, RID_DT, 0x10000, R | W);
		req_ats(&b, r, RID_DT, 0x11000, R);
		req_ats(&b, r, RID_A, 0x10000, R); /* TT=0: ATS blocked */
		if (round == 0) {
			/* remap with the required invalidations */
			vb_wr64(&b, l4k, 0x2100000 | SS_R | SS_W);
			vb_qi_put(&b, D_IOTLB_PSI(DID), 0x10000, true);
			vb_qi_wait(&b, 1, false);
			vb_wr64(&b, l2m, 0x2400000 | SS_R | SS_PS);
			vb_qi_put(&b, D_IOTLB_DSI(DID), 0, true);
			vb_qi_put(&b, D_DEVTLB(RID_DT), 0x10000, true);
		} else if (round == 1) {
			/* a stale use: the page changes without invalidation (served stale) */
			vb_wr64(&b, l4k, 0x2300000 | SS_R);
			/* a context-cache invalidation: contexts are fetched again */
			vb_qi_put(&b, D_CC_GLOBAL, 0, true);
		}
	}
	vb_qi_wait(&b, 2, false);
	cr_assert_eq(vtd_get_stats(b.iommu, &r->st), 0);
	memset(r->st.checker, 0, sizeof(r->st.checker));
	r->st.common.checker_warnings = 0;
	r->x[r->n].pa = vb_rd64(&b, l4k); /* the A/D state of a leaf the walks updated */
	r->frec[r->n][0] = vb_rd64(&b, l2m);
	r->frec[r->n][1] = vb_reg(&b, R_FSTS, 4);
	vb_fini(&b);
}

/* Scalable mode: PGTT SS with SSADE, FS 4- and 5-level, nested, pass-through. */
static void scenario_scalable(const struct vtd_config *cfg, struct run *r)
{
	struct vb b;
	struct vb_dev d, ss, fs, fs5, nest, ptd;
	uint64_t l_ss, l_fs;

	vb_init(&b, cfg, true);
	vb_enable(&b);
	vb_ctx_sm(&b, RID_A, 0, 0, VB_CTX_PASIDE | VB_CTX_DTE, &d);
	ss = d;
	vb_pasid(&b, &ss, 0, PGTT_SS, DID, 4, 0, VB_PE_SSADE);
	fs = d;
	vb_pasid(&b, &fs, 5, PGTT_FS, DID2, 0, 4, VB_PE_SRE | VB_PE_NXE);
	fs5 = d;
	vb_pasid(&b, &fs5, 6, PGTT_FS, DID2, 0, 5, VB_PE_WPE);
	nest = d;
	vb_pasid(&b, &nest, 7, PGTT_NEST, DID, 4, 4, VB_PE_SRE);
	ptd = d;
	vb_pasid(&b, &ptd, 8, PGTT_PT, DID, 0, 0, 0);
	l_ss = vb_ss_map(&b, ss.ss_root, 4, 0x10000, 0x2000000, 1, SS_R | SS_W);
	vb_ss_map(&b, ss.ss_root, 4, 0x200000, 0x2200000, 2, SS_R);
	l_fs = vb_fs_map(&b, fs.fs_root, 4, 0x10000, 0x2100000, 1, FS_P | FS_RW | FS_US);
	vb_fs_map(&b, fs.fs_root, 4, 0x11000, 0x2101000, 1, FS_P | FS_US | FS_XD);
	vb_fs_map(&b, fs.fs_root, 4, 0x12000, 0x2102000, 1, FS_P | FS_RW);
	vb_fs_map(&b, fs.fs_root, 4, 0x40000000, 0x40000000, 3, FS_P | FS_RW | FS_US);
	vb_fs_map(&b, fs5.fs_root, 5, 1ull << 50, 0x2300000, 1, FS_P | FS_US);
	vb_fs_map(&b, nest.fs_root, 4, 0x10000, 0x2400000, 1, FS_P | FS_RW | FS_US);
	for (uint64_t g = 0; g < 8; g++)
		vb_ss_map(&b, nest.ss_root, 4, g << 30, g << 30, 3, SS_R | SS_W);
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < sizeof(accs) / sizeof(accs[0]); i++) {
			req(&b, r, RID_A, 0x10010, accs[i]);
			req(&b, r, RID_A, 0x201000, accs[i]);
			req_pasid(&b, r, RID_A, 5, 0x10010, accs[i]);
			req_pasid(&b, r, RID_A, 5, 0x11000, accs[i]);
			req_pasid(&b, r, RID_A, 5, 0x12000, accs[i]);
			req_pasid(&b, r, RID_A, 5, 0x40001000, accs[i]);
			req_pasid(&b, r, RID_A, 5, 0x800000000000ull, accs[i]); /* non-canonical */
			req_pasid(&b, r, RID_A, 6, (1ull << 50) | 0x123, accs[i]);
			req_pasid(&b, r, RID_A, 7, 0x10020, accs[i]);
			req_pasid(&b, r, RID_A, 8, 0x5000, accs[i]);
			req_pasid(&b, r, RID_A, 9, 0x5000, accs[i]); /* PASID entry not present */
		}
		req_ats(&b, r, RID_A, 0x10000, R);
		req_ats(&b, r, RID_A, 0x10000, R | W);
		if (round == 0) {
			vb_wr64(&b, l_fs, 0x2500000 | FS_P | FS_RW | FS_US);
			vb_qi_put(&b, D_PIOTLB_PSI(DID2, 5), 0x10000, true);
			vb_wr64(&b, l_ss, 0x2600000 | SS_R | SS_W);
			vb_qi_put(&b, D_IOTLB_PSI(DID), 0x10000, true);
			vb_qi_put(&b, D_DEVTLB(RID_A), 0x10000, true);
			vb_qi_wait(&b, 1, false);
		} else if (round == 1) {
			/* PASID 5 loses its entry; the PASID cache is invalidated */
			vb_wr64(&b, fs.pe, 0);
			vb_qi_put(&b, D_PC_GLOBAL, 0, true);
		}
	}
	cr_assert_eq(vtd_get_stats(b.iommu, &r->st), 0);
	memset(r->st.checker, 0, sizeof(r->st.checker));
	r->st.common.checker_warnings = 0;
	r->x[r->n].pa = vb_rd64(&b, l_ss);
	r->frec[r->n][0] = vb_rd64(&b, l_fs);
	r->frec[r->n][1] = vb_reg(&b, R_FSTS, 4);
	vb_fini(&b);
}

static void compare(const struct run *off, const struct run *on, const char *what)
{
	cr_assert_eq(off->n, on->n);
	for (unsigned i = 0; i <= off->n; i++) {
		const struct hwm_xlate *a = &off->x[i], *c = &on->x[i];
		if (i == off->n) { /* the final memory words and FSTS */
			cr_expect_eq(a->pa, c->pa, "%s: leaf after the run", what);
			cr_expect_eq(off->frec[i][0], on->frec[i][0], "%s: second leaf", what);
			cr_expect_eq(off->frec[i][1], on->frec[i][1], "%s: FSTS", what);
			break;
		}
		cr_expect_eq(a->status, c->status, "%s #%u status", what, i);
		cr_expect_eq(a->pa, c->pa, "%s #%u pa %#llx vs %#llx", what, i,
			     (unsigned long long)a->pa, (unsigned long long)c->pa);
		cr_expect_eq(a->page_size, c->page_size, "%s #%u size", what, i);
		cr_expect_eq(a->perms, c->perms, "%s #%u perms", what, i);
		cr_expect(!memcmp(&a->cost, &c->cost, sizeof(a->cost)),
			  "%s #%u cost: %u/%u/%u %llu vs %u/%u/%u %llu", what, i,
			  a->cost.mem_accesses, a->cost.cache_hits, a->cost.iotlb_hits,
			  (unsigned long long)a->cost.ns, c->cost.mem_accesses, c->cost.cache_hits,
			  c->cost.iotlb_hits, (unsigned long long)c->cost.ns);
		cr_expect(!memcmp(&a->fault, &c->fault, sizeof(a->fault)),
			  "%s #%u fault (%u vs %u)", what, i, a->fault.reason, c->fault.reason);
		cr_expect_eq(off->fr[i], on->fr[i], "%s #%u recorded reason", what, i);
		if (off->fr[i] >= 0)
			cr_expect(!memcmp(off->frec[i], on->frec[i], 16), "%s #%u record", what, i);
	}
	cr_expect(
		!memcmp(&off->st, &on->st, sizeof(off->st)),
		"%s: statistics differ (iotlb hits %llu/%llu, walks %llu/%llu, ctx hits %llu/%llu)",
		what, (unsigned long long)off->st.iotlb.hits, (unsigned long long)on->st.iotlb.hits,
		(unsigned long long)off->st.common.walks, (unsigned long long)on->st.common.walks,
		(unsigned long long)off->st.ctx.hits, (unsigned long long)on->st.ctx.hits);
}

static struct run r_off, r_on;

static void both(void (*scn)(const struct vtd_config *, struct run *), struct vtd_config cfg,
		 const char *what)
{
	memset(&r_off, 0, sizeof(r_off));
	memset(&r_on, 0, sizeof(r_on));
	cfg.checker = false;
	scn(&cfg, &r_off);
	cfg.checker = true;
	scn(&cfg, &r_on);
	compare(&r_off, &r_on, what);
	/* the scripts do reach the fast path's cases: hits, walks, faults */
	cr_assert_gt(r_off.st.iotlb.hits, 5);
	cr_assert_gt(r_off.st.common.walks, 10);
	cr_assert_gt(r_off.st.common.faults, 10);
}

Test(vtd_fastpath, legacy_default_caches)
{
	both(scenario_legacy, vb_config(), "legacy");
}

Test(vtd_fastpath, legacy_tiny_caches_random_replacement)
{
	struct vtd_config c = vb_config();
	c.iotlb = (struct hwm_cache_geom){ 2, 2, HWM_REPL_RANDOM };
	c.ctx = (struct hwm_cache_geom){ 1, 2, HWM_REPL_RR };
	c.pwc = (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU };
	c.devtlb = (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU };
	both(scenario_legacy, c, "legacy tiny");
}

Test(vtd_fastpath, legacy_caching_mode)
{
	struct vtd_config c = vb_config();
	c.cm = true;
	both(scenario_legacy, c, "legacy CM");
}

Test(vtd_fastpath, scalable_default_caches)
{
	both(scenario_scalable, vb_config(), "scalable");
}

Test(vtd_fastpath, scalable_tiny_caches)
{
	struct vtd_config c = vb_config();
	c.iotlb = (struct hwm_cache_geom){ 1, 3, HWM_REPL_LRU };
	c.pasid_c = (struct hwm_cache_geom){ 1, 1, HWM_REPL_LRU };
	c.pwc = (struct hwm_cache_geom){ 2, 1, HWM_REPL_RR };
	c.cm = true;
	both(scenario_scalable, c, "scalable tiny");
}

/* The memo serves a repeated hit, and never past a write to any set it relied on. */
Test(vtd_fastpath, memo_follows_invalidations_and_fills)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf;
	struct vtd_stats s0, s1;
	struct hwm_xlate x;

	cfg.checker = false;
	cfg.iotlb = (struct hwm_cache_geom){ 1, 2, HWM_REPL_LRU };
	vb_init(&b, &cfg, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID_A, DID, 4, 0, &d);
	leaf = vb_ss_map(&b, d.ss_root, 4, 0x10000, 0x2000000, 1, SS_R | SS_W);
	vb_ss_map(&b, d.ss_root, 4, 0x20000, 0x2100000, 1, SS_R | SS_W);
	vb_ss_map(&b, d.ss_root, 4, 0x30000, 0x2200000, 1, SS_R | SS_W);
	cr_assert_eq(vb_xlate(&b, RID_A, 0x10000, R).pa, 0x2000000);
	cr_assert_eq(vb_xlate(&b, RID_A, 0x10008, R).pa, 0x2000008); /* fast hit: memo filled */
	vtd_get_stats(b.iommu, &s0);
	x = vb_xlate(&b, RID_A, 0x10010, R); /* memo hit: accounted like a lookup */
	vtd_get_stats(b.iommu, &s1);
	cr_assert_eq(x.pa, 0x2000010);
	cr_assert_eq(x.cost.iotlb_hits, 1);
	cr_assert_eq(x.cost.cache_hits, 1);
	cr_assert_eq(s1.iotlb.hits, s0.iotlb.hits + 1);
	cr_assert_eq(s1.ctx.hits, s0.ctx.hits + 1);
	/* a remap + invalidation: the set changed, the memo is not used */
	vb_wr64(&b, leaf, 0x2300000 | SS_R | SS_W);
	vb_qi_put(&b, D_IOTLB_PSI(DID), 0x10000, true);
	cr_assert_eq(vb_xlate(&b, RID_A, 0x10000, R).pa, 0x2300000);
	cr_assert_eq(vb_xlate(&b, RID_A, 0x10000, R).pa, 0x2300000);
	/* fills evict it (2-way IOTLB): the next use walks, as without the memo */
	vb_xlate(&b, RID_A, 0x20000, R);
	vb_xlate(&b, RID_A, 0x30000, R);
	vtd_get_stats(b.iommu, &s0);
	x = vb_xlate(&b, RID_A, 0x10000, R);
	cr_assert_eq(x.pa, 0x2300000);
	cr_assert_eq(x.cost.iotlb_hits, 0, "evicted: a walk");
	cr_assert_gt(x.cost.mem_accesses, 0);
	/* a write to a page read so far is not served from a read's memo when not dirty-able */
	x = vb_xlate(&b, RID_A, 0x10000, W);
	cr_assert_eq(x.status, HWM_XLATE_OK);
	/* TE off: untranslated even with a memo */
	vb_wreg(&b, R_GCMD, 4, (uint32_t)vb_reg(&b, R_GSTS, 4) & 0x96ffffffu & ~(1u << 31));
	x = vb_xlate(&b, RID_A, 0x10000, R);
	cr_assert_eq(x.pa, 0x10000);
	vb_fini(&b);
}

/* Translations racing invalidations and fills: every answer is one a serial order allows. */
struct race {
	struct vb *b;
	volatile int stop;
	unsigned bad;
};

static void *racer(void *arg)
{
	struct race *rc = arg;
	for (unsigned i = 0; !rc->stop && i < 200000; i++) {
		uint64_t off = (i % 4) * 0x1000;
		struct hwm_req q = { .rid = RID_A, .iova = 0x10000 + off, .access = R };
		struct hwm_xlate x;
		if (hwm_translate(rc->b->iommu, &q, &x) || x.status != HWM_XLATE_OK ||
		    (x.pa != 0x2000000 + off && x.pa != 0x4000000 + off))
			__atomic_add_fetch(&rc->bad, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Defined in programs built with gcov instrumentation (--coverage). */
extern void __gcov_merge_add(void) __attribute__((weak));

Test(vtd_fastpath, concurrent_translations_and_invalidations)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t leaf[4];
	struct race rc = { .b = &b };
	pthread_t t[2];

	/* gcov's counters are not atomic: racing threads would corrupt the report */
	if (__gcov_merge_add)
		cr_skip_test("not under gcov");
	cfg.checker = false;
	cfg.iotlb = (struct hwm_cache_geom){ 1, 4, HWM_REPL_LRU };
	vb_init(&b, &cfg, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID_A, DID, 4, 0, &d);
	for (int i = 0; i < 4; i++)
		leaf[i] = vb_ss_map(&b, d.ss_root, 4, 0x10000 + i * 0x1000, 0x2000000 + i * 0x1000,
				    1, SS_R | SS_W);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, racer, &rc), 0);
	/* flip the pages between two backing regions, invalidating each time */
	for (int k = 0; k < 2000; k++) {
		uint64_t base = (k & 1) ? 0x4000000 : 0x2000000;
		for (int i = 0; i < 4; i++)
			__atomic_store_n((uint64_t *)(b.mem + leaf[i]),
					 (base + i * 0x1000) | SS_R | SS_W, __ATOMIC_RELAXED);
		vb_qi_put(&b, D_IOTLB_DSI(DID), 0, true);
	}
	rc.stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(rc.bad, 0, "%u translations were neither mapping", rc.bad);
	vb_fini(&b);
}
