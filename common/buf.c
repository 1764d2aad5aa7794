/*
 * buf: a length-carrying, growable byte buffer, and allocation helpers
 * that die on ENOMEM.
 *
 * Every size computation is checked for size_t overflow before anything is
 * allocated; an impossible size is treated like ENOMEM (log_fatal, exit
 * 75).  Appending a buffer's own bytes to itself is allowed (the source is
 * located again after growing); buf_printf()'s arguments must not point
 * into the buffer they are printed to.  p[len] is a NUL as soon as p
 * exists.
 */
#include <sys/mman.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/exitcode.h"
#include "common/log.h"
#include "common/safepath.h"

#define BUF_MIN_CAP	64

static void __attribute__((noreturn))
nomem(size_t n)
{
	log_fatal(EXIT_TEMPFAIL, "out of memory (%zu bytes)", n);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		nomem(n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if (n > SIZE_MAX / size)
		nomem(SIZE_MAX);
	if ((p = calloc(n, size)) == NULL)
		nomem(n * size);
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		nomem(n);
	return q;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		nomem(SIZE_MAX);
	return xrealloc(p, n * size);
}

void
mem_prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)p, hi = lo + len;

	lo = (lo + page - 1) & ~(uintptr_t)(page - 1);
	hi &= ~(uintptr_t)(page - 1);
	if (p != NULL && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)len;
#endif
}

int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

void
mem_trim(void)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

	pthread_mutex_lock(&mu);
	(void)malloc_trim(0);
	pthread_mutex_unlock(&mu);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p;

	if (len == SIZE_MAX)
		nomem(SIZE_MAX);
	p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void
buf_reserve(struct buf *b, size_t n)
{
	size_t need, cap;

	/* len + n + 1 must not wrap. */
	if (n > SIZE_MAX - 1 - b->len)
		nomem(SIZE_MAX);
	need = b->len + n + 1;
	if (b->p != NULL && need <= b->cap)
		return;
	cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
	b->p[b->len] = '\0';
}

void
buf_append(struct buf *b, const void *data, size_t n)
{
	const char *src = data;
	size_t off = 0;
	int inside = 0;

	/* The source may be our own bytes, which realloc could move. */
	if (b->p != NULL && src != NULL && src >= b->p && src < b->p + b->cap) {
		inside = 1;
		off = (size_t)(src - b->p);
	}
	buf_reserve(b, n);
	if (inside)
		src = b->p + off;
	if (n > 0)
		memmove(b->p + b->len, src, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, int c)
{
	char ch = (char)c;

	buf_append(b, &ch, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	size_t room;
	int r;

	buf_reserve(b, 0);
	va_start(ap, fmt);
	va_copy(ap2, ap);
	room = b->cap - b->len;
	r = vsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (r < 0) {
		va_end(ap2);
		b->p[b->len] = '\0';
		log_fatal(EXIT_TEMPFAIL, "buf_printf: cannot format \"%s\"",
		    fmt);
	}
	if ((size_t)r >= room) {
		buf_reserve(b, (size_t)r);
		room = b->cap - b->len;
		r = vsnprintf(b->p + b->len, room, fmt, ap2);
		if (r < 0 || (size_t)r >= room) {
			va_end(ap2);
			b->p[b->len] = '\0';
			log_fatal(EXIT_TEMPFAIL, "buf_printf: format changed "
			    "size");
		}
	}
	va_end(ap2);
	b->len += (size_t)r;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (b->p == NULL)
		return;
	if (n > b->len)
		n = b->len;
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

const char *
buf_str(const struct buf *b)
{
	return b->p != NULL ? b->p : "";
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t want = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 :
	    0;

	if (want == 0 || want > n || !safepath_utf8((const char *)p, want))
		return 0;
	return want;
}

void
buf_put_shown(struct buf *b, const char *s, size_t len, int quoted)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = len, i = 0, u;

	if (quoted) {
		if (n > BUF_SHOWN_MAX)
			n = BUF_SHOWN_MAX;
		buf_putc(b, '"');
	}
	while (i < n) {
		unsigned char c = p[i];

		if (c >= 0x80 && (u = utf8_seq(p + i, n - i)) > 0) {
			buf_append(b, p + i, u);
			i += u;
			continue;
		}
		if (quoted && (c == '"' || c == '\\')) {
			buf_putc(b, '\\');
			buf_putc(b, c);
		} else if (c < 0x20 || c >= 0x7f) {
			buf_putc(b, '\\');
			buf_putc(b, 'x');
			buf_putc(b, hex[c >> 4]);
			buf_putc(b, hex[c & 15]);
		} else {
			buf_putc(b, c);
		}
		i++;
	}
	if (quoted) {
		if (n < len)
			buf_puts(b, "...");
		buf_putc(b, '"');
	}
}

char *
xvprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	char *s;
	int r;

	va_copy(ap2, ap);
	r = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (r < 0)
		return xstrdup("(message could not be formatted)");
	s = xmalloc((size_t)r + 1);
	if (vsnprintf(s, (size_t)r + 1, fmt, ap) != r)
		s[0] = '\0';
	return s;
}

char *
xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvprintf(fmt, ap);
	va_end(ap);
	return s;
}
