/* A pod member's create, up to where it would touch the sandbox's VM: the
 * refusals under pod.lock (sandbox not created or running, pod closing, 16
 * containers), each a one-line error that leaves no state dir. The
 * "sandbox" is a state.json whose monitor is this process. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/container/container.h"
#include "host/state/fsutil.h"
#include "host/state/pod.h"
#include "host/state/state.h"
#include "tests/unit/unit.h"

static char top[PATH_MAX], root[PATH_MAX + 8], bundle[PATH_MAX + 8], sb_dir[PATH_MAX + 16];

static int write_sandbox(enum husk_status status)
{
	struct husk_state st;
	struct husk_err err = { 0 };
	memset(&st, 0, sizeof st);
	snprintf(st.id, sizeof st.id, "sb");
	st.status = status;
	husk_pid_ref_set(&st.monitor, getpid());
	return husk_state_write(sb_dir, &st, &err);
}

static int write_pod(bool closing, uint32_t members)
{
	struct husk_pod p;
	struct husk_err err = { 0 };
	memset(&p, 0, sizeof p);
	p.closing = closing;
	for (uint32_t i = 1; i <= members; i++) {
		char id[16];
		snprintf(id, sizeof id, "m%u", i);
		if (husk_pod_add(&p, id, i, &err) < 0)
			return -1;
	}
	return husk_pod_write(sb_dir, &p, &err);
}

static int create(struct husk_err *err)
{
	char dir[PATH_MAX];
	struct husk_create_opts o = { .root = root, .id = "new", .bundle = bundle };
	husk_err_clear(err);
	return (int)husk_container_create(&o, dir, sizeof dir, err);
}

static enum test_result test_refusals(void)
{
	static const struct {
		enum husk_status status;
		bool closing;
		uint32_t members;
		const char *needle;
	} cases[] = {
		{ HUSK_STATUS_PAUSED, false, 0,
		  "sandbox \"sb\" is paused; a container joins a created or running one" },
		{ HUSK_STATUS_CREATING, false, 0, "sandbox \"sb\" is creating" },
		{ HUSK_STATUS_RUNNING, true, 0, "sandbox \"sb\" is being deleted" },
		{ HUSK_STATUS_RUNNING, false, 15, "the pod's VM holds 16 containers" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct husk_err err = { 0 };
		char left[PATH_MAX + 16];
		CHECK_EQ_INT(write_sandbox(cases[i].status), 0);
		CHECK_EQ_INT(write_pod(cases[i].closing, cases[i].members), 0);
		int r = create(&err);
		snprintf(left, sizeof left, "%s/new", root);
		if (r >= 0 || !strstr(err.msg, cases[i].needle) || strchr(err.msg, '\n') || access(left, F_OK) == 0) {
			printf("# case %zu: r=%d msg=%s\n", i, r, err.msg);
			return TEST_FAIL;
		}
	}
	return TEST_PASS;
}

int main(void)
{
	struct husk_err err = { 0 };
	char rootfs[PATH_MAX + 16], config[PATH_MAX + 32];
	snprintf(top, sizeof top, "/tmp/husk-unit-podc.%d", (int)getpid());
	snprintf(root, sizeof root, "%s/root", top);
	snprintf(bundle, sizeof bundle, "%s/b", top);
	snprintf(sb_dir, sizeof sb_dir, "%s/sb", root);
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
	snprintf(config, sizeof config, "%s/config.json", bundle);
	static const char text[] =
		"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		"\"process\":{\"args\":[\"/bin/true\"],\"cwd\":\"/\"},"
		"\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
		"\"io.kubernetes.cri.sandbox-id\":\"sb\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}";
	if (mkdir_p(rootfs, 0755, &err) < 0 || mkdir_p(sb_dir, 0700, &err) < 0 ||
	    write_file_atomic(config, text, strlen(text), 0644, &err) < 0)
		return 1;
	unsetenv("NOTIFY_SOCKET");
	static const struct unit_test tests[] = {
		{ "a member's create refused: sandbox not created or running, closing, full", test_refusals },
	};
	int r = unit_run(tests, ARRAY_SIZE(tests));
	remove_tree(top, &err);
	return r;
}
