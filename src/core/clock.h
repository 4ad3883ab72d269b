/*
 * clock.h - the one clock every deadline is measured on: milliseconds on
 * CLOCK_MONOTONIC, which no change of the wall clock moves. Used by the
 * library, the supervisor, socks4d and the test programs.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t now_ms(void);

#endif
