/* husk_pod_resolve (host/container/pod.c): which VM a container joins,
 * from each engine's annotations and from namespace paths to a husk
 * monitor, and the one-line refusals. The "monitors" are this process and
 * two children of it, recorded in state.json files under a scratch root. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/container/pod.h"
#include "host/state/fsutil.h"
#include "host/state/state.h"
#include "proto/msg.h"
#include "proto/msg_container.h"
#include "tests/unit/unit.h"

static char root[PATH_MAX], bundle[PATH_MAX];
static char sb[64], sb2[64], mem[64], dead[64]; /* ids, unique per run */
static pid_t child_mem, child_sb2;

static int fake_container(const char *id, pid_t monitor, const char *sandbox, uint32_t slot)
{
	struct husk_state st;
	struct husk_err err = { 0 };
	char dir[PATH_MAX + 300];
	memset(&st, 0, sizeof st);
	snprintf(st.id, sizeof st.id, "%s", id);
	st.status = HUSK_STATUS_RUNNING;
	husk_pid_ref_set(&st.monitor, monitor);
	snprintf(dir, sizeof dir, "%s/%s", root, id);
	if (sandbox) {
		snprintf(st.sandbox, sizeof st.sandbox, "%s", sandbox);
		snprintf(st.sandbox_dir, sizeof st.sandbox_dir, "%s/%s", root, sandbox);
		st.slot = slot;
	}
	if (mkdir_p(dir, 0700, &err) < 0 || husk_state_write(dir, &st, &err) < 0) {
		printf("# %s\n", err.msg);
		return -1;
	}
	return 0;
}

static pid_t sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

/* resolves a config with these annotations and linux.namespaces members */
static int resolve(const char *id, const char *annotations, const char *namespaces, struct husk_pod_target *t,
		   struct husk_err *err)
{
	char text[4096];
	struct husk_spec spec;
	snprintf(text, sizeof text,
		 "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		 "\"process\":{\"args\":[\"/bin/sh\"],\"cwd\":\"/\"},\"annotations\":{%s},"
		 "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}%s]}}",
		 annotations, namespaces);
	husk_err_clear(err);
	int r = husk_spec_parse(&spec, bundle, text, strlen(text), err);
	if (r < 0)
		return r;
	r = husk_pod_resolve(root, id, &spec, t, err);
	husk_spec_free(&spec);
	return r;
}

/* out = in with @S, @M and @I replaced by the ids they stand for */
static void expand(char *out, size_t cap, const char *in)
{
	size_t n = 0;
	for (const char *p = in; *p && n + 1 < cap; p++) {
		const char *sub = NULL;
		if (p[0] == '@' && p[1])
			sub = p[1] == 'S' ? sb : p[1] == 'M' ? mem : p[1] == 'I' ? "new1" : NULL;
		if (!sub) {
			out[n++] = *p;
			continue;
		}
		n += (size_t)snprintf(out + n, cap - n, "%s", sub);
		p++;
	}
	out[n < cap ? n : cap - 1] = '\0';
}

