/* OCI hooks: parse config.json's "hooks" and run them on the host. */
#include "host/spec/hooks.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "host/state/log.h"
#include "host/state/state.h"
#include "host/vmm/spawn.h"

#define HOOK_POLL_MS 50
#define HOOK_TAIL_MAX 200 /* bytes of a failed hook's output in its error */

extern char **environ;

static int host_mntns_fd = -1;

void husk_hooks_set_mntns(int fd)
{
	host_mntns_fd = fd;
}

int husk_hooks_mntns(void)
{
	return host_mntns_fd;
}

static const char *const kind_names[HUSK_HOOK_KINDS] = {
	[HUSK_HOOK_PRESTART] = "prestart",
	[HUSK_HOOK_CREATE_RUNTIME] = "createRuntime",
	[HUSK_HOOK_CREATE_CONTAINER] = "createContainer",
	[HUSK_HOOK_START_CONTAINER] = "startContainer",
	[HUSK_HOOK_POSTSTART] = "poststart",
	[HUSK_HOOK_POSTSTOP] = "poststop",
};

const char *husk_hook_kind_name(enum husk_hook_kind kind)
{
	return (unsigned)kind < HUSK_HOOK_KINDS ? kind_names[kind] : "unknown";
}

/* --- parsing ---------------------------------------------------------- */

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* A JSON array of strings into a NULL-terminated vector. */
static int strv_from_json(json_t *arr, const char *where, char ***out, struct husk_err *err)
{
	if (!json_is_array(arr))
		return husk_err_set(err, EINVAL, "config.json: %s must be an array of strings", where);
	size_t n = json_array_size(arr);
	char **v = calloc(n + 1, sizeof *v);
	if (!v)
		return husk_err_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s)) {
			strv_free(v);
			return husk_err_set(err, EINVAL, "config.json: %s[%zu] must be a string", where, i);
		}
		if (!(v[i] = strdup(json_string_value(s)))) {
			strv_free(v);
			return husk_err_set(err, ENOMEM, "out of memory");
		}
	}
	*out = v;
	return 0;
}

static void hook_free(struct husk_hook *h)
{
	free(h->path);
	strv_free(h->args);
	strv_free(h->env);
	memset(h, 0, sizeof *h);
}

static int hook_parse(json_t *obj, const char *where, struct husk_hook *h, struct husk_err *err)
{
	char w[96];
	int r;
	if (!json_is_object(obj))
		return husk_err_set(err, EINVAL, "config.json: %s must be an object", where);
	const char *path = json_string_value(json_object_get(obj, "path"));
	if (!path || !path[0])
		return husk_err_set(err, EINVAL, "config.json: %s.path is required", where);
	if (path[0] != '/')
		return husk_err_set(err, EINVAL, "config.json: %s.path \"%s\" must be absolute", where, path);
	if (!(h->path = strdup(path)))
		return husk_err_set(err, ENOMEM, "out of memory");
	json_t *args = json_object_get(obj, "args");
	if (args && !json_is_null(args) && json_array_size(args) > 0) {
		snprintf(w, sizeof w, "%s.args", where);
		if ((r = strv_from_json(args, w, &h->args, err)) < 0)
			return r;
	} else {
		if (args && !json_is_null(args) && !json_is_array(args))
			return husk_err_set(err, EINVAL, "config.json: %s.args must be an array of strings", where);
		/* as runc (Go's exec.Cmd): no args runs the path as argv[0] */
		if (!(h->args = calloc(2, sizeof *h->args)) || !(h->args[0] = strdup(path)))
			return husk_err_set(err, ENOMEM, "out of memory");
	}
	json_t *env = json_object_get(obj, "env");
	if (env && !json_is_null(env)) {
		snprintf(w, sizeof w, "%s.env", where);
		if ((r = strv_from_json(env, w, &h->env, err)) < 0)
			return r;
		for (size_t i = 0; h->env[i]; i++)
			if (!strchr(h->env[i], '='))
				return husk_err_set(err, EINVAL, "config.json: %s[%zu] is not KEY=VALUE", w, i);
	}
	json_t *timeout = json_object_get(obj, "timeout");
	if (timeout && !json_is_null(timeout)) {
		if (!json_is_integer(timeout) || json_integer_value(timeout) <= 0 ||
		    json_integer_value(timeout) > 24 * 3600)
			return husk_err_set(err, EINVAL, "config.json: %s.timeout must be a positive number of seconds",
					    where);
		h->timeout = (int)json_integer_value(timeout);
	}
	return 0;
}

