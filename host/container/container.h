/* The host's container layer: what a container is to the verbs, written
 * once over the state store and the monitor (which owns the VM). The
 * cmd_<verb>.c files parse arguments and call this, as crun's verbs call
 * libcrun_container_*(). Statuses are enum husk_status (host/state/state.h). */
#ifndef HUSK_HOST_CONTAINER_H
#define HUSK_HOST_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/arena.h"
#include "common/err.h"
#include "proto/msg_resources.h"
#include "proto/msg_session.h"
#include "host/spec/spec.h"
#include "host/state/state.h"

/* Loads <root>/<id>/state.json into st (dir gets <root>/<id>); a missing
 * container is ENOENT with "container "<id>" does not exist". */
int husk_container_load(const char *root, const char *id, char *dir, size_t dir_cap, struct husk_state *st,
			struct husk_err *err);

/* created, running or paused: a monitor that serves requests */
bool husk_status_live(enum husk_status s);

struct husk_create_opts {
	const char *root;
	const char *id;
	const char *bundle;
	const char *console_socket; /* NULL: no --console-socket */
	bool foreground;            /* run without --detach: a terminal may be the caller's own */
	bool log_to_caller_file;    /* --log given: the monitor keeps logging there */
	bool systemd_cgroup;        /* --systemd-cgroup */
	/* husk's own spec (sandbox run, docs/design-sandbox.md): config.json's
	 * text, its paths absolute; bundle is not used and the container has
	 * none (state.json's bundle is empty: no hooks, no oom file). Its
	 * io.husk.vm.* annotations are husk's, not held against
	 * allowed_annotations. NULL: read bundle/config.json */
	const char *spec_json;
};

/* Everything up to a created container: the state dir, then the monitor
 * (the process named in --pid-file) forked and waited for until it reports
 * the container created. Returns the monitor's pid with dir filled, or a
 * negative code with err filled and nothing left behind. */
pid_t husk_container_create(const struct husk_create_opts *o, char *dir, size_t dir_cap, struct husk_err *err);
/* Releases a created container's process. */
int husk_container_start(const char *root, const char *id, struct husk_err *err);
/* Signals the container's process (all: every process in it); signal 0
 * only checks that the container is not stopped. */
int husk_container_kill(const char *root, const char *id, int sig, bool all, struct husk_err *err);
/* Removes a stopped container; force kills a live one (or one still
 * creating) first, and a missing one is no error. No pid is signalled without checking it is still the
 * recorded process. */
int husk_container_delete(const char *root, const char *id, bool force, struct husk_err *err);
/* What a stopped container leaves, as delete removes it (run, once its
 * monitor exited): the poststop hooks, then its state dir. Best effort. */
void husk_container_teardown(const char *dir, const char *id);

/* Whether a process may be exec'd in the container as st describes it. */
int husk_container_can_exec(const struct husk_state *st, bool ignore_paused, struct husk_err *err);
/* Forks an exec monitor for process in the container (state dir dir) and
 * waits until the process runs in the guest; returns the exec monitor's
 * pid (the process named by `exec --pid-file`). */
pid_t husk_container_exec(const char *dir, const struct husk_state *st, const struct husk_process_spec *process,
			  const char *console_socket, bool log_to_caller_file, struct husk_err *err);

/* container_requests.c: what a verb asks of a live container's monitor.
 * pause needs a running container, resume a paused one; ps either. */
int husk_container_pause(const char *root, const char *id, struct husk_err *err);
int husk_container_resume(const char *root, const char *id, struct husk_err *err);
/* The guest's process list, decoded into a (which holds the strings). */
int husk_container_ps(const char *root, const char *id, struct husk_arena *a, struct husk_ps_reply_msg *ps,
		      struct husk_err *err);
/* New limits for a live container: res in its guest cgroup, blkio_weight
 * (0: unchanged) in the VM's host cgroup. */
int husk_container_update(const char *root, const char *id, const struct husk_resources *res, unsigned blkio_weight,
			  struct husk_err *err);
/* The container's statistics (state dir dir), decoded into a. */
int husk_container_stats(const char *dir, struct husk_arena *a, struct husk_stats_msg *m, struct husk_err *err);
/* A connection to the monitor that receives an OOM frame per OOM kill;
 * it ends when the container does. Returns the fd. */
int husk_container_events_open(const char *dir, struct husk_err *err);

/* The vsock back-end a container created now gets for mode (auto, vhost or
 * vhost-user): `husk config` reports it. */
const char *husk_container_vsock_resolve(const char *mode);

#endif
