/* ps: the container's processes. The table is the guest's own listing
 * (guest pids); --format json is runc's contract, the host pids of the
 * container: for a VM, its monitor's. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/escape.h"
#include "host/cli/cli.h"
#include "host/container/container.h"

/* runc passes what follows the id to ps(1). The guest lists one fixed
 * format with every process of the container, so the options that select
 * all processes or the full command line (-e, -A, -x, a, x, -f, and
 * combinations like -ef) change nothing and are accepted; any other would
 * change the output and is refused. */
static int check_ps_args(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i] + (argv[i][0] == '-');
		if (!*a || strspn(a, "eAxaf") != strlen(a))
			return cli_failf(
				"ps: ps option \"%s\" is not supported: the guest lists a fixed format "
				"(PID PPID UID CMD) of every process; only -e, -A, -x, a, x and -f are accepted",
				argv[i]);
	}
	return 0;
}

static void print_header(void)
{
	printf("%-8s %-8s %-8s %s\n", "PID", "PPID", "UID", "CMD");
}

static int print_guest_table(struct husk_globals *g, const char *id)
{
	static uint8_t arena_buf[8u << 20];
	static char cmd[4 * HUSK_PS_CMD_MAX + 1]; /* an escaped byte is at most 4 */
	struct husk_err err = { 0 };
	struct husk_arena a;
	struct husk_ps_reply_msg ps;
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	if (husk_container_ps(g->root, id, &a, &ps, &err) < 0)
		return cli_fail(&err);
	print_header();
	for (uint32_t i = 0; i < ps.n_procs; i++) {
		const struct husk_ps_entry *p = &ps.procs[i];
		husk_escape_str(cmd, sizeof cmd, p->cmd, 0); /* the guest's text */
		printf("%-8llu %-8llu %-8llu %s\n", (unsigned long long)p->pid, (unsigned long long)p->ppid,
		       (unsigned long long)p->uid, cmd);
	}
	return 0;
}

int cmd_ps(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
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
	if (optind >= argc)
		return cli_failf("ps: expected a container id (see husk ps --help)");
	const char *id = argv[optind];
	if (check_ps_args(argc - optind - 1, argv + optind + 1) != 0)
		return 1;

	struct husk_state st;
	char dir[PATH_MAX];
	if (cli_load_state(g, id, dir, sizeof dir, &st, &err) < 0)
		return cli_fail(&err);
	enum husk_status status = husk_state_status(&st);
	pid_t monitor = st.monitor.pid;
	husk_state_free(&st);
	bool json = !strcmp(format, "json");
	if (status == HUSK_STATUS_STOPPED) {
		/* as runc: no processes is no error */
		if (json)
			printf("null\n");
		else
			print_header();
		return 0;
	}
	if (!json)
		return print_guest_table(g, id);
	printf("[%d]\n", (int)monitor);
	return 0;
}
