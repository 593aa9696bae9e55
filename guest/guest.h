/* husk-init: PID 1 of the VM. Shared types of the guest modules. */
#ifndef HUSK_GUEST_H
#define HUSK_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/bytequeue.h"
#include "common/err.h"
#include "common/watch.h"
#include "proto/msg.h"
#include "proto/msg_resources.h"

#define GUEST_VFS_DIR "/run/husk/vfs"            /* the host's staging directory (virtio-fs) */
#define GUEST_ROOTFS_DIR GUEST_VFS_DIR "/rootfs" /* slot 0's rootfs in it; slot n's: vfs/ctr/<n>/rootfs */
#define GUEST_VSOCK_WINDOW (2u << 20)            /* per session, each way: as the host back-end's buffer */
#define GUEST_OUTPUT_PIPE (1 << 20)              /* a process's stdout/stderr pipe */
#define GUEST_OUTQ_HIGH (512u * 1024u)           /* stop reading process output above this */
#define GUEST_OUTQ_MAX (4u * 1024u * 1024u)
#define GUEST_PIDS_MAX 4096 /* processes of one container that kill --all and ps walk */

/* slot 0's cgroup (cgroup.c), bound by container_fs.c for a cgroup mount
 * that cannot be a new one; slot n's is the sibling container.<n> */
#define GUEST_CONTAINER_CGROUP "/sys/fs/cgroup/container"

