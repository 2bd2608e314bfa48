/* SPDX-License-Identifier: MIT */
/*
 * The VT-d register file (VT-d 3.4 §11.4) as software sees it: creation
 * checks, CAP/ECAP from the configuration, the decode of every register and
 * of 32-bit halves, GCMD side effects and the capability rules the checker
 * applies to them, the fault recording registers, the three interrupt
 * control register sets (mask, pending, delivery on unmask), register-based
 * invalidation (CCMD, IOTLB_REG), and the page request queue with its
 * wrap-around and overflow.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <iommusim/fault.h>

#include "vtd_builder.h"

#define RID 0x0208
#define DID 5

/* Register offsets not in the builder (§11.4). */
#define R_VER 0x00
#define R_FEUADDR 0x44
#define R_IEDATA 0xa4
#define R_IEADDR 0xa8
#define R_IEUADDR 0xac
#define R_PECTL 0xe0
#define R_PEDATA 0xe4
#define R_PEADDR 0xe8
#define R_PEUADDR 0xec

static uint64_t checks(struct vb *b, enum vtd_check_rule r)
{
	struct vtd_stats s;
	cr_assert_eq(vtd_get_stats(b->iommu, &s), 0);
	return s.checker[r];
}

static unsigned iro(struct vb *b)
{
	return ((vb_reg(b, R_ECAP, 8) >> 8) & 0x3ff) * 16;
}

static uint32_t gcmd_keep(struct vb *b)
{
	return (uint32_t)vb_reg(b, R_GSTS, 4) & 0x96ffffffu;
}

static int rd_ok(void *c, uint64_t pa, void *b, size_t n)
{
	memset(b, 0, n);
	return HWM_MEM_OK;
}

