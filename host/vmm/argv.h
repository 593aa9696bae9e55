/* A growable NULL-terminated argument vector for spawning helpers. */
#ifndef HUSK_HOST_ARGV_H
#define HUSK_HOST_ARGV_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

struct husk_argv {
	char **v;
	size_t n, cap;
	bool oom;
};

void husk_argv_push(struct husk_argv *a, const char *s);
void husk_argv_pushf(struct husk_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* -ENOMEM (err filled) if any push failed */
int husk_argv_check(const struct husk_argv *a, struct husk_err *err);
void husk_argv_free(struct husk_argv *a);
/* index of the first element equal to s, or -1 (tests) */
int husk_argv_find(const struct husk_argv *a, const char *s);

#endif
