/* probe shm-put KEY TEXT / shm-get KEY: a SysV shared memory segment
 * (the IPC namespace's), to show two containers share one. shm-put leaves
 * the segment behind (it lives as long as the namespace); shm-get prints
 * its text, or "errno N" when there is no segment with KEY. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "tests/probe/probe.h"

#define SHM_BYTES 4096

static int parse_key(const char *s, key_t *key)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 0);
	if (errno || end == s || *end || v <= 0 || v > 0x7fffffff) {
		fprintf(stderr, "probe: shm: \"%s\" is not a positive key\n", s);
		return -1;
	}
	*key = (key_t)v;
	return 0;
}

int probe_shm(int argc, char **argv, int put)
{
	key_t key;
	if (argc != (put ? 2 : 1) || parse_key(argv[0], &key) < 0) {
		fprintf(stderr, "probe: shm-put KEY TEXT | shm-get KEY\n");
		return 2;
	}
	int id = shmget(key, SHM_BYTES, put ? IPC_CREAT | 0600 : 0);
	if (id < 0) {
		printf("errno %d\n", errno);
		return 0;
	}
	char *p = shmat(id, NULL, 0);
	if (p == (void *)-1) {
		printf("errno %d\n", errno);
		return 0;
	}
	if (put)
		snprintf(p, SHM_BYTES, "%s", argv[1]);
	else
		printf("%.*s\n", SHM_BYTES - 1, p);
	shmdt(p);
	return 0;
}
