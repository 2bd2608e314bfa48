/* SPDX-License-Identifier: MIT */
/*
 * `iommusim demo`: a short end-to-end run of what the simulator has, with the
 * numbers it produces printed as it goes. Each step checks its own result and
 * the command exits 1 if any of them did not come out as the model says it
 * must, so the demo doubles as a smoke test of a fresh build.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/fault.h>
#include <iommusim/machine.h>
#include <iommusim/trace.h>

#include "cli.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define TiB (1ULL << 40)

struct demo {
	bool verbose;
	int failures;
};

static void check(struct demo *d, bool ok, const char *what)
{
	printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
	if (!ok)
		d->failures++;
}

static int demo_pinning(struct demo *d)
{
	struct mach_config cfg = { .mem_size = 1 * GiB, .backing = MACH_BACKING_OWNED, .seed = 1 };
	struct mach_user *user = NULL;
	struct mach_proc *proc = NULL;
	struct mach_mem_stats st, before;
	struct mach *m;
	uint64_t va, *pfns = NULL;
	const uint64_t npages = 4096; /* 16 MiB */
	long rc;

	printf("\n== A machine, a process, pinning and accounting ==\n");
	rc = mach_create(&cfg, &m);
	if (rc) {
		fprintf(stderr, "iommusim: mach_create: %s\n", strerror((int)-rc));
		return CLI_EXIT_INTERNAL;
	}
	if (d->verbose)
		trace_enable_pattern(mach_trace(m), "mach:*");
	rc = mach_user_get(m, 1000, &user);
	if (!rc)
		rc = mach_proc_create(m, user, &proc);
	if (rc)
		goto out;
	mach_proc_set_rlimit_memlock(proc, 32 * MiB);
	printf("  machine: %" PRIu64 " MiB of RAM; process pid %u, uid 1000, RLIMIT_MEMLOCK 32 MiB\n",
	       (uint64_t)(mach_ram_size(m) / MiB), mach_proc_pid(proc));

	rc = mach_mmap(proc, 0, 64 * MiB, MACH_PROT_READ | MACH_PROT_WRITE, MACH_MAP_PRIVATE, NULL,
		       0, &va);
	if (rc)
		goto out;
	printf("  mmap 64 MiB anonymous at 0x%" PRIx64 "\n", va);

	mach_mem_stats(m, &before);
	pfns = calloc(npages, sizeof(*pfns));
	if (!pfns) {
		rc = -ENOMEM;
		goto out;
	}
	rc = mach_user_charge_locked(user, npages, mach_proc_rlimit_memlock(proc) >> MACH_PAGE_SHIFT);
	check(d, rc == 0, "charge 16 MiB to the user's locked_vm (under the 32 MiB limit)");
	rc = mach_pin_user_pages(proc, va, npages, MACH_PIN_WRITE, pfns);
	check(d, rc == (long)npages, "long-term pin of 4096 pages (faults them in)");
	if (rc == (long)npages)
		mach_proc_add_pinned(proc, (int64_t)npages);
	mach_mem_stats(m, &st);
	printf("  user locked_vm %" PRIu64 " pages, process pinned_vm %" PRIu64
	       " pages, frames pinned %" PRIu64 ", free %" PRIu64 " of %" PRIu64 "\n",
	       mach_user_locked_vm(user), mach_proc_pinned_vm(proc), st.pinned_frames,
	       st.free_frames, st.ram_frames);

	rc = mach_user_charge_locked(user, 2 * npages,
				     mach_proc_rlimit_memlock(proc) >> MACH_PAGE_SHIFT);
	check(d, rc == -ENOMEM, "charging 32 MiB more is refused with ENOMEM (RLIMIT_MEMLOCK)");
	if (rc == 0)
		mach_user_uncharge_locked(user, 2 * npages);

	rc = mach_munmap(proc, va, 64 * MiB);
	mach_mem_stats(m, &st);
	check(d, rc == 0 && st.pinned_frames == npages,
	      "munmap of the region: the pinned pages stay alive until unpinned");
	mach_unpin_pages(m, pfns, npages);
	mach_proc_add_pinned(proc, -(int64_t)npages);
	mach_user_uncharge_locked(user, npages);
	mach_mem_stats(m, &st);
	check(d, st.pinned_frames == 0 && st.free_frames == before.free_frames &&
			 mach_user_locked_vm(user) == 0 && mach_proc_pinned_vm(proc) == 0,
	      "unpin + uncharge: every frame free again, locked_vm and pinned_vm back to 0");
	rc = 0;
	if (d->verbose)
		trace_flush_text(mach_trace(m), stdout);
out:
	if (rc < 0)
		fprintf(stderr, "iommusim: demo step failed: %s\n", strerror((int)-rc));
	free(pfns);
	if (proc)
		mach_proc_destroy(proc);
	if (user)
		mach_user_put(user);
	mach_destroy(m);
	return rc < 0 ? CLI_EXIT_INTERNAL : 0;
}

