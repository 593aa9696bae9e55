#include "host/container/pod.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/msg_container.h"
#include "host/state/state.h"

static const char *annotation(const struct husk_spec *spec, const char *key)
{
	json_t *ann = json_object_get(spec->json, "annotations");
	return json_string_value(json_object_get(ann, key));
}

/* A container found in a root: its id, dir, and (member) its sandbox. */
struct found {
	char id[256];
	char dir[PATH_MAX];
	char sandbox[256]; /* "" for a sandbox */
	char sandbox_dir[PATH_MAX];
	uint32_t slot;
};

static bool state_live(const struct husk_state *st)
{
	return !st->exited && husk_pid_ref_alive(&st->monitor);
}

static void found_from_state(struct found *f, const char *dir, const struct husk_state *st)
{
	snprintf(f->id, sizeof f->id, "%s", st->id);
	snprintf(f->dir, sizeof f->dir, "%s", dir);
	snprintf(f->sandbox, sizeof f->sandbox, "%s", st->sandbox);
	snprintf(f->sandbox_dir, sizeof f->sandbox_dir, "%s", st->sandbox_dir);
	f->slot = st->sandbox[0] ? st->slot : 0;
}

/* The live container id under root, then under the default root. */
static bool find_by_id(const char *root, const char *id, struct found *f)
{
	const char *roots[] = { root, HUSK_DEFAULT_ROOT };
	struct husk_err err = { 0 };
	if (husk_id_validate(id, &err) < 0)
		return false;
	for (size_t i = 0; i < 2; i++) {
		char dir[PATH_MAX];
		struct husk_state st;
		if ((size_t)snprintf(dir, sizeof dir, "%s/%s", roots[i], id) >= sizeof dir)
			continue;
		husk_err_clear(&err);
		if (husk_state_read(dir, &st, &err) < 0)
			continue;
		bool live = state_live(&st) && !strcmp(st.id, id);
		if (live)
			found_from_state(f, dir, &st);
		husk_state_free(&st);
		if (live)
			return true;
	}
	return false;
}

/* The live container whose monitor is pid, under root or the default root. */
static bool find_by_monitor(const char *root, pid_t pid, struct found *f)
{
	const char *roots[] = { root, HUSK_DEFAULT_ROOT };
	for (size_t i = 0; i < 2; i++) {
		DIR *d = opendir(roots[i]);
		struct dirent *de;
		bool hit = false;
		while (d && !hit && (de = readdir(d))) {
			char dir[PATH_MAX];
			struct husk_state st;
			struct husk_err err = { 0 };
			if (de->d_name[0] == '.' ||
			    (size_t)snprintf(dir, sizeof dir, "%s/%s", roots[i], de->d_name) >= sizeof dir ||
			    husk_state_read(dir, &st, &err) < 0)
				continue;
			hit = st.monitor.pid == pid && state_live(&st);
			if (hit)
				found_from_state(f, dir, &st);
			husk_state_free(&st);
		}
		if (d)
			closedir(d);
		if (hit)
			return true;
	}
	return false;
}

/* A member found stands for its sandbox: the VM's owner. */
static void vm_of(const struct found *f, const char **id, const char **dir)
{
	*id = f->sandbox[0] ? f->sandbox : f->id;
	*dir = f->sandbox[0] ? f->sandbox_dir : f->dir;
}

/* Rule 1. Sets t->member (and the sandbox) or t->pod_sandbox; nothing when
 * no engine's annotations are there. */
static int resolve_annotations(const char *root, const char *id, const struct husk_spec *spec,
			       struct husk_pod_target *t, struct husk_err *err)
{
	static const struct {
		const char *type_key, *sandbox_key;
	} engines[] = {
		{ "io.kubernetes.cri.container-type", "io.kubernetes.cri.sandbox-id" },
		{ "io.kubernetes.cri-o.ContainerType", "io.kubernetes.cri-o.SandboxID" },
	};
	const char *key = NULL, *sid = NULL;
	for (size_t i = 0; i < sizeof engines / sizeof engines[0] && !key; i++) {
		const char *type = annotation(spec, engines[i].type_key);
		if (!type)
			continue;
		if (!strcmp(type, "sandbox")) {
			t->pod_sandbox = true;
			return 0;
		}
		if (strcmp(type, "container"))
			return husk_err_set(err, EINVAL,
					    "config.json: annotation %s is \"%.64s\", not \"sandbox\" or "
					    "\"container\"",
					    engines[i].type_key, type);
		key = engines[i].sandbox_key;
		if (!(sid = annotation(spec, key)))
			return husk_err_set(err, EINVAL,
					    "config.json: annotation %s is \"container\" but %s is missing",
					    engines[i].type_key, key);
	}
	if (!key) {
		/* Podman >= 4.4 sends the sandbox id alone; the infra's own id is its own VM */
		key = "io.kubernetes.cri-o.SandboxID";
		if (!(sid = annotation(spec, key)))
			return 0;
		if (!strcmp(sid, id)) {
			t->pod_sandbox = true;
			return 0;
		}
	}
	if (!strcmp(sid, id))
		return husk_err_set(err, EINVAL, "config.json: annotation %s names the container itself", key);
	struct found f;
	if (!find_by_id(root, sid, &f))
		return husk_err_set(err, ENOENT,
				    "config.json: annotation %s names sandbox \"%.128s\", which is no running husk "
				    "container",
				    key, sid);
	const char *vm_id, *vm_dir;
	vm_of(&f, &vm_id, &vm_dir);
	t->member = true;
	snprintf(t->sandbox_id, sizeof t->sandbox_id, "%s", vm_id);
	snprintf(t->sandbox_dir, sizeof t->sandbox_dir, "%s", vm_dir);
	snprintf(t->why, sizeof t->why, "annotation %s", key);
	return 0;
}

