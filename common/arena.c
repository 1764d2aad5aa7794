/*
 * arena: allocations freed together (see arena.h).  Chunks of
 * ARENA_CHUNK bytes, a huge page where the kernel has them (an
 * ldap_table snapshot of 100,000 entries faulted 25,000 times with
 * 1 MiB chunks of 4 KiB pages, 9,000 times with these).  A request
 * larger than a quarter of a chunk gets a chunk of its own, put behind
 * the current one so the current one's free space stays in use.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/exitcode.h"
#include "common/log.h"

#define ARENA_CHUNK	((size_t)2 << 20)	/* a huge page */
/* pointers and 64-bit integers; not long double: 16 would cost a
 * snapshot of 100,000 entries about 8 MB of padding */
#define ALIGN		8

struct arena_chunk {
	struct arena_chunk *next;
	max_align_t data[];
};

static void __attribute__((noreturn))
nomem(void)
{
	log_fatal(EXIT_TEMPFAIL, "out of memory (arena)");
}

void *
huge_alloc(size_t n, size_t size)
{
	size_t len;
	void *p;

	if (size != 0 && n > SIZE_MAX / size / 2)
		nomem();
	len = n * size;
	if (len < ARENA_CHUNK)
		return xreallocarray(NULL, n ? n : 1, size ? size : 1);
	/* aligned and advised, so that the kernel can back it with huge
	 * pages: a few faults instead of one per 4 KiB */
	len = (len + ARENA_CHUNK - 1) & ~(ARENA_CHUNK - 1);
	if ((p = aligned_alloc(ARENA_CHUNK, len)) == NULL)
		nomem();
	(void)madvise(p, len, MADV_HUGEPAGE);
	return p;
}

static void *
new_chunk(struct arena *a, size_t size, int current)
{
	struct arena_chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		nomem();
	if (current) {
		c = huge_alloc(1, ARENA_CHUNK);
		size = ARENA_CHUNK - sizeof(*c);
	} else {
		c = xmalloc(sizeof(*c) + size);
	}
	if (current || a->head == NULL) {
		c->next = a->head;
		a->head = c;
		if (current) {
			a->p = (char *)c->data;
			a->left = size;
		}
	} else {
		c->next = a->head->next;
		a->head->next = c;
	}
	return c->data;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	size_t r;
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - ALIGN)
		nomem();
	r = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (r > ARENA_CHUNK / 4) {
		return new_chunk(a, r, 0);
	}
	if (a->left < r)
		(void)new_chunk(a, 0, 1);
	p = a->p;
	a->p += r;
	a->left -= r;
	return p;
}

void *
arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	memset(p, 0, n ? n : 1);
	return p;
}

void *
arena_array(struct arena *a, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		nomem();
	return arena_alloc(a, n * size);
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		nomem();
	p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
	a->p = NULL;
	a->left = 0;
}
