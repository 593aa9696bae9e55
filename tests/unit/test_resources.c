/* linux.resources / update: JSON parsing, CBOR coding, and VM sizing. */
#include <stdio.h>
#include <stdlib.h>

#include "host/state/config.h"
#include "host/monitor/monitor.h"
#include "host/spec/spec.h"
#include "proto/msg_resources.h"
#include "tests/unit/unit.h"

static uint8_t arena_buf[1 << 20];

static int parse(const char *text, struct husk_resources **out, struct husk_err *err)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	if (!j)
		return -999;
	husk_err_clear(err);
	int r = husk_resources_from_json(j, out, err);
	json_decref(j);
	return r;
}

static enum test_result test_json(void)
{
	struct husk_resources *r = NULL;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(parse("{\"memory\":{\"limit\":67108864,\"reservation\":-1,\"swap\":134217728},"
			   "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,\"cpus\":\"0-1\",\"mems\":\"0\"},"
			   "\"pids\":{\"limit\":0}}",
			   &r, &err),
		     0);
	CHECK(r != NULL);
	CHECK(r->has_memory_limit);
	CHECK_EQ_INT(r->memory_limit, 67108864);
	CHECK_EQ_INT(r->memory_reservation, -1);
	CHECK_EQ_INT(r->memory_swap, 134217728);
	CHECK_EQ_INT(r->cpu_shares, 512);
	CHECK_EQ_INT(r->cpu_quota, 50000);
	CHECK_EQ_INT(r->cpu_period, 100000);
	CHECK_STR(r->cpuset_cpus, "0-1");
	CHECK(r->has_pids_limit);
	CHECK_EQ_INT(r->pids_limit, -1); /* runc: 0 means unlimited */
	husk_resources_free(r);
	/* nothing set: no resources at all */
	CHECK_EQ_INT(parse("{\"devices\":[],\"memory\":{}}", &r, &err), 0);
	CHECK(r == NULL);
	return TEST_PASS;
}

static enum test_result test_json_rejections(void)
{
	static const char *const bad[] = {
		"[]",
		"{\"memory\":{\"limit\":\"1g\"}}",
		"{\"memory\":{\"limit\":-2}}",
		"{\"cpu\":{\"shares\":1}}",
		"{\"cpu\":{\"shares\":300000}}",
		"{\"cpu\":{\"period\":10}}",
		"{\"cpu\":{\"cpus\":\"0-3;rm -rf\"}}",
		"{\"pids\":{\"limit\":-5}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct husk_resources *r = NULL;
		struct husk_err err = { 0 };
		if (parse(bad[i], &r, &err) >= 0) {
			printf("# accepted: %s\n", bad[i]);
			husk_resources_free(r);
			return TEST_FAIL;
		}
		CHECK(err.msg[0] != '\0');
	}
	return TEST_PASS;
}

static enum test_result test_cbor_round_trip(void)
{
	struct husk_resources in = {
		.has_memory_limit = true, .memory_limit = -1, .has_cpu_quota = true, .cpu_quota = 25000,
		.has_cpu_period = true, .cpu_period = 50000, .cpuset_cpus = "0,2-3", .has_pids_limit = true,
		.pids_limit = 64, .has_cpu_shares = true, .cpu_shares = 1024,
	}, out;
	uint8_t buf[512];
	struct husk_cbor_enc e;
	struct husk_err err = { 0 };
	struct husk_arena a;
	const struct husk_cbor_item *root;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_resources(&e, &in);
	CHECK_EQ_INT(husk_cbor_enc_finish(&e, &err), 0);
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	CHECK_EQ_INT(husk_msg_parse(e.buf, e.len, &a, &root, &err), 0);
	CHECK_EQ_INT(husk_msg_decode_resources(root, &a, &out, &err), 0);
	CHECK(out.has_memory_limit && out.memory_limit == -1);
	CHECK(!out.has_memory_reservation);
	CHECK_EQ_INT(out.cpu_quota, 25000);
	CHECK_EQ_INT(out.cpu_period, 50000);
	CHECK_STR(out.cpuset_cpus, "0,2-3");
	CHECK(out.cpuset_mems == NULL);
	CHECK_EQ_INT(out.pids_limit, 64);
	CHECK_EQ_INT(out.cpu_shares, 1024);
	return TEST_PASS;
}

