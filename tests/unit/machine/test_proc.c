/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/machine/proc.c: users (lookup by uid, references),
 * processes, accounting (limits, -ENOMEM changing nothing, uncharge,
 * concurrent charges), mmap / munmap / mprotect rules and errors.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/machine.h>
#include <iommusim/trace.h>

#include "machine_fixture.h"

TestSuite(proc, .init = setup, .fini = teardown);

Test(proc, users_by_uid)
{
	struct mach_user *a, *b, *c;

	cr_assert_eq(mach_user_get(m, 1000, &a), 0);
	cr_assert_eq(a, u);
	cr_assert_eq(mach_user_get(m, 0, &b), 0);
	cr_assert_neq(b, u);
	cr_assert_eq(mach_user_uid(b), 0);
	cr_assert_eq(mach_user_charge_locked(a, 5, MACH_RLIM_INFINITY), 0);
	cr_assert_eq(mach_user_locked_vm(u), 5, "one user per uid");
	mach_user_put(a);
	mach_user_put(b);
	/* uid 0 is gone; a new one starts from zero. */
	cr_assert_eq(mach_user_get(m, 0, &c), 0);
	cr_assert_eq(mach_user_locked_vm(c), 0);
	mach_user_put(c);
	mach_user_uncharge_locked(u, 5);
	cr_assert_eq(mach_proc_user(p), u);
	cr_assert_eq(mach_proc_machine(p), m);
}

Test(proc, proc_defaults_and_setters)
{
	cr_assert_eq(mach_proc_rlimit_memlock(p), 8 * MiB);
	cr_assert_not(mach_proc_cap_ipc_lock(p));
	mach_proc_set_rlimit_memlock(p, MACH_RLIM_INFINITY);
	mach_proc_set_cap_ipc_lock(p, true);
	cr_assert_eq(mach_proc_rlimit_memlock(p), MACH_RLIM_INFINITY);
	cr_assert(mach_proc_cap_ipc_lock(p));
	cr_assert_eq(mach_proc_locked_vm(p), 0);
	cr_assert_eq(mach_proc_pinned_vm(p), 0);
	/* The user outlives a put while a process holds it. */
	struct mach_proc *q;
	struct mach_user *v;
	cr_assert_eq(mach_user_get(m, 7, &v), 0);
	cr_assert_eq(mach_proc_create(m, v, &q), 0);
	mach_user_put(v);
	cr_assert_eq(mach_user_uid(mach_proc_user(q)), 7);
	mach_proc_destroy(q);
}

Test(proc, accounting_limits)
{
	cr_assert_eq(mach_user_charge_locked(u, 10, 16), 0);
	cr_assert_eq(mach_user_charge_locked(u, 6, 16), 0);
	cr_assert_eq(mach_user_locked_vm(u), 16);
	cr_assert_eq(mach_user_charge_locked(u, 1, 16), -ENOMEM);
	cr_assert_eq(mach_user_locked_vm(u), 16, "a failed charge changes nothing");
	cr_assert_eq(mach_user_charge_locked(u, UINT64_MAX, MACH_RLIM_INFINITY), -ENOMEM,
		     "overflow");
	cr_assert_eq(mach_user_charge_locked(u, 100, MACH_RLIM_INFINITY), 0);
	mach_user_uncharge_locked(u, 116);
	cr_assert_eq(mach_user_locked_vm(u), 0);

	cr_assert_eq(mach_proc_charge_locked(p, 3, 3), 0);
	cr_assert_eq(mach_proc_charge_locked(p, 1, 3), -ENOMEM);
	cr_assert_eq(mach_proc_locked_vm(p), 3);
	mach_proc_uncharge_locked(p, 3);
	cr_assert_eq(mach_proc_locked_vm(p), 0);
	mach_proc_add_pinned(p, 42);
	mach_proc_add_pinned(p, -40);
	cr_assert_eq(mach_proc_pinned_vm(p), 2);
	mach_proc_add_pinned(p, -2);

	cr_assert_eq(fault_set_filter(mach_fault(m), FAULT_CLASS_ACCOUNT, "mach.account"), 0);
	fault_set_nth(mach_fault(m), 2);
	cr_assert_eq(mach_user_charge_locked(u, 1, MACH_RLIM_INFINITY), 0);
	cr_assert_eq(mach_proc_charge_locked(p, 1, MACH_RLIM_INFINITY), -ENOMEM);
	cr_assert(fault_nth_fired(mach_fault(m)));
	fault_disarm(mach_fault(m));
	cr_assert_eq(mach_proc_locked_vm(p), 0);
	mach_user_uncharge_locked(u, 1);
}

struct charge_arg {
	struct mach_user *u;
	long ok;
};

static void *charger(void *arg)
{
	struct charge_arg *a = arg;

	for (int i = 0; i < 20000; i++)
		if (mach_user_charge_locked(a->u, 1, 1000) == 0)
			a->ok++;
	return NULL;
}