Test(vtd_regs, create_rejects_inconsistent_configs)
{
	static const struct hwm_bus_ops ops = { .read = rd_ok, .write = NULL };
	static const struct hwm_bus_ops ops_ok = { .read = rd_ok, .write = (void *)rd_ok };
	struct hwm_bus bus = { .ops = &ops_ok };
	struct hwm_iommu *io = (void *)1;
	struct vtd_config c;

#define REJECT(stmt)                                                           \
	do {                                                                   \
		c = vtd_config_default();                                      \
		stmt;                                                          \
		cr_assert_eq(vtd_create(&c, &bus, &io), -EINVAL, "%s", #stmt); \
		cr_assert_null(io);                                            \
	} while (0)
	REJECT(c.nfr = 0);
	REJECT(c.nfr = 257);
	REJECT(c.sagaw = 0x1);
	REJECT(c.mgaw = 29);
	REJECT(c.mgaw = 65);
	REJECT(c.haw = 31);
	REJECT(c.haw = 53);
	REJECT(c.nd = 7);
	REJECT(c.qi = false);
	REJECT(c.flts = false);
	REJECT(c.iotlb.sets = 3);
	REJECT(c.ctx.ways = 0);
	REJECT(c.pasid_c.repl = 7);
	REJECT(c.pwc.sets = 0);
	REJECT(c.devtlb.sets = 6);
	REJECT(c.cost.ps_per_cycle = 0);
#undef REJECT
	c = vtd_config_default();
	cr_assert_eq(vtd_create(NULL, &bus, &io), -EINVAL);
	cr_assert_eq(vtd_create(&c, NULL, &io), -EINVAL);
	bus.ops = &ops; /* no write op */
	cr_assert_eq(vtd_create(&c, &bus, &io), -EINVAL);
	bus.ops = &ops_ok;
	cr_assert_eq(vtd_create(&c, &bus, &io), 0);
	cr_assert_eq(io->vendor, HWM_VENDOR_VTD);
	cr_assert_str_eq(io->name, "vtd");
	cr_assert_eq(io->mmio_size, VTD_MMIO_SIZE);
	hwm_destroy(io);
	hwm_destroy(NULL);
}

/* Every allocation of vtd_create can fail, and the failure unwinds cleanly (LSan). */
Test(vtd_regs, create_allocation_failures_unwind)
{
	static const struct hwm_bus_ops ops = { .read = rd_ok, .write = (void *)rd_ok };
	struct vtd_config c = vtd_config_default();
	struct fault_ctx *fc;
	unsigned n, failed = 0;

	cr_assert_eq(fault_ctx_create(NULL, &fc), 0);
	for (n = 1; n < 64; n++) {
		struct hwm_bus bus = { .ops = &ops, .fault = fc };
		struct hwm_iommu *io;
		int rc;

		cr_assert_eq(fault_set_filter(fc, FAULT_CLASS_ALLOC, NULL), 0);
		fault_set_nth(fc, n);
		rc = vtd_create(&c, &bus, &io);
		if (!fault_nth_fired(fc)) {
			fault_disarm(fc);
			cr_assert_eq(rc, 0);
			hwm_destroy(io);
			break;
		}
		fault_disarm(fc);
		cr_assert_eq(rc, -ENOMEM, "allocation %u", n);
		cr_assert_null(io);
		failed++;
	}
	cr_assert_geq(failed, 7, "the model, its records and five caches (sets + entries)");
	fault_ctx_destroy(fc);
}

Test(vtd_regs, capabilities_follow_the_config)
{
	struct vtd_config c = vb_config();
	struct vb b;
	uint64_t cap, ecap;

	c.nd = 2;
	c.rwbf = true;
	c.cm = true;
	c.nfr = 4;
	c.mamv = 9;
	c.psi = false;
	c.fl1gp = false;
	c.sllps = 1;
	c.dt = false;
	c.prs = false;
	c.pss = 7;
	vb_init(&b, &c, false);
	cap = vb_reg(&b, R_CAP, 8);
	ecap = vb_reg(&b, R_ECAP, 8);
	cr_assert_eq(cap & 7, 2, "ND");
	cr_assert(cap & (1u << 4), "RWBF");
	cr_assert(cap & (1u << 7), "CM");
	cr_assert_eq((cap >> 8) & 0x1f, 0xe, "SAGAW");
	cr_assert_eq((cap >> 16) & 0x3f, 56, "MGAW - 1");
	cr_assert_eq((cap >> 34) & 0xf, 1, "SLLPS");
	cr_assert_eq((cap >> 39) & 1, 0, "PSI");
	cr_assert_eq((cap >> 40) & 0xff, 3, "NFR - 1");
	cr_assert_eq((cap >> 48) & 0x3f, 9, "MAMV");
	cr_assert_eq((cap >> 56) & 1, 0, "FL1GP");
	cr_assert_eq((cap >> 60) & 1, 1, "FL5LP");
	cr_assert_eq(((cap >> 24) & 0x3ff) * 16, 0x400, "FRO");
	cr_assert(ecap & 1, "C");
	cr_assert(ecap & 2, "QI");
	cr_assert_eq((ecap >> 2) & 1, 0, "DT");
	cr_assert_eq((ecap >> 29) & 1, 0, "PRS");
	cr_assert_eq((ecap >> 35) & 0x1f, 7, "PSS");
	cr_assert(ecap & (1ull << 43), "SMTS");
	cr_assert_eq(vb_reg(&b, R_VER, 4), 0x30);
	vb_fini(&b);
	c.scalable = false;
	vb_init(&b, &c, false);
	cr_assert_eq(vb_reg(&b, R_VER, 4), 0x10);
	vb_fini(&b);
}

Test(vtd_regs, access_sizes_and_reserved_registers)
{
	struct vb b;
	uint64_t v;

	vb_init(&b, NULL, false);
	cr_assert_eq(hwm_mmio_read(b.iommu, 0x8, 2, &v), -EINVAL, "size 2");
	cr_assert_eq(hwm_mmio_read(b.iommu, 0xc, 8, &v), -EINVAL, "misaligned 8");
	cr_assert_eq(hwm_mmio_read(b.iommu, VTD_MMIO_SIZE - 4, 8, &v), -EINVAL);
	cr_assert_eq(hwm_mmio_read(b.iommu, VTD_MMIO_SIZE, 4, &v), -EINVAL);
	cr_assert_eq(hwm_mmio_write(b.iommu, 0x2, 4, 0), -EINVAL);
	cr_assert_eq(hwm_mmio_write(b.iommu, VTD_MMIO_SIZE, 4, 0), -EINVAL);
	cr_assert_eq(hwm_mmio_write(b.iommu, 0x18, 1, 0), -EINVAL);
	/* reserved / unimplemented registers read 0 and ignore writes */
	vb_wreg(&b, 0x1000, 4, 0xffffffff);
	cr_assert_eq(vb_reg(&b, 0x1000, 4), 0);
	vb_wreg(&b, R_CAP, 8, 0); /* read-only */
	cr_assert_neq(vb_reg(&b, R_CAP, 8), 0);
	/* the page request head and the IVA register read back */
	vb_wreg(&b, R_PQH, 8, 0);
	cr_assert_eq(vb_reg(&b, R_PQH, 8), 0);
	vb_wreg(&b, 0x300, 8, 0x123456789000ull | 3);
	cr_assert_eq(vb_reg(&b, 0x300, 8), 0x123456789000ull | 3);
	/* 64-bit registers as two halves */
	vb_wreg(&b, R_RTADDR, 4, 0x123000);
	vb_wreg(&b, R_RTADDR + 4, 4, 0x1);
	cr_assert_eq(vb_reg(&b, R_RTADDR, 8), 0x100123000ull);
	cr_assert_eq(vb_reg(&b, R_RTADDR + 4, 4), 1);
	/* plain data registers hold what was written (address registers drop bits 1:0) */
	vb_wreg(&b, R_FEDATA, 4, 0x4321);
	vb_wreg(&b, R_FEADDR, 4, 0xfee00003u);
	vb_wreg(&b, R_FEUADDR, 4, 0x7);
	vb_wreg(&b, R_IEDATA, 4, 0x55);
	vb_wreg(&b, R_IEADDR, 4, 0xfee01002u);
	vb_wreg(&b, R_IEUADDR, 4, 0x8);
	vb_wreg(&b, R_PEDATA, 4, 0x66);
	vb_wreg(&b, R_PEADDR, 4, 0xfee02001u);
	vb_wreg(&b, R_PEUADDR, 4, 0x9);
	cr_assert_eq(vb_reg(&b, R_FEDATA, 4), 0x4321);
	cr_assert_eq(vb_reg(&b, R_FEADDR, 4), 0xfee00000u);
	cr_assert_eq(vb_reg(&b, R_FEUADDR, 4), 7);
	cr_assert_eq(vb_reg(&b, R_IEDATA, 4), 0x55);
	cr_assert_eq(vb_reg(&b, R_IEADDR, 4), 0xfee01000u);
	cr_assert_eq(vb_reg(&b, R_IEUADDR, 4), 8);
	cr_assert_eq(vb_reg(&b, R_PEDATA, 4), 0x66);
	cr_assert_eq(vb_reg(&b, R_PEADDR, 4), 0xfee02000u);
	cr_assert_eq(vb_reg(&b, R_PEUADDR, 4), 9);
	/* IM is set at reset in all three control registers */
	cr_assert(vb_reg(&b, R_FECTL, 4) & (1u << 31));
	cr_assert(vb_reg(&b, R_IECTL, 4) & (1u << 31));
	cr_assert(vb_reg(&b, R_PECTL, 4) & (1u << 31));
	vb_fini(&b);
}

Test(vtd_regs, gcmd_capability_rules)
{
	struct vtd_config c = vb_config();
	struct vb b;

	c.scalable = false;
	c.pasid = false;
	c.rwbf = false;
	vb_init(&b, &c, false);
	/* TTM=01 (scalable) without SMTS */
	vb_wreg(&b, R_RTADDR, 8, vb_page(&b) | 1ull << 10);
	vb_wreg(&b, R_GCMD, 4, 1u << 30);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 1);
	/* IRE, SIRTP, CFI: interrupt remapping is not there (ECAP.IR = 0) */
	vb_wreg(&b, R_GCMD, 4, gcmd_keep(&b) | 1u << 25);
	vb_wreg(&b, R_GCMD, 4, gcmd_keep(&b) | 1u << 24);
	vb_wreg(&b, R_GCMD, 4, gcmd_keep(&b) | 1u << 23);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 4);
	/* WBF with RWBF clear; WBFS never reads as set */
	vb_wreg(&b, R_GCMD, 4, gcmd_keep(&b) | 1u << 27);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 5);
	cr_assert_eq(vb_reg(&b, R_GSTS, 4) & (1u << 27), 0);
	/* a TTM of 10/11 is reserved: translations fault (root table address invalid) */
	vb_wreg(&b, R_RTADDR, 8, vb_page(&b) | 3ull << 10);
	vb_wreg(&b, R_GCMD, 4, gcmd_keep(&b) | 1u << 30 | 1u << 31);
	cr_assert_eq(vb_xlate(&b, RID, 0x1000, HWM_ACC_READ).fault.reason, 0x8);
	vb_fini(&b);

	c = vb_config();
	c.qi = false;
	c.scalable = false;
	c.rwbf = true;
	vb_init(&b, &c, false);
	/* QIE without ECAP.QI: refused and counted */
	vb_wreg(&b, R_GCMD, 4, 1u << 26);
	cr_assert_eq(vb_reg(&b, R_GSTS, 4) & (1u << 26), 0);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 1);
	vb_wreg(&b, R_GCMD, 4, gcmd_keep(&b) | 1u << 27); /* WBF with RWBF: fine */
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 1);
	/* 256-bit descriptors need scalable mode (each half of the write re-decodes IQA) */
	vb_wreg(&b, R_IQA, 8, vb_page(&b) | 1u << 11);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 3);
	vb_fini(&b);

	/* scalable TTM with SMTS, the scalable fault for a reserved TTM */
	vb_init(&b, NULL, true);
	vb_wreg(&b, R_RTADDR, 8, vb_page(&b) | 2ull << 10);
	vb_wreg(&b, R_GCMD, 4, 1u << 30 | 1u << 31);
	cr_assert_eq(vb_xlate(&b, RID, 0x1000, HWM_ACC_READ).fault.reason, 0x30);
	cr_assert_eq(checks(&b, VTD_CHK_CAP_CLEAR), 0);
	vb_fini(&b);
}

