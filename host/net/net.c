/* The container's network namespace joined to the VM: checks, taps, tc
 * redirects, the record in network.json, the rescan at start and the
 * teardown. See net.h. */
#include "host/net/net.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/if_tun.h>
#include <linux/nsfs.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/state/fsutil.h"
#include "host/state/log.h"
#include "host/state/state.h"

#define NET_JSON "network.json"

int husk_net_spares(const char *annotation, unsigned *out, struct husk_err *err)
{
	*out = HUSK_NET_SPARES_DEFAULT;
	if (!annotation)
		return 0;
	char *end;
	errno = 0;
	unsigned long v = strtoul(annotation, &end, 10);
	if (errno || annotation[0] < '0' || annotation[0] > '9' || *end || v > HUSK_NET_SPARES_MAX)
		return husk_err_set(err, EINVAL, "annotation io.husk.net.spare_nics must be a number from 0 to %u",
				    HUSK_NET_SPARES_MAX);
	*out = (unsigned)v;
	return 0;
}

/* --- network.json ------------------------------------------------------- */

static int record_write(const struct husk_net *n, struct husk_err *err)
{
	json_t *links = json_array(), *taps = json_array();
	for (unsigned i = 0; i < n->n_taps; i++) {
		const struct husk_net_tap *t = &n->taps[i];
		json_array_append_new(taps, json_pack("{s:i,s:s,s:b,s:b}", "ifindex", t->ifindex, "name", t->name,
						      "used", t->used, "qdisc_created", t->qdisc_created));
		char mac[18];
		snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", t->dev_mac[0], t->dev_mac[1], t->dev_mac[2],
			 t->dev_mac[3], t->dev_mac[4], t->dev_mac[5]);
		json_object_set_new(json_array_get(taps, i), "dev_mac", json_string(mac));
		const struct husk_net_link *l = &n->links[i];
		json_array_append_new(links, t->used ? json_pack("{s:i,s:s,s:b}", "ifindex", l->ifindex, "name",
								 l->name, "qdisc_created", l->qdisc_created)
						     : json_null());
	}
	json_t *doc = json_pack("{s:s,s:I,s:I,s:o,s:o}", "netns", n->path, "dev", (json_int_t)n->dev, "ino",
				(json_int_t)n->ino, "taps", taps, "links", links);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return husk_err_set(err, ENOMEM, "out of memory");
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/" NET_JSON, n->state_dir);
	int r = write_file_atomic(path, text, strlen(text), 0600, err);
	free(text);
	return r;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned b[6];
	if (!s || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* network.json back into n (netns_fd stays -1, tap fds -1); our own file,
 * still checked: it decides which filters get deleted. */
static int record_read(const char *state_dir, struct husk_net *n, struct husk_err *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	size_t len;
	memset(n, 0, sizeof *n);
	n->netns_fd = -1;
	snprintf(n->state_dir, sizeof n->state_dir, "%s", state_dir);
	snprintf(path, sizeof path, "%s/" NET_JSON, state_dir);
	int r = read_file(path, 1u << 20, &text, &len, err);
	if (r < 0)
		return r;
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);
	json_t *taps = json_object_get(doc, "taps"), *links = json_object_get(doc, "links");
	const char *netns = json_string_value(json_object_get(doc, "netns"));
	if (!netns || !json_is_array(taps) || !json_is_array(links) || json_array_size(taps) > HUSK_NET_MAX_IFACES ||
	    json_array_size(links) != json_array_size(taps)) {
		json_decref(doc);
		return husk_err_set(err, EBADMSG, "%s is malformed", path);
	}
	snprintf(n->path, sizeof n->path, "%s", netns);
	n->dev = (dev_t)json_integer_value(json_object_get(doc, "dev"));
	n->ino = (ino_t)json_integer_value(json_object_get(doc, "ino"));
	n->n_taps = (unsigned)json_array_size(taps);
	for (unsigned i = 0; i < n->n_taps; i++) {
		json_t *t = json_array_get(taps, i), *l = json_array_get(links, i);
		struct husk_net_tap *tp = &n->taps[i];
		tp->fd = -1;
		tp->ifindex = (int)json_integer_value(json_object_get(t, "ifindex"));
		snprintf(tp->name, sizeof tp->name, "%s", json_string_value(json_object_get(t, "name")) ?: "");
		tp->used = json_is_true(json_object_get(t, "used"));
		tp->qdisc_created = json_is_true(json_object_get(t, "qdisc_created"));
		if (parse_mac(json_string_value(json_object_get(t, "dev_mac")), tp->dev_mac) < 0 || tp->ifindex <= 0) {
			json_decref(doc);
			return husk_err_set(err, EBADMSG, "%s: tap %u is malformed", path, i);
		}
		if (tp->used) {
			n->links[i].ifindex = (int)json_integer_value(json_object_get(l, "ifindex"));
			snprintf(n->links[i].name, sizeof n->links[i].name, "%s",
				 json_string_value(json_object_get(l, "name")) ?: "");
			n->links[i].qdisc_created = json_is_true(json_object_get(l, "qdisc_created"));
		}
	}
	json_decref(doc);
	return 0;
}

