/* exec: run a new process in a running container. The process named by
 * --pid-file is an exec monitor that relays its stdio and exits with its
 * status (conmon and containerd's shim wait on it), as under runc. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/cli/cli.h"
#include "host/container/container.h"
#include "host/state/fsutil.h"
#include "host/spec/spec.h"
#include "host/spec/spec_security.h"
#include "proto/msg_security.h"

#define EXEC_MAX_ENV 256
#define EXEC_MAX_GIDS 64
/* as runc: husk's own failures once the arguments are checked exit 255,
 * the process's own exit statuses are passed through */
#define EXEC_FAILED 255

struct exec_opts {
	const char *process_file;
	const char *console_socket;
	const char *pid_file;
	const char *cwd;
	const char *user;
	const char *env[EXEC_MAX_ENV];
	int n_env;
	uint32_t gids[EXEC_MAX_GIDS]; /* --additional-gids */
	uint32_t n_gids;
	uint64_t caps; /* --cap: added to the process's sets as runc does */
	bool tty, detach, tty_given, ignore_paused, no_new_privs;
};

static int parse_exec_opts(int argc, char **argv, struct exec_opts *o)
{
	enum {
		OPT_CONSOLE = 256,
		OPT_PID_FILE,
		OPT_CWD,
		OPT_NO_NEW_PRIVS,
		OPT_LABEL,
		OPT_APPARMOR,
		OPT_PRESERVE,
		OPT_CGROUP,
		OPT_IGNORE_PAUSED
	};
	static const struct option opts[] = {
		{ "process", required_argument, NULL, 'p' },
		{ "tty", no_argument, NULL, 't' },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE },
		{ "detach", no_argument, NULL, 'd' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "cwd", required_argument, NULL, OPT_CWD },
		{ "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },
		{ "additional-gids", required_argument, NULL, 'g' },
		{ "cap", required_argument, NULL, 'c' },
		{ "no-new-privs", no_argument, NULL, OPT_NO_NEW_PRIVS },
		{ "process-label", required_argument, NULL, OPT_LABEL },
		{ "apparmor", required_argument, NULL, OPT_APPARMOR },
		{ "preserve-fds", required_argument, NULL, OPT_PRESERVE },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "ignore-paused", no_argument, NULL, OPT_IGNORE_PAUSED },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof *o);
	int c;
	while ((c = getopt_long(argc, argv, "+p:tde:u:g:c:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->process_file = optarg;
			break;
		case 't':
			o->tty = o->tty_given = true;
			break;
		case OPT_CONSOLE:
			o->console_socket = optarg;
			break;
		case 'd':
			o->detach = true;
			break;
		case OPT_PID_FILE:
			o->pid_file = optarg;
			break;
		case OPT_CWD:
			o->cwd = optarg;
			break;
		case 'e':
			if (o->n_env == EXEC_MAX_ENV)
				return cli_failf("exec: more than %d --env options", EXEC_MAX_ENV);
			if (!strchr(optarg, '='))
				return cli_failf("exec: --env \"%s\" is not KEY=VALUE", optarg);
			o->env[o->n_env++] = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'g': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || v > UINT32_MAX || optarg[0] == '-')
				return cli_failf("exec: --additional-gids \"%s\" is not a number", optarg);
			if (o->n_gids == EXEC_MAX_GIDS)
				return cli_failf("exec: more than %d --additional-gids", EXEC_MAX_GIDS);
			o->gids[o->n_gids++] = (uint32_t)v;
			break;
		}
		case 'c': {
			int nr = husk_cap_from_name(optarg);
			if (nr < 0)
				return cli_failf("exec: --cap: unknown capability \"%s\" (give a CAP_* name)", optarg);
			o->caps |= 1ull << nr;
			break;
		}
		case OPT_NO_NEW_PRIVS:
			o->no_new_privs = true;
			break;
		case OPT_LABEL:
		case OPT_APPARMOR:
			break;
		case OPT_PRESERVE:
			/* 0 (conmon passes it) is what husk does anyway */
			if (strcmp(optarg, "0") != 0)
				return cli_failf("exec: --preserve-fds %s: host file descriptors cannot be passed "
						 "into the VM",
						 optarg);
			break;
		case OPT_CGROUP:
			return cli_failf("exec: --cgroup is not supported: an exec joins the container's cgroup");
		case OPT_IGNORE_PAUSED:
			o->ignore_paused = true;
			break;
		default:
			return cli_failf("exec: unknown option %s (see husk exec --help)", argv[optind - 1]);
		}
	}
	return 0;
}

