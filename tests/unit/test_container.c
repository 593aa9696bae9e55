/* The container layer: statuses and their OCI words, and what the verbs'
 * operations do with a container's state before any monitor is involved. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/container/container.h"
#include "host/state/fsutil.h"
#include "host/state/state.h"
#include "tests/unit/unit.h"

static enum test_result test_status_words(void)
{
	static const struct {
		enum husk_status s;
		const char *word;
	} words[] = {
		{ HUSK_STATUS_CREATING, "creating" }, { HUSK_STATUS_CREATED, "created" },
		{ HUSK_STATUS_RUNNING, "running" },   { HUSK_STATUS_PAUSED, "paused" },
		{ HUSK_STATUS_STOPPED, "stopped" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
		enum husk_status back;
		CHECK_STR(husk_status_name(words[i].s), words[i].word);
		CHECK_EQ_INT(husk_status_parse(words[i].word, &back), 0);
		CHECK_EQ_INT(back, words[i].s);
	}
	enum husk_status s;
	CHECK_EQ_INT(husk_status_parse("Running", &s), -EINVAL);
	CHECK_EQ_INT(husk_status_parse("", &s), -EINVAL);
	CHECK_STR(husk_status_name((enum husk_status)99), "unknown");
	CHECK(!husk_status_live(HUSK_STATUS_CREATING));
	CHECK(husk_status_live(HUSK_STATUS_CREATED));
	CHECK(husk_status_live(HUSK_STATUS_RUNNING));
	CHECK(husk_status_live(HUSK_STATUS_PAUSED));
	CHECK(!husk_status_live(HUSK_STATUS_STOPPED));
	return TEST_PASS;
}

/* A root with container c1 in status s; its monitor is this process when
 * live (never signalled: only refusals are tested with it). */
static int make_container(char *root, enum husk_status s, bool live)
{
	struct husk_err err = { 0 };
	char dir[PATH_MAX];
	if (!mkdtemp(root))
		return -1;
	snprintf(dir, sizeof dir, "%s/c1", root);
	if (mkdir(dir, 0700) < 0)
		return -1;
	struct husk_state st = { 0 };
	snprintf(st.id, sizeof st.id, "c1");
	st.status = s;
	husk_time_now(st.created, sizeof st.created);
	if (live)
		husk_pid_ref_set(&st.monitor, getpid());
	return husk_state_write(dir, &st, &err);
}

static enum test_result test_state_json_words(void)
{
	struct husk_err err = { 0 };
	char root[] = "/tmp/husk-unit-ctr.XXXXXX", path[PATH_MAX];
	CHECK_EQ_INT(make_container(root, HUSK_STATUS_PAUSED, true), 0);
	snprintf(path, sizeof path, "%s/c1/state.json", root);
	char *text = NULL;
	size_t len;
	CHECK_EQ_INT(read_file(path, 1 << 20, &text, &len, &err), 0);
	CHECK(strstr(text, "\"status\":\"paused\"") != NULL);
	free(text);
	/* a word that is no status: the file is corrupt */
	const char *bad = "{\"id\":\"c1\",\"status\":\"sleeping\"}";
	CHECK_EQ_INT(write_file_atomic(path, bad, strlen(bad), 0600, &err), 0);
	struct husk_state st;
	char dir[PATH_MAX];
	CHECK_EQ_INT(husk_container_load(root, "c1", dir, sizeof dir, &st, &err), -EBADMSG);
	CHECK(strstr(err.msg, "corrupt") != NULL);
	husk_err_clear(&err);
	CHECK_EQ_INT(remove_tree(root, &err), 0);
	return TEST_PASS;
}

