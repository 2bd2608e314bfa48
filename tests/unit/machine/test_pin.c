/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/machine/pin.c: pinning and unpinning anonymous, huge,
 * host-backed and shared pages; -EPERM / -EFAULT / -EINVAL; pins outliving
 * munmap and process destruction; copies through the page tables; a
 * 1 TiB DATALESS huge-page pin; a multi-threaded stress; a fail-nth sweep.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/machine.h>

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define PG 4096ULL

struct env {
	struct mach *m;
	struct mach_user *u;
	struct mach_proc *p;
};

static void env_init(struct env *e, uint64_t size, enum mach_backing b)
{
	struct mach_config cfg = { .mem_size = size, .backing = b, .seed = 1 };

	cr_assert_eq(mach_create(&cfg, &e->m), 0);
	cr_assert_eq(mach_user_get(e->m, 1000, &e->u), 0);
	cr_assert_eq(mach_proc_create(e->m, e->u, &e->p), 0);
}

static void env_fini(struct env *e)
{
	mach_proc_destroy(e->p);
	mach_user_put(e->u);
	mach_destroy(e->m);
}

static struct mach_mem_stats stats(struct mach *m)
{
	struct mach_mem_stats st;

	mach_mem_stats(m, &st);
	return st;
}

static struct mach_frame_info finfo(struct mach *m, uint64_t pfn)
{
	struct mach_frame_info fi;

	cr_assert_eq(mach_frame_query(m, pfn, &fi), 0);
	return fi;
}

Test(pin, anon_pin_unpin_counts)
{
	struct env e;
	uint64_t va, pfns[8];
	uint8_t b = 0x42, r = 0;

	env_init(&e, 64 * MiB, MACH_BACKING_OWNED);
	uint64_t free0 = stats(e.m).free_frames;
	cr_assert_eq(mach_mmap(e.p, 0, 8 * PG, MACH_PROT_READ | MACH_PROT_WRITE, 0, NULL, 0, &va),
		     0);
	cr_assert_eq(stats(e.m).free_frames, free0, "mmap allocates nothing");
	cr_assert_eq(mach_copy_to_user(e.p, va + 3 * PG + 5, &b, 1), 0);
	cr_assert_eq(mach_pin_user_pages(e.p, va, 8, MACH_PIN_WRITE, pfns), 8);
	cr_assert_eq(stats(e.m).free_frames, free0 - 8);
	cr_assert_eq(stats(e.m).pinned_frames, 8);
	for (int i = 0; i < 8; i++) {
		struct mach_frame_info fi = finfo(e.m, pfns[i]);

		cr_assert_eq(fi.refcount, 2, "mapping + pin");
		cr_assert_eq(fi.pincount, 1);
		for (int j = 0; j < i; j++)
			cr_assert_neq(pfns[i], pfns[j]);
	}
	cr_assert_eq(mach_phys_read(e.m, (pfns[3] << 12) + 5, &r, 1), 0);
	cr_assert_eq(r, 0x42, "the pinned frame is the one the copy wrote");
	/* Pin again: same frames. */
	uint64_t again[8];
	cr_assert_eq(mach_pin_user_pages(e.p, va, 8, 0, again), 8);
	cr_assert_arr_eq(again, pfns, sizeof(pfns));
	cr_assert_eq(finfo(e.m, pfns[0]).pincount, 2);
	mach_unpin_pages(e.m, again, 8);
	mach_unpin_pages(e.m, pfns, 8);
	cr_assert_eq(stats(e.m).pinned_frames, 0);
	cr_assert_eq(finfo(e.m, pfns[0]).refcount, 1);
	cr_assert_eq(mach_munmap(e.p, va, 8 * PG), 0);
	cr_assert_eq(stats(e.m).free_frames, free0);
	cr_assert_eq(mach_pin_user_pages(e.p, va, 0, 0, pfns), 0);
	env_fini(&e);
}

