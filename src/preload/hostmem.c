// SPDX-License-Identifier: MIT
/*
 * Host-backed memory for the shim: the simulated process's address space
 * follows the real one, range by range, when an ioctl is about to read it.
 *
 * Data: struct shim_hostmem keeps what the simulator was told, as a sorted
 * array of disjoint page ranges with their protection. Invariant: for
 * every page, the simulated process maps it (host-backed, at the same
 * address) exactly when the array covers it, with the array's protection.
 * A sync reads /proc/self/maps for the requested range and issues the
 * fewest mach_* calls that make the simulated process match it:
 *   absent -> mapped   mach_mmap_host
 *   mapped -> absent   mach_munmap (frames still pinned live on, as in Linux)
 *   prot A -> prot B   mach_mprotect
 * Parts that already match are not touched, so host frames faulted in
 * earlier (and their pin and reference counts) stay the same frames.
 *
 * Treated as unmapped, because the kernel cannot pin them either:
 * PROT_NONE mappings and the special [vvar]/[vsyscall] areas.
 *
 * Locking: hm->lock serialises syncs and the array. The mach_* calls take
 * the simulated process's own mmap lock inside.
 */
#include "preload/shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/machine.h>

#define PG 4096ULL

void shim_hostmem_init(struct shim_hostmem *hm)
{
	pthread_mutex_init(&hm->lock, NULL);
	hm->r = NULL;
	hm->nr = hm->cap = 0;
}

void shim_hostmem_fini(struct shim_hostmem *hm)
{
	free(hm->r);
	hm->r = NULL;
	hm->nr = hm->cap = 0;
	pthread_mutex_destroy(&hm->lock);
}

struct range_vec {
	struct shim_range *r;
	size_t nr, cap;
};

static int vec_push(struct range_vec *v, uint64_t start, uint64_t end, unsigned prot)
{
	if (v->nr == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 16;
		struct shim_range *n = realloc(v->r, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->r = n;
		v->cap = ncap;
	}
	v->r[v->nr++] = (struct shim_range){ start, end, prot };
	return 0;
}

/* The real mappings intersecting [s, e), clipped, in address order. */
static int read_host_maps(uint64_t s, uint64_t e, struct range_vec *out)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int rc = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char perms[8] = "";
		unsigned prot = 0;
		size_t len = strlen(line);

		/* a path longer than the buffer: drop the rest of the line */
		if (len && line[len - 1] != '\n') {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		if (sscanf(line, "%llx-%llx %7s", &a, &b, perms) != 3)
			continue;
		if (b <= s || a >= e)
			continue;
		if (strstr(line, "[vvar") || strstr(line, "[vsyscall]"))
			continue;
		if (perms[0] == 'r')
			prot |= MACH_PROT_READ;
		if (perms[1] == 'w')
			prot |= MACH_PROT_WRITE;
		if (!prot)
			continue;
		rc = vec_push(out, a < s ? s : a, b > e ? e : b, prot);
		if (rc)
			break;
	}
	fclose(f);
	return rc;
}

/* Protection @v gives @addr (0: not covered). @v is sorted and disjoint. */
static unsigned prot_at(const struct shim_range *r, size_t nr, uint64_t addr)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].end <= addr)
			lo = mid + 1;
		else if (r[mid].start > addr)
			hi = mid;
		else
			return r[mid].prot;
	}
	return 0;
}

/*
 * Record that [start, end) now has @prot (0: unmapped). The new array is
 * built in @out, allocated by the caller with room for hm->nr + 2 ranges:
 * the most one change can make (a range split around it, plus the change
 * itself). So this cannot fail, and runs only once the simulator changed.
 */
