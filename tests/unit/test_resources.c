/* linux.resources / update: JSON parsing, CBOR coding, and VM sizing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* a pod's sandbox: sized from the pod's annotations, not its pause spec */
static enum test_result test_vm_size_pod(void)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	unsetenv("HUSK_MEMORY_MIB");
	unsetenv("HUSK_VCPUS");
	setenv("HUSK_CONFIG", "/dev/null", 1);
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	long def_mem = husk_config_get_long(&cfg, CFG_MEMORY_MIB), host = sysconf(_SC_NPROCESSORS_ONLN);
	struct husk_resources pause = { .has_cpu_shares = true, .cpu_shares = 2 };
	struct husk_spec spec = { .json = json_pack("{s:{s:s,s:s,s:s,s:s,s:s}}", "annotations",
						    "io.kubernetes.cri.container-type", "sandbox",
						    "io.kubernetes.cri.sandbox-memory", "536870912",
						    "io.kubernetes.cri.sandbox-cpu-quota", "150000",
						    "io.kubernetes.cri.sandbox-cpu-period", "50000",
						    "io.kubernetes.cri.sandbox-cpu-shares", "1024"),
				  .resources = &pause };
	json_t *ann = json_object_get(spec.json, "annotations");
	struct husk_pod_size pod;
	long mem;
	int vcpus;
	CHECK_EQ_INT(husk_pod_size(&spec, &pod, &err), 0);
	CHECK(pod.sandbox);
	CHECK_EQ_INT(pod.memory, 536870912);
	CHECK_EQ_INT(pod.cpu_shares, 1024);
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(mem, 512 + 96);              /* the pod's memory plus the VM's overhead */
	CHECK_EQ_INT(vcpus, host < 3 ? host : 3); /* ceil(150000 / 50000), at most the host's */
	/* CRI-O's key says sandbox too; no period: 100000 */
	json_object_del(ann, "io.kubernetes.cri.container-type");
	json_object_del(ann, "io.kubernetes.cri.sandbox-cpu-period");
	json_object_set_new(ann, "io.kubernetes.cri-o.ContainerType", json_string("sandbox"));
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(mem, 608);
	CHECK_EQ_INT(vcpus, host < 2 ? host : 2);
	/* a member ("container") is no sandbox: the values are not its own */
	json_object_set_new(ann, "io.kubernetes.cri-o.ContainerType", json_string("container"));
	CHECK_EQ_INT(husk_pod_size(&spec, &pod, &err), 0);
	CHECK(!pod.sandbox && pod.memory == 0 && pod.cpu_shares == 0);
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(mem, def_mem);
	/* containerd's "0" (not set) and quota -1: linux.resources as before */
	json_object_set_new(ann, "io.kubernetes.cri-o.ContainerType", json_string("sandbox"));
	json_object_set_new(ann, "io.kubernetes.cri.sandbox-memory", json_string("0"));
	json_object_set_new(ann, "io.kubernetes.cri.sandbox-cpu-quota", json_string("-1"));
	json_object_set_new(ann, "io.kubernetes.cri.sandbox-cpu-shares", json_string("0"));
	struct husk_resources res = { .has_memory_limit = true, .memory_limit = 256ll << 20 };
	spec.resources = &res;
	CHECK_EQ_INT(husk_pod_size(&spec, &pod, &err), 0);
	CHECK(pod.sandbox && pod.memory == 0 && pod.cpu_quota == 0 && pod.cpu_shares == 0);
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(mem, 256 + 96);
	/* a config file value beats the pod, an io.husk.vm.* annotation both */
	json_object_set_new(ann, "io.kubernetes.cri.sandbox-memory", json_string("1073741824"));
	setenv("HUSK_MEMORY_MIB", "300", 1);
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	unsetenv("HUSK_MEMORY_MIB");
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(mem, 300);
	json_object_set_new(ann, "io.husk.vm.memory_mib", json_string("200"));
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(mem, 200);
	json_object_del(ann, "io.husk.vm.memory_mib");
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(mem, 1024 + 96);
	/* malformed values: one line naming the key */
	static const struct {
		const char *key, *value;
	} bad[] = {
		{ "io.kubernetes.cri.sandbox-memory", "lots" },   { "io.kubernetes.cri.sandbox-memory", "-5" },
		{ "io.kubernetes.cri.sandbox-memory", "12k" },    { "io.kubernetes.cri.sandbox-memory", "" },
		{ "io.kubernetes.cri.sandbox-cpu-quota", "-2" },  { "io.kubernetes.cri.sandbox-cpu-quota", "1.5" },
		{ "io.kubernetes.cri.sandbox-cpu-period", "10" }, { "io.kubernetes.cri.sandbox-cpu-period", "2000000" },
		{ "io.kubernetes.cri.sandbox-cpu-shares", "-1" }, { "io.kubernetes.cri.sandbox-cpu-shares", "300000" },
		{ "io.kubernetes.cri.sandbox-memory", "1\n2" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *saved = json_incref(json_object_get(ann, bad[i].key));
		json_object_set_new(ann, bad[i].key, json_string(bad[i].value));
		husk_err_clear(&err);
		CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), -EINVAL);
		if (!strstr(err.msg, bad[i].key) || strchr(err.msg, '\n')) {
			printf("# %s=%s: %s\n", bad[i].key, bad[i].value, err.msg);
			return TEST_FAIL;
		}
		if (saved)
			json_object_set_new(ann, bad[i].key, saved);
		else
			json_object_del(ann, bad[i].key);
	}
	json_object_set_new(ann, "io.kubernetes.cri.sandbox-memory", json_integer(5));
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_pod_size(&spec, &pod, &err), -EINVAL);
	unsetenv("HUSK_CONFIG");
	json_decref(spec.json);
	return TEST_PASS;
}

