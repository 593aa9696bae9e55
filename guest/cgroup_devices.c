/* The device allow/deny list in cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE
 * program built from the rules and attached to the container's cgroup.
 * Rules are checked last to first, so a later rule overrides an earlier
 * one (as in runc); nothing matching means deny. */
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proto/msg_resources.h"
#include "guest/guest.h"

#define MAX_INSNS (8 + 9 * HUSK_DEVICE_RULES_MAX)

static int prog_fd = -1;

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
	return i;
}

/* r2 = type, r3 = access, r4 = major, r5 = minor, from struct bpf_cgroup_dev_ctx in r1 */
static size_t emit_prologue(struct bpf_insn *p)
{
	size_t n = 0;
	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
	p[n++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
	p[n++] = insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
	return n;
}

/* one rule: each test jumps to the block's end when it does not match;
 * *always tells that it had no test (it matches everything) */
static size_t emit_rule(struct bpf_insn *p, const struct husk_device_rule *d, bool *always)
{
	size_t n = 0;
	size_t jumps[4];
	size_t nj = 0;
	if (d->type != 'a') {
		jumps[nj++] = n;
		p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
			      d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
	}
	uint32_t acc = (d->access & HUSK_DEV_READ ? BPF_DEVCG_ACC_READ : 0) |
		       (d->access & HUSK_DEV_WRITE ? BPF_DEVCG_ACC_WRITE : 0) |
		       (d->access & HUSK_DEV_MKNOD ? BPF_DEVCG_ACC_MKNOD : 0);
	if (acc != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
		/* the request must be within the rule's access */
		p[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_3, 0, 0);
		p[n++] = insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_6, 0, 0, (int32_t)~acc);
		jumps[nj++] = n;
		p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_6, 0, 0, 0);
	}
	if (d->major >= 0) {
		jumps[nj++] = n;
		p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)d->major);
	}
	if (d->minor >= 0) {
		jumps[nj++] = n;
		p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)d->minor);
	}
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, d->allow ? 1 : 0);
	p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (size_t i = 0; i < nj; i++)
		p[jumps[i]].off = (int16_t)(n - jumps[i] - 1);
	*always = nj == 0;
	return n;
}

int cgroup_devices_apply(const struct gctr *g, const struct husk_resources *r, struct husk_err *err)
{
	static struct bpf_insn prog[MAX_INSNS];
	static char log[4096];
	size_t n = emit_prologue(prog);
	bool always = false;
	/* a rule that matches everything ends the program: the verifier
	 * refuses code after it, and nothing earlier could match anyway */
	for (uint32_t i = r->n_devices; i-- > 0 && !always;)
		n += emit_rule(prog + n, &r->devices[i], &always);
	if (!always) {
		prog[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
		prog[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}

	union bpf_attr load;
	memset(&load, 0, sizeof load);
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (uint64_t)(uintptr_t)prog;
	load.insn_cnt = (uint32_t)n;
	load.license = (uint64_t)(uintptr_t) "GPL";
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
	if (fd < 0) {
		/* again with the verifier's log, only to explain the failure: a
		 * log that overflows its buffer fails the load with ENOSPC, so
		 * a good program is loaded without one */
		int e = errno;
		log[0] = '\0';
		load.log_buf = (uint64_t)(uintptr_t)log;
		load.log_size = sizeof log;
		load.log_level = 1;
		int fd2 = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
		if (fd2 >= 0)
			close(fd2);
		/* the verifier's first complaint is the useful part */
		char *end = strchr(log, '\n');
		if (end)
			*end = '\0';
		return husk_err_sys(err, e, "loading the device filter (%zu instructions; verifier: %.200s)", n, log);
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	int cg = open(g->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		int e = errno;
		close(fd);
		return husk_err_sys(err, e, "opening the container cgroup");
	}
	union bpf_attr attach;
	memset(&attach, 0, sizeof attach);
	attach.target_fd = (uint32_t)cg;
	attach.attach_bpf_fd = (uint32_t)fd;
	attach.attach_type = BPF_CGROUP_DEVICE;
	attach.attach_flags = BPF_F_ALLOW_MULTI;
	int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach);
	int e = errno;
	if (rc == 0 && prog_fd >= 0) {
		/* an update: the new list replaces the old one */
		union bpf_attr detach;
		memset(&detach, 0, sizeof detach);
		detach.target_fd = (uint32_t)cg;
		detach.attach_bpf_fd = (uint32_t)prog_fd;
		detach.attach_type = BPF_CGROUP_DEVICE;
		syscall(SYS_bpf, BPF_PROG_DETACH, &detach, sizeof detach);
		close(prog_fd);
		prog_fd = -1;
	}
	close(cg);
	if (rc < 0) {
		close(fd);
		return husk_err_sys(err, e, "attaching the device filter");
	}
	prog_fd = fd;
	return 0;
}
