#!/usr/bin/env python3
"""Runs a command on a new pty, as a terminal's foreground job would run,
and reports what a user would see: the bytes written to the terminal, the
exit status, and whether the terminal's settings were the same afterwards.

Usage: pty_run.py [--size ROWS COLS] [--resize-on TEXT ROWS COLS]
                  [--send-on TEXT INPUT] [--timeout S] [--pid-file F] -- CMD...

--resize-on resizes the terminal once TEXT has appeared in the output;
--send-on types INPUT once TEXT has appeared; --pid-file gets CMD's pid. Prints one JSON object:
{"status": N, "output": "...", "restored": bool, "timed_out": bool}
(status is 128+signal for a command killed by a signal).
"""
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def parse(argv):
    opts = {"size": (24, 80), "resize_on": None, "send_on": None, "timeout": 120.0, "pid_file": None}
    i = 0
    while i < len(argv) and argv[i] != "--":
        a = argv[i]
        if a == "--size":
            opts["size"] = (int(argv[i + 1]), int(argv[i + 2]))
            i += 3
        elif a == "--resize-on":
            opts["resize_on"] = (argv[i + 1], int(argv[i + 2]), int(argv[i + 3]))
            i += 4
        elif a == "--send-on":
            opts["send_on"] = (argv[i + 1], argv[i + 2])
            i += 3
        elif a == "--pid-file":
            opts["pid_file"] = argv[i + 1]
            i += 2
        elif a == "--timeout":
            opts["timeout"] = float(argv[i + 1])
            i += 2
        else:
            sys.exit("pty_run.py: unknown option %s" % a)
    if i >= len(argv) - 1:
        sys.exit("pty_run.py: expected -- CMD...")
    return opts, argv[i + 1:]


def main():
    opts, cmd = parse(sys.argv[1:])
    master, slave = pty.openpty()
    set_size(slave, *opts["size"])
    before = termios.tcgetattr(slave)
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in range(3):
            os.dup2(slave, fd)
        if slave > 2:
            os.close(slave)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    if opts["pid_file"]:
        with open(opts["pid_file"], "w") as f:
            f.write("%d\n" % pid)
    out = b""
    status = None
    timed_out = False
    deadline = time.monotonic() + opts["timeout"]
    resize_on, send_on = opts["resize_on"], opts["send_on"]
    while True:
        if status is None:
            w, st = os.waitpid(pid, os.WNOHANG)
            if w == pid:
                status = os.waitstatus_to_exitcode(st)
                if status < 0:
                    status = 128 - status
                # what the command wrote before it exited is still queued
                deadline = min(deadline, time.monotonic() + 2)
        if time.monotonic() > deadline:
            if status is None:
                timed_out = True
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = 137
            break
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data and status is not None:
                break
            out += data
        elif status is not None:
            break
        if resize_on and resize_on[0].encode() in out:
            # the kernel sends SIGWINCH to the terminal's foreground group
            set_size(slave, resize_on[1], resize_on[2])
            resize_on = None
        if send_on and send_on[0].encode() in out:
            os.write(master, send_on[1].encode())
            send_on = None
    after = termios.tcgetattr(slave)
    print(json.dumps({"status": status, "output": out.decode("utf-8", "replace"),
                      "restored": before == after, "timed_out": timed_out}))


if __name__ == "__main__":
    main()