static enum test_result test_cpulist(void)
{
	static const struct {
		const char *list;
		long highest; /* -2: refused */
	} cases[] = { { "0", 0 },      { "3", 3 },       { "0-1", 1 },       { "0,2-3", 3 },    { "5,0-1", 5 },
		      { "1-1", 1 },    { "00007", 7 },   { "99999", 99999 }, { "", -2 },        { "1-", -2 },
		      { "-1", -2 },    { "1,", -2 },     { ",1", -2 },       { "0,,1", -2 },    { "3-1", -2 },
		      { "0-1-2", -2 }, { "100000", -2 }, { "0 1", -2 },      { "0-7:2/4", -2 }, { "a", -2 } };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		long h = -5;
		int r = husk_cpulist_highest(cases[i].list, &h);
		if (cases[i].highest == -2 ? r != -EINVAL : (r != 0 || h != cases[i].highest)) {
			printf("# \"%s\": r=%d highest=%ld\n", cases[i].list, r, h);
			return TEST_FAIL;
		}
	}
	/* and a bad list is refused when the spec is read */
	struct husk_resources *res = NULL;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(parse("{\"cpu\":{\"cpus\":\"2-1\"}}", &res, &err), -EINVAL);
	CHECK(strstr(err.msg, "\"2-1\"") != NULL);
	return TEST_PASS;
}

/* linux.resources.hugepageLimits: the guest's page sizes only, by the
 * kernel's names; through the wire and back */
