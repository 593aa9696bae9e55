#!/usr/bin/env bats
# Spec conformance: each case of tests/conformance/cases runs the probe's
# report under Debian's runc and under husk; the reports must agree except
# for the explained VM differences of tests/conformance/allow.jq.

load helpers

RUNC=${RUNC:-/usr/sbin/runc}

setup() {
  HUSK_ROOT=$(mktemp -d /run/husk-test.XXXXXX)
  export HUSK_ROOT RUNC
  [ -x "$RUNC" ] || skip "runc ($RUNC) is not installed: install-deps.sh installs it"
  # the probe tells a namespace of the container's own from its machine's
  # initial one (fixed inode numbers): runc's machine must be in those
  local ns ino=$((0xEFFFFFFF))
  for ns in ipc uts user pid cgroup; do
    [ "$(stat -L -c %i /proc/self/ns/$ns)" -eq "$ino" ] ||
      skip "the tests run outside the host's initial $ns namespace, so runc's containers cannot be compared"
    ino=$((ino - 1))
  done
}

teardown() { common_teardown; }

conform() {
  run "$TOP/tests/conformance/run.sh" "$1"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "ok $1" ]
}

@test "every conformance case has a test here" {
  for f in "$TOP"/tests/conformance/cases/*.jq; do
    name=$(basename "$f" .jq)
    grep -q "^@test \"$name\" { conform $name; }\$" "$BATS_TEST_FILENAME" || { echo "no @test for $name"; return 1; }
  done
}

@test "the runner fails on a difference the allow-list does not explain" {
  # a runc that runs the container with another umask
  printf '#!/bin/sh\nb=$5\njq ".process.user.umask = 63" "$b/config.json" > "$b/c.json" && mv "$b/c.json" "$b/config.json"\nexec %s "$@"\n' \
    "$RUNC" > "$BATS_TEST_TMPDIR/runc"
  chmod +x "$BATS_TEST_TMPDIR/runc"
  RUNC=$BATS_TEST_TMPDIR/runc run "$TOP/tests/conformance/run.sh" base
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "FAIL base: the reports differ beyond the allow-list"* ]]
  [[ "$output" == *'-  "umask": "0077"'*'+  "umask": "0022"'* ]]
}

@test "base" { conform base; }
@test "bind-dir-ro" { conform bind-dir-ro; }
@test "bind-dir-rw" { conform bind-dir-rw; }
@test "bind-file-ro" { conform bind-file-ro; }
@test "bind-file-rw" { conform bind-file-rw; }
@test "caps-all" { conform caps-all; }
@test "caps-reduced" { conform caps-reduced; }
@test "devices-no-rules" { conform devices-no-rules; }
@test "devices" { conform devices; }
@test "hostname-domainname" { conform hostname-domainname; }
@test "masked-paths" { conform masked-paths; }
@test "mount-cgroup2" { conform mount-cgroup2; }
@test "mount-dev-variants" { conform mount-dev-variants; }
@test "mount-tmpfs" { conform mount-tmpfs; }
@test "no-new-privs-off" { conform no-new-privs-off; }
@test "ns-all" { conform ns-all; }
@test "ns-mount-only" { conform ns-mount-only; }
@test "ns-pid-ipc" { conform ns-pid-ipc; }
@test "ns-user-nonroot" { conform ns-user-nonroot; }
@test "ns-user" { conform ns-user; }
@test "oom-score-adj" { conform oom-score-adj; }
@test "process-umask-env-cwd" { conform process-umask-env-cwd; }
@test "process-user" { conform process-user; }
@test "readonly-paths" { conform readonly-paths; }
@test "resources-cpu" { conform resources-cpu; }
@test "resources-memory" { conform resources-memory; }
@test "resources-pids" { conform resources-pids; }
@test "rlimits" { conform rlimits; }
@test "root-readonly" { conform root-readonly; }
@test "seccomp-docker" { conform seccomp-docker; }
@test "seccomp-rules" { conform seccomp-rules; }
@test "shm-host-tmpfs" { conform shm-host-tmpfs; }
@test "shm-size" { conform shm-size; }
@test "sysctl" { conform sysctl; }
@test "resources-memory-swap" { conform resources-memory-swap; }
@test "rootfs-propagation" { conform rootfs-propagation; }
@test "mount-proc-sysfs-options" { conform mount-proc-sysfs-options; }
@test "exec-base" { conform exec-base; }
@test "exec-user-caps" { conform exec-user-caps; }
@test "exec-seccomp-docker" { conform exec-seccomp-docker; }
@test "exec-ns-user" { conform exec-ns-user; }
