/* The spec of a sandbox job: runc's defaults for a CI job (its default
 * capabilities, proc, a tmpfs /dev, sysfs read-only, masked and read-only
 * paths), no network namespace path (the VM gets no NIC, only lo) unless
 * --net nat made one (host/cli/sandbox_net.c, with its resolv.conf bound
 * read-only at /etc/resolv.conf), /work
 * from --work or a tmpfs as the working directory, the VM's size and the
 * overlay in io.husk.* annotations. The rootfs directory is never written:
 * even with --read-only the guest makes missing mount points in an overlay. */
#include "host/spec/sandbox_spec.h"
#include "host/spec/spec.h"
#include "host/spec/spec_template.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sandbox_caps[] = {
	"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
	"CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
	"CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
	"CAP_KILL",    "CAP_AUDIT_WRITE",
};

bool husk_sandbox_env_valid(const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv || (kv[0] >= '0' && kv[0] <= '9'))
		return false;
	for (const char *p = kv; p < eq; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

unsigned husk_sandbox_overlay_mib(long memory_mib)
{
	long n = memory_mib / 2;
	return n < 1 ? 1 : (unsigned)n;
}

static json_t *strv(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *mounts(const struct husk_sandbox_opts *o)
{
	json_t *ms = json_array();
	husk_spec_base_mounts(ms);
	if (o->resolv_conf && o->resolv_conf[0])
		json_array_append_new(ms, husk_spec_mount_json("/etc/resolv.conf", "bind", o->resolv_conf, "rbind,ro"));
	if (o->read_only)
		json_array_append_new(ms, husk_spec_mount_json("/tmp", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777"));
	if (o->work)
		json_array_append_new(ms, husk_spec_mount_json("/work", "bind", o->work, "rbind,rw"));
	else
		json_array_append_new(ms, husk_spec_mount_json("/work", "tmpfs", "tmpfs", "nosuid,nodev,mode=1777"));
	return ms;
}

static json_t *process(const struct husk_sandbox_opts *o)
{
	json_t *env = json_array();
	json_array_append_new(env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	json_array_append_new(env, json_string("HOME=/root"));
	if (o->terminal)
		json_array_append_new(env, json_string("TERM=xterm"));
	for (size_t i = 0; i < o->n_env; i++)
		json_array_append_new(env, json_string(o->env[i]));
	size_t ncaps = sizeof sandbox_caps / sizeof sandbox_caps[0];
	return json_pack("{s:b,s:{s:i,s:i},s:o,s:o,s:s,s:{s:o,s:o,s:o},s:[{s:s,s:i,s:i}],s:b}", "terminal", o->terminal,
			 "user", "uid", 0, "gid", 0, "args", strv((const char *const *)o->argv, (size_t)o->argc), "env",
			 env, "cwd", "/work", "capabilities", "bounding", strv(sandbox_caps, ncaps), "effective",
			 strv(sandbox_caps, ncaps), "permitted", strv(sandbox_caps, ncaps), "rlimits", "type",
			 "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1);
}

static int check(const struct husk_sandbox_opts *o, struct husk_err *err)
{
	if (o->argc < 1 || !o->argv || !o->argv[0] || !o->argv[0][0])
		return husk_err_set(err, EINVAL, "no command given");
	if (!o->rootfs || o->rootfs[0] != '/')
		return husk_err_set(err, EINVAL, "the rootfs must be an absolute path");
	if (o->resolv_conf && o->resolv_conf[0] && o->resolv_conf[0] != '/')
		return husk_err_set(err, EINVAL, "the resolv.conf must be an absolute path");
	if (o->netns && o->netns[0] != '/')
		return husk_err_set(err, EINVAL, "the network namespace must be an absolute path");
	if (o->work && o->work[0] != '/')
		return husk_err_set(err, EINVAL, "the work directory must be an absolute path");
	if (o->memory_mib < HUSK_SANDBOX_MEMORY_MIN || o->memory_mib > HUSK_SANDBOX_MEMORY_MAX)
		return husk_err_set(err, EINVAL, "memory must be from %d to %d MiB, not %ld", HUSK_SANDBOX_MEMORY_MIN,
				    HUSK_SANDBOX_MEMORY_MAX, o->memory_mib);
	if (o->cpus < 1 || o->cpus > HUSK_SANDBOX_CPUS_MAX)
		return husk_err_set(err, EINVAL, "cpus must be from 1 to %d, not %d", HUSK_SANDBOX_CPUS_MAX, o->cpus);
	if (o->n_env > HUSK_SANDBOX_ENV_MAX)
		return husk_err_set(err, EINVAL, "more than %d --env entries", HUSK_SANDBOX_ENV_MAX);
	for (size_t i = 0; i < o->n_env; i++)
		if (!husk_sandbox_env_valid(o->env[i]))
			return husk_err_set(err, EINVAL, "--env \"%.64s\" is not NAME=VALUE", o->env[i]);
	return 0;
}

int husk_sandbox_spec(const struct husk_sandbox_opts *o, char **out, struct husk_err *err)
{
	int r = check(o, err);
	if (r < 0)
		return r;
	char mem[24], cpus[24], ovl[24];
	snprintf(mem, sizeof mem, "%ld", o->memory_mib);
	snprintf(cpus, sizeof cpus, "%d", o->cpus);
	/* --read-only: the overlay only holds the mount points the rootfs lacks
	 * (/work, /etc/resolv.conf...), the root is read-only on top of it */
	snprintf(ovl, sizeof ovl, "%u",
		 o->read_only ? HUSK_SANDBOX_RO_OVERLAY_MIB : husk_sandbox_overlay_mib(o->memory_mib));
	json_t *ann = json_pack("{s:s,s:s,s:s}", "io.husk.vm.memory_mib", mem, "io.husk.vm.vcpus", cpus,
				"io.husk.rootfs.overlay_mib", ovl);
	if (ann && o->hold)
		json_object_set_new(ann, HUSK_SPEC_HOLD_ANNOTATION, json_string("true"));
	json_t *masked = json_pack("[s,s,s,s,s,s,s,s,s,s]", "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				   "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
				   "/sys/firmware", "/proc/scsi");
	json_t *ro = json_pack("[s,s,s,s,s]", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
	json_t *lx = json_pack("{s:[{s:s},{s:s},{s:s},{s:s}],s:o,s:o}", "namespaces", "type", "pid", "type", "ipc",
			       "type", "uts", "type", "mount", "maskedPaths", masked, "readonlyPaths", ro);
	if (lx && o->netns)
		json_array_append_new(json_object_get(lx, "namespaces"),
				      json_pack("{s:s,s:s}", "type", "network", "path", o->netns));
	json_t *spec = json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o,s:o}", "ociVersion", "1.0.2", "process", process(o),
				 "root", "path", o->rootfs, "readonly", o->read_only, "hostname", "sandbox", "mounts",
				 mounts(o), "linux", lx, "annotations", ann);
	*out = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
	json_decref(spec);
	if (!*out)
		return husk_err_set(err, ENOMEM, "out of memory building the sandbox's spec");
	return 0;
}
