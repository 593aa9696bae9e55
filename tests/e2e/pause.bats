#!/usr/bin/env bats
# pause / resume (the guest's cgroup v2 freezer) and ps (guest pids).

load helpers

setup() {
  common_setup
  set_args "$BUNDLE" /bin/sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.1; done'
  husk create --bundle "$BUNDLE" pz </dev/null >/dev/null 2>&1
  husk start pz
  for i in $(seq 100); do [ -s "$BUNDLE/rootfs/tmp/counter" ] && break; sleep 0.1; done
}
teardown() { common_teardown; }

counter() { cat "$BUNDLE/rootfs/tmp/counter"; }

@test "a paused container's counter stops; it advances again after resume" {
  husk pause pz
  [ "$(husk state pz | jq -r .status)" = "paused" ]
  a=$(counter)
  sleep 1.5
  [ "$(counter)" = "$a" ]
  husk resume pz
  [ "$(husk state pz | jq -r .status)" = "running" ]
  for i in $(seq 50); do [ "$(counter)" != "$a" ] && break; sleep 0.1; done
  [ "$(counter)" != "$a" ]
}

@test "pause and resume in the wrong state are clear errors" {
  run husk resume pz
  [ "$status" -ne 0 ]
  [[ "$output" == *"not paused"* ]]
  husk pause pz
  run husk pause pz
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
}

@test "exec into a paused container is refused unless --ignore-paused; kill still works" {
  husk pause pz
  run husk exec pz /bin/true
  [ "$status" -ne 0 ]
  [[ "$output" == *paused* ]]
  husk kill pz KILL
  wait_status pz stopped
}

@test "delete --force of a paused container leaves nothing behind" {
  husk pause pz
  run husk delete pz
  [ "$status" -ne 0 ]
  husk delete --force pz
  [ ! -e "$HUSK_ROOT/pz" ]
  [ -z "$(leftover_processes)" ]
}

@test "ps lists the container's processes; --format json gives the pids containerd parses" {
  run husk ps pz
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == PID*PPID*UID*CMD ]]
  [[ "$output" == *"/bin/sh -c"* ]]
  run husk ps --format json pz
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq 'length >= 1')" = "true" ]
  [ "$(echo "$output" | jq 'map(type == "number") | all')" = "true" ]
  # an exec'd process shows up too
  husk exec --detach pz /bin/sleep 30 </dev/null >/dev/null 2>&1
  for i in $(seq 50); do husk ps pz | grep -q "sleep 30" && break; sleep 0.1; done
  husk ps pz | grep -q "sleep 30"
}
