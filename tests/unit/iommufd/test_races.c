// SPDX-License-Identifier: MIT
/*
 * Races between kernel-side destroys and the user, and between two unmaps of
 * one range, that used to be memory-safety bugs:
 *
 *  - iommufd_access_destroy() / iommufd_device_unbind() / the automatic
 *    HWPT put dropped the holder's users reference before taking
 *    objects_lock to remove the object. In that window a user IOMMU_DESTROY
 *    of the id freed the object under the destroyer (use after free), and a
 *    short-term lookup made the removal fail (__builtin_trap). The reference
 *    is now given up inside iommufd_object_remove(), under the lock, after
 *    waiting for short-term holders (IOMMUFD_REMOVE_WAIT_SHORTTERM).
 *  - an unmap that had notified the accesses read area->num_accesses after
 *    dropping every lock, while a second unmap of the same range could free
 *    the area. It now retries and decides under the lock.
 *
 * The loops have fixed iteration counts and no randomness; the failures
 * they look for were a crash (ASan use-after-free or the trap) within the
 * first few hundred iterations, or a result outside the allowed set.
 * Helper threads never assert: they count, and the test thread checks.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "iommufd/iommufd_private.h"
#include "selftest_util.h"

static struct fx f;
static uint32_t ioas;

static void setup(void)
{
	cr_assert_eq(fx_init(&f, 0), 0);
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
}

static void teardown(void)
{
	cr_assert_eq(fx_fini(&f), 0, "leak at close");
}

TestSuite(races, .init = setup, .fini = teardown);

static void noop_unmap(void *data, uint64_t iova, uint64_t length)
{
	(void)data;
	(void)iova;
	(void)length;
}

static const struct iommufd_access_ops noop_ops = { .needs_pin_pages = true, .unmap = noop_unmap };

/* Sleep @us microseconds. */
static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Spin (yielding) until *flag is set or about two seconds pass; false on timeout. */
static bool wait_flag(atomic_int *flag)
{
	for (int i = 0; i < 2000000 && !atomic_load(flag); i++) {
		if (i > 1000)
			sleep_us(1);
		else
			sched_yield();
	}
	return atomic_load(flag);
}

/* ---------------------------------------- kernel-side destroy vs the user */

#define HAMMER_ITERS 2000

struct hammer {
	atomic_int stop, started;
	atomic_uint id; /* the id to hit, 0: none yet */
	bool lookup; /* short-term lookups instead of IOMMU_DESTROY */
	atomic_ulong attempts;
	unsigned long ok, busy, noent, other, found;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;

	atomic_store(&h->started, 1);
	while (!atomic_load(&h->stop)) {
		uint32_t id = atomic_load(&h->id);
		int rc;

		if (!id) {
			sched_yield();
			continue;
		}
		if (h->lookup) {
			struct iommufd_object *obj =
				iommufd_get_object(f.ictx, id, IOMMUFD_OBJ_ANY);

			if (obj) {
				h->found++;
				iommufd_put_object(f.ictx, obj);
			}
		} else {
			rc = fx_destroy(&f, id);
			if (rc == 0)
				h->ok++;
			else if (rc == -EBUSY)
				h->busy++;
			else if (rc == -ENOENT)
				h->noent++;
			else
				h->other++;
		}
		atomic_fetch_add(&h->attempts, 1);
	}
	return NULL;
}

static void hammer_access_destroy(struct hammer *h)
{
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, hammer_thread, h), 0);
	cr_assert(wait_flag(&h->started));
	for (int i = 0; i < HAMMER_ITERS; i++) {
		struct iommufd_access *access;
		unsigned long start;
		uint32_t id;

		access = iommufd_access_create(f.ictx, ioas, &noop_ops, NULL, &id);
		if (!access) {
			atomic_store(&h->stop, 1);
			pthread_join(t, NULL);
			cr_assert_fail("iteration %d: access_create: errno %d", i, errno);
		}
		atomic_store(&h->id, id);
		/*
		 * Two more attempts: at least one whole attempt saw the live
		 * access, and the thread is running when the destroy starts.
		 */
		start = atomic_load(&h->attempts);
		for (int spin = 0; atomic_load(&h->attempts) < start + 2 && spin < 1000000; spin++)
			sched_yield();
		iommufd_access_destroy(access);
	}
	atomic_store(&h->stop, 1);
	cr_assert_eq(pthread_join(t, NULL), 0);
}

