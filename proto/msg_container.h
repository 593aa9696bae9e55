/* Container-wide configuration carried in CREATE: mounts, masked and
 * read-only paths, propagation, sysctl, devices, domainname, the
 * namespaces to create and the user namespace's id mappings.
 *
 * Mount options are resolved on the host into mount(2) flags, propagation
 * flags and a data string; the guest accepts only the flags listed in
 * HUSK_MOUNT_FLAGS_ALLOWED / HUSK_MOUNT_PROP_ALLOWED. A bind mount carries
 * no host path: its source is entry N of the shared staging directory
 * (virtio-fs tag "vfs", mounts/N in it). */
#ifndef HUSK_PROTO_MSG_CONTAINER_H
#define HUSK_PROTO_MSG_CONTAINER_H

#include <sys/mount.h>
#include <linux/mount.h>

#include "proto/msg.h"

#define HUSK_MAX_MOUNTS 256u
#define HUSK_MAX_PATHS 256u /* maskedPaths, readonlyPaths each */
#define HUSK_MAX_SYSCTL 256u
#define HUSK_MAX_DEVICES 256u
#define HUSK_MAX_PATH 4096u
#define HUSK_MAX_MOUNT_DATA 4096u
#define HUSK_MAX_SYSCTL_VALUE 4096u
#define HUSK_MAX_ID_MAPS 16u /* uidMappings, gidMappings each */

/* The namespaces the guest creates for the container (linux.namespaces
 * entries without a path). A network namespace is never created: the VM's
 * own network is the container's (the VM boundary is the isolation). */
#define HUSK_NS_MOUNT (1u << 0)
#define HUSK_NS_PID (1u << 1)
#define HUSK_NS_UTS (1u << 2)
#define HUSK_NS_IPC (1u << 3)
#define HUSK_NS_CGROUP (1u << 4)
#define HUSK_NS_USER (1u << 5)
#define HUSK_NS_TIME (1u << 6)
#define HUSK_NS_ALL ((1u << 7) - 1)
/* a CREATE without container config: what husk always did */
#define HUSK_NS_DEFAULT (HUSK_NS_MOUNT | HUSK_NS_PID | HUSK_NS_UTS | HUSK_NS_IPC)

#define HUSK_MOUNT_FLAGS_ALLOWED                                                                                       \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_DIRSYNC | MS_NOATIME | MS_NODIRATIME |     \
	 MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME | MS_MANDLOCK | MS_BIND | MS_REC | MS_SILENT)
#define HUSK_MOUNT_PROP_ALLOWED (MS_PRIVATE | MS_SHARED | MS_SLAVE | MS_UNBINDABLE | MS_REC)
/* The recursive mount attributes (the spec's rro, rnosuid, ..., applied by
 * mount_setattr(2) with AT_RECURSIVE after the mount): no idmapping. */
#define HUSK_MOUNT_ATTR_ALLOWED                                                                                        \
	(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR__ATIME |            \
	 MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)

struct husk_mount {
	char *destination; /* absolute, no ".." components */
	char *type;        /* file system type; NULL for a bind mount */
	char *source;      /* non-bind: the source label ("proc", "tmpfs"...) */
	bool bind;
	bool bind_dir;        /* bind: the source is a directory (else a file) */
	uint32_t bind_index;  /* bind: mounts/<bind_index> of the staging dir */
	uint64_t flags;       /* MS_* within HUSK_MOUNT_FLAGS_ALLOWED */
	uint64_t propagation; /* MS_* within HUSK_MOUNT_PROP_ALLOWED, 0 for none */
	char *data;           /* may be NULL */
	/* recursive attributes (MOUNT_ATTR_*, see husk_mount_attr_problem):
	 * set and cleared on the whole tree after the mount; both 0 for none */
	uint64_t rattr_set, rattr_clr;
	/* host only (not coded): the resolved bind source */
	char *host_source;
};

struct husk_sysctl {
	char *key; /* dotted or slashed; no ".." or empty components */
	char *value;
};

struct husk_device {
	char *path; /* absolute, no ".." */
	char type;  /* 'c', 'b' or 'p' */
	uint32_t major, minor;
	uint32_t mode; /* permission bits (07777) */
	uint32_t uid, gid;
};

/* One line of /proc/PID/uid_map or gid_map. */
struct husk_id_map {
	uint32_t container_id, host_id, size;
};

struct husk_container_config {
	struct husk_mount *mounts;
	uint32_t n_mounts;
	char **masked;
	uint32_t n_masked;
	char **readonly_paths;
	uint32_t n_readonly;
	uint64_t rootfs_propagation; /* 0: leave the default */
	struct husk_sysctl *sysctl;
	uint32_t n_sysctl;
	struct husk_device *devices;
	uint32_t n_devices;
	char *domainname;    /* may be NULL */
	uint32_t namespaces; /* HUSK_NS_*, HUSK_NS_MOUNT always set */
	struct husk_id_map uid_maps[HUSK_MAX_ID_MAPS];
	uint32_t n_uid_maps;
	struct husk_id_map gid_maps[HUSK_MAX_ID_MAPS];
	uint32_t n_gid_maps;
	/* host only (not coded): linux.namespaces network path, may be NULL */
	char *netns_path;
	/* host only (not coded): linux.namespaces paths of the pid, ipc, uts
	 * and cgroup namespaces (host/spec/spec.h husk_ns_join_index()), NULL
	 * when none; host/container/pod.c resolves them */
	char *ns_path[4];
};

void husk_msg_encode_container(struct husk_cbor_enc *e, const struct husk_container_config *c);
int husk_msg_decode_container(const struct husk_cbor_item *map, struct husk_arena *a, struct husk_container_config *out,
			      struct husk_err *err);

/* Shared checks (host parse and guest decode): an absolute path of at most
 * HUSK_MAX_PATH bytes without "." or ".." components; a sysctl key. */
bool husk_path_is_clean_abs(const char *p);
bool husk_sysctl_key_valid(const char *k);
/* The namespace set and id mappings: NULL when consistent, else what is
 * wrong (a static string). */
const char *husk_namespaces_problem(const struct husk_container_config *c);
/* Pods: the joins of container ctr that creates the namespaces HUSK_NS_*
 * namespaces (NULL when good, else what is wrong, a static string): only
 * pid/ipc/uts/cgroup, none also created, none with a user namespace of
 * its own, slots in range and not ctr itself. Whether the slots hold live
 * containers is the guest's check. */
const char *husk_join_problem(uint32_t ctr, const struct husk_ns_join *j, uint32_t namespaces);
/* A recursive attribute pair mount_setattr(2) accepts: bits within
 * HUSK_MOUNT_ATTR_ALLOWED, none both set and cleared, and an access-time
 * mode only with all of MOUNT_ATTR__ATIME cleared. NULL when good, else
 * what is wrong (a static string). */
const char *husk_mount_attr_problem(uint64_t set, uint64_t clr);

#endif
