/* host/pool/pool_client.c: the pool protocol's JSON, shape match, and the
 * bounded call against sockets that are not a pool server. */
#include "host/pool/pool_client.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/state/unixsock.h"
#include "tests/unit/unit.h"

static const struct husk_pool_shape shape = { .memory_mib = 256, .vcpus = 1, .accel = "tcg", .kernel_params = "quiet" };

static enum test_result test_shape_equal(void)
{
	struct husk_pool_shape s = shape;
	CHECK(husk_pool_shape_equal(&s, &shape));
	s.memory_mib = 512;
	CHECK(!husk_pool_shape_equal(&s, &shape));
	s = shape;
	s.vcpus = 2;
	CHECK(!husk_pool_shape_equal(&s, &shape));
	s = shape;
	strcpy(s.accel, "kvm");
	CHECK(!husk_pool_shape_equal(&s, &shape));
	s = shape;
	strcpy(s.kernel_params, "");
	CHECK(!husk_pool_shape_equal(&s, &shape));
	return TEST_PASS;
}

static enum test_result test_request_format(void)
{
	char line[HUSK_POOL_LINE_MAX];
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_pool_request_format(NULL, line, sizeof line, &err), 0);
	CHECK_STR(line, "{\"op\":\"status\"}");
	CHECK_EQ_INT(husk_pool_request_format(&shape, line, sizeof line, &err), 0);
	CHECK_STR(line, "{\"op\":\"take\",\"shape\":{\"memory_mib\":256,\"vcpus\":1,\"accel\":\"tcg\","
			"\"kernel_params\":\"quiet\"}}");
	/* the server reads the shape back */
	json_t *j = json_loads(line, 0, NULL);
	struct husk_pool_shape back;
	CHECK_EQ_INT(husk_pool_shape_parse(json_object_get(j, "shape"), &back, &err), 0);
	json_decref(j);
	CHECK(husk_pool_shape_equal(&back, &shape));
	/* too small a buffer: an error, never a cut line */
	CHECK_EQ_INT(husk_pool_request_format(&shape, line, 20, &err), -E2BIG);
	return TEST_PASS;
}

static void sample_vm(struct husk_pool_vm *vm, const char *dir)
{
	memset(vm, 0, sizeof *vm);
	snprintf(vm->dir, sizeof vm->dir, "%s", dir);
	vm->monitor = (struct husk_pid_ref){ .pid = 100, .start_time = 5 };
	vm->qemu = (struct husk_pid_ref){ .pid = 101, .start_time = 6 };
	vm->virtiofsd = (struct husk_pid_ref){ .pid = 102, .start_time = 7 };
	vm->vsock_backend = (struct husk_pid_ref){ .pid = 103, .start_time = 8 };
	strcpy(vm->vsock.kind, "vhost-user");
	snprintf(vm->vsock.path, sizeof vm->vsock.path, "%s/vsock.sock", dir);
	vm->memory_mib = 256;
	vm->vcpus = 1;
	for (unsigned i = 0; i < HUSK_POOL_NICS; i++) {
		snprintf(vm->nics[i].tap, sizeof vm->nics[i].tap, "hsktap%u", i);
		vm->nics[i].ifindex = 7 + (int)i;
		memcpy(vm->nics[i].dev_mac, (uint8_t[]){ 0x02, 0x68, 0x75, 0x73, 0x6b, (uint8_t)i }, 6);
	}
	vm->n_nics = HUSK_POOL_NICS;
}

static int take_reply(const struct husk_pool_vm *vm, char *line, size_t cap)
{
	struct husk_err err = { 0 };
	json_t *j = json_pack("{s:o}", "vm", husk_pool_vm_json(vm));
	size_t n = json_dumpb(j, line, cap - 1, JSON_COMPACT);
	json_decref(j);
	line[n] = '\0';
	(void)err;
	return (int)n;
}

static enum test_result test_take_reply(void)
{
	char line[HUSK_POOL_LINE_MAX];
	struct husk_pool_vm vm, back;
	struct husk_err err = { 0 };
	sample_vm(&vm, "/run/h/pool.d/3");
	take_reply(&vm, line, sizeof line);
	CHECK_EQ_INT(husk_pool_take_reply_parse(line, "/run/h", &back, &err), 0);
	CHECK_STR(back.dir, "/run/h/pool.d/3");
	CHECK_EQ_INT(back.monitor.pid, 100);
	CHECK_EQ_INT(back.qemu.start_time, 6);
	CHECK_EQ_INT(back.virtiofsd.pid, 102);
	CHECK_EQ_INT(back.vsock_backend.pid, 103);
	CHECK_STR(back.vsock.kind, "vhost-user");
	CHECK_STR(back.vsock.path, "/run/h/pool.d/3/vsock.sock");
	CHECK_EQ_INT(back.memory_mib, 256);
	CHECK_EQ_INT(back.vcpus, 1);
	CHECK_EQ_INT(back.n_nics, HUSK_POOL_NICS);
	CHECK_STR(back.nics[2].tap, "hsktap2");
	CHECK_EQ_INT(back.nics[2].ifindex, 9);
	CHECK(!memcmp(back.nics[2].dev_mac, vm.nics[2].dev_mac, 6));
	/* no NICs at all is a VM too */
	vm.n_nics = 0;
	take_reply(&vm, line, sizeof line);
	CHECK_EQ_INT(husk_pool_take_reply_parse(line, "/run/h", &back, &err), 0);
	CHECK_EQ_INT(back.n_nics, 0);
	/* a dir outside <root>/pool.d is refused */
	static const char *const bad_dirs[] = {
		"/etc", "/run/h/ctr", "/run/h/pool.d/", "/run/h/pool.d/../x", "/run/h/pool.d/1/x", "/run/hx/pool.d/1"
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_dirs); i++) {
		sample_vm(&vm, bad_dirs[i]);
		take_reply(&vm, line, sizeof line);
		husk_err_clear(&err);
		CHECK_EQ_INT(husk_pool_take_reply_parse(line, "/run/h", &back, &err), -EPROTO);
	}
	return TEST_PASS;
}