/* Rule 2 for one kind's path, against what rule 1 (or an earlier path) chose. */
static int resolve_path(const char *root, int kind, const char *path, struct husk_pod_target *t, struct husk_err *err)
{
	const char *name = husk_ns_join_name(kind);
	int pid = 0, end = 0;
	char tail[16];
	struct found f;
	if (sscanf(path, "/proc/%d/ns/%15[a-z]%n", &pid, tail, &end) != 2 || path[end] || pid <= 0 ||
	    strcmp(tail, name) || !find_by_monitor(root, pid, &f))
		return husk_ns_host_path_error(name, path, err);
	const char *vm_id, *vm_dir;
	vm_of(&f, &vm_id, &vm_dir);
	if (t->member && strcmp(t->sandbox_id, vm_id))
		return husk_err_set(err, EINVAL,
				    "config.json: %.200s names the VM of \"%.64s\" but the %s namespace path %.64s is "
				    "in the VM of \"%.64s\"",
				    t->why, t->sandbox_id, name, path, vm_id);
	if (t->pod_sandbox)
		return husk_err_set(err, EINVAL,
				    "config.json: the container is annotated as a pod's sandbox but its %s namespace "
				    "path %.64s is in the VM of \"%.64s\"",
				    name, path, vm_id);
	if (!t->member) {
		t->member = true;
		snprintf(t->sandbox_id, sizeof t->sandbox_id, "%s", vm_id);
		snprintf(t->sandbox_dir, sizeof t->sandbox_dir, "%s", vm_dir);
		snprintf(t->why, sizeof t->why, "the %s namespace path %.200s", name, path);
	}
	t->join_mask |= 1u << kind;
	t->join_slot[kind] = f.slot;
	return 0;
}

/* Rule 2 for the network path: /proc/<pid>/ns/net of a husk monitor (what
 * Docker's --net=container:X hands over) joins that monitor's VM, whose
 * NICs are the network; any other path is a netns for a VM of the
 * container's own (host/net checks it), or a member's pod netns. */
static int resolve_net(const char *root, const char *path, struct husk_pod_target *t, struct husk_err *err)
{
	int pid = 0, end = 0;
	struct found f;
	if (sscanf(path, "/proc/%d/ns/net%n", &pid, &end) != 1 || path[end] || pid <= 0 ||
	    !find_by_monitor(root, pid, &f))
		return 0;
	const char *vm_id, *vm_dir;
	vm_of(&f, &vm_id, &vm_dir);
	if (t->member && strcmp(t->sandbox_id, vm_id))
		return husk_err_set(err, EINVAL,
				    "config.json: %.200s names the VM of \"%.64s\" but the network namespace path "
				    "%.64s is in the VM of \"%.64s\"",
				    t->why, t->sandbox_id, path, vm_id);
	if (t->pod_sandbox)
		return husk_err_set(err, EINVAL,
				    "config.json: the container is annotated as a pod's sandbox but its network "
				    "namespace path %.64s is in the VM of \"%.64s\"",
				    path, vm_id);
	if (!t->member) {
		t->member = true;
		snprintf(t->sandbox_id, sizeof t->sandbox_id, "%s", vm_id);
		snprintf(t->sandbox_dir, sizeof t->sandbox_dir, "%s", vm_dir);
		snprintf(t->why, sizeof t->why, "the network namespace path %.200s", path);
	}
	return 0;
}

int husk_pod_resolve(const char *root, const char *id, const struct husk_spec *spec, struct husk_pod_target *t,
		     struct husk_err *err)
{
	memset(t, 0, sizeof *t);
	int r = resolve_annotations(root, id, spec, t, err);
	if (r < 0)
		return r;
	for (int k = 0; spec->container && k < (int)HUSK_NS_JOIN_KINDS; k++)
		if (spec->container->ns_path[k] && (r = resolve_path(root, k, spec->container->ns_path[k], t, err)) < 0)
			return r;
	if (spec->container && spec->container->netns_path)
		return resolve_net(root, spec->container->netns_path, t, err);
	return 0;
}
