/* Guest log lines on the serial console: "husk-init: <level>: <message>".
 * Never payloads or environment variables. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "guest/guest.h"

void glog(const char *level, const char *fmt, ...)
{
	char line[768];
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	int n = snprintf(line, sizeof line, "[%5ld.%03ld] husk-init: %s: ", (long)ts.tv_sec, ts.tv_nsec / 1000000L,
			 level);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
