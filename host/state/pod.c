#include "host/state/pod.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/state/fsutil.h"
#include "host/state/state.h"

int husk_pod_lock(const char *sandbox_dir, struct husk_err *err)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/pod.lock", sandbox_dir) >= sizeof path)
		return husk_err_set(err, ENAMETOOLONG, "pod lock path in %s is too long", sandbox_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return husk_err_sys(err, errno, "opening %s", path);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return husk_err_sys(err, e, "locking %s", path);
	}
	return fd;
}

int husk_pod_find(const struct husk_pod *p, const char *id)
{
	for (uint32_t i = 0; i < p->n; i++)
		if (!strcmp(p->members[i].id, id))
			return (int)p->members[i].slot;
	return -ENOENT;
}

int husk_pod_free_slot(const struct husk_pod *p)
{
	for (uint32_t slot = 1; slot < HUSK_POD_MAX; slot++) {
		bool used = false;
		for (uint32_t i = 0; i < p->n && !used; i++)
			used = p->members[i].slot == slot;
		if (!used)
			return (int)slot;
	}
	return -ENOSPC;
}

int husk_pod_add(struct husk_pod *p, const char *id, uint32_t slot, struct husk_err *err)
{
	struct husk_err iderr = { 0 };
	if (husk_id_validate(id, &iderr) < 0)
		return husk_err_set(err, EINVAL, "%s", iderr.msg);
	if (slot == 0 || slot >= HUSK_POD_MAX)
		return husk_err_set(err, EINVAL, "slot %u is not a member's (1 to %u)", slot, HUSK_POD_MAX - 1);
	if (husk_pod_find(p, id) >= 0)
		return husk_err_set(err, EEXIST, "container \"%s\" is already in the pod", id);
	for (uint32_t i = 0; i < p->n; i++)
		if (p->members[i].slot == slot)
			return husk_err_set(err, EEXIST, "slot %u of the pod is held by \"%s\"", slot,
					    p->members[i].id);
	if (p->n >= HUSK_POD_MAX - 1)
		return husk_err_set(err, ENOSPC, "the pod's VM holds %u containers", HUSK_POD_MAX);
	struct husk_pod_member *m = &p->members[p->n++];
	snprintf(m->id, sizeof m->id, "%s", id);
	m->slot = slot;
	return 0;
}

bool husk_pod_remove(struct husk_pod *p, const char *id)
{
	for (uint32_t i = 0; i < p->n; i++)
		if (!strcmp(p->members[i].id, id)) {
			p->members[i] = p->members[--p->n];
			return true;
		}
	return false;
}

static int pod_path(char *out, size_t cap, const char *sandbox_dir, struct husk_err *err)
{
	if ((size_t)snprintf(out, cap, "%s/pod.json", sandbox_dir) >= cap)
		return husk_err_set(err, ENAMETOOLONG, "pod.json path in %s is too long", sandbox_dir);
	return 0;
}

static int parse_members(json_t *members, const char *path, struct husk_pod *p, struct husk_err *err)
{
	const char *id;
	json_t *v;
	json_object_foreach(members, id, v)
	{
		json_int_t slot = json_is_integer(v) ? json_integer_value(v) : -1;
		if (slot < 1 || slot >= (json_int_t)HUSK_POD_MAX)
			return husk_err_set(err, EBADMSG, "%s is corrupt: member \"%.64s\" has no slot from 1 to %u",
					    path, id, HUSK_POD_MAX - 1);
		int r = husk_pod_add(p, id, (uint32_t)slot, err);
		if (r < 0)
			return husk_err_wrap(err, "%s is corrupt", path);
	}
	return 0;
}

int husk_pod_read(const char *sandbox_dir, struct husk_pod *p, struct husk_err *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	size_t len;
	json_error_t jerr;
	memset(p, 0, sizeof *p);
	int r = pod_path(path, sizeof path, sandbox_dir, err);
	if (r < 0)
		return r;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	if ((r = read_file(path, 64u << 10, &text, &len, err)) < 0)
		return r;
	json_t *j = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return husk_err_set(err, EBADMSG, "%s is corrupt: %s", path, j ? "not an object" : jerr.text);
	}
	p->closing = json_is_true(json_object_get(j, "closing"));
	json_t *members = json_object_get(j, "members");
	if (members && !json_is_object(members))
		r = husk_err_set(err, EBADMSG, "%s is corrupt: \"members\" is not an object", path);
	else if (members)
		r = parse_members(members, path, p, err);
	json_decref(j);
	return r;
}

int husk_pod_write(const char *sandbox_dir, const struct husk_pod *p, struct husk_err *err)
{
	char path[PATH_MAX];
	int r = pod_path(path, sizeof path, sandbox_dir, err);
	if (r < 0)
		return r;
	json_t *members = json_object();
	json_t *j = members ? json_pack("{s:b,s:o}", "closing", p->closing, "members", members) : NULL;
	if (!j)
		return husk_err_set(err, ENOMEM, "building pod.json");
	for (uint32_t i = 0; i < p->n; i++)
		json_object_set_new(members, p->members[i].id, json_integer(p->members[i].slot));
	_cleanup_free_ char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!text)
		return husk_err_set(err, ENOMEM, "serialising pod.json");
	return write_file_atomic(path, text, strlen(text), 0600, err);
}