Test(vtd_regs, te_off_is_identity_and_qie_toggles_reset_iqh)
{
	struct vb b;
	struct hwm_xlate x;

	vb_init(&b, NULL, false);
	x = vb_xlate(&b, RID, 0x123456789, HWM_ACC_WRITE);
	cr_assert_eq(x.status, HWM_XLATE_OK);
	cr_assert_eq(x.pa, 0x123456789);
	cr_assert_eq(x.page_size, 4096);
	cr_assert_eq(x.cost.cycles, 0);
	vb_enable(&b);
	vb_qi_wait(&b, 1, false);
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 1 << 4);
	vb_wreg(&b, R_GCMD, 4, gcmd_keep(&b) & ~(1u << 26)); /* QIE off */
	cr_assert_eq(vb_reg(&b, R_GSTS, 4) & (1u << 26), 0);
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 0, "IQH resets when QI is disabled");
	vb_wreg(&b, R_IQT, 8, 0);
	vb_wreg(&b, R_GCMD, 4, gcmd_keep(&b) | 1u << 26);
	cr_assert_eq(vb_reg(&b, R_IQH, 8), 0);
	vb_fini(&b);
}

/* IQA written while QIE=1: the checker's rule (§11.4.9.3); fine when QI is off. */
Test(vtd_regs, iqa_while_qie)
{
	struct vb b;

	vb_init(&b, NULL, false);
	vb_enable(&b);
	vb_wreg(&b, R_IQA, 8, b.iq);
	cr_assert_eq(checks(&b, VTD_CHK_IQA_WHILE_QIE), 2, "both halves");
	vb_wreg(&b, R_GCMD, 4, gcmd_keep(&b) & ~(1u << 26));
	vb_wreg(&b, R_IQA, 8, b.iq | 1); /* QS 1: 512 descriptors */
	cr_assert_eq(checks(&b, VTD_CHK_IQA_WHILE_QIE), 2);
	cr_assert_eq(vb_reg(&b, R_IQA, 8), b.iq | 1);
	vb_fini(&b);
}