static enum test_result test_cbor_rejections(void)
{
	/* what the guest must refuse even from the host */
	struct {
		const char *key;
		int64_t v;
		const char *text;
	} cases[] = {
		{ "memory_limit", -7, NULL }, { "cpu_shares", 1, NULL },  { "cpu_period", 999, NULL },
		{ "cpuset_cpus", 0, "1;2" },  { "pids_limit", -2, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t buf[128];
		struct husk_cbor_enc e;
		struct husk_err err = { 0 };
		struct husk_arena a;
		const struct husk_cbor_item *root;
		struct husk_resources out;
		husk_cbor_enc_init(&e, buf, sizeof buf);
		husk_cbor_put_map(&e, 1);
		husk_cbor_put_text(&e, cases[i].key);
		if (cases[i].text)
			husk_cbor_put_text(&e, cases[i].text);
		else
			husk_cbor_put_int(&e, cases[i].v);
		husk_arena_init(&a, arena_buf, sizeof arena_buf);
		CHECK_EQ_INT(husk_msg_parse(e.buf, e.len, &a, &root, &err), 0);
		if (husk_msg_decode_resources(root, &a, &out, &err) >= 0) {
			printf("# accepted %s\n", cases[i].key);
			return TEST_FAIL;
		}
	}
	return TEST_PASS;
}

static enum test_result test_vm_size(void)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	unsetenv("HUSK_MEMORY_MIB");
	unsetenv("HUSK_VCPUS");
	setenv("HUSK_CONFIG", "/dev/null", 1);
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	unsetenv("HUSK_CONFIG");
	struct husk_resources res = { .has_memory_limit = true,
				      .memory_limit = 512ll << 20,
				      .has_cpu_quota = true,
				      .cpu_quota = 150000,
				      .has_cpu_period = true,
				      .cpu_period = 100000 };
	struct husk_spec spec = { .json = json_pack("{}"), .resources = &res };
	long mem;
	int vcpus;
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK(mem > 512 && mem < 1024); /* the limit plus overhead */
	CHECK(vcpus >= 1 && vcpus <= 2);
	/* annotations win */
	json_object_set_new(spec.json, "annotations",
			    json_pack("{s:s,s:s}", "io.husk.vm.memory_mib", "300", "io.husk.vm.vcpus", "1"));
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(mem, 300);
	CHECK_EQ_INT(vcpus, 1);
	json_object_set_new(spec.json, "annotations", json_pack("{s:s}", "io.husk.vm.memory_mib", "lots"));
	CHECK(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err) < 0);
	json_decref(spec.json);
	return TEST_PASS;
}

