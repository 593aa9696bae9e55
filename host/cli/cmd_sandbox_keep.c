/* sandbox start/exec/cp/stop: one VM for many commands (a bats file's
 * setup_file to teardown_file). start makes container sandbox-NAME from
 * the same spec as run with an init that runs nothing (held), detached, and keeps the spec
 * in its state dir; exec runs a command there as run would (cwd /work,
 * the same environment and limits) with its exit status (cp, in
 * cmd_sandbox_cp.c, is made of such execs); stop removes the sandbox and
 * its VM. */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/cli/sandbox.h"
#include "host/container/container.h"
#include "host/spec/spec.h"
#include "host/state/fsutil.h"

static int sandbox_id(const char *verb, const char *name, char *id, size_t cap)
{
	if (!name[0] || (size_t)snprintf(id, cap, SANDBOX_ID_PREFIX "%s", name) >= cap)
		return cli_failf("sandbox %s: the name \"%s\" is empty or too long", verb, name);
	return 0;
}

/* Writes the sandbox's spec, and its keeper (if any), into its state dir */
static int keep_files(const char *dir, const struct husk_create_opts *c, const struct husk_sb_keeper *k,
		      struct husk_err *err)
{
	char path[PATH_MAX + 32], line[64];
	snprintf(path, sizeof path, "%s/" SANDBOX_SPEC_FILE, dir);
	int r = write_file_atomic(path, c->spec_json, strlen(c->spec_json), 0600, err);
	if (r < 0 || !k->pid)
		return r;
	int n = snprintf(line, sizeof line, "%d %llu\n", (int)k->pid, k->start_time);
	snprintf(path, sizeof path, "%s/" SANDBOX_KEEPER_FILE, dir);
	return write_file_atomic(path, line, (size_t)n, 0600, err);
}

/* In a child with nothing of its caller's but the pipe p (the monitor it
 * forks inherits what the child has, and a bats file waits until its
 * stdout and fd 3 close): create, keep the spec, start. The child writes
 * "OK <monitor's pid>\n" or "E<message>\n" to p. */
static void start_child(const struct husk_create_opts *c, const struct husk_sb_keeper *k, int p)
{
	struct husk_err err = { 0 };
	char dir[PATH_MAX];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	husk_sb_close_fds_except(&p, 1);
	pid_t pid = husk_container_create(c, dir, sizeof dir, &err);
	if (pid >= 0 && (keep_files(dir, c, k, &err) < 0 || husk_container_start(c->root, c->id, &err) < 0)) {
		struct husk_err derr = { 0 };
		husk_container_delete(c->root, c->id, true, &derr);
		pid = -1;
	}
	if (pid >= 0)
		dprintf(p, "OK %d\n", (int)pid);
	else
		dprintf(p, "E%s\n", err.msg[0] ? err.msg : "unknown error");
	_exit(pid >= 0 ? 0 : 1);
}

/* start_child's answer, one line: the monitor's pid */
static pid_t start_detached(const struct husk_create_opts *c, const struct husk_sb_keeper *k, struct husk_err *err)
{
	int p[2];
	char msg[HUSK_ERR_MSG_MAX + 4];
	size_t len = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return husk_err_sys(err, errno, "pipe");
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		close(p[0]);
		close(p[1]);
		return husk_err_sys(err, errno, "fork");
	}
	if (child == 0)
		start_child(c, k, p[1]);
	close(p[1]);
	while (len < sizeof msg - 1) {
		ssize_t n = read(p[0], msg + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || msg[len] == '\n')
			break;
		len++;
	}
	msg[len] = '\0';
	close(p[0]);
	waitpid(child, NULL, 0);
	long pid = !strncmp(msg, "OK ", 3) ? strtol(msg + 3, NULL, 10) : 0;
	if (pid > 0)
		return (pid_t)pid;
	return husk_err_set(err, EIO, "%s", msg[0] == 'E' ? msg + 1 : "sandbox start: the starting process died");
}

