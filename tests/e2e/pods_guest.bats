#!/usr/bin/env bats
# husk-init's container table (pods, guest side) in a real VM, before the
# host has member monitors: the test-only tests/tools/pod-session speaks the
# protocol on a session of its own as a member's monitor will (CREATE {ctr,
# join}, START, stdio, EXIT), and tests/tools/vfs-inject puts the member's
# tree into the share's slot first. The host side (husk create of a member)
# is tests/e2e/pods.bats's.

load helpers

setup() {
  common_setup
  INJECT=$TOP/build/tests/vfs-inject
  SESSION=$TOP/build/tests/pod-session
  MEMBER=$BATS_TEST_TMPDIR/member
  make_bundle "$MEMBER" /bin/true
  jq 'del(.hostname)' "$MEMBER/config.json" > "$MEMBER/c.json" && mv "$MEMBER/c.json" "$MEMBER/config.json"
  jq '.hostname = "sandbox"' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}
teardown() { common_teardown; }

# a running sandbox "sb" (sleep as its init)
start_sandbox() {
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" sb </dev/null >/dev/null 2>&1
  husk start sb
}

# run_member SLOT JOIN... : the member in SLOT, until it exits; retries while
# the guest still frees the slot a previous member left
run_member() {
  local i
  for i in $(seq 50); do
    run "$SESSION" run "$HUSK_ROOT/sb" "$@"
    [[ "$output" == *"holds a container already"* ]] || return 0
    sleep 0.2
  done
}

@test "a member in slot 1 joins the sandbox's uts, ipc and pid namespaces, has its own cgroup, and its status comes back" {
  start_sandbox
  set_args "$MEMBER" /bin/sh -c 'hostname; cat /proc/self/cgroup; readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid; echo "pid1=$(cat /proc/1/comm)"; exit 7'
  "$INJECT" inject "$HUSK_ROOT/sb" 1 "$MEMBER"
  sb_ipc=$(husk exec sb readlink /proc/self/ns/ipc)
  sb_pid=$(husk exec sb readlink /proc/self/ns/pid)
  run_member 1 "$MEMBER" pid=0 ipc=0 uts=0
  echo "status $status: $output"
  [ "$status" -eq 7 ]
  [ "${lines[0]}" = "sandbox" ]
  [ "${lines[1]}" = "0::/container.1" ]
  [ "${lines[2]}" = "$sb_ipc" ]
  [ "${lines[3]}" = "$sb_pid" ]
  [ "${lines[4]}" = "pid1=sleep" ]
  # the slot is freed once the member is gone, and taken again
  set_args "$MEMBER" /bin/sh -c 'cat /proc/self/cgroup; exit 3'
  run_member 1 "$MEMBER"
  echo "$output"
  [ "$status" -eq 3 ]
  [ "${lines[0]}" = "0::/container.1" ]
  husk kill sb 9
}

@test "a failed member CREATE leaves the pod's share: a later member still finds its tree" {
  start_sandbox
  set_args "$MEMBER" /bin/sh -c 'echo member-ran'
  "$INJECT" inject "$HUSK_ROOT/sb" 1 "$MEMBER"
  # slot 2 holds no tree
  run "$SESSION" run "$HUSK_ROOT/sb" 2 "$MEMBER"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"the shared directory has no rootfs for container 2 of the pod"* ]]
  # a join to an empty slot, and to itself
  run "$SESSION" run "$HUSK_ROOT/sb" 1 "$MEMBER" ipc=3
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"join: slot 3 of the pod holds no running container (ipc)"* ]]
  run "$SESSION" run "$HUSK_ROOT/sb" 1 "$MEMBER" ipc=1
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"a container cannot join its own namespaces"* ]]
  run_member 1 "$MEMBER"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "member-ran" ]
  husk kill sb 9
}

@test "requests name a slot; ps and kill --all of the sandbox leave a member alone; the sandbox's end takes it with 137" {
  start_sandbox
  set_args "$MEMBER" /bin/sh -c 'echo up; exec sleep 1001'
  "$INJECT" inject "$HUSK_ROOT/sb" 1 "$MEMBER"
  run "$SESSION" request "$HUSK_ROOT/sb" ps 1
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "ERROR 3 slot 1 of the pod holds no container" ]
  "$SESSION" run "$HUSK_ROOT/sb" 1 "$MEMBER" pid=0 > "$BATS_TEST_TMPDIR/member.out" 2>&1 &
  m=$!
  for i in $(seq 300); do grep -q up "$BATS_TEST_TMPDIR/member.out" && break; sleep 0.1; done
  run "$SESSION" request "$HUSK_ROOT/sb" ps 1
  [ "$output" = "OK" ]
  run "$SESSION" request "$HUSK_ROOT/sb" pause 1
  [ "$output" = "OK" ]
  run "$SESSION" request "$HUSK_ROOT/sb" resume 1
  [ "$output" = "OK" ]
  run "$SESSION" request "$HUSK_ROOT/sb" shutdown
  echo "$output"
  [ "$output" = "ERROR 1 only the pod's first container may power the VM off" ]
  # the sandbox's ps lists its own processes only, though the member shares its pid namespace
  run husk ps sb
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"sleep 1000"* ]]
  [[ "$output" != *"sleep 1001"* ]]
  # kill --all of the sandbox (USR1: its init, PID 1 of its pid namespace, ignores it) does not reach the member
  husk kill --all sb USR1
  sleep 0.5
  kill -0 $m
  # the sandbox ends: its member goes with it, 137
  husk kill sb 9
  s=0; wait $m || s=$?
  cat "$BATS_TEST_TMPDIR/member.out"
  [ "$s" -eq 137 ]
}

@test "a member joining the sandbox's cgroup namespace sees its own cgroup beside the sandbox's root" {
  jq '.linux.namespaces += [{type: "cgroup"}]' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  start_sandbox
  set_args "$MEMBER" /bin/sh -c 'cat /proc/self/cgroup; readlink /proc/self/ns/cgroup'
  "$INJECT" inject "$HUSK_ROOT/sb" 1 "$MEMBER"
  sb_cg=$(husk exec sb readlink /proc/self/ns/cgroup)
  run_member 1 "$MEMBER" cgroup=0
  echo "status $status: $output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "0::/../container.1" ]
  [ "${lines[1]}" = "$sb_cg" ]
  husk kill sb 9
}