Test(vtd_regs, fault_registers_and_interrupt_delivery)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vb_dev d;
	uint64_t rec[2];
	unsigned fro;

	c.nfr = 2;
	vb_init(&b, &c, false);
	vb_enable(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d);
	fro = ((vb_reg(&b, R_CAP, 8) >> 24) & 0x3ff) * 16;
	vb_wreg(&b, R_FEDATA, 4, 0x31);
	vb_wreg(&b, R_FEADDR, 4, 0xfee00000u);
	/* masked: the fault is recorded, IP set, no interrupt */
	cr_assert_eq(vb_xlate(&b, RID, 0x5000, HWM_ACC_READ).status, HWM_XLATE_FAULT);
	cr_assert_eq(b.irqs, 0);
	cr_assert(vb_reg(&b, R_FECTL, 4) & (1u << 30), "IP");
	/* the record reads back as two dwords and as 64-bit halves */
	cr_assert_eq(vb_reg(&b, fro, 4), 0x5000);
	cr_assert_eq(vb_reg(&b, fro + 4, 4), 0);
	cr_assert_eq((vb_reg(&b, fro + 8, 8) >> 32) & 0xff, 6);
	/* writes to anything but F are ignored */
	vb_wreg(&b, fro, 8, 0);
	cr_assert_eq(vb_reg(&b, fro, 4), 0x5000);
	/* unmasking delivers the pending event */
	vb_wreg(&b, R_FECTL, 4, 0);
	cr_assert_eq(b.irqs, 1);
	cr_assert_eq(b.last_irq_data, 0x31);
	cr_assert_eq(vb_reg(&b, R_FECTL, 4) & (1u << 30), 0);
	/* a second fault while PPF is set: recorded, no new event */
	cr_assert_eq(vb_xlate(&b, RID, 0x6000, HWM_ACC_WRITE).status, HWM_XLATE_FAULT);
	cr_assert_eq(b.irqs, 1);
	/* both records full: overflow, one event for PFO */
	cr_assert_eq(vb_xlate(&b, RID, 0x7000, HWM_ACC_WRITE).status, HWM_XLATE_FAULT);
	cr_assert(vb_reg(&b, R_FSTS, 4) & 1, "PFO");
	cr_assert_eq(b.irqs, 2);
	cr_assert_eq(vb_pop_fault(&b, rec), 6);
	cr_assert_eq(vb_pop_fault(&b, rec), 5);
	cr_assert_eq(rec[0], 0x6000);
	/* clearing PFO (RW1C) with nothing else pending clears IP */
	vb_wreg(&b, R_FECTL, 4, 1u << 31);
	cr_assert_eq(vb_xlate(&b, RID, 0x8000, HWM_ACC_READ).status, HWM_XLATE_FAULT);
	cr_assert(vb_reg(&b, R_FECTL, 4) & (1u << 30));
	cr_assert_eq(vb_pop_fault(&b, rec), 6);
	vb_wreg(&b, R_FSTS, 4, 1);
	cr_assert_eq(vb_reg(&b, R_FSTS, 4) & 3, 0);
	cr_assert_eq(vb_reg(&b, R_FECTL, 4) & (1u << 30), 0);
	/* a fault on a reserved register offset inside the window: rejected nothing */
	vb_fini(&b);
}

