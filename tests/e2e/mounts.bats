#!/usr/bin/env bats
# The container's file system view and container-wide settings from
# config.json: mounts (bind mounts of host files and directories through
# virtio-fs), /dev/shm sizes, masked and read-only paths, sysctl,
# domainname, linux.devices.

load helpers

setup() { common_setup; }
teardown() {
  if [ -n "${HOST_TMPFS:-}" ]; then umount "$HOST_TMPFS" 2>/dev/null || true; fi
  common_teardown
}

# edit BUNDLE JQ-FILTER [jq args...]
edit() {
  local bundle=$1 filter=$2
  shift 2
  jq "$@" "$filter" "$bundle/config.json" > "$bundle/c.json" && mv "$bundle/c.json" "$bundle/config.json"
}

@test "a host directory bind-mounted read-write: writes from the container reach the host" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  echo from-host > "$BATS_TEST_TMPDIR/vol/in"
  edit "$BUNDLE" '.mounts += [{destination: "/data", type: "bind", source: $s, options: ["rbind", "rw"]}]' \
    --arg s "$BATS_TEST_TMPDIR/vol"
  set_args "$BUNDLE" /bin/sh -c 'cat /data/in && echo from-container > /data/out'
  run husk run --bundle "$BUNDLE" bindrw
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "from-host" ]
  [ "$(cat "$BATS_TEST_TMPDIR/vol/out")" = "from-container" ]
}

@test "a read-only bind mount cannot be written" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  edit "$BUNDLE" '.mounts += [{destination: "/data", type: "bind", source: $s, options: ["rbind", "ro"]}]' \
    --arg s "$BATS_TEST_TMPDIR/vol"
  set_args "$BUNDLE" /bin/sh -c 'if touch /data/x 2>/dev/null; then echo wrote; else echo refused; fi; grep " /data " /proc/mounts'
  run husk run --bundle "$BUNDLE" bindro
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "refused" ]
  [[ "${lines[1]}" == *" ro,"* ]]
  [ ! -e "$BATS_TEST_TMPDIR/vol/x" ]
}

@test "a host file bind-mounted like /etc/hosts, on a read-only rootfs" {
  printf '10.1.2.3 myhost\n' > "$BATS_TEST_TMPDIR/hosts"
  edit "$BUNDLE" '.root.readonly = true | .mounts += [{destination: "/etc/hosts", type: "bind", source: $s, options: ["bind", "ro"]}]' \
    --arg s "$BATS_TEST_TMPDIR/hosts"
  set_args "$BUNDLE" /bin/sh -c 'cat /etc/hosts; touch /rootfile 2>/dev/null && echo rootfs-writable || echo rootfs-ro'
  run husk run --bundle "$BUNDLE" hostsfile
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "10.1.2.3 myhost" ]
  [ "${lines[1]}" = "rootfs-ro" ]
  [ ! -e "$BUNDLE/rootfs/rootfile" ]
}

@test "a missing bind source is a one-line error at create and leaves nothing behind" {
  edit "$BUNDLE" '.mounts += [{destination: "/data", type: "bind", source: "/nonexistent/husk-src", options: ["rbind"]}]'
  run husk create --bundle "$BUNDLE" nosrc
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"bind source /nonexistent/husk-src"* ]]
  [ ! -e "$HUSK_ROOT/nosrc" ]
  [ -z "$(leftover_processes)" ]
}

@test "tmpfs size and mode, and /dev/shm with size=" {
  edit "$BUNDLE" '.mounts |= map(if .destination == "/dev/shm" then .options = ["nosuid","nodev","noexec","mode=1777","size=32m"] else . end)
    | .mounts += [{destination: "/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "size=5m", "mode=700"]}]'
  set_args "$BUNDLE" /bin/sh -c 'grep " /scratch " /proc/mounts; grep " /dev/shm " /proc/mounts; stat -c %a /scratch'
  run husk run --bundle "$BUNDLE" tmpfs1
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *"size=5120k"* ]]
  [[ "${lines[0]}" == *"nosuid"* ]]
  [[ "${lines[1]}" == *"size=32768k"* ]]
  [ "${lines[2]}" = "700" ]
}

