/* SPDX-License-Identifier: MIT */
/*
 * Table-driven translation vectors for the VT-d model: each case names the
 * mode (legacy / scalable), the format (second stage, first stage, nested,
 * pass-through), the paging levels, the leaf level and attributes, the
 * request's access, a deliberate breakage of one structure, and the expected
 * result: a translation (output address and page size) or a fault reason
 * (VT-d 3.4 §7.1.3), checked against the architectural fault record popped
 * from the fault recording registers. One case per implemented reason.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>

#include "vtd_builder.h"

enum { LEG, SM };
enum { F_SS, F_FS, F_NEST, F_PT };
enum {
	B_NONE,
	B_UNMAPPED,
	B_ROOT_NP,
	B_ROOT_RSVD,
	B_CTX_NP,
	B_CTX_RSVD,
	B_CTX_TT3,
	B_ROOT_ABORT,
	B_CTX_ABORT,
	B_PTE_ABORT,
	B_PTE_RSVD,
	B_PS_TOP,
	B_PDIR_NP,
	B_PDIR_RSVD,
	B_PE_NP,
	B_PE_RSVD,
	B_PE_PGTT0,
	B_PASIDE_CLEAR,
	B_PASID_BIG,
	B_PDIR_ABORT,
	B_PE_ABORT,
	B_ATS,
	B_NONCANON,
	B_BEYOND,
	B_PRIV,
	B_EXEC,
};

struct vec {
	char name[32]; /* inline: Criterion copies parameters into the test process */
	int mode, fmt, levels, level;
	uint64_t attrs; /* leaf attributes; 0 = format default (all permissions) */
	uint32_t access;
	int brk;
	int reason; /* 0: expect a translation */
};

#define RD HWM_ACC_READ
#define WR HWM_ACC_WRITE
#define SSRW (SS_R | SS_W)
#define FSALL (FS_P | FS_RW | FS_US)

