/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the device / HWPT / test-command tests: IOMMU_TEST_CMD
 * wrappers in the selftest's vocabulary, and a fail-nth sweep driver.
 * Everything goes through iommufd_ioctl (fx_ioctl), as a user program would.
 */
#ifndef IOMMUSIM_TEST_IOMMUFD_SELFTEST_UTIL_H
#define IOMMUSIM_TEST_IOMMUFD_SELFTEST_UTIL_H

#include <criterion/criterion.h>
#include <string.h>

#include <iommusim/iommufd_test.h>

#include "fixture.h"

#define MOCK_PG 2048ULL

static inline int st_cmd(struct fx *f, struct iommu_test_cmd *c)
{
	c->size = sizeof(*c);
	return fx_ioctl(f, IOMMU_TEST_CMD, c);
}

static inline int st_mock_domain_flags(struct fx *f, uint32_t pt_id, uint32_t dev_flags,
				       uint32_t *stdev, uint32_t *hwpt, uint32_t *idev)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS, .id = pt_id };
	int rc;

	c.mock_domain_flags.dev_flags = dev_flags;
	rc = st_cmd(f, &c);
	if (rc)
		return rc;
	if (stdev)
		*stdev = c.mock_domain.out_stdev_id;
	if (hwpt)
		*hwpt = c.mock_domain.out_hwpt_id;
	if (idev)
		*idev = c.mock_domain.out_idev_id;
	return 0;
}

static inline int st_mock_domain(struct fx *f, uint32_t pt_id, uint32_t *stdev, uint32_t *hwpt,
				 uint32_t *idev)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pt_id };
	int rc = st_cmd(f, &c);

	if (rc)
		return rc;
	if (stdev)
		*stdev = c.mock_domain.out_stdev_id;
	if (hwpt)
		*hwpt = c.mock_domain.out_hwpt_id;
	if (idev)
		*idev = c.mock_domain.out_idev_id;
	return 0;
}

static inline int st_replace(struct fx *f, uint32_t stdev, uint32_t *pt_id)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = stdev };
	int rc;

	c.mock_domain_replace.pt_id = *pt_id;
	rc = st_cmd(f, &c);
	if (!rc)
		*pt_id = c.mock_domain_replace.pt_id;
	return rc;
}

static inline int st_check_map(struct fx *f, uint32_t hwpt, uint64_t iova, uint64_t len,
			       uint64_t va)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = hwpt };

	c.check_map.iova = iova;
	c.check_map.length = len;
	c.check_map.uptr = va;
	return st_cmd(f, &c);
}

static inline int st_check_refs(struct fx *f, uint64_t va, uint64_t len, uint32_t refs)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_MD_CHECK_REFS };

	c.check_refs.uptr = va;
	c.check_refs.length = len;
	c.check_refs.refs = refs;
	return st_cmd(f, &c);
}

static inline int st_add_reserved(struct fx *f, uint32_t ioas, uint64_t start, uint64_t len)
{
	struct iommu_test_cmd c = { .op = IOMMU_TEST_OP_ADD_RESERVED, .id = ioas };

	c.add_reserved.start = start;
	c.add_reserved.length = len;
	return st_cmd(f, &c);
}

static inline int st_hwpt_alloc(struct fx *f, uint32_t dev_id, uint32_t pt_id, uint32_t flags,
				uint32_t *out)
{
	struct iommu_hwpt_alloc c = {
		.size = sizeof(c), .flags = flags, .dev_id = dev_id, .pt_id = pt_id
	};
	int rc = fx_ioctl(f, IOMMU_HWPT_ALLOC, &c);

	if (!rc && out)
		*out = c.out_hwpt_id;
	return rc;
}

static inline uint64_t st_alignment(struct fx *f, uint32_t ioas, struct iommu_iova_range *r0,
				    uint32_t *n)
{
	struct iommu_iova_range ranges[8];
	struct iommu_ioas_iova_ranges c = { .size = sizeof(c),
					    .ioas_id = ioas,
					    .num_iovas = 8,
					    .allowed_iovas = (uintptr_t)ranges };

	if (fx_ioctl(f, IOMMU_IOAS_IOVA_RANGES, &c))
		return 0;
	if (r0)
		*r0 = ranges[0];
	if (n)
		*n = c.num_iovas;
	return c.out_iova_alignment;
}

/* Fill @len bytes of process memory at @va with a pattern derived from @seed. */
static inline void st_fill(struct fx *f, uint64_t va, uint64_t len, uint8_t seed)
{
	uint8_t buf[4096];

	for (uint64_t off = 0; off < len; off += sizeof(buf)) {
		uint64_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

		for (uint64_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(seed + (off + i) * 7);
		mach_copy_to_user(f->p, va + off, buf, n);
	}
}

/*
 * A fail-nth sweep: for n = 1, 2, ... build a fresh fixture with @setup,
 * fail the nth injection point during @run, then let @verify check the
 * state (and usually retry @run uninjected), and assert a leak-free close.
 * Stops at the first n that @run completes without reaching; returns that n.
 */
typedef int (*st_step_fn)(struct fx *f, void *arg);
typedef void (*st_verify_fn)(struct fx *f, void *arg, int rc);

static inline unsigned st_sweep(st_step_fn setup, st_step_fn run, st_verify_fn verify, void *arg)
{
	unsigned n;

	for (n = 1; n < 100000; n++) {
		struct fx f;
		bool fired;
		int rc;

		cr_assert_eq(fx_init(&f, 64 * MiB), 0);
		cr_assert_eq(setup ? setup(&f, arg) : 0, 0, "sweep setup");
		fault_set_nth(mach_fault(f.m), n);
		rc = run(&f, arg);
		fired = fault_nth_fired(mach_fault(f.m));
		fault_disarm(mach_fault(f.m));
		if (verify)
			verify(&f, arg, rc);
		cr_assert_eq(fx_fini(&f), 0, "leak or drift after failing injection point %u", n);
		if (!fired)
			break;
	}
	return n;
}

#endif