Test(pin, errors)
{
	struct env e;
	uint64_t va, ro, none, pfns[16];

	env_init(&e, 64 * MiB, MACH_BACKING_OWNED);
	cr_assert_eq(mach_mmap(e.p, 0, 4 * PG, MACH_PROT_READ | MACH_PROT_WRITE, 0, NULL, 0, &va),
		     0);
	cr_assert_eq(
		mach_mmap(e.p, va + 4 * PG, 4 * PG, MACH_PROT_READ, MACH_MAP_FIXED, NULL, 0, &ro),
		0);
	cr_assert_eq(ro, va + 4 * PG);
	cr_assert_eq(
		mach_mmap(e.p, va + 8 * PG, PG, MACH_PROT_NONE, MACH_MAP_FIXED, NULL, 0, &none), 0);
	uint64_t free0 = stats(e.m).free_frames;

	cr_assert_eq(mach_pin_user_pages(e.p, va + 1, 1, 0, pfns), -EINVAL);
	cr_assert_eq(mach_pin_user_pages(e.p, va, 1, 0x100, pfns), -EINVAL);
	/* Write pin across rw into ro: -EPERM and nothing stays pinned. */
	cr_assert_eq(mach_pin_user_pages(e.p, va, 8, MACH_PIN_WRITE, pfns), -EPERM);
	cr_assert_eq(stats(e.m).pinned_frames, 0);
	cr_assert_eq(mach_pin_user_pages(e.p, va, 8, 0, pfns), 8, "read pin of ro is fine");
	mach_unpin_pages(e.m, pfns, 8);
	cr_assert_eq(mach_pin_user_pages(e.p, va, 9, 0, pfns), -EFAULT, "PROT_NONE");
	cr_assert_eq(mach_pin_user_pages(e.p, va, 10, 0, pfns), -EFAULT, "hole after");
	cr_assert_eq(mach_pin_user_pages(e.p, va - PG, 2, 0, pfns), -EFAULT, "hole before");
	cr_assert_eq(mach_pin_user_pages(e.p, 1ULL << 56, 1ULL << 50, 0, pfns), -EFAULT);
	cr_assert_eq(stats(e.m).pinned_frames, 0);
	/* The rw and ro pages stay faulted in (mapped), nothing else leaked. */
	cr_assert_eq(stats(e.m).free_frames, free0 - 8);

	uint8_t buf[16] = { 0 };
	cr_assert_eq(mach_copy_to_user(e.p, ro, buf, 1), -EPERM);
	cr_assert_eq(mach_copy_from_user(e.p, buf, none, 1), -EFAULT);
	cr_assert_eq(mach_copy_from_user(e.p, buf, va + 12 * PG, 1), -EFAULT);
	cr_assert_eq(mach_copy_from_user(e.p, buf, ro + PG - 4, 8), 0);
	env_fini(&e);
}

Test(pin, outlives_munmap_and_proc)
{
	struct env e;
	uint64_t va, pfns[4];
	const char msg[] = "survivor";
	char out[sizeof(msg)];

	env_init(&e, 64 * MiB, MACH_BACKING_OWNED);
	uint64_t free0 = stats(e.m).free_frames;
	cr_assert_eq(mach_mmap(e.p, 0, 4 * PG, MACH_PROT_READ | MACH_PROT_WRITE, 0, NULL, 0, &va),
		     0);
	cr_assert_eq(mach_copy_to_user(e.p, va + PG, msg, sizeof(msg)), 0);
	cr_assert_eq(mach_pin_user_pages(e.p, va, 4, MACH_PIN_WRITE, pfns), 4);
	cr_assert_eq(mach_munmap(e.p, va, 4 * PG), 0);
	cr_assert_eq(mach_copy_from_user(e.p, out, va + PG, 1), -EFAULT);
	struct mach_frame_info fi = finfo(e.m, pfns[1]);
	cr_assert_eq(fi.refcount, 1);
	cr_assert_eq(fi.pincount, 1);
	cr_assert_eq(mach_phys_read(e.m, pfns[1] << 12, out, sizeof(out)), 0);
	cr_assert_str_eq(out, msg);
	cr_assert_eq(stats(e.m).free_frames, free0 - 4);
	mach_unpin_pages(e.m, pfns, 4);
	cr_assert_eq(stats(e.m).free_frames, free0);

	/* Across process destruction too. */
	struct mach_proc *p2;
	cr_assert_eq(mach_proc_create(e.m, e.u, &p2), 0);
	cr_assert_neq(mach_proc_pid(p2), mach_proc_pid(e.p));
	cr_assert_eq(mach_mmap(p2, 0, 4 * PG, MACH_PROT_READ | MACH_PROT_WRITE, 0, NULL, 0, &va),
		     0);
	cr_assert_eq(mach_pin_user_pages(p2, va, 4, MACH_PIN_WRITE, pfns), 4);
	mach_proc_destroy(p2);
	cr_assert_eq(finfo(e.m, pfns[0]).pincount, 1);
	cr_assert_eq(stats(e.m).pinned_frames, 4);
	mach_unpin_pages(e.m, pfns, 4);
	cr_assert_eq(stats(e.m).free_frames, free0);
	cr_assert_eq(stats(e.m).pinned_frames, 0);
	env_fini(&e);
}

