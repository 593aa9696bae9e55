/* The bundle's config.json (OCI runtime spec), read and validated on the
 * host and turned into the guest's CREATE message. */
#ifndef HUSK_HOST_SPEC_H
#define HUSK_HOST_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/msg.h"

#define HUSK_SPEC_MAX_BYTES (16u << 20)
#define HUSK_SPEC_HOLD_ANNOTATION "io.husk.sandbox.hold"

struct husk_spec {
	json_t *json; /* the whole document */
	char *bundle; /* absolute bundle directory */
	char *rootfs; /* absolute root.path */
	bool readonly;
	/* annotation io.husk.rootfs.overlay_mib (sandboxes): the guest writes
	 * to an overlay over the rootfs, its upper a tmpfs of this many MiB;
	 * the host stages the rootfs read-only. 0: none */
	uint32_t overlay_mib;
	/* annotation io.husk.sandbox.hold = "true" (sandbox start): the
	 * container's init runs nothing and waits to be killed (CREATE's
	 * hold); only in a spec husk wrote itself */
	bool hold;
	const char *hostname;
	struct husk_process_spec process; /* strings point into json */
	/* linux.resources (host/spec_resources.c), NULL when none */
	struct husk_resources *resources;
	/* container-wide settings for CREATE (host/spec_container.c) */
	struct husk_container_config *container;
	/* sd_notify (host/spec/spec_notify.c): the host socket that gets the
	 * container's notifications and where the container sees its own;
	 * both NULL when nothing is relayed */
	char *notify_host;      /* a path, or "@name" for an abstract socket */
	char *notify_container; /* a clean absolute path in the container */
	char *notify_env;       /* the NOTIFY_SOCKET= entry added to process.env, or NULL */
};

/* How big the container's VM is (host/spec/vm_size.c): annotations, then
 * the config file, then the pod's size (a sandbox's, below) or
 * linux.resources, then the defaults. */
struct husk_config;
/* A pod's sandbox container (io.kubernetes.cri.container-type or
 * io.kubernetes.cri-o.ContainerType "sandbox") carries the whole pod's
 * resources in annotations (containerd writes "0" for what is not set):
 * io.kubernetes.cri.sandbox-memory (bytes), -cpu-quota, -cpu-period (µs),
 * -cpu-shares. Each field 0 when not given or not a sandbox. */
struct husk_pod_size {
	bool sandbox;
	int64_t memory;
	int64_t cpu_quota; /* > 0, else 0 (-1 = no quota = not given) */
	uint64_t cpu_period;
	uint64_t cpu_shares;
};
/* A malformed value: one line naming the key. */
int husk_pod_size(const struct husk_spec *spec, struct husk_pod_size *out, struct husk_err *err);
/* The io.husk.* annotations that change the VM (memory, vCPUs, accel,
 * kernel parameters, spare NICs) are refused unless the config file's
 * [security] allowed_annotations lists them: one line naming the key. */
int husk_vm_annotations_check(const struct husk_config *cfg, const struct husk_spec *spec, struct husk_err *err);
int husk_vm_size(const struct husk_config *cfg, const struct husk_spec *spec, long *memory_mib, int *vcpus,
		 struct husk_err *err);
/* A memory limit or cpuset.cpus a booted VM of vm_memory_mib MiB and
 * vm_vcpus vCPUs cannot hold (0: unknown, not checked): -EINVAL and one line,
 * the VM does not grow. update checks it, and so does the create of a pod's
 * member (the pod's VM is booted). res may be NULL. */
int husk_resources_fit_vm(const struct husk_resources *res, long vm_memory_mib, int vm_vcpus, struct husk_err *err);
/* io.husk.vm.accel (auto|kvm|tcg) and io.husk.vm.kernel_params (appended to
 * the config file's kernel_params; a safe character set only) */
