/* create: the container layer sets up the state dir and forks the monitor
 * (the process named in --pid-file), which reports the container created. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>

#include "host/cli/cli.h"
#include "host/container/container.h"

int cli_parse_create_opts(int argc, char **argv, bool is_run, struct create_opts *o)
{
	enum {
		OPT_PID_FILE = 256,
		OPT_CONSOLE,
		OPT_NO_PIVOT,
		OPT_NO_KEYRING,
		OPT_PRESERVE_FDS,
		OPT_NO_SUBREAPER,
		OPT_KEEP
	};
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
		{ "no-new-keyring", no_argument, NULL, OPT_NO_KEYRING },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
		{ "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "detach", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof *o);
	o->bundle = ".";
	int c;
	while ((c = getopt_long(argc, argv, is_run ? "+b:d" : "+b:", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bundle = optarg;
			break;
		case OPT_PID_FILE:
			o->pid_file = optarg;
			break;
		case OPT_CONSOLE:
			o->console_socket = optarg;
			break;
		case 'd':
			o->detach = true;
			break;
		case OPT_NO_PIVOT:
		case OPT_NO_KEYRING:
		case OPT_PRESERVE_FDS:
		case OPT_NO_SUBREAPER:
			break;
		case OPT_KEEP:
			o->keep = true;
			break;
		default:
			return cli_failf("%s: unknown option %s (see husk %s --help)", argv[0], argv[optind - 1],
					 argv[0]);
		}
	}
	if (optind != argc - 1)
		return cli_failf("%s: expected exactly one container id (see husk %s --help)", argv[0], argv[0]);
	o->id = argv[optind];
	return 0;
}

/* Everything up to a created container (host/container/container.h). */
pid_t cli_create_container(struct husk_globals *g, const struct create_opts *o, bool is_run, char *dir, size_t dir_cap,
			   struct husk_err *err)
{
	struct husk_create_opts c = {
		.root = g->root,
		.id = o->id,
		.bundle = o->bundle,
		.console_socket = o->console_socket,
		.foreground = is_run && !o->detach,
		.log_to_caller_file = g->log_path != NULL,
		.systemd_cgroup = g->systemd_cgroup,
	};
	return husk_container_create(&c, dir, dir_cap, err);
}

int cmd_create(struct husk_globals *g, int argc, char **argv)
{
	struct create_opts o;
	struct husk_err err = { 0 };
	char dir[PATH_MAX];
	if (cli_parse_create_opts(argc, argv, false, &o) != 0)
		return 1;
	pid_t pid = cli_create_container(g, &o, false, dir, sizeof dir, &err);
	if (pid < 0)
		return cli_fail(&err);
	if (o.pid_file && cli_write_pid_file(o.pid_file, pid, &err) < 0) {
		kill(pid, SIGKILL);
		return cli_fail(&err);
	}
	return 0;
}
