/* How big a container's VM is: annotations io.husk.vm.memory_mib and
 * io.husk.vm.vcpus first, then the config file (when it sets a value), then
 * what a pod's sandbox annotations or else linux.resources ask for (memory
 * limit + overhead, vCPUs from the CPU quota), then the defaults; and
 * always enough vCPUs for cpuset.cpus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/escape.h"
#include "proto/msg_resources.h"
#include "host/spec/spec.h"
#include "host/state/config.h"

/* every io.husk.* annotation that changes the VM: honoured only when the
 * config file's [security] allowed_annotations lists it, as Kata does */
static const char *const vm_annotations[] = {
	"io.husk.vm.memory_mib",    "io.husk.vm.vcpus",       "io.husk.vm.accel",
	"io.husk.vm.kernel_params", "io.husk.net.spare_nics",
};

int husk_vm_annotations_check(const struct husk_config *cfg, const struct husk_spec *spec, struct husk_err *err)
{
	json_t *ann = json_object_get(spec->json, "annotations");
	for (size_t i = 0; i < sizeof vm_annotations / sizeof vm_annotations[0]; i++) {
		const char *key = vm_annotations[i];
		if (json_object_get(ann, key) && !husk_config_annotation_allowed(cfg, key))
			return husk_err_set(err, EPERM,
					    "annotation %s is not allowed: list it in [security] allowed_annotations "
					    "of %s (or HUSK_ALLOWED_ANNOTATIONS)",
					    key, cfg->path);
	}
	return 0;
}

#define VM_MEMORY_OVERHEAD_MIB 96 /* guest kernel, husk-init, page cache for the rootfs */
#define VM_MEMORY_MIN_MIB 128
#define VM_VCPUS_MAX 64 /* the guest kernel's CONFIG_NR_CPUS */

static long annotation_long(json_t *spec, const char *key, long min, long max, struct husk_err *err, int *r)
{
	json_t *v = json_object_get(json_object_get(spec, "annotations"), key);
	*r = 0;
	if (!v)
		return 0;
	char *end;
	const char *s = json_string_value(v);
	long n = s ? strtol(s, &end, 10) : 0;
	if (!s || end == s || *end || n < min || n > max) {
		*r = husk_err_set(err, EINVAL, "annotation %s must be a number from %ld to %ld", key, min, max);
		return 0;
	}
	return n;
}

/* --- a pod's size -------------------------------------------------------- */

#define POD_ANN "io.kubernetes.cri."

static bool is_sandbox(json_t *ann)
{
	const char *cri = json_string_value(json_object_get(ann, POD_ANN "container-type"));
	const char *crio = json_string_value(json_object_get(ann, "io.kubernetes.cri-o.ContainerType"));
	return (cri && !strcmp(cri, "sandbox")) || (crio && !strcmp(crio, "sandbox"));
}

/* POD_ANN<name> as an integer from min to max; absent: 0 */
static int pod_number(json_t *ann, const char *name, long long min, long long max, long long *out, struct husk_err *err)
{
	char key[64], shown[64];
	snprintf(key, sizeof key, POD_ANN "%s", name);
	json_t *v = json_object_get(ann, key);
	*out = 0;
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	char *end = NULL;
	errno = 0;
	long long n = s ? strtoll(s, &end, 10) : 0;
	if (s && end != s && !*end && !errno && n >= min && n <= max) {
		*out = n;
		return 0;
	}
	husk_escape_str(shown, sizeof shown, s ? s : "(not a string)", 0);
	return husk_err_set(err, EINVAL, "annotation %s must be a number from %lld to %lld, not \"%s\"", key, min, max,
			    shown);
}

int husk_pod_size(const struct husk_spec *spec, struct husk_pod_size *out, struct husk_err *err)
{
	json_t *ann = json_object_get(spec->json, "annotations");
	long long mem, quota, period, shares;
	int r;
	memset(out, 0, sizeof *out);
	if (!is_sandbox(ann))
		return 0;
	out->sandbox = true;
	/* 0: not set (containerd); quota -1: none, as in cgroups; the period
	 * within the kernel's CFS bounds */
	if ((r = pod_number(ann, "sandbox-memory", 0, 1ll << 50, &mem, err)) < 0 ||
	    (r = pod_number(ann, "sandbox-cpu-quota", -1, 1ll << 40, &quota, err)) < 0 ||
	    (r = pod_number(ann, "sandbox-cpu-period", 0, 1000000, &period, err)) < 0 ||
	    (r = pod_number(ann, "sandbox-cpu-shares", 0, 262144, &shares, err)) < 0)
		return r;
	if (period && period < 1000)
		return husk_err_set(err, EINVAL,
				    "annotation " POD_ANN "sandbox-cpu-period must be 0 or from 1000 to "
				    "1000000 microseconds");
	out->memory = mem;
	out->cpu_quota = quota > 0 ? quota : 0;
	out->cpu_period = (uint64_t)period;
	out->cpu_shares = (uint64_t)shares;
	return 0;
}

/* --- the VM's size ------------------------------------------------------- */

/* linux.resources.cpu.cpus names the guest's CPUs: the VM has at least
 * as many vCPUs as the highest one named needs (runc's "0-1" on a 1-vCPU VM
 * would be ERANGE in the guest). An annotation that asks for fewer is an
 * error, not overridden. */
