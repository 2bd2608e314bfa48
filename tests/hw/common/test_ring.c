/* SPDX-License-Identifier: MIT */
/* The in-memory ring helper (hw-models/common/hwm_ring.h): wrap, full, overflow. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "../../../hw-models/common/hwm_ring.h"

static uint8_t mem[4096];

static int rd(void *c, uint64_t pa, void *b, size_t n)
{
	if (pa + n > sizeof(mem))
		return HWM_MEM_ABORT;
	memcpy(b, mem + pa, n);
	return HWM_MEM_OK;
}

static int wr(void *c, uint64_t pa, const void *b, size_t n)
{
	if (pa + n > sizeof(mem))
		return HWM_MEM_ABORT;
	memcpy(mem + pa, b, n);
	return HWM_MEM_OK;
}

static const struct hwm_bus_ops ops = { .read = rd, .write = wr };

Test(hwm_ring, wrap_full_overflow)
{
	struct hwm_bus bus = { .ops = &ops };
	struct hwm_ring r;
	uint64_t v, out;

	cr_assert_eq(hwm_ring_init(&r, 0x100, 4, 8), 0);
	cr_assert(hwm_ring_empty(&r));
	cr_assert_eq(hwm_ring_peek(&bus, &r, &out), -EAGAIN);
	for (v = 1; v <= 3; v++)
		cr_assert_eq(hwm_ring_produce(&bus, &r, &v), HWM_MEM_OK);
	cr_assert(hwm_ring_full(&r), "one slot stays empty");
	cr_assert_eq(hwm_ring_used(&r), 3);
	cr_assert_eq(hwm_ring_produce(&bus, &r, &v), -ENOSPC);
	for (uint64_t want = 1; want <= 2; want++) {
		cr_assert_eq(hwm_ring_peek(&bus, &r, &out), HWM_MEM_OK);
		cr_assert_eq(out, want);
		hwm_ring_advance_head(&r);
	}
	for (v = 10; v <= 11; v++)
		cr_assert_eq(hwm_ring_produce(&bus, &r, &v), HWM_MEM_OK);
	cr_assert_eq(r.tail, 1, "wrapped");
	cr_assert_eq(hwm_ring_used(&r), 3);
	uint64_t want[] = { 3, 10, 11 };
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(hwm_ring_peek(&bus, &r, &out), HWM_MEM_OK);
		cr_assert_eq(out, want[i]);
		hwm_ring_advance_head(&r);
	}
	cr_assert(hwm_ring_empty(&r));
	cr_assert_eq(hwm_ring_read(&bus, &r, 4, &out), -EINVAL);
	cr_assert_eq(hwm_ring_init(&r, 0, 0, 8), -EINVAL);
	/* an aborting slot is reported, not consumed */
	cr_assert_eq(hwm_ring_init(&r, 4096 - 8, 2, 8), 0);
	v = 1;
	cr_assert_eq(hwm_ring_produce(&bus, &r, &v), HWM_MEM_OK);
	cr_assert_eq(hwm_ring_produce(&bus, &r, &v), -ENOSPC);
	r.head = 1;
	r.tail = 1;
	cr_assert_eq(hwm_ring_produce(&bus, &r, &v), HWM_MEM_ABORT);
	cr_assert_eq(r.tail, 1);
}
