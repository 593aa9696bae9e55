#include "host/vmm/vmm_qemu.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"

static bool cpu_has_virt_flags(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/cpuinfo", "re");
	char line[8192];
	if (!f)
		return false;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		if (strstr(line, " vmx") || strstr(line, " svm"))
			return true;
		return false;
	}
	return false;
}

const char *husk_accel_resolve(const char *configured, char *why, size_t why_cap)
{
	if (strcmp(configured, "auto") != 0) {
		snprintf(why, why_cap, "configured");
		return configured;
	}
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_cap, "/dev/kvm cannot be opened");
		return "tcg";
	}
	close(fd);
	if (!cpu_has_virt_flags()) {
		snprintf(why, why_cap, "/dev/kvm exists but the CPU shows no vmx/svm (nested host)");
		return "tcg";
	}
	snprintf(why, why_cap, "/dev/kvm usable");
	return "kvm";
}

int husk_qemu_argv(const struct husk_vm_params *p, struct husk_argv *a, struct husk_err *err)
{
	bool kvm = strcmp(p->accel, "kvm") == 0;
	if ((p->vhost_user_vsock_fd < 0) == (p->vhost_vsock_fd < 0))
		return husk_err_set(err, EINVAL, "exactly one vsock device must be configured");
	if (p->kernel_fd < 0 || p->initramfs_fd < 0 || p->console_fd < 0 || p->qmp_fd < 0 || p->virtiofs_fd < 0)
		return husk_err_set(err, EINVAL, "qemu needs an open kernel, initramfs, console, QMP and virtio-fs fd");
	husk_argv_push(a, p->qemu);
	if (p->name) {
		/* QEMU's option syntax: a comma in a value is written twice */
		husk_argv_push(a, "-name");
		char name[PATH_MAX * 2 + 1];
		size_t j = 0;
		for (const char *c = p->name; *c && j + 2 < sizeof name; c++) {
			if (*c == ',')
				name[j++] = ',';
			name[j++] = *c;
		}
		name[j] = '\0';
		husk_argv_push(a, name);
	}
	husk_argv_push(a, "-M");
	/* acpi=off: QEMU then puts the virtio-mmio devices on the kernel
	 * command line, which a kernel without ACPI needs */
	husk_argv_push(a, "microvm,acpi=off,memory-backend=mem");
	husk_argv_push(a, "-accel");
	/* TCG's translation cache is 1 GiB by default, and a guest fills what
	 * it is given before anything is flushed: a small guest's translated
	 * code fits in far less, and every MiB of it is a MiB of the VM's RSS */
	if (!kvm && p->tcg_tb_size_mib > 0)
		husk_argv_pushf(a, "tcg,tb-size=%ld", p->tcg_tb_size_mib);
	else
		husk_argv_push(a, p->accel);
	husk_argv_push(a, "-cpu");
	husk_argv_push(a, kvm ? "host" : "max");
	husk_argv_push(a, "-smp");
	husk_argv_pushf(a, "%d", p->vcpus);
	husk_argv_push(a, "-m");
	husk_argv_pushf(a, "%ldM", p->memory_mib);
	/* vhost-user devices need guest memory the backends can map */
	husk_argv_push(a, "-object");
	husk_argv_pushf(a, "memory-backend-memfd,id=mem,size=%ldM,share=on", p->memory_mib);
	husk_argv_push(a, "-global");
	husk_argv_push(a, "virtio-mmio.force-legacy=false");
	husk_argv_push(a, "-nodefaults");
	husk_argv_push(a, "-no-user-config");
	husk_argv_push(a, "-nographic");
	husk_argv_push(a, "-no-reboot");
	if (p->sandbox) {
		/* QEMU's seccomp filter: no obsolete syscalls, no setuid and
		 * friends, no fork/exec, no scheduler or priority changes */
		husk_argv_push(a, "-sandbox");
		husk_argv_push(a, "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
	}
	/* a file chardev opens its path: /dev/fdset/N is QEMU's name for an
	 * fd handed over with -add-fd */
	husk_argv_push(a, "-add-fd");
	husk_argv_pushf(a, "fd=%d,set=1", p->console_fd);
	husk_argv_push(a, "-chardev");
	husk_argv_push(a, "file,id=console,path=/dev/fdset/1,append=on");
	husk_argv_push(a, "-serial");
	husk_argv_push(a, "chardev:console");
	husk_argv_push(a, "-chardev");
	husk_argv_pushf(a, "socket,id=qmp,fd=%d,server=on,wait=off", p->qmp_fd);
	husk_argv_push(a, "-mon");
	husk_argv_push(a, "chardev=qmp,mode=control");
	if (p->vhost_user_vsock_fd >= 0) {
		husk_argv_push(a, "-chardev");
		husk_argv_pushf(a, "socket,id=vsock,fd=%d", p->vhost_user_vsock_fd);
		husk_argv_push(a, "-device");
		husk_argv_push(a, "vhost-user-vsock-device,chardev=vsock");
	} else {
		husk_argv_push(a, "-device");
		husk_argv_pushf(a, "vhost-vsock-device,guest-cid=%u,vhostfd=%d", p->vhost_vsock_cid, p->vhost_vsock_fd);
	}
	husk_argv_push(a, "-chardev");
	husk_argv_pushf(a, "socket,id=vfs,fd=%d", p->virtiofs_fd);
	husk_argv_push(a, "-device");
	husk_argv_pushf(a, "vhost-user-fs-device,chardev=vfs,tag=%s", p->virtiofs_tag);
	for (unsigned i = 0; i < p->n_nics; i++) {
		const struct husk_vm_nic *n = &p->nics[i];
		husk_argv_push(a, "-netdev");
		husk_argv_pushf(a, "tap,id=net%u,fd=%d", i, n->tap_fd);
		char mtu[24] = "";
		if (n->mtu)
			snprintf(mtu, sizeof mtu, ",host_mtu=%u", n->mtu);
		husk_argv_push(a, "-device");
		husk_argv_pushf(a, "virtio-net-device,netdev=net%u,mac=%02x:%02x:%02x:%02x:%02x:%02x%s", i, n->mac[0],
				n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], mtu);
	}
	/* QEMU opens these by name: /proc/self/fd/N reopens the monitor's
	 * file without walking the path it came from */
	husk_argv_push(a, "-kernel");
	husk_argv_pushf(a, "/proc/self/fd/%d", p->kernel_fd);
	husk_argv_push(a, "-initrd");
	husk_argv_pushf(a, "/proc/self/fd/%d", p->initramfs_fd);
	husk_argv_push(a, "-append");
	/* reboot=t + -no-reboot: the guest's reboot() makes QEMU exit;
	 * no_timer_check: on a slow or busy host (TCG under load) the kernel's
	 * check of the IO-APIC timer can time out and panic the boot */
	/* under TCG: the emulated CPU does not speculate, so the kernel's
	 * speculation mitigations guard against nothing and only cost (each
	 * boot patches them in, each syscall runs them); QEMU's emulated
	 * local APIC counts at 1 GHz, so its timer needs no calibration
	 * (lapic_timer_hz: kernel-config/patches/) */
	husk_argv_pushf(a, "console=ttyS0 reboot=t panic=-1 quiet no_timer_check%s%s%s",
			kvm ? "" : " mitigations=off lapic_timer_hz=1000000000",
			p->kernel_params && *p->kernel_params ? " " : "", p->kernel_params ? p->kernel_params : "");
	return husk_argv_check(a, err);
}

size_t husk_qemu_fds(const struct husk_vm_params *p, int *fds, size_t cap)
{
	int all[] = { p->kernel_fd,   p->initramfs_fd,        p->console_fd,    p->qmp_fd,
		      p->virtiofs_fd, p->vhost_user_vsock_fd, p->vhost_vsock_fd };
	size_t n = 0;
	for (size_t i = 0; i < sizeof all / sizeof all[0] && n < cap; i++)
		if (all[i] >= 0)
			fds[n++] = all[i];
	for (unsigned i = 0; i < p->n_nics && n < cap; i++)
		fds[n++] = p->nics[i].tap_fd;
	return n;
}
