/* husk: a runc-compatible OCI runtime that runs each container in its own
 * microVM. Global options, then one verb from the table. */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/cli/cli.h"
#include "host/state/log.h"

static const struct husk_verb verbs[] = {
	{ "create", "create a container", "create [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] ID",
	  cmd_create },
	{ "start", "start a created container", "start ID", cmd_start },
	{ "run", "create and start a container, wait for it",
	  "run [--bundle DIR] [--pid-file FILE] [--console-socket SOCK] [--detach] ID", cmd_run },
	{ "state", "print the state of a container as JSON", "state ID", cmd_state },
	{ "kill", "send a signal to the container's process (0: check it is alive)", "kill [--all] ID [SIGNAL]",
	  cmd_kill },
	{ "delete", "delete a container and everything it holds", "delete [--force] ID", cmd_delete },
	{ "list", "list containers", "list [--format table|json] [--quiet]", cmd_list },
	{ "config", "print husk's effective configuration and where each value comes from", "config", cmd_config },
	{ "exec", "run a process in a running container",
	  "exec [--process FILE] [--tty] [--console-socket SOCK] [--detach] [--pid-file FILE] [--cwd DIR] [--env K=V] [--user UID[:GID]] ID [COMMAND...]",
	  cmd_exec },
	{ "ps", "list the processes of a container (table: guest pids; json: the host pid, the monitor's)",
	  "ps [--format table|json] ID [-e|-A|-x|a|x|-f]", cmd_ps },
	{ "pause", "freeze a container", "pause ID", cmd_pause },
	{ "resume", "thaw a paused container", "resume ID", cmd_resume },
	{ "update", "change a container's resource limits in its guest cgroup",
	  "update [--resources FILE|-] [--memory N] [--memory-reservation N] [--memory-swap N] [--cpu-quota N] [--cpu-period N] [--cpu-share N] [--cpuset-cpus L] [--cpuset-mems L] [--pids-limit N] ID",
	  cmd_update },
	{ "events", "print container events (oom) and stats as JSON lines", "events [--stats] [--interval D] ID",
	  cmd_events },
	{ "features", "print the OCI features JSON", "features", cmd_features },
	{ "spec", "write a default config.json", "spec [--bundle DIR]", cmd_spec },
	{ "pool", "keep VMs booted for create to take (docs/pool.md)", "pool serve [--size N] | pool status",
	  cmd_pool },
	{ "sandbox", "run a CI job in a throwaway VM (docs/sandbox.md)",
	  "sandbox run (--rootfs DIR | --image NAME) [--work DIR] [--timeout SEC] [--memory MIB] [--cpus N] [--net none|nat [--dns IP]...] [--env K=V]... [--read-only] -- CMD [ARG...]\n"
	  "       husk sandbox start --name NAME (--rootfs DIR | --image NAME) [run's options but --timeout]\n"
	  "       husk sandbox exec [--env K=V]... NAME -- CMD [ARG...] | sandbox stop NAME\n"
	  "       husk sandbox cp NAME:PATH HOST_PATH | sandbox cp HOST_PATH NAME:PATH  (files and directories)",
	  cmd_sandbox },
	{ "checkpoint", "checkpoint a container", "checkpoint ID", cmd_not_yet },
	{ "restore", "restore a container", "restore ID", cmd_not_yet },
};

const struct husk_verb *cli_find_verb(const char *name)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static void print_help(FILE *f)
{
	fprintf(f, "usage: husk [global options] COMMAND [options] [ID]\n\n"
		   "husk runs OCI containers, each in its own microVM, with runc's command line.\n\n"
		   "global options:\n"
		   "  --root DIR              state directory (default " HUSK_DEFAULT_ROOT ")\n"
		   "  --log FILE              log file (default stderr)\n"
		   "  --log-format text|json  log format (default text)\n"
		   "  --debug                 debug logging\n"
		   "  --systemd-cgroup        linux.cgroupsPath is systemd's \"slice:prefix:name\"\n"
		   "  --version, -v           print the version\n"
		   "  --help, -h              this help\n\ncommands:\n");
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		fprintf(f, "  %-11s %s\n", verbs[i].name, verbs[i].summary);
}

static void print_version(void)
{
	printf("husk version %s\ncommit: %s\nspec: 1.0.2\n", HUSK_VERSION, HUSK_COMMIT);
}

int main(int argc, char **argv)
{
	struct husk_globals g = { .root = HUSK_DEFAULT_ROOT };
	const char *log_format = "text";
	enum { OPT_ROOT = 256, OPT_LOG, OPT_LOG_FORMAT, OPT_DEBUG, OPT_SYSTEMD, OPT_CRIU, OPT_ROOTLESS };
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
		{ "debug", no_argument, NULL, OPT_DEBUG },
		{ "systemd-cgroup", no_argument, NULL, OPT_SYSTEMD },
		{ "criu", required_argument, NULL, OPT_CRIU },
		{ "rootless", required_argument, NULL, OPT_ROOTLESS },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	signal(SIGPIPE, SIG_IGN);
	/* a caller may start us with 0, 1 or 2 closed: keep them taken, or the
	 * first pipe we open would be mistaken for the container's stdio */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) < 0)
			return 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			g.root = optarg;
			break;
		case OPT_LOG:
			g.log_path = optarg;
			break;
		case OPT_LOG_FORMAT:
			log_format = optarg;
			break;
		case OPT_DEBUG:
			g.debug = true;
			break;
		case OPT_SYSTEMD:
			g.systemd_cgroup = true;
			break;
		case OPT_CRIU:
		case OPT_ROOTLESS:
			break;
		case 'v':
			print_version();
			return 0;
		case 'h':
			print_help(stdout);
			return 0;
		default:
			fprintf(stderr, "husk: unknown global option %s (see husk --help)\n", argv[optind - 1]);
			return 1;
		}
	}
	if (strcmp(log_format, "text") && strcmp(log_format, "json")) {
		fprintf(stderr, "husk: --log-format must be text or json, not \"%s\"\n", log_format);
		return 1;
	}
	g.log_json = strcmp(log_format, "json") == 0;
	husk_log_setup(g.log_path, g.log_json, g.debug ? HUSK_LOG_DEBUG : HUSK_LOG_INFO);

	/* as runc: no command prints the help; an unknown one (also with -h,
	 * or as `help foo`) exits 3 */
	if (optind >= argc) {
		print_help(stdout);
		return 0;
	}
	const char *name = argv[optind];
	if (!strcmp(name, "help")) {
		if (optind + 1 >= argc) {
			print_help(stdout);
			return 0;
		}
		name = argv[optind + 1];
	}
	const struct husk_verb *v = cli_find_verb(name);
	if (!v) {
		fprintf(stderr, "husk: no such command \"%s\" (see husk --help)\n", name);
		return 3;
	}
	if (name != argv[optind]) {
		cli_print_usage(v);
		return 0;
	}
	int vargc = argc - optind;
	char **vargv = argv + optind;
	if (cli_wants_help(v, vargc, vargv))
		return 0;
	optind = 0; /* glibc: 0 re-initialises getopt for the verb's argv */
	return v->run(&g, vargc, vargv);
}
