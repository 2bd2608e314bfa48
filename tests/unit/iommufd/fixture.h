/* SPDX-License-Identifier: MIT */
/*
 * Test support for the iommufd core tests: a machine with one user and one
 * process, an iommufd context on it, helpers for the ioctls, and mock
 * domains attached straight to an IOAS's io_pagetable (no device objects,
 * so these tests exercise io_pagetable.c and pages.c on their own).
 *
 * fx_fini() is also the leak check: after closing the context no frame may
 * be pinned and locked_vm / pinned_vm must be back to zero.
 */
#ifndef IOMMUSIM_TEST_IOMMUFD_FIXTURE_H
#define IOMMUSIM_TEST_IOMMUFD_FIXTURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <iommusim/fault.h>
#include <iommusim/iommufd.h>
#include <iommusim/iommufd_ctx.h>
#include <iommusim/machine.h>

#include "iommu/iommu.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define PG 4096ULL
#define RW (MACH_PROT_READ | MACH_PROT_WRITE)
#define MAP_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

struct fx_dom {
	struct iommu_dev *dev;
	struct iommu_domain *domain;
	uint32_t ioas_id;
};

struct fx {
	struct mach *m;
	struct mach_user *u;
	struct mach_proc *p;
	struct iommufd_ctx *ictx;
	struct iommu_device *mock;
	struct fx_dom doms[4];
	unsigned int ndoms;
	uint32_t next_dev_id;
};

/* Machine of @mem bytes (0: 256 MiB), rlimit infinite unless changed later. */
static inline int fx_init(struct fx *f, uint64_t mem);
/* Close everything; returns 0 when nothing leaked (pins, locked_vm, pinned_vm). */
static inline int fx_fini(struct fx *f);
/* Same, without the checks (for failure paths). */
static inline void fx_teardown(struct fx *f);

static inline int fx_ioctl(struct fx *f, unsigned long cmd, void *arg); /* 0 or -errno */
static inline int fx_ioas_alloc(struct fx *f, uint32_t *id);
static inline int fx_map(struct fx *f, uint32_t ioas, uint64_t va, uint64_t len, uint64_t *iova,
			 uint32_t flags);
static inline int fx_map_fixed(struct fx *f, uint32_t ioas, uint64_t va, uint64_t len,
			       uint64_t iova);
static inline int fx_unmap(struct fx *f, uint32_t ioas, uint64_t iova, uint64_t len,
			   uint64_t *unmapped);
static inline int fx_copy(struct fx *f, uint32_t dst, uint32_t src, uint64_t src_iova, uint64_t len,
			  uint64_t *dst_iova, uint32_t flags);
static inline int fx_destroy(struct fx *f, uint32_t id);
static inline int fx_reserve(struct fx *f, uint32_t ioas, uint64_t start, uint64_t last);
static inline int fx_option(struct fx *f, uint32_t option, uint16_t op, uint32_t obj,
			    uint64_t *val);

/* Anonymous memory in the process (populated: false leaves it to faulting). */
static inline uint64_t fx_mmap(struct fx *f, uint64_t len, unsigned prot, unsigned flags);

/* Attach a mock domain (dev_flags MOCK_FLAGS_DEVICE_*) to IOAS @ioas. Returns index or -errno. */
static inline int fx_add_domain(struct fx *f, uint32_t ioas, uint32_t dev_flags);
static inline void fx_del_domain(struct fx *f, int idx);

/* Does the domain hold @iova -> the pfn of process address @va? */
static inline bool fx_dom_maps(struct fx *f, int idx, uint64_t iova, uint64_t va);
static inline bool fx_dom_empty_at(struct fx *f, int idx, uint64_t iova);

static inline uint64_t fx_pinned_frames(struct fx *f);
static inline int fx_check_ioas(struct fx *f, uint32_t ioas); /* iopt_check_invariants */

#include "fixture_impl.h"

#endif
