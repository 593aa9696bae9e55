#include "host/state/state.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "proto/proto.h"
#include "host/state/fsutil.h"

int husk_id_validate(const char *id, struct husk_err *err)
{
	size_t n = strlen(id);
	if (n == 0 || n > 255)
		return husk_err_set(err, EINVAL, "invalid container id \"%s\": must be 1 to 255 characters", id);
	if (!strcmp(id, ".") || !strcmp(id, ".."))
		return husk_err_set(err, EINVAL, "invalid container id \"%s\"", id);
	/* <root>/pool.sock, pool.d and pool.lock are the pool server's (docs/pool.md) */
	if (!strcmp(id, "pool.sock") || !strcmp(id, "pool.d") || !strcmp(id, "pool.lock"))
		return husk_err_set(err, EINVAL, "invalid container id \"%s\": reserved for the VM pool", id);
	for (const char *p = id; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '-' || c == '.' || c == '+'))
			return husk_err_set(err, EINVAL,
					    "invalid container id \"%s\": only letters, digits and _ - . + are allowed",
					    id);
	}
	return 0;
}

int husk_state_path(char *out, size_t cap, const char *root, const char *id, const char *file, struct husk_err *err)
{
	int n = file ? snprintf(out, cap, "%s/%s/%s", root, id, file) : snprintf(out, cap, "%s/%s", root, id);
	if (n < 0 || (size_t)n >= cap)
		return husk_err_set(err, ENAMETOOLONG, "state path for %s is too long", id);
	return 0;
}

int husk_state_dir_create(const char *dir, const char *id, char *real, size_t cap, struct husk_err *err)
{
	if (strlen(dir) <= HUSK_STATE_DIR_SHORT) {
		if (mkdir(dir, 0700) < 0)
			return husk_err_sys(err, errno, "creating %s", dir);
		if ((size_t)snprintf(real, cap, "%s", dir) >= cap)
			return husk_err_set(err, ENAMETOOLONG, "state path %s is too long", dir);
		return 0;
	}
	if ((size_t)snprintf(real, cap, "%s/%s", HUSK_DEFAULT_ROOT, id) >= cap || strlen(real) > HUSK_STATE_DIR_SHORT)
		return husk_err_set(err, ENAMETOOLONG,
				    "container id \"%s\" is too long for husk's sockets (at most %zu characters)", id,
				    (size_t)HUSK_STATE_DIR_SHORT - strlen(HUSK_DEFAULT_ROOT "/"));
	struct stat st;
	if (lstat(dir, &st) == 0)
		return husk_err_set(err, EEXIST, "%s exists", dir);
	int r = mkdir_p(HUSK_DEFAULT_ROOT, 0700, err);
	if (r < 0)
		return r;
	if (mkdir(real, 0700) < 0)
		return husk_err_sys(err, errno, "creating %s", real);
	if (symlink(real, dir) < 0) {
		int e = errno;
		rmdir(real);
		return husk_err_sys(err, e, "linking %s to %s", dir, real);
	}
	/* so that a delete through the default root removes the link too */
	char origin[PATH_MAX + 16];
	snprintf(origin, sizeof origin, "%s/origin", real);
	if (write_file_atomic(origin, dir, strlen(dir), 0600, err) < 0) {
		unlink(dir);
		struct husk_err rerr = { 0 };
		remove_tree(real, &rerr);
		return -err->code;
	}
	return 0;
}

int husk_state_sock_addr(struct sockaddr_un *addr, const char *dir, const char *name, struct husk_err *err)
{
	char real[PATH_MAX];
	memset(addr, 0, sizeof *addr);
	addr->sun_family = AF_UNIX;
	if ((size_t)snprintf(addr->sun_path, sizeof addr->sun_path, "%s/%s", dir, name) < sizeof addr->sun_path)
		return 0;
	if (realpath(dir, real) &&
	    (size_t)snprintf(addr->sun_path, sizeof addr->sun_path, "%s/%s", real, name) < sizeof addr->sun_path)
		return 0;
	return husk_err_set(err, ENAMETOOLONG, "socket path %s/%s is too long", dir, name);
}

