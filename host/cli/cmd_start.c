/* start: release a created container's process. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "host/cli/cli.h"
#include "host/monitor/ctl.h"

int cmd_start(struct husk_globals *g, int argc, char **argv)
{
	struct husk_err err = { 0 };
	struct husk_state st;
	char dir[PATH_MAX];
	if (argc != 2 || argv[1][0] == '-')
		return cli_failf("start: expected exactly one container id (see husk start --help)");
	if (cli_load_state(g, argv[1], dir, sizeof dir, &st, &err) < 0)
		return cli_fail(&err);
	const char *status = husk_state_status(&st);
	husk_state_free(&st);
	if (strcmp(status, "created") != 0)
		return cli_failf("cannot start a container that is %s; it must be created", status);
	if (husk_ctl_start(dir, &err) < 0)
		return cli_fail(&err);
	return 0;
}

int cmd_not_yet(struct husk_globals *g, int argc, char **argv)
{
	if (!strcmp(argv[0], "checkpoint") || !strcmp(argv[0], "restore"))
		return cli_failf("%s is not supported: the virtio-fs device of QEMU 7.2 cannot be migrated, so a "
				 "husk VM cannot be saved and restored",
				 argv[0]);
	return cli_failf("%s is not implemented yet in this version of husk", argv[0]);
}
