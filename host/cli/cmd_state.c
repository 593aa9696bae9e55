/* state: the OCI state of a container. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>

#include "host/cli/cli.h"

int cmd_state(struct husk_globals *g, int argc, char **argv)
{
	struct husk_err err = { 0 };
	struct husk_state st;
	char dir[PATH_MAX];
	if (argc != 2 || argv[1][0] == '-')
		return cli_failf("state: expected exactly one container id (see husk state --help)");
	if (cli_load_state(g, argv[1], dir, sizeof dir, &st, &err) < 0)
		return cli_fail(&err);
	json_t *j = husk_state_oci_json(&st);
	husk_state_free(&st);
	if (!j)
		return cli_failf("out of memory");
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(j);
	return 0;
}
