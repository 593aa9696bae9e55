/* husk sandbox's sub-verbs (cmd_sandbox.c: run and the shared option
 * parsing; cmd_sandbox_keep.c: start, exec, stop; cmd_sandbox_cp.c: cp). */
#ifndef HUSK_HOST_CLI_SANDBOX_H
#define HUSK_HOST_CLI_SANDBOX_H

#include <limits.h>
#include <stdbool.h>

#include "host/cli/cli.h"
#include "host/cli/sandbox_host.h"
#include "host/spec/sandbox_spec.h"

struct run_args {
	struct husk_sandbox_opts s;
	bool start; /* sandbox start: --name, no command, no --timeout */
	const char *name;
	const char *rootfs_arg, *work_arg, *image_arg;
	bool nat;       /* --net nat */
	long timeout_s; /* 0: none */
	char rootfs[PATH_MAX], work[PATH_MAX];
	struct husk_sb_host host;     /* --image, --net nat: made by the keeper */
	struct husk_sb_keeper keeper; /* pid 0 without --image and --net nat */
};

/* --image and --net nat: the keeper started and the spec's rootfs and
 * netns set from what it made (nothing to do without them) */
int sandbox_host_setup(struct run_args *a, bool keep_stderr, struct husk_err *err);

/* run's and start's options, defaults from [sandbox]; prints the one-line
 * error itself (non-zero) */
int sandbox_parse(int argc, char **argv, struct run_args *a);
long sandbox_now_ms(void);

/* the file in a started sandbox's state dir that holds its spec (exec
 * builds its processes from it) */
#define SANDBOX_SPEC_FILE "sandbox.json"
#define SANDBOX_ID_PREFIX "sandbox-"
/* ... and the keeper of its --image and --net nat: "PID START_TIME\n" */
#define SANDBOX_KEEPER_FILE "sandbox.keeper"

/* Runs cmd in started sandbox name (exec's process: the spec's env plus
 * extra, cwd /work) and waits for it. stdio NULL: the command has our
 * stdin, stdout and stderr (and a terminal when stdin is one); else
 * stdio[i] >= 0 becomes its fd i (no terminal), -1 leaves ours. Returns
 * the command's exit status, or -1 after printing (as "sandbox VERB: ...")
 * why it did not run: no such sandbox, not running. Shared by exec and
 * cp (cmd_sandbox_cp.c). */
int sandbox_exec_in(struct husk_globals *g, const char *verb, const char *name, char **cmd, int n_cmd, char **extra,
		    size_t n_extra, const int stdio[3]);

int sandbox_start(struct husk_globals *g, int argc, char **argv);
int sandbox_exec(struct husk_globals *g, int argc, char **argv);
int sandbox_cp(struct husk_globals *g, int argc, char **argv);
int sandbox_stop(struct husk_globals *g, int argc, char **argv);

#endif
