#!/usr/bin/env python3
"""An sd_notify listener for tests/e2e/sdnotify.bats: binds a unix datagram
socket at PATH (what systemd or conmon would have), then writes each datagram
it receives to LOG as one JSON line {"d": TEXT} until it is killed or has
waited SECONDS (default 300). READY (a file) appears once it listens. A PATH
starting with @ is a name in the abstract namespace (of the caller's netns)."""
import json
import os
import socket
import sys


def main():
    path, log, ready = sys.argv[1:4]
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else 300.0
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if path.startswith("@"):
        s.bind("\0" + path[1:])
    else:
        s.bind(path)
        os.chmod(path, 0o777)
    s.settimeout(limit)
    open(ready, "w").close()
    with open(log, "a") as f:
        while True:
            try:
                data = s.recv(1 << 17)
            except socket.timeout:
                return
            f.write(json.dumps({"d": data.decode("utf-8", "replace")}) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
