/* pause and resume: requests the monitor forwards to the guest. */
#include <limits.h>

#include "proto/msg.h"
#include "host/cli/cli.h"

int cmd_pause(struct husk_globals *g, int argc, char **argv)
{
	struct husk_err err = { 0 };
	char dir[PATH_MAX];
	if (cli_load_in_status(g, "pause", argc, argv, HUSK_STATUS_RUNNING, -1, dir, sizeof dir))
		return 1;
	if (cli_empty_request(dir, HUSK_MSG_PAUSE, NULL, NULL, &err) < 0)
		return cli_fail(&err);
	return 0;
}

int cmd_resume(struct husk_globals *g, int argc, char **argv)
{
	struct husk_err err = { 0 };
	char dir[PATH_MAX];
	if (cli_load_in_status(g, "resume", argc, argv, HUSK_STATUS_PAUSED, -1, dir, sizeof dir))
		return 1;
	if (cli_empty_request(dir, HUSK_MSG_RESUME, NULL, NULL, &err) < 0)
		return cli_fail(&err);
	return 0;
}
