/* sandbox: CI jobs in throwaway VMs (docs/sandbox.md). `sandbox run`
 * writes a spec for itself (host/spec/sandbox_spec.c) and runs it as `run`
 * does, in the normal --root under a generated id: the rootfs stays as it
 * was (the guest writes to an overlay), the job's status is the exit
 * status, --timeout and SIGINT/SIGTERM/SIGHUP/SIGQUIT tear the VM down. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/cli/cli.h"
#include "host/cli/sandbox_host.h"
#include "host/container/container.h"
#include "host/spec/sandbox_spec.h"
#include "host/state/config.h"
#include "host/cli/sandbox.h"

#define TEARDOWN_WAIT_MS 10000

/* a whole decimal number from min to max */
static int parse_num(const char *verb, const char *flag, const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long n = s[0] >= '0' && s[0] <= '9' ? strtol(s, &end, 10) : -1;
	if (n < 0 || errno || *end || n < min || n > max)
		return cli_failf("sandbox %s: %s must be a number from %ld to %ld, not \"%s\"", verb, flag, min, max,
				 s);
	*out = n;
	return 0;
}

/* an existing directory, made absolute into out */
static int existing_dir(const char *verb, const char *flag, const char *path, char *out)
{
	struct stat st;
	if (!realpath(path, out))
		return cli_failf("sandbox %s: %s %s: %s", verb, flag, path, strerror(errno));
	if (stat(out, &st) < 0 || !S_ISDIR(st.st_mode))
		return cli_failf("sandbox %s: %s %s is not a directory", verb, flag, path);
	return 0;
}

/* one --dns address, added to the --net nat options */
static int parse_dns(const char *verb, const char *ip, struct husk_sb_net_opts *no)
{
	if (!husk_sb_dns_valid(ip))
		return cli_failf("sandbox %s: --dns \"%s\" is not an IPv4 or IPv6 address", verb, ip);
	if (no->n_dns == HUSK_SB_DNS_MAX)
		return cli_failf("sandbox %s: more than %d --dns addresses", verb, HUSK_SB_DNS_MAX);
	snprintf(no->dns[no->n_dns++], sizeof no->dns[0], "%s", ip);
	return 0;
}

static int parse_defaults(struct run_args *a)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	if (husk_config_load(&cfg, &err) < 0)
		return cli_fail(&err);
	a->s.memory_mib = husk_config_get_long(&cfg, CFG_SANDBOX_MEMORY_MIB);
	a->s.cpus = (int)husk_config_get_long(&cfg, CFG_SANDBOX_CPUS);
	return 0;
}

