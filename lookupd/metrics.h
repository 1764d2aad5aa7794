/*
 * metrics: the daemon's state (status.h) in Prometheus's text exposition
 * format 0.0.4, for `lookupd stats --format=prometheus` and the
 * metrics_file node_exporter's textfile collector reads.  Names follow
 * Prometheus's conventions: ldapmail_ prefix, base units (_seconds),
 * counters end in _total, a HELP and a TYPE line for each family.
 * Label values are escaped (backslash, double quote, newline).  Pure:
 * no clock, no I/O (tests/unit/t_metrics.c).
 */
#ifndef LDAPMAIL_METRICS_H
#define LDAPMAIL_METRICS_H

struct buf;
struct status;

void metrics_render(const struct status *st, struct buf *out);

/* A label value as Prometheus wants it inside double quotes. */
void metrics_label(struct buf *out, const char *v);

#endif
