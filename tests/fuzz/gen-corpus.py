#!/usr/bin/env python3
"""Writes the small seed corpora in tests/fuzz/corpus/{cbor,frame}/.

Run from anywhere; the files are committed, so this only needs running again
when a seed is added. Seeds are hand-built byte strings (no CBOR library):
valid messages shaped like the protocol's, every head size, and one of each
class the decoder must refuse, so the fuzzer starts next to every branch."""
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


write("cbor", CBOR)
write("frame", FRAME)