@test "a host tmpfs bound on /dev/shm (docker --shm-size) gives a /dev/shm of its size" {
  HOST_TMPFS=$BATS_TEST_TMPDIR/shm
  mkdir -p "$HOST_TMPFS"
  mount -t tmpfs -o size=24m tmpfs "$HOST_TMPFS"
  edit "$BUNDLE" '.mounts |= map(if .destination == "/dev/shm" then {destination: "/dev/shm", type: "bind", source: $s, options: ["rbind","nosuid","noexec","nodev"]} else . end)' \
    --arg s "$HOST_TMPFS"
  set_args "$BUNDLE" /bin/sh -c 'grep " /dev/shm " /proc/mounts'
  run husk run --bundle "$BUNDLE" shmsize
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == "shm /dev/shm tmpfs "* ]]
  [[ "$output" == *"size=24576k"* ]]
}

@test "maskedPaths and readonlyPaths" {
  set_args "$BUNDLE" /bin/sh -c 'echo "[$(cat /proc/timer_list)]"; ls /sys/firmware | wc -l; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo wrote || echo refused'
  run husk run --bundle "$BUNDLE" masks
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "[]" ]
  [ "${lines[1]}" = "0" ]
  [ "${lines[2]}" = "refused" ]
}

@test "sysctl: namespaced and non-namespaced keys take effect; domainname is set" {
  edit "$BUNDLE" '.domainname = "example.test" | .linux.sysctl = {"kernel.shmmax": "123456789", "net.ipv4.ip_forward": "1", "vm.swappiness": "42", "kernel/pid_max": "8192"}'
  set_args "$BUNDLE" /bin/sh -c 'cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward /proc/sys/vm/swappiness /proc/sys/kernel/pid_max /proc/sys/kernel/domainname'
  run husk run --bundle "$BUNDLE" sysctl1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "123456789" ]
  [ "${lines[1]}" = "1" ]
  [ "${lines[2]}" = "42" ]
  [ "${lines[3]}" = "8192" ]
  [ "${lines[4]}" = "example.test" ]
}

@test "an unknown sysctl key is a clear error at create" {
  edit "$BUNDLE" '.linux.sysctl = {"kernel.husk_no_such_key": "1"}'
  run husk create --bundle "$BUNDLE" badsysctl
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"sysctl kernel.husk_no_such_key: no such key"* ]]
  [ ! -e "$HUSK_ROOT/badsysctl" ]
  [ -z "$(leftover_processes)" ]
}

@test "linux.devices are created with their type, numbers, mode and owner" {
  edit "$BUNDLE" '.linux.devices = [{path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0},
    {path: "/dev/disks/vdz", type: "b", major: 254, minor: 7, fileMode: 384, uid: 5, gid: 6},
    {path: "/dev/myfifo", type: "p"}, {path: "/dev/ptmx", type: "c", major: 5, minor: 2, fileMode: 438}]'
  set_args "$BUNDLE" /bin/sh -c 'stat -c "%F %t %T %a" /dev/fuse; stat -c "%F %t %T %a %u %g" /dev/disks/vdz; stat -c "%F" /dev/myfifo; readlink /dev/ptmx'
  run husk run --bundle "$BUNDLE" devs
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "character special file a e5 666" ]
  [ "${lines[1]}" = "block special file fe 7 600 5 6" ]
  [ "${lines[2]}" = "fifo" ]
  # a listed /dev/ptmx (podman --privileged lists the host's) stays the
  # link into the container's devpts, as in runc
  [ "${lines[3]}" = "pts/ptmx" ]
}

@test "mounts live in the monitor's namespace only; delete leaves no mount and no process" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  edit "$BUNDLE" '.mounts += [{destination: "/data", type: "bind", source: $s, options: ["rbind"]}]' \
    --arg s "$BATS_TEST_TMPDIR/vol"
  set_args "$BUNDLE" /bin/sh -c 'sleep 1000'
  husk create --bundle "$BUNDLE" ns1
  ! grep -q "$HUSK_ROOT" /proc/mounts
  monitor=$(husk state ns1 | jq -r .pid)
  grep -q "$HUSK_ROOT/ns1/vfs/rootfs" "/proc/$monitor/mounts"
  grep -q "$HUSK_ROOT/ns1/vfs/binds/0/vol" "/proc/$monitor/mounts"
  # the share root itself: a small read-only tmpfs
  grep -q "^husk-vfs $HUSK_ROOT/ns1/vfs tmpfs ro," "/proc/$monitor/mounts"
  husk start ns1
  wait_status ns1 running
  husk delete --force ns1
  ! grep -q "$HUSK_ROOT" /proc/mounts
  [ -z "$(leftover_processes)" ]
  # the bind source and the rootfs are intact
  [ -d "$BATS_TEST_TMPDIR/vol" ]
  [ -x "$BUNDLE/rootfs/bin/busybox" ]
}