Test(pin, huge_2m)
{
	struct env e;
	uint64_t va, *pfns = calloc(1024, sizeof(uint64_t));

	env_init(&e, 64 * MiB, MACH_BACKING_OWNED);
	uint64_t free0 = stats(e.m).free_frames;
	cr_assert_eq(mach_mmap(e.p, 0, 3 * MiB, MACH_PROT_READ | MACH_PROT_WRITE, MACH_MAP_HUGE_2M,
			       NULL, 0, &va),
		     0);
	cr_assert_eq(va % (2 * MiB), 0);
	/* Pin from the middle of the first huge page into the second. */
	cr_assert_eq(mach_pin_user_pages(e.p, va + 256 * PG, 512, MACH_PIN_WRITE, pfns), 512);
	cr_assert_eq(stats(e.m).free_frames, free0 - 1024, "len rounded to 2 huge pages");
	cr_assert_eq(stats(e.m).pinned_frames, 1024);
	for (int i = 1; i < 256; i++)
		cr_assert_eq(pfns[i], pfns[0] + i);
	cr_assert_eq(pfns[0] & 511, 256);
	cr_assert_eq(pfns[256] & 511, 0);
	struct mach_frame_info fi = finfo(e.m, pfns[10]);
	cr_assert_eq(fi.order, MACH_ORDER_2M);
	cr_assert_eq(fi.pincount, 256);
	cr_assert_eq(fi.refcount, 257);
	cr_assert(fi.flags & MACH_FRAME_COMPOUND);
	/* Unmapping half of a huge page is refused. */
	cr_assert_eq(mach_munmap(e.p, va, PG), -EINVAL);
	cr_assert_eq(mach_munmap(e.p, va, 4 * MiB), 0);
	cr_assert_eq(stats(e.m).free_frames, free0 - 1024);
	mach_unpin_pages(e.m, pfns, 512);
	cr_assert_eq(stats(e.m).free_frames, free0);
	cr_assert_eq(stats(e.m).pinned_frames, 0);
	free(pfns);
	env_fini(&e);
}

/*
 * A 1 TiB region of 1 GiB pages on a DATALESS machine, pinned 1 GiB at a
 * time. The machine has 1 TiB + 1 GiB: its first GiB holds pfn 0, which is
 * never handed out, so a 1 TiB machine has only 1023 whole 1 GiB frames.
 */