static enum test_result test_annotations(void)
{
	static const struct {
		const char *ann; /* @S: the sandbox's id, @M: a member's, @I: the new container's own */
		int member;      /* 1 member, 0 own VM, 2 own VM annotated as a pod's sandbox */
		const char *sandbox;
	} cases[] = {
		{ "", 0, NULL },
		{ "\"io.kubernetes.cri.container-type\":\"sandbox\",\"io.kubernetes.cri.sandbox-id\":\"@I\"", 2, NULL },
		{ "\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":\"@S\"", 1, sb },
		/* CRI-O, and Podman 4.3 */
		{ "\"io.kubernetes.cri-o.ContainerType\":\"sandbox\"", 2, NULL },
		{ "\"io.kubernetes.cri-o.ContainerType\":\"container\",\"io.kubernetes.cri-o.SandboxID\":\"@S\"", 1,
		  sb },
		/* Podman >= 4.4: the sandbox id alone; the infra carries its own */
		{ "\"io.kubernetes.cri-o.SandboxID\":\"@S\"", 1, sb },
		{ "\"io.kubernetes.cri-o.SandboxID\":\"@I\"", 2, NULL },
		/* a member named as the sandbox stands for its sandbox */
		{ "\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":\"@M\"", 1, sb },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char ann[512];
		struct husk_pod_target t;
		struct husk_err err = { 0 };
		expand(ann, sizeof ann, cases[i].ann);
		int r = resolve("new1", ann, "", &t, &err);
		if (r < 0 || t.member != (cases[i].member == 1) || t.pod_sandbox != (cases[i].member == 2) ||
		    (cases[i].sandbox && strcmp(t.sandbox_id, cases[i].sandbox)) || t.join_mask) {
			printf("# case %zu: r=%d member=%d pod_sandbox=%d sandbox=%s err=%s\n", i, r, t.member,
			       t.pod_sandbox, t.sandbox_id, err.msg);
			return TEST_FAIL;
		}
		if (t.member) {
			char want[PATH_MAX + 80];
			snprintf(want, sizeof want, "%s/%s", root, sb);
			CHECK_STR(t.sandbox_dir, want);
		}
	}
	return TEST_PASS;
}

static enum test_result test_paths(void)
{
	char ns[512];
	struct husk_pod_target t;
	struct husk_err err = { 0 };
	/* the sandbox's monitor for ipc, a member's for uts: one VM, two slots */
	snprintf(ns, sizeof ns,
		 ",{\"type\":\"ipc\",\"path\":\"/proc/%d/ns/ipc\"},{\"type\":\"uts\",\"path\":\"/proc/%d/ns/uts\"}",
		 (int)getpid(), (int)child_mem);
	CHECK_EQ_INT(resolve("new2", "", ns, &t, &err), 0);
	CHECK(t.member);
	CHECK_STR(t.sandbox_id, sb);
	int ipc = husk_ns_join_index("ipc"), uts = husk_ns_join_index("uts");
	CHECK_EQ_INT(t.join_mask, (1u << ipc) | (1u << uts));
	CHECK_EQ_INT(t.join_slot[ipc], 0);
	CHECK_EQ_INT(t.join_slot[uts], 4);
	/* annotations naming the same VM as the paths */
	char ann[256];
	snprintf(ann, sizeof ann,
		 "\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":\"%s\"", sb);
	CHECK_EQ_INT(resolve("new2", ann, ns, &t, &err), 0);
	CHECK_STR(t.sandbox_id, sb);
	CHECK_EQ_INT(t.join_mask, (1u << ipc) | (1u << uts));
	return TEST_PASS;
}

/* a network path to a monitor joins that VM (Docker's --net=container:X,
 * Podman 4.3's members); any other network path is no join */