/* --- checks on the netns path ------------------------------------------ */

static bool same_ns(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;
	return stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* Another husk container whose network this is: its VM is attached to the
 * same netns (network.json), or the path is its process's netns, which is
 * what --net=container:X hands over (the OCI state pid is husk's monitor,
 * which lives in X's netns, or the host's when X has none: checked first,
 * and before the host's case). A live X not yet exited never gets here:
 * that path makes the new container a member of X's VM (host/container/
 * pod.c); this refuses an X whose process has exited. */
static int check_other_containers(const char *root, const char *self_dir, dev_t dev, ino_t ino, const char *netns_path,
				  struct husk_err *err)
{
	_cleanup_free_ char *self_real = realpath(self_dir, NULL);
	int proc_pid = 0, end = 0;
	if (sscanf(netns_path, "/proc/%d/ns/net%n", &proc_pid, &end) != 1 || netns_path[end] != '\0')
		proc_pid = 0;
	DIR *d = opendir(root);
	if (!d)
		return 0;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d)) != NULL) {
		char dir[PATH_MAX];
		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof dir, "%s/%s", root, de->d_name);
		_cleanup_free_ char *real = realpath(dir, NULL);
		if (!real || (self_real && !strcmp(real, self_real)))
			continue;
		struct husk_net other;
		struct husk_err ignore = { 0 };
		struct husk_state st;
		if (proc_pid > 0 && husk_state_read(dir, &st, &ignore) == 0) {
			if (st.monitor.pid == proc_pid && husk_pid_ref_alive(&st.monitor))
				r = husk_err_set(
					err, EINVAL,
					"network namespace %s belongs to husk container \"%s\" (--net=container:%s): "
					"its network lives inside its VM, another container cannot join it",
					netns_path, st.id, st.id);
			husk_state_free(&st);
			if (r < 0)
				break;
		}
		if (record_read(dir, &other, &ignore) == 0 && other.dev == dev && other.ino == ino)
			r = husk_err_set(
				err, EBUSY,
				"network namespace %s is used by husk container \"%s\": each husk container is "
				"a VM with its own NICs, two cannot share one network namespace",
				netns_path, de->d_name);
	}
	closedir(d);
	return r;
}

static int check_netns(struct husk_net *n, struct husk_err *err)
{
	struct stat st;
	n->netns_fd = open(n->path, O_RDONLY | O_CLOEXEC);
	if (n->netns_fd < 0)
		return husk_err_sys(err, errno, "network namespace %s", n->path);
	int type = ioctl(n->netns_fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET)
		return husk_err_set(err, EINVAL, "%s (linux.namespaces network path) is not a network namespace",
				    n->path);
	if (fstat(n->netns_fd, &st) < 0)
		return husk_err_sys(err, errno, "stat %s", n->path);
	n->dev = st.st_dev;
	n->ino = st.st_ino;
	char root[PATH_MAX];
	snprintf(root, sizeof root, "%s", n->state_dir);
	char *slash = strrchr(root, '/');
	if (slash)
		*slash = '\0';
	int r = check_other_containers(root, n->state_dir, n->dev, n->ino, n->path, err);
	if (r == 0 && strcmp(root, HUSK_DEFAULT_ROOT) != 0)
		r = check_other_containers(HUSK_DEFAULT_ROOT, n->state_dir, n->dev, n->ino, n->path, err);
	if (r < 0)
		return r;
	if (same_ns("/proc/1/ns/net", n->dev, n->ino) || same_ns("/proc/self/ns/net", n->dev, n->ino))
		return husk_err_set(err, EINVAL,
				    "network namespace %s is the host's (--net=host): a husk container is a VM whose "
				    "NICs would have to take the host's interfaces away from it; give the container a "
				    "network namespace of its own",
				    n->path);
	return 0;
}

