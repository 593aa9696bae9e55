/* The one monotonic clock of host and guest: milliseconds since an
 * arbitrary point (CLOCK_MONOTONIC), for deadlines and timeouts. Signed,
 * so "deadline - husk_now_ms()" goes negative once the deadline passed. */
#ifndef HUSK_COMMON_CLOCK_H
#define HUSK_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t husk_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
