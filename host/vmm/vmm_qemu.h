/* QEMU microvm: accelerator choice and the command line. */
#ifndef HUSK_HOST_VMM_QEMU_H
#define HUSK_HOST_VMM_QEMU_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "host/vmm/argv.h"

/* a virtio-net device on a tap fd */
struct husk_vm_nic {
	int tap_fd;
	uint8_t mac[6];
	uint32_t mtu; /* 0: not advertised */
};

/* QEMU runs without capabilities, so it may not be able to walk the paths
 * the monitor can (a state directory under a 0700 or 0600 parent): every
 * file and socket it uses is opened by the monitor and handed over as an
 * inherited fd. */
struct husk_vm_params {
	const char *qemu;
	const char *name;            /* the state directory: names the process in ps */
	int kernel_fd, initramfs_fd; /* read-only, read through /proc/self/fd */
	const char *accel;           /* kvm or tcg (already resolved) */
	int vcpus;
	long memory_mib;
	const char *kernel_params; /* extra, may be empty */
	int console_fd;            /* the serial console's log, open for writing */
	int qmp_fd;                /* a listening unix socket for QMP */
	int virtiofs_fd;           /* connected to virtiofsd */
	const char *virtiofs_tag;
	/* vsock: exactly one of these is >= 0 */
	int vhost_user_vsock_fd; /* connected to the vhost-user vsock back-end */
	int vhost_vsock_fd;
	unsigned vhost_vsock_cid;
	bool sandbox;         /* QEMU's own seccomp filter (-sandbox on,...) */
	long tcg_tb_size_mib; /* TCG's translation cache; 0: QEMU's default */
	const struct husk_vm_nic *nics;
	unsigned n_nics;
};

/* kvm when /dev/kvm opens and the CPU advertises vmx or svm (a nested host
 * may expose /dev/kvm that cannot run a standard guest); tcg otherwise. */
const char *husk_accel_resolve(const char *configured, char *why, size_t why_cap);
int husk_qemu_argv(const struct husk_vm_params *p, struct husk_argv *out, struct husk_err *err);
/* The fds of p that QEMU must inherit (up to HUSK_QEMU_FDS_MAX); returns how many. */
#define HUSK_QEMU_FDS_MAX (8 + 16)
size_t husk_qemu_fds(const struct husk_vm_params *p, int *fds, size_t cap);

#endif