int husk_vm_annotations(const struct husk_config *cfg, const struct husk_spec *spec, const char **accel, char *params,
			size_t params_cap, struct husk_err *err);

/* The rootfs as the share holds it: read-only for root.readonly and for
 * an overlay (the guest writes to the overlay's upper, never to it). */
static inline bool husk_spec_rootfs_staged_ro(const struct husk_spec *spec)
{
	return spec->readonly || spec->overlay_mib != 0;
}

/* Reads BUNDLE/config.json. On failure err says what is wrong, one line. */
int husk_spec_load(struct husk_spec *spec, const char *bundle, struct husk_err *err);
/* Parses an already-read document (unit tests, exec --process later). */
int husk_spec_parse(struct husk_spec *spec, const char *bundle_abs, const char *text, size_t len, struct husk_err *err);
int husk_spec_parse_process(json_t *process, struct husk_process_spec *out, struct husk_err *err);
void husk_spec_free(struct husk_spec *spec);

/* host/spec_resources.c: a LinuxResources JSON object (config.json's
 * linux.resources, or `update --resources`); *out is NULL when nothing is set. */
struct husk_resources;
int husk_resources_from_json(json_t *res, struct husk_resources **out, struct husk_err *err);
/* a container without device rules gets runc's default ones (not update) */
int husk_resources_add_default_devices(struct husk_resources **res, struct husk_err *err);
void husk_resources_free(struct husk_resources *r);
/* A cpu or node list ("0-3,5") into its highest number; -EINVAL when it is
 * not one (a range backwards, an empty part, more than 5 digits). */
int husk_cpulist_highest(const char *list, long *highest);

/* host/spec_security.c: process.{rlimits, capabilities, noNewPrivileges,
 * oomScoreAdj, user.umask} and linux.seccomp (root may be NULL) into
 * out->security. */
int husk_spec_parse_security(json_t *process, json_t *root, struct husk_process_spec *out, struct husk_err *err);
void husk_spec_free_security(struct husk_process_spec *p);
/* host/spec_container.c: mounts, linux.{maskedPaths, readonlyPaths,
 * rootfsPropagation, sysctl, devices}, domainname into spec->container. */
int husk_spec_parse_container(struct husk_spec *spec, struct husk_err *err);
/* host/spec_namespaces.c: linux.{namespaces, uidMappings, gidMappings}
 * into c (after its domainname); lx may be NULL. */
int husk_spec_parse_namespaces(json_t *lx, const char *hostname, struct husk_container_config *c, struct husk_err *err);
/* The namespace kinds a container can join by path (another husk
 * container's, in the same VM): pid, ipc, uts, cgroup, indexes of
 * husk_container_config.ns_path; -1 for any other type. */
#define HUSK_NS_JOIN_KINDS 4u
int husk_ns_join_index(const char *type);
const char *husk_ns_join_name(int index);
/* The one-line refusal of a path naming a host namespace (-EINVAL). */
int husk_ns_host_path_error(const char *type, const char *path, struct husk_err *err);
void husk_spec_free_container(struct husk_spec *spec);

/* host/spec/spec_notify.c: sd_notify at create. env_notify is husk's own
 * NOTIFY_SOCKET (NULL or empty: none). runc's way when it is set: the
 * container gets a socket at /run/notify/notify.sock and NOTIFY_SOCKET
 * pointing there, and its notifications go to env_notify. Else Podman's
 * (--sdnotify=container): process.env names NOTIFY_SOCKET and a bind mount
 * brings a host unix socket there (conmon's); a file bind of it is taken
 * out of the mounts (a host socket cannot cross virtio-fs) and the guest
 * serves that path instead. Fills spec->notify_*. */
#define HUSK_NOTIFY_RUNC_PATH "/run/notify/notify.sock"
int husk_spec_notify_setup(struct husk_spec *spec, const char *env_notify, struct husk_err *err);
void husk_spec_notify_free(struct husk_spec *spec);

#endif