static struct vec vectors[] = {
	/* translations */
	{ "leg_ss4_4k", LEG, F_SS, 4, 1, 0, RD, B_NONE, 0 },
	{ "leg_ss4_2m", LEG, F_SS, 4, 2, 0, WR, B_NONE, 0 },
	{ "leg_ss4_1g", LEG, F_SS, 4, 3, 0, RD, B_NONE, 0 },
	{ "leg_ss3_4k", LEG, F_SS, 3, 1, 0, RD, B_NONE, 0 },
	{ "leg_ss5_4k", LEG, F_SS, 5, 1, 0, RD | WR, B_NONE, 0 },
	{ "leg_pt", LEG, F_PT, 4, 1, 0, RD, B_NONE, 0 },
	{ "sm_ss4_4k", SM, F_SS, 4, 1, 0, RD, B_NONE, 0 },
	{ "sm_ss4_2m", SM, F_SS, 4, 2, 0, WR, B_NONE, 0 },
	{ "sm_fs4_4k", SM, F_FS, 4, 1, 0, RD, B_NONE, 0 },
	{ "sm_fs4_2m", SM, F_FS, 4, 2, 0, WR, B_NONE, 0 },
	{ "sm_fs4_1g", SM, F_FS, 4, 3, 0, RD, B_NONE, 0 },
	{ "sm_fs5_4k", SM, F_FS, 5, 1, 0, RD, B_NONE, 0 },
	{ "sm_nest_4k", SM, F_NEST, 4, 1, 0, RD | WR, B_NONE, 0 },
	{ "sm_pt", SM, F_PT, 4, 1, 0, RD, B_NONE, 0 },
	/* legacy fault reasons */
	{ "leg_fr1_root_np", LEG, F_SS, 4, 1, 0, RD, B_ROOT_NP, 0x1 },
	{ "leg_fr2_ctx_np", LEG, F_SS, 4, 1, 0, RD, B_CTX_NP, 0x2 },
	{ "leg_fr3_ctx_tt3", LEG, F_SS, 4, 1, 0, RD, B_CTX_TT3, 0x3 },
	{ "leg_fr4_beyond", LEG, F_SS, 4, 1, 0, RD, B_BEYOND, 0x4 },
	{ "leg_fr5_write", LEG, F_SS, 4, 1, SS_R, WR, B_NONE, 0x5 },
	{ "leg_fr6_read", LEG, F_SS, 4, 1, SS_W, RD, B_NONE, 0x6 },
	{ "leg_fr6_unmapped", LEG, F_SS, 4, 1, 0, RD, B_UNMAPPED, 0x6 },
	{ "leg_fr7_pte_abort", LEG, F_SS, 4, 1, 0, RD, B_PTE_ABORT, 0x7 },
	{ "leg_fr8_root_abort", LEG, F_SS, 4, 1, 0, RD, B_ROOT_ABORT, 0x8 },
	{ "leg_fr9_ctx_abort", LEG, F_SS, 4, 1, 0, RD, B_CTX_ABORT, 0x9 },
	{ "leg_frA_root_rsvd", LEG, F_SS, 4, 1, 0, RD, B_ROOT_RSVD, 0xa },
	{ "leg_frB_ctx_rsvd", LEG, F_SS, 4, 1, 0, RD, B_CTX_RSVD, 0xb },
	{ "leg_frC_pte_rsvd", LEG, F_SS, 4, 1, 0, RD, B_PTE_RSVD, 0xc },
	{ "leg_frC_ps_top", LEG, F_SS, 4, 1, 0, RD, B_PS_TOP, 0xc },
	{ "leg_frD_ats_tt0", LEG, F_SS, 4, 1, 0, RD, B_ATS, 0xd },
	/* scalable-mode fault reasons */
	{ "sm_fr38_root_abort", SM, F_SS, 4, 1, 0, RD, B_ROOT_ABORT, 0x38 },
	{ "sm_fr39_root_np", SM, F_SS, 4, 1, 0, RD, B_ROOT_NP, 0x39 },
	{ "sm_fr3a_root_rsvd", SM, F_SS, 4, 1, 0, RD, B_ROOT_RSVD, 0x3a },
	{ "sm_fr40_ctx_abort", SM, F_SS, 4, 1, 0, RD, B_CTX_ABORT, 0x40 },
	{ "sm_fr41_ctx_np", SM, F_SS, 4, 1, 0, RD, B_CTX_NP, 0x41 },
	{ "sm_fr42_ctx_rsvd", SM, F_SS, 4, 1, 0, RD, B_CTX_RSVD, 0x42 },
	{ "sm_fr44_ats_dte", SM, F_SS, 4, 1, 0, RD, B_ATS, 0x44 },
	{ "sm_fr45_paside", SM, F_FS, 4, 1, 0, RD, B_PASIDE_CLEAR, 0x45 },
	{ "sm_fr46_pasid_big", SM, F_FS, 4, 1, 0, RD, B_PASID_BIG, 0x46 },
	{ "sm_fr50_pdir_abort", SM, F_FS, 4, 1, 0, RD, B_PDIR_ABORT, 0x50 },
	{ "sm_fr51_pdir_np", SM, F_FS, 4, 1, 0, RD, B_PDIR_NP, 0x51 },
	{ "sm_fr52_pdir_rsvd", SM, F_FS, 4, 1, 0, RD, B_PDIR_RSVD, 0x52 },
	{ "sm_fr58_pe_abort", SM, F_FS, 4, 1, 0, RD, B_PE_ABORT, 0x58 },
	{ "sm_fr59_pe_np", SM, F_FS, 4, 1, 0, RD, B_PE_NP, 0x59 },
	{ "sm_fr5a_pe_rsvd", SM, F_FS, 4, 1, 0, RD, B_PE_RSVD, 0x5a },
	{ "sm_fr5b_pe_pgtt0", SM, F_FS, 4, 1, 0, RD, B_PE_PGTT0, 0x5b },
	{ "sm_fr5c_exec", SM, F_FS, 4, 1, 0, RD, B_EXEC, 0x5c },
	{ "sm_fr5d_priv_nosre", SM, F_FS, 4, 1, 0, RD, B_PRIV, 0x5d },
	{ "sm_fr70_fs_abort", SM, F_FS, 4, 1, 0, RD, B_PTE_ABORT, 0x70 },
	{ "sm_fr71_fs_np", SM, F_FS, 4, 1, 0, RD, B_UNMAPPED, 0x71 },
	{ "sm_fr72_fs_rsvd", SM, F_FS, 4, 1, 0, RD, B_PTE_RSVD, 0x72 },
	{ "sm_fr72_fs_ps_top", SM, F_FS, 4, 1, 0, RD, B_PS_TOP, 0x72 },
	{ "sm_fr78_ss_abort", SM, F_SS, 4, 1, 0, RD, B_PTE_ABORT, 0x78 },
	{ "sm_fr79_ss_np", SM, F_SS, 4, 1, 0, RD, B_UNMAPPED, 0x79 },
	{ "sm_fr7a_ss_rsvd", SM, F_SS, 4, 1, 0, RD, B_PTE_RSVD, 0x7a },
	{ "sm_fr80_noncanonical", SM, F_FS, 4, 1, 0, RD, B_NONCANON, 0x80 },
	{ "sm_fr81_user_super", SM, F_FS, 4, 1, FS_P | FS_RW, RD, B_NONE, 0x81 },
	{ "sm_fr84_ss_beyond", SM, F_SS, 4, 1, 0, RD, B_BEYOND, 0x84 },
	{ "sm_fr85_fs_write", SM, F_FS, 4, 1, FS_P | FS_US, WR, B_NONE, 0x85 },
	{ "sm_fr85_ss_write", SM, F_SS, 4, 1, SS_R, WR, B_NONE, 0x85 },
	{ "sm_fr86_ss_read", SM, F_SS, 4, 1, SS_W, RD, B_NONE, 0x86 },
	{ "sm_fr85_nest_ss_ro", SM, F_NEST, 4, 1, 0, WR, B_NONE, 0x85 },
};

