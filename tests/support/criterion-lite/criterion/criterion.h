/* SPDX-License-Identifier: MIT */
/*
 * A minimal stand-in for <criterion/criterion.h>, used only to build the
 * stress tier under ThreadSanitizer: Criterion itself cannot start under
 * TSan (its "inheritable arena" mapping fails; Criterion issue #274), and the
 * stress tests are exactly the ones that must run there.
 *
 * It supports what the stress tests use: Test(suite, name, .init/.fini/
 * .timeout/.description), cr_assert / cr_expect and their _eq, _neq, _lt,
 * _leq, _gt, _geq, _not, _null, _not_null forms, cr_fail, cr_log_*. Tests run
 * in-process, one after another; a failed assertion ends its test (through
 * longjmp, after running .fini) and the program prints
 * "N passed, N failed" and exits non-zero if any failed.
 *
 * Registration uses constructor functions and file-scope state: this is a
 * test program, not the library, so the no-global-state rule does not apply.
 */
#ifndef IOMMUSIM_CRITERION_LITE_H
#define IOMMUSIM_CRITERION_LITE_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct crl_test {
	const char *suite, *name;
	void (*fn)(void);
	void (*init)(void);
	void (*fini)(void);
	struct crl_test *next;
};

struct crl_opts {
	void (*init)(void);
	void (*fini)(void);
	double timeout;
	const char *description;
	int exit_code;
	int signal;
	bool disabled;
};

static struct crl_test *crl_head, **crl_tail = &crl_head;
static jmp_buf crl_jmp;
static int crl_failed_now;

static inline void crl_register(struct crl_test *t)
{
	*crl_tail = t;
	crl_tail = &t->next;
}

/* No format attribute on purpose: the message is optional ("" alone). */
#include <stdarg.h>
static inline void crl_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define Test(suite_, name_, ...)                                                       \
	static void crl_fn_##suite_##_##name_(void);                                   \
	static struct crl_test crl_t_##suite_##_##name_;                               \
	__attribute__((constructor)) static void crl_reg_##suite_##_##name_(void)      \
	{                                                                              \
		struct crl_opts o = { .exit_code = 0, __VA_ARGS__ };                   \
		crl_t_##suite_##_##name_ =                                             \
			(struct crl_test){ #suite_, #name_, crl_fn_##suite_##_##name_, \
					   o.init,  o.fini, NULL };                    \
		crl_register(&crl_t_##suite_##_##name_);                               \
	}                                                                              \
	static void crl_fn_##suite_##_##name_(void)

#define crl_fail_(fatal, ...)                                                     \
	do {                                                                      \
		fprintf(stderr, "%s:%d: assertion failed: ", __FILE__, __LINE__); \
		crl_msg("" __VA_ARGS__);                                          \
		crl_failed_now = 1;                                               \
		if (fatal)                                                        \
			longjmp(crl_jmp, 1);                                      \
	} while (0)

#define crl_check_(fatal, cond, text, ...)                                        \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, text); \
			crl_fail_(fatal, __VA_ARGS__);                            \
		}                                                                 \
	} while (0)

#define cr_assert(c, ...) crl_check_(1, (c), #c, __VA_ARGS__)
#define cr_expect(c, ...) crl_check_(0, (c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...) crl_check_(1, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_expect_not(c, ...) crl_check_(0, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) crl_check_(1, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) crl_check_(0, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) crl_check_(1, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) crl_check_(0, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) crl_check_(1, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) crl_check_(1, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) crl_check_(1, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) crl_check_(1, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) crl_check_(1, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) crl_check_(1, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_fail(...) crl_fail_(0, __VA_ARGS__)
#define cr_assert_fail(...) crl_fail_(1, __VA_ARGS__)
#define cr_log_info(...) (fprintf(stderr, __VA_ARGS__), fprintf(stderr, "\n"))
#define cr_log_warn(...) cr_log_info(__VA_ARGS__)
#define cr_log_error(...) cr_log_info(__VA_ARGS__)

/* setjmp lives here, where no local changes after it (nothing to clobber). */
static __attribute__((noinline)) int crl_run_one(struct crl_test *t)
{
	crl_failed_now = 0;
	if (t->init)
		t->init();
	if (!setjmp(crl_jmp))
		t->fn();
	if (t->fini)
		t->fini();
	return crl_failed_now;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	(void)argc;
	(void)argv;
	for (struct crl_test *t = crl_head; t; t = t->next) {
		int bad = crl_run_one(t);

		fprintf(stderr, "[%s] %s::%s\n", bad ? "FAIL" : "PASS", t->suite, t->name);
		if (bad)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif /* IOMMUSIM_CRITERION_LITE_H */
