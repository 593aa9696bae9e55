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

/* The root whose pool create asks: root when <root>/pool.sock exists, else
 * the default root (/run/husk) when it has one, so that the one pool of a
 * host (husk-pool.service) also serves engines that pass their own --root
 * (containerd's shim, dockerd). NULL: no pool. */
const char *husk_pool_root(const char *root);
/* The same with the fallback root given (tests). */
const char *husk_pool_root_of(const char *root, const char *fallback);
/* Whether the container may take a pool VM: 0 with *shape filled, or 1 with
 * why (one line) filled: [pool] use = off (or HUSK_POOL=off), a pod's container, spare NICs, an
 * sd_notify socket, a network namespace with more interfaces than a pool
 * VM has NICs (HUSK_POOL_NICS), a shape that cannot be computed. Whether the pool's shape
 * equals it is the server's check (TAKE). */
int husk_pool_eligible(const struct husk_config *cfg, const struct husk_spec *spec, const struct husk_pod_target *pod,
		       struct husk_pool_shape *shape, char *why, size_t cap);

/* The network of a container adopting pool VM vm: none without a netns
 * path (n->netns_fd -1, out empty); else the netns checked as for a cold
 * boot (husk_net_open), the VM's taps moved into it from the pool
 * monitor's netns and joined to its interfaces (husk_net_adopt,
 * network.json in state_dir). 0: n->netns_fd is the container's netns
 * (the adopting monitor enters it), out what the guest sets at CREATE.
 * On failure nothing is left. */
struct husk_net;
struct husk_network;
int husk_pool_adopt_network(const struct husk_pool_vm *vm, const char *netns_path, const char *state_dir,
			    struct husk_net *n, struct husk_network *out, struct husk_err *err);

#endif