int sandbox_parse(int argc, char **argv, struct run_args *a)
{
	enum {
		OPT_ROOTFS = 256,
		OPT_IMAGE,
		OPT_WORK,
		OPT_TIMEOUT,
		OPT_MEMORY,
		OPT_CPUS,
		OPT_NET,
		OPT_ENV,
		OPT_RO,
		OPT_NAME,
		OPT_DNS
	};
	static const struct option opts[] = {
		{ "rootfs", required_argument, NULL, OPT_ROOTFS },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "work", required_argument, NULL, OPT_WORK },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "memory", required_argument, NULL, OPT_MEMORY },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "net", required_argument, NULL, OPT_NET },
		{ "dns", required_argument, NULL, OPT_DNS }, /* with --net nat */
		{ "env", required_argument, NULL, OPT_ENV },
		{ "read-only", no_argument, NULL, OPT_RO },
		{ "name", required_argument, NULL, OPT_NAME },
		{ NULL, 0, NULL, 0 },
	};
	static char *env[HUSK_SANDBOX_ENV_MAX];
	const char *verb = a->start ? "start" : "run";
	long n;
	int c;
	if (parse_defaults(a) != 0)
		return 1;
	a->s.env = env;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOTFS:
			a->rootfs_arg = optarg;
			break;
		case OPT_IMAGE:
			if (!husk_sb_image_name_valid(optarg))
				return cli_failf("sandbox %s: --image \"%s\" is not an image name", verb, optarg);
			a->image_arg = optarg;
			break;
		case OPT_WORK:
			a->work_arg = optarg;
			break;
		case OPT_TIMEOUT:
			if (a->start)
				return cli_failf("sandbox start: --timeout is for sandbox run");
			if (parse_num(verb, "--timeout", optarg, 1, 7 * 24 * 3600, &a->timeout_s))
				return 1;
			break;
		case OPT_MEMORY:
			if (parse_num(verb, "--memory", optarg, HUSK_SANDBOX_MEMORY_MIN, HUSK_SANDBOX_MEMORY_MAX,
				      &a->s.memory_mib))
				return 1;
			break;
		case OPT_CPUS:
			if (parse_num(verb, "--cpus", optarg, 1, HUSK_SANDBOX_CPUS_MAX, &n))
				return 1;
			a->s.cpus = (int)n;
			break;
		case OPT_NET:
			a->nat = !strcmp(optarg, "nat");
			if (!a->nat && strcmp(optarg, "none"))
				return cli_failf("sandbox %s: --net must be none or nat, not \"%s\"", verb, optarg);
			break;
		case OPT_ENV:
			if (!husk_sandbox_env_valid(optarg))
				return cli_failf("sandbox %s: --env \"%s\" is not NAME=VALUE", verb, optarg);
			if (a->s.n_env == HUSK_SANDBOX_ENV_MAX)
				return cli_failf("sandbox %s: more than %d --env entries", verb, HUSK_SANDBOX_ENV_MAX);
			env[a->s.n_env++] = optarg;
			break;
		case OPT_RO:
			a->s.read_only = true;
			break;
		case OPT_NAME:
			if (!a->start)
				return cli_failf("sandbox run: --name is for sandbox start");
			a->name = optarg;
			break;
		case OPT_DNS:
			if (parse_dns(verb, optarg, &a->host.net.opts))
				return 1;
			break;
		default:
			return cli_failf("sandbox %s: unknown option %s (see husk sandbox --help)", verb,
					 argv[optind - 1]);
		}
	}
	if (!a->rootfs_arg && !a->image_arg)
		return cli_failf("sandbox %s: --rootfs DIR or --image NAME is required", verb);
	if (a->rootfs_arg && a->image_arg)
		return cli_failf("sandbox %s: --rootfs and --image exclude each other", verb);
	if (a->start && !a->name)
		return cli_failf("sandbox start: --name NAME is required");
	if (a->host.net.opts.n_dns && !a->nat)
		return cli_failf("sandbox %s: --dns is for --net nat", verb);
	if (a->start && optind < argc)
		return cli_failf("sandbox start: takes no command (run commands with sandbox exec NAME -- CMD)");
	if (!a->start && optind >= argc)
		return cli_failf("sandbox run: no command given (husk sandbox run [options] -- CMD [ARG...])");
	if ((a->rootfs_arg && existing_dir(verb, "--rootfs", a->rootfs_arg, a->rootfs)) ||
	    (a->work_arg && existing_dir(verb, "--work", a->work_arg, a->work)))
		return 1;
	a->s.rootfs = a->rootfs;
	a->s.work = a->work_arg ? a->work : NULL;
	a->s.argv = argv + optind;
	a->s.argc = argc - optind;
	a->s.terminal = !a->start && isatty(0);
	return 0;
}

long sandbox_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* The job is to end now: every process in it killed (the guest then
 * powers off and the monitor ends), the monitor killed if it does not
 * within TEARDOWN_WAIT_MS; then what it leaves, as `run` removes it. */
static void tear_down(struct husk_globals *g, const char *id, const char *dir, pid_t monitor)
{
	struct husk_err err = { 0 };
	husk_container_kill(g->root, id, SIGKILL, true, &err);
	int status;
	long until = sandbox_now_ms() + TEARDOWN_WAIT_MS;
	while (waitpid(monitor, &status, WNOHANG) == 0) {
		if (sandbox_now_ms() >= until) {
			kill(monitor, SIGKILL);
			waitpid(monitor, &status, 0);
			break;
		}
		usleep(20000);
	}
	husk_container_teardown(dir, id);
}

/* Waits for the monitor, the deadline or a signal; returns the exit status. */
static int wait_job(struct husk_globals *g, const char *id, const char *dir, pid_t monitor, const sigset_t *set,
		    long timeout_s)
{
	long deadline = timeout_s ? sandbox_now_ms() + timeout_s * 1000 : 0;
	for (;;) {
		siginfo_t si;
		int sig;
		if (deadline) {
			long left = deadline - sandbox_now_ms();
			if (left <= 0) {
				tear_down(g, id, dir, monitor);
				return 124; /* as timeout(1) */
			}
			struct timespec ts = { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000 };
			sig = sigtimedwait(set, &si, &ts);
		} else {
			sig = sigwaitinfo(set, &si);
		}
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			int status;
			if (waitpid(monitor, &status, WNOHANG) != monitor)
				continue;
			status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			if (status == 255)
				cli_print_monitor_errors(dir);
			husk_container_teardown(dir, id);
			return status;
		}
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT) {
			tear_down(g, id, dir, monitor);
			return 128 + sig;
		}
		if (sig == SIGWINCH)
			kill(monitor, sig); /* the monitor resizes the job's terminal */
	}
}