static void mirror_set(struct shim_hostmem *hm, struct shim_range *out, uint64_t start,
		       uint64_t end, unsigned prot)
{
	const struct shim_range in = { start, end, prot };
	bool placed = false;
	size_t n = 0;

	for (size_t i = 0; i < hm->nr; i++) {
		struct shim_range x = hm->r[i];

		if (!placed && prot && x.start >= start) {
			out[n++] = in;
			placed = true;
		}
		if (x.end <= start || x.start >= end) {
			out[n++] = x;
			continue;
		}
		if (x.start < start)
			out[n++] = (struct shim_range){ x.start, start, x.prot };
		if (!placed && prot) {
			out[n++] = in;
			placed = true;
		}
		if (x.end > end)
			out[n++] = (struct shim_range){ end, x.end, x.prot };
	}
	if (!placed && prot)
		out[n++] = in;
	free(hm->r);
	hm->cap = hm->nr + 2;
	hm->r = out;
	hm->nr = n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Make the simulator's [start, end) go from @cur to @want. */
static void apply(struct shim_hostmem *hm, struct mach_proc *p, uint64_t start, uint64_t end,
		  unsigned cur, unsigned want)
{
	/*
	 * The mirror's new array is allocated first: once the simulator has
	 * changed, recording the change must not fail, or the two diverge.
	 */
	struct shim_range *out = malloc((hm->nr + 2) * sizeof(*out));
	int rc;

	if (!out)
		return; /* neither side changes: the pin sees the old state */
	if (!cur)
		rc = mach_mmap_host(p, (void *)(uintptr_t)start, end - start, want);
	else if (!want)
		rc = mach_munmap(p, start, end - start);
	else
		rc = mach_mprotect(p, start, end - start, want);
	/* a failed call leaves the simulator as it was, so the mirror too */
	if (rc) {
		free(out);
		return;
	}
	mirror_set(hm, out, start, end, want);
}

void shim_hostmem_sync(struct shim_hostmem *hm, struct mach_proc *p, uint64_t va, uint64_t len)
{
	struct range_vec host = { 0 };
	uint64_t s, e, *cuts = NULL;
	size_t ncuts = 0, i;

	if (!len || va + len < va)
		return;
	s = va & ~(PG - 1);
	e = va + len - 1;
	if (e > UINT64_MAX - PG)
		return;
	e = (e & ~(PG - 1)) + PG;

	pthread_mutex_lock(&hm->lock);
	if (read_host_maps(s, e, &host))
		goto out;

	/* every address where either side may change its answer */
	cuts = malloc((2 + 2 * (host.nr + hm->nr)) * sizeof(*cuts));
	if (!cuts)
		goto out;
	cuts[ncuts++] = s;
	cuts[ncuts++] = e;
	for (i = 0; i < host.nr; i++) {
		cuts[ncuts++] = host.r[i].start;
		cuts[ncuts++] = host.r[i].end;
	}
	for (i = 0; i < hm->nr; i++) {
		if (hm->r[i].end <= s || hm->r[i].start >= e)
			continue;
		if (hm->r[i].start > s)
			cuts[ncuts++] = hm->r[i].start;
		if (hm->r[i].end < e)
			cuts[ncuts++] = hm->r[i].end;
	}
	qsort(cuts, ncuts, sizeof(*cuts), cmp_u64);

	/* walk the pieces, merging neighbours that need the same change */
	{
		uint64_t run_start = 0;
		unsigned run_cur = 0, run_want = 0;
		bool in_run = false;

		for (i = 0; i + 1 < ncuts; i++) {
			uint64_t a = cuts[i], b = cuts[i + 1];
			unsigned cur, want;

			if (a == b)
				continue;
			cur = prot_at(hm->r, hm->nr, a);
			want = prot_at(host.r, host.nr, a);
			if (in_run && (cur != run_cur || want != run_want)) {
				if (run_cur != run_want)
					apply(hm, p, run_start, a, run_cur, run_want);
				in_run = false;
			}
			if (!in_run) {
				run_start = a;
				run_cur = cur;
				run_want = want;
				in_run = true;
			}
		}
		if (in_run && run_cur != run_want)
			apply(hm, p, run_start, e, run_cur, run_want);
	}
out:
	pthread_mutex_unlock(&hm->lock);
	free(cuts);
	free(host.r);
}
