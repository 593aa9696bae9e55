/* features: the OCI runtime features document (runtime-spec features.md),
 * true to what this husk applies. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "host/cli/cli.h"

int cmd_features(struct husk_globals *g, int argc, char **argv)
{
	if (argc != 1)
		return cli_failf("features: takes no arguments");
	json_t *mount_opts = json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "ro", "rw", "nosuid", "suid", "nodev",
				       "dev", "noexec", "exec", "bind", "rbind", "private", "rprivate", "shared",
				       "rshared", "slave", "rslave", "relatime", "strictatime");
	json_t *seccomp = json_pack("{s:b,s:[s,s,s,s,s,s,s,s],s:[s,s,s,s,s,s,s],s:[s,s,s],s:[s,s,s]}", "enabled", 1,
				    "actions", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
				    "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
				    "SCMP_ACT_LOG", "operators", "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
				    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", "archs",
				    "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "supportedFlags",
				    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
				    "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
	json_t *doc = json_pack(
		"{s:s,s:s,s:[s,s,s,s,s,s],s:o,s:{s:[s,s,s,s,s,s,s,s],s:{s:b,s:b,s:b,s:b,s:b},s:o,s:{s:b},s:{s:b}},s:{s:s,s:s,s:s,s:s}}",
		"ociVersionMin", "1.0.0", "ociVersionMax", "1.1.0", "hooks", "prestart", "createRuntime",
		"createContainer", "startContainer", "poststart", "poststop", "mountOptions", mount_opts, "linux",
		"namespaces", "mount", "pid", "uts", "ipc", "cgroup", "user", "network", "time", "cgroup", "v1", 0,
		"v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 0, "seccomp", seccomp, "apparmor", "enabled", 0,
		"selinux", "enabled", 0, "annotations", "io.husk.vm.memory_mib", "VM memory in MiB", "io.husk.vm.vcpus",
		"VM vCPUs", "io.husk.vm.accel", "auto, kvm or tcg", "io.husk.vm.kernel_params",
		"added to the guest kernel command line");
	if (!doc)
		return cli_failf("out of memory");
	json_dumpf(doc, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(doc);
	return 0;
}
