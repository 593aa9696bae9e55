/* The guest's path resolution inside the container rootfs (runc's
 * securejoin rules), run on the host over a scratch tree
 * (guest/rootfs_path.c through build/libguest-host.a). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/guest.h"
#include "tests/unit/unit.h"

static char root[PATH_MAX];

static bool resolves(const char *unsafe, const char *want_rel)
{
	char out[GUEST_JOIN_MAX], want[PATH_MAX];
	snprintf(want, sizeof want, "%s%s", root, want_rel);
	int r = container_secure_join(root, unsafe, out, sizeof out);
	if (r == 0 && strcmp(out, want) == 0)
		return true;
	printf("# %s -> %d \"%s\", expected \"%s\"\n", unsafe, r, r == 0 ? out : "", want);
	return false;
}

static enum test_result test_secure_join(void)
{
	char p[PATH_MAX + 64];
	snprintf(root, sizeof root, "%s/husk-rootfs-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root))
		return TEST_SKIP;
	snprintf(p, sizeof p, "%s/etc", root);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof p, "%s/a", root);
	CHECK(mkdir(p, 0755) == 0);
	snprintf(p, sizeof p, "%s/a/abs", root);
	CHECK(symlink("/etc", p) == 0); /* absolute: restarts at the root */
	snprintf(p, sizeof p, "%s/a/up", root);
	CHECK(symlink("../../../../..", p) == 0); /* stops at the root */
	snprintf(p, sizeof p, "%s/a/rel", root);
	CHECK(symlink("../etc/x", p) == 0);
	snprintf(p, sizeof p, "%s/loop", root);
	CHECK(symlink("loop", p) == 0);

	enum test_result res = TEST_FAIL;
	char out[GUEST_JOIN_MAX];
	if (!resolves("/", "") || !resolves("/etc/passwd", "/etc/passwd") ||
	    !resolves("//a/./abs/hosts", "/etc/hosts") || !resolves("/a/up/etc", "/etc") ||
	    !resolves("/../../etc", "/etc") || !resolves("/a/rel", "/etc/x") ||
	    !resolves("/missing/deeper", "/missing/deeper"))
		goto out;
	if (container_secure_join(root, "/loop/x", out, sizeof out) != -ELOOP)
		goto out;
	if (container_secure_join(root, "/a/long-name", out, strlen(root) + 4) != -ENAMETOOLONG)
		goto out;
	res = TEST_PASS;
out:
	snprintf(p, sizeof p, "rm -rf '%s'", root);
	if (system(p) != 0)
		printf("# could not remove %s\n", root);
	return res;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "paths resolve inside the rootfs: absolute links, .., loops, length", test_secure_join },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
