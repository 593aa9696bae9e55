/* A container taking a VM from the pool (docs/design-pool.md section 2):
 * which containers may. Anything that does not fit boots cold; none of
 * this is ever an error for `create`. */
#ifndef HUSK_HOST_CONTAINER_POOL_H
#define HUSK_HOST_CONTAINER_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "host/container/pod.h"
#include "host/pool/pool_client.h"
#include "host/spec/spec.h"
#include "host/state/config.h"

/* HUSK_POOL's value: "off", "0", "no" or "false" forces a cold boot. */
bool husk_pool_env_off(const char *value);
/* The root whose pool create asks: root when <root>/pool.sock exists, else
 * the default root (/run/husk) when it has one, so that the one pool of a
 * host (husk-pool.service) also serves engines that pass their own --root
 * (containerd's shim, dockerd). NULL: no pool. */
const char *husk_pool_root(const char *root);
/* The same with the fallback root given (tests). */
const char *husk_pool_root_of(const char *root, const char *fallback);
/* Whether the container may take a pool VM: 0 with *shape filled, or 1 with
 * why (one line) filled: HUSK_POOL=off, a pod's container, spare NICs, an
 * sd_notify socket, a network namespace with interfaces (P2 pool VMs have
 * no NIC), a shape that cannot be computed. Whether the pool's shape
 * equals it is the server's check (TAKE). */
int husk_pool_eligible(const struct husk_config *cfg, const struct husk_spec *spec, const struct husk_pod_target *pod,
		       struct husk_pool_shape *shape, char *why, size_t cap);

#endif