/* "uid" or "uid:gid", numeric */
static int parse_user(const char *s, uint32_t *uid, uint32_t *gid, bool *gid_set)
{
	char *end;
	unsigned long u = strtoul(s, &end, 10);
	if (end == s || (*end && *end != ':') || u > UINT32_MAX)
		return -EINVAL;
	*uid = (uint32_t)u;
	*gid_set = false;
	if (*end == ':') {
		const char *g = end + 1;
		unsigned long v = strtoul(g, &end, 10);
		if (end == g || *end || v > UINT32_MAX)
			return -EINVAL;
		*gid = (uint32_t)v;
		*gid_set = true;
	}
	return 0;
}

/* env with each of extra's KEY=VALUE replacing the same KEY or appended */
static char **merge_env(char **env, uint32_t n, const char *const *extra, int n_extra, uint32_t *n_out)
{
	char **out = calloc((size_t)n + (size_t)n_extra + 1, sizeof *out);
	if (!out)
		return NULL;
	memcpy(out, env, n * sizeof *out);
	uint32_t count = n;
	for (int i = 0; i < n_extra; i++) {
		size_t klen = (size_t)(strchr(extra[i], '=') - extra[i]) + 1;
		uint32_t j;
		for (j = 0; j < count; j++)
			if (!strncmp(out[j], extra[i], klen))
				break;
		out[j] = (char *)extra[i];
		if (j == count)
			count++;
	}
	out[count] = NULL;
	*n_out = count;
	return out;
}

/* The process in --process FILE gets its own rlimits, capabilities, NNP...
 * and the container's seccomp filter (linux.seccomp of the bundle), as
 * under runc. */
static int process_security(json_t *pjson, const char *bundle, struct husk_process_spec *proc, struct husk_err *err)
{
	char path[PATH_MAX], *text = NULL;
	size_t len;
	json_error_t jerr;
	if (snprintf(path, sizeof path, "%s/config.json", bundle) >= (int)sizeof path)
		return husk_err_set(err, ENAMETOOLONG, "bundle path %s is too long", bundle);
	int r = read_file(path, HUSK_SPEC_MAX_BYTES, &text, &len, err);
	if (r < 0)
		return husk_err_wrap(err, "reading the container's seccomp profile");
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root)
		return husk_err_set(err, EINVAL, "%s: line %d: %s", path, jerr.line, jerr.text);
	r = husk_spec_parse_security(pjson, root, proc, err);
	json_decref(root);
	return r;
}

/* --cap and --no-new-privs on top of the process's own settings */
static void apply_exec_security(const struct exec_opts *o, struct husk_process_security *s)
{
	if (!s)
		return;
	if (o->no_new_privs)
		s->no_new_privs = true;
	if (!o->caps)
		return;
	s->has_caps = true;
	s->caps[HUSK_CAP_BOUNDING] |= o->caps;
	s->caps[HUSK_CAP_EFFECTIVE] |= o->caps;
	s->caps[HUSK_CAP_PERMITTED] |= o->caps;
	/* runc: ambient only when the process already has inheritable caps */
	if (s->caps[HUSK_CAP_INHERITABLE])
		s->caps[HUSK_CAP_AMBIENT] |= o->caps;
}

static int exec_fail(const struct husk_err *err)
{
	cli_fail(err);
	return EXEC_FAILED;
}

/* The options that change the process (--tty, --cwd, --user, --env,
 * --additional-gids, --cap, --no-new-privs); merged env and gids are
 * allocated into *env_out / *gids_out. */
static int apply_exec_opts(const struct exec_opts *o, struct husk_process_spec *proc, char ***env_out,
			   uint32_t **gids_out)
{
	apply_exec_security(o, proc->security);
	if (o->tty_given)
		proc->terminal = o->tty;
	if (o->cwd) {
		if (o->cwd[0] != '/')
			return cli_failf("exec: --cwd \"%s\" must be an absolute path", o->cwd);
		proc->cwd = (char *)o->cwd;
	}
	if (o->user) {
		bool gid_set;
		if (parse_user(o->user, &proc->uid, &proc->gid, &gid_set) < 0)
			return cli_failf("exec: --user \"%s\" must be UID or UID:GID (numbers)", o->user);
		if (!gid_set)
			proc->gid = 0;
	}
	if (o->n_env) {
		*env_out = merge_env(proc->env, proc->n_env, o->env, o->n_env, &proc->n_env);
		if (!*env_out)
			return cli_failf("out of memory");
		proc->env = *env_out;
	}
	if (o->n_gids) {
		/* as runc: appended to the process's additionalGids */
		uint32_t *gids = calloc((size_t)proc->n_gids + o->n_gids, sizeof *gids);
		if (!gids)
			return cli_failf("out of memory");
		if (proc->n_gids)
			memcpy(gids, proc->gids, proc->n_gids * sizeof *gids);
		memcpy(gids + proc->n_gids, o->gids, o->n_gids * sizeof *gids);
		proc->gids = *gids_out = gids;
		proc->n_gids += o->n_gids;
	}
	return 0;
}

