// SPDX-License-Identifier: MIT
/* Tests for the header-only helpers: util.h arithmetic and the list.h list. */
#include <criterion/criterion.h>

#include "lib/list.h"
#include "lib/util.h"

Test(util, align_and_pow2)
{
	uint64_t out = 0;

	cr_assert_eq(ALIGN_UP(4097, 4096), 8192);
	cr_assert_eq(ALIGN_UP(4096, 4096), 4096);
	cr_assert_eq(ALIGN_DOWN(UINT64_MAX, 4096), UINT64_MAX - 4095);
	cr_assert(IS_ALIGNED(0x200000, 0x200000) && !IS_ALIGNED(0x201000, 0x200000));
	cr_assert(align_up_overflow(UINT64_MAX - 10, 4096, &out));
	cr_assert(!align_up_overflow(UINT64_MAX - 4095, 4096, &out) && out == UINT64_MAX - 4095);
	cr_assert(is_power_of_2(1) && is_power_of_2(UINT64_C(1) << 63));
	cr_assert(!is_power_of_2(0) && !is_power_of_2(6));
	cr_assert_eq(roundup_pow_of_two(0), 1);
	cr_assert_eq(roundup_pow_of_two(5), 8);
	cr_assert_eq(roundup_pow_of_two(UINT64_C(1) << 63), UINT64_C(1) << 63);
	cr_assert_eq(roundup_pow_of_two((UINT64_C(1) << 63) + 1), 0);
	cr_assert_eq(rounddown_pow_of_two(1000), 512);
	cr_assert_eq(ilog2(1), 0);
	cr_assert_eq(ilog2(4096), 12);
	cr_assert_eq(ilog2(UINT64_MAX), 63);
	cr_assert_eq(fls64(0), 0);
	cr_assert_eq(fls64(UINT64_C(1) << 63), 64);
	cr_assert_eq(ffs64(0), 0);
	cr_assert_eq(ffs64(0x50), 5);
	cr_assert_eq(popcount64(UINT64_MAX), 64);
}

Test(util, minmax_overflow_once)
{
	int calls = 0;
	uint64_t s;

	cr_assert_eq(min(3, 5), 3);
	cr_assert_eq(max(UINT64_MAX, (uint64_t)1), UINT64_MAX);
	cr_assert_eq(min_t(int64_t, -1, 3u), -1);
	cr_assert_eq(max(calls++, 0), 0);
	cr_assert_eq(calls, 1, "arguments evaluated once");
	cr_assert_eq(clamp(17, 0, 10), 10);
	cr_assert(check_add_overflow(UINT64_MAX, (uint64_t)1, &s));
	cr_assert(!check_add_overflow(UINT64_MAX - 1, (uint64_t)1, &s) && s == UINT64_MAX);
	WRITE_ONCE(s, 42);
	cr_assert_eq(READ_ONCE(s), 42);
	cr_assert_eq(ARRAY_SIZE((int[7]){ 0 }), 7);
}

struct elem {
	int v;
	struct list_head link;
};

Test(list, add_del_iterate)
{
	LIST_HEAD(head);
	struct elem e[6], *pos, *n;
	int i = 0;

	cr_assert(list_empty(&head));
	for (int k = 0; k < 6; k++) {
		e[k].v = k;
		if (k % 2)
			list_add_tail(&e[k].link, &head); /* 1 3 5 at the tail */
		else
			list_add(&e[k].link, &head); /* 4 2 0 at the front */
	}
	static const int order[] = { 4, 2, 0, 1, 3, 5 };

	list_for_each_entry(pos, &head, link) cr_assert_eq(pos->v, order[i++]);
	cr_assert_eq(i, 6);
	i = 6;
	list_for_each_entry_reverse(pos, &head, link) cr_assert_eq(pos->v, order[--i]);
	cr_assert_eq(list_first_entry(&head, struct elem, link)->v, 4);
	cr_assert_eq(list_last_entry(&head, struct elem, link)->v, 5);

	/* Delete the even ones while iterating. */
	list_for_each_entry_safe(pos, n, &head, link)
	{
		if (pos->v % 2 == 0)
			list_del(&pos->link);
	}
	i = 0;
	list_for_each_entry(pos, &head, link)
	{
		cr_assert_eq(pos->v % 2, 1);
		i++;
	}
	cr_assert_eq(i, 3);
	cr_assert_null(e[0].link.next, "list_del poisons with NULL");

	LIST_HEAD(other);
	list_move_tail(&e[1].link, &other);
	cr_assert(list_is_singular(&other));
	list_splice_tail_init(&head, &other); /* other: 1 3 5 */
	cr_assert(list_empty(&head));
	i = 0;
	list_for_each_entry(pos, &other, link) cr_assert_eq(pos->v, 2 * i++ + 1);
	cr_assert_eq(i, 3);
	list_del_init(&e[3].link);
	cr_assert(list_empty(&e[3].link));
	cr_assert_null(list_first_entry_or_null(&head, struct elem, link));
}
