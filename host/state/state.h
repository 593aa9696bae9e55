/* Container state in <root>/<id>/: state.json written atomically (temp,
 * fsync, rename) under an flock on <id>/lock. The monitor writes it at every
 * transition; verbs read it and never trust a pid without checking that the
 * process is still the one recorded (its start time). */
#ifndef HUSK_HOST_STATE_H
#define HUSK_HOST_STATE_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define HUSK_DEFAULT_ROOT "/run/husk"

struct husk_pid_ref {
	pid_t pid;
	unsigned long long start_time;
};

/* how verbs reach the guest of a running container (exec) */
struct husk_vsock_ref {
	char kind[16];       /* "vhost" or "vhost-user" */
	char path[PATH_MAX]; /* vhost-user: the hybrid socket */
	uint32_t cid;        /* vhost: the guest CID */
};

/* A container's status. The OCI words ("creating", "created", "running",
 * "paused", "stopped") are spelled once, by husk_status_name(); state.json
 * and `husk state` carry them. */
enum husk_status {
	HUSK_STATUS_CREATING,
	HUSK_STATUS_CREATED,
	HUSK_STATUS_RUNNING,
	HUSK_STATUS_PAUSED,
	HUSK_STATUS_STOPPED,
};

const char *husk_status_name(enum husk_status s);
/* The status an OCI word names; -EINVAL for a word that names none. */
int husk_status_parse(const char *word, enum husk_status *out);

struct husk_state {
	char id[256];
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX];
	enum husk_status status; /* as the monitor last wrote it */
	char created[64];
	struct husk_pid_ref monitor, qemu, virtiofsd, vsock_backend;
	struct husk_vsock_ref vsock;
	int guest_pid;
	bool exited;
	int exit_status;
	uint64_t oom_kills;       /* OOM kills the guest kernel reported in the container */
	char io_cgroup[PATH_MAX]; /* host cgroup of the VM's I/O processes, "" if none */
	json_t *annotations;      /* owned, may be NULL */
	/* pods (docs/pods.md): a member names the sandbox whose VM it runs in
	 * and its slot there (1..15); a sandbox has "" and slot 0. A
	 * member's qemu/virtiofsd/vsock_backend refs stay 0. */
	char sandbox[256];
	char sandbox_dir[PATH_MAX];
	uint32_t slot;
	long vm_memory_mib; /* the VM's size, written by the sandbox (0: unknown) */
	int vm_vcpus;
	/* a VM taken from a pool (docs/design-pool.md): its dir <root>/pool.d/<n>
	 * and its pool monitor, which owns QEMU, virtiofsd and the back-end
	 * (recorded in qemu, virtiofsd, vsock_backend too); "" and 0 otherwise */
	char vm_dir[PATH_MAX];
	struct husk_pid_ref vm_monitor;
};

int husk_id_validate(const char *id, struct husk_err *err);
/* A container created under a --root other than the default also gets a
 * link <default root>/<id> -> its dir, so a verb called without --root
 * (podman's cleanup `delete --force`) still finds it. Best effort. */
void husk_state_link_default(const char *root, const char *id, const char *dir);
/* Removes a container's state dir, following that link either way, and
 * the link itself. */
int husk_state_remove(const char *dir, const char *id, struct husk_err *err);
int husk_state_path(char *out, size_t cap, const char *root, const char *id, const char *file, struct husk_err *err);

/* The longest state dir whose sockets (ctl.sock, vsock.vu.sock, ...) fit a
 * unix socket address (108 bytes) with room to spare. */
#define HUSK_STATE_DIR_SHORT 80
/* Creates the state dir <root>/<id> (EEXIST: the container exists). When
 * that path is too long for sockets (containerd's and dockerd's roots with
 * 64-character ids), the real dir is <default root>/<id> and <root>/<id> a
 * link to it. real gets the real dir: the monitor works there. */
int husk_state_dir_create(const char *dir, const char *id, char *real, size_t cap, struct husk_err *err);
/* The unix socket address of <dir>/<name>, through the real dir when the
 * path through a link is too long. */
struct sockaddr_un;
int husk_state_sock_addr(struct sockaddr_un *addr, const char *dir, const char *name, struct husk_err *err);
int husk_state_read(const char *dir, struct husk_state *st, struct husk_err *err);
int husk_state_write(const char *dir, const struct husk_state *st, struct husk_err *err);
void husk_state_free(struct husk_state *st);
/* The status as the monitor last wrote it; stopped when the monitor is gone */
enum husk_status husk_state_status(const struct husk_state *st);
bool husk_pid_ref_alive(const struct husk_pid_ref *ref);
void husk_pid_ref_set(struct husk_pid_ref *ref, pid_t pid);
/* The OCI state document (`husk state`, and a hook's stdin); NULL when out of memory. */
json_t *husk_state_oci_json(const struct husk_state *st);
/* RFC 3339 time, UTC, with nanoseconds */
void husk_time_now(char *out, size_t cap);

#endif
