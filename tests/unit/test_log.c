/* host/state/log.c: runc's log formats (logrus text, JSON). */
#include "host/state/log.h"

#include <stdlib.h>
#include <unistd.h>

#include "tests/unit/unit.h"

static char path[] = "/tmp/husk-test-log.XXXXXX";

/* the last line written, without its newline */
static const char *last_line(void)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	buf[0] = '\0';
	if (!f)
		return buf;
	while (fgets(buf, sizeof buf, f))
		;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* the line after its time="..." field */
static const char *after_time(void)
{
	const char *l = last_line();
	if (strncmp(l, "time=\"", 6) != 0)
		return "(no time field)";
	const char *end = strchr(l + 6, '"');
	return end ? end + 2 : "(unterminated time)";
}

static enum test_result test_text(void)
{
	husk_log_setup(path, false, HUSK_LOG_DEBUG);
	husk_log_set_id("");
	log_info("created");
	CHECK_STR(after_time(), "level=info msg=created");
	log_error("cannot \"start\": a\\b");
	CHECK_STR(after_time(), "level=error msg=\"cannot \\\"start\\\": a\\\\b\"");
	husk_log_set_id("ctr-1");
	log_debug("qemu spawned, pid %d", 42);
	CHECK_STR(after_time(), "level=debug msg=\"qemu spawned, pid 42\" id=ctr-1");
	log_warn("two\nlines\x1b[2J");
	CHECK_STR(after_time(), "level=warning msg=\"two\\nlines\\x1b[2J\" id=ctr-1");
	/* RFC 3339 with nanoseconds, UTC */
	const char *l = last_line();
	CHECK_EQ_INT(strlen("time=\"2026-01-02T03:04:05.123456789Z\""), strchr(l + 6, '"') - l + 1);
	CHECK(l[16] == 'T' && l[35] == 'Z');
	return TEST_PASS;
}

static enum test_result test_level_filter(void)
{
	husk_log_setup(path, false, HUSK_LOG_INFO);
	husk_log_set_id("");
	log_info("kept");
	log_debug("dropped");
	CHECK_STR(after_time(), "level=info msg=kept");
	return TEST_PASS;
}

static enum test_result test_json(void)
{
	husk_log_setup(path, true, HUSK_LOG_INFO);
	log_error("bad \"x\"");
	const char *l = last_line();
	static const char head[] = "{\"level\":\"error\",\"msg\":\"bad \\\"x\\\"\",\"time\":\"";
	CHECK(strncmp(l, head, strlen(head)) == 0);
	return TEST_PASS;
}

int main(void)
{
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	static const struct unit_test tests[] = {
		{ "log: logrus text lines, quoted as Go's %q", test_text },
		{ "log: lines below the level are dropped", test_level_filter },
		{ "log: runc's JSON lines", test_json },
	};
	int r = unit_run(tests, ARRAY_SIZE(tests));
	unlink(path);
	return r;
}
