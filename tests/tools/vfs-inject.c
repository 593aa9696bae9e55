/* Test-only (tests/e2e/share.bats, never installed): puts a bundle's
 * rootfs and binds into a share slot of a running container's VM, or
 * takes them out again, with husk_vfs_inject() / husk_vfs_eject().
 *   vfs-inject inject STATE_DIR SLOT BUNDLE
 *   vfs-inject eject STATE_DIR SLOT
 * STATE_DIR is the container's <root>/<id>; its state.json names the
 * monitor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/monitor/vfs_slot.h"
#include "host/spec/spec.h"
#include "host/state/state.h"

static int usage(void)
{
	fprintf(stderr, "usage: vfs-inject inject STATE_DIR SLOT BUNDLE | eject STATE_DIR SLOT\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	bool inject = !strcmp(argv[1], "inject");
	if ((inject && argc != 5) || (!inject && (strcmp(argv[1], "eject") || argc != 4)))
		return usage();
	char *end;
	errno = 0;
	unsigned long slot = strtoul(argv[3], &end, 10);
	if (errno || *end || end == argv[3] || slot > 0xffffffffUL) {
		fprintf(stderr, "vfs-inject: bad slot %s\n", argv[3]);
		return 2;
	}
	struct husk_err err = { 0 };
	struct husk_state st = { 0 };
	struct husk_spec spec = { 0 };
	bool loaded = false;
	int r = husk_state_read(argv[2], &st, &err);
	if (r == 0 && inject && (r = husk_spec_load(&spec, argv[4], &err)) == 0)
		loaded = true;
	if (r == 0)
		r = inject ? husk_vfs_inject(&st.monitor, argv[2], (uint32_t)slot, &spec, &err)
			   : husk_vfs_eject(&st.monitor, argv[2], (uint32_t)slot, &err);
	if (r < 0)
		fprintf(stderr, "vfs-inject: %s\n", err.msg);
	if (loaded)
		husk_spec_free(&spec);
	husk_state_free(&st);
	return r < 0 ? 1 : 0;
}
