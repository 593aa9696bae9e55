/* husk sandbox cp: files and directories into and out of a started
 * sandbox, as docker cp does, through execs in it (sandbox_exec_in): a
 * probe (what the path is, whether tar is there), then cat for a file or
 * a tar stream for a directory. Exactly one side is NAME:PATH: an
 * argument is one when the text before its first ':' is not empty and has
 * no '/' (so ./a:b and /x/a:b are host paths).
 *
 * The guest is untrusted: what it says is bounded and validated, and a
 * directory copied out is extracted by GNU tar (no absolute names, no
 * "..", symlinks delayed so nothing is written through one) into a
 * private staging directory beside the destination, where anything but
 * files, directories and symlinks is removed and set-id bits dropped
 * before it is moved into place. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "host/cli/sandbox.h"
#include "host/state/fsutil.h"

#define CP_ERR_LINE 200
#define CP_CAPTURE_MAX 4096

/* The probe: KIND MODE TAR for path $1. KIND: d directory, f regular
 * file, o something else, n nothing there; MODE octal (stat's, else 755
 * or 644 by the x bit); TAR 1 when the sandbox has tar. */
static const char probe_sh[] = "p=$1; if [ -d \"$p\" ]; then k=d; elif [ -f \"$p\" ]; then k=f; "
			       "elif [ -e \"$p\" ] || [ -L \"$p\" ]; then k=o; else k=n; fi; "
			       "m=$(stat -L -c %a \"$p\" 2>/dev/null) || { [ -x \"$p\" ] && m=755 || m=644; }; "
			       "command -v tar >/dev/null 2>&1 && t=1 || t=0; echo \"$k $m $t\"";
/* A file in: $1 the target, $2 its mode; written beside it, then renamed */
static const char file_in_sh[] = "d=$1; t=\"$d.husk-cp-$$\"; "
				 "if [ -d \"$d\" ]; then echo \"$d: is a directory\" >&2; exit 1; fi; "
				 "cat > \"$t\" && chmod \"$2\" \"$t\" && mv -f \"$t\" \"$d\" && exit 0; "
				 "rm -f \"$t\"; exit 1";
/* A directory in: the tar stream on stdin extracted into $1 (made when
 * missing, and removed again if the extraction fails) */
static const char dir_in_sh[] = "n=0; [ -d \"$1\" ] || { mkdir \"$1\" && n=1; } || exit 1; "
				"tar -x -f - -C \"$1\" && exit 0; [ $n = 1 ] && rm -rf \"$1\"; exit 1";
static const char dir_out_sh[] = "cd \"$1\" && exec tar -c -f - .";
static const char rm_sh[] = "rm -rf \"$1\"";

struct cp_ref {
	char name[256]; /* "" on the host */
	const char *path;
	char buf[PATH_MAX]; /* a guest path: "./" before a relative one, so no argument starts with '-' */
};

struct guest_probe {
	char kind; /* d f o n */
	mode_t mode;
	bool tar;
};

/* Whether arg is NAME:PATH (the rule above); fills r either way */
static int parse_ref(const char *arg, struct cp_ref *r)
{
	const char *colon = strchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : 0;
	r->name[0] = '\0';
	r->path = arg;
	if (!colon || !n || memchr(arg, '/', n))
		return 0;
	if (n >= sizeof r->name || !colon[1])
		return cli_failf("sandbox cp: \"%s\" is not NAME:PATH (a name and a path are needed)", arg);
	memcpy(r->name, arg, n);
	r->name[n] = '\0';
	if ((size_t)snprintf(r->buf, sizeof r->buf, "%s%s", colon[1] == '/' ? "" : "./", colon + 1) >= sizeof r->buf)
		return cli_failf("sandbox cp: \"%s\": the path is too long", arg);
	r->path = r->buf;
	return 0;
}

/* A memfd for what a guest command prints, CP_CAPTURE_MAX bytes at most
 * (sealed at that size: the guest cannot fill the host's memory) */
