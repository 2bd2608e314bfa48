/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d register offsets, fields and structure layouts, as the driver
 * reads them in the specification ("Intel Virtualization Technology for
 * Directed I/O, Architecture Specification", rev. 3.4 and later; section
 * numbers below refer to it). This file is the driver's own reading: it
 * does not, and must not, share anything with hw-models/vtd/, so a test in
 * which the driver builds structures and the model walks them checks two
 * independent readings of the spec.
 *
 * Only what the driver uses is defined. Field macros extract from a 64-bit
 * register value; structure fields are given as bit positions within the
 * named 64-bit word.
 */
#ifndef IOMMUSIM_INTEL_REGS_H
#define IOMMUSIM_INTEL_REGS_H

#include <stdint.h>

#define VTD_BIT(n) (1ULL << (n))
#define VTD_FIELD(v, hi, lo) (((uint64_t)(v) >> (lo)) & ((1ULL << ((hi) - (lo) + 1)) - 1))

/* ---------------------------------------------- register offsets (§11.4) */
#define DMAR_VER_REG 0x00 /* §11.4.1 */
#define DMAR_CAP_REG 0x08 /* §11.4.2 */
#define DMAR_ECAP_REG 0x10 /* §11.4.3 */
#define DMAR_GCMD_REG 0x18 /* §11.4.4.1, 32-bit */
#define DMAR_GSTS_REG 0x1c /* §11.4.4.2, 32-bit */
#define DMAR_RTADDR_REG 0x20 /* §11.4.5 */
#define DMAR_CCMD_REG 0x28 /* §11.4.6.1 (register-based; unused with QI) */
#define DMAR_FSTS_REG 0x34 /* §11.4.7.1, 32-bit */
#define DMAR_FECTL_REG 0x38 /* §11.4.7.2, 32-bit */
#define DMAR_FEDATA_REG 0x3c /* §11.4.7.3, 32-bit */
#define DMAR_FEADDR_REG 0x40 /* §11.4.7.4, 32-bit */
#define DMAR_FEUADDR_REG 0x44 /* §11.4.7.5, 32-bit */
#define DMAR_IQH_REG 0x80 /* §11.4.9.1 */
#define DMAR_IQT_REG 0x88 /* §11.4.9.2 */
#define DMAR_IQA_REG 0x90 /* §11.4.9.3 */
#define DMAR_ICS_REG 0x9c /* §11.4.9.4, 32-bit */
#define DMAR_IECTL_REG 0xa0 /* §11.4.9.5, 32-bit */
#define DMAR_IQER_REG 0xb0 /* §11.4.9.9 */
#define DMAR_PQH_REG 0xc0 /* §11.4.11.1 page request queue head */
#define DMAR_PQT_REG 0xc8 /* §11.4.11.2 page request queue tail */
#define DMAR_PQA_REG 0xd0 /* §11.4.11.3 page request queue address */
#define DMAR_PRS_REG 0xdc /* §11.4.11.4 page request status, 32-bit */
#define DMAR_PECTL_REG 0xe0 /* §11.4.11.5 page request event control, 32-bit */
#define DMAR_PEDATA_REG 0xe4 /* §11.4.11.6 */
#define DMAR_PEADDR_REG 0xe8 /* §11.4.11.7 */
#define DMAR_PEUADDR_REG 0xec /* §11.4.11.8 */

/* ------------------------------------------------------ CAP_REG (§11.4.2) */
#define CAP_ND(c) VTD_FIELD(c, 2, 0) /* domains: 2^(4 + 2*ND) */
#define CAP_RWBF(c) VTD_FIELD(c, 4, 4) /* write-buffer flush required */
#define CAP_CM(c) VTD_FIELD(c, 7, 7) /* caching mode */
#define CAP_SAGAW(c) VTD_FIELD(c, 12, 8) /* bit 1: 39-bit/3-level, 2: 48/4, 3: 57/5 */
#define CAP_MGAW(c) (VTD_FIELD(c, 21, 16) + 1)
#define CAP_FRO(c) (VTD_FIELD(c, 33, 24) * 16) /* fault recording offset, bytes */
#define CAP_SLLPS(c) VTD_FIELD(c, 37, 34) /* bit 0: 2 MiB, bit 1: 1 GiB */
#define CAP_PSI(c) VTD_FIELD(c, 39, 39) /* page-selective invalidation */
#define CAP_NFR(c) (VTD_FIELD(c, 47, 40) + 1)
#define CAP_MAMV(c) VTD_FIELD(c, 53, 48) /* max address mask value */
#define CAP_FL1GP(c) VTD_FIELD(c, 56, 56) /* first-stage 1 GiB pages */
#define CAP_FL5LP(c) VTD_FIELD(c, 60, 60) /* first-stage 5-level paging */

