/* What the guest's ps reads from /proc, parsed, run on the host
 * (guest/ps_parse.c through build/libguest-host.a). */
#include "guest/guest.h"
#include "tests/unit/unit.h"

static enum test_result test_stat_and_status(void)
{
	CHECK_EQ_INT(ps_parse_ppid("42 (sleep) S 7 42 42 0 -1"), 7);
	/* a comm with spaces and parentheses: the last ')' ends it */
	CHECK_EQ_INT(ps_parse_ppid("42 (a) b) (c) R 9 1 1"), 9);
	CHECK_EQ_INT(ps_parse_ppid("42 (x)"), 0);
	CHECK_EQ_INT(ps_parse_ppid("garbage"), 0);
	CHECK_EQ_INT(ps_parse_uid("Name:\tsh\nUmask:\t0022\nUid:\t1000\t1000\t1000\t1000\n"), 1000);
	CHECK_EQ_INT(ps_parse_uid("Name:\tsh\n"), -1);
	return TEST_PASS;
}

static enum test_result test_clean_cmd(void)
{
	char a[32];
	memcpy(a, "sh\0-c\0sleep 1\0", 14);
	ps_clean_cmd(a, 14);
	CHECK_STR(a, "sh -c sleep 1");
	char b[8] = "kworker";
	ps_clean_cmd(b, 0);
	CHECK_STR(b, "");
	char c[16];
	memcpy(c, "init\n\n  ", 8);
	ps_clean_cmd(c, 8);
	CHECK_STR(c, "init");
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "ppid from /proc/PID/stat, uid from status", test_stat_and_status },
		{ "the command line: NULs to spaces, trimmed", test_clean_cmd },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