Test(vtd_regs, invalidation_event_masked_then_delivered)
{
	struct vb b;

	vb_init(&b, NULL, false);
	vb_enable(&b);
	vb_wreg(&b, R_IEDATA, 4, 0x77);
	vb_wreg(&b, R_IEADDR, 4, 0xfee03000u);
	vb_qi_wait(&b, 3, true); /* IE masked: IWC and IP, no interrupt */
	cr_assert_eq(vb_reg(&b, R_ICS, 4) & 1, 1);
	cr_assert(vb_reg(&b, R_IECTL, 4) & (1u << 30));
	cr_assert_eq(b.irqs, 0);
	vb_wreg(&b, R_IECTL, 4, 0);
	cr_assert_eq(b.irqs, 1);
	cr_assert_eq(b.last_irq_data, 0x77);
	cr_assert_eq(b.last_irq_addr, 0xfee03000u);
	vb_wreg(&b, R_ICS, 4, 1);
	cr_assert_eq(vb_reg(&b, R_ICS, 4), 0);
	/* IWC written back as 0 does not clear it; IP clears with IWC */
	vb_qi_wait(&b, 4, true);
	cr_assert_eq(b.irqs, 2);
	vb_wreg(&b, R_ICS, 4, 0);
	cr_assert_eq(vb_reg(&b, R_ICS, 4), 1);
	vb_fini(&b);
}

