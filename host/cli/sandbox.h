/* husk sandbox's sub-verbs (cmd_sandbox.c: run and the shared option
 * parsing; cmd_sandbox_keep.c: start, exec, cp, stop). */
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
	struct husk_sb_image image; /* --image, mounted for the job's life */
	struct husk_sb_net net;     /* --net nat */
};

/* run's and start's options, defaults from [sandbox]; prints the one-line
 * error itself (non-zero) */
int sandbox_parse(int argc, char **argv, struct run_args *a);
long sandbox_now_ms(void);

/* the file in a started sandbox's state dir that holds its spec (exec
 * builds its processes from it) */
#define SANDBOX_SPEC_FILE "sandbox.json"
#define SANDBOX_ID_PREFIX "sandbox-"

int sandbox_start(struct husk_globals *g, int argc, char **argv);
int sandbox_exec(struct husk_globals *g, int argc, char **argv);
int sandbox_cp(struct husk_globals *g, int argc, char **argv);
int sandbox_stop(struct husk_globals *g, int argc, char **argv);

#endif
