/* create and run: set up the state dir, fork the monitor (the process named
 * in --pid-file), wait until it reports the container created. */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/cli/cli.h"
#include "host/state/config.h"
#include "host/monitor/ctl.h"
#include "host/state/fsutil.h"
#include "host/spec/hooks.h"
#include "host/state/log.h"
#include "host/monitor/monitor.h"
#include "host/spec/spec.h"

struct create_opts {
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
	bool detach;
	const char *id;
};

static int parse_create_opts(int argc, char **argv, bool is_run, struct create_opts *o)
{
	enum { OPT_PID_FILE = 256, OPT_CONSOLE, OPT_NO_PIVOT, OPT_NO_KEYRING, OPT_PRESERVE_FDS, OPT_NO_SUBREAPER,
	       OPT_KEEP };
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
		case OPT_KEEP:
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

static int container_monitor_body(void *arg, int ready_fd)
{
	struct husk_monitor_args *a = arg;
	a->ready_fd = ready_fd;
	return husk_monitor_run(a);
}

/* Everything up to a created container. Returns the monitor's pid, or a
 * negative code with err filled (and nothing left behind). */
static pid_t create_container(struct husk_globals *g, const struct create_opts *o, bool is_run, char *dir,
			      size_t dir_cap, struct husk_err *err)
{
	struct husk_config cfg;
	struct husk_spec spec;
	int r;

	if ((r = husk_id_validate(o->id, err)) < 0)
		return r;
	if ((r = husk_config_load(&cfg, err)) < 0)
		return r;
	if ((r = husk_spec_load(&spec, o->bundle, err)) < 0) {
		husk_spec_free(&spec);
		return r;
	}
	/* as runc: a detached container's terminal needs a console socket; a
	 * foreground run uses its own stdio */
	if (spec.process.terminal && !o->console_socket && (!is_run || o->detach)) {
		husk_spec_free(&spec);
		return husk_err_set(err, EINVAL, "cannot allocate a terminal for a detached container without --console-socket");
	}
	if ((r = mkdir_p(g->root, 0700, err)) < 0 || (r = husk_state_path(dir, dir_cap, g->root, o->id, NULL, err)) < 0) {
		husk_spec_free(&spec);
		return r;
	}
	char real[PATH_MAX];
	if ((r = husk_state_dir_create(dir, o->id, real, sizeof real, err)) < 0) {
		husk_spec_free(&spec);
		if (r == -EEXIST) {
			husk_err_clear(err);
			return husk_err_set(err, EEXIST, "container with id \"%s\" already exists", o->id);
		}
		return r;
	}
	husk_log_set_id(o->id);
	husk_state_link_default(g->root, o->id, real);

	struct husk_monitor_args a = {
		.id = o->id,
		.state_dir = real,
		.spec = &spec,
		.cfg = &cfg,
		.ready_fd = -1,
		.console_socket = o->console_socket,
		.log_to_caller_file = g->log_path != NULL,
	};
	pid_t pid = cli_fork_monitor(container_monitor_body, &a, "container monitor", err);
	husk_spec_free(&spec);
	if (pid < 0) {
		struct husk_err rerr = { 0 };
		husk_state_remove(dir, o->id, &rerr);
	}
	return pid;
}

int cmd_create(struct husk_globals *g, int argc, char **argv)
{
	struct create_opts o;
	struct husk_err err = { 0 };
	char dir[PATH_MAX];
	if (parse_create_opts(argc, argv, false, &o) != 0)
		return 1;
	pid_t pid = create_container(g, &o, false, dir, sizeof dir, &err);
	if (pid < 0)
		return cli_fail(&err);
	if (o.pid_file && cli_write_pid_file(o.pid_file, pid, &err) < 0) {
		kill(pid, SIGKILL);
		return cli_fail(&err);
	}
	return 0;
}

/* The monitor logs to its state dir; run deletes that dir, so it shows the
 * monitor's errors first. */
static void print_monitor_errors(const char *dir)
{
	char path[PATH_MAX], line[2048];
	snprintf(path, sizeof path, "%s/monitor.log", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *msg = strstr(line, " error ");
		if (msg)
			fprintf(stderr, "husk: %s", msg + 7);
	}
	fclose(f);
}

/* run removes what it created, the poststop hooks first (as delete). */
static void run_remove(const char *dir, const char *id)
{
	struct husk_state st;
	struct husk_err err = { 0 };
	if (husk_state_read(dir, &st, &err) == 0) {
		husk_hooks_poststop(&st);
		husk_state_free(&st);
	}
	husk_err_clear(&err);
	husk_state_remove(dir, id, &err);
}

/* run: create, start, then wait for the monitor and exit with its status,
 * forwarding the signals the CLI receives to the container. */
int cmd_run(struct husk_globals *g, int argc, char **argv)
{
	struct create_opts o;
	struct husk_err err = { 0 };
	char dir[PATH_MAX];
	if (parse_create_opts(argc, argv, true, &o) != 0)
		return 1;
	sigset_t set, old;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t pid = create_container(g, &o, true, dir, sizeof dir, &err);
	if (pid < 0)
		return cli_fail(&err);
	if (o.pid_file && cli_write_pid_file(o.pid_file, pid, &err) < 0) {
		kill(pid, SIGKILL);
		return cli_fail(&err);
	}
	if (husk_ctl_start(dir, &err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		run_remove(dir, o.id);
		return cli_fail(&err);
	}
	if (o.detach)
		return 0;
	int status = cli_wait_forwarding(pid, &set);
	if (status == 255)
		print_monitor_errors(dir);
	run_remove(dir, o.id); /* run deletes what it created */
	return status;
}