/* ----------------------------------------------------- ECAP_REG (§11.4.3) */
#define ECAP_C(e) VTD_FIELD(e, 0, 0) /* page-walk coherency */
#define ECAP_QI(e) VTD_FIELD(e, 1, 1) /* queued invalidation */
#define ECAP_DT(e) VTD_FIELD(e, 2, 2) /* device-TLB */
#define ECAP_PT(e) VTD_FIELD(e, 6, 6) /* pass-through */
#define ECAP_SC(e) VTD_FIELD(e, 7, 7) /* snoop control */
#define ECAP_PRS(e) VTD_FIELD(e, 29, 29) /* page requests */
#define ECAP_PSS(e) VTD_FIELD(e, 39, 35) /* PASID bits supported - 1 */
#define ECAP_PASID(e) VTD_FIELD(e, 40, 40)
#define ECAP_SMTS(e) VTD_FIELD(e, 43, 43) /* scalable mode translation */
#define ECAP_SLTS(e) VTD_FIELD(e, 46, 46) /* second-stage translation (scalable mode) */
#define ECAP_FLTS(e) VTD_FIELD(e, 47, 47) /* first-stage translation (scalable mode) */
#define ECAP_SSADS(e) VTD_FIELD(e, 45, 45)

/* ------------------------------------------ GCMD / GSTS (§11.4.4.1-2) */
#define DMA_GCMD_TE VTD_BIT(31) /* translation enable */
#define DMA_GCMD_SRTP VTD_BIT(30) /* set root table pointer (one-shot) */
#define DMA_GCMD_SFL VTD_BIT(29) /* one-shot */
#define DMA_GCMD_EAFL VTD_BIT(28)
#define DMA_GCMD_WBF VTD_BIT(27) /* write-buffer flush (one-shot) */
#define DMA_GCMD_QIE VTD_BIT(26) /* queued invalidation enable */
#define DMA_GCMD_IRE VTD_BIT(25)
#define DMA_GCMD_SIRTP VTD_BIT(24) /* one-shot */
#define DMA_GCMD_CFI VTD_BIT(23)
#define DMA_GSTS_TES DMA_GCMD_TE
#define DMA_GSTS_RTPS DMA_GCMD_SRTP
#define DMA_GSTS_WBFS DMA_GCMD_WBF
#define DMA_GSTS_QIES DMA_GCMD_QIE
/*
 * §11.4.4.1: to change one command, software writes GCMD with the current
 * persistent status (GSTS) plus that one bit; the one-shot bits read back in
 * GSTS must not be written back.
 */
#define DMA_GSTS_ONESHOT (DMA_GCMD_SRTP | DMA_GCMD_SFL | DMA_GCMD_WBF | DMA_GCMD_SIRTP)

/* ------------------------------------------------- RTADDR_REG (§11.4.5) */
#define RTADDR_TTM_LEGACY (0ULL << 10)
#define RTADDR_TTM_SCALABLE (1ULL << 10)

/* ------------------------------------------------------ FSTS (§11.4.7.1) */
#define DMA_FSTS_PFO VTD_BIT(0) /* primary fault overflow, RW1C */
#define DMA_FSTS_PPF VTD_BIT(1) /* primary pending fault, RO */
#define DMA_FSTS_IQE VTD_BIT(4) /* invalidation queue error, RW1C */
#define DMA_FSTS_ICE VTD_BIT(5) /* invalidation completion error, RW1C */
#define DMA_FSTS_ITE VTD_BIT(6) /* invalidation time-out error, RW1C */
#define DMA_FSTS_PRO VTD_BIT(7) /* page request overflow, RW1C */
#define DMA_FSTS_FRI(s) VTD_FIELD(s, 15, 8)

