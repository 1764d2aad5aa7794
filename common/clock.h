/*
 * clock: elapsed time on the monotonic clock, which never jumps when the
 * wall clock is set: for timeouts, latencies and "how long did it take".
 */
#ifndef LDAPMAIL_CLOCK_H
#define LDAPMAIL_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since an arbitrary, fixed point (CLOCK_MONOTONIC). */
double clock_ms(void);
/* Nanoseconds on the same clock (for latencies counted per request). */
uint64_t clock_ns(void);
/* Milliseconds since t0, a CLOCK_MONOTONIC reading. */
double clock_ms_since(const struct timespec *t0);

#endif