/* The process: the --process JSON as containerd writes it (*pjson keeps
 * it), or the container's own process (from *spec) with the command. */
static int load_process(const struct exec_opts *o, const struct husk_state *st, char **args, int n_args,
			struct husk_spec *spec, json_t **pjson, struct husk_process_spec *proc)
{
	struct husk_err err = { 0 };
	memset(spec, 0, sizeof *spec);
	if (!o->process_file) {
		if (husk_spec_load(spec, st->bundle, &err) < 0)
			return exec_fail(&err);
		*proc = spec->process;
		proc->args = args;
		proc->n_args = (uint32_t)n_args;
		proc->terminal = false;
		return 0;
	}
	char *text = NULL;
	size_t len;
	json_error_t jerr;
	if (read_file(o->process_file, HUSK_SPEC_MAX_BYTES, &text, &len, &err) < 0)
		return exec_fail(&err);
	*pjson = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!*pjson) {
		cli_failf("exec: %s: line %d: %s", o->process_file, jerr.line, jerr.text);
		return EXEC_FAILED;
	}
	/* on failure too, the caller frees proc's security with *pjson */
	if (husk_spec_parse_process(*pjson, proc, &err) < 0 || process_security(*pjson, st->bundle, proc, &err) < 0)
		return exec_fail(&err);
	return 0;
}

int cmd_exec(struct husk_globals *g, int argc, char **argv)
{
	struct exec_opts o;
	struct husk_err err = { 0 };
	struct husk_state st;
	struct husk_spec spec;
	char dir[PATH_MAX];

	if (parse_exec_opts(argc, argv, &o) != 0)
		return 1;
	if (optind >= argc)
		return cli_failf("exec: expected a container id (see husk exec --help)");
	const char *id = argv[optind++];
	if (!o.process_file && optind >= argc)
		return cli_failf("exec: expected a command, or --process FILE");
	if (o.process_file && optind < argc)
		return cli_failf("exec: give either --process FILE or a command, not both");
	if (cli_load_state(g, id, dir, sizeof dir, &st, &err) < 0)
		return exec_fail(&err);
	if (husk_container_can_exec(&st, o.ignore_paused, &err) < 0) {
		husk_state_free(&st);
		return exec_fail(&err);
	}

	struct husk_process_spec proc;
	memset(&proc, 0, sizeof proc);
	json_t *pjson = NULL;
	char **merged = NULL;
	uint32_t *gids = NULL;
	int r = load_process(&o, &st, argv + optind, argc - optind, &spec, &pjson, &proc);
	uint32_t *own_gids = proc.gids;
	if (r == 0 && apply_exec_opts(&o, &proc, &merged, &gids) != 0)
		r = EXEC_FAILED;
	if (r == 0 && proc.terminal && !o.console_socket && o.detach)
		r = cli_failf("exec: cannot allocate a terminal for a detached process without --console-socket");

	sigset_t set;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t pid = -1;
	if (r == 0)
		pid = husk_container_exec(dir, &st, &proc, o.console_socket, g->log_path != NULL, &err);
	husk_state_free(&st);
	free(merged);
	free(gids);
	proc.gids = own_gids;
	husk_spec_free(&spec);
	if (pjson) {
		husk_spec_free_security(&proc);
		json_decref(pjson);
	}
	if (r != 0)
		return EXEC_FAILED;
	if (pid < 0)
		return exec_fail(&err);
	if (o.pid_file && cli_write_pid_file(o.pid_file, pid, &err) < 0) {
		kill(pid, SIGKILL);
		return exec_fail(&err);
	}
	if (o.detach)
		return 0;
	return cli_wait_forwarding(pid, &set);
}
