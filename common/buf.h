/*
 * buf: a length-carrying, growable byte buffer (Postfix's VSTRING, small).
 *
 * The bytes may hold NULs; p[len] is always a NUL so that a buffer holding
 * text can be passed as a C string.  Out of memory is fatal (exit 75):
 * nothing sensible can be done with half a buffer.
 */
#ifndef LDAPMAIL_BUF_H
#define LDAPMAIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *p;	/* NULL until the first append */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* Make room for n more bytes (plus the terminating NUL). */
void buf_reserve(struct buf *b, size_t n);
void buf_append(struct buf *b, const void *data, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, int c);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Empty the buffer, keep its memory. */
void buf_reset(struct buf *b);
/* Give the memory back; the buffer is empty and reusable. */
void buf_free(struct buf *b);
/* Text of the buffer; "" when nothing was ever appended. */
const char *buf_str(const struct buf *b);

/* Append s (len bytes) for people to read: valid UTF-8 kept, control
 * bytes and invalid UTF-8 as \xHH; quoted: in "", with '"' and '\'
 * escaped, cut after BUF_SHOWN_MAX bytes with "...". */
#define BUF_SHOWN_MAX	200
void buf_put_shown(struct buf *b, const char *s, size_t len, int quoted);

/* Allocation helpers that die on ENOMEM (exit 75). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
/* The pages of [p, p + len) (whole pages inside it only) made present
 * and writable now, in one call, rather than by a fault on each first
 * write: for large buffers about to be filled.  A hint: ignored where
 * the kernel cannot (before Linux 5.14). */
void mem_prefault(void *p, size_t len);
/* malloc_trim(0), one thread at a time: the heap's free memory given
 * back to the system.  Two threads in glibc's malloc_trim at once can
 * crash when glibc's own malloc was never used (under AddressSanitizer,
 * whose malloc replaces it, both set the heap up at the same time). */
void mem_trim(void);
/* memcmp of two byte strings of their own lengths, the shorter first
 * where one begins the other. */
int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* A fresh string, printf-formatted ("(message could not be formatted)"
 * when vsnprintf fails). */
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

#endif
