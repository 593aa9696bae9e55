/* kill: signal the container's process (or all of its processes). */
#include <getopt.h>
#include <signal.h>

#include "host/cli/cli.h"
#include "host/container/container.h"

int cmd_kill(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct husk_err err = { 0 };
	bool all = false;
	int c;
	while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else
			return cli_failf("kill: unknown option %s (see husk kill --help)", argv[optind - 1]);
	}
	if (optind >= argc || argc - optind > 2)
		return cli_failf("kill: expected a container id and an optional signal (see husk kill --help)");
	const char *id = argv[optind];
	int sig = SIGTERM;
	if (argc - optind == 2) {
		sig = cli_parse_signal(argv[optind + 1]);
		if (sig < 0)
			return cli_failf("kill: unknown signal \"%s\"", argv[optind + 1]);
	}
	if (husk_container_kill(g->root, id, sig, all, &err) < 0)
		return cli_fail(&err);
	return 0;
}