/* logging to the serial console (the host keeps it in console.log) */
void glog(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define GLOG_ERR(...) glog("error", __VA_ARGS__)
#define GLOG_INFO(...) glog("info", __VA_ARGS__)

struct proc;
struct conn;

/* A container of the VM (pods: slot 0 the first, 1..15 members): its init,
 * its own session, its cgroup and share paths, its OOM watch. The table is
 * container.c's; the rules on it (ctr_table.c) need no VM. */
struct gctr {
	bool used;
	bool closing; /* its session is gone: freed once its init is reaped */
	uint32_t idx;
	struct proc *init;
	struct conn *conn; /* the session that created it */
	char cgroup[48];   /* /sys/fs/cgroup/container[.<n>] */
	char vfs[48];      /* /run/husk/vfs[/ctr/<n>]: rootfs/, mounts/N */
	char rootfs[64];
	struct watch oom_w;
	uint64_t oom_seen;
};

/* one host session on vsock */
struct conn {
	struct watch w; /* the vsock stream */
	struct husk_frame_reader rd;
	uint8_t *rbuf;
	struct byteq out;
	struct proc *proc; /* the process bound to this session */
	struct gctr *ctr;  /* the container this session acts for (CREATE, EXEC), NULL before */
	bool is_main;      /* the container's session: its loss powers the VM off */
	bool closing;      /* read side done: close once out is flushed */
	bool dead;         /* closed: freed by conn_collect() */
	struct conn *next;
};

/* a process whose stdio is relayed */
struct proc {
	pid_t pid;
	struct conn *conn;
	struct watch in_w;  /* stdin pipe write end, -1 if none (dup of the pty master with a terminal) */
	struct watch out_w; /* stdout read end, or the pty master */
	struct watch err_w; /* stderr read end, -1 with a terminal */
	int start_fd;       /* write end: one byte starts the container process */
	bool terminal;
	bool exited;
	bool exit_sent;
	bool dead;              /* freed by proc_collect() */
	int status;             /* 0-255, 128+N when killed by signal N */
	struct byteq stdin_q;   /* stdin bytes not yet written to the process */
	bool stdin_eof;         /* host closed stdin */
	uint64_t stdin_unacked; /* bytes written to the process not yet acked */
	struct gctr *owner;     /* the container whose init this is, else NULL */
	struct proc *next;
};

/* the event loop (main.c) */
int loop_add(struct watch *w, uint32_t events, struct husk_err *err);
void loop_set(struct watch *w, uint32_t events);
void loop_del(struct watch *w); /* also closes the fd and sets it to -1 */
void guest_poweroff(const char *why) __attribute__((noreturn));

/* sessions (conn.c) */
void conn_accept(int listen_fd);
void conn_collect(void); /* frees closed sessions */
int conn_send(struct conn *c, uint16_t type, uint16_t flags, uint32_t id, const uint8_t *payload, size_t len);
int conn_send_error(struct conn *c, uint32_t id, const struct husk_err *err);
void conn_update_interest(struct conn *c);
bool conn_has_room(const struct conn *c);

/* processes (process.c) */
void proc_collect(void); /* frees processes that are done */
void proc_register(struct proc *p);
void proc_reaped(pid_t pid, int wstatus);
void proc_stdin_data(struct proc *p, const uint8_t *data, size_t len);
void proc_stdin_close(struct proc *p);
void proc_detach_conn(struct conn *c);
void proc_update_interest(struct proc *p);
int proc_signal(struct proc *p, const struct gctr *g, int sig, bool all, struct husk_err *err);
int proc_resize(struct proc *p, uint16_t rows, uint16_t cols, struct husk_err *err);

/* starting processes (spawn.c) */
enum spawn_kind { SPAWN_CONTAINER_INIT, SPAWN_EXEC };
struct spawn_req {
	enum spawn_kind kind;
	const struct husk_process_spec *process;
	bool stdin_open;
	const struct husk_create_msg *create; /* SPAWN_CONTAINER_INIT */
	const struct gctr *ctr;               /* the container: its cgroup, its rootfs */
	pid_t target;                         /* SPAWN_EXEC: a container process whose namespaces to join */
	pid_t join_pid[HUSK_JOIN_KINDS];      /* init: the inits whose namespaces create->join names */
};
int spawn_process(struct conn *c, const struct spawn_req *req, struct proc **out, struct husk_err *err);
void spawn_child_fail(int sync_fd, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

/* the containers (container.c): the table ctrs[HUSK_POD_MAX] */
int container_create(struct conn *c, const struct husk_create_msg *m, pid_t *pid_out, struct husk_err *err);
int container_exec(struct conn *c, uint32_t ctr, const struct husk_process_spec *process, bool stdin_open,
		   pid_t *pid_out, struct husk_err *err);
void container_child_root(const struct husk_create_msg *m, const struct gctr *g, int sync_fd);
uint32_t container_namespaces(const struct husk_create_msg *m); /* HUSK_NS_* to create */
int container_start(struct conn *c, struct gctr *g, struct husk_err *err);
struct proc *container_proc(void);              /* slot 0's init, NULL if none */
struct gctr *container_get(uint32_t idx);       /* a used slot, else NULL */
struct gctr *container_by_conn(struct conn *c); /* the container c created, else NULL */
/* the container a request on c names: ctr_resolve() on the table */
int container_resolve(struct conn *c, bool has_ctr, uint32_t ctr, struct gctr **out, struct husk_err *err);
void container_session_closed(struct conn *c); /* a member's session: kill it, free its slot once reaped */
void container_init_exited(struct proc *p);    /* before its EXIT: slot 0 takes the members down */
void container_collect(void);                  /* frees the slots of closed members whose init is reaped */

/* the table's rules, no syscalls (ctr_table.c, also in the host unit tests) */
void ctr_paths(struct gctr *g, uint32_t idx, bool tree); /* cgroup, vfs, rootfs of slot idx (tree: CREATE's) */
/* which slot a request means: absent ctr -> the session's container, else
 * 0; an explicit one other than the session's is EPERM; a slot that holds
 * no container is ESRCH */
int ctr_resolve(const struct gctr *table, const struct gctr *session, bool has_ctr, uint32_t ctr, uint32_t *out,
		struct husk_err *err);
/* CREATE of slot idx on a session bound to session_ctr (NULL: none): the
 * slot free, slot 0 present for a member, the joined slots live */
int ctr_check_create(const struct gctr *table, const struct gctr *session, uint32_t idx,
		     const struct husk_ns_join *join, struct husk_err *err);
bool ctr_alive(const struct gctr *g); /* used, with an init not yet exited */

/* a container's cgroup (cgroup.c), g->cgroup */
int cgroup_open_procs(const struct gctr *g, struct husk_err *err); /* an fd of its cgroup.procs */
int cgroup_join(int procs_fd);                                     /* moves the caller in */
int cgroup_freeze(const struct gctr *g, bool freeze, struct husk_err *err);
int cgroup_enable_controllers(struct husk_err *err);
struct husk_resources;
int cgroup_apply(const struct gctr *g, const struct husk_resources *r, struct husk_err *err);
int cgroup_devices_apply(const struct gctr *g, const struct husk_resources *r,
			 struct husk_err *err); /* cgroup_devices.c */
int cgroup_stats(const struct gctr *g, struct husk_stats_msg *m,
		 struct husk_err *err); /* memory_stat points into static buffers */
uint64_t cgroup_oom_kills(const struct gctr *g);
int cgroup_watch_oom(struct gctr *g, struct husk_err *err); /* OOM events to the container's session */
void cgroup_unwatch_oom(struct gctr *g);
/* every process of the cgroup and its descendants (guest pids), at most
 * cap; the count, or -errno */
int cgroup_pids(const struct gctr *g, pid_t *pids, uint32_t cap);
int cgroup_kill(const struct gctr *g);   /* cgroup.kill: 0 or -errno */
int cgroup_remove(const struct gctr *g); /* rmdir: 0 (also when absent) or -errno */

/* the cgroup files parsed and written as text (cgroup_parse.c: no syscalls) */
uint64_t cgroup_keyed(const char *text, const char *key); /* "key N" lines; 0 when absent */
uint64_t cgroup_single(const char *text, bool *is_max);   /* "N" or "max"; NULL/empty is 0 */
bool cgroup_events_frozen(const char *text, bool want);   /* cgroup.events says "frozen <want>" */
uint64_t cgroup_cpu_weight(uint64_t shares);              /* cgroup v1 shares 2..262144 to cpu.weight */
/* cpu.max for the resources' quota/period over what cpu.max holds now (cur, NULL if unknown) */
void cgroup_cpu_max_text(const char *cur, const struct husk_resources *r, char *out, size_t cap);
/* memory.swap.max from runc's memory+swap (-1: max) */
int cgroup_swap_max(const struct husk_resources *r, int64_t *swap, struct husk_err *err);
/* the files STATS reads, NULL when unreadable; the parse writes into them */
struct cgroup_stat_files {
	char *cpu_stat, *memory_current, *memory_max, *swap_current, *pids_current, *pids_max;
	char *io_stat, *memory_events, *memory_stat;
	struct husk_stat_counter counters[HUSK_STATS_MEMORY_MAX];
};
/* every field but time_ns; m->memory_stat points into f */
void cgroup_stats_parse(struct cgroup_stat_files *f, struct husk_stats_msg *m);

/* the container's processes (ps.c) */
int ps_encode(const struct gctr *g, struct husk_cbor_enc *e, struct husk_err *err);
/* what it reads from /proc/PID, parsed (ps_parse.c: no syscalls) */
long ps_parse_ppid(const char *stat);   /* field 4 of /proc/PID/stat; 0 if unknown */
long ps_parse_uid(const char *status);  /* the real uid in /proc/PID/status; -1 if unknown */
void ps_clean_cmd(char *buf, size_t n); /* cmdline's n bytes: NULs and newlines to spaces, trimmed, NUL-terminated */

/* the NICs (net.c): lo up and spare NICs parked at boot; the container's
 * configured from CREATE's and START's network */
int net_boot(struct husk_err *err);
struct husk_network;
int net_apply(const struct husk_network *n, struct husk_err *err);

/* mounts (mount.c) */
int mount_boot_filesystems(struct husk_err *err);
int mount_rootfs(const char *tag, const char *rootfs, struct husk_err *err);

/* the container's file system view (container_fs.c), in its init process */
struct husk_container_config;
void container_fs_sysctl(const struct husk_container_config *c, int sync_fd);
void container_fs_mounts(const struct husk_container_config *c, const struct gctr *g, int sync_fd);
void container_fs_finish(const struct husk_container_config *c, int sync_fd);
void container_fs_cwd(const char *cwd, int sync_fd);   /* after pivot_root: mkdir -p the cwd */
unsigned long container_mount_flags(const char *path); /* MS_* a mount has now */
#define GUEST_JOIN_MAX 4096
/* root + unsafe with every symlink resolved inside root (an absolute link
 * restarts at root, ".." stops at root); missing components are kept
 * literally. 0 or -ENAMETOOLONG / -ELOOP / -errno (rootfs_path.c) */
int container_secure_join(const char *root, const char *unsafe, char *out, size_t cap);
int container_remount(const char *path, unsigned long flags); /* container.c; -errno */

/* sd_notify (notify.c): the socket the container notifies on, served from
 * CREATE on; its datagrams go to the container's session as NOTIFY */
int notify_listen(struct husk_err *err);
void notify_mount(const char *path, const char *root, int sync_fd); /* in the container init */

#endif
