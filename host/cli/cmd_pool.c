/* pool: `pool serve [--size N]` runs the pool server for --root;
 * `pool status` prints its status as JSON (docs/pool.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/cli.h"
#include "host/pool/pool.h"
#include "host/state/config.h"

static int pool_status(struct husk_globals *g)
{
	struct husk_err err = { 0 };
	struct husk_pool_status st;
	if (husk_pool_status(g->root, &st, &err) < 0)
		return cli_fail(&err);
	json_t *j = husk_pool_status_json(&st);
	if (!j)
		return cli_failf("out of memory");
	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(j);
	return 0;
}

int cmd_pool(struct husk_globals *g, int argc, char **argv)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	if (argc == 2 && !strcmp(argv[1], "status"))
		return pool_status(g);
	if (argc < 2 || strcmp(argv[1], "serve"))
		return cli_failf("pool: expected \"serve [--size N]\" or \"status\" (see husk pool --help)");
	if (husk_config_load(&cfg, &err) < 0)
		return cli_fail(&err);
	long size = husk_config_get_long(&cfg, CFG_POOL_SIZE);
	for (int i = 2; i < argc; i++) {
		const char *v = NULL;
		if (!strcmp(argv[i], "--size") && i + 1 < argc)
			v = argv[++i];
		else if (!strncmp(argv[i], "--size=", 7))
			v = argv[i] + 7;
		else
			return cli_failf("pool serve: unknown option %s (see husk pool --help)", argv[i]);
		char *end;
		size = strtol(v, &end, 10);
		if (end == v || *end || size < 1 || size > 64)
			return cli_failf("pool serve: --size must be a number from 1 to 64, not \"%s\"", v);
	}
	if (husk_pool_serve(g->root, &cfg, size, &err) < 0)
		return cli_fail(&err);
	return 0;
}
