#include "common/arena.h"

#include <string.h>

void husk_arena_init(struct husk_arena *a, void *buf, size_t cap)
{
	a->base = buf;
	a->cap = cap;
	a->used = 0;
}

void *husk_arena_alloc(struct husk_arena *a, size_t size)
{
	size_t start = (a->used + 15u) & ~(size_t)15u;
	if (start < a->used || start > a->cap || size > a->cap - start)
		return NULL;
	a->used = start + size;
	void *p = a->base + start;
	memset(p, 0, size);
	return p;
}

void *husk_arena_alloc_array(struct husk_arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return husk_arena_alloc(a, n * size);
}

char *husk_arena_strndup(struct husk_arena *a, const void *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = husk_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