int sandbox_start(struct husk_globals *g, int argc, char **argv)
{
	/* never run: the guest holds the init (io.husk.sandbox.hold), so
	 * the rootfs needs no program; exec replaces the args */
	static char *init[] = { "husk-hold", NULL };
	struct run_args a = { .start = true };
	struct husk_err err = { 0 };
	_cleanup_free_ char *spec = NULL;
	char id[256];
	if (sandbox_parse(argc, argv, &a) != 0 || sandbox_id("start", a.name, id, sizeof id) != 0)
		return 1;
	a.s.argv = init;
	a.s.argc = 1;
	a.s.hold = true;
	if (sandbox_host_setup(&a, false, &err) < 0)
		return cli_fail(&err);
	pid_t monitor = husk_sandbox_spec(&a.s, &spec, &err); /* 0 or a negative code */
	struct husk_create_opts c = {
		.root = g->root,
		.id = id,
		.log_to_caller_file = g->log_path != NULL,
		.systemd_cgroup = g->systemd_cgroup,
		.spec_json = spec,
	};
	if (monitor == 0)
		monitor = start_detached(&c, &a.keeper, &err);
	if (monitor > 0 && a.keeper.pid && husk_sb_keeper_watch(&a.keeper, monitor, &err) < 0) {
		struct husk_err derr = { 0 };
		husk_container_delete(g->root, id, true, &derr);
		monitor = -EIO;
	}
	husk_sb_keeper_release(&a.keeper); /* it lives on, until the monitor ends */
	if (monitor > 0)
		return 0;
	if (a.keeper.pid)
		husk_sb_keeper_wait(a.keeper.pid, a.keeper.start_time, true, HUSK_SB_KEEPER_WAIT_MS);
	return cli_fail(&err);
}

/* The sandbox's process with cmd and the extra environment (env is
 * allocated into *env_out, the caller frees it). */
static int sandbox_process(const char *verb, const char *dir, char **cmd, int n_cmd, char **extra, size_t n_extra,
			   struct husk_spec *spec, struct husk_process_spec *proc, char ***env_out)
{
	struct husk_err err = { 0 };
	char path[PATH_MAX + 32];
	_cleanup_free_ char *text = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/" SANDBOX_SPEC_FILE, dir);
	if (read_file(path, HUSK_SPEC_MAX_BYTES, &text, &len, &err) < 0)
		return cli_failf("sandbox %s: not a sandbox started by husk sandbox start (%s)", verb, err.msg);
	if (husk_spec_parse(spec, "", text, len, &err) < 0)
		return cli_fail(&err);
	*proc = spec->process;
	char **env = calloc(proc->n_env + n_extra + 1, sizeof *env);
	if (!env)
		return cli_failf("out of memory");
	memcpy(env, proc->env, proc->n_env * sizeof *env);
	memcpy(env + proc->n_env, extra, n_extra * sizeof *env);
	proc->env = env;
	proc->n_env += (uint32_t)n_extra;
	proc->args = cmd;
	proc->n_args = (uint32_t)n_cmd;
	*env_out = env;
	return 0;
}

int sandbox_exec_in(struct husk_globals *g, const char *verb, const char *name, char **cmd, int n_cmd, char **extra,
		    size_t n_extra, const int stdio[3])
{
	struct husk_err err = { 0 };
	struct husk_state st;
	struct husk_spec spec = { 0 };
	struct husk_process_spec proc;
	char id[256], dir[PATH_MAX];
	_cleanup_free_ char **env = NULL;
	if (sandbox_id(verb, name, id, sizeof id) != 0)
		return -1;
	if (cli_load_state(g, id, dir, sizeof dir, &st, &err) < 0) {
		cli_failf("sandbox %s: no sandbox \"%s\" (%s)", verb, name, err.msg);
		return -1;
	}
	int r = husk_container_can_exec(&st, false, &err) < 0
			? cli_fail(&err)
			: sandbox_process(verb, dir, cmd, n_cmd, extra, n_extra, &spec, &proc, &env);
	proc.terminal = !stdio && isatty(0);
	sigset_t set;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int saved[3] = { -1, -1, -1 };
	for (int i = 0; i < 3 && stdio; i++)
		if (stdio[i] >= 0) {
			saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 3);
			dup2(stdio[i], i);
		}
	pid_t pid = r == 0 ? husk_container_exec(dir, &st, &proc, NULL, g->log_path != NULL, &err) : -1;
	for (int i = 0; i < 3; i++)
		if (saved[i] >= 0) {
			dup2(saved[i], i);
			close(saved[i]);
		}
	husk_state_free(&st);
	husk_spec_free(&spec);
	if (r != 0)
		return -1;
	if (pid < 0) {
		cli_fail(&err);
		return -1;
	}
	return cli_wait_forwarding(pid, &set);
}