ParameterizedTestParameters(vtd, vector)
{
	return cr_make_param_array(struct vec, vectors, sizeof(vectors) / sizeof(vectors[0]));
}

#define RID 0x0310
#define DID 7
#define PASID 5

static uint64_t page_size(int level)
{
	return 1ull << (12 + 9 * (level - 1));
}

ParameterizedTest(struct vec *c, vtd, vector)
{
	struct vtd_config cfg = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t size = page_size(c->level);
	uint64_t iova = 5ull << 30 | (c->levels == 5 ? 1ull << 50 : 0);
	uint64_t pa = c->level == 3 ? 1ull << 30 : c->level == 2 ? 0x7600000 : 0x7654000;
	uint64_t req_iova = iova + (0x1234 & (size - 1)) + (c->level > 1 ? 0x3000 : 0);
	uint64_t leaf = 0, top = 0;
	uint16_t rid = RID;
	uint32_t pasid = PASID, access = c->access;
	bool use_pasid = c->mode == SM && (c->fmt == F_FS || c->fmt == F_NEST);
	struct hwm_req req;
	struct hwm_xlate x;
	uint64_t rec[2];

	cr_log_info("case %s", c->name);
	vb_init(&b, &cfg, c->mode == SM);
	vb_enable(&b);
	if (c->mode == LEG) {
		unsigned tt = c->fmt == F_PT ? 2 : c->brk == B_CTX_TT3 ? 3 : 0;
		vb_ctx_legacy(&b, rid, DID, c->levels, tt, &d);
	} else {
		unsigned flags = c->brk == B_PASIDE_CLEAR ? 0 : VB_CTX_PASIDE;
		unsigned pgtt = c->fmt == F_SS	   ? PGTT_SS
				: c->fmt == F_FS   ? PGTT_FS
				: c->fmt == F_NEST ? PGTT_NEST
						   : PGTT_PT;
		vb_ctx_sm(&b, rid, 0, 0, flags, &d);
		vb_pasid(&b, &d, use_pasid ? PASID : 0, pgtt, DID, c->levels, c->levels, 0);
	}
	if (c->fmt == F_SS) {
		uint64_t attrs = c->attrs ? c->attrs : SSRW;
		leaf = vb_ss_map(&b, d.ss_root, c->levels, iova, pa, c->level, attrs);
		top = d.ss_root + ((iova >> (12 + 9 * (c->levels - 1))) & 511) * 8;
	} else if (c->fmt == F_FS || c->fmt == F_NEST) {
		uint64_t attrs = c->attrs ? c->attrs : FSALL;
		leaf = vb_fs_map(&b, d.fs_root, c->levels, iova, pa, c->level, attrs);
		top = d.fs_root + ((iova >> (12 + 9 * (c->levels - 1))) & 511) * 8;
		if (c->fmt == F_NEST) {
			/* the second stage maps GPA 0..8G 1:1 with 1 GiB pages; read-only for
			 * the case that expects a write fault from the second stage */
			uint64_t a = c->reason == 0x85 ? SS_R : SSRW;
			for (uint64_t g = 0; g < 8; g++)
				vb_ss_map(&b, d.ss_root, c->levels, g << 30, g << 30, 3, SSRW);
			vb_ss_map(&b, d.ss_root, c->levels, pa & ~((1ull << 30) - 1),
				  pa & ~((1ull << 30) - 1), 3, a);
		}
	}

	memset(&req, 0, sizeof(req));
	switch (c->brk) {
	case B_UNMAPPED:
		req_iova += 2ull << 30;
		break;
	case B_ROOT_NP:
		rid = 0x0910;
		break;
	case B_ROOT_RSVD:
		vb_wr64(&b, d.root_entry, vb_rd64(&b, d.root_entry) | (1ull << 5));
		break;
	case B_CTX_NP:
		rid = RID + 1;
		break;
	case B_CTX_RSVD:
		vb_wr64(&b, d.ctx, vb_rd64(&b, d.ctx) | (1ull << 5));
		break;
	case B_ROOT_ABORT:
		b.abort_pa[b.naborts++] = d.root_entry;
		break;
	case B_CTX_ABORT:
		b.abort_pa[b.naborts++] = d.ctx;
		break;
	case B_PTE_ABORT:
		b.abort_pa[b.naborts++] = leaf;
		break;
	case B_PTE_RSVD:
		vb_wr64(&b, leaf, vb_rd64(&b, leaf) | (1ull << 50));
		break;
	case B_PS_TOP:
		vb_wr64(&b, top, vb_rd64(&b, top) | (1ull << 7));
		break;
	case B_PDIR_NP:
		pasid = 64 * 3 + 1;
		break;
	case B_PDIR_RSVD:
		vb_wr64(&b, d.pdir_entry, vb_rd64(&b, d.pdir_entry) | (1ull << 5));
		break;
	case B_PE_NP:
		pasid = PASID + 1;
		break;
	case B_PE_RSVD:
		vb_wr64(&b, d.pe + 8, vb_rd64(&b, d.pe + 8) | (1ull << 20));
		break;
	case B_PE_PGTT0:
		vb_wr64(&b, d.pe, vb_rd64(&b, d.pe) & ~(7ull << 6));
		break;
	case B_PASID_BIG:
		pasid = 128 * 64;
		break;
	case B_PDIR_ABORT:
		b.abort_pa[b.naborts++] = d.pdir_entry;
		break;
	case B_PE_ABORT:
		b.abort_pa[b.naborts++] = d.pe;
		break;
	case B_ATS:
		req.ats = true;
		break;
	case B_NONCANON:
		req_iova |= 1ull << 47;
		break;
	case B_BEYOND:
		req_iova = 1ull << 48;
		break;
	case B_PRIV:
		access |= HWM_ACC_PRIV;
		break;
	case B_EXEC:
		access |= HWM_ACC_EXEC;
		break;
	}
	req.rid = rid;
	req.iova = req_iova;
	req.access = access;
	if (use_pasid) {
		req.has_pasid = true;
		req.pasid = pasid;
	}
	cr_assert_eq(hwm_translate(b.iommu, &req, &x), 0);
	if (!c->reason) {
		uint64_t want_pa = c->fmt == F_PT ? req_iova : pa + (req_iova & (size - 1));
		cr_assert_eq(x.status, HWM_XLATE_OK, "%s: fault 0x%x", c->name, x.fault.reason);
		cr_expect_eq(x.pa, want_pa, "%s: pa 0x%llx want 0x%llx", c->name,
			     (unsigned long long)x.pa, (unsigned long long)want_pa);
		if (c->fmt != F_PT)
			cr_expect_eq(x.page_size, size, "%s: size", c->name);
		cr_expect(x.cost.mem_accesses > 0, "%s: a cold translation reads memory", c->name);
		cr_expect_eq(vb_pop_fault(&b, rec), -1);
		/* the second time it is an IOTLB hit with no memory access */
		if (c->fmt != F_PT) {
			cr_assert_eq(hwm_translate(b.iommu, &req, &x), 0);
			cr_expect_eq(x.status, HWM_XLATE_OK);
			cr_expect_eq(x.cost.mem_accesses, 0, "%s: hit reads memory", c->name);
			cr_expect_eq(x.cost.iotlb_hits, 1);
		}
	} else {
		cr_assert_eq(x.status, HWM_XLATE_FAULT, "%s: translated to 0x%llx", c->name,
			     (unsigned long long)x.pa);
		cr_expect_eq(x.fault.reason, (uint32_t)c->reason, "%s: reason 0x%x want 0x%x",
			     c->name, x.fault.reason, c->reason);
		cr_expect_eq(x.fault.vendor, HWM_VENDOR_VTD);
		cr_expect_eq(x.fault.len, 16);
		if (c->brk == B_ATS) {
			/* ATS translation requests are answered, not logged (§4.2.3) */
			cr_expect(!x.fault.recorded);
			cr_expect_eq(vb_pop_fault(&b, rec), -1);
		} else {
			int r = vb_pop_fault(&b, rec);
			cr_assert_eq(r, c->reason, "%s: record reason %d", c->name, r);
			cr_expect(x.fault.recorded);
			cr_expect(!memcmp(x.fault.record, rec, 16), "%s: record bytes", c->name);
			cr_expect_eq(rec[0] & ~0xfffull, req_iova & ~0xfffull);
			cr_expect_eq(rec[1] & 0xffff, rid);
			cr_expect_eq((rec[1] >> 62) & 1, (access & WR) ? 0u : 1u, "T bit");
			cr_expect_eq((rec[1] >> 31) & 1, req.has_pasid ? 1u : 0u, "PP bit");
			if (req.has_pasid)
				cr_expect_eq((rec[1] >> 40) & 0xfffff, pasid);
			cr_expect(b.irqs == 0, "FECTL.IM is set at reset: no interrupt");
			cr_expect(vb_reg(&b, R_FECTL, 4) & (1u << 30), "IP pending");
		}
	}
	vb_fini(&b);
}