void husk_time_now(char *out, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	char base[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%09ldZ", base, ts.tv_nsec);
}

void husk_pid_ref_set(struct husk_pid_ref *ref, pid_t pid)
{
	ref->pid = pid;
	ref->start_time = pid > 0 ? proc_start_time(pid) : 0;
}

bool husk_pid_ref_alive(const struct husk_pid_ref *ref)
{
	return pid_is_same_process(ref->pid, ref->start_time);
}

static const char *const status_names[] = {
	[HUSK_STATUS_CREATING] = "creating", [HUSK_STATUS_CREATED] = "created", [HUSK_STATUS_RUNNING] = "running",
	[HUSK_STATUS_PAUSED] = "paused",     [HUSK_STATUS_STOPPED] = "stopped",
};

const char *husk_status_name(enum husk_status s)
{
	return (unsigned)s < sizeof status_names / sizeof status_names[0] ? status_names[s] : "unknown";
}

int husk_status_parse(const char *word, enum husk_status *out)
{
	for (unsigned i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
		if (!strcmp(word, status_names[i])) {
			*out = (enum husk_status)i;
			return 0;
		}
	return -EINVAL;
}

enum husk_status husk_state_status(const struct husk_state *st)
{
	if (st->exited || !husk_pid_ref_alive(&st->monitor))
		return HUSK_STATUS_STOPPED;
	return st->status;
}

json_t *husk_state_oci_json(const struct husk_state *st)
{
	enum husk_status status = husk_state_status(st);
	int pid = status != HUSK_STATUS_STOPPED ? (int)st->monitor.pid : 0;
	/* runc's keys in runc's order; the caller fills "owner" (list does) */
	json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s}", "ociVersion", "1.0.2", "id", st->id, "pid", pid,
			      "status", husk_status_name(status), "bundle", st->bundle, "rootfs", st->rootfs, "created",
			      st->created);
	if (j && st->annotations && json_object_size(st->annotations))
		json_object_set(j, "annotations", st->annotations);
	if (j)
		json_object_set_new(j, "owner", json_string(""));
	return j;
}

static json_t *pid_ref_json(const struct husk_pid_ref *r)
{
	return json_pack("{s:i,s:I}", "pid", (int)r->pid, "start_time", (json_int_t)r->start_time);
}

static void pid_ref_read(json_t *obj, const char *key, struct husk_pid_ref *r)
{
	json_t *v = json_object_get(obj, key);
	r->pid = (pid_t)json_integer_value(json_object_get(v, "pid"));
	r->start_time = (unsigned long long)json_integer_value(json_object_get(v, "start_time"));
}

int husk_state_write(const char *dir, const struct husk_state *st, struct husk_err *err)
{
	char path[PATH_MAX], lock[PATH_MAX];
	snprintf(path, sizeof path, "%s/state.json", dir);
	snprintf(lock, sizeof lock, "%s/lock", dir);
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:i,s:b,s:i}", "ociVersion", "1.0.2", "id",
			      st->id, "status", husk_status_name(st->status), "bundle", st->bundle, "rootfs",
			      st->rootfs, "created", st->created, "monitor", pid_ref_json(&st->monitor), "qemu",
			      pid_ref_json(&st->qemu), "virtiofsd", pid_ref_json(&st->virtiofsd), "vsock_backend",
			      pid_ref_json(&st->vsock_backend), "guest_pid", st->guest_pid, "exited", st->exited,
			      "exit_status", st->exit_status);
	if (j) {
		json_object_set_new(j, "oom_kills", json_integer((json_int_t)st->oom_kills));
		json_object_set_new(j, "io_cgroup", json_string(st->io_cgroup));
		if (st->sandbox[0]) {
			json_object_set_new(j, "sandbox", json_string(st->sandbox));
			json_object_set_new(j, "sandbox_dir", json_string(st->sandbox_dir));
			json_object_set_new(j, "slot", json_integer(st->slot));
		}
		if (st->vm_memory_mib > 0)
			json_object_set_new(j, "vm_memory_mib", json_integer(st->vm_memory_mib));
		if (st->vm_vcpus > 0)
			json_object_set_new(j, "vm_vcpus", json_integer(st->vm_vcpus));
		if (st->vm_dir[0]) {
			json_object_set_new(j, "vm_dir", json_string(st->vm_dir));
			json_object_set_new(j, "vm_monitor", pid_ref_json(&st->vm_monitor));
		}
	}
	if (!j)
		return husk_err_set(err, ENOMEM, "building state.json");
	if (st->annotations)
		json_object_set(j, "annotations", st->annotations);
	json_object_set_new(j, "vsock",
			    json_pack("{s:s,s:s,s:I}", "kind", st->vsock.kind, "path", st->vsock.path, "cid",
				      (json_int_t)st->vsock.cid));
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!text)
		return husk_err_set(err, ENOMEM, "serialising state.json");
	_cleanup_close_ int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0)
		return husk_err_sys(err, errno, "opening %s", lock);
	if (flock(lfd, LOCK_EX) < 0)
		return husk_err_sys(err, errno, "locking %s", lock);
	return write_file_atomic(path, text, strlen(text), 0600, err);
}

static void copy_str(char *dst, size_t cap, json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	snprintf(dst, cap, "%s", s ? s : "");
}