#define DMA_FECTL_IM VTD_BIT(31) /* interrupt mask */
#define DMA_FECTL_IP VTD_BIT(30)

/* -------------------------------- fault recording register (§11.4.7.6) */
/* 128 bits at FRO + 16 * i; read as four dwords (offsets in the record). */
#define FRCD_LO 0x0 /* qword: FI, faulting page address 63:12 */
#define FRCD_HI_DW2 0x8 /* dword: SID 15:0, PRIV 29, EXE 30, PP 31 */
#define FRCD_HI_DW3 0xc /* dword: FR 7:0, PV 27:8, AT 29:28, T 30, F 31 */
#define FRCD_SID(dw2) VTD_FIELD(dw2, 15, 0)
#define FRCD_PP(dw2) VTD_FIELD(dw2, 31, 31)
#define FRCD_FR(dw3) VTD_FIELD(dw3, 7, 0)
#define FRCD_PV(dw3) VTD_FIELD(dw3, 27, 8)
#define FRCD_T(dw3) VTD_FIELD(dw3, 30, 30) /* 1: read (or AtomicOp) request, 0: write */
#define FRCD_F 0x80000000u /* fault; write 1 to clear */

/* Fault reasons used by the driver's reports (Appendix A, legacy mode). */
#define VTD_FR_ROOT_NOT_PRESENT 0x1
#define VTD_FR_CTX_NOT_PRESENT 0x2
#define VTD_FR_CTX_INVALID 0x3
#define VTD_FR_BEYOND_MGAW 0x4
#define VTD_FR_NO_WRITE 0x5
#define VTD_FR_NO_READ 0x6

/* ---------------------------------------------- IQA / ICS (§11.4.9.3-4) */
#define IQA_DW VTD_BIT(11) /* 256-bit descriptors */
#define IQA_QS(qs) ((uint64_t)(qs)&7) /* 2^(QS + 8) 128-bit entries, 4 KiB << QS */
#define ICS_IWC VTD_BIT(0) /* invalidation wait descriptor complete, RW1C */
#define IQ_INDEX_SHIFT 4 /* IQH/IQT hold the 128-bit descriptor index << 4 */

/* ------------------------------- page request queue (§7.5.1, §11.4.11) */
#define PRS_PPR VTD_BIT(0) /* pending page request, RW1C */
#define PRS_PRO VTD_BIT(1) /* page request overflow, RW1C */
#define PECTL_IM VTD_BIT(31)
#define PQA_PQS(qs) ((uint64_t)(qs)&7) /* 2^PQS pages of 32-byte descriptors */
#define PQ_INDEX_SHIFT 5 /* PQH/PQT hold the descriptor index << 5 (offset 18:5) */
/* Page request descriptor (§7.5.1.1): qw0 type 7:0, PP 8, RID 31:16, PASID 51:32; */
#define PRQ_PP(q0) VTD_FIELD(q0, 8, 8)
#define PRQ_RID(q0) VTD_FIELD(q0, 31, 16)
#define PRQ_PASID(q0) VTD_FIELD(q0, 51, 32)
/* qw1: R 0, W 1, LPIG 2, PRGI 11:3, page address 63:12. */
#define PRQ_R(q1) VTD_FIELD(q1, 0, 0)
#define PRQ_W(q1) VTD_FIELD(q1, 1, 1)
#define PRQ_LPIG(q1) VTD_FIELD(q1, 2, 2)
#define PRQ_PRGI(q1) VTD_FIELD(q1, 11, 3)

/* ------------------------------------------ invalidation descriptors (§6.5.2) */
#define QI_TYPE_CC 0x1 /* context-cache invalidate (§6.5.2.1) */
#define QI_TYPE_IOTLB 0x2 /* IOTLB invalidate (§6.5.2.3) */
#define QI_TYPE_DIOTLB 0x3 /* device-TLB invalidate (§6.5.2.5) */
#define QI_TYPE_WAIT 0x5 /* invalidation wait (§6.5.2.8) */
#define QI_TYPE_PIOTLB 0x6 /* PASID-based IOTLB invalidate (§6.5.2.4) */
#define QI_TYPE_PC 0x7 /* PASID-cache invalidate (§6.5.2.2) */

