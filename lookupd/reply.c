/*
 * reply: a lookup result as socketmap or tcp_table bytes (see reply.h).
 *
 * What Postfix 3.7 does with the bytes decides their shape:
 *   - socketmap (dict_sockmap.c): the reply payload is split at its first
 *     space; "OK" gives the rest as the value, "NOTFOUND" is not found
 *     whatever follows, "TEMP"/"TIMEOUT"/anything else defer, "PERM" is a
 *     configuration error.  The payload may be at most 100000 bytes
 *     (netstring_get() limit).  We send "NOTFOUND " with its space, as
 *     socketmap_table(5) writes it.
 *   - tcp_table (dict_tcp.c): at most 4096 bytes with the LF; "NNN" and
 *     one white-space byte, then text that hex_unquote() must accept.  The
 *     text of every reply, 500 and 400 included, is %XX-encoded like a
 *     value, so "not found" goes out as "not%20found" (Postfix ignores the
 *     text of 4xx/5xx replies; a human reading it with nc sees %20).
 *   - Postfix handles values as C strings: a value holding a NUL byte
 *     would arrive cut short, which is a wrong answer.  Such a value, an
 *     empty one, or one too long for the protocol becomes TEMP/400 and is
 *     logged: deferring mail is recoverable, a wrong route is not.
 * Reasons (TEMP/PERM text) are made safe: printable ASCII only (other
 * bytes become '?'), at most REPLY_REASON_MAX bytes, so they can never
 * break the framing or fill a log line.
 */
#include <stddef.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "lookupd/netstring.h"
#include "lookupd/proto.h"
#include "lookupd/reply.h"
#include "lookupd/tcpmap.h"

#define REPLY_REASON_MAX	200

/* Why a FOUND value cannot be sent as it is; NULL when it can. */
static const char *
value_problem(const char *text, size_t len, size_t room)
{
	if (len == 0)
		return "empty answer";
	if (memchr(text, '\0', len) != NULL)
		return "answer holds a NUL byte";
	if (len > room)
		return "answer too long";
	return NULL;
}

static void
warn_value(const char *proto, const char *why, size_t len)
{
	log_warn("%s reply: %s (%zu bytes): answered as a temporary error",
	    proto, why, len);
}

/* The reason as printable ASCII, cut at REPLY_REASON_MAX bytes. */
static size_t
safe_reason(char *dst, const char *text, size_t len)
{
	size_t n = len < REPLY_REASON_MAX ? len : REPLY_REASON_MAX;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	return n;
}

static void
sockmap_word(struct buf *out, const char *word, const char *text,
    size_t len)
{
	char reason[REPLY_REASON_MAX];
	size_t wl = strlen(word), rl;

	rl = text != NULL ? safe_reason(reason, text, len) : 0;
	buf_printf(out, "%zu:%s ", wl + 1 + rl, word);
	buf_append(out, reason, rl);
	buf_putc(out, ',');
}

void
reply_sockmap(struct buf *out, enum result res, const char *text,
    size_t len)
{
	const char *why;

	switch (res) {
	case RES_FOUND:
		/* "OK " + value must fit in the payload limit. */
		why = value_problem(text, len, SOCKMAP_REPLY_MAX -
		    sizeof(PROTO_OK));
		if (why != NULL) {
			warn_value("socketmap", why, len);
			sockmap_word(out, PROTO_TEMP, why, strlen(why));
			return;
		}
		buf_printf(out, "%zu:" PROTO_OK " ", len + sizeof(PROTO_OK));
		buf_append(out, text, len);
		buf_putc(out, ',');
		return;
	case RES_NOTFOUND:
		sockmap_word(out, PROTO_NOTFOUND, NULL, 0);
		return;
	case RES_PERM:
		if (text == NULL || len == 0) {
			text = "permanent error";
			len = strlen(text);
		}
		sockmap_word(out, PROTO_PERM, text, len);
		return;
	case RES_TEMP:
	default:
		if (text == NULL || len == 0) {
			text = "temporary error";
			len = strlen(text);
		}
		sockmap_word(out, PROTO_TEMP, text, len);
		return;
	}
}

static void
tcp_line(struct buf *out, const char *code, const char *text, size_t len)
{
	buf_puts(out, code);
	buf_putc(out, ' ');
	tcpmap_escape(out, text, len);
	buf_putc(out, '\n');
}

static void
tcp_reason(struct buf *out, const char *text, size_t len, const char *dflt)
{
	char reason[REPLY_REASON_MAX];
	size_t rl;

	if (text == NULL || len == 0) {
		text = dflt;
		len = strlen(dflt);
	}
	rl = safe_reason(reason, text, len);
	/* 3 escaped bytes per byte at most: 4 + 600 + 1 < TCPMAP_LINE_MAX. */
	tcp_line(out, "400", reason, rl);
}

void
reply_tcp(struct buf *out, enum result res, const char *text, size_t len)
{
	const char *why;
	size_t start;

	switch (res) {
	case RES_FOUND:
		/* "200 " + at least len bytes + LF; encoding never shrinks. */
		why = value_problem(text, len, TCPMAP_LINE_MAX - 5);
		if (why == NULL) {
			start = out->len;
			tcp_line(out, "200", text, len);
			if (out->len - start <= TCPMAP_LINE_MAX)
				return;
			/* Too long once encoded: take it back. */
			out->len = start;
			out->p[start] = '\0';
			why = "answer too long";
		}
		warn_value("tcp_table", why, len);
		tcp_reason(out, why, strlen(why), NULL);
		return;
	case RES_NOTFOUND:
		tcp_line(out, "500", "not found", 9);
		return;
	case RES_PERM:
		tcp_reason(out, text, len, "permanent error");
		return;
	case RES_TEMP:
	default:
		tcp_reason(out, text, len, "temporary error");
		return;
	}
}
