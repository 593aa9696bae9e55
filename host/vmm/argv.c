#include "host/vmm/argv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push_owned(struct husk_argv *a, char *s)
{
	if (!s) {
		a->oom = true;
		return;
	}
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **v = realloc(a->v, cap * sizeof *v);
		if (!v) {
			free(s);
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void husk_argv_push(struct husk_argv *a, const char *s)
{
	push_owned(a, strdup(s));
}

void husk_argv_pushf(struct husk_argv *a, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	push_owned(a, s);
}

int husk_argv_check(const struct husk_argv *a, struct husk_err *err)
{
	if (a->oom || !a->v)
		return husk_err_set(err, ENOMEM, "out of memory building a command line");
	return 0;
}

void husk_argv_free(struct husk_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof *a);
}

int husk_argv_find(const struct husk_argv *a, const char *s)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], s) == 0)
			return (int)i;
	return -1;
}