int husk_state_read(const char *dir, struct husk_state *st, struct husk_err *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	size_t len;
	json_error_t jerr;

	memset(st, 0, sizeof *st);
	snprintf(path, sizeof path, "%s/state.json", dir);
	int r = read_file(path, 1u << 20, &text, &len, err);
	if (r < 0)
		return r;
	json_t *j = json_loadb(text, len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		if (j)
			json_decref(j);
		return husk_err_set(err, EBADMSG, "%s is corrupt: %s", path, jerr.text);
	}
	copy_str(st->id, sizeof st->id, j, "id");
	copy_str(st->bundle, sizeof st->bundle, j, "bundle");
	copy_str(st->rootfs, sizeof st->rootfs, j, "rootfs");
	const char *status = json_string_value(json_object_get(j, "status"));
	if (!status || husk_status_parse(status, &st->status) < 0) {
		json_decref(j);
		return husk_err_set(err, EBADMSG, "%s is corrupt: no known status", path);
	}
	copy_str(st->created, sizeof st->created, j, "created");
	pid_ref_read(j, "monitor", &st->monitor);
	pid_ref_read(j, "qemu", &st->qemu);
	pid_ref_read(j, "virtiofsd", &st->virtiofsd);
	pid_ref_read(j, "vsock_backend", &st->vsock_backend);
	st->guest_pid = (int)json_integer_value(json_object_get(j, "guest_pid"));
	st->exited = json_is_true(json_object_get(j, "exited"));
	st->exit_status = (int)json_integer_value(json_object_get(j, "exit_status"));
	st->oom_kills = (uint64_t)json_integer_value(json_object_get(j, "oom_kills"));
	copy_str(st->io_cgroup, sizeof st->io_cgroup, j, "io_cgroup");
	copy_str(st->sandbox, sizeof st->sandbox, j, "sandbox");
	copy_str(st->sandbox_dir, sizeof st->sandbox_dir, j, "sandbox_dir");
	json_int_t slot = json_integer_value(json_object_get(j, "slot"));
	st->slot = slot > 0 && slot < HUSK_POD_MAX ? (uint32_t)slot : 0;
	st->vm_memory_mib = (long)json_integer_value(json_object_get(j, "vm_memory_mib"));
	st->vm_vcpus = (int)json_integer_value(json_object_get(j, "vm_vcpus"));
	copy_str(st->vm_dir, sizeof st->vm_dir, j, "vm_dir");
	pid_ref_read(j, "vm_monitor", &st->vm_monitor);
	json_t *vs = json_object_get(j, "vsock");
	copy_str(st->vsock.kind, sizeof st->vsock.kind, vs, "kind");
	copy_str(st->vsock.path, sizeof st->vsock.path, vs, "path");
	st->vsock.cid = (uint32_t)json_integer_value(json_object_get(vs, "cid"));
	json_t *ann = json_object_get(j, "annotations");
	if (json_is_object(ann))
		st->annotations = json_incref(ann);
	json_decref(j);
	return 0;
}

void husk_state_free(struct husk_state *st)
{
	if (st->annotations)
		json_decref(st->annotations);
	st->annotations = NULL;
}

void husk_state_link_default(const char *root, const char *id, const char *dir)
{
	char real_root[PATH_MAX], real_default[PATH_MAX], real_dir[PATH_MAX], link[PATH_MAX];
	struct husk_err err = { 0 };
	if (!realpath(root, real_root) || !realpath(dir, real_dir))
		return;
	if (mkdir_p(HUSK_DEFAULT_ROOT, 0700, &err) < 0 || !realpath(HUSK_DEFAULT_ROOT, real_default))
		return;
	if (!strcmp(real_root, real_default))
		return;
	if ((size_t)snprintf(link, sizeof link, "%s/%s", HUSK_DEFAULT_ROOT, id) >= sizeof link)
		return;
	if (symlink(real_dir, link) < 0 && errno == EEXIST) {
		/* a dangling link left by a container that is gone: replace it */
		struct stat st;
		if (stat(link, &st) < 0 && errno == ENOENT && unlink(link) == 0)
			symlink(real_dir, link);
	}
}

int husk_state_remove(const char *dir, const char *id, struct husk_err *err)
{
	char real[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	struct stat st;
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
		/* called through the default root's link */
		int r = realpath(dir, real) ? remove_tree(real, err) : 0;
		unlink(dir);
		return r;
	}
	bool have_real = realpath(dir, real) != NULL;
	/* a real dir made for a long --root path: its link there goes too */
	char origin[PATH_MAX + 16], *from = NULL;
	size_t from_len;
	struct husk_err oerr = { 0 };
	snprintf(origin, sizeof origin, "%s/origin", dir);
	if (read_file(origin, PATH_MAX, &from, &from_len, &oerr) == 0 && have_real) {
		ssize_t k = readlink(from, target, sizeof target - 1);
		if (k > 0) {
			target[k] = '\0';
			if (!strcmp(target, real))
				unlink(from);
		}
	}
	free(from);
	int r = remove_tree(dir, err);
	snprintf(link, sizeof link, "%s/%s", HUSK_DEFAULT_ROOT, id);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n > 0 && have_real) {
		target[n] = '\0';
		if (!strcmp(target, real))
			unlink(link);
	}
	return r;
}
