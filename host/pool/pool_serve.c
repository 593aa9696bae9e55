/* `husk pool serve`: one per --root. Keeps `size` VMs booted or booting,
 * each owned by a pool monitor it forked (pool_vm.c), and answers one
 * request per connection on <root>/pool.sock (pool_client.h). A single
 * thread and one poll() loop: the listening socket, signals (SIGCHLD,
 * SIGTERM, SIGINT) and each pool monitor's socketpair. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "host/pool/pool.h"
#include "host/state/fsutil.h"
#include "host/state/log.h"
#include "host/state/unixsock.h"

#define POOL_SIZE_MAX 64
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define STOP_WAIT_MS 15000
#define TAKEN_ACK_MS 1000

struct pool_slot {
	pid_t pid;
	int fd; /* the socketpair, -1 once the monitor closed it */
	unsigned index;
	bool ready, failed;
	char *vm_json; /* the monitor's READY: husk_pool_vm_json */
};

struct pool_server {
	const char *root;
	const struct husk_config *cfg;
	long size, adopt_wait_ms;
	struct husk_pool_shape shape;
	int listen_fd, sig_fd;
	struct pool_slot slots[POOL_SIZE_MAX];
	int n;
	unsigned next_index;
	char last_error[HUSK_ERR_MSG_MAX];
	long backoff_ms, next_boot_ms;
	bool stopping;
};

static void vm_dir(const struct pool_server *s, unsigned index, char *out, size_t cap)
{
	snprintf(out, cap, "%s/" HUSK_POOL_DIR "/%u", s->root, index);
}

static void remove_dir(const char *dir)
{
	struct husk_err err = { 0 };
	if (remove_tree(dir, &err) < 0)
		log_warn("removing %s: %s", dir, err.msg);
}

static void fail_boot(struct pool_server *s, const char *why)
{
	snprintf(s->last_error, sizeof s->last_error, "%s", why);
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	s->next_boot_ms = husk_now_ms() + s->backoff_ms;
	log_error("pool: a VM failed to boot (next try in %ld s): %s", s->backoff_ms / 1000, why);
}

/* pool.d/<n>/monitor.json: whose dir it is (the stale check at start) */
static void record_monitor(const char *dir, pid_t pid, bool taken)
{
	struct husk_pid_ref ref;
	husk_pid_ref_set(&ref, pid);
	char path[PATH_MAX], text[128];
	int n = snprintf(text, sizeof text, "{\"pid\":%d,\"start_time\":%llu,\"taken\":%s}\n", (int)pid, ref.start_time,
			 taken ? "true" : "false");
	snprintf(path, sizeof path, "%s/monitor.json", dir);
	struct husk_err err = { 0 };
	if (write_file_atomic(path, text, (size_t)n, 0600, &err) < 0)
		log_warn("pool: %s", err.msg);
}

static _Noreturn void run_child(struct pool_server *s, int fd, unsigned index, const char *dir, pid_t server)
{
	/* only the socketpair is kept: not the lock (a taken VM outlives the
	 * server), not pool.sock, not the other VMs' pairs */
	if (dup2(fd, 3) < 0)
		_exit(1);
	close_range(4, ~0u, 0);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		close(null);
	}
	prctl(PR_SET_NAME, "husk-pool-vm"); /* as a container's is husk-monitor, for ps */
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	struct husk_pool_vm_args a = { .cfg = s->cfg,
				       .dir = dir,
				       .index = index,
				       .server_fd = 3,
				       .server_pid = server,
				       .adopt_wait_ms = s->adopt_wait_ms };
	_exit(husk_pool_vm_run(&a));
}