/* PASID-cache: qw0 G 5:4 (0 domain, 1 PASID-selective, 3 global), DID 31:16, PASID 51:32. */
#define QI_PC_GRAN_DOMAIN (0ULL << 4)
#define QI_PC_GRAN_PASID (1ULL << 4)
#define QI_PC_GRAN_GLOBAL (3ULL << 4)
#define QI_PC_DID(d) ((uint64_t)(d) << 16)
#define QI_PC_PASID(p) ((uint64_t)(p) << 32)

/* Context-cache: qw0 G 5:4, DID 31:16, SID 47:32, FM 49:48. */
#define QI_CC_GRAN_GLOBAL (1ULL << 4)
#define QI_CC_GRAN_DOMAIN (2ULL << 4)
#define QI_CC_GRAN_DEVICE (3ULL << 4)
#define QI_CC_DID(d) ((uint64_t)(d) << 16)
#define QI_CC_SID(s) ((uint64_t)(s) << 32)
#define QI_CC_FM(f) ((uint64_t)(f) << 48)

/* IOTLB: qw0 G 5:4, DW 6, DR 7, DID 31:16; qw1 AM 5:0, IH 6, ADDR 63:12. */
#define QI_IOTLB_GRAN_GLOBAL (1ULL << 4)
#define QI_IOTLB_GRAN_DOMAIN (2ULL << 4)
#define QI_IOTLB_GRAN_PAGE (3ULL << 4)
#define QI_IOTLB_DW VTD_BIT(6)
#define QI_IOTLB_DR VTD_BIT(7)
#define QI_IOTLB_DID(d) ((uint64_t)(d) << 16)
#define QI_IOTLB_AM(am) ((uint64_t)(am)&0x3f)
#define QI_IOTLB_IH VTD_BIT(6)

/*
 * PASID-based IOTLB (§6.5.2.4), for first-stage (and pass-through, nested)
 * mappings, which type 2 does not cover: qw0 G 5:4 (2: every non-global
 * entry of the PASID, 3: page-selective within the PASID), DID 31:16, PASID
 * 51:32; qw1 AM 5:0, IH 6, ADDR 63:12 (as the IOTLB descriptor).
 */
#define QI_PIOTLB_GRAN_PASID (2ULL << 4)
#define QI_PIOTLB_GRAN_PAGE (3ULL << 4)
#define QI_PIOTLB_DID(d) ((uint64_t)(d) << 16)
#define QI_PIOTLB_PASID(p) ((uint64_t)(p) << 32)

/*
 * Device-TLB (§6.5.2.5): qw0 PFSID 15:12 and 63:52 (only with ECAP.DIT; 0
 * here), MIP 20:16 (maximum invalidations pending, 0 = the PCIe default),
 * SID 47:32; qw1 S 0, ADDR 63:12. With S = 0 one 4 KiB page; with S = 1 the
 * size is encoded in the address as in a PCIe ATS invalidation request: the
 * run of 1s from bit 12 up ends at bit 12 + k and the range is 2^(13 + k)
 * bytes, aligned; ADDR 0x7fff_ffff_ffff_f (bits 62:12 all 1) covers all.
 */
#define QI_DEV_IOTLB_MIP(q) ((uint64_t)(q) << 16)
#define QI_DEV_IOTLB_SID(s) ((uint64_t)(s) << 32)
#define QI_DEV_IOTLB_S VTD_BIT(0)
#define QI_DEV_IOTLB_ADDR_MASK 0xfffffffffffff000ULL
#define QI_DEV_IOTLB_AM_ALL 52 /* 2^(12 + 52) bytes: the whole address space */

/* Wait: qw0 IF 4, SW 5, FN 6, status data 63:32; qw1 status address 63:2. */
#define QI_WAIT_IF VTD_BIT(4)
#define QI_WAIT_SW VTD_BIT(5)
#define QI_WAIT_FN VTD_BIT(6)
#define QI_WAIT_DATA(d) ((uint64_t)(d) << 32)

