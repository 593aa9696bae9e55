/* husk's config file, environment overrides, and the QEMU command line. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "host/state/config.h"
#include "host/vmm/vmm_qemu.h"
#include "tests/unit/unit.h"

static int load_with(const char *text, struct husk_config *cfg, struct husk_err *err)
{
	char path[] = "/tmp/husk-unit-conf.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	setenv("HUSK_CONFIG", path, 1);
	husk_err_clear(err);
	int r = husk_config_load(cfg, err);
	unlink(path);
	unsetenv("HUSK_CONFIG");
	return r;
}

static enum test_result test_file_and_env(void)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	setenv("HUSK_MEMORY_MIB", "512", 1);
	int r = load_with("; comment\n[vm]\nvcpus = 2\naccel = tcg\n[log]\nlevel = debug\n", &cfg, &err);
	unsetenv("HUSK_MEMORY_MIB");
	CHECK_EQ_INT(r, 0);
	CHECK_STR(husk_config_get(&cfg, CFG_VCPUS), "2");
	CHECK(strncmp(cfg.e[CFG_VCPUS].source, "file ", 5) == 0);
	CHECK_STR(husk_config_get(&cfg, CFG_MEMORY_MIB), "512");
	CHECK_STR(cfg.e[CFG_MEMORY_MIB].source, "env HUSK_MEMORY_MIB");
	CHECK_STR(husk_config_get(&cfg, CFG_ACCEL), "tcg");
	CHECK_STR(husk_config_get(&cfg, CFG_SANDBOX), "on");
	CHECK(strncmp(cfg.e[CFG_VSOCK_BACKEND].source, "default", 7) == 0);
	CHECK_EQ_INT(husk_config_get_long(&cfg, CFG_VCPUS), 2);
	return TEST_PASS;
}

static enum test_result test_bad_files(void)
{
	static const char *const bad[] = {
		"[vm]\naccel = warp\n",
		"[vm]\nvcpus = 0\n",
		"[vm]\nvcpus = two\n",
		"[vm]\nmemory_mib = 1\n",
		"[vm]\nunknown_key = 1\n",
		"[nosuchsection]\nkernel = x\n",
		"[vm]\nvsock = tcp\n",
		"[log]\nlevel = loud\n",
		"[vm]\nsandbox = maybe\n",
		"[vm]\ntcg_tb_size_mib = 0\n",
		"[vm]\nvirtiofs_cache = sometimes\n",
		"[vm]\nvirtiofs_setid = maybe\n",
		"[vm]\nvirtiofs_nofile = 10\n",
		"[vm]\nconsole_log_max_kib = 0\n",
		"[security]\nallowed_annotations = io.husk.*.x\n",
		"[security]\nallowed_annotations = io.husk.vm.vcpus \"x\"\n",
		"[pool]\nuse = sometimes\n",
		"[pool]\nuse =\n",
		"this is not ini\n",
		"[sandbox]\nmemory_mib = 32\n",
		"[sandbox]\ncpus = 0\n",
		"[sandbox]\ncpus = 65\n",
		"[sandbox]\ntimeout = 5\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct husk_config cfg;
		struct husk_err err = { 0 };
		if (load_with(bad[i], &cfg, &err) >= 0) {
			printf("# accepted: %s", bad[i]);
			return TEST_FAIL;
		}
		CHECK(err.msg[0] != '\0');
	}
	return TEST_PASS;
}

/* [pool] use: auto or off, HUSK_POOL's old words too; the env wins */
static enum test_result test_pool_use(void)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	unsetenv("HUSK_POOL");
	CHECK_EQ_INT(load_with("", &cfg, &err), 0);
	CHECK_STR(husk_config_get(&cfg, CFG_POOL_USE), "auto");
	CHECK_EQ_INT(load_with("[pool]\nuse = off\n", &cfg, &err), 0);
	CHECK_STR(husk_config_get(&cfg, CFG_POOL_USE), "off");
	CHECK(strncmp(cfg.e[CFG_POOL_USE].source, "file ", 5) == 0);
	CHECK_EQ_INT(load_with("[pool]\nuse = auto\nsize = 3\n", &cfg, &err), 0);
	CHECK_STR(husk_config_get(&cfg, CFG_POOL_USE), "auto");
	static const char *const off[] = { "off", "OFF", "0", "no", "false" }, *const on[] = { "auto", "on", "1", "Yes",
											       "true" };
	for (size_t i = 0; i < ARRAY_SIZE(off); i++) {
		setenv("HUSK_POOL", off[i], 1);
		int r = load_with("[pool]\nuse = auto\n", &cfg, &err);
		unsetenv("HUSK_POOL");
		CHECK_EQ_INT(r, 0);
		CHECK_STR(husk_config_get(&cfg, CFG_POOL_USE), "off");
		CHECK_STR(cfg.e[CFG_POOL_USE].source, "env HUSK_POOL");
	}
	for (size_t i = 0; i < ARRAY_SIZE(on); i++) {
		setenv("HUSK_POOL", on[i], 1);
		int r = load_with("[pool]\nuse = off\n", &cfg, &err);
		unsetenv("HUSK_POOL");
		CHECK_EQ_INT(r, 0);
		CHECK_STR(husk_config_get(&cfg, CFG_POOL_USE), "auto");
	}
	setenv("HUSK_POOL", "offf", 1);
	int r = load_with("", &cfg, &err);
	unsetenv("HUSK_POOL");
	CHECK(r < 0);
	CHECK(strstr(err.msg, "pool use must be auto or off, not \"offf\" (env HUSK_POOL)") != NULL);
	return TEST_PASS;
}

