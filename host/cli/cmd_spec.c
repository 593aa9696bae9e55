/* spec: write a default config.json into a bundle, as `runc spec` does:
 * sh on a terminal, runc's default capabilities, mounts and masked paths. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/cli/cli.h"
#include "host/spec/spec_template.h"
#include "host/state/fsutil.h"

static const char *const default_caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE" };

static json_t *caps_array(void)
{
	json_t *a = json_array();
	for (size_t i = 0; i < sizeof default_caps / sizeof default_caps[0]; i++)
		json_array_append_new(a, json_string(default_caps[i]));
	return a;
}

json_t *husk_default_spec(void);
json_t *husk_default_spec(void)
{
	json_t *process = json_pack("{s:b,s:{s:i,s:i},s:[s],s:[s,s],s:s,s:{s:o,s:o,s:o},s:[{s:s,s:i,s:i}],s:b}",
				    "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
				    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
				    "cwd", "/", "capabilities", "bounding", caps_array(), "effective", caps_array(),
				    "permitted", caps_array(), "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft",
				    1024, "noNewPrivileges", 1);
	json_t *mounts = json_array();
	husk_spec_base_mounts(mounts);
	json_array_append_new(mounts, husk_spec_mount_json("/sys/fs/cgroup", "cgroup", "cgroup",
							   "nosuid,noexec,nodev,relatime,ro"));
	json_t *masked = json_pack("[s,s,s,s,s,s,s,s,s,s]", "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				   "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
				   "/sys/firmware", "/proc/scsi");
	json_t *ro = json_pack("[s,s,s,s,s]", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
	json_t *linux_ = json_pack("{s:{},s:[{s:s},{s:s},{s:s},{s:s},{s:s}],s:o,s:o}", "resources", "namespaces",
				   "type", "pid", "type", "network", "type", "ipc", "type", "uts", "type", "mount",
				   "maskedPaths", masked, "readonlyPaths", ro);
	return json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o}", "ociVersion", "1.0.2", "process", process, "root", "path",
			 "rootfs", "readonly", 1, "hostname", "husk", "mounts", mounts, "linux", linux_);
}

int cmd_spec(struct husk_globals *g, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bundle", required_argument, NULL, 'b' },
		{ "rootless", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bundle = ".";
	struct husk_err err = { 0 };
	int c;
	while ((c = getopt_long(argc, argv, "+b:", opts, NULL)) != -1) {
		if (c == 'b')
			bundle = optarg;
		else if (c == 'r')
			return cli_failf(
				"spec: --rootless is not supported (husk runs containers as root in their own VM)");
		else
			return cli_failf("spec: unknown option %s (see husk spec --help)", argv[optind - 1]);
	}
	if (optind != argc)
		return cli_failf("spec: takes no arguments");
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/config.json", bundle) >= (int)sizeof path)
		return cli_failf("spec: bundle path too long");
	if (access(bundle, F_OK) < 0)
		return cli_failf("spec: bundle directory %s does not exist", bundle);
	if (access(path, F_OK) == 0)
		return cli_failf("spec: %s exists; remove it first", path);
	json_t *spec = husk_default_spec();
	char *text = spec ? json_dumps(spec, JSON_INDENT(2)) : NULL;
	json_decref(spec);
	if (!text)
		return cli_failf("out of memory");
	size_t n = strlen(text);
	text[n] = '\n';
	int r = write_file_atomic(path, text, n + 1, 0644, &err);
	free(text);
	return r < 0 ? cli_fail(&err) : 0;
}
