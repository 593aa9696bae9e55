/* ps: the container's processes, as the guest lists them. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "host/cli/cli.h"
#include "host/container/container.h"

int cmd_ps(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t arena_buf[8u << 20];
	const char *format = "table";
	struct husk_err err = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "+f:", opts, NULL)) != -1) {
		if (c != 'f')
			return cli_failf("ps: unknown option %s (see husk ps --help)", argv[optind - 1]);
		format = optarg;
	}
	if (strcmp(format, "table") && strcmp(format, "json"))
		return cli_failf("ps: --format must be table or json, not \"%s\"", format);
	if (optind != argc - 1)
		return cli_failf("ps: expected exactly one container id (see husk ps --help)");
	struct husk_arena a;
	struct husk_ps_reply_msg ps;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	if (husk_container_ps(g->root, argv[optind], &a, &ps, &err) < 0)
		return cli_fail(&err);
	json_t *pids = json_array();
	if (!strcmp(format, "table"))
		printf("%-8s %-8s %-8s %s\n", "PID", "PPID", "UID", "CMD");
	for (uint32_t i = 0; i < ps.n_procs; i++) {
		const struct husk_ps_entry *p = &ps.procs[i];
		json_array_append_new(pids, json_integer((json_int_t)p->pid));
		if (!strcmp(format, "table"))
			printf("%-8llu %-8llu %-8llu %s\n", (unsigned long long)p->pid, (unsigned long long)p->ppid,
			       (unsigned long long)p->uid, p->cmd);
	}
	if (!strcmp(format, "json")) {
		json_dumpf(pids, stdout, JSON_COMPACT);
		putchar('\n');
	}
	json_decref(pids);
	return 0;
}
