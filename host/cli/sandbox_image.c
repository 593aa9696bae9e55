/* The host tools `husk sandbox run` drives (podman for --image; ip and nft
 * or iptables for --net nat, sandbox_net.c): run with their output and
 * their own reason on failure. And --image: a local Podman image mounted
 * with `podman image mount` for the job's life (never a registry pull). */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/cli/sandbox_host.h"

bool husk_sb_find_tool(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin:/usr/bin:/bin", path ? path : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (d[0] != '/')
			continue;
		int n = snprintf(out, cap, "%s/%s", d, name);
		if (n > 0 && (size_t)n < cap && access(out, X_OK) == 0)
			return true;
	}
	if (cap)
		out[0] = '\0';
	return false;
}

static void child_exec(const char *netns, const char *prog, char *const argv[], int out_fd, int err_fd)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out_fd >= 0 ? out_fd : null, 1) < 0 || dup2(err_fd, 2) < 0)
		_exit(127);
	if (netns) {
		int fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			dprintf(2, "cannot enter the network namespace %s: %s\n", netns, strerror(errno));
			_exit(127);
		}
	}
	execv(prog, argv);
	dprintf(2, "cannot run %s: %s\n", prog, strerror(errno));
	_exit(127);
}

/* the last non-empty line of the memfd's text, into line */
static void last_line(int fd, char *line, size_t cap)
{
	char buf[2048];
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0;
	ssize_t n = pread(fd, buf, sizeof buf - 1, from);
	buf[n > 0 ? n : 0] = '\0';
	char *end = buf + strlen(buf);
	while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
		*--end = '\0';
	char *start = strrchr(buf, '\n');
	snprintf(line, cap, "%s", start ? start + 1 : buf);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < ' ')
			*p = ' ';
}

int husk_sb_cmd(const char *netns, char *const argv[], char *out, size_t out_cap, struct husk_err *err)
{
	char prog[PATH_MAX];
	if (argv[0][0] == '/')
		snprintf(prog, sizeof prog, "%s", argv[0]);
	else if (!husk_sb_find_tool(argv[0], prog, sizeof prog))
		return husk_err_set(err, ENOENT, "%s is not installed", argv[0]);
	_cleanup_close_ int err_fd = memfd_create("husk-sb-stderr", MFD_CLOEXEC);
	int pipefd[2] = { -1, -1 };
	if (err_fd < 0 || (out && pipe2(pipefd, O_CLOEXEC) < 0))
		return husk_err_sys(err, errno, "running %s", argv[0]);
	pid_t pid = fork();
	if (pid == 0)
		child_exec(netns, prog, argv, pipefd[1], err_fd);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pid < 0) {
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		return husk_err_sys(err, errno, "running %s", argv[0]);
	}
	size_t len = 0;
	while (out && pipefd[0] >= 0) {
		char junk[512];
		bool room = len + 1 < out_cap;
		ssize_t n = read(pipefd[0], room ? out + len : junk, room ? out_cap - 1 - len : sizeof junk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room)
			len += (size_t)n;
	}
	if (out) {
		out[len] = '\0';
		close(pipefd[0]);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return husk_err_sys(err, errno, "waiting for %s", argv[0]);
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (rc != 0) {
		char line[300];
		last_line(err_fd, line, sizeof line);
		husk_err_set(err, EIO, "%s: %s", argv[0], line[0] ? line : "failed");
	}
	return rc;
}

bool husk_sb_image_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255 || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f)
			return false;
	return true;
}

/* the first line of s, without its newline */
static void chomp(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
}

int husk_sb_image_mount(struct husk_sb_image *im, const char *name, struct husk_err *err)
{
	struct husk_err cmd_err = { 0 };
	char out[PATH_MAX + 128];
	memset(im, 0, sizeof *im);
	if (!husk_sb_image_name_valid(name))
		return husk_err_set(err, EINVAL, "--image \"%.64s\" is not an image name", name);
	char *const inspect[] = { "podman", "image", "inspect", "--format", "{{.Id}}", (char *)name, NULL };
	int rc = husk_sb_cmd(NULL, inspect, out, sizeof out, &cmd_err);
	if (rc < 0)
		return husk_err_set(err, -rc, "--image %s: %s", name, cmd_err.msg);
	chomp(out);
	if (rc != 0 || !out[0] || strlen(out) >= sizeof im->id || strspn(out, "0123456789abcdef") != strlen(out))
		return husk_err_set(err, ENOENT, "--image %s: not a local Podman image (%s)", name,
				    rc ? cmd_err.msg : "podman image inspect gave no id");
	snprintf(im->id, sizeof im->id, "%s", out);
	char *const mount[] = { "podman", "image", "mount", im->id, NULL };
	husk_err_clear(&cmd_err);
	rc = husk_sb_cmd(NULL, mount, out, sizeof out, &cmd_err);
	if (rc != 0)
		return husk_err_set(err, rc < 0 ? -rc : EIO, "--image %s: podman image mount: %s", name, cmd_err.msg);
	im->mounted = true;
	chomp(out);
	struct stat st;
	if (out[0] != '/' || strlen(out) >= sizeof im->path || stat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
		husk_sb_image_unmount(im);
		return husk_err_set(err, EIO, "--image %s: podman image mount gave \"%.80s\", not a directory", name,
				    out);
	}
	snprintf(im->path, sizeof im->path, "%s", out);
	return 0;
}

void husk_sb_image_unmount(struct husk_sb_image *im)
{
	if (!im->mounted)
		return;
	struct husk_err ignore = { 0 };
	char *const umount[] = { "podman", "image", "unmount", im->id, NULL };
	if (husk_sb_cmd(NULL, umount, NULL, 0, &ignore) != 0)
		fprintf(stderr, "husk: sandbox run: --image: %s\n", ignore.msg);
	im->mounted = false;
}
