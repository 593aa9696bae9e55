/* The sandbox's keeper (host/cli/sandbox_keeper.c) without an image or a
 * network: when it lets go and undoes. It must stay while the monitor it
 * was handed lives (also after its caller let go), end once that monitor
 * has ended, end at once when let go before any monitor or on SIGTERM, and
 * leave no process when its set-up fails. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/cli/sandbox_host.h"
#include "tests/unit/unit.h"

#define WAIT_MS 5000

/* a stand-in for the container's monitor */
static pid_t fake_monitor(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static bool alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

static int start(struct husk_sb_keeper *k)
{
	struct husk_sb_keeper_opts o = { 0 };
	struct husk_sb_host host;
	struct husk_err err = { 0 };
	int r = husk_sb_keeper_start(&o, k, &host, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	return r;
}

/* a keeper handed mon, then let go by its caller */
static int start_watching(struct husk_sb_keeper *k, pid_t mon)
{
	struct husk_err err = { 0 };
	int r = start(k);
	if (r == 0)
		r = husk_sb_keeper_watch(k, mon, &err);
	husk_sb_keeper_release(k);
	return r;
}

static enum test_result test_release_without_monitor(void)
{
	struct husk_sb_keeper k;
	CHECK_EQ_INT(start(&k), 0);
	CHECK(k.pid > 0 && k.ctl >= 0 && k.start_time > 0);
	usleep(100000);
	CHECK(alive(k.pid));
	husk_sb_keeper_release(&k);
	CHECK(k.ctl == -1);
	CHECK(husk_sb_keeper_wait(k.pid, k.start_time, true, WAIT_MS));
	return TEST_PASS;
}

static enum test_result test_stays_while_monitor_lives(void)
{
	struct husk_sb_keeper k;
	pid_t mon = fake_monitor();
	CHECK(mon > 0);
	CHECK_EQ_INT(start_watching(&k, mon), 0);
	usleep(300000);
	CHECK(alive(k.pid)); /* let go, but the monitor lives */
	kill(mon, SIGKILL);
	waitpid(mon, NULL, 0);
	CHECK(husk_sb_keeper_wait(k.pid, k.start_time, true, WAIT_MS));
	return TEST_PASS;
}

static enum test_result test_sigterm_and_gone_monitor(void)
{
	struct husk_sb_keeper k;
	struct husk_err err = { 0 };
	pid_t mon = fake_monitor();
	CHECK(mon > 0);
	CHECK_EQ_INT(start_watching(&k, mon), 0);
	kill(k.pid, SIGTERM); /* undo at once, the monitor still alive */
	CHECK(husk_sb_keeper_wait(k.pid, k.start_time, true, WAIT_MS));
	CHECK(alive(mon));
	/* a monitor that had already ended when handed */
	kill(mon, SIGKILL);
	waitpid(mon, NULL, 0);
	CHECK_EQ_INT(start_watching(&k, mon), 0);
	CHECK(husk_sb_keeper_wait(k.pid, k.start_time, true, WAIT_MS));
	/* a keeper that is gone: watch says so (no SIGPIPE) */
	CHECK_EQ_INT(start(&k), 0);
	kill(k.pid, SIGTERM);
	CHECK(husk_sb_keeper_wait(k.pid, k.start_time, true, WAIT_MS));
	CHECK_EQ_INT(husk_sb_keeper_watch(&k, getpid(), &err), -EIO);
	husk_sb_keeper_release(&k);
	return TEST_PASS;
}

static enum test_result test_failed_setup(void)
{
	struct husk_sb_keeper_opts o = { .image_name = "-x" };
	struct husk_sb_keeper k;
	struct husk_sb_host host;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_sb_keeper_start(&o, &k, &host, &err), -EINVAL);
	CHECK_STR(err.msg, "--image \"-x\" is not an image name");
	CHECK(k.pid == 0 && k.ctl == -1);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD); /* reaped, nothing left */
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "keeper: let go before a monitor: it ends", test_release_without_monitor },
		{ "keeper: stays while the monitor lives, ends after it", test_stays_while_monitor_lives },
		{ "keeper: SIGTERM, a monitor already gone, a keeper gone", test_sigterm_and_gone_monitor },
		{ "keeper: a failed set-up leaves no process", test_failed_setup },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