/* Register-based invalidation (§6.5.1), with QI off: CCMD and IOTLB_REG granularities. */
Test(vtd_regs, register_based_invalidation_granularities)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vb_dev d1, d2;
	uint64_t l1, l2, l3;
	unsigned io;

	c.qi = false;
	c.scalable = false;
	vb_init(&b, &c, false);
	vb_enable(&b);
	io = iro(&b);
	vb_ctx_legacy(&b, RID, DID, 4, 0, &d1);
	vb_ctx_legacy(&b, RID + 1, DID + 1, 4, 0, &d2);
	l1 = vb_ss_map(&b, d1.ss_root, 4, 0x10000, 0x2000000, 1, SS_R | SS_W);
	l2 = vb_ss_map(&b, d1.ss_root, 4, 0x11000, 0x2001000, 1, SS_R | SS_W);
	l3 = vb_ss_map(&b, d2.ss_root, 4, 0x10000, 0x2100000, 1, SS_R | SS_W);
	vb_xlate(&b, RID, 0x10000, HWM_ACC_READ);
	vb_xlate(&b, RID, 0x11000, HWM_ACC_READ);
	vb_xlate(&b, RID + 1, 0x10000, HWM_ACC_READ);
	vb_wr64(&b, l1, 0x3000000 | SS_R);
	vb_wr64(&b, l2, 0x3001000 | SS_R);
	vb_wr64(&b, l3, 0x3100000 | SS_R);
	/* page-selective, AM 0, with IH: only that page of that domain */
	vb_wreg(&b, io, 8, 0x10000 | 1u << 6);
	vb_wreg(&b, io + 8, 8, 1ull << 63 | 3ull << 60 | (uint64_t)DID << 32);
	cr_assert_eq((vb_reg(&b, io + 8, 8) >> 57) & 3, 3, "IAIG page");
	cr_assert_eq(vb_xlate(&b, RID, 0x10000, HWM_ACC_READ).pa, 0x3000000);
	cr_assert_eq(vb_xlate(&b, RID, 0x11000, HWM_ACC_READ).pa, 0x2001000);
	cr_assert_eq(vb_xlate(&b, RID + 1, 0x10000, HWM_ACC_READ).pa, 0x2100000);
	/* domain-selective */
	vb_wreg(&b, io + 8, 8, 1ull << 63 | 2ull << 60 | (uint64_t)DID << 32);
	cr_assert_eq((vb_reg(&b, io + 8, 8) >> 57) & 3, 2);
	cr_assert_eq(vb_xlate(&b, RID, 0x11000, HWM_ACC_READ).pa, 0x3001000);
	cr_assert_eq(vb_xlate(&b, RID + 1, 0x10000, HWM_ACC_READ).pa, 0x2100000);
	/* global */
	vb_wreg(&b, io + 8, 8, 1ull << 63 | 1ull << 60);
	cr_assert_eq((vb_reg(&b, io + 8, 8) >> 57) & 3, 1);
	cr_assert_eq(vb_xlate(&b, RID + 1, 0x10000, HWM_ACC_READ).pa, 0x3100000);
	/* granularity 0 is reserved: nothing done, IAIG 0 */
	vb_wreg(&b, io + 8, 8, 1ull << 63);
	cr_assert_eq((vb_reg(&b, io + 8, 8) >> 57) & 3, 0);
	cr_assert_eq(vb_reg(&b, io + 8, 8) >> 63, 0);

	/* context cache: device-selective with a function mask, domain, global */
	vb_wr64(&b, d1.ctx + 8,
		(vb_rd64(&b, d1.ctx + 8) & ~0xffff00ull) | (uint64_t)(DID + 7) << 8);
	vb_wreg(&b, R_CCMD, 8, 1ull << 63 | 3ull << 61 | 3ull << 32 | (uint64_t)(RID & ~7) << 16);
	cr_assert_eq((vb_reg(&b, R_CCMD, 8) >> 59) & 3, 3, "CAIG device");
	{
		/* the context is fetched again: the new domain has nothing cached, a walk */
		struct hwm_xlate x = vb_xlate(&b, RID, 0x10000, HWM_ACC_READ);
		cr_assert_eq(x.pa, 0x3000000);
		cr_assert_gt(x.cost.mem_accesses, 2);
	}
	vb_wreg(&b, R_CCMD, 8, 1ull << 63 | 2ull << 61 | (uint64_t)(DID + 1));
	cr_assert_eq((vb_reg(&b, R_CCMD, 8) >> 59) & 3, 2);
	vb_wreg(&b, R_CCMD, 8, 1ull << 63 | 1ull << 61);
	cr_assert_eq((vb_reg(&b, R_CCMD, 8) >> 59) & 3, 1);
	vb_wreg(&b, R_CCMD, 8, 1ull << 63);
	cr_assert_eq((vb_reg(&b, R_CCMD, 8) >> 59) & 3, 0);
	cr_assert_eq(checks(&b, VTD_CHK_REG_INVAL_QI), 0);
	vb_fini(&b);
}

