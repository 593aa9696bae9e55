/* QEMU microvm: accelerator choice and the command line. */
#ifndef HUSK_HOST_VMM_QEMU_H
#define HUSK_HOST_VMM_QEMU_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/err.h"
#include "argv.h"

/* a virtio-net device on a tap fd */
struct husk_vm_nic {
	int tap_fd;
	uint8_t mac[6];
	uint32_t mtu; /* 0: not advertised */
};

struct husk_vm_params {
	const char *qemu, *kernel, *initramfs;
	const char *accel; /* kvm or tcg (already resolved) */
	int vcpus;
	long memory_mib;
	const char *kernel_params; /* extra, may be empty */
	const char *console_log;
	const char *qmp_path;
	const char *virtiofs_socket;
	const char *virtiofs_tag;
	/* vsock: exactly one of these */
	const char *vhost_user_vsock_socket;
	int vhost_vsock_fd;
	unsigned vhost_vsock_cid;
	bool sandbox; /* QEMU's own seccomp filter (-sandbox on,...) */
	long tcg_tb_size_mib; /* TCG's translation cache; 0: QEMU's default */
	const struct husk_vm_nic *nics;
	unsigned n_nics;
};

/* kvm when /dev/kvm opens and the CPU advertises vmx or svm (a nested host
 * may expose /dev/kvm that cannot run a standard guest); tcg otherwise. */
const char *husk_accel_resolve(const char *configured, char *why, size_t why_cap);
int husk_qemu_argv(const struct husk_vm_params *p, struct husk_argv *out, struct husk_err *err);

#endif
