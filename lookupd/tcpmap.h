/*
 * tcpmap: the line codec of Postfix's tcp_table protocol.
 * Request "get SP key LF" with the key %XX-encoded; replies
 * "NNN SP text LF" at most TCPMAP_LINE_MAX bytes with the LF, where %,
 * white space and non-printing bytes of the text are %XX-encoded.  Pure:
 * no I/O, no globals.
 */
#ifndef LDAPMAIL_TCPMAP_H
#define LDAPMAIL_TCPMAP_H

#include <stddef.h>

struct buf;

#define TCPMAP_LINE_MAX 4096

enum tcpmap_status {
	TCPMAP_OK,	/* key decoded into out, *consumed = line with LF */
	TCPMAP_MORE,	/* no LF yet (and under the limit) */
	TCPMAP_TOO_LONG,/* no LF within TCPMAP_LINE_MAX bytes */
	TCPMAP_BAD,	/* not "get SP key", or a bad %-escape; *consumed set */
	TCPMAP_UNSUPPORTED /* a well-formed request other than get (put...) */
};

/* Decode one request line at the start of in[0..len); the decoded key is
 * appended to key (which the caller resets). */
enum tcpmap_status tcpmap_decode(const char *in, size_t len, struct buf *key,
    size_t *consumed);
/* %XX-decode len bytes of in, appending to out; -1 on a bad escape. */
int tcpmap_unescape(struct buf *out, const char *in, size_t len);
/* %XX-encode (%, white space, bytes outside 0x21..0x7e), appending. */
void tcpmap_escape(struct buf *out, const char *in, size_t len);

#endif
