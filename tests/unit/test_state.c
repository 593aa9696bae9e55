/* state.json, ids, and the process identity checks verbs rely on. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/cli/cli.h"
#include "host/state/fsutil.h"
#include "host/state/state.h"
#include "tests/unit/unit.h"

/* field 22 of /proc/PID/stat, parsed independently of fsutil.c */
static unsigned long long start_time_by_scanf(pid_t pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')') + 2;
	unsigned long long v = 0;
	int field = 3;
	for (char *tok = strtok(p, " "); tok; tok = strtok(NULL, " "), field++)
		if (field == 22) {
			v = strtoull(tok, NULL, 10);
			break;
		}
	return v;
}

static enum test_result test_start_time_matches_proc(void)
{
	CHECK(proc_start_time(getpid()) != 0);
	CHECK_EQ_INT(proc_start_time(getpid()), start_time_by_scanf(getpid()));
	CHECK_EQ_INT(proc_start_time(1), start_time_by_scanf(1));
	return TEST_PASS;
}

static enum test_result test_same_process(void)
{
	struct husk_pid_ref ref;
	husk_pid_ref_set(&ref, getpid());
	CHECK(husk_pid_ref_alive(&ref));
	ref.start_time += 1;
	CHECK(!husk_pid_ref_alive(&ref)); /* a recycled pid is not ours */
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	husk_pid_ref_set(&ref, child);
	waitpid(child, NULL, 0);
	CHECK(!husk_pid_ref_alive(&ref));
	struct husk_pid_ref none = { 0 };
	CHECK(!husk_pid_ref_alive(&none));
	return TEST_PASS;
}

static enum test_result test_zombie_is_gone(void)
{
	struct husk_pid_ref ref;
	pid_t child = fork();
	if (child == 0)
		_exit(0);
	husk_pid_ref_set(&ref, child);
	usleep(100000); /* a zombie until reaped */
	bool alive = husk_pid_ref_alive(&ref);
	waitpid(child, NULL, 0);
	CHECK(!alive);
	return TEST_PASS;
}

static enum test_result test_ids(void)
{
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_id_validate("abc-DEF_1.2+3", &err), 0);
	CHECK_EQ_INT(husk_id_validate("pool.dx", &err), 0);
	const char *bad[] = { "", ".", "..", "a/b", "../x", "a b", "x\n", "ä", "pool.sock", "pool.d", "pool.lock" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		CHECK(husk_id_validate(bad[i], &err) < 0);
		CHECK(err.msg[0] != '\0');
	}
	char longid[300];
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	husk_err_clear(&err);
	CHECK(husk_id_validate(longid, &err) < 0);
	return TEST_PASS;
}

static enum test_result test_round_trip(void)
{
	struct husk_err err = { 0 };
	char dir[] = "/tmp/husk-unit-state.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	struct husk_state st = { 0 }, back;
	snprintf(st.id, sizeof st.id, "c1");
	snprintf(st.bundle, sizeof st.bundle, "/b");
	snprintf(st.rootfs, sizeof st.rootfs, "/b/rootfs");
	st.status = HUSK_STATUS_RUNNING;
	husk_time_now(st.created, sizeof st.created);
	husk_pid_ref_set(&st.monitor, getpid());
	st.guest_pid = 29;
	st.exited = true;
	st.exit_status = 137;
	st.annotations = json_pack("{s:s}", "k", "v");
	CHECK_EQ_INT(husk_state_write(dir, &st, &err), 0);
	CHECK_EQ_INT(husk_state_read(dir, &back, &err), 0);
	CHECK_STR(back.id, "c1");
	CHECK_STR(back.rootfs, "/b/rootfs");
	CHECK_EQ_INT(back.status, HUSK_STATUS_RUNNING);
	CHECK_STR(back.created, st.created);
	CHECK_EQ_INT(back.monitor.pid, getpid());
	CHECK_EQ_INT(back.monitor.start_time, st.monitor.start_time);
	CHECK_EQ_INT(back.guest_pid, 29);
	CHECK(back.exited);
	CHECK_EQ_INT(back.exit_status, 137);
	CHECK_STR(json_string_value(json_object_get(back.annotations, "k")), "v");
	CHECK_STR(back.sandbox, ""); /* a sandbox (one VM of its own) */
	CHECK_EQ_INT(back.slot, 0);
	CHECK_EQ_INT(back.vm_memory_mib, 0);
	CHECK_STR(back.vm_dir, ""); /* booted cold */
	CHECK_EQ_INT(back.vm_monitor.pid, 0);
	husk_state_free(&back);
	/* a VM adopted from a pool: its dir and pool monitor */
	snprintf(st.vm_dir, sizeof st.vm_dir, "/run/husk/pool.d/3");
	husk_pid_ref_set(&st.vm_monitor, getpid());
	CHECK_EQ_INT(husk_state_write(dir, &st, &err), 0);
	CHECK_EQ_INT(husk_state_read(dir, &back, &err), 0);
	CHECK_STR(back.vm_dir, "/run/husk/pool.d/3");
	CHECK_EQ_INT(back.vm_monitor.pid, getpid());
	CHECK_EQ_INT(back.vm_monitor.start_time, st.vm_monitor.start_time);
	husk_state_free(&back);
	st.vm_dir[0] = '\0';
	/* a pod member: its sandbox, slot and the VM's size */
	snprintf(st.sandbox, sizeof st.sandbox, "sb");
	snprintf(st.sandbox_dir, sizeof st.sandbox_dir, "/run/husk/sb");
	st.slot = 15;
	st.vm_memory_mib = 384;
	st.vm_vcpus = 2;
	CHECK_EQ_INT(husk_state_write(dir, &st, &err), 0);
	CHECK_EQ_INT(husk_state_read(dir, &back, &err), 0);
	CHECK_STR(back.sandbox, "sb");
	CHECK_STR(back.sandbox_dir, "/run/husk/sb");
	CHECK_EQ_INT(back.slot, 15);
	CHECK_EQ_INT(back.vm_memory_mib, 384);
	CHECK_EQ_INT(back.vm_vcpus, 2);
	/* exited wins over a live monitor */
	CHECK_EQ_INT(husk_state_status(&back), HUSK_STATUS_STOPPED);
	back.exited = false;
	CHECK_EQ_INT(husk_state_status(&back), HUSK_STATUS_RUNNING);
	husk_state_free(&st);
	husk_state_free(&back);
	CHECK_EQ_INT(remove_tree(dir, &err), 0);
	return TEST_PASS;
}

