/* Paths inside the container rootfs, resolved as runc's securejoin does.
 * It reads links with lstat/readlink only, so host-run unit tests cover it
 * on a scratch tree (tests/unit/test_guest_rootfs.c). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/guest.h"

#define MAX_SYMLINKS 40

/* root + unsafe with every symlink resolved inside root (an absolute link
 * restarts at root, ".." stops at root), like runc's securejoin. Missing
 * components are kept literally. */
int container_secure_join(const char *root, const char *unsafe, char *out, size_t cap)
{
	static char rest[2 * GUEST_JOIN_MAX], next[2 * GUEST_JOIN_MAX];
	char target[GUEST_JOIN_MAX];
	size_t root_len = strlen(root), len = root_len;
	int links = 0;
	if (root_len >= cap || strlen(unsafe) >= sizeof rest)
		return -ENAMETOOLONG;
	memcpy(out, root, root_len + 1);
	strcpy(rest, unsafe);
	for (char *p = rest; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		size_t n = strcspn(p, "/");
		char *comp = p;
		p += n;
		if (n == 1 && comp[0] == '.')
			continue;
		if (n == 2 && comp[0] == '.' && comp[1] == '.') {
			while (len > root_len && out[len - 1] != '/')
				len--;
			if (len > root_len)
				len--;
			out[len] = '\0';
			continue;
		}
		if (len + 1 + n >= cap)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, comp, n);
		len += n;
		out[len] = '\0';
		struct stat st;
		if (lstat(out, &st) < 0 || !S_ISLNK(st.st_mode))
			continue;
		if (++links > MAX_SYMLINKS)
			return -ELOOP;
		ssize_t t = readlink(out, target, sizeof target - 1);
		if (t < 0)
			return -errno;
		target[t] = '\0';
		len -= n + 1;
		if (target[0] == '/')
			len = root_len;
		out[len] = '\0';
		if ((size_t)snprintf(next, sizeof next, "%s/%s", target, p) >= sizeof next)
			return -ENAMETOOLONG;
		strcpy(rest, next);
		p = rest;
	}
	return 0;
}
