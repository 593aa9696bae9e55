#!/usr/bin/env python3
"""Writes the small seed corpora in tests/fuzz/corpus/{cbor,frame,vhost_user,spec,msg,monitor}/.

Run from anywhere; the files are committed, so this only needs running again
when a seed is added. Seeds are hand-built byte strings (no CBOR library):
valid messages shaped like the protocol's, every head size, and one of each
class the decoder must refuse, so the fuzzer starts next to every branch."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def head(major, arg):
    if arg < 24:
        return bytes([major << 5 | arg])
    for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if arg < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | ai]) + struct.pack(fmt, arg)
    raise ValueError(arg)


def enc(v):
    if v is None:
        return b"\xf6"
    if v is True:
        return b"\xf5"
    if v is False:
        return b"\xf4"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode("utf-8")
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
    raise TypeError(v)


CBOR = {
    "hello": enc({"version": 1}),
    "ok-hello": enc({"version": 1, "kernel": "6.1.0"}),
    "create": enc({
        "id": "c1", "args": ["/bin/sh", "-c", "echo hi"], "env": ["PATH=/bin", "TERM=xterm"],
        "cwd": "/", "uid": 0, "gid": 0, "gids": [1, 2, 65534], "terminal": False,
        "hostname": "h\u00fcsk", "rlimits": [{"type": 7, "soft": 1024, "hard": 4096}],
    }),
    "stdio": enc({"stream": 1, "data": b"hello\n\x00\xff"}),
    "exit": enc({"status": 137}),
    "error": enc({"code": 2, "message": "no such file \u2603 \U0001f600"}),
    "ints": enc([0, 23, 24, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1,
                 -1, -24, -25, -256, -257, -2**63]),
    "nested": enc([[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]),  # 16 levels
    "too-deep": enc([[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]),
    "simple": enc([True, False, None, b"", "", {}, []]),
    "non-shortest": b"\x1b\x00\x00\x00\x00\x00\x00\x00\x05",
    "tag": b"\xc0\x60",
    "float": b"\xf9\x3c\x00",
    "indefinite": b"\x9f\x01\xff",
    "bad-utf8": b"\x63\xed\xa0\x80",
    "huge-len": b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff",
    "nint-overflow": b"\x3b\x80\x00\x00\x00\x00\x00\x00\x00",
    "trailing": b"\xa0\x00",
}


def frame(payload, typ=1, flags=0, ident=0):
    return struct.pack("<IHHI", len(payload), typ, flags, ident) + payload


def setup(max_payload, extra, seed):
    # fuzz_frame.c: u16 max_payload, u8 extra room, 5 bytes of chunk seed
    return struct.pack("<HB", max_payload, extra) + seed.to_bytes(5, "little")


FRAME = {
    "one": setup(256, 0, 1) + frame(CBOR["hello"], 1, 0, 1),
    "several": setup(512, 16, 2) + frame(CBOR["hello"], 1, 0, 1) + frame(b"", 5, 0, 2)
    + frame(CBOR["exit"], 10, 0, 0) + frame(CBOR["ok-hello"], 2, 1, 1),
    "exact-max": setup(32, 0, 3) + frame(bytes(range(32)), 7) + frame(b"x", 7),
    "over-max": setup(32, 0, 4) + frame(bytes(33), 7),
    "empty-only": setup(0, 0, 5) + frame(b"") * 5,
    "clamped": setup(1000, 0x80 | 20, 6) + frame(bytes(20)) + frame(bytes(21)),
    "partial": setup(100, 3, 7) + frame(bytes(50))[:30],
    "huge-len": setup(100, 0, 8) + b"\xff\xff\xff\xff" + bytes(8),
}


def write(subdir, seeds):
    d = os.path.join(HERE, "corpus", subdir)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)



# fuzz_vhost_user.c: chunks of (control byte: fd count in bits 0-1, bit 2 memfd
# instead of eventfd; u16 length; bytes). One vhost-user message per chunk.
def vu(req, payload=b"", fds=0, memfd=False, flags=1):
    msg = struct.pack("<III", req, flags, len(payload)) + payload
    return struct.pack("<BH", fds | (4 if memfd else 0), len(msg)) + msg


U64 = lambda v: struct.pack("<Q", v)
FEATURES = (1 << 32) | (1 << 30)
MEM_TABLE = struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, 1 << 20, 0x7f0000000000, 0)
RING_ADDR = lambda i: struct.pack("<IIQQQQ", i, 0, 0x7f0000000000, 0x7f0000001000, 0x7f0000002000, 0)
NEGOTIATE = (vu(1) + vu(15) + vu(16, U64(1 | 1 << 9)) + vu(17) + vu(3) + vu(2, U64(FEATURES))
             + vu(24, struct.pack("<III", 0, 8, 0) + bytes(8)))
RINGS = b"".join(vu(8, struct.pack("<II", i, 256)) + vu(9, RING_ADDR(i)) + vu(10, struct.pack("<II", i, 0))
                 + vu(13, U64(i), 1) + vu(12, U64(i), 1) + vu(18, struct.pack("<II", i, 1)) for i in (0, 1))
VHOST_USER = {
    "negotiate": NEGOTIATE,
    "full-setup": NEGOTIATE + vu(5, MEM_TABLE, 1, True) + RINGS + vu(11, struct.pack("<II", 0, 0))
    + vu(11, struct.pack("<II", 1, 0)) + vu(4),
    "mem-past-end": NEGOTIATE + vu(5, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, 1 << 30, 0, 0), 1, True),
    "nofd-kick": NEGOTIATE + vu(12, U64(0x100)),
    "wrong-fd-count": NEGOTIATE + vu(13, U64(0), 0) + vu(12, U64(0), 2),
    "huge-size": struct.pack("<BH", 0, 12) + struct.pack("<III", 5, 1, 1 << 30),
    "reply-flag": vu(1, flags=5),
    "unsupported": vu(6, U64(0)),
    "split-header": struct.pack("<BH", 0, 5) + struct.pack("<III", 1, 1, 0)[:5]
    + struct.pack("<BH", 0, 7) + struct.pack("<III", 1, 1, 0)[5:],
}

# fuzz_spec.c: config.json text; root.path "rootfs" exists in the harness's bundle
BASE = {
    "ociVersion": "1.0.2",
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "fuzz",
    "process": {"args": ["/bin/sh"], "env": ["PATH=/bin"], "cwd": "/", "terminal": False,
                "user": {"uid": 1, "gid": 2, "umask": 18, "additionalGids": [3, 4]},
                "capabilities": {"bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN"],
                                 "permitted": ["CAP_CHOWN"], "inheritable": [], "ambient": []},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                "noNewPrivileges": True, "oomScoreAdj": 100},
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
               {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
               {"destination": "/etc/hosts", "type": "bind", "source": "/etc/hosts",
                "options": ["rbind", "ro", "rprivate"]}],
    "linux": {
        "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
                       {"type": "cgroup"}, {"type": "user"}, {"type": "network", "path": "/run/netns/x"}],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 65536}],
        "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
        "rootfsPropagation": "rslave",
        "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "8192"},
        "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}],
        "resources": {"memory": {"limit": 268435456, "reservation": 1048576, "swap": 536870912},
                      "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
                      "pids": {"limit": 64},
                      "devices": [{"allow": False, "access": "rwm"},
                                  {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
                      "blockIO": {"weight": 100}},
        "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
                    "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                    "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
                                 {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                                  "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]},
    },
    "hooks": {"prestart": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]},
    "annotations": {"io.husk.vm.memory_mib": "256"},
}
SPEC = {
    "full": json.dumps(BASE, indent=1).encode(),
    "minimal": json.dumps({"ociVersion": "1.0.0", "root": {"path": "rootfs"},
                           "process": {"args": ["/bin/true"], "cwd": "/"},
                           "linux": {"namespaces": [{"type": "mount"}]}}).encode(),
    "sandbox-hold": json.dumps({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
                                "process": {"args": ["husk-hold"], "cwd": "/work"},
                                "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]},
                                "annotations": {"io.husk.rootfs.overlay_mib": "256",
                                                "io.husk.sandbox.hold": "true"}}).encode(),
    "sandbox-hold-bad": json.dumps({"ociVersion": "1.0.2", "root": {"path": "rootfs"},
                                    "process": {"args": ["husk-hold"], "cwd": "/"},
                                    "annotations": {"io.husk.sandbox.hold": "yes"}}).encode(),
    "process-only": json.dumps(BASE["process"]).encode(),
    "resources-only": json.dumps(BASE["linux"]["resources"]).encode(),
    "bad-ns": json.dumps(dict(BASE, linux={"namespaces": [{"type": "bogus"}]})).encode(),
    "duplicate-key": b'{"ociVersion": "1.0.0", "ociVersion": "1.0.0"}',
    "hugepages": json.dumps({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304},
                                                {"pageSize": "1GB", "limit": 0}]}).encode(),
}

# fuzz_msg.c: one message body each (the session messages of proto/msg_session.h,
# UPDATE and the STATS reply), valid, and a few just past a bound
STATS = {"cpu_usage_ns": 2000000, "cpu_user_ns": 1500000, "cpu_system_ns": 500000,
         "memory_usage": 8192, "memory_limit": -1, "swap_usage": 0, "pids_current": 3,
         "pids_limit": 100, "io_read_bytes": 1010, "io_write_bytes": 2020, "io_reads": 4,
         "io_writes": 6, "oom_kills": 2, "memory_stat": {"anon": 4096, "file": 8192, "?": 0},
         "time_ns": 1733328000000000000}
MSG = {
    "hello": enc({"version": 1}),
    "hello-reply": enc({"version": 1, "kernel": "6.1.0-husk"}),
    "pid-reply": enc({"pid": 4242}),
    "error": enc({"code": 2, "message": "no such file \u2603"}),
    "error-code-too-big": enc({"code": 4096, "message": "x"}),
    "signal": enc({"signal": 9, "all": True}),
    "signal-zero": enc({"signal": 0}),
    "resize": enc({"rows": 24, "cols": 80}),
    "stdio": enc({"stream": 1, "data": b"hello\n\x00\xff"}),
    "stdio-stream-3": enc({"stream": 3, "data": b"x"}),
    "stdio-close": enc({"stream": 0}),
    "stdin-ack": enc({"bytes": 262144}),
    "stdin-ack-over": enc({"bytes": 262145}),
    "exit": enc({"status": 137}),
    "oom": enc({"oom_kills": 1}),
    "ps-reply": enc({"processes": [{"pid": 1, "ppid": 0, "uid": 0, "cmd": "sleep 100"},
                                   {"pid": 7, "ppid": 1, "uid": 1000, "cmd": "sh -c x"}]}),
    "ps-reply-bad": enc({"processes": [{"pid": 2**31, "ppid": 0, "uid": 0, "cmd": ""}]}),
    "update": enc({"resources": {"memory_limit": 268435456, "pids_limit": -1, "cpuset_cpus": "0-1"}}),
    "update-hugetlb": enc({"resources": {"hugetlb": [{"page_kb": 2048, "limit": 4194304},
                                                     {"page_kb": 1048576, "limit": 0}]}}),
    "update-hugetlb-bad": enc({"resources": {"hugetlb": [{"page_kb": 3072, "limit": 1}]}}),
    "stats": enc(STATS),
    "stats-limit-bad": enc(dict(STATS, memory_limit=-2)),
    "empty": enc({}),
    # the container part of CREATE: mounts with recursive attributes
    # (rset/rclr: MOUNT_ATTR_* for mount_setattr), and one it must refuse
    "container-rattr": enc({"mounts": [
        {"dst": "/data", "bind": 0, "dir": True, "flags": 4097 | 16384, "prop": 0, "data": None,
         "rset": 0x1 | 0x2 | 0x10 | 0x200000, "rclr": 0x4 | 0x70},
        {"dst": "/tmp", "type": "tmpfs", "src": "tmpfs", "flags": 2, "prop": 0, "data": "size=1m",
         "rset": 0, "rclr": 0x80}],
        "masked": [], "readonly": [], "propagation": 0, "sysctl": [], "devices": [],
        "domainname": None, "ns": 1, "uidmap": [], "gidmap": []}),
    "container-rattr-partial-atime": enc({"mounts": [
        {"dst": "/data", "bind": 0, "dir": True, "flags": 4096, "prop": 0, "data": None,
         "rset": 0x10, "rclr": 0x10}], "ns": 1}),
    # NOTIFY (proto/msg_notify.h) and CREATE's notify_socket
    "notify": enc({"message": "READY=1\nSTATUS=serving \u2603\nMAINPID=7"}),
    "notify-empty": enc({"message": ""}),
    # ADOPT (proto/msg_session.h), on a pool VM's ctl.sock
    "adopt": enc({"id": "c1"}),
    "adopt-empty": enc({"id": ""}),
    "notify-max": enc({"message": "STATUS=" + "x" * (4096 - 7)}),
    "notify-over": enc({"message": "STATUS=" + "x" * (4097 - 7)}),
    "notify-bytes": enc({"message": b"READY=1"}),
    "create-notify": enc({"id": "c1", "rootfs_tag": "vfs", "readonly": False, "hostname": None, "stdin": False,
                          "process": {"args": ["/bin/sh"], "env": ["NOTIFY_SOCKET=/run/notify/notify.sock"],
                                      "cwd": "/", "uid": 0, "gid": 0, "gids": [], "terminal": False,
                                      "rows": 0, "cols": 0},
                          "notify_socket": "/run/notify/notify.sock"}),
    # pods (protocol version 2): CREATE {ctr, join}, EXEC/START/UPDATE {ctr}, PS {ctr},
    # and each refusal's neighbour
    "create-pod": enc({"id": "m1", "rootfs_tag": "vfs", "readonly": False, "hostname": None, "stdin": False,
                       "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                       "container": {"mounts": [], "ns": 1}, "ctr": 1,
                       "join": {"pid": 0, "ipc": 0, "uts": 0, "cgroup": 0}}),
    "create-pod-join-self": enc({"id": "m1", "rootfs_tag": "vfs",
                                 "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                                 "container": {"ns": 1}, "ctr": 2, "join": {"ipc": 2}}),
    "create-pod-join-mnt": enc({"id": "m1", "rootfs_tag": "vfs",
                                "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                                "container": {"ns": 1}, "ctr": 2, "join": {"mnt": 0}}),
    "create-pod-ctr-16": enc({"id": "m1", "rootfs_tag": "vfs",
                              "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                              "ctr": 16}),
    "exec-ctr": enc({"stdin": True, "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                     "ctr": 3}),
    "ps-ctr": enc({"ctr": 1}),
    "ps-ctr-16": enc({"ctr": 16}),
    "start-ctr": enc({"ctr": 15}),
    "update-ctr": enc({"resources": {"pids_limit": 20}, "ctr": 2}),
    # pools: slot 0's tree at vfs/ctr/0, and a "tree" of the wrong type
    "create-tree": enc({"id": "c1", "rootfs_tag": "vfs", "readonly": False, "hostname": None, "stdin": False,
                        "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                        "container": {"mounts": [], "ns": 15}, "tree": True}),
    "create-tree-uint": enc({"id": "c1", "rootfs_tag": "vfs",
                             "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                             "tree": 1}),
    # sandboxes: the copy-on-write root, out of range, and with readonly
    "create-overlay": enc({"id": "c1", "rootfs_tag": "vfs", "readonly": False, "hostname": None, "stdin": False,
                           "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                           "container": {"mounts": [], "ns": 15}, "overlay_mib": 256}),
    "create-overlay-big": enc({"id": "c1", "rootfs_tag": "vfs",
                               "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                               "overlay_mib": 65537}),
    "create-overlay-readonly": enc({"id": "c1", "rootfs_tag": "vfs", "readonly": True,
                                    "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                                    "overlay_mib": 1}),
    # sandbox start: the held init (args never run), and "hold" of the wrong types
    "create-hold": enc({"id": "c1", "rootfs_tag": "vfs", "readonly": False, "hostname": None, "stdin": False,
                        "process": {"args": ["husk-hold"], "env": [], "cwd": "/work", "uid": 0, "gid": 0},
                        "container": {"mounts": [], "ns": 15}, "overlay_mib": 256, "hold": True}),
    "create-hold-uint": enc({"id": "c1", "rootfs_tag": "vfs",
                             "process": {"args": ["husk-hold"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                             "hold": 1}),
    "create-hold-text": enc({"id": "c1", "rootfs_tag": "vfs",
                             "process": {"args": ["husk-hold"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                             "hold": "true"}),
    "create-notify-dotdot": enc({"id": "c1", "rootfs_tag": "vfs",
                                 "process": {"args": ["/bin/sh"], "env": [], "cwd": "/", "uid": 0, "gid": 0},
                                 "notify_socket": "/run/../notify.sock"}),
}

# fuzz_monitor.c: the guest's side of a session, frames back to back. In
# flight: PS id 10, STATS id 11, PAUSE id 12, RESUME id 13 (ids up to 13
# were given out; 14 on never were).
OK, ERR, R = 2, 3, 1
MONITOR = {
    "stdio-ack-oom": frame(MSG["stdio"], 7) + frame(enc({"stream": 2, "data": b"err"}), 7)
    + frame(enc({"bytes": 100}), 9) + frame(MSG["oom"], 19) + frame(enc({"oom_kills": 5}), 19),
    "replies": frame(MSG["ps-reply"], OK, R, 10) + frame(MSG["stats"], OK, R, 11)
    + frame(MSG["empty"], OK, R, 12) + frame(MSG["error"], ERR, R, 13),
    "ps-malformed": frame(MSG["ps-reply-bad"], OK, R, 10),
    "stats-malformed": frame(MSG["stats-limit-bad"], OK, R, 11),
    "stats-for-ps": frame(MSG["stats"], OK, R, 10) + frame(MSG["ps-reply"], OK, R, 11),
    "reused-id": frame(MSG["ps-reply"], OK, R, 10) + frame(MSG["stats"], OK, R, 10)
    + frame(MSG["empty"], OK, R, 3),
    "never-sent-id": frame(MSG["empty"], OK, R, 99),
    "error-malformed": frame(enc({"code": "x"}), ERR, R, 12),
    "close-then-write": frame(enc({"stream": 1}), 8) + frame(MSG["stdio"], 7),
    "exit-then-more": frame(MSG["exit"], 10) + frame(MSG["stdio"], 7) + frame(MSG["oom"], 19),
    "ack-over": frame(MSG["stdin-ack-over"], 9),
    "stdin-close": frame(MSG["stdio-close"], 8),
    "unknown-type": frame(MSG["empty"], 0x7777) + frame(MSG["empty"], 0xbeef, R, 10),
    "garbage": frame(b"\xff\x1f\x5b\xff\xff", 7),
    "oom-storm": b"".join(frame(enc({"oom_kills": n}), 19) for n in range(1, 200)),
    # a NOTIFY the monitor set up no socket for: a protocol error
    "notify-unasked": frame(MSG["notify"], 21),
    # "MEMB" first: a pod member's monitor. Its session ends with the input:
    # without EXIT (the member then ends 137), with requests in flight
    "member-no-exit": b"MEMB" + frame(MSG["stdio"], 7) + frame(MSG["ps-reply"], OK, R, 10)
    + frame(MSG["oom"], 19),
    "member-session-gone": b"MEMB",
    # its EXIT is its container's, not the VM's: no SHUTDOWN follows
    "member-exit-then-more": b"MEMB" + frame(MSG["exit"], 10) + frame(MSG["stdio"], 7)
    + frame(MSG["stats"], OK, R, 11),
}

write("cbor", CBOR)
write("frame", FRAME)
write("vhost_user", VHOST_USER)
write("spec", SPEC)
write("msg", MSG)
write("monitor", MONITOR)