Test(pin, dataless_1tib_huge_1g, .timeout = 300)
{
	struct env e;
	const uint64_t per = GiB / PG;
	uint64_t va, *pfns = malloc(per * sizeof(uint64_t));
	uint8_t buf[64];

	env_init(&e, (1ULL << 40) + GiB, MACH_BACKING_DATALESS);
	uint64_t free0 = stats(e.m).free_frames;
	cr_assert_eq(mach_mmap(e.p, 0, 1ULL << 40, MACH_PROT_READ | MACH_PROT_WRITE,
			       MACH_MAP_HUGE_1G, NULL, 0, &va),
		     0);
	cr_assert_eq(va % GiB, 0);
	for (uint64_t i = 0; i < 1024; i++) {
		cr_assert_eq(mach_pin_user_pages(e.p, va + i * GiB, per, MACH_PIN_WRITE, pfns),
			     (long)per, "GiB %llu", (unsigned long long)i);
		cr_assert_eq(pfns[0] % per, 0);
		cr_assert_eq(pfns[per - 1], pfns[0] + per - 1);
		if (i % 97 == 0) {
			struct mach_frame_info fi = finfo(e.m, pfns[per / 2]);

			cr_assert_eq(fi.pincount, per);
			cr_assert_eq(fi.order, MACH_ORDER_1G);
			cr_assert_eq(mach_phys_read(e.m, (pfns[7] << 12) + 100, buf, 64), 0);
			for (int k = 0; k < 64; k++)
				cr_assert_eq(buf[k], 0);
		}
		mach_unpin_pages(e.m, pfns, per);
	}
	cr_assert_eq(stats(e.m).free_frames, free0 - (1ULL << 28));
	cr_assert_eq(stats(e.m).pinned_frames, 0);
	cr_assert_eq(mach_copy_from_user(e.p, buf, va + 5 * GiB + 3, 64), 0);
	cr_assert_eq(buf[0], 0);
	cr_assert_eq(mach_munmap(e.p, va, 1ULL << 40), 0);
	cr_assert_eq(stats(e.m).free_frames, free0);
	free(pfns);
	env_fini(&e);
}

Test(pin, host_backed)
{
	struct env e;
	const size_t len = 4 * PG;
	uint8_t *host = aligned_alloc(PG, len);
	uint64_t pfns[4];
	char out[8];

	env_init(&e, 64 * MiB, MACH_BACKING_OWNED);
	memset(host, 0, len);
	memcpy(host + PG, "fromhost", 8);
	cr_assert_eq(mach_mmap_host(e.p, host + 1, len, MACH_PROT_READ), -EINVAL);
	cr_assert_eq(mach_mmap_host(e.p, host, len, MACH_PROT_READ | MACH_PROT_WRITE), 0);
	cr_assert_eq(mach_pin_user_pages(e.p, (uint64_t)(uintptr_t)host, 4, MACH_PIN_WRITE, pfns),
		     4);
	cr_assert_eq(stats(e.m).host_frames, 4);
	cr_assert_geq(pfns[0] << 12, 1ULL << 40, "host window above RAM, 1 TiB aligned");
	struct mach_frame_info fi = finfo(e.m, pfns[2]);
	cr_assert(fi.flags & MACH_FRAME_HOST);
	cr_assert_eq(fi.pincount, 1);
	/* DMA-like writes land in the caller's buffer. */
	cr_assert_eq(mach_phys_write(e.m, (pfns[2] << 12) + 10, "dma!", 4), 0);
	cr_assert_eq(memcmp(host + 2 * PG + 10, "dma!", 4), 0);
	cr_assert_eq(mach_phys_read(e.m, pfns[1] << 12, out, 8), 0);
	cr_assert_eq(memcmp(out, "fromhost", 8), 0);
	cr_assert_eq(mach_phys_ptr(e.m, (pfns[3] << 12) + 4, 8), host + 3 * PG + 4);
	cr_assert_null(mach_phys_ptr(e.m, (pfns[3] << 12) + PG - 4, 8));
	/* A write crossing two host pages. */
	cr_assert_eq(mach_phys_write(e.m, (pfns[0] << 12) + PG - 2, "abcd", 4), 0);
	cr_assert_eq(memcmp(host + PG - 2, "ab", 2), 0);
	cr_assert_eq(mach_copy_to_user(e.p, (uint64_t)(uintptr_t)host + 100, "cpy", 3), 0);
	cr_assert_eq(memcmp(host + 100, "cpy", 3), 0);
	cr_assert_eq(mach_munmap(e.p, (uint64_t)(uintptr_t)host, len), 0);
	cr_assert_eq(stats(e.m).host_frames, 4, "pinned host frames outlive munmap");
	mach_unpin_pages(e.m, pfns, 4);
	cr_assert_eq(stats(e.m).host_frames, 0);
	cr_assert_eq(mach_phys_read(e.m, pfns[1] << 12, out, 1), -EFAULT);
	free(host);
	env_fini(&e);
}