static int capture_fd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 && (ftruncate(fd, CP_CAPTURE_MAX) < 0 ||
			fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The first line of what fd (a capture_fd) holds, printable characters only */
static void first_line(int fd, char *out, size_t cap)
{
	ssize_t n = pread(fd, out, cap - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	for (char *p = out; *p; p++)
		if (*p == '\n') {
			*p = '\0';
			break;
		} else if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
}

/* Runs script (sh -c) in the sandbox with arguments a1 a2 (a2 may be
 * NULL), stdin in_fd (-1: /dev/null), stdout out_fd (-1: /dev/null); its
 * stderr's first line lands in why. The script's status, or -1 (printed). */
static int run_guest(struct husk_globals *g, const char *name, const char *script, const char *a1, const char *a2,
		     int in_fd, int out_fd, char *why, size_t cap)
{
	char *cmd[] = { "/bin/sh", "-c", (char *)script, "sh", (char *)a1, (char *)a2, NULL };
	_cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	_cleanup_close_ int errfd = capture_fd("husk-cp-stderr");
	if (null < 0 || errfd < 0) {
		cli_failf("sandbox cp: %s", strerror(errno));
		return -1;
	}
	int stdio[3] = { in_fd >= 0 ? in_fd : null, out_fd >= 0 ? out_fd : null, errfd };
	int status = sandbox_exec_in(g, "cp", name, cmd, a2 ? 6 : 5, NULL, 0, stdio);
	first_line(errfd, why, cap);
	return status;
}

static int probe(struct husk_globals *g, const char *name, const char *path, struct guest_probe *p)
{
	char why[CP_ERR_LINE], out[64], kind;
	unsigned mode;
	int tar;
	_cleanup_close_ int fd = capture_fd("husk-cp-probe");
	if (fd < 0)
		return cli_failf("sandbox cp: memfd: %s", strerror(errno));
	int status = run_guest(g, name, probe_sh, path, NULL, -1, fd, why, sizeof why);
	if (status < 0)
		return 1;
	first_line(fd, out, sizeof out);
	if (status != 0 || sscanf(out, "%c %o %d", &kind, &mode, &tar) != 3 || !strchr("dfon", kind) || mode > 07777 ||
	    (tar != 0 && tar != 1))
		return cli_failf("sandbox cp: sandbox %s could not look at %s (sh exited %d: %s)", name, path, status,
				 why[0] ? why : out);
	p->kind = kind;
	p->mode = (mode_t)mode & 0777;
	p->tar = tar;
	return 0;
}

/* The last component of path (trailing '/' ignored) into out; "" for "/" */
static void base_name(const char *path, char *out, size_t cap)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t s = n;
	while (s > 0 && path[s - 1] != '/')
		s--;
	snprintf(out, cap, "%.*s", (int)(n - s), path + s);
	if (!strcmp(out, "/"))
		out[0] = '\0';
}

/* dst, or dst/BASE of src when dst is a directory there (into_dir), with
 * no trailing '/'. BASE "." or "" (src "/" or ".../."): dst itself, which
 * then takes the contents. */
static int target_path(const char *src, const char *dst, bool into_dir, char *out, size_t cap)
{
	char base[NAME_MAX + 2];
	base_name(src, base, sizeof base);
	if (!strcmp(base, ".."))
		return cli_failf("sandbox cp: %s: a source ending in \"..\" is not copied", src);
	int n = into_dir && base[0] && strcmp(base, ".") ? snprintf(out, cap, "%s/%s", dst, base)
							 : snprintf(out, cap, "%s", dst);
	if (n < 0 || (size_t)n >= cap)
		return cli_failf("sandbox cp: %s: path too long", dst);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

/* The directory part of path ("." when none) into out */
static void dir_name(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(out, cap, ".");
	else if (slash == path)
		snprintf(out, cap, "/");
	else
		snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* Forks tar with argv, its stdin or stdout (which) on fd; stderr to errfd */
static pid_t spawn_tar(char *const argv[], int fd, int which, int errfd)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL); /* sandbox_exec_in blocks them all */
		int null = open("/dev/null", O_RDWR);
		dup2(fd, which);
		dup2(null, 1 - which);
		dup2(errfd, 2);
		execvp(argv[0], argv);
		dprintf(2, "tar: %s\n", strerror(errno));
		_exit(127);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int file_out(struct husk_globals *g, const struct cp_ref *src, const char *dst, const struct guest_probe *p)
{
	char target[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 32], why[CP_ERR_LINE];
	struct stat sb;
	if (target_path(src->path, dst, stat(dst, &sb) == 0 && S_ISDIR(sb.st_mode), target, sizeof target))
		return 1;
	dir_name(target, dir, sizeof dir);
	snprintf(tmp, sizeof tmp, "%s/.husk-cp-XXXXXX", dir);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return cli_failf("sandbox cp: %s: %s", target, strerror(errno));
	fchmod(fd, p->mode);
	int status = run_guest(g, src->name, "exec cat \"$1\"", src->path, NULL, -1, fd, why, sizeof why);
	close(fd);
	if (status == 0 && rename(tmp, target) == 0)
		return 0;
	int e = errno;
	unlink(tmp);
	if (status == 0)
		return cli_failf("sandbox cp: %s: %s", target, strerror(e));
	if (status > 0)
		return cli_failf("sandbox cp: reading %s in sandbox %s failed (cat exited %d: %s)", src->path,
				 src->name, status, why);
	return 1;
}

/* Drops what a copied-out tree must not have on the host: devices, fifos,
 * sockets (removed), set-id and sticky bits */
static int sanitize_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	if (S_ISLNK(sb->st_mode))
		return 0;
	if (!S_ISREG(sb->st_mode) && !S_ISDIR(sb->st_mode))
		return unlink(path) < 0 ? -1 : 0;
	if ((sb->st_mode & 07000) && chmod(path, sb->st_mode & 0777) < 0)
		return -1;
	return 0;
}

/* Moves every entry of directory sfd into dfd, merging directories that
 * are in both; nothing followed through a symlink */
static int merge_into(int sfd, int dfd, const char *shown)
{
	DIR *d = fdopendir(dup(sfd));
	struct dirent *e;
	int r = 0;
	if (!d)
		return cli_failf("sandbox cp: %s: %s", shown, strerror(errno));
	while (!r && (e = readdir(d))) {
		struct stat ss, ds;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(sfd, e->d_name, &ss, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(ss.st_mode) &&
		    fstatat(dfd, e->d_name, &ds, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(ds.st_mode)) {
			_cleanup_close_ int s2 =
				openat(sfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			_cleanup_close_ int d2 =
				openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = s2 < 0 || d2 < 0 ? cli_failf("sandbox cp: %s/%s: %s", shown, e->d_name, strerror(errno))
					     : merge_into(s2, d2, shown);
		} else if (renameat(sfd, e->d_name, dfd, e->d_name) < 0)
			r = cli_failf("sandbox cp: %s/%s: %s", shown, e->d_name, strerror(errno));
	}
	closedir(d);
	return r;
}

/* The sanitized tree staged is put at target: renamed there, or merged
 * into the directory that is there */
static int place_tree(const char *staged, const char *target)
{
	struct stat sb;
	if (nftw(staged, sanitize_one, 16, FTW_PHYS) != 0)
		return cli_failf("sandbox cp: cleaning what the sandbox sent: %s", strerror(errno));
	if (lstat(target, &sb) < 0)
		return rename(staged, target) < 0 ? cli_failf("sandbox cp: %s: %s", target, strerror(errno)) : 0;
	if (!S_ISDIR(sb.st_mode))
		return cli_failf("sandbox cp: %s exists and is not a directory", target);
	_cleanup_close_ int s = open(staged, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int d = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s < 0 || d < 0)
		return cli_failf("sandbox cp: %s: %s", target, strerror(errno));
	return merge_into(s, d, target);
}

/* The host's tar with argv: its stdout (creates) or stdin one end of a
 * pipe whose other end, *guest_end, goes to the guest's command; its
 * stderr errfd. 1 after a one-line error. */
static int start_tar(char **argv, bool creates, int errfd, pid_t *pid, int *guest_end)
{
	int pfd[2];
	if (errfd < 0 || pipe2(pfd, O_CLOEXEC) < 0)
		return cli_failf("sandbox cp: %s", strerror(errno));
	int tar_end = creates ? pfd[1] : pfd[0];
	*guest_end = creates ? pfd[0] : pfd[1];
	*pid = spawn_tar(argv, tar_end, creates ? 1 : 0, errfd);
	close(tar_end);
	if (*pid < 0) {
		close(*guest_end);
		return cli_failf("sandbox cp: fork: %s", strerror(errno));
	}
	return 0;
}

/* The guest's tar stream of src extracted into staged (made, empty) */
static int tar_out(struct husk_globals *g, const struct cp_ref *src, const char *staged)
{
	char why[CP_ERR_LINE], twhy[CP_ERR_LINE];
	char *argv[] = {
		"tar",         "-x",        "-f", "-", "-C", (char *)staged, "--no-same-owner", "--no-same-permissions",
		"--no-xattrs", "--no-acls", NULL
	};
	_cleanup_close_ int errfd = capture_fd("husk-cp-tar");
	pid_t pid;
	int gfd;
	if (start_tar(argv, false, errfd, &pid, &gfd))
		return 1;
	int status = run_guest(g, src->name, dir_out_sh, src->path, NULL, -1, gfd, why, sizeof why);
	close(gfd);
	int tst = wait_status(pid);
	first_line(errfd, twhy, sizeof twhy);
	if (status < 0)
		return 1;
	if (status != 0)
		return cli_failf("sandbox cp: reading %s in sandbox %s failed (tar exited %d: %s)", src->path,
				 src->name, status, why);
	if (tst != 0)
		return cli_failf("sandbox cp: extracting what sandbox %s sent for %s failed (tar exited %d: %s)",
				 src->name, src->path, tst, twhy);
	return 0;
}

static int dir_out(struct husk_globals *g, const struct cp_ref *src, const char *dst, const struct guest_probe *p)
{
	char target[PATH_MAX], dir[PATH_MAX], outer[PATH_MAX + 32], staged[PATH_MAX + 40];
	struct stat sb;
	bool exists = stat(dst, &sb) == 0;
	if (!p->tar)
		return cli_failf("sandbox cp: no tar in sandbox %s's rootfs (a directory is copied as a tar stream)",
				 src->name);
	if (exists && !S_ISDIR(sb.st_mode))
		return cli_failf("sandbox cp: %s exists and is not a directory", dst);
	if (target_path(src->path, dst, exists, target, sizeof target))
		return 1;
	dir_name(target, dir, sizeof dir);
	snprintf(outer, sizeof outer, "%s/.husk-cp-XXXXXX", dir);
	if (!mkdtemp(outer))
		return cli_failf("sandbox cp: %s: %s", dir, strerror(errno));
	snprintf(staged, sizeof staged, "%s/d", outer);
	int r = mkdir(staged, 0700) < 0 ? cli_failf("sandbox cp: %s: %s", staged, strerror(errno))
					: tar_out(g, src, staged);
	if (r == 0)
		r = place_tree(staged, target);
	struct husk_err ignore = { 0 };
	remove_tree(outer, &ignore);
	return r;
}

static int copy_out(struct husk_globals *g, const struct cp_ref *src, const char *dst)
{
	struct guest_probe p;
	if (probe(g, src->name, src->path, &p))
		return 1;
	if (p.kind == 'n')
		return cli_failf("sandbox cp: %s: no such file or directory in sandbox %s", src->path, src->name);
	if (p.kind == 'o')
		return cli_failf("sandbox cp: %s in sandbox %s is not a regular file or directory", src->path,
				 src->name);
	return p.kind == 'd' ? dir_out(g, src, dst, &p) : file_out(g, src, dst, &p);
}

static int file_in(struct husk_globals *g, const char *src, int fd, mode_t mode, const struct cp_ref *dst,
		   const struct guest_probe *p)
{
	char target[PATH_MAX], why[CP_ERR_LINE], m[8];
	if (target_path(src, dst->path, p->kind == 'd', target, sizeof target))
		return 1;
	snprintf(m, sizeof m, "%o", (unsigned)(mode & 0777));
	int status = run_guest(g, dst->name, file_in_sh, target, m, fd, -1, why, sizeof why);
	if (status > 0)
		return cli_failf("sandbox cp: writing %s in sandbox %s failed (%s)", target, dst->name,
				 why[0] ? why : "sh exited non-zero");
	return status < 0;
}

static int dir_in(struct husk_globals *g, const char *src, const struct cp_ref *dst, const struct guest_probe *p)
{
	char target[PATH_MAX], why[CP_ERR_LINE], twhy[CP_ERR_LINE];
	if (!p->tar)
		return cli_failf("sandbox cp: no tar in sandbox %s's rootfs (a directory is copied as a tar stream)",
				 dst->name);
	if (p->kind == 'f' || p->kind == 'o')
		return cli_failf("sandbox cp: %s in sandbox %s exists and is not a directory", dst->path, dst->name);
	if (target_path(src, dst->path, p->kind == 'd', target, sizeof target))
		return 1;
	char *argv[] = { "tar", "-c", "-f", "-", "-C", (char *)src, "--owner=0", "--group=0", "--numeric-owner",
			 ".",   NULL };
	_cleanup_close_ int errfd = capture_fd("husk-cp-tar");
	pid_t pid;
	int gfd;
	if (start_tar(argv, true, errfd, &pid, &gfd))
		return 1;
	int status = run_guest(g, dst->name, dir_in_sh, target, NULL, gfd, -1, why, sizeof why);
	close(gfd);
	int tst = wait_status(pid);
	first_line(errfd, twhy, sizeof twhy);
	if (status == 0 && tst != 0) {
		if (p->kind == 'n')
			run_guest(g, dst->name, rm_sh, target, NULL, -1, -1, why, sizeof why);
		return cli_failf("sandbox cp: reading %s failed (tar exited %d: %s)", src, tst, twhy);
	}
	if (status > 0)
		return cli_failf("sandbox cp: writing %s in sandbox %s failed (%s)", target, dst->name,
				 why[0] ? why : "tar exited non-zero");
	return status < 0;
}

static int copy_in(struct husk_globals *g, const char *src, const struct cp_ref *dst)
{
	struct guest_probe p;
	struct stat sb;
	_cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0)
		return cli_failf("sandbox cp: %s: %s", src, strerror(errno));
	if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
		return cli_failf("sandbox cp: %s is not a regular file or directory", src);
	if (probe(g, dst->name, dst->path, &p))
		return 1;
	if (p.kind == 'o')
		return cli_failf("sandbox cp: %s in sandbox %s is not a regular file or directory", dst->path,
				 dst->name);
	return S_ISDIR(sb.st_mode) ? dir_in(g, src, dst, &p) : file_in(g, src, fd, sb.st_mode, dst, &p);
}

int sandbox_cp(struct husk_globals *g, int argc, char **argv)
{
	struct cp_ref a, b;
	if (argc != 3)
		return cli_failf("sandbox cp: expected NAME:PATH HOST_PATH or HOST_PATH NAME:PATH");
	if (parse_ref(argv[1], &a) || parse_ref(argv[2], &b))
		return 1;
	if (a.name[0] && b.name[0])
		return cli_failf("sandbox cp: both \"%s\" and \"%s\" are NAME:PATH (one side must be a host path)",
				 argv[1], argv[2]);
	if (!a.name[0] && !b.name[0])
		return cli_failf("sandbox cp: neither \"%s\" nor \"%s\" is NAME:PATH", argv[1], argv[2]);
	return a.name[0] ? copy_out(g, &a, b.path) : copy_in(g, a.path, &b);
}
