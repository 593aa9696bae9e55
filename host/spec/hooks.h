/* OCI hooks (config.json "hooks"): parsed from the spec and run on the
 * host with the container's OCI state JSON on stdin, each with its timeout.
 * All six kinds run on the host, createContainer and startContainer too:
 * the container lives in a VM and a hook is a host binary (docs/hooks.md). */
#ifndef HUSK_HOST_HOOKS_H
#define HUSK_HOST_HOOKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

enum husk_hook_kind {
	HUSK_HOOK_PRESTART,
	HUSK_HOOK_CREATE_RUNTIME,
	HUSK_HOOK_CREATE_CONTAINER,
	HUSK_HOOK_START_CONTAINER,
	HUSK_HOOK_POSTSTART,
	HUSK_HOOK_POSTSTOP,
	HUSK_HOOK_KINDS
};

struct husk_hook {
	char *path;  /* absolute */
	char **args; /* NULL-terminated; {path} when the spec gives none */
	char **env;  /* NULL-terminated, or NULL: the caller's environment */
	int timeout; /* seconds, 0 for none */
};

struct husk_hooks {
	struct husk_hook *list[HUSK_HOOK_KINDS];
	size_t n[HUSK_HOOK_KINDS];
	/* where hooks run, as runc's: the bundle; createContainer in the
	 * rootfs; startContainer in process.cwd inside the rootfs (the rootfs
	 * itself when that is not on the host). Not owned; NULL: as is. */
	const char *cwd;
	const char *rootfs;
	const char *process_cwd;
};

/* The spec's name of a kind ("createRuntime"). */
const char *husk_hook_kind_name(enum husk_hook_kind kind);

/* Parses root's "hooks" (absent is fine: no hooks). A bad section is one
 * line starting "config.json: hooks". out is always safe to free; cwd
 * is left NULL for the caller to set. */
int husk_hooks_parse(json_t *root, struct husk_hooks *out, struct husk_err *err);
void husk_hooks_free(struct husk_hooks *h);
static inline bool husk_hooks_any(const struct husk_hooks *h, enum husk_hook_kind kind)
{
	return h->n[kind] > 0;
}

/* The monitor works in a mount namespace of its own: hooks run in the
 * host's, given as an open /proc/self/ns/mnt taken before (-1: as is). */
void husk_hooks_set_mntns(int fd);
int husk_hooks_mntns(void);

/* Runs one hook: state_json on its stdin, its stdout and stderr logged
 * line by line, killed (its process group) once the timeout passes. A
 * non-zero exit, a signal, a timeout or a binary that cannot be run fail. */
int husk_hook_run(const struct husk_hook *hook, const char *what, const char *cwd, const char *state_json,
		  struct husk_err *err);
/* The same in a directory inside cwd: sub resolved as if cwd were "/"
 * (symlinks and ".." stay in it), cwd itself when sub is not there. */
int husk_hook_run_in(const struct husk_hook *hook, const char *what, const char *cwd, const char *sub,
		     const char *state_json, struct husk_err *err);
/* Where a kind's hooks run: *dir, and *sub inside it (NULL: dir itself). */
void husk_hooks_cwd(const struct husk_hooks *h, enum husk_hook_kind kind, const char **dir, const char **sub);

/* Runs the hooks of one kind in order. With warn_only a failure is logged
 * as a warning and the rest still run (poststart, poststop); otherwise the
 * first failure stops and fails: "hooks.<kind>[N] (<path>): ...". */
int husk_hooks_run(const struct husk_hooks *h, enum husk_hook_kind kind, const char *state_json, bool warn_only,
		   struct husk_err *err);

/* poststop for a stopped container (delete, and run once it exited): the
 * hooks from <bundle>/config.json, the monitor being gone; failures and an
 * unreadable config.json are warnings. They run in cwd, or where the
 * caller is when NULL (runc's delete; its run works in the bundle). */
struct husk_state;
int husk_hooks_poststop(const struct husk_state *st, const char *cwd);

#endif