static enum test_result test_devices(void)
{
	struct husk_resources *r = NULL;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(parse("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
			   "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rw\"},"
			   "{\"allow\":true,\"type\":\"b\",\"major\":8}]}",
			   &r, &err),
		     0);
	CHECK(r && r->has_devices);
	/* runc's default rules follow the spec's: /dev/null, mknod, ... */
	CHECK(r->n_devices > 3);
	bool null_rw = false;
	for (uint32_t i = 3; i < r->n_devices; i++)
		if (r->devices[i].allow && r->devices[i].type == 'c' && r->devices[i].major == 1 &&
		    r->devices[i].minor == 3 && (r->devices[i].access & (HUSK_DEV_READ | HUSK_DEV_WRITE)))
			null_rw = true;
	CHECK(null_rw);
	CHECK(!r->devices[0].allow);
	CHECK_EQ_INT(r->devices[0].type, 'a');
	CHECK_EQ_INT(r->devices[0].major, -1);
	CHECK_EQ_INT(r->devices[1].access, HUSK_DEV_READ | HUSK_DEV_WRITE);
	CHECK_EQ_INT(r->devices[2].minor, -1);
	CHECK_EQ_INT(r->devices[2].access, 7);
	/* through the wire and back */
	uint8_t buf[1024];
	struct husk_cbor_enc e;
	struct husk_arena a;
	const struct husk_cbor_item *root;
	struct husk_resources out;
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_msg_encode_resources(&e, r);
	CHECK_EQ_INT(husk_cbor_enc_finish(&e, &err), 0);
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	CHECK_EQ_INT(husk_msg_parse(e.buf, e.len, &a, &root, &err), 0);
	CHECK_EQ_INT(husk_msg_decode_resources(root, &a, &out, &err), 0);
	CHECK_EQ_INT(out.n_devices, r->n_devices);
	CHECK_EQ_INT(out.devices[1].major, 1);
	CHECK_EQ_INT(out.devices[1].minor, 3);
	CHECK_EQ_INT(out.devices[2].type, 'b');
	husk_resources_free(r);
	/* as runc: letters beyond rwm grant nothing ("rwa" is rw); a rule
	 * left with no access at all is dropped */
	r = NULL;
	CHECK_EQ_INT(parse("{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"rwa\"},"
			   "{\"allow\":false,\"access\":\"x\"}]}",
			   &r, &err),
		     0);
	CHECK(r && r->has_devices);
	CHECK_EQ_INT(r->devices[0].access, HUSK_DEV_READ | HUSK_DEV_WRITE);
	/* the next is runc's first default rule, not the dropped deny */
	CHECK(r->devices[1].allow && r->devices[1].access == HUSK_DEV_MKNOD);
	husk_resources_free(r);
	static const char *const bad[] = {
		"{\"devices\":[{\"type\":\"c\"}]}",
		"{\"devices\":[{\"allow\":true,\"type\":\"q\"}]}",
		"{\"devices\":[{\"allow\":true,\"major\":-5}]}",
		"{\"devices\":{}}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		r = NULL;
		if (parse(bad[i], &r, &err) >= 0) {
			printf("# accepted: %s\n", bad[i]);
			husk_resources_free(r);
			return TEST_FAIL;
		}
	}
	return TEST_PASS;
}

/* a container without device rules gets runc's default rules only (runc's
 * list starts from deny-all); with rules, parse_devices appended them */
static enum test_result test_default_devices(void)
{
	struct husk_resources *r = NULL;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_resources_add_default_devices(&r, &err), 0);
	CHECK(r && r->has_devices);
	CHECK_EQ_INT(r->n_devices, 11);
	CHECK(!husk_resources_empty(r));
	/* mknod of anything, /dev/null read-write, /dev/pts/N; no console */
	CHECK(r->devices[0].allow && r->devices[0].type == 'c' && r->devices[0].major == -1);
	CHECK_EQ_INT(r->devices[0].access, HUSK_DEV_MKNOD);
	CHECK(r->devices[2].major == 1 && r->devices[2].minor == 3 && r->devices[2].access == 7);
	for (uint32_t i = 0; i < r->n_devices; i++)
		CHECK(!(r->devices[i].major == 5 && r->devices[i].minor == 1));
	husk_resources_free(r);
	r = NULL;
	CHECK_EQ_INT(parse("{\"pids\":{\"limit\":9}}", &r, &err), 0);
	CHECK_EQ_INT(husk_resources_add_default_devices(&r, &err), 0);
	CHECK_EQ_INT(r->n_devices, 11);
	CHECK_EQ_INT(r->pids_limit, 9);
	husk_resources_free(r);
	r = NULL;
	CHECK_EQ_INT(parse("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}", &r, &err), 0);
	CHECK_EQ_INT(husk_resources_add_default_devices(&r, &err), 0);
	CHECK_EQ_INT(r->n_devices, 12); /* not twice */
	CHECK(!r->devices[0].allow);
	husk_resources_free(r);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "linux.resources JSON", test_json },
		{ "bad linux.resources are clear errors", test_json_rejections },
		{ "resources CBOR round trip", test_cbor_round_trip },
		{ "the guest refuses out-of-range resources", test_cbor_rejections },
		{ "VM size from resources, config and annotations", test_vm_size },
		{ "device allow/deny rules", test_devices },
		{ "runc's default device rules are appended", test_default_devices },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