Test(proc, concurrent_charges_respect_limit)
{
	pthread_t t[4];
	struct charge_arg a[4];

	for (int i = 0; i < 4; i++) {
		a[i] = (struct charge_arg){ .u = u };
		pthread_create(&t[i], NULL, charger, &a[i]);
	}
	long ok = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ok += a[i].ok;
	}
	cr_assert_eq(ok, 1000);
	cr_assert_eq(mach_user_locked_vm(u), 1000);
	mach_user_uncharge_locked(u, 1000);
}

static int account_cb(const struct trace_record *rec, void *arg)
{
	char *line = arg;

	if (rec->event == TRACE_EV_mach_account_charge)
		trace_format_text(rec, line, 256);
	return 0;
}

Test(proc, account_trace)
{
	char line[256] = "";

	cr_assert_eq(trace_enable_pattern(mach_trace(m), "mach:account_charge"), 1);
	cr_assert_eq(mach_user_charge_locked(u, 4, MACH_RLIM_INFINITY), 0);
	trace_collect(mach_trace(m), account_cb, line);
	cr_assert_not_null(strstr(line, "mach:account_charge: kind=user id=1000 npages=4 total=4"),
			   "%s", line);
	mach_user_uncharge_locked(u, 4);
}

Test(proc, mmap_errors)
{
	uint64_t va;

	cr_assert_eq(mach_mmap(p, 0, 0, RW, 0, NULL, 0, &va), -EINVAL);
	cr_assert_eq(mach_mmap(p, 0, PG, 0x10, 0, NULL, 0, &va), -EINVAL);
	cr_assert_eq(mach_mmap(p, 0, PG, RW, 0x1000, NULL, 0, &va), -EINVAL);
	cr_assert_eq(mach_mmap(p, 0, PG, RW, MACH_MAP_HUGE_2M | MACH_MAP_HUGE_1G, NULL, 0, &va),
		     -EINVAL);
	cr_assert_eq(mach_mmap(p, 0, PG, RW, MACH_MAP_HUGE_2M | MACH_MAP_SHARED, NULL, 0, &va),
		     -EINVAL);
	cr_assert_eq(mach_mmap(p, PG, PG, RW, MACH_MAP_FIXED | MACH_MAP_HUGE_2M, NULL, 0, &va),
		     -EINVAL);
	cr_assert_eq(mach_mmap(p, 0x1001, PG, RW, MACH_MAP_FIXED, NULL, 0, &va), -EINVAL);
	cr_assert_eq(mach_mmap(p, 1ULL << 57, PG, RW, MACH_MAP_FIXED, NULL, 0, &va), -ENOMEM);
	cr_assert_eq(mach_mmap(p, 0, 1ULL << 58, RW, 0, NULL, 0, &va), -ENOMEM);
	cr_assert_eq(mach_munmap(p, 0x1001, PG), -EINVAL);
	cr_assert_eq(mach_munmap(p, 0x1000, 0), -EINVAL);
	cr_assert_eq(mach_munmap(p, 0x1000, PG), 0, "unmapping nothing is fine");
	cr_assert_eq(mach_mprotect(p, 0x1001, PG, RW), -EINVAL);
	cr_assert_eq(mach_mprotect(p, 0x1000, 0, RW), 0);
	cr_assert_eq(mach_mprotect(p, 0x1000, PG, RW), -ENOMEM, "unmapped");
}

Test(proc, mmap_placement_hint_fixed)
{
	uint64_t a, b, c, h;

	cr_assert_eq(mach_mmap(p, 0, 3 * PG, RW, 0, NULL, 0, &a), 0);
	cr_assert_eq(mach_mmap(p, 0, PG, RW, 0, NULL, 0, &b), 0);
	cr_assert(b >= a + 3 * PG || b + PG <= a, "no overlap");
	cr_assert_eq(mach_mmap(p, 0x40000000, PG, RW, 0, NULL, 0, &h), 0);
	cr_assert_eq(h, 0x40000000, "a free hint is taken");
	cr_assert_eq(mach_mmap(p, 0x40000000, PG, RW, 0, NULL, 0, &c), 0);
	cr_assert_neq(c, 0x40000000, "a taken hint is not");
	cr_assert_eq(mach_mmap(p, 0, 2 * MiB, RW, MACH_MAP_HUGE_2M, NULL, 0, &c), 0);
	cr_assert_eq(c % (2 * MiB), 0);
	cr_assert_eq(mach_mmap(p, 0, 1, RW, MACH_MAP_HUGE_1G, NULL, 0, &c), 0);
	cr_assert_eq(c % GiB, 0, "huge mappings are aligned and rounded up");
	/* FIXED over the middle of a replaces it, dropping its pages. */
	uint8_t x = 7, y = 1;
	cr_assert_eq(mach_copy_to_user(p, a + PG, &x, 1), 0);
	cr_assert_eq(mach_mmap(p, a + PG, PG, MACH_PROT_READ, MACH_MAP_FIXED, NULL, 0, &c), 0);
	cr_assert_eq(c, a + PG);
	cr_assert_eq(mach_copy_from_user(p, &y, a + PG, 1), 0);
	cr_assert_eq(y, 0);
	cr_assert_eq(mach_copy_to_user(p, a + PG, &x, 1), -EPERM);
	cr_assert_eq(mach_copy_to_user(p, a + 2 * PG, &x, 1), 0);
}

