/* write_file_atomic(): the pid file, <bundle>/oom and state.json go
 * through it. A symlink at the target is replaced, never followed; a link
 * planted at a temp name is never written through; nothing is left beside
 * the file. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/state/fsutil.h"
#include "tests/unit/unit.h"

static char dir[PATH_MAX];

static void make_dir(void)
{
	snprintf(dir, sizeof dir, "/tmp/husk-test-fsutil.XXXXXX");
	if (!mkdtemp(dir))
		dir[0] = '\0';
}

static void drop_dir(void)
{
	struct husk_err err = { 0 };
	remove_tree(dir, &err);
}

static int entries(const char *d)
{
	DIR *dp = opendir(d);
	int n = 0;
	if (!dp)
		return -1;
	for (struct dirent *de; (de = readdir(dp));)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

static int slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int)n;
}

static enum test_result test_writes_and_replaces(void)
{
	char path[PATH_MAX + 16], buf[64];
	struct husk_err err = { 0 };
	make_dir();
	CHECK(dir[0]);
	snprintf(path, sizeof path, "%s/pid", dir);
	CHECK_EQ_INT(write_file_atomic(path, "123", 3, 0644, &err), 0);
	CHECK_EQ_INT(slurp(path, buf, sizeof buf), 3);
	CHECK_STR(buf, "123");
	CHECK_EQ_INT(write_file_atomic(path, "45", 2, 0600, &err), 0);
	CHECK_STR((slurp(path, buf, sizeof buf), buf), "45");
	struct stat st;
	CHECK(stat(path, &st) == 0);
	mode_t mask = umask(0);
	umask(mask);
	CHECK_EQ_INT(st.st_mode & 0777, 0600 & ~mask);
	/* no temp file left beside it */
	CHECK_EQ_INT(entries(dir), 1);
	drop_dir();
	return TEST_PASS;
}

/* a pid file path that is a symlink: the link is replaced by the file, its
 * target keeps its content */
static enum test_result test_symlink_target_untouched(void)
{
	char path[PATH_MAX + 16], target[PATH_MAX + 16], buf[64];
	struct husk_err err = { 0 };
	make_dir();
	CHECK(dir[0]);
	snprintf(target, sizeof target, "%s/precious", dir);
	snprintf(path, sizeof path, "%s/pidfile", dir);
	CHECK_EQ_INT(write_file_atomic(target, "keep me", 7, 0644, &err), 0);
	CHECK(symlink(target, path) == 0);
	CHECK_EQ_INT(write_file_atomic(path, "999", 3, 0644, &err), 0);
	CHECK_STR((slurp(target, buf, sizeof buf), buf), "keep me");
	struct stat st;
	CHECK(lstat(path, &st) == 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_STR((slurp(path, buf, sizeof buf), buf), "999");
	/* a dangling link is replaced too, and creates nothing where it points */
	snprintf(target, sizeof target, "%s/nowhere", dir);
	CHECK(unlink(path) == 0 && symlink(target, path) == 0);
	CHECK_EQ_INT(write_file_atomic(path, "1", 1, 0644, &err), 0);
	CHECK(access(target, F_OK) < 0);
	drop_dir();
	return TEST_PASS;
}

/* the old fixed temp name ("<path>.<pid>.tmp") planted as a link: unused */
static enum test_result test_planted_temp_name_ignored(void)
{
	char path[PATH_MAX + 16], plant[PATH_MAX + 48], target[PATH_MAX + 16], buf[64];
	struct husk_err err = { 0 };
	make_dir();
	CHECK(dir[0]);
	snprintf(target, sizeof target, "%s/precious", dir);
	snprintf(path, sizeof path, "%s/state.json", dir);
	snprintf(plant, sizeof plant, "%s.%d.tmp", path, (int)getpid());
	CHECK_EQ_INT(write_file_atomic(target, "keep", 4, 0644, &err), 0);
	CHECK(symlink(target, plant) == 0);
	CHECK_EQ_INT(write_file_atomic(path, "{}", 2, 0600, &err), 0);
	CHECK_STR((slurp(target, buf, sizeof buf), buf), "keep");
	CHECK_STR((slurp(path, buf, sizeof buf), buf), "{}");
	/* precious, the plant, state.json */
	CHECK_EQ_INT(entries(dir), 3);
	drop_dir();
	return TEST_PASS;
}

/* a directory that does not exist, or a name that is a directory: a clear
 * error naming the path, nothing created */
static enum test_result test_errors_name_the_path(void)
{
	char path[PATH_MAX + 16];
	struct husk_err err = { 0 };
	make_dir();
	CHECK(dir[0]);
	snprintf(path, sizeof path, "%s/missing/pid", dir);
	CHECK(write_file_atomic(path, "1", 1, 0644, &err) < 0);
	CHECK(strstr(err.msg, "/missing/") != NULL);
	CHECK(!strchr(err.msg, '\n'));
	husk_err_clear(&err);
	snprintf(path, sizeof path, "%s/", dir);
	CHECK(write_file_atomic(path, "1", 1, 0644, &err) < 0);
	CHECK(err.msg[0]);
	husk_err_clear(&err);
	CHECK(mkdir((snprintf(path, sizeof path, "%s/adir", dir), path), 0755) == 0);
	CHECK(write_file_atomic(path, "1", 1, 0644, &err) < 0);
	CHECK(strstr(err.msg, "adir") != NULL);
	/* only adir: the temp file went */
	CHECK_EQ_INT(entries(dir), 1);
	drop_dir();
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "write_file_atomic writes, replaces, leaves no temp file", test_writes_and_replaces },
		{ "a symlink at the target is replaced; its target is untouched", test_symlink_target_untouched },
		{ "a link planted at a guessable temp name is not written through", test_planted_temp_name_ignored },
		{ "errors name the path; nothing is left behind", test_errors_name_the_path },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
