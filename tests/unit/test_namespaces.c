/* linux.namespaces and the user namespace's id mappings: config.json
 * parsing, the one-line rejections, and the CREATE coding with the
 * guest's checks. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "host/state/fsutil.h"
#include "host/spec/spec.h"
#include "proto/msg_container.h"
#include "tests/unit/container_util.h"
#include "tests/unit/unit.h"

static char bundle[PATH_MAX];

static int parse_linux(const char *top, const char *linux_members, struct husk_spec *spec, struct husk_err *err)
{
	char text[8192];
	snprintf(text, sizeof text,
		 "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
		 "\"process\":{\"args\":[\"/bin/sh\"],\"cwd\":\"/\"}%s%s,\"linux\":{%s}}",
		 top[0] ? "," : "", top, linux_members);
	husk_err_clear(err);
	return husk_spec_parse(spec, bundle, text, strlen(text), err);
}

static enum test_result test_parse_set(void)
{
	struct husk_spec spec;
	struct husk_err err = { 0 };
	int r = parse_linux("\"hostname\":\"h\"",
			    "\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"},{\"type\":\"ipc\"},"
			    "{\"type\":\"uts\"},{\"type\":\"mount\",\"path\":\"\"},{\"type\":\"cgroup\"},"
			    "{\"type\":\"time\"}]",
			    &spec, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_EQ_INT(r, 0);
	struct husk_container_config *c = spec.container;
	CHECK_EQ_INT(c->namespaces,
		     HUSK_NS_PID | HUSK_NS_IPC | HUSK_NS_UTS | HUSK_NS_MOUNT | HUSK_NS_CGROUP | HUSK_NS_TIME);
	CHECK(c->netns_path == NULL);
	CHECK_EQ_INT(c->n_uid_maps, 0);
	husk_spec_free(&spec);

	/* only mount: everything else is the guest's */
	r = parse_linux("", "\"namespaces\":[{\"type\":\"mount\"}]", &spec, &err);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(spec.container->namespaces, HUSK_NS_MOUNT);
	husk_spec_free(&spec);

	/* a network namespace path is kept for the host side */
	r = parse_linux("", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"}]",
			&spec, &err);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(spec.container->namespaces, HUSK_NS_MOUNT);
	CHECK_STR(spec.container->netns_path, "/run/netns/x");
	husk_spec_free(&spec);

	/* pid, ipc, uts and cgroup paths are kept for host/container/pod.c */
	r = parse_linux("",
			"\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"ipc\",\"path\":\"/proc/7/ns/ipc\"},"
			"{\"type\":\"cgroup\",\"path\":\"/proc/8/ns/cgroup\"},{\"type\":\"pid\"}]",
			&spec, &err);
	CHECK_EQ_INT(r, 0);
	CHECK_EQ_INT(spec.container->namespaces, HUSK_NS_MOUNT | HUSK_NS_PID);
	CHECK_STR(spec.container->ns_path[husk_ns_join_index("ipc")], "/proc/7/ns/ipc");
	CHECK_STR(spec.container->ns_path[husk_ns_join_index("cgroup")], "/proc/8/ns/cgroup");
	CHECK(!spec.container->ns_path[husk_ns_join_index("pid")]);
	CHECK(!spec.container->ns_path[husk_ns_join_index("uts")]);
	CHECK_EQ_INT(husk_ns_join_index("mount"), -1);
	husk_spec_free(&spec);
	return TEST_PASS;
}

static enum test_result test_parse_user(void)
{
	struct husk_spec spec;
	struct husk_err err = { 0 };
	int r = parse_linux("",
			    "\"namespaces\":[{\"type\":\"user\"},{\"type\":\"mount\"}],"
			    "\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
			    "\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":1000},"
			    "{\"containerID\":1000,\"hostID\":1000,\"size\":1}]",
			    &spec, &err);
	if (r < 0)
		printf("# %s\n", err.msg);
	CHECK_EQ_INT(r, 0);
	struct husk_container_config *c = spec.container;
	CHECK_EQ_INT(c->namespaces, HUSK_NS_USER | HUSK_NS_MOUNT);
	CHECK_EQ_INT(c->n_uid_maps, 1);
	CHECK_EQ_INT(c->uid_maps[0].host_id, 100000);
	CHECK_EQ_INT(c->uid_maps[0].size, 65536);
	CHECK_EQ_INT(c->n_gid_maps, 2);
	CHECK_EQ_INT(c->gid_maps[1].container_id, 1000);

	struct husk_container_config out;
	CHECK_EQ_INT(container_round_trip(c, &out, &err), 0);
	CHECK_EQ_INT(out.namespaces, HUSK_NS_USER | HUSK_NS_MOUNT);
	CHECK_EQ_INT(out.n_uid_maps, 1);
	CHECK_EQ_INT(out.uid_maps[0].container_id, 0);
	CHECK_EQ_INT(out.uid_maps[0].host_id, 100000);
	CHECK_EQ_INT(out.uid_maps[0].size, 65536);
	CHECK_EQ_INT(out.n_gid_maps, 2);
	CHECK_EQ_INT(out.gid_maps[0].host_id, 200000);
	CHECK_EQ_INT(out.gid_maps[1].host_id, 1000);
	husk_spec_free(&spec);
	return TEST_PASS;
}