Test(pin, shared_anon)
{
	struct env e;
	uint64_t va, va2, pfns[2], pfns2[2];
	uint8_t b = 9, r = 0;

	env_init(&e, 64 * MiB, MACH_BACKING_OWNED);
	cr_assert_eq(mach_mmap(e.p, 0, 2 * PG, MACH_PROT_READ | MACH_PROT_WRITE, MACH_MAP_SHARED,
			       NULL, 0, &va),
		     0);
	cr_assert_eq(mach_pin_user_pages(e.p, va, 2, MACH_PIN_WRITE, pfns), 2);
	cr_assert_eq(mach_copy_to_user(e.p, va + PG, &b, 1), 0);
	cr_assert_eq(mach_phys_read(e.m, pfns[1] << 12, &r, 1), 0);
	cr_assert_eq(r, 9);
	/* A second mapping of other memory gets other frames. */
	cr_assert_eq(mach_mmap(e.p, 0, 2 * PG, MACH_PROT_READ, MACH_MAP_SHARED, NULL, 0, &va2), 0);
	cr_assert_eq(mach_pin_user_pages(e.p, va2, 2, 0, pfns2), 2);
	cr_assert_neq(pfns2[0], pfns[0]);
	mach_unpin_pages(e.m, pfns2, 2);
	cr_assert_eq(mach_munmap(e.p, va, 2 * PG), 0);
	cr_assert_eq(finfo(e.m, pfns[0]).pincount, 1);
	mach_unpin_pages(e.m, pfns, 2);
	env_fini(&e);
}

/* ------------------------------------------------------------ stress */

struct stress_arg {
	struct mach_proc *p;
	uint64_t va, npages;
	unsigned seed;
	long errors;
};

static void *stress_thread(void *arg)
{
	struct stress_arg *a = arg;
	struct mach *m = mach_proc_machine(a->p);
	uint64_t pfns[64], own;
	unsigned s = a->seed;

	for (int it = 0; it < 3000; it++) {
		s = s * 1103515245u + 12345u;
		uint64_t n = 1 + (s >> 8) % 64;
		uint64_t first = (s >> 16) % (a->npages - n + 1);

		if (mach_pin_user_pages(a->p, a->va + first * PG, n, MACH_PIN_WRITE, pfns) !=
		    (long)n)
			a->errors++;
		else
			mach_unpin_pages(m, pfns, n);
		if (it % 50 == 0) {
			/* Address-space changes race with the pins. */
			if (mach_mmap(a->p, 0, 8 * PG, MACH_PROT_READ | MACH_PROT_WRITE, 0, NULL, 0,
				      &own) ||
			    mach_pin_user_pages(a->p, own, 8, 0, pfns) != 8) {
				a->errors++;
				continue;
			}
			if (mach_munmap(a->p, own, 8 * PG))
				a->errors++;
			mach_unpin_pages(m, pfns, 8);
		}
	}
	return NULL;
}

