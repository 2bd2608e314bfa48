/* SPDX-License-Identifier: MIT */
/*
 * The example of docs/machine.md, compiled and run. The code between the
 * "example:" markers below must stay identical to the block between the
 * "example:" markers in docs/machine.md (the doc says so too);
 * example_matches_doc checks it, so edit both together.
 */
#include <assert.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iommusim/machine.h>

/* example: begin */
static int pin_example(void)
{
	struct mach_config cfg = { .mem_size = 256ULL << 20, .backing = MACH_BACKING_OWNED };
	struct mach *m;
	struct mach_user *u;
	struct mach_proc *p;
	uint64_t va, pfns[4], limit;
	char buf[6];
	long n;
	int ret;

	ret = mach_create(&cfg, &m);
	if (ret)
		return ret;
	ret = mach_user_get(m, 1000, &u);
	if (ret)
		goto err_user;
	ret = mach_proc_create(m, u, &p);
	if (ret)
		goto err_proc;

	/* 16 KiB of private anonymous memory, written through the page tables. */
	ret = mach_mmap(p, 0, 4 * MACH_PAGE_SIZE, MACH_PROT_READ | MACH_PROT_WRITE,
			MACH_MAP_PRIVATE, NULL, 0, &va);
	if (ret)
		goto err_mmap;
	ret = mach_copy_to_user(p, va + MACH_PAGE_SIZE, "hello", 6);
	if (ret)
		goto err_mmap;

	/* Charge the user against RLIMIT_MEMLOCK, then pin (no accounting of its own). */
	limit = mach_proc_rlimit_memlock(p) >> MACH_PAGE_SHIFT;
	ret = mach_user_charge_locked(u, 4, limit);
	if (ret)
		goto err_mmap;
	n = mach_pin_user_pages(p, va, 4, MACH_PIN_WRITE, pfns);
	if (n < 0) {
		ret = (int)n;
		goto err_pin;
	}
	assert(n == 4 && mach_user_locked_vm(u) == 4);

	/* The pinned frames outlive the mapping: a device can still DMA to them. */
	ret = mach_munmap(p, va, 4 * MACH_PAGE_SIZE);
	assert(ret == 0);
	ret = mach_phys_read(m, pfns[1] << MACH_PAGE_SHIFT, buf, sizeof(buf));
	assert(ret == 0 && strcmp(buf, "hello") == 0);

	mach_unpin_pages(m, pfns, 4);
err_pin:
	mach_user_uncharge_locked(u, 4);
err_mmap:
	mach_proc_destroy(p);
err_proc:
	mach_user_put(u);
err_user:
	mach_destroy(m);
	return ret;
}
/* example: end */

Test(docs_machine, example_runs)
{
	cr_assert_eq(pin_example(), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s;
	long n;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = 0;
	fclose(f);
	return s;
}

/* The text strictly between the line ending in @begin and the line starting with @end. */
static char *between(char *text, const char *begin, const char *end)
{
	char *b = strstr(text, begin), *e;

	cr_assert_not_null(b, "marker %s missing", begin);
	b += strlen(begin);
	e = strstr(b, end);
	cr_assert_not_null(e, "marker %s missing", end);
	*e = 0;
	return b;
}

Test(docs_machine, example_matches_doc)
{
	char *doc = slurp(IOMMUSIM_SOURCE_DIR "/docs/machine.md");
	char *src = slurp(IOMMUSIM_SOURCE_DIR "/tests/docs/test_machine_example.c");
	/* Markers split so that these strings do not match themselves. */
	char *d = between(doc, "<!-- example: begin -->\n```c\n",
			  "```\n<!-- example: "
			  "end -->");
	char *s = between(src,
			  "/* example: "
			  "begin */\n",
			  "/* example: "
			  "end */");

	cr_expect_str_eq(s, d, "docs/machine.md and this file's example differ");
	free(doc);
	free(src);
}
