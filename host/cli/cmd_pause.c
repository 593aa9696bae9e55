/* pause and resume: requests the monitor forwards to the guest. */
#include "host/cli/cli.h"
#include "host/container/container.h"

static int pause_or_resume(struct husk_globals *g, const char *verb, int argc, char **argv,
			   int (*fn)(const char *root, const char *id, struct husk_err *err))
{
	struct husk_err err = { 0 };
	if (argc != 2 || argv[1][0] == '-')
		return cli_failf("%s: expected exactly one container id (see husk %s --help)", verb, verb);
	return fn(g->root, argv[1], &err) < 0 ? cli_fail(&err) : 0;
}

int cmd_pause(struct husk_globals *g, int argc, char **argv)
{
	return pause_or_resume(g, "pause", argc, argv, husk_container_pause);
}

int cmd_resume(struct husk_globals *g, int argc, char **argv)
{
	return pause_or_resume(g, "resume", argc, argv, husk_container_resume);
}