Test(vtd_regs, register_invalidation_with_qi_enabled_is_flagged)
{
	struct vb b;
	unsigned io;

	vb_init(&b, NULL, false);
	vb_enable(&b);
	io = iro(&b);
	vb_wreg(&b, io + 8, 8, 1ull << 63 | 1ull << 60);
	cr_assert_eq(checks(&b, VTD_CHK_REG_INVAL_QI), 1);
	vb_wreg(&b, R_CCMD, 8, 1ull << 63 | 1ull << 61);
	cr_assert_eq(checks(&b, VTD_CHK_REG_INVAL_QI), 2);
	vb_fini(&b);
}

/* The page request queue (§7.5.1): descriptors, wrap-around, overflow and events. */
Test(vtd_regs, page_request_queue_wraps)
{
	struct vb b;
	uint64_t pq;
	struct vtd_page_req r = { .rid = RID, .read = true, .write = true, .addr = 0x9000 };
	struct vtd_stats s;

	vb_init(&b, NULL, true);
	vb_enable(&b);
	cr_assert_eq(vtd_page_request(b.iommu, &r), -EINVAL, "no queue yet");
	pq = vb_page(&b);
	vb_wreg(&b, R_PQA, 8, pq);
	cr_assert_eq(vb_reg(&b, R_PQA, 8), pq);
	vb_wreg(&b, R_PEDATA, 4, 0x99);
	vb_wreg(&b, R_PEADDR, 4, 0xfee04000u);
	/* fill 100, consume them, then 100 more: the tail wraps past slot 127 */
	for (int i = 0; i < 100; i++) {
		r.prgi = i;
		cr_assert_eq(vtd_page_request(b.iommu, &r), 0);
	}
	cr_assert(vb_reg(&b, R_PECTL, 4) & (1u << 30), "masked: IP");
	vb_wreg(&b, R_PECTL, 4, 0);
	cr_assert_eq(b.irqs, 1, "delivered on unmask");
	vb_wreg(&b, R_PQH, 8, vb_reg(&b, R_PQT, 8)); /* all consumed */
	vb_wreg(&b, R_PRS, 4, 1);
	cr_assert_eq(vb_reg(&b, R_PRS, 4), 0);
	for (int i = 0; i < 100; i++) {
		r.prgi = 100 + i;
		r.last = i == 99;
		r.has_pasid = i & 1;
		r.pasid = i;
		r.exec = r.priv = i & 2;
		cr_assert_eq(vtd_page_request(b.iommu, &r), 0, "request %d", i);
	}
	cr_assert_eq(b.irqs, 2, "PPR 0 -> 1 again");
	cr_assert_eq(vb_reg(&b, R_PQT, 8) >> 5, (200 % 128));
	/* the wrapped slot 0 holds request 128 (prgi 128 & 0x1ff), with PASID 28 */
	{
		uint64_t q0 = vb_rd64(&b, pq), q1 = vb_rd64(&b, pq + 8);
		cr_assert_eq((q1 >> 3) & 0x1ff, 128);
		cr_assert_eq(q0 & 0xff, 1, "type");
		cr_assert_eq((q0 >> 8) & 1, 0, "PASID 28 is even: no PASID");
	}
	{
		uint64_t q0 = vb_rd64(&b, pq + 32), q1 = vb_rd64(&b, pq + 40);
		cr_assert_eq((q0 >> 8) & 1, 1, "PP");
		cr_assert_eq((q0 >> 32) & 0xfffff, 29);
		cr_assert_eq((q0 >> 52) & 3, 0, "29 & 2 == 0: no ER/PM");
		cr_assert_eq(q1 & 3, 3, "R and W");
	}
	/* fill to the brim: 127 used, the 128th overflows and sets PRO once */
	vb_wreg(&b, R_PQH, 8, vb_reg(&b, R_PQT, 8));
	vb_wreg(&b, R_PRS, 4, 1);
	for (int i = 0; i < 127; i++)
		cr_assert_eq(vtd_page_request(b.iommu, &r), 0);
	cr_assert_eq(vtd_page_request(b.iommu, &r), -ENOSPC);
	cr_assert_eq(vtd_page_request(b.iommu, &r), -ENOSPC);
	cr_assert_eq(vb_reg(&b, R_PRS, 4) & 2, 2, "PRO");
	vtd_get_stats(b.iommu, &s);
	cr_assert_eq(s.page_requests, 329);
	cr_assert_eq(s.page_request_overflows, 2);
	/* the queue moved: PQA rewritten keeps the indices in range */
	vb_wreg(&b, R_PQA, 8, vb_page(&b));
	cr_assert_lt(vb_reg(&b, R_PQT, 8) >> 5, 128);
	vb_fini(&b);
}

