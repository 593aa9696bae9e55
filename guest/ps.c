/* The container's processes as PID 1 sees them (guest pids): every process
 * in the container init's pid namespace. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/guest.h"

#define PS_MAX 4096
#define PS_CMD_MAX 256

static ino_t pidns_inode(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

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
	for (ssize_t i = 0; i < n; i++)
		if (out[i] == '\0' || out[i] == '\n')
			out[i] = ' ';
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
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
		char *p = strrchr(buf, ')');
		if (p && p[1] == ' ' && p[2] && p[3] == ' ')
			*ppid = strtol(p + 4, NULL, 10);
	}
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		char *u = strstr(buf, "\nUid:");
		if (u)
			*uid = strtol(u + 5, NULL, 10);
	}
}

int ps_encode(pid_t container_init, struct husk_cbor_enc *e, struct husk_err *err)
{
	ino_t ns = pidns_inode(container_init);
	if (ns == 0)
		return husk_err_set(err, ESRCH, "the container has no processes");
	static pid_t pids[PS_MAX];
	uint32_t n = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return husk_err_sys(err, errno, "opening /proc");
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < PS_MAX) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 1)
			continue;
		if (pidns_inode((pid_t)pid) == ns)
			pids[n++] = (pid_t)pid;
	}
	closedir(d);
	husk_cbor_put_map(e, 1);
	husk_cbor_put_text(e, "processes");
	husk_cbor_put_array(e, n);
	for (uint32_t i = 0; i < n; i++) {
		char cmd[PS_CMD_MAX];
		long ppid, uid;
		read_cmd(pids[i], cmd, sizeof cmd);
		read_ids(pids[i], &ppid, &uid);
		husk_cbor_put_map(e, 4);
		husk_cbor_put_text(e, "pid");
		husk_cbor_put_uint(e, (uint64_t)pids[i]);
		husk_cbor_put_text(e, "ppid");
		husk_cbor_put_uint(e, (uint64_t)(ppid > 0 ? ppid : 0));
		husk_cbor_put_text(e, "uid");
		husk_cbor_put_uint(e, (uint64_t)(uid >= 0 ? uid : 0));
		husk_cbor_put_text(e, "cmd");
		husk_cbor_put_text(e, husk_cbor_utf8_valid((const uint8_t *)cmd, strlen(cmd)) ? cmd : "?");
	}
	return husk_cbor_enc_finish(e, err);
}