int sandbox_exec(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = { { "env", required_argument, NULL, 'e' }, { NULL, 0, NULL, 0 } };
	static char *env[HUSK_SANDBOX_ENV_MAX];
	size_t n_env = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+e:", opts, NULL)) != -1) {
		if (c != 'e')
			return cli_failf("sandbox exec: unknown option %s (see husk sandbox --help)", argv[optind - 1]);
		if (!husk_sandbox_env_valid(optarg))
			return cli_failf("sandbox exec: --env \"%s\" is not NAME=VALUE", optarg);
		if (n_env == HUSK_SANDBOX_ENV_MAX)
			return cli_failf("sandbox exec: more than %d --env entries", HUSK_SANDBOX_ENV_MAX);
		env[n_env++] = optarg;
	}
	if (optind >= argc)
		return cli_failf("sandbox exec: expected a sandbox name (husk sandbox exec NAME -- CMD [ARG...])");
	const char *name = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc)
		return cli_failf("sandbox exec: no command given (husk sandbox exec NAME -- CMD [ARG...])");
	int status = sandbox_exec_in(g, "exec", name, argv + optind, argc - optind, env, n_env, NULL);
	return status < 0 ? 1 : status;
}

/* The keeper start left in dir, if any (pid 0: none) */
static void read_keeper(const char *dir, struct husk_sb_keeper *k)
{
	struct husk_err ignore = { 0 };
	char path[PATH_MAX + 32];
	_cleanup_free_ char *text = NULL;
	size_t len;
	int pid = 0;
	memset(k, 0, sizeof *k);
	k->ctl = -1;
	snprintf(path, sizeof path, "%s/" SANDBOX_KEEPER_FILE, dir);
	if (read_file(path, 64, &text, &len, &ignore) == 0 && sscanf(text, "%d %llu", &pid, &k->start_time) == 2 &&
	    pid > 0)
		k->pid = pid;
}

int sandbox_stop(struct husk_globals *g, int argc, char **argv)
{
	struct husk_err err = { 0 };
	struct husk_state st;
	struct husk_sb_keeper k;
	char id[256], dir[PATH_MAX];
	if (argc != 2)
		return cli_failf("sandbox stop: expected one sandbox name");
	if (sandbox_id("stop", argv[1], id, sizeof id) != 0)
		return 1;
	if (cli_load_state(g, id, dir, sizeof dir, &st, &err) < 0)
		return cli_failf("sandbox stop: no sandbox \"%s\" (%s)", argv[1], err.msg);
	husk_state_free(&st);
	read_keeper(dir, &k);
	if (husk_container_delete(g->root, id, true, &err) < 0)
		return cli_fail(&err);
	/* the monitor has ended: the keeper unmounts the image and removes
	 * the network; stop returns when nothing is left */
	if (k.pid && !husk_sb_keeper_wait(k.pid, k.start_time, false, HUSK_SB_KEEPER_WAIT_MS))
		return cli_failf("sandbox stop: the keeper of sandbox %s's --image/--net nat (pid %d) did not finish",
				 argv[1], (int)k.pid);
	return 0;
}
