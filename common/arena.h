/*
 * arena: many small allocations that live and die together (a
 * snapshot's entries, values and index nodes): one malloc per chunk
 * instead of one per object, and one free per chunk at the end, so
 * that building a map of 100,000 entries neither fragments the heap
 * nor spends its time in malloc and free.  Allocation dies on ENOMEM
 * like xmalloc (exit 75).  Not thread-safe; nothing is freed alone.
 */
#ifndef LDAPMAIL_ARENA_H
#define LDAPMAIL_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	char *p;		/* free space of head */
	size_t left;
};

#define ARENA_INIT	{ NULL, NULL, 0 }

/* n bytes, aligned to 8 (pointers, 64-bit integers; not long
 * double), uninitialized. */
void *arena_alloc(struct arena *a, size_t n);
/* n bytes, zeroed. */
void *arena_zalloc(struct arena *a, size_t n);
/* n elements of size bytes, uninitialized (overflow: ENOMEM). */
void *arena_array(struct arena *a, size_t n, size_t size);
/* A copy of the n bytes at s, NUL-terminated. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Free everything; the arena can be used again. */
void arena_free(struct arena *a);

/* n elements of size bytes outside any arena, uninitialized, free()d
 * alone; from 2 MiB on, aligned and in huge pages where the kernel has
 * them (one fault, not one per 4 KiB).  Dies on ENOMEM like xmalloc. */
void *huge_alloc(size_t n, size_t size);

#endif