/* --- taps --------------------------------------------------------------- */

struct tap_ctx {
	struct husk_net *n;
	unsigned count;
	int error;
};

/* In the container's netns: /dev/net/tun makes its device in the opener's */
static int make_taps(void *arg)
{
	struct tap_ctx *c = arg;
	for (unsigned i = 0; i < c->count; i++) {
		struct husk_net_tap *t = &c->n->taps[i];
		struct ifreq ifr;
		t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (t->fd < 0)
			return -errno;
		memset(&ifr, 0, sizeof ifr);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		snprintf(ifr.ifr_name, sizeof ifr.ifr_name, HUSK_NET_TAP_PREFIX "%u", i);
		if (ioctl(t->fd, TUNSETIFF, &ifr) < 0)
			return -errno;
		snprintf(t->name, sizeof t->name, "%s", ifr.ifr_name);
		t->ifindex = (int)if_nametoindex(t->name);
		if (t->ifindex <= 0)
			return -errno;
		c->n->n_taps = i + 1;
	}
	return 0;
}

/* a spare's device MAC (locally administered), replaced by the guest once used */
static void spare_mac(uint8_t *mac, unsigned i)
{
	static const uint8_t base[6] = { 0x02, 0x68, 0x75, 0x73, 0x6b, 0x00 };
	memcpy(mac, base, 6);
	mac[5] = (uint8_t)i;
}

void husk_net_close_taps(struct husk_net *n)
{
	for (unsigned i = 0; i < n->n_taps; i++)
		if (n->taps[i].fd >= 0) {
			close(n->taps[i].fd);
			n->taps[i].fd = -1;
		}
}

/* joins links[i] (found) to taps[i], both ways, and fills the guest's view */
static int join(struct husk_nl *nl, struct husk_net *n, unsigned i, const struct husk_net_found *f,
		struct husk_net_iface *out, struct husk_err *err)
{
	struct husk_net_tap *t = &n->taps[i];
	struct husk_net_link *l = &n->links[i];
	int r;
	memset(out, 0, sizeof *out);
	snprintf(out->name, sizeof out->name, "%s", f->name);
	if (!husk_net_ifname_valid(out->name))
		return husk_err_set(err, EINVAL, "interface name \"%s\" cannot be given to the guest", f->name);
	memcpy(out->dev_mac, t->dev_mac, 6);
	memcpy(out->mac, f->mac, 6);
	out->mtu = f->mtu;
	if (out->mtu < HUSK_NET_MTU_MIN)
		return husk_err_set(err, ERANGE, "interface %s: MTU %u is too small", f->name, f->mtu);
	if ((r = husk_net_read_config(nl, f->ifindex, out, err)) < 0)
		return r;
	l->ifindex = f->ifindex;
	snprintf(l->name, sizeof l->name, "%s", f->name);
	t->used = true;
	/* on record before the filters: a monitor killed now still gets undone */
	if ((r = record_write(n, err)) < 0)
		return r;
	if ((r = husk_link_set(nl, t->ifindex, f->mtu, true, err)) < 0)
		return husk_err_wrap(err, "joining %s to the VM", f->name);
	if ((r = husk_tc_redirect(nl, f->ifindex, t->ifindex, &l->qdisc_created, err)) < 0) {
		if (r == -EBUSY) {
			/* the filter there is another VM's: the undo must leave it */
			struct husk_err ignore = { 0 };
			t->used = false;
			record_write(n, &ignore);
		}
		return husk_err_wrap(err, "joining %s to the VM", f->name);
	}
	if ((r = husk_tc_redirect(nl, t->ifindex, f->ifindex, &t->qdisc_created, err)) < 0)
		return husk_err_wrap(err, "joining %s to the VM", f->name);
	log_debug("network: %s joined to %s", f->name, t->name);
	return record_write(n, err);
}

static bool is_our_tap(const struct husk_net *n, int ifindex)
{
	for (unsigned i = 0; i < n->n_taps; i++)
		if (n->taps[i].ifindex == ifindex)
			return true;
	return false;
}

static bool is_linked(const struct husk_net *n, int ifindex)
{
	for (unsigned i = 0; i < n->n_taps; i++)
		if (n->taps[i].used && n->links[i].ifindex == ifindex)
			return true;
	return false;
}

