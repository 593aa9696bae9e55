/* pod.json and pod.lock (host/state/pod.c): round trip, slot choice,
 * corrupt files, and the lock excluding a second holder. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "host/state/fsutil.h"
#include "host/state/pod.h"
#include "tests/unit/unit.h"

static char dir[PATH_MAX];

static int write_pod_json(const char *text)
{
	char path[PATH_MAX + 16];
	struct husk_err err = { 0 };
	snprintf(path, sizeof path, "%s/pod.json", dir);
	return write_file_atomic(path, text, strlen(text), 0600, &err);
}

static enum test_result test_empty_and_round_trip(void)
{
	struct husk_pod p, q;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_pod_read(dir, &p, &err), 0); /* no pod.json: an empty pod */
	CHECK_EQ_INT(p.n, 0);
	CHECK(!p.closing);
	CHECK_EQ_INT(husk_pod_free_slot(&p), 1);
	CHECK_EQ_INT(husk_pod_add(&p, "a", 1, &err), 0);
	CHECK_EQ_INT(husk_pod_add(&p, "b", 3, &err), 0);
	CHECK_EQ_INT(husk_pod_free_slot(&p), 2);
	p.closing = true;
	CHECK_EQ_INT(husk_pod_write(dir, &p, &err), 0);
	CHECK_EQ_INT(husk_pod_read(dir, &q, &err), 0);
	CHECK(q.closing);
	CHECK_EQ_INT(q.n, 2);
	CHECK_EQ_INT(husk_pod_find(&q, "a"), 1);
	CHECK_EQ_INT(husk_pod_find(&q, "b"), 3);
	CHECK_EQ_INT(husk_pod_find(&q, "c"), -ENOENT);
	CHECK(husk_pod_remove(&q, "a"));
	CHECK(!husk_pod_remove(&q, "a"));
	CHECK_EQ_INT(husk_pod_free_slot(&q), 1);
	return TEST_PASS;
}

static enum test_result test_slots_full(void)
{
	struct husk_pod p;
	struct husk_err err = { 0 };
	memset(&p, 0, sizeof p);
	for (uint32_t i = 1; i < HUSK_POD_MAX; i++) {
		char id[16];
		snprintf(id, sizeof id, "m%u", i);
		CHECK_EQ_INT(husk_pod_free_slot(&p), (int)i);
		CHECK_EQ_INT(husk_pod_add(&p, id, i, &err), 0);
	}
	CHECK_EQ_INT(husk_pod_free_slot(&p), -ENOSPC);
	CHECK(husk_pod_add(&p, "x", 5, &err) < 0);
	CHECK(strstr(err.msg, "held by \"m5\""));
	husk_err_clear(&err);
	CHECK(husk_pod_add(&p, "m1", 16, &err) < 0);
	CHECK(strstr(err.msg, "not a member's"));
	husk_err_clear(&err);
	CHECK(husk_pod_add(&p, "bad/id", 1, &err) < 0);
	return TEST_PASS;
}

static enum test_result test_corrupt(void)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
		{ "[]", "not an object" },
		{ "{\"members\":[]}", "\"members\" is not an object" },
		{ "{\"members\":{\"a\":0}}", "has no slot from 1 to 15" },
		{ "{\"members\":{\"a\":16}}", "has no slot from 1 to 15" },
		{ "{\"members\":{\"a\":\"1\"}}", "has no slot" },
		{ "{\"members\":{\"a\":2,\"b\":2}}", "held by" },
		{ "{\"members\":{\"../x\":2}}", "invalid container id" },
		{ "{", "corrupt" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct husk_pod p;
		struct husk_err err = { 0 };
		CHECK_EQ_INT(write_pod_json(cases[i].text), 0);
		int r = husk_pod_read(dir, &p, &err);
		if (r >= 0 || !strstr(err.msg, cases[i].needle) || !strstr(err.msg, "pod.json")) {
			printf("# case %zu: r=%d msg=%s\n", i, r, err.msg);
			return TEST_FAIL;
		}
	}
	return TEST_PASS;
}

static enum test_result test_lock_excludes(void)
{
	struct husk_err err = { 0 };
	int fd = husk_pod_lock(dir, &err);
	CHECK(fd >= 0);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/pod.lock", dir);
	int other = open(path, O_RDWR | O_CLOEXEC);
	CHECK(other >= 0);
	CHECK(flock(other, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);
	close(fd);
	CHECK_EQ_INT(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	return TEST_PASS;
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/husk-test-pod-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	static const struct unit_test tests[] = {
		{ "pod.json: missing is empty, round trip, lowest free slot", test_empty_and_round_trip },
		{ "15 members fill the pod; bad slots and ids refused", test_slots_full },
		{ "a corrupt pod.json is a one-line error", test_corrupt },
		{ "pod.lock excludes a second holder until closed", test_lock_excludes },
	};
	int r = unit_run(tests, ARRAY_SIZE(tests));
	struct husk_err err = { 0 };
	remove_tree(dir, &err);
	return r;
}