/* a reply whose NIC list is replaced by nics (JSON) */
static int reply_with_nics(const char *nics, char *line, size_t cap)
{
	struct husk_pool_vm vm;
	sample_vm(&vm, "/r/pool.d/1");
	json_t *v = husk_pool_vm_json(&vm);
	json_object_set_new(v, "nics", json_loads(nics, JSON_DECODE_ANY, NULL));
	json_t *j = json_pack("{s:o}", "vm", v);
	size_t n = json_dumpb(j, line, cap - 1, JSON_COMPACT);
	json_decref(j);
	line[n] = '\0';
	return (int)n;
}

static enum test_result test_take_reply_nics_bad(void)
{
	char line[HUSK_POOL_LINE_MAX];
	struct husk_pool_vm back;
	struct husk_err err = { 0 };
	static const char *const bad[] = {
		"null",
		"{}",
		"[1]",
		"[{\"tap\":\"eth0\",\"ifindex\":3,\"dev_mac\":\"02:00:00:00:00:01\"}]",
		"[{\"tap\":\"hsktap\",\"ifindex\":3,\"dev_mac\":\"02:00:00:00:00:01\"}]",
		"[{\"tap\":\"hsktap1x\",\"ifindex\":3,\"dev_mac\":\"02:00:00:00:00:01\"}]",
		"[{\"tap\":\"hsktap123456789012\",\"ifindex\":3,\"dev_mac\":\"02:00:00:00:00:01\"}]",
		"[{\"tap\":\"hsktap1\",\"ifindex\":0,\"dev_mac\":\"02:00:00:00:00:01\"}]",
		"[{\"tap\":\"hsktap1\",\"ifindex\":3,\"dev_mac\":\"03:00:00:00:00:01\"}]",
		"[{\"tap\":\"hsktap1\",\"ifindex\":3,\"dev_mac\":\"02:00:00:00:00\"}]",
		"[{\"tap\":\"hsktap1\",\"ifindex\":3,\"dev_mac\":\"02-00-00-00-00-01\"}]",
		"[{\"tap\":\"hsktap1\",\"ifindex\":3,\"dev_mac\":\"02:00:00:00:00:0g\"}]",
		"[{\"tap\":\"hsktap1\",\"ifindex\":3,\"dev_mac\":\"02:00:00:00:00:01\"},"
		"{\"tap\":\"hsktap1\",\"ifindex\":4,\"dev_mac\":\"02:00:00:00:00:02\"}]",
		"[{\"tap\":\"hsktap1\",\"ifindex\":3,\"dev_mac\":\"02:00:00:00:00:01\"},"
		"{\"tap\":\"hsktap2\",\"ifindex\":4,\"dev_mac\":\"02:00:00:00:00:01\"}]",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		reply_with_nics(bad[i], line, sizeof line);
		husk_err_clear(&err);
		CHECK_EQ_INT(husk_pool_take_reply_parse(line, "/r", &back, &err), -EPROTO);
		CHECK(err.msg[0]);
	}
	/* more than HUSK_POOL_NICS_MAX */
	char many[HUSK_POOL_LINE_MAX] = "[";
	for (unsigned i = 0; i <= HUSK_POOL_NICS_MAX; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many),
			 "%s{\"tap\":\"hsktap%u\",\"ifindex\":%u,\"dev_mac\":\"02:00:00:00:00:%02x\"}", i ? "," : "", i,
			 i + 1, i);
	strcat(many, "]");
	reply_with_nics(many, line, sizeof line);
	CHECK_EQ_INT(husk_pool_take_reply_parse(line, "/r", &back, &err), -EPROTO);
	/* upper-case hex is a MAC too */
	reply_with_nics("[{\"tap\":\"hsktap0\",\"ifindex\":3,\"dev_mac\":\"02:AB:00:00:00:01\"}]", line, sizeof line);
	CHECK_EQ_INT(husk_pool_take_reply_parse(line, "/r", &back, &err), 0);
	CHECK_EQ_INT(back.nics[0].dev_mac[1], 0xab);
	return TEST_PASS;
}