/* [sandbox]: husk sandbox run's VM size, 512 MiB and 1 vCPU by default */
static enum test_result test_sandbox_section(void)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(load_with("[vm]\nmemory_mib = 300\n", &cfg, &err), 0);
	CHECK_EQ_INT(husk_config_get_long(&cfg, CFG_SANDBOX_MEMORY_MIB), 512);
	CHECK_EQ_INT(husk_config_get_long(&cfg, CFG_SANDBOX_CPUS), 1);
	CHECK(strncmp(cfg.e[CFG_SANDBOX_CPUS].source, "default", 7) == 0);
	setenv("HUSK_SANDBOX_CPUS", "3", 1);
	int r = load_with("[sandbox]\nmemory_mib = 1024\ncpus = 2\n", &cfg, &err);
	unsetenv("HUSK_SANDBOX_CPUS");
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(husk_config_get_long(&cfg, CFG_SANDBOX_MEMORY_MIB), 1024);
	CHECK(strncmp(cfg.e[CFG_SANDBOX_MEMORY_MIB].source, "file ", 5) == 0);
	CHECK_EQ_INT(husk_config_get_long(&cfg, CFG_SANDBOX_CPUS), 3);
	CHECK_STR(cfg.e[CFG_SANDBOX_CPUS].source, "env HUSK_SANDBOX_CPUS");
	CHECK_EQ_INT(husk_config_get_long(&cfg, CFG_MEMORY_MIB), 256);
	return TEST_PASS;
}