Test(proc, munmap_splits_and_mprotect)
{
	uint64_t a, pfn[1];
	uint8_t x = 3;

	cr_assert_eq(mach_mmap(p, 0, 8 * PG, RW, MACH_MAP_POPULATE, NULL, 0, &a), 0);
	struct mach_mem_stats st;
	mach_mem_stats(m, &st);
	uint64_t free_after = st.free_frames;
	/* Punch a hole: the two sides remain. */
	cr_assert_eq(mach_munmap(p, a + 2 * PG, 2 * PG), 0);
	mach_mem_stats(m, &st);
	cr_assert_eq(st.free_frames, free_after + 2);
	cr_assert_eq(mach_copy_to_user(p, a + PG, &x, 1), 0);
	cr_assert_eq(mach_copy_to_user(p, a + 2 * PG, &x, 1), -EFAULT);
	cr_assert_eq(mach_copy_to_user(p, a + 4 * PG, &x, 1), 0);
	/* mprotect across the hole fails, inside one side splits. */
	cr_assert_eq(mach_mprotect(p, a, 8 * PG, MACH_PROT_READ), -ENOMEM);
	cr_assert_eq(mach_mprotect(p, a + 5 * PG, PG, MACH_PROT_READ), 0);
	cr_assert_eq(mach_pin_user_pages(p, a + 4 * PG, 1, MACH_PIN_WRITE, pfn), 1);
	mach_unpin_pages(m, pfn, 1);
	cr_assert_eq(mach_pin_user_pages(p, a + 5 * PG, 1, MACH_PIN_WRITE, pfn), -EPERM);
	cr_assert_eq(mach_pin_user_pages(p, a + 6 * PG, 1, MACH_PIN_WRITE, pfn), 1);
	mach_unpin_pages(m, pfn, 1);
	cr_assert_eq(mach_mprotect(p, a + 4 * PG, 4 * PG, RW), 0);
	cr_assert_eq(mach_pin_user_pages(p, a + 5 * PG, 1, MACH_PIN_WRITE, pfn), 1);
	mach_unpin_pages(m, pfn, 1);
	/* Huge regions are never cut inside a huge page. */
	uint64_t h;
	cr_assert_eq(mach_mmap(p, 0, 4 * MiB, RW, MACH_MAP_HUGE_2M, NULL, 0, &h), 0);
	cr_assert_eq(mach_mprotect(p, h, PG, MACH_PROT_READ), -EINVAL);
	cr_assert_eq(mach_mprotect(p, h, 2 * MiB, MACH_PROT_READ), 0);
	cr_assert_eq(mach_pin_user_pages(p, h + PG, 1, MACH_PIN_WRITE, pfn), -EPERM);
	cr_assert_eq(mach_pin_user_pages(p, h + 2 * MiB, 1, MACH_PIN_WRITE, pfn), 1);
	mach_unpin_pages(m, pfn, 1);
	cr_assert_eq(mach_munmap(p, h + PG, 2 * MiB), -EINVAL);
	cr_assert_eq(mach_munmap(p, h, 4 * MiB), 0);
	cr_assert_eq(mach_munmap(p, a, 8 * PG), 0);
	mach_mem_stats(m, &st);
	cr_assert_eq(st.free_frames, free_after + 8);
}

Test(proc, region_array_alloc_failure)
{
	uint64_t a;

	cr_assert_eq(mach_mmap(p, 0, 8 * PG, RW, 0, NULL, 0, &a), 0);
	/* Fill the array to capacity (8), then the next split must allocate. */
	for (int i = 0; i < 7; i++) {
		uint64_t x;

		cr_assert_eq(mach_mmap(p, 0, PG, RW, 0, NULL, 0, &x), 0);
	}
	cr_assert_eq(fault_set_filter(mach_fault(m), FAULT_CLASS_ALLOC, "mach.region_alloc"), 0);
	fault_set_nth(mach_fault(m), 1);
	cr_assert_eq(mach_munmap(p, a + 2 * PG, PG), -ENOMEM);
	cr_assert(fault_nth_fired(mach_fault(m)));
	fault_disarm(mach_fault(m));
	uint8_t x = 1;
	cr_assert_eq(mach_copy_to_user(p, a + 2 * PG, &x, 1), 0, "still mapped");
	cr_assert_eq(mach_munmap(p, a + 2 * PG, PG), 0);
	cr_assert_eq(mach_copy_to_user(p, a + 2 * PG, &x, 1), -EFAULT);
}
