#!/usr/bin/env python3
"""TCP transfer helper for tests/e2e/network.bats, run on the host end of a
veth (inside `ip netns exec`). Prints "<sha256> <bytes> <seconds>".

  net_xfer.py recv PORT OUT        listen, accept one connection, read to EOF
  net_xfer.py send HOST PORT FILE  connect (retrying for 90 s), send, close
  net_xfer.py sink PORT            as recv, keeping nothing (throughput runs)
  net_xfer.py blast HOST PORT SEC  connect (retrying), send zeros for SEC seconds
"""
import hashlib
import socket
import sys
import time


def report(h, n, t0):
    print(f"{h.hexdigest()} {n} {time.monotonic() - t0:.3f}", flush=True)


def recv(port, out):
    srv = socket.create_server(("::", int(port)), family=socket.AF_INET6, dualstack_ipv6=True)
    srv.settimeout(180)
    conn, _ = srv.accept()
    conn.settimeout(180)
    h, n, t0 = hashlib.sha256(), 0, time.monotonic()
    f = open(out, "wb") if out else None
    while True:
        b = conn.recv(1 << 16)
        if not b:
            break
        h.update(b)
        n += len(b)
        if f:
            f.write(b)
    if f:
        f.close()
    conn.close()
    report(h, n, t0)


def connect(host, port):
    deadline = time.monotonic() + 90
    while True:
        try:
            s = socket.create_connection((host, int(port)), timeout=10)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    s.settimeout(180)
    return s


def send(host, port, path):
    s = connect(host, port)
    data = open(path, "rb").read()
    t0 = time.monotonic()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    while s.recv(1 << 16):
        pass
    s.close()
    report(hashlib.sha256(data), len(data), t0)


def blast(host, port, seconds):
    s = connect(host, port)
    buf = bytes(1 << 16)
    n, t0 = 0, time.monotonic()
    end = t0 + float(seconds)
    while time.monotonic() < end:
        n += s.send(buf)
    s.shutdown(socket.SHUT_WR)
    while s.recv(1 << 16):
        pass
    s.close()
    print(f"- {n} {time.monotonic() - t0:.3f}", flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "recv":
        recv(sys.argv[2], sys.argv[3])
    elif cmd == "sink":
        recv(sys.argv[2], None)
    elif cmd == "send":
        send(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "blast":
        blast(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("usage: net_xfer.py recv PORT OUT | sink PORT | send HOST PORT FILE | blast HOST PORT SEC")