int husk_hooks_parse(json_t *root, struct husk_hooks *out, struct husk_err *err)
{
	memset(out, 0, sizeof *out);
	json_t *hooks = json_object_get(root, "hooks");
	if (!hooks || json_is_null(hooks))
		return 0;
	if (!json_is_object(hooks))
		return husk_err_set(err, EINVAL, "config.json: hooks must be an object");
	for (int k = 0; k < HUSK_HOOK_KINDS; k++) {
		json_t *arr = json_object_get(hooks, kind_names[k]);
		if (!arr || json_is_null(arr))
			continue;
		if (!json_is_array(arr))
			return husk_err_set(err, EINVAL, "config.json: hooks.%s must be an array", kind_names[k]);
		size_t n = json_array_size(arr);
		if (n == 0)
			continue;
		if (!(out->list[k] = calloc(n, sizeof *out->list[k])))
			return husk_err_set(err, ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++) {
			char where[64];
			snprintf(where, sizeof where, "hooks.%s[%zu]", kind_names[k], i);
			out->n[k] = i + 1;
			int r = hook_parse(json_array_get(arr, i), where, &out->list[k][i], err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

void husk_hooks_free(struct husk_hooks *h)
{
	for (int k = 0; k < HUSK_HOOK_KINDS; k++) {
		for (size_t i = 0; i < h->n[k]; i++)
			hook_free(&h->list[k][i]);
		free(h->list[k]);
	}
	memset(h, 0, sizeof *h);
}

/* --- running ---------------------------------------------------------- */

/* The hook's output: logged a line at a time (to the monitor's log, or the
 * --log file; at debug level when the log is the CLI's stderr), and the
 * last bytes kept for a failure's message. */
struct hook_output {
	const char *what;
	char line[1024];
	size_t len;
	char tail[HOOK_TAIL_MAX];
};

static void output_line(struct hook_output *o)
{
	if (o->len == 0)
		return;
	o->line[o->len] = '\0';
	for (char *p = o->line; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			*p = ' ';
	if (husk_log_fd() == 2)
		log_debug("%s: %s", o->what, o->line);
	else
		log_info("%s: %s", o->what, o->line);
	snprintf(o->tail, sizeof o->tail, "%s", o->line);
	o->len = 0;
}

static void output_feed(struct hook_output *o, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' || o->len == sizeof o->line - 1)
			output_line(o);
		if (buf[i] != '\n')
			o->line[o->len++] = buf[i];
	}
}

void husk_hooks_cwd(const struct husk_hooks *h, enum husk_hook_kind kind, const char **dir, const char **sub)
{
	*dir = h->cwd;
	*sub = NULL;
	/* runc runs these two in the container's init: createContainer after
	 * the mounts, in the rootfs; startContainer after pivot_root and the
	 * chdir to process.cwd. A VM's hooks run on the host: the same
	 * directories, seen from the host. */
	if (h->rootfs && (kind == HUSK_HOOK_CREATE_CONTAINER || kind == HUSK_HOOK_START_CONTAINER)) {
		*dir = h->rootfs;
		if (kind == HUSK_HOOK_START_CONTAINER)
			*sub = h->process_cwd;
	}
}

/* In the child: sub inside dir without leaving it (RESOLVE_IN_ROOT), or
 * dir when sub is not on the host (made in the guest, or on a guest
 * mount). */
static int hook_chdir(const char *dir, const char *sub)
{
	if (!dir)
		return -1;
	if (sub && sub[0]) {
		int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root >= 0) {
			struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
						.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
			int fd = (int)syscall(SYS_openat2, root, sub, &how, sizeof how);
			close(root);
			if (fd >= 0) {
				int r = fchdir(fd);
				close(fd);
				if (r == 0)
					return 0;
			}
		}
	}
	return chdir(dir);
}

/* In the child: a process group of its own (a timeout kills all of it),
 * default signals, the pipes as stdio, nothing else inherited. */
static void hook_child(const struct husk_hook *h, const char *cwd, const char *sub, int in_fd, int out_fd,
		       int report_fd)
{
	setpgid(0, 0);
	if (host_mntns_fd >= 0 && setns(host_mntns_fd, CLONE_NEWNS) < 0)
		goto fail;
	sigset_t none;
	sigemptyset(&none);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		goto fail;
	int keep = report_fd;
	husk_close_fds_except(&keep, 1);
	if (hook_chdir(cwd, sub) < 0 && host_mntns_fd >= 0 && chdir("/") < 0)
		goto fail;
	execve(h->path, h->args, h->env ? h->env : environ);
fail:;
	int e = errno;
	if (write(report_fd, &e, sizeof e) < 0)
		_exit(127);
	_exit(127);
}

/* Feeds stdin, collects output, and waits for the exit or the deadline.
 * Returns 0 with *status set, or -ETIME once the deadline has passed. */
static int hook_wait(pid_t pid, int in_fd, int out_fd, const char *state_json, long deadline, struct hook_output *o,
		     int *status)
{
	size_t off = 0, total = strlen(state_json);
	bool exited = false;
	fcntl(in_fd, F_SETFL, O_NONBLOCK);
	fcntl(out_fd, F_SETFL, O_NONBLOCK);
	if (total == 0) {
		close(in_fd);
		in_fd = -1;
	}
	for (;;) {
		if (!exited && waitpid(pid, status, WNOHANG) == pid)
			exited = true;
		struct pollfd p[2] = { { .fd = out_fd, .events = POLLIN }, { .fd = in_fd, .events = POLLOUT } };
		int wait_ms = HOOK_POLL_MS;
		if (exited)
			wait_ms = 0; /* drain what is there; a background child may hold the pipe */
		else if (deadline > 0 && deadline - husk_now_ms() < wait_ms)
			wait_ms = deadline - husk_now_ms() > 0 ? (int)(deadline - husk_now_ms()) : 0;
		int n = poll(p, 2, wait_ms);
		if (n < 0 && errno != EINTR)
			break;
		bool got_output = false;
		if (n > 0 && out_fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			char buf[4096];
			ssize_t r = read(out_fd, buf, sizeof buf);
			if (r > 0) {
				output_feed(o, buf, (size_t)r);
				got_output = true;
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(out_fd);
				out_fd = -1;
			}
		}
		if (n > 0 && in_fd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(in_fd, state_json + off, total - off);
			if (w > 0)
				off += (size_t)w;
			/* done, or the hook does not read its stdin (EPIPE): fine */
			if (off == total || (w < 0 && errno != EAGAIN && errno != EINTR)) {
				close(in_fd);
				in_fd = -1;
			}
		}
		if (exited && !got_output)
			break;
		if (!exited && deadline > 0 && husk_now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			if (in_fd >= 0)
				close(in_fd);
			if (out_fd >= 0)
				close(out_fd);
			return -ETIME;
		}
	}
	if (!exited)
		while (waitpid(pid, status, 0) < 0 && errno == EINTR)
			;
	if (in_fd >= 0)
		close(in_fd);
	if (out_fd >= 0)
		close(out_fd);
	return 0;
}

static int hook_fail(struct husk_err *err, const struct hook_output *o, const char *what, const char *reason)
{
	if (o->tail[0])
		return husk_err_set(err, EIO, "%s: %s (output: %s)", what, reason, o->tail);
	return husk_err_set(err, EIO, "%s: %s", what, reason);
}

int husk_hook_run(const struct husk_hook *hook, const char *what, const char *cwd, const char *state_json,
		  struct husk_err *err)
{
	return husk_hook_run_in(hook, what, cwd, NULL, state_json, err);
}

int husk_hook_run_in(const struct husk_hook *hook, const char *what, const char *cwd, const char *sub,
		     const char *state_json, struct husk_err *err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, rep[2] = { -1, -1 };
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		int e = errno;
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
			if (rep[i] >= 0)
				close(rep[i]);
		}
		return husk_err_sys(err, e, "%s: pipe", what);
	}
	/* a hook that does not read its stdin must not kill us with SIGPIPE */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_pipe;
	sigaction(SIGPIPE, &ign, &old_pipe);
	pid_t pid = fork();
	if (pid == 0) {
		close(in[1]);
		close(out[0]);
		close(rep[0]);
		hook_child(hook, cwd, sub, in[0], out[1], rep[1]);
	}
	int fork_errno = errno;
	close(in[0]);
	close(out[1]);
	close(rep[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		close(rep[0]);
		sigaction(SIGPIPE, &old_pipe, NULL);
		return husk_err_sys(err, fork_errno, "%s: fork", what);
	}
	int child_errno = 0;
	ssize_t n;
	do
		n = read(rep[0], &child_errno, sizeof child_errno);
	while (n < 0 && errno == EINTR);
	close(rep[0]);
	if (n == (ssize_t)sizeof child_errno) {
		close(in[1]);
		close(out[0]);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		sigaction(SIGPIPE, &old_pipe, NULL);
		return husk_err_sys(err, child_errno, "%s: cannot run it", what);
	}

	struct hook_output o = { .what = what };
	long deadline = hook->timeout > 0 ? husk_now_ms() + hook->timeout * 1000L : 0;
	int status = 0;
	int r = hook_wait(pid, in[1], out[0], state_json, deadline, &o, &status);
	output_line(&o);
	sigaction(SIGPIPE, &old_pipe, NULL);
	char reason[96];
	if (r == -ETIME)
		snprintf(reason, sizeof reason, "timed out after %d s and was killed", hook->timeout);
	else if (WIFSIGNALED(status))
		snprintf(reason, sizeof reason, "killed by signal %d", WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		snprintf(reason, sizeof reason, "exited with status %d", WEXITSTATUS(status));
	else
		return 0;
	return hook_fail(err, &o, what, reason);
}

int husk_hooks_run(const struct husk_hooks *h, enum husk_hook_kind kind, const char *state_json, bool warn_only,
		   struct husk_err *err)
{
	for (size_t i = 0; i < h->n[kind]; i++) {
		const struct husk_hook *hook = &h->list[kind][i];
		char what[PATH_MAX + 64];
		snprintf(what, sizeof what, "hooks.%s[%zu] (%s)", kind_names[kind], i, hook->path);
		struct husk_err herr = { 0 };
		log_debug("running %s", what);
		const char *dir, *sub;
		husk_hooks_cwd(h, kind, &dir, &sub);
		if (husk_hook_run_in(hook, what, dir, sub, state_json, &herr) == 0)
			continue;
		if (!warn_only)
			return husk_err_set(err, herr.code, "%s", herr.msg);
		log_warn("%s", herr.msg);
	}
	return 0;
}

int husk_hooks_poststop(const struct husk_state *st, const char *cwd)
{
	char path[PATH_MAX];
	json_error_t jerr;
	struct husk_err err = { 0 };
	struct husk_hooks hooks;
	if (!st->bundle[0])
		return 0;
	snprintf(path, sizeof path, "%s/config.json", st->bundle);
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		log_warn("poststop hooks not run: cannot read %s: %s", path, jerr.text);
		return -1;
	}
	int r = husk_hooks_parse(root, &hooks, &err);
	json_decref(root);
	if (r < 0) {
		log_warn("poststop hooks not run: %s", err.msg);
		husk_hooks_free(&hooks);
		return -1;
	}
	if (husk_hooks_any(&hooks, HUSK_HOOK_POSTSTOP)) {
		hooks.cwd = cwd;
		json_t *j = husk_state_oci_json(st);
		char *doc = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (doc)
			husk_hooks_run(&hooks, HUSK_HOOK_POSTSTOP, doc, true, &err);
		else
			log_warn("poststop hooks not run: out of memory");
		free(doc);
	}
	husk_hooks_free(&hooks);
	return 0;
}
