/* The OCI spec `husk sandbox run` writes for itself (docs/design-sandbox.md):
 * a fixed template filled from the command line. */
#ifndef HUSK_HOST_SANDBOX_SPEC_H
#define HUSK_HOST_SANDBOX_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define HUSK_SANDBOX_MEMORY_MIN 128
#define HUSK_SANDBOX_MEMORY_MAX (1 << 20)
#define HUSK_SANDBOX_CPUS_MAX 64
#define HUSK_SANDBOX_ENV_MAX 1024
/* --read-only's overlay holds only mount points (empty directories and files) */
#define HUSK_SANDBOX_RO_OVERLAY_MIB 1

struct husk_sandbox_opts {
	const char *rootfs;      /* absolute */
	const char *work;        /* absolute, or NULL: /work is a tmpfs */
	const char *netns;       /* a network namespace's path (--net nat), or NULL: only lo */
	const char *resolv_conf; /* bind-mounted read-only at /etc/resolv.conf, or NULL */
	long memory_mib;         /* the VM's */
	int cpus;
	bool read_only; /* no overlay: the root read-only, /tmp a tmpfs */
	bool terminal;  /* stdin is a terminal */
	bool hold;      /* sandbox start: io.husk.sandbox.hold, the init runs nothing (argv is still process.args) */
	char **env;     /* K=V, n_env of them, after the defaults */
	size_t n_env;
	char **argv; /* the command, argc >= 1 */
	int argc;
};

/* An environment entry as the sandbox takes it: K=V, K not empty, of
 * letters, digits and '_', not starting with a digit. */
bool husk_sandbox_env_valid(const char *kv);
/* The overlay's size for a VM of memory_mib MiB: half of it. */
unsigned husk_sandbox_overlay_mib(long memory_mib);
/* config.json's text (malloc'd) for o; -EINVAL with one line on a bad
 * option (a size out of range, an environment entry, no command). */
int husk_sandbox_spec(const struct husk_sandbox_opts *o, char **out, struct husk_err *err);

#endif
