/* What ps reads from /proc/PID, parsed: no syscalls here, so host-run unit
 * tests cover it (tests/unit/test_guest_ps.c). */
#include <stdlib.h>
#include <string.h>

#include "guest/guest.h"

long ps_parse_ppid(const char *stat)
{
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses */
	const char *p = strrchr(stat, ')');
	if (p && p[1] == ' ' && p[2] && p[3] == ' ')
		return strtol(p + 4, NULL, 10);
	return 0;
}

long ps_parse_uid(const char *status)
{
	const char *u = strstr(status, "\nUid:");
	return u ? strtol(u + 5, NULL, 10) : -1;
}

void ps_clean_cmd(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0' || buf[i] == '\n')
			buf[i] = ' ';
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
}