static int demo_host_backed(struct demo *d)
{
	struct mach_config cfg = { .mem_size = 64 * MiB };
	struct mach_user *user = NULL;
	struct mach_proc *proc = NULL;
	struct mach *m;
	uint64_t pfn = 0;
	char *buf;
	long rc;

	printf("\n== Host-backed memory: DMA lands in the caller's own buffer ==\n");
	buf = aligned_alloc(MACH_PAGE_SIZE, MACH_PAGE_SIZE);
	if (!buf)
		return CLI_EXIT_INTERNAL;
	memset(buf, 0, MACH_PAGE_SIZE);
	rc = mach_create(&cfg, &m);
	if (rc) {
		free(buf);
		return CLI_EXIT_INTERNAL;
	}
	rc = mach_user_get(m, 1000, &user);
	if (!rc)
		rc = mach_proc_create(m, user, &proc);
	if (!rc)
		rc = mach_mmap_host(proc, buf, MACH_PAGE_SIZE, MACH_PROT_READ | MACH_PROT_WRITE);
	if (!rc)
		rc = mach_pin_user_pages(proc, (uint64_t)(uintptr_t)buf, 1, MACH_PIN_WRITE, &pfn);
	check(d, rc == 1, "pin one page of a real malloc'd buffer through its real address");
	if (rc == 1) {
		static const char msg[] = "written by a simulated DMA";
		rc = mach_phys_write(m, pfn << MACH_PAGE_SHIFT, msg, sizeof(msg));
		printf("  physical address 0x%" PRIx64 "; the buffer now reads \"%s\"\n",
		       pfn << MACH_PAGE_SHIFT, buf);
		check(d, rc == 0 && !strcmp(buf, msg), "a physical write reached the host buffer");
		mach_unpin_pages(m, &pfn, 1);
		rc = 0;
	}
	if (proc)
		mach_proc_destroy(proc);
	if (user)
		mach_user_put(user);
	mach_destroy(m);
	free(buf);
	return rc < 0 ? CLI_EXIT_INTERNAL : 0;
}

static int demo_dataless(struct demo *d)
{
	struct mach_config cfg = { .mem_size = 1 * TiB, .backing = MACH_BACKING_DATALESS };
	struct mach_user *user = NULL;
	struct mach_proc *proc = NULL;
	struct mach *m;
	uint64_t va, pfn = 0, total = 0, word = 1;
	const uint64_t chunk = GiB >> MACH_PAGE_SHIFT;
	uint64_t *pfns;
	long rc;

	printf("\n== A 1 TiB data-less machine: scale without the bytes ==\n");
	pfns = malloc(chunk * sizeof(*pfns));
	if (!pfns)
		return CLI_EXIT_INTERNAL;
	rc = mach_create(&cfg, &m);
	if (rc) {
		free(pfns);
		return CLI_EXIT_INTERNAL;
	}
	rc = mach_user_get(m, 0, &user);
	if (!rc)
		rc = mach_proc_create(m, user, &proc);
	if (!rc)
		rc = mach_mmap(proc, 0, 1 * TiB - 1 * GiB, MACH_PROT_READ | MACH_PROT_WRITE,
			       MACH_MAP_PRIVATE | MACH_MAP_HUGE_1G, NULL, 0, &va);
	/* Pin the whole region a gigabyte at a time, then let it go. */
	for (uint64_t off = 0; !rc && off < 1 * TiB - 1 * GiB; off += GiB) {
		rc = mach_pin_user_pages(proc, va + off, chunk, MACH_PIN_WRITE, pfns);
		if (rc == (long)chunk) {
			total += chunk;
			pfn = pfns[0];
			mach_unpin_pages(m, pfns, chunk);
			rc = 0;
		}
	}
	check(d, rc == 0 && total == (1 * TiB - 1 * GiB) >> MACH_PAGE_SHIFT,
	      "mapped and pinned 1023 GiB in 1 GiB pages");
	printf("  %" PRIu64 " pages pinned and unpinned\n", total);
	if (!rc) {
		rc = mach_phys_read(m, pfn << MACH_PAGE_SHIFT, &word, sizeof(word));
		check(d, rc == 0 && word == 0, "data-less memory reads as zeros");
	}
	if (proc)
		mach_proc_destroy(proc);
	if (user)
		mach_user_put(user);
	mach_destroy(m);
	free(pfns);
	return rc < 0 ? CLI_EXIT_INTERNAL : 0;
}

static void demo_usage(FILE *out)
{
	fprintf(out, "usage: iommusim demo [--verbose] [--help]\n\n"
		     "Runs a short demonstration of the simulated stack and checks each step.\n"
		     "  -v, --verbose   also print the trace of the first part (ftrace text)\n"
		     "  -h, --help      this text\n"
		     "Exit 0 when every step came out right, 1 when one did not.\n");
}

int cli_demo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct demo d = { 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			d.verbose = true;
			break;
		case 'h':
			demo_usage(stdout);
			return CLI_EXIT_OK;
		default:
			demo_usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	printf("iommusim demo\n");
	rc = demo_pinning(&d);
	if (!rc)
		rc = demo_host_backed(&d);
	if (!rc)
		rc = demo_dataless(&d);
	if (rc)
		return rc;
	printf("\n%s: %d check(s) failed\n", d.failures ? "FAILED" : "all good", d.failures);
	return d.failures ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