static enum test_result test_network_paths(void)
{
	char ns[512], ann[512];
	struct husk_pod_target t;
	struct husk_err err = { 0 };
	int ipc = husk_ns_join_index("ipc");
	/* alone, to a member's monitor: its sandbox's VM, no kind joined */
	snprintf(ns, sizeof ns, ",{\"type\":\"network\",\"path\":\"/proc/%d/ns/net\"}", (int)child_mem);
	CHECK_EQ_INT(resolve("new4", "", ns, &t, &err), 0);
	CHECK(t.member);
	CHECK_STR(t.sandbox_id, sb);
	CHECK_EQ_INT(t.join_mask, 0);
	CHECK(strstr(t.why, "network namespace path"));
	/* Docker's shape: net and ipc of the sandbox */
	snprintf(ns, sizeof ns,
		 ",{\"type\":\"network\",\"path\":\"/proc/%d/ns/net\"},{\"type\":\"ipc\",\"path\":\"/proc/%d/ns/"
		 "ipc\"}",
		 (int)getpid(), (int)getpid());
	CHECK_EQ_INT(resolve("new4", "", ns, &t, &err), 0);
	CHECK(t.member);
	CHECK_STR(t.sandbox_id, sb);
	CHECK_EQ_INT(t.join_mask, 1u << ipc);
	/* Podman 4.3's member: annotations, and net/ipc/uts of the infra */
	snprintf(ann, sizeof ann,
		 "\"io.kubernetes.cri-o.ContainerType\":\"container\",\"io.kubernetes.cri-o.SandboxID\":\"%s\"", sb);
	CHECK_EQ_INT(resolve("new4", ann, ns, &t, &err), 0);
	CHECK_STR(t.sandbox_id, sb);
	/* a path that is no monitor's: a VM of its own (host/net's checks) */
	CHECK_EQ_INT(resolve("new4", "", ",{\"type\":\"network\",\"path\":\"/run/netns/x\"}", &t, &err), 0);
	CHECK(!t.member);
	CHECK_EQ_INT(resolve("new4", "", ",{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}", &t, &err), 0);
	CHECK(!t.member);
	/* ... and a member's pod netns is no join either */
	CHECK_EQ_INT(resolve("new4", ann, ",{\"type\":\"network\",\"path\":\"/run/netns/x\"}", &t, &err), 0);
	CHECK(t.member);
	CHECK_STR(t.sandbox_id, sb);
	/* annotation and network path naming different VMs; a sandbox joining one */
	snprintf(ns, sizeof ns, ",{\"type\":\"network\",\"path\":\"/proc/%d/ns/net\"}", (int)child_sb2);
	CHECK(resolve("new4", ann, ns, &t, &err) == -EINVAL);
	char want[512];
	snprintf(want, sizeof want,
		 "names the VM of \"%s\" but the network namespace path /proc/%d/ns/net is in the VM of \"%s\"", sb,
		 (int)child_sb2, sb2);
	CHECK(strstr(err.msg, want));
	CHECK(resolve("new4", "\"io.kubernetes.cri.container-type\":\"sandbox\"", ns, &t, &err) == -EINVAL);
	CHECK(strstr(err.msg, "annotated as a pod's sandbox but its network namespace path"));
	return TEST_PASS;
}

/* the join kinds' indexes are the protocol's (enum husk_join_kind) */
static enum test_result test_kinds_match_protocol(void)
{
	CHECK_EQ_INT(HUSK_NS_JOIN_KINDS, HUSK_JOIN_KINDS);
	for (int k = 0; k < (int)HUSK_JOIN_KINDS; k++)
		CHECK_STR(husk_ns_join_name(k), husk_join_key((enum husk_join_kind)k));
	return TEST_PASS;
}