Test(vtd_regs, page_requests_refused_without_prs_or_on_abort)
{
	struct vtd_config c = vb_config();
	struct vb b;
	struct vtd_page_req r = { .rid = RID, .read = true, .addr = 0x9000 };

	c.prs = false;
	vb_init(&b, &c, true);
	cr_assert_eq(vtd_page_request(b.iommu, &r), -EINVAL);
	vb_fini(&b);
	vb_init(&b, NULL, true);
	vb_wreg(&b, R_PQA, 8, b.size); /* beyond memory: the write aborts */
	cr_assert_eq(vtd_page_request(b.iommu, &r), -EIO);
	vb_fini(&b);
}

Test(vtd_regs, stats_and_checker_toggle)
{
	struct vb b;
	struct vtd_stats s;
	struct hwm_stats hs;

	vb_init(&b, NULL, false);
	cr_assert_str_eq(vtd_check_rule_name(VTD_CHK_TABLE_REUSE), "table_reuse");
	cr_assert_str_eq(vtd_check_rule_name(VTD_CHK__COUNT), "unknown");
	cr_assert_str_eq(vtd_check_rule_section(VTD_CHK_RSVD_ENTRY), "VT-d 3.4 9");
	cr_assert_str_eq(vtd_check_rule_section(VTD_CHK__COUNT), "");
	vtd_set_checker(b.iommu, false);
	vtd_set_checker(b.iommu, true);
	hwm_get_stats(b.iommu, &hs);
	cr_assert_eq(hs.translations, 0);
	{
		struct hwm_iommu fake = { .vendor = HWM_VENDOR_SMMUV3 };
		cr_assert_eq(vtd_get_stats(&fake, &s), -EINVAL);
		vtd_set_checker(&fake, true); /* ignored */
		cr_assert_eq(vtd_page_request(&fake, &(struct vtd_page_req){ 0 }), -EINVAL);
	}
	vb_fini(&b);
}
