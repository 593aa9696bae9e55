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

struct exec_opts {
	const char *process_file;
	const char *console_socket;
	const char *pid_file;
	const char *cwd;
	const char *user;
	const char *env[EXEC_MAX_ENV];
	int n_env;
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
		case 'g':
			return cli_failf("exec: --additional-gids is not supported yet");
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
		case OPT_PRESERVE:
		case OPT_CGROUP:
			break;
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
		return cli_fail(&err);
	if (husk_container_can_exec(&st, o.ignore_paused, &err) < 0) {
		husk_state_free(&st);
		return cli_fail(&err);
	}

	/* the process: the --process JSON as containerd writes it, or the
	 * container's own process with the command and options applied */
	memset(&spec, 0, sizeof spec);
	struct husk_process_spec proc;
	json_t *pjson = NULL;
	char **merged = NULL;
	if (o.process_file) {
		char *text = NULL;
		size_t len;
		json_error_t jerr;
		if (read_file(o.process_file, HUSK_SPEC_MAX_BYTES, &text, &len, &err) < 0)
			return cli_fail(&err);
		pjson = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
		free(text);
		if (!pjson)
			return cli_failf("exec: %s: line %d: %s", o.process_file, jerr.line, jerr.text);
		if (husk_spec_parse_process(pjson, &proc, &err) < 0 ||
		    process_security(pjson, st.bundle, &proc, &err) < 0) {
			husk_spec_free_security(&proc);
			return cli_fail(&err);
		}
	} else {
		if (husk_spec_load(&spec, st.bundle, &err) < 0)
			return cli_fail(&err);
		proc = spec.process;
		proc.args = argv + optind;
		proc.n_args = (uint32_t)(argc - optind);
		proc.terminal = false;
	}
	apply_exec_security(&o, proc.security);
	if (o.tty_given)
		proc.terminal = o.tty;
	if (o.cwd) {
		if (o.cwd[0] != '/')
			return cli_failf("exec: --cwd \"%s\" must be an absolute path", o.cwd);
		proc.cwd = (char *)o.cwd;
	}
	if (o.user) {
		bool gid_set;
		if (parse_user(o.user, &proc.uid, &proc.gid, &gid_set) < 0)
			return cli_failf("exec: --user \"%s\" must be UID or UID:GID (numbers)", o.user);
		if (!gid_set)
			proc.gid = 0;
	}
	if (o.n_env) {
		merged = merge_env(proc.env, proc.n_env, o.env, o.n_env, &proc.n_env);
		if (!merged)
			return cli_failf("out of memory");
		proc.env = merged;
	}
	if (proc.terminal && !o.console_socket && o.detach)
		return cli_failf("exec: cannot allocate a terminal for a detached process without --console-socket");

	sigset_t set;
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t pid = husk_container_exec(dir, &st, &proc, o.console_socket, g->log_path != NULL, &err);
	husk_state_free(&st);
	free(merged);
	husk_spec_free(&spec);
	if (pjson) {
		husk_spec_free_security(&proc);
		json_decref(pjson);
	}
	if (pid < 0)
		return cli_fail(&err);
	if (o.pid_file && cli_write_pid_file(o.pid_file, pid, &err) < 0) {
		kill(pid, SIGKILL);
		return cli_fail(&err);
	}
	if (o.detach)
		return 0;
	return cli_wait_forwarding(pid, &set);
}