int husk_net_open(struct husk_net *n, const char *netns_path, const char *state_dir, struct husk_err *err)
{
	memset(n, 0, sizeof *n);
	n->netns_fd = -1;
	for (unsigned i = 0; i < HUSK_NET_MAX_IFACES; i++)
		n->taps[i].fd = -1;
	snprintf(n->path, sizeof n->path, "%s", netns_path);
	snprintf(n->state_dir, sizeof n->state_dir, "%s", state_dir);
	int r = check_netns(n, err);
	if (r < 0 && n->netns_fd >= 0) {
		close(n->netns_fd);
		n->netns_fd = -1;
	}
	return r;
}

/* The interfaces a VM gets: the ethernet interfaces of n's netns, none of
 * them a husk tap (that netns is another VM's already). */
static int links_to_join(struct husk_net *n, struct husk_nl *nl, struct husk_net_found *found, unsigned *n_found,
			 struct husk_err *err)
{
	int r = husk_net_list_links(nl, found, HUSK_NET_MAX_IFACES, n_found, err);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < *n_found; i++)
		if (!strncmp(found[i].name, HUSK_NET_TAP_PREFIX, strlen(HUSK_NET_TAP_PREFIX)))
			return husk_err_set(
				err, EBUSY,
				"network namespace %s already holds husk's tap %s: another husk container uses "
				"it, and two VMs cannot share one network namespace",
				n->path, found[i].name);
	if (*n_found > HUSK_NET_MAX_IFACES)
		return husk_err_set(err, E2BIG, "more than %u interfaces in %s", HUSK_NET_MAX_IFACES, n->path);
	return 0;
}

/* n's taps (made in its netns, or moved there) on record, then found[i]
 * joined to taps[i]; the rest are spares. out: what the guest sets. */
static int wire(struct husk_net *n, struct husk_nl *nl, const struct husk_net_found *found, unsigned n_found,
		struct husk_network *out, struct husk_err *err)
{
	int r = record_write(n, err);
	for (unsigned i = 0; r == 0 && i < n_found; i++) {
		if ((r = join(nl, n, i, &found[i], &out->ifaces[i], err)) < 0)
			break;
		out->n_ifaces = i + 1;
	}
	return r < 0 ? r : husk_network_validate(out, err);
}

/* A set-up that failed: nothing of it is left, n->netns_fd closed. */
static void setup_undo(struct husk_net *n)
{
	husk_net_close_taps(n);
	husk_net_teardown(n);
	if (n->netns_fd >= 0)
		close(n->netns_fd);
	n->netns_fd = -1;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/" NET_JSON, n->state_dir);
	unlink(path);
}

int husk_net_setup(struct husk_net *n, unsigned spares, struct husk_network *out, struct husk_err *err)
{
	struct husk_net_found found[HUSK_NET_MAX_IFACES];
	unsigned n_found = 0;
	struct husk_nl nl = { 0 };
	int r;

	memset(out, 0, sizeof *out);
	if (n->netns_fd < 0)
		return 0;
	if ((r = husk_nl_open(&nl, n->netns_fd, err)) < 0 || (r = links_to_join(n, &nl, found, &n_found, err)) < 0)
		goto fail;
	unsigned count = n_found + spares;
	if (count > HUSK_NET_MAX_IFACES)
		count = HUSK_NET_MAX_IFACES;
	struct tap_ctx tc = { .n = n, .count = count };
	r = husk_in_netns(n->netns_fd, make_taps, &tc, err);
	if (r < 0) {
		if (!husk_err_is_set(err))
			husk_err_sys(err, -r, "creating a tap in %s (is /dev/net/tun there?)", n->path);
		goto fail;
	}
	/* the NICs found now get their own MAC; spares a local one that the
	 * guest replaces once they are used */
	for (unsigned i = 0; i < count; i++)
		if (i < n_found)
			memcpy(n->taps[i].dev_mac, found[i].mac, 6);
		else
			spare_mac(n->taps[i].dev_mac, i);
	if ((r = wire(n, &nl, found, n_found, out, err)) < 0)
		goto fail;
	husk_nl_close(&nl);
	return 0;
fail:
	husk_nl_close(&nl);
	setup_undo(n);
	return r;
}