static int boot_one(struct pool_server *s)
{
	char dir[PATH_MAX];
	unsigned index;
	for (;; s->next_index++) {
		index = s->next_index;
		vm_dir(s, index, dir, sizeof dir);
		if (mkdir(dir, 0700) == 0)
			break;
		if (errno != EEXIST) {
			char why[HUSK_ERR_MSG_MAX];
			snprintf(why, sizeof why, "creating %s: %s", dir, strerror(errno));
			fail_boot(s, why);
			return -1;
		}
	}
	s->next_index++;
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		fail_boot(s, "socketpair failed");
		remove_dir(dir);
		return -1;
	}
	pid_t server = getpid();
	pid_t pid = fork();
	if (pid == 0)
		run_child(s, pair[1], index, dir, server);
	close(pair[1]);
	if (pid < 0) {
		close(pair[0]);
		fail_boot(s, "fork failed");
		remove_dir(dir);
		return -1;
	}
	record_monitor(dir, pid, false);
	s->slots[s->n++] = (struct pool_slot){ .pid = pid, .fd = pair[0], .index = index };
	log_debug("pool: booting VM %u, monitor pid %d", index, pid);
	return 0;
}

static void boot_missing(struct pool_server *s)
{
	while (!s->stopping && s->n < s->size && husk_now_ms() >= s->next_boot_ms)
		if (boot_one(s) < 0)
			break;
}

static void drop_slot(struct pool_server *s, int i)
{
	if (s->slots[i].fd >= 0)
		close(s->slots[i].fd);
	free(s->slots[i].vm_json);
	s->slots[i] = s->slots[--s->n];
}

static void on_slot_msg(struct pool_server *s, struct pool_slot *v)
{
	char msg[HUSK_POOL_MSG_MAX + 1];
	ssize_t n = recv(v->fd, msg, sizeof msg - 1, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(v->fd);
		v->fd = -1;
		return;
	}
	msg[n] = '\0';
	if (msg[0] == 'R' && !v->ready) {
		free(v->vm_json);
		v->vm_json = strdup(msg + 1);
		v->ready = v->vm_json != NULL;
		s->backoff_ms = 0;
		s->last_error[0] = '\0';
		log_info("pool: VM %u ready", v->index);
	} else if (msg[0] == 'E' && !v->failed) {
		v->failed = true;
		fail_boot(s, msg + 1);
	}
}

/* What pool.d/<n>/monitor.json says of a VM's monitor (0s when unreadable) */
struct vm_dir_info {
	struct husk_pid_ref monitor;
	bool taken;
};

/* Calls fn for each VM dir in <root>/pool.d until it returns false. */
static void each_vm_dir(struct pool_server *s, bool (*fn)(const char *dir, const struct vm_dir_info *info, void *arg),
			void *arg)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/" HUSK_POOL_DIR, s->root);
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	bool more = true;
	while (more && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char dir[PATH_MAX], mon[PATH_MAX + 16];
		snprintf(dir, sizeof dir, "%s/%s", path, e->d_name);
		snprintf(mon, sizeof mon, "%s/monitor.json", dir);
		json_t *j = json_load_file(mon, 0, NULL);
		struct vm_dir_info info = {
			.monitor = { .pid = (pid_t)json_integer_value(json_object_get(j, "pid")),
				     .start_time =
					     (unsigned long long)json_integer_value(json_object_get(j, "start_time")) },
			.taken = json_is_true(json_object_get(j, "taken")),
		};
		json_decref(j);
		more = fn(dir, &info, arg);
	}
	closedir(d);
}

static bool remove_if_unadopted(const char *dir, const struct vm_dir_info *info, void *arg)
{
	/* taken even when monitor.json does not say so yet: its "A" came too
	 * late (taken_acked) */
	if (info->monitor.pid != *(pid_t *)arg)
		return true;
	log_info("pool: %s was taken and never adopted; removing it", dir);
	remove_dir(dir);
	return false;
}

/* A VM handed out whose monitor exited HUSK_POOL_EXIT_UNADOPTED (taken,
 * no ADOPT came): its dir, found by the pid in monitor.json, is removed
 * (an adopted one's goes with its container's delete). */