static enum test_result test_allowed_annotations(void)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	/* the default allows nothing */
	CHECK_EQ_INT(load_with("", &cfg, &err), 0);
	CHECK_STR(husk_config_get(&cfg, CFG_ALLOWED_ANNOTATIONS), "");
	CHECK(!husk_config_annotation_allowed(&cfg, "io.husk.vm.vcpus"));
	/* exact keys and prefixes, commas and blanks */
	CHECK_EQ_INT(load_with("[security]\nallowed_annotations = io.husk.vm.vcpus,  io.husk.net.*\n", &cfg, &err), 0);
	CHECK(husk_config_annotation_allowed(&cfg, "io.husk.vm.vcpus"));
	CHECK(!husk_config_annotation_allowed(&cfg, "io.husk.vm.vcpu"));
	CHECK(!husk_config_annotation_allowed(&cfg, "io.husk.vm.vcpus2"));
	CHECK(!husk_config_annotation_allowed(&cfg, "io.husk.vm.memory_mib"));
	CHECK(husk_config_annotation_allowed(&cfg, "io.husk.net.spare_nics"));
	CHECK(!husk_config_annotation_allowed(&cfg, "io.husk.netx"));
	/* the environment wins over the file; a lone * allows every key */
	setenv("HUSK_ALLOWED_ANNOTATIONS", "*", 1);
	int r = load_with("[security]\nallowed_annotations = io.husk.vm.vcpus\n", &cfg, &err);
	unsetenv("HUSK_ALLOWED_ANNOTATIONS");
	CHECK_EQ_INT(r, 0);
	CHECK_STR(cfg.e[CFG_ALLOWED_ANNOTATIONS].source, "env HUSK_ALLOWED_ANNOTATIONS");
	CHECK(husk_config_annotation_allowed(&cfg, "io.husk.vm.memory_mib"));
	/* a bad entry names itself */
	CHECK(load_with("[security]\nallowed_annotations = io.husk.vm.vcpus, io.*.x\n", &cfg, &err) < 0);
	CHECK(strstr(err.msg, "\"io.*.x\"") != NULL);
	return TEST_PASS;
}

static enum test_result test_missing_explicit_file(void)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	setenv("HUSK_CONFIG", "/nonexistent/husk.conf", 1);
	int r = husk_config_load(&cfg, &err);
	unsetenv("HUSK_CONFIG");
	CHECK(r < 0);
	CHECK(strstr(err.msg, "/nonexistent/husk.conf") != NULL);
	return TEST_PASS;
}

