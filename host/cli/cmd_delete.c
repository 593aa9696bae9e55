/* delete: remove a stopped container; --force kills a live one first
 * (the container layer's teardown). */
#include <getopt.h>

#include "host/cli/cli.h"
#include "host/container/container.h"

int cmd_delete(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct husk_err err = { 0 };
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else
			return cli_failf("delete: unknown option %s (see husk delete --help)", argv[optind - 1]);
	}
	if (optind != argc - 1)
		return cli_failf("delete: expected exactly one container id (see husk delete --help)");
	if (husk_container_delete(g->root, argv[optind], force, &err) < 0)
		return cli_fail(&err);
	return 0;
}
