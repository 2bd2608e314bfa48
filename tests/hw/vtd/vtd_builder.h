/* SPDX-License-Identifier: MIT */
/*
 * A VT-d table builder for tests, independent of any driver: a fake bus over
 * a malloc'd "physical memory" with a bump page allocator, register helpers,
 * and writers for root / context / PASID structures and page tables, each
 * returning the address of what it wrote so a test can corrupt exactly that
 * entry. Bit layouts are written here from the VT-d 3.4 spec (§9), on purpose
 * not shared with the model: two readings of the spec meet in the tests.
 */
#ifndef VTD_BUILDER_H
#define VTD_BUILDER_H

#include <stdbool.h>
#include <stdint.h>

#include <iommusim/hw.h>
#include <iommusim/hw_vtd.h>

/* Registers (§11.4) */
#define R_CAP 0x08
#define R_ECAP 0x10
#define R_GCMD 0x18
#define R_GSTS 0x1c
#define R_RTADDR 0x20
#define R_CCMD 0x28
#define R_FSTS 0x34
#define R_FECTL 0x38
#define R_FEDATA 0x3c
#define R_FEADDR 0x40
#define R_IQH 0x80
#define R_IQT 0x88
#define R_IQA 0x90
#define R_ICS 0x9c
#define R_IECTL 0xa0
#define R_IQER 0xb0
#define R_PQH 0xc0
#define R_PQT 0xc8
#define R_PQA 0xd0
#define R_PRS 0xdc

/* Second-stage PTE bits (§9.8) */
#define SS_R (1ull << 0)
#define SS_W (1ull << 1)
#define SS_PS (1ull << 7)
#define SS_A (1ull << 8)
#define SS_D (1ull << 9)
/* First-stage PTE bits (§9.7) */
#define FS_P (1ull << 0)
#define FS_RW (1ull << 1)
#define FS_US (1ull << 2)
#define FS_A (1ull << 5)
#define FS_D (1ull << 6)
#define FS_PS (1ull << 7)
#define FS_XD (1ull << 63)

/* PASID entry PGTT (§9.6) */
#define PGTT_FS 1
#define PGTT_SS 2
#define PGTT_NEST 3
#define PGTT_PT 4

#define VB_MAX_ABORTS 8

struct vb {
	uint8_t *mem;
	uint64_t size;
	uint64_t next_page;
	struct hwm_bus_ops ops;
	struct hwm_bus bus;
	uint64_t now;
	uint64_t abort_pa[VB_MAX_ABORTS]; /* reads of the 8 bytes at these addresses abort */
	unsigned naborts;
	unsigned irqs;
	uint64_t last_irq_addr;
	uint32_t last_irq_data;
	struct vtd_config cfg;
	struct hwm_iommu *iommu;
	uint64_t root; /* root table */
	bool scalable;
	uint64_t iq; /* invalidation queue page */
	uint64_t status; /* wait-descriptor status dword */
	/* Called after every read the model makes through the bus (when set):
	 * lets a test change memory and invalidate in the middle of a walk. */
	void (*after_read)(struct vb *b, uint64_t pa, size_t len);
	void *hook_arg;
};

/* Where a device's structures live (0 when not built). */
struct vb_dev {
	uint64_t root_entry; /* the 16-byte root entry */
	uint64_t ctx; /* the context entry */
	uint64_t pdir_entry; /* PASID directory entry */
	uint64_t pe; /* PASID table entry */
	uint64_t ss_root, fs_root;
};

/* The checker is on by default in tests (cfg.checker = true unless @cfg says). */
struct vtd_config vb_config(void);
void vb_init(struct vb *b, const struct vtd_config *cfg, bool scalable);
void vb_fini(struct vb *b);
uint64_t vb_page(struct vb *b); /* zeroed 4 KiB page */
uint64_t vb_rd64(struct vb *b, uint64_t pa);
void vb_wr64(struct vb *b, uint64_t pa, uint64_t v);
uint32_t vb_rd32(struct vb *b, uint64_t pa);

uint64_t vb_reg(struct vb *b, unsigned off, unsigned size);
void vb_wreg(struct vb *b, unsigned off, unsigned size, uint64_t v);

/* Root table + SRTP + (with QI) the invalidation queue + TE. */
void vb_enable(struct vb *b);

/* Legacy context entry for @rid: TT @tt, AW for @levels, DID @did; allocates the SS root. */
void vb_ctx_legacy(struct vb *b, uint16_t rid, uint16_t did, unsigned levels, unsigned tt,
		   struct vb_dev *d);
/*
 * Scalable context for @rid (PASIDE/DTE/PRE as flags) with a PASID directory
 * of 2^(pdts+7) entries, RID_PASID @rid_pasid.
 */
#define VB_CTX_PASIDE (1u << 0)
#define VB_CTX_DTE (1u << 1)
#define VB_CTX_PRE (1u << 2)
void vb_ctx_sm(struct vb *b, uint16_t rid, unsigned pdts, uint32_t rid_pasid, unsigned flags,
	       struct vb_dev *d);
/* PASID entry: allocates the SS and/or FS roots as PGTT needs. */
#define VB_PE_SSADE (1u << 0)
#define VB_PE_SRE (1u << 1)
#define VB_PE_WPE (1u << 2)
#define VB_PE_NXE (1u << 3)
void vb_pasid(struct vb *b, struct vb_dev *d, uint32_t pasid, unsigned pgtt, uint16_t did,
	      unsigned sslevels, unsigned fslevels, unsigned flags);

/*
 * Map @iova -> @pa with a leaf at @level (1 4K, 2 2M, 3 1G) and leaf @attrs
 * (SS_R|SS_W or FS_P|FS_RW|FS_US|...), creating intermediate tables (non-leaf
 * entries: SS R|W, FS P|RW|US). Returns the leaf entry's address.
 */
uint64_t vb_ss_map(struct vb *b, uint64_t root, unsigned levels, uint64_t iova, uint64_t pa,
		   unsigned level, uint64_t attrs);
uint64_t vb_fs_map(struct vb *b, uint64_t root, unsigned levels, uint64_t iova, uint64_t pa,
		   unsigned level, uint64_t attrs);
/* Nested: FS tables live at GPAs; @gpa_to_hpa is identity in this builder (SS maps 1:1). */

/* Queue one 128-bit descriptor (does not ring IQT when @ring is false). */
void vb_qi_put(struct vb *b, uint64_t qw0, uint64_t qw1, bool ring);
/* Queue a wait descriptor with a status write of @data, ring. */
void vb_qi_wait(struct vb *b, uint32_t data, bool intr);

/* Pop the next fault record (by scanning F bits from FRI). Returns reason or -1. */
int vb_pop_fault(struct vb *b, uint64_t rec[2]);

struct hwm_xlate vb_xlate(struct vb *b, uint16_t rid, uint64_t iova, uint32_t access);
struct hwm_xlate vb_xlate_pasid(struct vb *b, uint16_t rid, uint32_t pasid, uint64_t iova,
				uint32_t access);

#endif /* VTD_BUILDER_H */