static enum test_result test_corrupt_state(void)
{
	struct husk_err err = { 0 };
	struct husk_state st;
	char dir[] = "/tmp/husk-unit-state.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/state.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"id\": ", f);
	fclose(f);
	CHECK_EQ_INT(husk_state_read(dir, &st, &err), -EBADMSG);
	CHECK(strstr(err.msg, "corrupt") != NULL);
	husk_err_clear(&err);
	CHECK_EQ_INT(remove_tree(dir, &err), 0);
	return TEST_PASS;
}

static enum test_result test_signal_names(void)
{
	CHECK_EQ_INT(cli_parse_signal("9"), SIGKILL);
	CHECK_EQ_INT(cli_parse_signal("KILL"), SIGKILL);
	CHECK_EQ_INT(cli_parse_signal("SIGKILL"), SIGKILL);
	CHECK_EQ_INT(cli_parse_signal("sigterm"), SIGTERM);
	CHECK_EQ_INT(cli_parse_signal("15"), SIGTERM);
	CHECK_EQ_INT(cli_parse_signal("RTMIN+1"), SIGRTMIN + 1);
	CHECK_EQ_INT(cli_parse_signal("0"), 0); /* kill ID 0: a liveness check */
	CHECK(cli_parse_signal("-1") < 0);
	CHECK(cli_parse_signal("65") < 0);
	CHECK(cli_parse_signal("NOPE") < 0);
	CHECK(cli_parse_signal("9x") < 0);
	CHECK(cli_parse_signal("RTMAX+1") < 0);
	return TEST_PASS;
}

static enum test_result test_atomic_write_and_read_limit(void)
{
	struct husk_err err = { 0 };
	char dir[] = "/tmp/husk-unit-fs.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/sub/deeper", dir);
	CHECK_EQ_INT(mkdir_p(path, 0700, &err), 0);
	snprintf(path, sizeof path, "%s/f", dir);
	CHECK_EQ_INT(write_file_atomic(path, "hello", 5, 0600, &err), 0);
	char *text = NULL;
	size_t len = 0;
	CHECK_EQ_INT(read_file(path, 100, &text, &len, &err), 0);
	CHECK_STR(text, "hello");
	free(text);
	CHECK_EQ_INT(read_file(path, 3, &text, &len, &err), -EFBIG);
	husk_err_clear(&err);
	CHECK_EQ_INT(remove_tree(dir, &err), 0);
	CHECK(access(dir, F_OK) < 0);
	return TEST_PASS;
}

/* a state dir reached through a long link: sockets go through the real dir */
static enum test_result test_sock_addr_long_link(void)
{
	char tmpl[] = "/tmp/husk-unit-sock.XXXXXX";
	char real[PATH_MAX], longdir[PATH_MAX], link[PATH_MAX + 16];
	struct sockaddr_un addr;
	struct husk_err err = { 0 };
	CHECK(mkdtemp(tmpl) != NULL);
	snprintf(real, sizeof real, "%s/r", tmpl);
	CHECK(mkdir(real, 0700) == 0);
	CHECK_EQ_INT(husk_state_sock_addr(&addr, real, "ctl.sock", &err), 0);
	CHECK(!strcmp(addr.sun_path + strlen(tmpl), "/r/ctl.sock"));
	/* a 150-byte path to a link to the real dir */
	snprintf(longdir, sizeof longdir, "%s/%0120d", tmpl, 0);
	CHECK(mkdir(longdir, 0700) == 0);
	snprintf(link, sizeof link, "%s/c", longdir);
	CHECK(symlink(real, link) == 0);
	CHECK_EQ_INT(husk_state_sock_addr(&addr, link, "ctl.sock", &err), 0);
	CHECK(strlen(addr.sun_path) < sizeof addr.sun_path);
	CHECK(!strncmp(addr.sun_path, tmpl, strlen(tmpl)) && !strcmp(addr.sun_path + strlen(tmpl), "/r/ctl.sock"));
	/* a long path that is no link cannot be shortened: a clear error */
	CHECK(husk_state_sock_addr(&addr, longdir, "ctl.sock", &err) < 0);
	CHECK(strstr(err.msg, "too long") != NULL);
	/* a state dir whose path is too long for sockets is refused unless
	 * made through the default root (covered by the e2e tests) */
	unlink(link);
	rmdir(longdir);
	rmdir(real);
	rmdir(tmpl);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "start time matches /proc", test_start_time_matches_proc },
		{ "pid identity: same process, recycled, exited", test_same_process },
		{ "a zombie counts as gone", test_zombie_is_gone },
		{ "container ids", test_ids },
		{ "state.json round trip", test_round_trip },
		{ "corrupt state.json is a clear error", test_corrupt_state },
		{ "signal names and numbers", test_signal_names },
		{ "atomic write, bounded read, remove_tree", test_atomic_write_and_read_limit },
		{ "socket paths through a long link use the real dir", test_sock_addr_long_link },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