static enum test_result test_take_reply_bad(void)
{
	struct husk_pool_vm back;
	struct husk_err err = { 0 };
	CHECK_EQ_INT(husk_pool_take_reply_parse("{\"vm\":null,\"why\":\"empty\\n\"}", "/r", &back, &err), -EAGAIN);
	CHECK_STR(err.msg, "the pool has no VM: empty?");
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"vm\":1}",
		"{\"vm\":{}}",
		"{\"vm\":{\"dir\":\"/r/pool.d/1\",\"monitor\":{\"pid\":-1,\"start_time\":0}}}",
		"{\"size\":1,\"ready\":1,\"booting\":0}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		husk_err_clear(&err);
		CHECK_EQ_INT(husk_pool_take_reply_parse(bad[i], "/r", &back, &err), -EPROTO);
		CHECK(err.msg[0]);
	}
	return TEST_PASS;
}

static enum test_result test_status(void)
{
	struct husk_pool_status st = { .size = 2, .ready = 1, .booting = 1, .shape = shape }, back;
	strcpy(st.last_error, "qemu: could not open kernel");
	struct husk_err err = { 0 };
	char line[HUSK_POOL_LINE_MAX];
	json_t *j = husk_pool_status_json(&st);
	size_t n = json_dumpb(j, line, sizeof line - 1, JSON_COMPACT);
	json_decref(j);
	line[n] = '\0';
	CHECK_EQ_INT(husk_pool_status_reply_parse(line, &back, &err), 0);
	CHECK_EQ_INT(back.size, 2);
	CHECK_EQ_INT(back.ready, 1);
	CHECK_EQ_INT(back.booting, 1);
	CHECK(husk_pool_shape_equal(&back.shape, &shape));
	CHECK_STR(back.last_error, "qemu: could not open kernel");
	CHECK_EQ_INT(husk_pool_status_reply_parse("{\"size\":-1}", &back, &err), -EPROTO);
	return TEST_PASS;
}

/* a server that answers one line (or, with reply NULL, reads and never answers) */
static pid_t serve_once(const char *sock, const char *reply)
{
	struct husk_err err = { 0 };
	int l = husk_unix_listen(sock, 4, &err);
	if (l < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int c = accept(l, NULL, NULL);
		char buf[HUSK_POOL_LINE_MAX];
		if (read(c, buf, sizeof buf) <= 0)
			_exit(1);
		if (reply && write(c, reply, strlen(reply)) < 0)
			_exit(1);
		if (!reply)
			pause();
		_exit(0);
	}
	close(l);
	return pid;
}

static enum test_result test_call(void)
{
	char root[] = "/tmp/husk-test-pool.XXXXXX", sock[256], reply[HUSK_POOL_LINE_MAX + 1];
	CHECK(mkdtemp(root));
	snprintf(sock, sizeof sock, "%s/pool.sock", root);
	struct husk_err err = { 0 };
	struct husk_pool_status st;
	/* no socket, a plain file, a socket nobody listens on: errors */
	CHECK(husk_pool_status(root, &st, &err) < 0);
	FILE *f = fopen(sock, "w");
	CHECK(f);
	fclose(f);
	husk_err_clear(&err);
	CHECK(husk_pool_status(root, &st, &err) < 0);
	unlink(sock);
	close(husk_unix_listen(sock, 1, &err));
	husk_err_clear(&err);
	CHECK(husk_pool_status(root, &st, &err) < 0);
	/* a server that never answers: given up after the timeout */
	pid_t pid = serve_once(sock, NULL);
	CHECK(pid > 0);
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_pool_call(root, "{\"op\":\"status\"}", reply, sizeof reply, &err), -ETIMEDOUT);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* a server that is not husk's */
	pid = serve_once(sock, "HTTP/1.0 400 Bad Request\r\n\r\n");
	husk_err_clear(&err);
	CHECK_EQ_INT(husk_pool_status(root, &st, &err), -EPROTO);
	waitpid(pid, NULL, 0);
	/* one that answers */
	pid = serve_once(sock, "{\"vm\":null,\"why\":\"the pool is empty\"}\n");
	husk_err_clear(&err);
	struct husk_pool_vm vm;
	CHECK_EQ_INT(husk_pool_take(root, &shape, &vm, &err), -EAGAIN);
	CHECK_STR(err.msg, "the pool has no VM: the pool is empty");
	waitpid(pid, NULL, 0);
	unlink(sock);
	rmdir(root);
	return TEST_PASS;
}

int main(void)
{
	static const struct unit_test tests[] = {
		{ "pool: shapes match only when every field is equal", test_shape_equal },
		{ "pool: request lines (status, take with its shape)", test_request_format },
		{ "pool: a take reply round-trips; a dir outside <root>/pool.d is refused", test_take_reply },
		{ "pool: {vm:null} says why; malformed replies are refused", test_take_reply_bad },
		{ "pool: a reply's NICs are husk taps, each once, with a unicast device MAC",
		  test_take_reply_nics_bad },
		{ "pool: the status reply round-trips", test_status },
		{ "pool: no server, a plain file, a silent or foreign server: an error, bounded", test_call },
	};
	return unit_run(tests, ARRAY_SIZE(tests));
}