static void reap_unadopted(struct pool_server *s, pid_t pid)
{
	each_vm_dir(s, remove_if_unadopted, &pid);
}

static void reap(struct pool_server *s)
{
	for (;;) {
		int status;
		bool ours = false;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			return;
		for (int i = 0; i < s->n && !ours; i++) {
			if (s->slots[i].pid != pid)
				continue;
			char dir[PATH_MAX];
			vm_dir(s, s->slots[i].index, dir, sizeof dir);
			if (!s->slots[i].ready && !s->slots[i].failed && !s->stopping) {
				char why[128];
				snprintf(why, sizeof why, "pool monitor %d exited with status %d before the VM was up",
					 pid, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
				fail_boot(s, why);
			} else if (s->slots[i].ready && !s->stopping)
				log_warn("pool: idle VM %u went away; booting another", s->slots[i].index);
			remove_dir(dir);
			drop_slot(s, i);
			ours = true;
		}
		/* a VM handed out is no longer ours, unless nobody adopted it */
		if (!ours && WIFEXITED(status) && WEXITSTATUS(status) == HUSK_POOL_EXIT_UNADOPTED)
			reap_unadopted(s, pid);
	}
}

/* "T" to the VM's monitor and its "A" back within TAKEN_ACK_MS: from then
 * on its VM outlives this server (no death signal), so the reply may go */
static bool taken_acked(struct pool_slot *v)
{
	if (send(v->fd, "T", 1, MSG_NOSIGNAL) != 1)
		return false;
	long deadline = husk_now_ms() + TAKEN_ACK_MS;
	for (;;) {
		long left = deadline - husk_now_ms();
		struct pollfd f = { .fd = v->fd, .events = POLLIN };
		if (left <= 0)
			return false;
		int n = poll(&f, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		char msg[16];
		ssize_t got = recv(v->fd, msg, sizeof msg, MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return got >= 1 && msg[0] == 'A';
	}
}

static void reply_take(struct pool_server *s, json_t *req, char *out, size_t cap)
{
	struct husk_pool_shape want;
	struct husk_err err = { 0 };
	const char *why = NULL;
	int ready = -1;
	if (husk_pool_shape_parse(json_object_get(req, "shape"), &want, &err) < 0)
		why = err.msg;
	else if (!husk_pool_shape_equal(&want, &s->shape))
		why = "the pool's VMs have another shape";
	for (int i = 0; !why && i < s->n && ready < 0; i++)
		if (s->slots[i].ready && s->slots[i].fd >= 0)
			ready = i;
	if (!why && ready < 0)
		why = "no VM is ready";
	if (why) {
		json_t *j = json_pack("{s:n,s:s}", "vm", "why", why);
		char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
		snprintf(out, cap, "%s", t ? t : "{\"vm\":null}");
		free(t);
		json_decref(j);
		return;
	}
	struct pool_slot *v = &s->slots[ready];
	if (!taken_acked(v)) {
		/* idle: stops with its pair closed; taken after all: waits out
		 * its ADOPT time, then reap_unadopted */
		log_warn("pool: VM %u did not answer \"taken\"; dropping it", v->index);
		drop_slot(s, ready);
		snprintf(out, cap, "{\"vm\":null,\"why\":\"the VM went away\"}");
		return;
	}
	char dir[PATH_MAX];
	vm_dir(s, v->index, dir, sizeof dir);
	record_monitor(dir, v->pid, true);
	snprintf(out, cap, "{\"vm\":%s}", v->vm_json);
	log_info("pool: VM %u taken", v->index);
	/* forgotten: the VM is the taker's; a replacement boots */
	drop_slot(s, ready);
}

static void reply_status(struct pool_server *s, char *out, size_t cap)
{
	struct husk_pool_status st = { .size = s->size, .shape = s->shape };
	/* a VM that failed or whose monitor closed its pair is on its way out:
	 * neither (ready + booting < size until its replacement starts) */
	for (int i = 0; i < s->n; i++)
		if (s->slots[i].fd >= 0 && !s->slots[i].failed)
			s->slots[i].ready ? st.ready++ : st.booting++;
	snprintf(st.last_error, sizeof st.last_error, "%s", s->last_error);
	json_t *j = husk_pool_status_json(&st);
	char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
	snprintf(out, cap, "%s", t ? t : "{}");
	free(t);
	json_decref(j);
}

static void on_client(struct pool_server *s)
{
	_cleanup_close_ int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct timeval tv = { .tv_sec = 1 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	char line[HUSK_POOL_LINE_MAX + 1], out[HUSK_POOL_LINE_MAX + 2];
	size_t len = 0;
	while (len < HUSK_POOL_LINE_MAX && !memchr(line, '\n', len)) {
		ssize_t n = read(fd, line + len, HUSK_POOL_LINE_MAX - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	line[len] = '\0';
	char *nl = memchr(line, '\n', len);
	if (!nl)
		return; /* not a request line: closed without a word */
	*nl = '\0';
	json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
	const char *op = json_string_value(json_object_get(req, "op"));
	if (op && !strcmp(op, "take"))
		reply_take(s, req, out, HUSK_POOL_LINE_MAX);
	else if (op && !strcmp(op, "status"))
		reply_status(s, out, HUSK_POOL_LINE_MAX);
	else
		snprintf(out, HUSK_POOL_LINE_MAX, "{\"error\":\"not a pool request\"}");
	json_decref(req);
	strcat(out, "\n");
	if (send(fd, out, strlen(out), MSG_NOSIGNAL) < 0)
		log_debug("pool: a client went before its reply");
}

static bool remove_if_stale(const char *dir, const struct vm_dir_info *info, void *arg)
{
	bool alive = info->monitor.pid > 0 && husk_pid_ref_alive(&info->monitor);
	if (alive && info->taken)
		return true;
	if (alive) /* an idle VM of the dead server, on its way out */
		kill(info->monitor.pid, SIGKILL);
	log_info("pool: removing stale %s", dir);
	remove_dir(dir);
	return true;
}

/* pool.d/<n> left by a server that died: removed unless it was taken and
 * its monitor still runs (a container's VM now) */
static void clean_stale(struct pool_server *s)
{
	each_vm_dir(s, remove_if_stale, NULL);
}

/* SIGTERM/SIGINT: idle VMs told to stop (their pair closed), waited for,
 * killed after STOP_WAIT_MS, their dirs removed */
static void stop_all(struct pool_server *s)
{
	s->stopping = true;
	for (int i = 0; i < s->n; i++)
		if (s->slots[i].fd >= 0) {
			close(s->slots[i].fd);
			s->slots[i].fd = -1;
		}
	long deadline = husk_now_ms() + STOP_WAIT_MS;
	while (s->n > 0) {
		reap(s);
		if (s->n == 0)
			break;
		if (husk_now_ms() > deadline)
			for (int i = 0; i < s->n; i++)
				kill(s->slots[i].pid, SIGKILL);
		usleep(20000);
	}
}

static int setup(struct pool_server *s, int *lock_fd, struct husk_err *err)
{
	char path[PATH_MAX];
	if (mkdir(s->root, 0711) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", s->root);
	snprintf(path, sizeof path, "%s/pool.lock", s->root);
	*lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lock_fd < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	if (flock(*lock_fd, LOCK_EX | LOCK_NB) < 0)
		return husk_err_set(err, EBUSY, "a pool server already runs for %s", s->root);
	snprintf(path, sizeof path, "%s/" HUSK_POOL_DIR, s->root);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return husk_err_sys(err, errno, "creating %s", path);
	clean_stale(s);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((s->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return husk_err_sys(err, errno, "signalfd");
	snprintf(path, sizeof path, "%s/" HUSK_POOL_SOCK, s->root);
	mode_t old = umask(0077); /* 0600 from the start */
	s->listen_fd = husk_unix_listen(path, 64, err);
	umask(old);
	if (s->listen_fd < 0)
		return s->listen_fd;
	if (chmod(path, 0600) < 0 || fcntl(s->listen_fd, F_SETFL, O_NONBLOCK) < 0)
		return husk_err_sys(err, errno, "%s", path);
	return 0;
}

/* HUSK_POOL_ADOPT_TIMEOUT_MS (tests: a taken VM nobody adopts stops
 * sooner than the 30 s default) */
static int adopt_wait(long *out, struct husk_err *err)
{
	const char *v = getenv("HUSK_POOL_ADOPT_TIMEOUT_MS");
	*out = HUSK_POOL_ADOPT_WAIT_MS;
	if (!v || !*v)
		return 0;
	char *end;
	errno = 0;
	long ms = strtol(v, &end, 10);
	if (errno || *end || ms < HUSK_POOL_ADOPT_WAIT_MIN_MS || ms > HUSK_POOL_ADOPT_WAIT_MAX_MS)
		return husk_err_set(err, EINVAL,
				    "HUSK_POOL_ADOPT_TIMEOUT_MS must be a number of ms from %d to %d, not \"%.32s\"",
				    HUSK_POOL_ADOPT_WAIT_MIN_MS, HUSK_POOL_ADOPT_WAIT_MAX_MS, v);
	*out = ms;
	return 0;
}

int husk_pool_serve(const char *root, const struct husk_config *cfg, long size, struct husk_err *err)
{
	static struct pool_server s;
	_cleanup_close_ int lock_fd = -1;
	s = (struct pool_server){ .root = root, .cfg = cfg, .size = size, .listen_fd = -1, .sig_fd = -1 };
	if (size < 1 || size > POOL_SIZE_MAX)
		return husk_err_set(err, EINVAL, "pool size must be from 1 to %d, not %ld", POOL_SIZE_MAX, size);
	int r = adopt_wait(&s.adopt_wait_ms, err);
	if (r == 0)
		r = husk_pool_shape_from_config(cfg, &s.shape, err);
	if (r == 0)
		r = setup(&s, &lock_fd, err);
	if (r < 0)
		return r;
	log_info("pool: serving %s with %ld VMs of %ld MiB, %d vCPUs, %s", root, size, s.shape.memory_mib,
		 s.shape.vcpus, s.shape.accel);
	while (!s.stopping) {
		boot_missing(&s);
		struct pollfd f[2 + POOL_SIZE_MAX] = { { .fd = s.sig_fd, .events = POLLIN },
						       { .fd = s.listen_fd, .events = POLLIN } };
		int n = s.n;
		for (int i = 0; i < n; i++)
			f[2 + i] = (struct pollfd){ .fd = s.slots[i].fd, .events = POLLIN };
		long wait = s.n < s.size ? s.next_boot_ms - husk_now_ms() : -1;
		if (poll(f, (nfds_t)(2 + n), wait < 0 ? (s.n < s.size ? 0 : -1) : (int)wait) < 0 && errno != EINTR)
			return husk_err_sys(err, errno, "poll");
		for (int i = n - 1; i >= 0; i--)
			if (f[2 + i].revents && i < s.n && s.slots[i].fd == f[2 + i].fd)
				on_slot_msg(&s, &s.slots[i]);
		if (f[1].revents & POLLIN)
			on_client(&s);
		if (f[0].revents) {
			struct signalfd_siginfo si;
			while (read(s.sig_fd, &si, sizeof si) == sizeof si)
				if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
					s.stopping = true;
			reap(&s);
		}
	}
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/" HUSK_POOL_SOCK, root);
	unlink(path);
	close(s.listen_fd);
	log_info("pool: stopping");
	stop_all(&s);
	close(s.sig_fd);
	return 0;
}