static enum test_result test_hugepages(void)
{
	struct husk_resources *r = NULL;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(parse("{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304},"
			   "{\"pageSize\":\"1GB\",\"limit\":0}]}",
			   &r, &err),
		     0);
	CHECK(r && r->has_hugetlb);
	CHECK_EQ_INT(r->n_hugetlb, 2);
	CHECK_EQ_INT(r->hugetlb[0].page_kb, 2048);
	CHECK_EQ_INT(r->hugetlb[0].limit, 4194304);
	CHECK_EQ_INT(r->hugetlb[1].page_kb, 1u << 20);
	CHECK_EQ_INT(r->hugetlb[1].limit, 0);
	uint8_t buf[256];
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
	CHECK(out.has_hugetlb && out.n_hugetlb == 2);
	CHECK_EQ_INT(out.hugetlb[0].page_kb, 2048);
	CHECK_EQ_INT(out.hugetlb[0].limit, 4194304);
	CHECK_EQ_INT(out.hugetlb[1].page_kb, 1u << 20);
	husk_resources_free(r);
	/* an empty list sets nothing */
	CHECK_EQ_INT(parse("{\"hugepageLimits\":[]}", &r, &err), 0);
	CHECK(r == NULL);
	/* the kernel's names of sizes */
	static const struct {
		uint64_t kb;
		const char *name;
	} names[] = { { 64, "64KB" }, { 2048, "2MB" }, { 32768, "32MB" }, { 1u << 20, "1GB" }, { 16u << 20, "16GB" } };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char n[32];
		husk_hugetlb_name(names[i].kb, n, sizeof n);
		CHECK_STR(n, names[i].name);
	}
	/* refused: sizes the guest lacks, other spellings, bad limits */
	static const char *const bad[] = {
		"{\"hugepageLimits\":[{\"pageSize\":\"3MB\",\"limit\":0}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"2048KB\",\"limit\":0}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"2mb\",\"limit\":0}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"64KB\",\"limit\":0}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"2 MB\",\"limit\":0}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"-2MB\",\"limit\":0}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"99999999999999999999GB\",\"limit\":0}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"\",\"limit\":0}]}",
		"{\"hugepageLimits\":[{\"limit\":0}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"2MB\"}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":-1}]}",
		"{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":\"1g\"}]}",
		"{\"hugepageLimits\":{\"pageSize\":\"2MB\",\"limit\":0}}",
		"{\"hugepageLimits\":[1]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		r = NULL;
		if (parse(bad[i], &r, &err) != -EINVAL || r) {
			printf("# accepted: %s\n", bad[i]);
			return TEST_FAIL;
		}
		CHECK(strstr(err.msg, "hugepageLimits") != NULL);
		CHECK(strchr(err.msg, '\n') == NULL);
	}
	CHECK_EQ_INT(parse(bad[0], &r, &err), -EINVAL);
	CHECK_STR(err.msg, "linux.resources.hugepageLimits[0].pageSize \"3MB\" is not a huge page size of the guest "
			   "(2MB or 1GB)");
	/* the guest refuses what the host would not send */
	static const struct {
		int64_t kb, limit;
	} wire_bad[] = { { 3072, 0 }, { 32, 0 }, { (int64_t)(32ull << 20), 0 }, { 2048, -1 }, { 0, 0 } };
	for (size_t i = 0; i < ARRAY_SIZE(wire_bad); i++) {
		husk_cbor_enc_init(&e, buf, sizeof buf);
		husk_cbor_put_map(&e, 1);
		husk_cbor_put_text(&e, "hugetlb");
		husk_cbor_put_array(&e, 1);
		husk_cbor_put_map(&e, 2);
		husk_cbor_put_text(&e, "page_kb");
		husk_cbor_put_int(&e, wire_bad[i].kb);
		husk_cbor_put_text(&e, "limit");
		husk_cbor_put_int(&e, wire_bad[i].limit);
		CHECK_EQ_INT(husk_cbor_enc_finish(&e, &err), 0);
		husk_arena_init(&a, arena_buf, sizeof arena_buf);
		CHECK_EQ_INT(husk_msg_parse(e.buf, e.len, &a, &root, &err), 0);
		if (husk_msg_decode_resources(root, &a, &out, &err) >= 0) {
			printf("# guest accepted page_kb %lld limit %lld\n", (long long)wire_bad[i].kb,
			       (long long)wire_bad[i].limit);
			return TEST_FAIL;
		}
	}
	/* at most HUSK_HUGETLB_MAX entries */
	husk_cbor_enc_init(&e, buf, sizeof buf);
	husk_cbor_put_map(&e, 1);
	husk_cbor_put_text(&e, "hugetlb");
	husk_cbor_put_array(&e, HUSK_HUGETLB_MAX + 1);
	for (unsigned i = 0; i <= HUSK_HUGETLB_MAX; i++) {
		husk_cbor_put_map(&e, 2);
		husk_cbor_put_text(&e, "page_kb");
		husk_cbor_put_int(&e, 2048);
		husk_cbor_put_text(&e, "limit");
		husk_cbor_put_int(&e, 0);
	}
	CHECK_EQ_INT(husk_cbor_enc_finish(&e, &err), 0);
	husk_arena_init(&a, arena_buf, sizeof arena_buf);
	CHECK_EQ_INT(husk_msg_parse(e.buf, e.len, &a, &root, &err), 0);
	CHECK(husk_msg_decode_resources(root, &a, &out, &err) < 0);
	return TEST_PASS;
}

/* A booted VM does not grow: update, and a pod member's create, are refused
 * a memory limit or a cpuset it cannot hold, in one line. */
static enum test_result test_fit_vm(void)
{
	struct husk_err err = { 0 };
	struct husk_resources res = { .has_memory_limit = true, .memory_limit = 256ll << 20 };
	CHECK_EQ_INT(husk_resources_fit_vm(NULL, 128, 1, &err), 0);
	CHECK_EQ_INT(husk_resources_fit_vm(&res, 256, 1, &err), 0); /* exactly the VM */
	CHECK_EQ_INT(husk_resources_fit_vm(&res, 0, 0, &err), 0);   /* VM size unknown */
	CHECK_EQ_INT(husk_resources_fit_vm(&res, 255, 1, &err), -EINVAL);
	CHECK_STR(err.msg, "memory limit 256 MiB is larger than the container's VM (255 MiB), which cannot grow; "
			   "size the VM with annotation io.husk.vm.memory_mib at create");
	CHECK(!strchr(err.msg, '\n'));
	res.memory_limit = -1; /* unlimited: nothing to hold */
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_resources_fit_vm(&res, 64, 1, &err), 0);
	res.cpuset_cpus = "0-1";
	CHECK_EQ_INT(husk_resources_fit_vm(&res, 64, 2, &err), 0);
	CHECK_EQ_INT(husk_resources_fit_vm(&res, 64, 1, &err), -EINVAL);
	CHECK_STR(err.msg, "cpuset.cpus \"0-1\" names CPU 1, but the container's VM has 1 vCPUs and cannot grow; "
			   "name the CPUs in linux.resources.cpu.cpus at create");
	return TEST_PASS;
}