Test(races, user_destroy_vs_access_destroy)
{
	struct hammer h = { 0 };

	hammer_access_destroy(&h);
	/* An access belongs to its creator: the user can never destroy it. */
	cr_assert_eq(h.ok, 0, "IOMMU_DESTROY destroyed a driver-owned access %lu times", h.ok);
	cr_assert_eq(h.other, 0);
	cr_assert_geq(h.busy, HAMMER_ITERS, "the destroy thread hit every live access");
	cr_assert_eq(f.ictx->objects_count, 1, "only the IOAS is left");
}

Test(races, lookup_vs_access_destroy)
{
	struct hammer h = { .lookup = true };

	/* used to trap: the lookup made iommufd_object_remove() answer EBUSY */
	hammer_access_destroy(&h);
	cr_assert_geq(h.found, HAMMER_ITERS, "the lookup thread found every live access");
	cr_assert_eq(f.ictx->objects_count, 1, "only the IOAS is left");
	cr_assert_eq(fx_destroy(&f, ioas), 0, "nothing holds the IOAS any more");
	cr_assert_eq(fx_ioas_alloc(&f, &ioas), 0);
}

struct destroyer {
	struct iommufd_access *access;
	atomic_int done;
};

static void *access_destroy_thread(void *arg)
{
	struct destroyer *d = arg;

	iommufd_access_destroy(d->access);
	atomic_store(&d->done, 1);
	return NULL;
}

/*
 * The destroyer waits for a short-term holder; the moment the holder lets go
 * the user tries IOMMU_DESTROY. The creator's reference must still be there
 * (EBUSY) or the access must be gone already (ENOENT): never 0.
 */
Test(races, destroy_wait_keeps_creator_reference)
{
	for (int i = 0; i < 50; i++) {
		struct destroyer d = { 0 };
		struct iommufd_object *obj;
		pthread_t t;
		uint32_t id;
		int rc;

		d.access = iommufd_access_create(f.ictx, ioas, &noop_ops, NULL, &id);
		cr_assert_not_null(d.access);
		obj = iommufd_get_object(f.ictx, id, IOMMUFD_OBJ_ACCESS);
		cr_assert_eq(obj, &d.access->obj);
		cr_assert_eq(pthread_create(&t, NULL, access_destroy_thread, &d), 0);
		sleep_us(2000); /* let it reach the wait */
		cr_assert_eq(atomic_load(&d.done), 0, "iteration %d: did not wait", i);
		cr_assert_eq(fx_destroy(&f, id), -EBUSY, "iteration %d: creator's reference", i);
		iommufd_put_object(f.ictx, obj);
		rc = fx_destroy(&f, id);
		cr_assert(rc == -EBUSY || rc == -ENOENT, "iteration %d: DESTROY answered %d", i,
			  rc);
		cr_assert_eq(pthread_join(t, NULL), 0);
		cr_assert_eq(fx_destroy(&f, id), -ENOENT, "iteration %d", i);
	}
	cr_assert_eq(f.ictx->objects_count, 1);
}

/*
 * iommufd_object_remove() with @to_destroy gives up the caller's users
 * reference under objects_lock whatever the outcome, as the kernel's: a
 * failed try leaves the object to whoever holds the rest.
 */