/* --------------------------------------- root and context entries (§9.1, §9.3) */
/* Legacy root entry (128 bits): lo P 0, CTP 63:12; hi reserved. */
#define ROOT_P VTD_BIT(0)
/* Legacy context entry: lo P 0, FPD 1, TT 3:2, SLPTPTR 63:12; hi AW 2:0, DID 23:8. */
#define CTX_P VTD_BIT(0)
#define CTX_FPD VTD_BIT(1)
#define CTX_TT_UNTRANSLATED (0ULL << 2) /* untranslated requests only */
#define CTX_TT_DEV_TLB (1ULL << 2) /* translation requests (ATS) allowed too */
#define CTX_TT_PASSTHROUGH (2ULL << 2)
#define CTX_HI_AW(aw) ((uint64_t)(aw)&7) /* 1: 39-bit 3-level, 2: 48/4, 3: 57/5 */
#define CTX_HI_DID(d) ((uint64_t)(d) << 8)
#define VTD_ADDR_MASK 0x000ffffffffff000ULL /* 51:12 */

/* ------------------------- scalable-mode structures (§9.2, §9.4-§9.6) */
/* Scalable root entry: lo LP 0, LCTP 63:12 (devfn 0-127); hi UP 0, UCTP 63:12 (128-255). */
#define SM_ROOT_P VTD_BIT(0)
/* Scalable context entry (256 bits, 128 per table): qw0 P 0, FPD 1, DTE 2, PASIDE 3,
 * PRE 4, PDTS 11:9 (directory of 2^(PDTS+7) entries), PASIDDIRPTR 63:12;
 * qw1 RID_PASID 19:0; qw2, qw3 reserved. */
#define SM_CTX_P VTD_BIT(0)
#define SM_CTX_DTE VTD_BIT(2)
#define SM_CTX_PDTS(x) ((uint64_t)(x) << 9)
#define SM_CTX_QWORDS 4
/* PASID directory entry (64 bits): P 0, FPD 1, SMPTBLPTR 63:12; index PASID 19:6. */
#define PDE_P VTD_BIT(0)
/* PASID table entry (512 bits, 64 per table; index PASID 5:0): qw0 P 0, FPD 1,
 * AW 4:2, PGTT 8:6, SSADE 9, SSPTPTR 63:12; qw1 DID 15:0; qw2 SRE 0, FSPM 3:2,
 * FSPTPTR 63:12. */
#define PE_P VTD_BIT(0)
#define PE_AW(aw) ((uint64_t)(aw) << 2)
#define PE_PGTT_FS (1ULL << 6) /* first-stage only */
#define PE_PGTT_SS (2ULL << 6) /* second-stage only */
#define PE_FSPM_5LVL (1ULL << 2) /* qw2 FSPM 3:2: 00 4-level, 01 5-level paging */
#define PE_QWORDS 8
#define INTEL_RID_PASID 0 /* the PASID requests without one use (IOMMU_NO_PASID) */

/* ----------------------------------- second-stage paging entries (§9.8) */
#define SL_PTE_R VTD_BIT(0)
#define SL_PTE_W VTD_BIT(1)
#define SL_PTE_PS VTD_BIT(7) /* large page (entries of 2 MiB and 1 GiB levels) */
#define SL_PTE_SNP VTD_BIT(11)
#define SL_PTE_PRESENT (SL_PTE_R | SL_PTE_W) /* no P bit: R or W means present */

/*
 * First-stage paging entries (§9.7, IA-32e format): P 0, R/W 1, U/S 2, A 5,
 * D 6, PS 7 (PDE / PDPE leaves), address 51:12, XD 63 (reserved unless
 * the PASID entry's NXE). Requests without PASID are user requests, so
 * every entry carries U/S; A (and D on writable leaves) are preset, as
 * Linux does, so the hardware never has to write them back.
 */
#define FL_PTE_P VTD_BIT(0)
#define FL_PTE_RW VTD_BIT(1)
#define FL_PTE_US VTD_BIT(2)
#define FL_PTE_A VTD_BIT(5)
#define FL_PTE_D VTD_BIT(6)
#define FL_PTE_PS VTD_BIT(7)

#endif /* IOMMUSIM_INTEL_REGS_H */