static enum test_result test_qemu_argv(void)
{
	struct husk_vm_params p = {
		.qemu = "qemu-system-x86_64",
		.name = "/run/a,b/c",
		.kernel_fd = 3,
		.initramfs_fd = 4,
		.accel = "tcg",
		.vcpus = 2,
		.memory_mib = 300,
		.kernel_params = "foo=1",
		.console_fd = 5,
		.qmp_fd = 6,
		.virtiofs_fd = 7,
		.virtiofs_tag = "rootfs",
		.vhost_user_vsock_fd = 8,
		.vhost_vsock_fd = -1,
	};
	struct husk_argv a = { 0 };
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_qemu_argv(&p, &a, &err), 0);
	int i = husk_argv_find(&a, "-M");
	CHECK(i > 0);
	CHECK_STR(a.v[i + 1], "microvm,acpi=off,memory-backend=mem");
	CHECK_STR(a.v[husk_argv_find(&a, "-accel") + 1], "tcg"); /* QEMU's own cache size unless set */
	CHECK(husk_argv_find(&a, "memory-backend-memfd,id=mem,size=300M,share=on") > 0);
	CHECK(husk_argv_find(&a, "virtio-mmio.force-legacy=false") > 0);
	CHECK(husk_argv_find(&a, "-no-reboot") > 0);
	CHECK(husk_argv_find(&a, "-sandbox") < 0); /* off unless asked */
	CHECK(husk_argv_find(&a, "vhost-user-vsock-device,chardev=vsock") > 0);
	CHECK(husk_argv_find(&a, "vhost-user-fs-device,chardev=vfs,tag=rootfs") > 0);
	/* QEMU walks no path of the monitor's: everything comes as an fd */
	CHECK_STR(a.v[husk_argv_find(&a, "-name") + 1], "/run/a,,b/c");
	CHECK_STR(a.v[husk_argv_find(&a, "-kernel") + 1], "/proc/self/fd/3");
	CHECK_STR(a.v[husk_argv_find(&a, "-initrd") + 1], "/proc/self/fd/4");
	CHECK_STR(a.v[husk_argv_find(&a, "-add-fd") + 1], "fd=5,set=1");
	CHECK(husk_argv_find(&a, "file,id=console,path=/dev/fdset/1,append=on") > 0);
	CHECK(husk_argv_find(&a, "socket,id=qmp,fd=6,server=on,wait=off") > 0);
	CHECK(husk_argv_find(&a, "socket,id=vfs,fd=7") > 0);
	CHECK(husk_argv_find(&a, "socket,id=vsock,fd=8") > 0);
	for (size_t k = 0; k < a.n; k++)
		CHECK(strstr(a.v[k], "path=/") == NULL || strstr(a.v[k], "/dev/fdset/") != NULL);
	i = husk_argv_find(&a, "-append");
	CHECK(strstr(a.v[i + 1], "reboot=t") != NULL);
	CHECK(strstr(a.v[i + 1], "no_timer_check") != NULL);
	CHECK(strstr(a.v[i + 1], "foo=1") != NULL);
	CHECK(strstr(a.v[i + 1], " mitigations=off lapic_timer_hz=1000000000") != NULL); /* TCG only */
	CHECK_STR(a.v[husk_argv_find(&a, "-smp") + 1], "2");
	CHECK_STR(a.v[husk_argv_find(&a, "-cpu") + 1], "max");
	CHECK(a.v[a.n] == NULL);
	husk_argv_free(&a);

	/* a TCG translation cache of a set size */
	p.tcg_tb_size_mib = 16;
	CHECK_EQ_INT(husk_qemu_argv(&p, &a, &err), 0);
	CHECK_STR(a.v[husk_argv_find(&a, "-accel") + 1], "tcg,tb-size=16");
	husk_argv_free(&a);

	/* the kernel vhost-vsock device instead */
	p.vhost_user_vsock_fd = -1;
	p.vhost_vsock_fd = 9;
	p.vhost_vsock_cid = 1234;
	p.accel = "kvm";
	p.sandbox = true;
	CHECK_EQ_INT(husk_qemu_argv(&p, &a, &err), 0);
	CHECK(husk_argv_find(&a, "vhost-vsock-device,guest-cid=1234,vhostfd=9") > 0);
	CHECK_STR(a.v[husk_argv_find(&a, "-cpu") + 1], "host");
	CHECK_STR(a.v[husk_argv_find(&a, "-accel") + 1], "kvm"); /* tb-size is TCG's only */
	/* a real CPU speculates, and KVM's APIC has the TSC deadline timer */
	CHECK(strstr(a.v[husk_argv_find(&a, "-append") + 1], "mitigations") == NULL);
	CHECK(strstr(a.v[husk_argv_find(&a, "-append") + 1], "lapic_timer_hz") == NULL);
	CHECK_STR(a.v[husk_argv_find(&a, "-sandbox") + 1],
		  "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	husk_argv_free(&a);

	p.vhost_vsock_fd = -1;
	CHECK(husk_qemu_argv(&p, &a, &err) < 0);
	husk_argv_free(&a);
	return TEST_PASS;
}

static enum test_result test_accel(void)
{
	char why[160];
	CHECK_STR(husk_accel_resolve("tcg", why, sizeof why), "tcg");
	CHECK_STR(husk_accel_resolve("kvm", why, sizeof why), "kvm");
	const char *a = husk_accel_resolve("auto", why, sizeof why);
	CHECK(!strcmp(a, "tcg") || !strcmp(a, "kvm"));
	CHECK(why[0] != '\0');
	/* on a host whose CPU shows no vmx/svm, auto must not pick kvm */
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	bool virt = false;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "flags", 5) && (strstr(line, " vmx") || strstr(line, " svm")))
			virt = true;
	if (f)
		fclose(f);
	if (!virt)
		CHECK_STR(a, "tcg");
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "config file and environment", test_file_and_env },
		{ "bad config files are clear errors", test_bad_files },
		{ "HUSK_CONFIG naming a missing file", test_missing_explicit_file },
		{ "[security] allowed_annotations", test_allowed_annotations },
		{ "[pool] use and HUSK_POOL", test_pool_use },
		{ "[sandbox] memory_mib and cpus", test_sandbox_section },
		{ "QEMU microvm command line", test_qemu_argv },
		{ "accel auto", test_accel },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
