/* start: release a created container's process. */
#include <string.h>

#include "host/cli/cli.h"
#include "host/container/container.h"

int cmd_start(struct husk_globals *g, int argc, char **argv)
{
	struct husk_err err = { 0 };
	if (argc != 2 || argv[1][0] == '-')
		return cli_failf("start: expected exactly one container id (see husk start --help)");
	if (husk_container_start(g->root, argv[1], &err) < 0)
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
