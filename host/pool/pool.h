/* The pool of booted VMs (docs/pool.md, docs/design-pool.md): the server
 * `husk pool serve` (pool_serve.c) and its pool monitors (pool_vm.c). */
#ifndef HUSK_HOST_POOL_H
#define HUSK_HOST_POOL_H

#include <sys/types.h>

#include "common/err.h"
#include "host/pool/pool_client.h"
#include "host/spec/spec.h"
#include "host/state/config.h"

/* What the server and a pool monitor say on their socketpair (one
 * SOCK_SEQPACKET message each): the monitor "R" + the VM's JSON
 * (husk_pool_vm_json) once the guest is up, or "E" + why it failed;
 * the server "T" (taken), which the monitor answers "A" once its death
 * signal is cleared: only then does TAKE's reply go out, so a server
 * killed at any point either hands out a VM that outlives it or none.
 * The server closing its end stops an idle VM. */
#define HUSK_POOL_MSG_MAX HUSK_POOL_LINE_MAX

/* How long a taken VM waits for ADOPT: HUSK_POOL_ADOPT_TIMEOUT_MS in the
 * server's environment (tests), else 30 s. */
#define HUSK_POOL_ADOPT_WAIT_MS 30000
#define HUSK_POOL_ADOPT_WAIT_MIN_MS 100
#define HUSK_POOL_ADOPT_WAIT_MAX_MS 600000
/* A pool monitor's exit status when it was taken and never adopted: the
 * server removes its dir (nobody else will) */
#define HUSK_POOL_EXIT_UNADOPTED 3

struct husk_pool_vm_args {
	const struct husk_config *cfg;
	const char *dir; /* <root>/pool.d/<n> */
	unsigned index;
	int server_fd; /* the socketpair */
	pid_t server_pid;
	long adopt_wait_ms;
};

/* The pool monitor, in the child the server forked (no exec); returns the
 * exit status. */
int husk_pool_vm_run(const struct husk_pool_vm_args *a);

/* The VM a cold boot of spec would make: size (host/spec/vm_size.c),
 * accelerator as QEMU would get it, kernel parameters (config file and
 * annotation). */
int husk_pool_spec_shape(const struct husk_config *cfg, const struct husk_spec *spec, struct husk_pool_shape *out,
			 struct husk_err *err);
/* The shape of the VMs this configuration boots (what a container with no
 * size annotations or limits would get). */
int husk_pool_shape_from_config(const struct husk_config *cfg, struct husk_pool_shape *out, struct husk_err *err);

/* `husk pool serve`: runs until SIGTERM/SIGINT; returns the exit status. */
int husk_pool_serve(const char *root, const struct husk_config *cfg, long size, struct husk_err *err);

#endif