Test(races, remove_drops_callers_reference)
{
	struct iommufd_object *obj, *look;
	uint32_t id;

	cr_assert_eq(fx_ioas_alloc(&f, &id), 0);
	obj = iommufd_get_object(f.ictx, id, IOMMUFD_OBJ_IOAS);
	cr_assert_not_null(obj);
	iommufd_ref_object(obj); /* a long-term holder */
	iommufd_put_object(f.ictx, obj);
	look = iommufd_get_object(f.ictx, id, IOMMUFD_OBJ_IOAS);
	cr_assert_eq(look, obj);
	cr_assert_eq(obj->users, 3);
	/* the lookup is still in flight: EBUSY, and the holder's reference is gone */
	cr_assert_eq(iommufd_object_remove(f.ictx, obj, id, 0), -EBUSY);
	cr_assert_eq(obj->users, 2);
	cr_assert_eq(fx_destroy(&f, id), -EBUSY);
	iommufd_put_object(f.ictx, look);
	cr_assert_eq(obj->users, 1);
	cr_assert_eq(fx_destroy(&f, id), 0);

	/* the last holder's try destroys it */
	cr_assert_eq(fx_ioas_alloc(&f, &id), 0);
	obj = iommufd_get_object(f.ictx, id, IOMMUFD_OBJ_IOAS);
	iommufd_ref_object(obj);
	iommufd_put_object(f.ictx, obj);
	cr_assert_eq(iommufd_object_remove(f.ictx, obj, id, 0), 0);
	cr_assert_eq(fx_destroy(&f, id), -ENOENT);
}

/* Two devices on one automatic HWPT leave at once: exactly one put destroys it. */
struct stdev_destroyer {
	pthread_barrier_t *bar;
	uint32_t *id;
	int rc;
	bool stop;
};

static void *stdev_destroy_thread(void *arg)
{
	struct stdev_destroyer *d = arg;

	for (;;) {
		pthread_barrier_wait(d->bar);
		if (d->stop)
			break;
		d->rc = fx_destroy(&f, *d->id);
		pthread_barrier_wait(d->bar);
	}
	return NULL;
}

Test(races, auto_hwpt_put_by_two_devices)
{
	struct stdev_destroyer d[2];
	pthread_barrier_t bar;
	uint32_t stdev[2];
	pthread_t t[2];

	cr_assert_eq(pthread_barrier_init(&bar, NULL, 3), 0);
	for (int i = 0; i < 2; i++) {
		d[i] = (struct stdev_destroyer){ .bar = &bar, .id = &stdev[i] };
		cr_assert_eq(pthread_create(&t[i], NULL, stdev_destroy_thread, &d[i]), 0);
	}
	for (int it = 0; it < 2000; it++) {
		uint32_t h0, h1;
		int rc0, rc1;

		rc0 = st_mock_domain(&f, ioas, &stdev[0], &h0, NULL);
		rc1 = st_mock_domain(&f, ioas, &stdev[1], &h1, NULL);
		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
		cr_assert(rc0 == 0 && rc1 == 0, "iteration %d: mock domain %d %d", it, rc0, rc1);
		cr_assert_eq(h0, h1, "one automatic domain");
		cr_assert(d[0].rc == 0 && d[1].rc == 0, "iteration %d: destroy %d %d", it, d[0].rc,
			  d[1].rc);
		cr_assert_eq(fx_destroy(&f, h0), -ENOENT,
			     "iteration %d: the HWPT outlived its devices", it);
		cr_assert_eq(f.ictx->objects_count, 1, "iteration %d", it);
	}
	d[0].stop = d[1].stop = true;
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&bar);
}

/* ------------------------------------------------ unmap vs unmap, accesses */

#define UNMAP_IOVA (1 * MiB)
#define UNMAP_LEN (64 * KiB)

struct udev {
	struct iommufd_access *access;
	pthread_mutex_t lock;
	uint64_t iova, len; /* pinned range, len 0: none */
	long sleep_us; /* before unpinning */
	atomic_int unpinned;
	atomic_int *hold; /* when set: wait for *hold in the callback once unpinned elsewhere */
	atomic_int *hold_unpinned;
	atomic_int calls;
};

