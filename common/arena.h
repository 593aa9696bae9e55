/* A bump allocator over one caller-provided buffer: decoded messages live in
 * it and are freed together. Allocation failure is -ENOMEM, never a crash. */
#ifndef HUSK_COMMON_ARENA_H
#define HUSK_COMMON_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct husk_arena {
	uint8_t *base;
	size_t cap;
	size_t used;
};

void husk_arena_init(struct husk_arena *a, void *buf, size_t cap);
/* 16-byte aligned, zeroed; NULL when the arena is full (or on overflow). */
void *husk_arena_alloc(struct husk_arena *a, size_t size);
void *husk_arena_alloc_array(struct husk_arena *a, size_t n, size_t size);
/* Copies n bytes and adds a NUL; NULL when full. */
char *husk_arena_strndup(struct husk_arena *a, const void *s, size_t n);

#endif
