/* A container's processes as PID 1 sees them (guest pids): every process
 * in its cgroup tree (not its pid namespace: the containers of a pod may
 * share one, and must not list each other). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/msg_session.h"
#include "guest/guest.h"

#define PS_MAX GUEST_PIDS_MAX
#define PS_CMD_MAX 256

/* command line with NULs as spaces, or [comm] for kernel-less cases */
static void read_cmd(pid_t pid, char *out, size_t cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, cap - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd >= 0 ? read(fd, out, cap - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			n = 0;
		while (n > 0 && out[n - 1] == '\n')
			n--;
	}
	ps_clean_cmd(out, n < 0 ? 0 : (size_t)n);
}

/* ppid (field 4 of stat) and real uid (from status) */
static void read_ids(pid_t pid, long *ppid, long *uid)
{
	char path[64], buf[2048];
	*ppid = 0;
	*uid = -1;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		*ppid = ps_parse_ppid(buf);
	}
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		*uid = ps_parse_uid(buf);
	}
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int ps_encode(const struct gctr *g, struct husk_cbor_enc *e, struct husk_err *err)
{
	static pid_t pids[PS_MAX];
	int got = cgroup_pids(g, pids, PS_MAX);
	if (got < 0)
		return husk_err_sys(err, -got, "listing the container's processes");
	uint32_t n = 0;
	for (int i = 0; i < got; i++)
		if (pids[i] > 1)
			pids[n++] = pids[i];
	if (n == 0)
		return husk_err_set(err, ESRCH, "the container has no processes");
	qsort(pids, n, sizeof pids[0], pid_cmp); /* /proc's order, as before */
	husk_msg_encode_ps_head(e, n);
	for (uint32_t i = 0; i < n; i++) {
		char cmd[PS_CMD_MAX];
		long ppid, uid;
		read_cmd(pids[i], cmd, sizeof cmd);
		read_ids(pids[i], &ppid, &uid);
		/* the encoder writes "?" for a command line that is not UTF-8 */
		struct husk_ps_entry ent = {
			.pid = (int32_t)pids[i],
			.ppid = (int32_t)(ppid > 0 && ppid <= INT32_MAX ? ppid : 0),
			.uid = (uint32_t)(uid >= 0 && uid <= (long)UINT32_MAX ? uid : 0),
			.cmd = cmd,
		};
		husk_msg_encode_ps_entry(e, &ent);
	}
	return husk_cbor_enc_finish(e, err);
}