static void udev_unmap(void *data, uint64_t iova, uint64_t length)
{
	struct udev *d = data;

	atomic_fetch_add(&d->calls, 1);
	if (d->hold) {
		/* a slow driver: still busy while another thread unmaps */
		if (atomic_load(d->hold_unpinned))
			wait_flag(d->hold);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (d->len && d->iova <= iova + length - 1 && iova <= d->iova + d->len - 1) {
		if (d->sleep_us)
			sleep_us(d->sleep_us);
		iommufd_access_unpin_pages(d->access, d->iova, d->len);
		d->len = 0;
		atomic_store(&d->unpinned, 1);
	}
	pthread_mutex_unlock(&d->lock);
}

static const struct iommufd_access_ops udev_ops = { .needs_pin_pages = true, .unmap = udev_unmap };

static void udev_init(struct udev *d)
{
	pthread_mutex_init(&d->lock, NULL);
	d->access = iommufd_access_create(f.ictx, ioas, &udev_ops, d, NULL);
	cr_assert_not_null(d->access);
}

static void udev_pin(struct udev *d, uint64_t iova, uint64_t len)
{
	uint64_t pfns[16];

	cr_assert_leq(len / PG, 16);
	cr_assert_eq(iommufd_access_pin_pages(d->access, iova, len, pfns, 0), 0);
	d->iova = iova;
	d->len = len;
	atomic_store(&d->unpinned, 0);
}

static void udev_fini(struct udev *d)
{
	iommufd_access_destroy(d->access);
	pthread_mutex_destroy(&d->lock);
}

struct unmapper {
	atomic_int *go; /* wait for it first (NULL: start at once) */
	pthread_barrier_t *bar;
	int rc;
	uint64_t unmapped;
	atomic_int done;
};

static void *unmap_thread(void *arg)
{
	struct unmapper *u = arg;

	if (u->go)
		wait_flag(u->go);
	if (u->bar)
		pthread_barrier_wait(u->bar);
	u->unmapped = 0;
	u->rc = fx_unmap(&f, ioas, UNMAP_IOVA, UNMAP_LEN, &u->unmapped);
	atomic_store(&u->done, 1);
	return NULL;
}

/*
 * Thread A unmaps an area x has pinned: x unpins, then y's callback stalls
 * until thread B has unmapped (and freed) the area. A must not look at the
 * area it notified for: it retries and finds nothing (ENOENT).
 */
Test(races, unmap_while_notified_unmap_sleeps)
{
	struct udev x = { 0 }, y = { 0 };
	struct unmapper b = { 0 };
	pthread_t tb;
	uint64_t buf, unmapped = 0;
	int rc;

	cr_assert_eq(mach_mmap(f.p, 0, UNMAP_LEN, RW, 0, NULL, 0, &buf), 0);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, UNMAP_LEN, UNMAP_IOVA), 0);
	udev_init(&x); /* notified first: accesses are called in creation order */
	udev_init(&y);
	y.hold = &b.done;
	y.hold_unpinned = &x.unpinned;
	udev_pin(&x, UNMAP_IOVA, PG);

	b.go = &x.unpinned;
	cr_assert_eq(pthread_create(&tb, NULL, unmap_thread, &b), 0);
	rc = fx_unmap(&f, ioas, UNMAP_IOVA, UNMAP_LEN, &unmapped);
	cr_assert_eq(pthread_join(tb, NULL), 0);

	cr_assert_eq(b.rc, 0, "B unmaps the area x let go of");
	cr_assert_eq(b.unmapped, UNMAP_LEN);
	cr_assert_eq(rc, -ENOENT, "A finds nothing left: %d", rc);
	cr_assert_eq(atomic_load(&x.calls), 1);
	cr_assert_eq(atomic_load(&y.calls), 1);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
	cr_assert_eq(fx_pinned_frames(&f), 0);
	udev_fini(&x);
	udev_fini(&y);
}

/*
 * Both threads find the pinned area and notify; the driver sleeps before it
 * unpins. One unmap removes the area, the other finds it gone (ENOENT) or
 * still being torn down (EBUSY).
 */