static int cover_cpuset(const struct husk_resources *res, bool from_annotation, int *vcpus, struct husk_err *err)
{
	long highest;
	if (!res || !res->cpuset_cpus || husk_cpulist_highest(res->cpuset_cpus, &highest) < 0)
		return 0;
	if (highest >= VM_VCPUS_MAX)
		return husk_err_set(err, EINVAL,
				    "linux.resources.cpu.cpus \"%s\" names CPU %ld: a VM has at most %d vCPUs",
				    res->cpuset_cpus, highest, VM_VCPUS_MAX);
	if (highest < *vcpus)
		return 0;
	if (from_annotation)
		return husk_err_set(err, EINVAL,
				    "annotation io.husk.vm.vcpus is %d but linux.resources.cpu.cpus \"%s\" needs %ld",
				    *vcpus, res->cpuset_cpus, highest + 1);
	*vcpus = (int)highest + 1;
	return 0;
}

int husk_vm_size(const struct husk_config *cfg, const struct husk_spec *spec, long *memory_mib, int *vcpus,
		 struct husk_err *err)
{
	int r;
	const struct husk_resources *res = spec->resources;
	bool mem_from_file = strncmp(cfg->e[CFG_MEMORY_MIB].source, "default", 7) != 0;
	bool cpu_from_file = strncmp(cfg->e[CFG_VCPUS].source, "default", 7) != 0;

	struct husk_pod_size pod;
	if ((r = husk_pod_size(spec, &pod, err)) < 0)
		return r;
	*memory_mib = husk_config_get_long(cfg, CFG_MEMORY_MIB);
	*vcpus = (int)husk_config_get_long(cfg, CFG_VCPUS);
	/* a pod's sandbox: the pod's memory and CPUs, not its pause process's */
	int64_t limit = pod.memory > 0 ? pod.memory : res && res->has_memory_limit ? res->memory_limit : 0;
	if (!mem_from_file && limit > 0) {
		long need = (long)(limit >> 20) + VM_MEMORY_OVERHEAD_MIB;
		*memory_mib = need < VM_MEMORY_MIN_MIB ? VM_MEMORY_MIN_MIB : need;
	}
	int64_t quota = pod.cpu_quota > 0 ? pod.cpu_quota : res && res->has_cpu_quota ? res->cpu_quota : 0;
	if (!cpu_from_file && quota > 0) {
		long period = pod.cpu_quota > 0     ? (long)pod.cpu_period
			      : res->has_cpu_period ? (long)res->cpu_period
						    : 0;
		if (period <= 0)
			period = 100000;
		long n = (long)((quota + period - 1) / period);
		long host = sysconf(_SC_NPROCESSORS_ONLN);
		if (host > 0 && n > host)
			n = host;
		*vcpus = n < 1 ? 1 : (int)n;
	}
	long m = annotation_long(spec->json, "io.husk.vm.memory_mib", 64, 1 << 20, err, &r);
	if (r < 0)
		return r;
	if (m)
		*memory_mib = m;
	long c = annotation_long(spec->json, "io.husk.vm.vcpus", 1, VM_VCPUS_MAX, err, &r);
	if (r < 0)
		return r;
	if (c)
		*vcpus = (int)c;
	return cover_cpuset(res, c != 0, vcpus, err);
}

/* --- what a booted VM holds ---------------------------------------------- */

int husk_resources_fit_vm(const struct husk_resources *res, long vm_memory_mib, int vm_vcpus, struct husk_err *err)
{
	if (!res)
		return 0;
	if (res->has_memory_limit && res->memory_limit > 0 && vm_memory_mib > 0 &&
	    (res->memory_limit >> 20) > vm_memory_mib)
		return husk_err_set(
			err, EINVAL,
			"memory limit %lld MiB is larger than the container's VM (%ld MiB), which cannot grow; "
			"size the VM with annotation io.husk.vm.memory_mib at create",
			(long long)(res->memory_limit >> 20), vm_memory_mib);
	long highest;
	if (res->cpuset_cpus && vm_vcpus > 0 && husk_cpulist_highest(res->cpuset_cpus, &highest) == 0 &&
	    highest >= vm_vcpus)
		return husk_err_set(
			err, EINVAL,
			"cpuset.cpus \"%s\" names CPU %ld, but the container's VM has %d vCPUs and cannot grow; "
			"name the CPUs in linux.resources.cpu.cpus at create",
			res->cpuset_cpus, highest, vm_vcpus);
	return 0;
}

int husk_vm_annotations(const struct husk_config *cfg, const struct husk_spec *spec, const char **accel, char *params,
			size_t params_cap, struct husk_err *err)
{
	json_t *ann = json_object_get(spec->json, "annotations");
	const char *a = json_string_value(json_object_get(ann, "io.husk.vm.accel"));
	if (a) {
		if (strcmp(a, "auto") && strcmp(a, "kvm") && strcmp(a, "tcg"))
			return husk_err_set(err, EINVAL,
					    "annotation io.husk.vm.accel must be auto, kvm or tcg, not \"%s\"", a);
		*accel = a;
	}
	const char *base = husk_config_get(cfg, CFG_KERNEL_PARAMS);
	const char *extra = json_string_value(json_object_get(ann, "io.husk.vm.kernel_params"));
	if (extra) {
		/* words of letters, digits and = . , _ - : / only: nothing that
		 * could smuggle another QEMU option or a quote */
		for (const char *p = extra; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			      strchr(" =.,_-:/", *p)))
				return husk_err_set(
					err, EINVAL,
					"annotation io.husk.vm.kernel_params has a character that is not allowed");
		if (strlen(extra) > 1024)
			return husk_err_set(err, EINVAL,
					    "annotation io.husk.vm.kernel_params is longer than 1024 bytes");
	}
	snprintf(params, params_cap, "%s%s%s", base, *base && extra ? " " : "", extra ? extra : "");
	return 0;
}