static enum test_result test_refusals(void)
{
	char ann[256], ns[256], want[512];
	struct husk_pod_target t;
	struct husk_err err = { 0 };
	static const char *const bad_ann[][2] = {
		{ "\"io.kubernetes.cri.container-type\":\"container\"", "io.kubernetes.cri.sandbox-id is missing" },
		{ "\"io.kubernetes.cri.container-type\":\"pod\"", "not \"sandbox\" or \"container\"" },
		{ "\"io.kubernetes.cri-o.ContainerType\":\"container\",\"io.kubernetes.cri-o.SandboxID\":\"nosuch-x\"",
		  "names sandbox \"nosuch-x\", which is no running husk container" },
		{ "\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":\"new3\"",
		  "names the container itself" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_ann); i++) {
		int r = resolve("new3", bad_ann[i][0], "", &t, &err);
		if (r >= 0 || !strstr(err.msg, bad_ann[i][1]) || strchr(err.msg, '\n')) {
			printf("# case %zu: r=%d msg=%s\n", i, r, err.msg);
			return TEST_FAIL;
		}
	}
	/* a sandbox whose monitor is gone */
	snprintf(ann, sizeof ann,
		 "\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":\"%s\"", dead);
	CHECK(resolve("new3", ann, "", &t, &err) == -ENOENT);
	CHECK(strstr(err.msg, "which is no running husk container"));
	/* a host namespace keeps today's text, word for word */
	CHECK(resolve("new3", "", ",{\"type\":\"ipc\",\"path\":\"/proc/1/ns/ipc\"}", &t, &err) == -EINVAL);
	CHECK_STR(err.msg, "config.json: joining an existing ipc namespace (path /proc/1/ns/ipc) is not possible "
			   "across the VM boundary");
	/* a monitor's namespace of another kind, or not a /proc path */
	snprintf(ns, sizeof ns, ",{\"type\":\"pid\",\"path\":\"/proc/%d/ns/ipc\"}", (int)getpid());
	CHECK(resolve("new3", "", ns, &t, &err) == -EINVAL);
	snprintf(want, sizeof want, "config.json: joining an existing pid namespace (path /proc/%d/ns/ipc)",
		 (int)getpid());
	CHECK(!strncmp(err.msg, want, strlen(want)));
	CHECK(resolve("new3", "", ",{\"type\":\"uts\",\"path\":\"/run/uts/x\"}", &t, &err) == -EINVAL);
	CHECK(strstr(err.msg, "not possible across the VM boundary"));
	/* annotation and path naming different VMs */
	snprintf(ann, sizeof ann,
		 "\"io.kubernetes.cri.container-type\":\"container\",\"io.kubernetes.cri.sandbox-id\":\"%s\"", sb);
	snprintf(ns, sizeof ns, ",{\"type\":\"ipc\",\"path\":\"/proc/%d/ns/ipc\"}", (int)child_sb2);
	CHECK(resolve("new3", ann, ns, &t, &err) == -EINVAL);
	snprintf(want, sizeof want,
		 "names the VM of \"%s\" but the ipc namespace path /proc/%d/ns/ipc is in the VM of \"%s\"", sb,
		 (int)child_sb2, sb2);
	CHECK(strstr(err.msg, want));
	CHECK(!strchr(err.msg, '\n'));
	/* annotated as a sandbox, yet joining another VM */
	CHECK(resolve("new3", "\"io.kubernetes.cri.container-type\":\"sandbox\"", ns, &t, &err) == -EINVAL);
	CHECK(strstr(err.msg, "annotated as a pod's sandbox"));
	return TEST_PASS;
}

int main(void)
{
	struct husk_err err = { 0 };
	char rootfs[PATH_MAX + 16];
	int pid = (int)getpid();
	snprintf(root, sizeof root, "/tmp/husk-unit-pod.%d/root", pid);
	snprintf(bundle, sizeof bundle, "/tmp/husk-unit-pod.%d/bundle", pid);
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
	snprintf(sb, sizeof sb, "pod-sb-%d", pid);
	snprintf(sb2, sizeof sb2, "pod-sb2-%d", pid);
	snprintf(mem, sizeof mem, "pod-mem-%d", pid);
	snprintf(dead, sizeof dead, "pod-dead-%d", pid);
	if (mkdir_p(rootfs, 0755, &err) < 0 || mkdir_p(root, 0700, &err) < 0)
		return 1;
	child_mem = sleeper();
	child_sb2 = sleeper();
	pid_t gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	if (fake_container(sb, getpid(), NULL, 0) < 0 || fake_container(mem, child_mem, sb, 4) < 0 ||
	    fake_container(sb2, child_sb2, NULL, 0) < 0 || fake_container(dead, gone, NULL, 0) < 0)
		return 1;
	static const struct unit_test tests[] = {
		{ "annotations: containerd, CRI-O, Podman 4.3, Podman 4.4 (own id)", test_annotations },
		{ "namespace paths to a sandbox's and a member's monitor join their slots", test_paths },
		{ "network paths: to a monitor a join (alone, Docker's, Podman 4.3's), else none", test_network_paths },
		{ "refusals: missing or unknown sandbox, host namespaces, conflicts", test_refusals },
		{ "join kinds are indexed as the protocol's", test_kinds_match_protocol },
	};
	int r = unit_run(tests, ARRAY_SIZE(tests));
	kill(child_mem, SIGKILL);
	kill(child_sb2, SIGKILL);
	waitpid(child_mem, NULL, 0);
	waitpid(child_sb2, NULL, 0);
	char top[PATH_MAX];
	snprintf(top, sizeof top, "/tmp/husk-unit-pod.%d", pid);
	remove_tree(top, &err);
	return r;
}