static enum test_result test_load_missing(void)
{
	struct husk_err err = { 0 };
	struct husk_state st;
	char root[] = "/tmp/husk-unit-ctr.XXXXXX", dir[PATH_MAX];
	CHECK(mkdtemp(root) != NULL);
	CHECK_EQ_INT(husk_container_load(root, "nope", dir, sizeof dir, &st, &err), -ENOENT);
	CHECK_STR(err.msg, "container \"nope\" does not exist");
	husk_err_clear(&err);
	CHECK(husk_container_load(root, "../x", dir, sizeof dir, &st, &err) < 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_container_start(root, "nope", &err), -ENOENT);
	rmdir(root);
	return TEST_PASS;
}

static enum test_result test_refusals(void)
{
	struct husk_err err = { 0 };
	char root[] = "/tmp/husk-unit-ctr.XXXXXX";
	CHECK_EQ_INT(make_container(root, HUSK_STATUS_RUNNING, true), 0);
	CHECK(husk_container_start(root, "c1", &err) < 0);
	CHECK_STR(err.msg, "cannot start a container that is running; it must be created");
	husk_err_clear(&err);
	CHECK(husk_container_delete(root, "c1", false, &err) < 0);
	CHECK_STR(err.msg, "cannot delete container \"c1\" that is not stopped: running (use --force)");
	husk_err_clear(&err);
	struct husk_state st;
	char dir[PATH_MAX];
	CHECK_EQ_INT(husk_container_load(root, "c1", dir, sizeof dir, &st, &err), 0); /* still there */
	st.status = HUSK_STATUS_PAUSED;
	CHECK(husk_container_can_exec(&st, false, &err) < 0);
	CHECK(strstr(err.msg, "--ignore-paused") != NULL);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_container_can_exec(&st, true, &err), 0);
	st.exited = true; /* stopped, whatever the word */
	CHECK(husk_container_can_exec(&st, true, &err) < 0);
	CHECK_STR(err.msg, "cannot exec in a stopped container");
	husk_err_clear(&err);
	husk_state_free(&st);
	CHECK_EQ_INT(remove_tree(root, &err), 0);
	return TEST_PASS;
}

static enum test_result test_stopped_kill_and_delete(void)
{
	struct husk_err err = { 0 };
	char root[] = "/tmp/husk-unit-ctr.XXXXXX", dir[PATH_MAX];
	/* "running" in state.json, but no monitor: stopped */
	CHECK_EQ_INT(make_container(root, HUSK_STATUS_RUNNING, false), 0);
	CHECK(husk_container_kill(root, "c1", SIGTERM, false, &err) < 0);
	CHECK_STR(err.msg, "cannot signal \"c1\": container not running");
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_container_delete(root, "c1", false, &err), 0);
	snprintf(dir, sizeof dir, "%s/c1", root);
	CHECK(access(dir, F_OK) < 0);
	CHECK(husk_container_delete(root, "c1", false, &err) < 0);
	CHECK_STR(err.msg, "container \"c1\" does not exist");
	husk_err_clear(&err);
	/* a create that died before state.json: only --force removes it */
	CHECK_EQ_INT(mkdir(dir, 0700), 0);
	CHECK_EQ_INT(husk_container_delete(root, "c1", false, &err), -ENOENT);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_container_delete(root, "c1", true, &err), 0);
	CHECK(access(dir, F_OK) < 0);
	rmdir(root);
	return TEST_PASS;
}

static enum test_result test_vsock_resolve(void)
{
	CHECK_STR(husk_container_vsock_resolve("vhost"), "vhost");
	CHECK_STR(husk_container_vsock_resolve("vhost-user"), "vhost-user");
	const char *a = husk_container_vsock_resolve("auto");
	CHECK(!strcmp(a, "vhost") || !strcmp(a, "vhost-user"));
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "statuses and their OCI words", test_status_words },
		{ "state.json keeps the words; an unknown one is corrupt", test_state_json_words },
		{ "a missing container", test_load_missing },
		{ "start, delete and exec refused in the wrong status", test_refusals },
		{ "kill and delete of a stopped container", test_stopped_kill_and_delete },
		{ "the vsock back-end config reports", test_vsock_resolve },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