int husk_net_pool_taps(struct husk_net *n, unsigned count, struct husk_err *err)
{
	memset(n, 0, sizeof *n);
	for (unsigned i = 0; i < HUSK_NET_MAX_IFACES; i++)
		n->taps[i].fd = -1;
	snprintf(n->path, sizeof n->path, "/proc/self/ns/net");
	n->netns_fd = open(n->path, O_RDONLY | O_CLOEXEC);
	if (n->netns_fd < 0)
		return husk_err_sys(err, errno, "opening %s", n->path);
	struct tap_ctx tc = { .n = n, .count = count < HUSK_NET_MAX_IFACES ? count : HUSK_NET_MAX_IFACES };
	int r = make_taps(&tc);
	for (unsigned i = 0; i < n->n_taps; i++)
		spare_mac(n->taps[i].dev_mac, i);
	if (r < 0) {
		husk_net_close_taps(n);
		close(n->netns_fd);
		n->netns_fd = -1;
		return husk_err_sys(err, -r, "creating a tap (is /dev/net/tun there?)");
	}
	return 0;
}

/* The taps into n's netns (from the netns of pool_nl), by the ifindex
 * they have there, which must still be the named tap; then found by name
 * in n's netns (the ifindex may change on the way). */
static int move_taps(struct husk_net *n, struct husk_nl *pool_nl, struct husk_nl *nl, const struct husk_net_tap *taps,
		     unsigned n_taps, struct husk_err *err)
{
	struct husk_net_found found[HUSK_NET_MAX_IFACES * 2];
	unsigned n_found = 0;
	int r = husk_net_list_links(pool_nl, found, HUSK_NET_MAX_IFACES * 2, &n_found, err);
	for (unsigned i = 0; r == 0 && i < n_taps; i++) {
		unsigned k = 0;
		while (k < n_found && (found[k].ifindex != taps[i].ifindex || strcmp(found[k].name, taps[i].name)))
			k++;
		if (k == n_found)
			return husk_err_set(err, ENODEV, "the pool VM has no tap %s (#%d)", taps[i].name,
					    taps[i].ifindex);
		if ((r = husk_link_move(pool_nl, taps[i].ifindex, n->netns_fd)) < 0)
			return husk_err_sys(err, -r, "moving tap %s into %s", taps[i].name, n->path);
		n->taps[i] = taps[i];
		n->taps[i].fd = -1; /* QEMU holds it */
		n->taps[i].ifindex = -1;
		n->n_taps = i + 1;
	}
	if (r < 0 || (r = husk_net_list_links(nl, found, HUSK_NET_MAX_IFACES * 2, &n_found, err)) < 0)
		return r;
	for (unsigned i = 0; i < n->n_taps; i++) {
		for (unsigned k = 0; k < n_found; k++)
			if (!strcmp(found[k].name, n->taps[i].name))
				n->taps[i].ifindex = found[k].ifindex;
		if (n->taps[i].ifindex < 0)
			return husk_err_set(err, ENODEV, "tap %s is not in %s after the move", n->taps[i].name,
					    n->path);
	}
	return 0;
}

int husk_net_adopt(struct husk_net *n, int pool_netns_fd, const struct husk_net_tap *taps, unsigned n_taps,
		   struct husk_network *out, struct husk_err *err)
{
	struct husk_net_found found[HUSK_NET_MAX_IFACES];
	unsigned n_found = 0;
	struct husk_nl nl = { 0 }, pool_nl = { 0 };
	int r;

	memset(out, 0, sizeof *out);
	if (n->netns_fd < 0)
		return 0;
	if ((r = husk_nl_open(&nl, n->netns_fd, err)) < 0 || (r = links_to_join(n, &nl, found, &n_found, err)) < 0)
		goto fail;
	if (n_found > n_taps) {
		r = husk_err_set(err, E2BIG, "network namespace %s has %u interfaces, the pool VM %u NICs", n->path,
				 n_found, n_taps);
		goto fail;
	}
	if ((r = husk_nl_open(&pool_nl, pool_netns_fd, err)) < 0 ||
	    (r = move_taps(n, &pool_nl, &nl, taps, n_taps, err)) < 0 ||
	    (r = wire(n, &nl, found, n_found, out, err)) < 0)
		goto fail;
	husk_nl_close(&pool_nl);
	husk_nl_close(&nl);
	return 0;
fail:
	husk_nl_close(&pool_nl);
	husk_nl_close(&nl);
	setup_undo(n);
	return r;
}