/* cpuset.cpus: the VM has a vCPU for each CPU up to the highest named */
static enum test_result test_vm_size_cpuset(void)
{
	struct husk_config cfg;
	struct husk_err err = { 0 };
	unsetenv("HUSK_VCPUS");
	setenv("HUSK_CONFIG", "/dev/null", 1);
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	struct husk_resources res = { .cpuset_cpus = "0-1" };
	struct husk_spec spec = { .json = json_pack("{}"), .resources = &res };
	long mem;
	int vcpus;
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(vcpus, 2);
	res.cpuset_cpus = "3";
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(vcpus, 4);
	res.cpuset_cpus = "0";
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(vcpus, 1);
	/* more than the config file's vcpus: raised too (it cannot run otherwise) */
	setenv("HUSK_VCPUS", "2", 1);
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	unsetenv("HUSK_VCPUS");
	res.cpuset_cpus = "0,5";
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(vcpus, 6);
	res.cpuset_cpus = "1";
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(vcpus, 2);
	/* past the guest kernel's 64 CPUs */
	res.cpuset_cpus = "0-64";
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), -EINVAL);
	CHECK(strstr(err.msg, "CPU 64") != NULL);
	/* an annotation that asks for fewer is an error, one that covers is fine */
	res.cpuset_cpus = "0-2";
	json_object_set_new(spec.json, "annotations", json_pack("{s:s}", "io.husk.vm.vcpus", "2"));
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), -EINVAL);
	CHECK(strstr(err.msg, "needs 3") != NULL);
	json_object_set_new(spec.json, "annotations", json_pack("{s:s}", "io.husk.vm.vcpus", "4"));
	CHECK_EQ_INT(husk_vm_size(&cfg, &spec, &mem, &vcpus, &err), 0);
	CHECK_EQ_INT(vcpus, 4);
	unsetenv("HUSK_CONFIG");
	json_decref(spec.json);
	return TEST_PASS;
}

/* the annotations that change the VM need the config file's allow-list */
static enum test_result test_vm_annotations_allowed(void)
{
	static const char *const keys[] = { "io.husk.vm.memory_mib", "io.husk.vm.vcpus", "io.husk.vm.accel",
					    "io.husk.vm.kernel_params", "io.husk.net.spare_nics" };
	struct husk_config cfg;
	struct husk_err err = { 0 };
	setenv("HUSK_CONFIG", "/dev/null", 1);
	unsetenv("HUSK_ALLOWED_ANNOTATIONS");
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	struct husk_spec spec = { .json = json_pack("{s:{s:s}}", "annotations", "org.example.other", "x") };
	CHECK_EQ_INT(husk_vm_annotations_check(&cfg, &spec, &err), 0); /* other annotations: no matter */
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_object_set_new(spec.json, "annotations", json_pack("{s:s}", keys[i], "1"));
		husk_err_clear(&err);
		CHECK_EQ_INT(husk_vm_annotations_check(&cfg, &spec, &err), -EPERM);
		CHECK(strstr(err.msg, keys[i]) != NULL);
		CHECK(strstr(err.msg, "allowed_annotations") != NULL);
		CHECK(strchr(err.msg, '\n') == NULL);
	}
	setenv("HUSK_ALLOWED_ANNOTATIONS", "io.husk.vm.*, io.husk.net.spare_nics", 1);
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_object_set_new(spec.json, "annotations", json_pack("{s:s}", keys[i], "1"));
		CHECK_EQ_INT(husk_vm_annotations_check(&cfg, &spec, &err), 0);
	}
	setenv("HUSK_ALLOWED_ANNOTATIONS", "io.husk.vm.vcpus", 1);
	CHECK_EQ_INT(husk_config_load(&cfg, &err), 0);
	json_object_set_new(spec.json, "annotations",
			    json_pack("{s:s,s:s}", "io.husk.vm.vcpus", "2", "io.husk.vm.memory_mib", "300"));
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_vm_annotations_check(&cfg, &spec, &err), -EPERM);
	CHECK(strstr(err.msg, "io.husk.vm.memory_mib") != NULL);
	unsetenv("HUSK_ALLOWED_ANNOTATIONS");
	unsetenv("HUSK_CONFIG");
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
		{ "a pod's sandbox VM sized from the pod's annotations", test_vm_size_pod },
		{ "VM annotations need the allow-list", test_vm_annotations_allowed },
		{ "cpu lists", test_cpulist },
		{ "hugepageLimits: sizes, wire, refusals", test_hugepages },
		{ "cpuset.cpus sizes the VM's vCPUs", test_vm_size_cpuset },
		{ "a booted VM's size refuses bigger limits", test_fit_vm },
		{ "device allow/deny rules", test_devices },
		{ "runc's default device rules are appended", test_default_devices },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