Test(races, two_unmaps_with_sleeping_access)
{
	struct udev x = { 0 };
	pthread_barrier_t bar;
	uint64_t buf;

	cr_assert_eq(mach_mmap(f.p, 0, UNMAP_LEN, RW, 0, NULL, 0, &buf), 0);
	cr_assert_eq(pthread_barrier_init(&bar, NULL, 2), 0);
	udev_init(&x);
	x.sleep_us = 200;
	for (int it = 0; it < 200; it++) {
		struct unmapper a = { .bar = &bar }, b = { .bar = &bar };
		struct unmapper *win, *lose;
		pthread_t ta;

		cr_assert_eq(fx_map_fixed(&f, ioas, buf, UNMAP_LEN, UNMAP_IOVA), 0);
		udev_pin(&x, UNMAP_IOVA + (uint64_t)(it % 16) * PG, PG);
		cr_assert_eq(pthread_create(&ta, NULL, unmap_thread, &a), 0);
		unmap_thread(&b);
		cr_assert_eq(pthread_join(ta, NULL), 0);

		win = a.rc == 0 ? &a : &b;
		lose = win == &a ? &b : &a;
		cr_assert_eq(win->rc, 0, "iteration %d: %d %d", it, a.rc, b.rc);
		cr_assert_eq(win->unmapped, UNMAP_LEN, "iteration %d", it);
		cr_assert(lose->rc == -ENOENT || lose->rc == -EBUSY, "iteration %d: %d %d", it,
			  a.rc, b.rc);
		cr_assert_eq(x.len, 0, "iteration %d", it);
		cr_assert_eq(fx_check_ioas(&f, ioas), 0);
		cr_assert_eq(fx_pinned_frames(&f), 0);
	}
	udev_fini(&x);
	pthread_barrier_destroy(&bar);
}

/* A driver that never unpins: one notification, then EDEADLK, area intact. */
Test(races, unmap_deadlk_after_one_notification)
{
	struct udev x = { 0 }, y = { 0 };
	uint64_t buf, unmapped = 0;
	atomic_int never = 0, always = 1;

	cr_assert_eq(mach_mmap(f.p, 0, 2 * UNMAP_LEN, RW, 0, NULL, 0, &buf), 0);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf, UNMAP_LEN, UNMAP_IOVA), 0);
	cr_assert_eq(fx_map_fixed(&f, ioas, buf + UNMAP_LEN, UNMAP_LEN, UNMAP_IOVA + UNMAP_LEN), 0);
	udev_init(&x);
	udev_init(&y);
	/* y pins in the second area and ignores the callback (never: it returns at once) */
	udev_pin(&x, UNMAP_IOVA + 2 * PG, PG);
	udev_pin(&y, UNMAP_IOVA + UNMAP_LEN + 3 * PG, PG);
	y.hold = &always;
	y.hold_unpinned = &never;

	/* x lets go of the first area, y keeps the second */
	cr_assert_eq(fx_unmap(&f, ioas, UNMAP_IOVA, 2 * UNMAP_LEN, &unmapped), -EDEADLK);
	cr_assert_eq(atomic_load(&x.calls), 2, "once per notified area");
	cr_assert_eq(atomic_load(&y.calls), 2);
	cr_assert_eq(fx_check_ioas(&f, ioas), 0);
	cr_assert_eq(fx_pinned_frames(&f), 1);
	cr_assert_eq(fx_unmap(&f, ioas, UNMAP_IOVA + UNMAP_LEN, UNMAP_LEN, NULL), -EDEADLK);
	cr_assert_eq(atomic_load(&y.calls), 3, "one more notification");

	iommufd_access_unpin_pages(y.access, y.iova, y.len);
	cr_assert_eq(fx_unmap(&f, ioas, UNMAP_IOVA, 2 * UNMAP_LEN, &unmapped), 0);
	cr_assert_eq(unmapped, UNMAP_LEN, "the first area went with the failed unmap");
	cr_assert_eq(fx_pinned_frames(&f), 0);
	udev_fini(&x);
	udev_fini(&y);
}
