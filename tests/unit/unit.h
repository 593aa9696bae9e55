/* Minimal unit test harness: each test returns pass, fail or skip; the
 * runner prints TAP. One binary per area (tests/unit/test_<area>.c). */
#ifndef HUSK_TESTS_UNIT_H
#define HUSK_TESTS_UNIT_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum test_result { TEST_PASS, TEST_FAIL, TEST_SKIP };

struct unit_test {
	const char *name;
	enum test_result (*fn)(void);
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CHECK(cond)                                                                                                    \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stdout, "# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                     \
			return TEST_FAIL;                                                                              \
		}                                                                                                      \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                                             \
	do {                                                                                                           \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                        \
		if (check_a_ != check_b_) {                                                                            \
			fprintf(stdout, "# %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a,          \
				check_a_, #b, check_b_);                                                               \
			return TEST_FAIL;                                                                              \
		}                                                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                                                \
	do {                                                                                                           \
		const char *check_a_ = (a), *check_b_ = (b);                                                           \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                                       \
			fprintf(stdout, "# %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,            \
				check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");                       \
			return TEST_FAIL;                                                                              \
		}                                                                                                      \
	} while (0)

static inline int unit_run(const struct unit_test *tests, size_t n)
{
	int failed = 0;
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		fflush(stdout);
		enum test_result r = tests[i].fn();
		if (r == TEST_PASS)
			printf("ok %zu - %s\n", i + 1, tests[i].name);
		else if (r == TEST_SKIP)
			printf("ok %zu - %s # SKIP\n", i + 1, tests[i].name);
		else {
			printf("not ok %zu - %s\n", i + 1, tests[i].name);
			failed++;
		}
	}
	fflush(stdout);
	return failed ? 1 : 0;
}

#endif