static int rescan(struct husk_net *n, struct husk_network *added, struct husk_err *err)
{
	struct husk_net_found found[HUSK_NET_MAX_IFACES * 2];
	unsigned n_found = 0;
	struct husk_nl nl = { 0 };
	int r;
	if ((r = husk_nl_open(&nl, n->netns_fd, err)) < 0)
		return r;
	if ((r = husk_net_list_links(&nl, found, HUSK_NET_MAX_IFACES * 2, &n_found, err)) < 0)
		goto out;
	for (unsigned k = 0; k < n_found; k++) {
		const struct husk_net_found *f = &found[k];
		if (is_our_tap(n, f->ifindex) || is_linked(n, f->ifindex) ||
		    !strncmp(f->name, HUSK_NET_TAP_PREFIX, strlen(HUSK_NET_TAP_PREFIX)))
			continue;
		unsigned i = 0;
		while (i < n->n_taps && n->taps[i].used)
			i++;
		if (i == n->n_taps) {
			r = husk_err_set(
				err, ENOSPC,
				"interface %s appeared in network namespace %s after create, and the VM has no "
				"spare NIC left for it (annotation io.husk.net.spare_nics, default %u)",
				f->name, n->path, HUSK_NET_SPARES_DEFAULT);
			goto out;
		}
		if ((r = join(&nl, n, i, f, &added->ifaces[added->n_ifaces], err)) < 0)
			goto out;
		added->n_ifaces++;
	}
	r = husk_network_validate(added, err);
out:
	husk_nl_close(&nl);
	return r;
}

/* Opens the recorded netns again, if it is still the same one. */
static int reopen(struct husk_net *n)
{
	struct stat st;
	n->netns_fd = open(n->path, O_RDONLY | O_CLOEXEC);
	if (n->netns_fd < 0)
		return -errno;
	if (fstat(n->netns_fd, &st) < 0 || st.st_dev != n->dev || st.st_ino != n->ino) {
		/* gone, and the path reused: its interfaces went with it */
		close(n->netns_fd);
		n->netns_fd = -1;
		return -ESTALE;
	}
	return 0;
}

int husk_net_start_body(const char *state_dir, struct husk_network *added, struct husk_err *err)
{
	struct husk_net n;
	struct husk_err rerr = { 0 };
	memset(added, 0, sizeof *added);
	if (record_read(state_dir, &n, &rerr) < 0)
		return rerr.code == ENOENT ? 0 : husk_err_set(err, rerr.code, "%s", rerr.msg);
	if (reopen(&n) < 0)
		return husk_err_set(err, ENOENT, "the container's network namespace %s is gone", n.path);
	int r = rescan(&n, added, err);
	close(n.netns_fd);
	return r;
}

int husk_net_teardown(struct husk_net *n)
{
	struct husk_nl nl;
	struct husk_err err = { 0 };
	if (n->n_taps == 0 || n->netns_fd < 0)
		return 0;
	if (husk_nl_open(&nl, n->netns_fd, &err) < 0) {
		log_warn("network teardown: %s", err.msg);
		return -1;
	}
	struct husk_net_found found[HUSK_NET_MAX_IFACES * 2];
	unsigned n_found = 0;
	if (husk_net_list_links(&nl, found, HUSK_NET_MAX_IFACES * 2, &n_found, &err) < 0)
		n_found = 0;
	for (unsigned i = 0; i < n->n_taps; i++) {
		struct husk_net_tap *t = &n->taps[i];
		if (t->used)
			husk_tc_unredirect(&nl, n->links[i].ifindex);
		/* taps vanish with the last fd; one still there (QEMU alive?) goes */
		for (unsigned k = 0; k < n_found; k++)
			if (found[k].ifindex == t->ifindex && !strcmp(found[k].name, t->name) && t->fd < 0)
				husk_link_del(&nl, t->ifindex);
	}
	husk_nl_close(&nl);
	return 0;
}

void husk_net_cleanup_dir(const char *state_dir)
{
	struct husk_net n;
	struct husk_err err = { 0 };
	char path[PATH_MAX];
	if (record_read(state_dir, &n, &err) < 0) {
		if (err.code != ENOENT)
			log_warn("network teardown: %s", err.msg);
		return;
	}
	int r = reopen(&n);
	if (r == 0) {
		r = husk_net_teardown(&n);
		close(n.netns_fd);
	}
	if (r < 0 && r != -ENOENT && r != -ESTALE)
		return; /* kept for the next try (delete) */
	snprintf(path, sizeof path, "%s/" NET_JSON, state_dir);
	unlink(path);
}
