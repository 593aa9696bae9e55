#include "vmm_qemu.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/cleanup.h"

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
	if (!p->vhost_user_vsock_socket && p->vhost_vsock_fd < 0)
		return husk_err_set(err, EINVAL, "no vsock device configured");
	husk_argv_push(a, p->qemu);
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
	husk_argv_push(a, "-chardev");
	husk_argv_pushf(a, "file,id=console,path=%s", p->console_log);
	husk_argv_push(a, "-serial");
	husk_argv_push(a, "chardev:console");
	husk_argv_push(a, "-qmp");
	husk_argv_pushf(a, "unix:%s,server=on,wait=off", p->qmp_path);
	if (p->vhost_user_vsock_socket) {
		husk_argv_push(a, "-chardev");
		husk_argv_pushf(a, "socket,id=vsock,path=%s", p->vhost_user_vsock_socket);
		husk_argv_push(a, "-device");
		husk_argv_push(a, "vhost-user-vsock-device,chardev=vsock");
	} else {
		husk_argv_push(a, "-device");
		husk_argv_pushf(a, "vhost-vsock-device,guest-cid=%u,vhostfd=%d", p->vhost_vsock_cid, p->vhost_vsock_fd);
	}
	husk_argv_push(a, "-chardev");
	husk_argv_pushf(a, "socket,id=vfs,path=%s", p->virtiofs_socket);
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
	husk_argv_push(a, "-kernel");
	husk_argv_push(a, p->kernel);
	husk_argv_push(a, "-initrd");
	husk_argv_push(a, p->initramfs);
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