Test(pin, stress_4_threads)
{
	struct env e;
	const uint64_t npages = 1024;
	pthread_t t[4];
	struct stress_arg a[4];
	uint64_t va, pfns[1024];

	env_init(&e, 64 * MiB, MACH_BACKING_OWNED);
	uint64_t free0 = stats(e.m).free_frames;
	cr_assert_eq(
		mach_mmap(e.p, 0, npages * PG, MACH_PROT_READ | MACH_PROT_WRITE, 0, NULL, 0, &va),
		0);
	for (int i = 0; i < 4; i++) {
		a[i] = (struct stress_arg){
			.p = e.p, .va = va, .npages = npages, .seed = 1234u + i
		};
		cr_assert_eq(pthread_create(&t[i], NULL, stress_thread, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(a[i].errors, 0, "thread %d (seed %u) saw errors", i, a[i].seed);
	}
	cr_assert_eq(stats(e.m).pinned_frames, 0);
	/* Every page touched once: one frame each, refcount 1 (the mapping). */
	cr_assert_eq(mach_pin_user_pages(e.p, va, npages, 0, pfns), (long)npages);
	for (uint64_t i = 0; i < npages; i++) {
		struct mach_frame_info fi = finfo(e.m, pfns[i]);

		cr_assert_eq(fi.refcount, 2);
		cr_assert_eq(fi.pincount, 1);
	}
	mach_unpin_pages(e.m, pfns, npages);
	cr_assert_eq(mach_munmap(e.p, va, npages * PG), 0);
	cr_assert_eq(stats(e.m).free_frames, free0);
	env_fini(&e);
}

/* ------------------------------------------------------------ fail-nth */

/*
 * A whole cold scenario: create a process, mmap, pin, charge user and
 * process, add/remove pinned_vm, uncharge, unpin, munmap, destroy; undo on
 * failure. Every run starts from nothing, so every run meets the same
 * injection points in the same order.
 */
static int scenario(struct env *e, unsigned flags)
{
	const uint64_t len = 8 * PG << (flags & MACH_MAP_HUGE_2M ? 9 : 0);
	struct mach_proc *p;
	uint64_t va, pfns[8];
	long n;
	int ret;

	ret = mach_proc_create(e->m, e->u, &p);
	if (ret)
		return ret;
	ret = mach_mmap(p, 0, len, MACH_PROT_READ | MACH_PROT_WRITE, flags, NULL, 0, &va);
	if (ret)
		goto err_mmap;
	n = mach_pin_user_pages(p, va, 8, MACH_PIN_WRITE, pfns);
	if (n < 0) {
		ret = (int)n;
		goto err_pin;
	}
	ret = mach_user_charge_locked(e->u, 8, 100);
	if (ret)
		goto err_user;
	ret = mach_proc_charge_locked(p, 8, 100);
	if (ret)
		goto err_proc;
	mach_proc_add_pinned(p, 8);
	cr_assert_eq(mach_proc_pinned_vm(p), 8);
	mach_proc_add_pinned(p, -8);
	mach_proc_uncharge_locked(p, 8);
err_proc:
	mach_user_uncharge_locked(e->u, 8);
err_user:
	mach_unpin_pages(e->m, pfns, 8);
err_pin:
	cr_assert_eq(mach_munmap(p, va, len), 0);
err_mmap:
	cr_assert_eq(mach_proc_locked_vm(p), 0);
	cr_assert_eq(mach_proc_pinned_vm(p), 0);
	mach_proc_destroy(p);
	return ret;
}

static void sweep(unsigned flags, uint64_t points)
{
	struct env e;
	struct fault_ctx *fc;
	uint64_t n, failures = 0;

	env_init(&e, 64 * MiB, MACH_BACKING_OWNED);
	fc = mach_fault(e.m);
	uint64_t free0 = stats(e.m).free_frames;
	for (n = 1;; n++) {
		fault_set_nth(fc, n);
		int ret = scenario(&e, flags);
		bool fired = fault_nth_fired(fc);

		fault_disarm(fc);
		cr_assert_eq(stats(e.m).pinned_frames, 0, "n=%llu", (unsigned long long)n);
		cr_assert_eq(stats(e.m).free_frames, free0, "n=%llu", (unsigned long long)n);
		cr_assert_eq(mach_user_locked_vm(e.u), 0, "n=%llu", (unsigned long long)n);
		if (!fired) {
			cr_assert_eq(ret, 0, "n=%llu: failed without an injection",
				     (unsigned long long)n);
			break;
		}
		cr_assert_eq(ret, -ENOMEM, "n=%llu", (unsigned long long)n);
		failures++;
	}
	cr_assert_eq(failures, points);
	env_fini(&e);
}

/*
 * 4 KiB: proc, page-table root, region array, 4 table nodes, then per page
 * a frame and a pin (16), then 2 charges: 25 points.
 */
Test(pin, fail_nth_sweep_4k)
{
	sweep(0, 25);
}

/* 2 MiB: proc, root, region array, 3 table nodes, 1 frame, 8 pins, 2 charges. */
Test(pin, fail_nth_sweep_2m)
{
	sweep(MACH_MAP_HUGE_2M, 17);
}

/*
 * Shared anonymous memory (pins through the hidden file's page cache): proc,
 * root, file, its cache root, region array, 4 cache nodes, then per page a
 * frame and a pin (16), then 2 charges.
 */
Test(pin, fail_nth_sweep_shared)
{
	sweep(MACH_MAP_SHARED, 27);
}
