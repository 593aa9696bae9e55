/* Which containers may take a VM from the pool (docs/design-pool.md). */
#include "host/container/container_pool.h"
#include "host/pool/pool.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <jansson.h>

#include "proto/msg_container.h"
#include "host/net/net.h"
#include "host/state/state.h"
#include "host/vmm/vmm_qemu.h"

static bool has_pool_sock(const char *root)
{
	char sock[PATH_MAX];
	struct stat st;
	return (size_t)snprintf(sock, sizeof sock, "%s/" HUSK_POOL_SOCK, root) < sizeof sock && stat(sock, &st) == 0;
}

const char *husk_pool_root_of(const char *root, const char *fallback)
{
	if (has_pool_sock(root))
		return root;
	if (!strcmp(root, fallback) || !has_pool_sock(fallback))
		return NULL;
	return fallback;
}

const char *husk_pool_root(const char *root)
{
	return husk_pool_root_of(root, HUSK_DEFAULT_ROOT);
}

/* How many interfaces a cold boot would give the VM in the namespace at path. */
static int netns_links(const char *path, unsigned *n, struct husk_err *err)
{
	struct husk_net_found found[HUSK_NET_MAX_IFACES];
	struct husk_nl nl;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	int r = husk_nl_open(&nl, fd, err);
	close(fd);
	if (r < 0)
		return r;
	r = husk_net_list_links(&nl, found, HUSK_NET_MAX_IFACES, n, err);
	husk_nl_close(&nl);
	return r;
}

int husk_pool_eligible(const struct husk_config *cfg, const struct husk_spec *spec, const struct husk_pod_target *pod,
		       struct husk_pool_shape *shape, char *why, size_t cap)
{
	struct husk_err err = { 0 };
	json_t *ann = json_object_get(spec->json, "annotations");
	const char *netns = spec->container ? spec->container->netns_path : NULL;
	unsigned links = 0;
	if (!strcmp(husk_config_get(cfg, CFG_POOL_USE), "off"))
		snprintf(why, cap, "pool use is off (%s)", cfg->e[CFG_POOL_USE].source);
	else if (pod->member || pod->pod_sandbox)
		snprintf(why, cap, "a pod's container");
	else if (json_object_get(ann, "io.husk.net.spare_nics"))
		snprintf(why, cap, "io.husk.net.spare_nics asks for NICs");
	else if (spec->notify_host)
		snprintf(why, cap, "an sd_notify socket");
	else if (netns && netns_links(netns, &links, &err) < 0)
		snprintf(why, cap, "%s", err.msg);
	else if (links > HUSK_POOL_NICS)
		snprintf(why, cap, "network namespace %s has %u interfaces, pool VMs have %u NICs", netns, links,
			 HUSK_POOL_NICS);
	else if (husk_pool_spec_shape(cfg, spec, shape, &err) < 0)
		snprintf(why, cap, "%s", err.msg);
	else
		return 0;
	return 1;
}

int husk_pool_adopt_network(const struct husk_pool_vm *vm, const char *netns_path, const char *state_dir,
			    struct husk_net *n, struct husk_network *out, struct husk_err *err)
{
	struct husk_net_tap taps[HUSK_POOL_NICS_MAX];
	char path[64];
	memset(out, 0, sizeof *out);
	n->netns_fd = -1;
	if (!netns_path)
		return 0; /* the taps stay in the pool VM's namespace: spares nobody reaches */
	int r = husk_net_open(n, netns_path, state_dir, err);
	if (r < 0)
		return r;
	/* the pool monitor's namespace, reached through its checked pid */
	snprintf(path, sizeof path, "/proc/%d/ns/net", (int)vm->monitor.pid);
	int pool_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pool_fd < 0 || !husk_pid_ref_alive(&vm->monitor)) {
		r = husk_err_set(err, ESRCH, "the pool VM's monitor (pid %d) is gone", (int)vm->monitor.pid);
		if (pool_fd >= 0)
			close(pool_fd);
		close(n->netns_fd);
		n->netns_fd = -1;
		return r;
	}
	memset(taps, 0, sizeof taps);
	for (unsigned i = 0; i < vm->n_nics && i < HUSK_POOL_NICS_MAX; i++) {
		snprintf(taps[i].name, sizeof taps[i].name, "%s", vm->nics[i].tap);
		taps[i].ifindex = vm->nics[i].ifindex;
		taps[i].fd = -1;
		memcpy(taps[i].dev_mac, vm->nics[i].dev_mac, 6);
	}
	r = husk_net_adopt(n, pool_fd, taps, vm->n_nics, out, err);
	close(pool_fd);
	return r;
}