int sandbox_host_setup(struct run_args *a, bool keep_stderr, struct husk_err *err)
{
	struct husk_sb_keeper_opts o = {
		.image_name = a->image_arg, .nat = a->nat, .net = a->host.net.opts, .keep_stderr = keep_stderr
	};
	a->keeper.ctl = -1;
	if (!a->image_arg && !a->nat)
		return 0;
	int r = husk_sb_keeper_start(&o, &a->keeper, &a->host, err);
	if (r < 0)
		return husk_err_wrap(err, "sandbox %s", a->start ? "start" : "run");
	if (a->image_arg)
		a->s.rootfs = a->host.image.path;
	if (a->nat) {
		a->s.netns = a->host.net.netns;
		a->s.resolv_conf = a->host.net.resolv;
	}
	return 0;
}

/* the keeper lets go once the job's monitor has ended: waits for it */
static void host_teardown(struct run_args *a)
{
	if (!a->keeper.pid)
		return;
	husk_sb_keeper_release(&a->keeper);
	if (!husk_sb_keeper_wait(a->keeper.pid, a->keeper.start_time, true, HUSK_SB_KEEPER_WAIT_MS))
		fprintf(stderr, "husk: sandbox run: the keeper of --image/--net nat (pid %d) did not finish\n",
			(int)a->keeper.pid);
}

static int sandbox_job(struct husk_globals *g, struct run_args *a, const sigset_t *set, struct husk_err *err)
{
	_cleanup_free_ char *spec = NULL;
	char id[64], dir[PATH_MAX];
	unsigned rnd = 0;
	if (husk_sandbox_spec(&a->s, &spec, err) < 0)
		return cli_fail(err);
	if (getrandom(&rnd, sizeof rnd, 0) < 0)
		rnd = (unsigned)sandbox_now_ms();
	snprintf(id, sizeof id, "sandbox-%d-%06x", (int)getpid(), rnd & 0xffffff);
	struct husk_create_opts c = {
		.root = g->root,
		.id = id,
		.foreground = true,
		.log_to_caller_file = g->log_path != NULL,
		.systemd_cgroup = g->systemd_cgroup,
		.spec_json = spec,
	};
	pid_t pid = husk_container_create(&c, dir, sizeof dir, err);
	if (pid < 0)
		return cli_fail(err);
	if ((a->keeper.pid && husk_sb_keeper_watch(&a->keeper, pid, err) < 0) ||
	    husk_container_start(g->root, id, err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		husk_container_teardown(dir, id);
		return cli_fail(err);
	}
	return wait_job(g, id, dir, pid, set, a->timeout_s);
}

static int sandbox_run(struct husk_globals *g, int argc, char **argv)
{
	struct run_args a = { 0 };
	struct husk_err err = { 0 };
	if (sandbox_parse(argc, argv, &a) != 0)
		return 1;
	sigset_t set;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* a shell starts a background job with SIGINT and SIGQUIT ignored, and
	 * an ignored signal never becomes pending: they end the job whoever
	 * started it (SIGHUP stays as inherited, for nohup) */
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	int status = sandbox_host_setup(&a, true, &err) < 0 ? cli_fail(&err) : sandbox_job(g, &a, &set, &err);
	host_teardown(&a);
	return status;
}

int cmd_sandbox(struct husk_globals *g, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct husk_globals *g, int argc, char **argv);
	} subs[] = {
		{ "run", sandbox_run }, { "start", sandbox_start }, { "exec", sandbox_exec },
		{ "cp", sandbox_cp },   { "stop", sandbox_stop },
	};
	if (argc < 2)
		return cli_failf(
			"sandbox: expected a subcommand: run, start, exec, cp or stop (see husk sandbox --help)");
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		if (!strcmp(argv[1], subs[i].name)) {
			optind = 0;
			return subs[i].run(g, argc - 1, argv + 1);
		}
	return cli_failf("sandbox: unknown subcommand \"%s\" (see husk sandbox --help)", argv[1]);
}
