/* SPDX-License-Identifier: MIT */
/*
 * The fixture several machine tests share: a 64 MiB machine, user 1000 and
 * one process, made before each test and destroyed after it. Included by
 * one test file each, so every test program has its own copy.
 */
#ifndef IOMMUSIM_TEST_MACHINE_FIXTURE_H
#define IOMMUSIM_TEST_MACHINE_FIXTURE_H

#include <criterion/criterion.h>

#include <iommusim/machine.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define PG 4096ULL
#define RW (MACH_PROT_READ | MACH_PROT_WRITE)

static struct mach *m;
static struct mach_user *u;
static struct mach_proc *p;

static void setup(void)
{
	struct mach_config cfg = { .mem_size = 64 * MiB };

	cr_assert_eq(mach_create(&cfg, &m), 0);
	cr_assert_eq(mach_user_get(m, 1000, &u), 0);
	cr_assert_eq(mach_proc_create(m, u, &p), 0);
}

static void teardown(void)
{
	mach_proc_destroy(p);
	mach_user_put(u);
	mach_destroy(m);
}

#endif /* IOMMUSIM_TEST_MACHINE_FIXTURE_H */