static enum test_result test_parse_bad(void)
{
	static const struct {
		const char *top, *linux_members, *needle;
	} cases[] = {
		{ "", "", "a mount namespace is required" },
		{ "", "\"namespaces\":[{\"type\":\"pid\"}]", "a mount namespace is required" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"bogus\"}]",
		  "unknown namespace type \"bogus\"" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"pid\"},{\"type\":\"pid\"}]", "listed twice" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"ipc\",\"path\":\"proc/1/ns/ipc\"}]",
		  "linux.namespaces[1].path must be absolute" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"time\",\"path\":\"/proc/1/ns/time\"}]",
		  "joining an existing time namespace (path /proc/1/ns/time) is not possible across the VM boundary" },
		{ "", "\"namespaces\":[{\"type\":\"mount\",\"path\":\"/proc/1/ns/mnt\"}]",
		  "joining an existing mount namespace" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\",\"path\":\"/proc/1/ns/user\"}]",
		  "joining an existing user namespace" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"rel\"}]", "absolute" },
		{ "", "\"namespaces\":{}", "linux.namespaces must be an array" },
		{ "", "\"namespaces\":[\"pid\"]", "must be an object" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"pid\",\"path\":5}]", "path must be a string" },
		{ "\"hostname\":\"h\"", "\"namespaces\":[{\"type\":\"mount\"}]",
		  "unable to set hostname without a private UTS namespace" },
		{ "\"domainname\":\"d\"", "\"namespaces\":[{\"type\":\"mount\"}]",
		  "unable to set domainname without a private UTS namespace" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\"}]",
		  "needs both uidMappings and gidMappings" },
		{ "",
		  "\"namespaces\":[{\"type\":\"mount\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]",
		  "user namespace isn't enabled" },
		{ "",
		  "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\"}],"
		  "\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":0}],"
		  "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]",
		  "size 0" },
		{ "",
		  "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\"}],"
		  "\"uidMappings\":[{\"containerID\":0,\"hostID\":100,\"size\":10},{\"containerID\":5,\"hostID\":900,"
		  "\"size\":1}],\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]",
		  "overlap" },
		{ "",
		  "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\"}],"
		  "\"uidMappings\":[{\"containerID\":4294967295,\"hostID\":1,\"size\":2}],"
		  "\"gidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]",
		  "past the last id" },
		{ "",
		  "\"namespaces\":[{\"type\":\"mount\"}],\"uidMappings\":[{\"containerID\":-1,\"hostID\":1,\"size\":1}]",
		  "uidMappings[0].containerID" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"}],\"gidMappings\":{}",
		  "linux.gidMappings must be an array" },
		{ "", "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"time\"}],\"timeOffsets\":{\"monotonic\":{}}",
		  "timeOffsets" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct husk_spec spec;
		struct husk_err err = { 0 };
		int r = parse_linux(cases[i].top, cases[i].linux_members, &spec, &err);
		husk_spec_free(&spec);
		if (r >= 0 || !strstr(err.msg, cases[i].needle) || !strstr(err.msg, "config.json") ||
		    strchr(err.msg, '\n')) {
			printf("# case %zu: r=%d msg=\"%s\"\n", i, r, err.msg);
			return TEST_FAIL;
		}
	}
	/* 17 mappings */
	char maps[4096] = "\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"user\"}],\"uidMappings\":[";
	for (int i = 0; i < 17; i++)
		snprintf(maps + strlen(maps), sizeof maps - strlen(maps),
			 "%s{\"containerID\":%d,\"hostID\":%d,\"size\":1}", i ? "," : "", i, 1000 + i);
	strcat(maps, "]");
	struct husk_spec spec;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(parse_linux("", maps, &spec, &err), -E2BIG);
	husk_spec_free(&spec);
	return TEST_PASS;
}

/* The guest checks what it decodes: a peer cannot ask for an unknown
 * namespace, none without mount, or bad mappings. */
static enum test_result test_decode_rejections(void)
{
	struct husk_err err = { 0 };
	struct husk_container_config c = { .namespaces = HUSK_NS_MOUNT }, out;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), 0);
	c.namespaces = HUSK_NS_PID;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	CHECK(strstr(err.msg, "mount namespace is required") != NULL);
	c.namespaces = HUSK_NS_MOUNT | (1u << 20);
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	c.namespaces = HUSK_NS_MOUNT | HUSK_NS_USER;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	c.n_uid_maps = c.n_gid_maps = 1;
	c.uid_maps[0] = (struct husk_id_map){ 0, 100000, 65536 };
	c.gid_maps[0] = (struct husk_id_map){ 0, 100000, 65536 };
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), 0);
	c.gid_maps[0].size = 0;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	c.gid_maps[0] = (struct husk_id_map){ 1, UINT32_MAX, 2 };
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	c.gid_maps[0] = (struct husk_id_map){ 0, 100000, 65536 };
	c.namespaces = HUSK_NS_MOUNT; /* mappings without a user namespace */
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), -EINVAL);
	/* more than HUSK_MAX_ID_MAPS on the wire */
	c.namespaces = HUSK_NS_MOUNT | HUSK_NS_USER;
	for (uint32_t i = 0; i < HUSK_MAX_ID_MAPS; i++)
		c.uid_maps[i] = (struct husk_id_map){ i, 1000 + i, 1 };
	c.n_uid_maps = HUSK_MAX_ID_MAPS;
	CHECK_EQ_INT(container_round_trip(&c, &out, &err), 0);
	CHECK_EQ_INT(out.n_uid_maps, HUSK_MAX_ID_MAPS);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "namespaces from config.json", test_parse_set },
		{ "a user namespace with uid and gid mappings, coded for CREATE", test_parse_user },
		{ "bad namespace entries are one-line config.json errors", test_parse_bad },
		{ "the guest rejects bad namespace sets and mappings", test_decode_rejections },
	};
	struct husk_err err = { 0 };
	char rootfs[PATH_MAX + 16];
	snprintf(bundle, sizeof bundle, "/tmp/husk-unit-ns.%d", (int)getpid());
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle);
	mkdir_p(rootfs, 0755, &err);
	int r = unit_run(tests, ARRAY_SIZE(tests));
	remove_tree(bundle, &err);
	return r;
}
