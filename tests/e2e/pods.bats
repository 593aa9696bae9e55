#!/usr/bin/env bats
# Pods (docs/pods.md): containers whose config.json names a sandbox the way
# containerd's CRI plugin does (io.kubernetes.cri.* annotations, ipc and uts
# namespace paths to the sandbox's pid) run in the sandbox's VM. One
# sandbox for the whole file (each VM boot is slow under TCG), members per
# test; the last test kills the sandbox and checks nothing is left.

load helpers

SB=sb
SHM_KEY=4242

setup_file() {
  HUSK_ROOT=$(mktemp -d /run/husk-test.XXXXXX)
  export HUSK_ROOT
  local b=$BATS_FILE_TMPDIR/sb
  # (one line: make_bundle takes arguments a line each)
  make_bundle "$b" /bin/sh -c "mkdir -p /www && echo pod-web > /www/marker && httpd -p 127.0.0.1:8080 -h /www && probe shm-put $SHM_KEY from-the-sandbox && echo ready && exec sleep 100000"
  jq '.hostname = "podhost" | .annotations = {"io.kubernetes.cri.container-type": "sandbox",
      "io.kubernetes.cri.sandbox-id": "sb"}' "$b/config.json" > "$b/c.json" && mv "$b/c.json" "$b/config.json"
  "$HUSK" --root "$HUSK_ROOT" create --bundle "$b" "$SB" < /dev/null > "$BATS_FILE_TMPDIR/sb.out" 2>&1
  "$HUSK" --root "$HUSK_ROOT" start "$SB"
  local i
  for ((i = 0; i < 600; i++)); do
    grep -qx ready "$BATS_FILE_TMPDIR/sb.out" && break
    sleep 0.1
  done
  grep -qx ready "$BATS_FILE_TMPDIR/sb.out"
}

teardown_file() {
  local id
  for id in $(ls "$HUSK_ROOT" 2>/dev/null); do
    "$HUSK" --root "$HUSK_ROOT" delete --force "$id" > /dev/null 2>&1 || true
  done
  rm -rf "$HUSK_ROOT"
}

# a failed test's members go, so the next test starts from the sandbox alone
teardown() {
  local id
  for id in $(ls "$HUSK_ROOT" 2>/dev/null); do
    [ "$id" = "$SB" ] || "$HUSK" --root "$HUSK_ROOT" delete --force "$id" > /dev/null 2>&1 || true
  done
}

sb_pid() {
  husk state "$SB" | jq -r .pid
}

qemus() {
  pgrep -f "^qemu-system.*$HUSK_ROOT/" | wc -l
}

# member NAME ARG...: a bundle $BATS_TEST_TMPDIR/NAME as containerd makes a
# pod's container: the annotations, and the sandbox's ipc and uts namespaces
member() {
  local name=$1 dir=$BATS_TEST_TMPDIR/$1 pid
  shift
  pid=$(sb_pid)
  make_bundle "$dir" "$@"
  jq --arg sb "$SB" --arg pid "$pid" 'del(.hostname)
    | .annotations = {"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": $sb}
    | .linux.namespaces |= map(if .type == "ipc" or .type == "uts" then .path = "/proc/\($pid)/ns/\(.type)" else . end)' \
    "$dir/config.json" > "$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
}

@test "a member runs in the sandbox's VM: one qemu, its kernel, its localhost, hostname and SysV shm" {
  [ "$(qemus)" -eq 1 ]
  member m1 /bin/sh -c "probe kernel; wget -q -O - http://127.0.0.1:8080/marker; probe hostname; probe shm-get $SHM_KEY"
  run husk run --bundle "$BATS_TEST_TMPDIR/m1" m1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "$(husk exec "$SB" probe kernel)" ]
  [ "${lines[1]}" = "pod-web" ]
  [ "${lines[2]}" = "podhost" ]
  [ "${lines[3]}" = "from-the-sandbox" ]
  [ "$(qemus)" -eq 1 ]
  [ ! -e "$HUSK_ROOT/m1" ]
  [ "$(jq -r '.members | length' "$HUSK_ROOT/$SB/pod.json")" -eq 0 ]
}

# docker_member NAME KINDS ARG...: a bundle as Docker 20.10 makes one for
# --net=container:sb (--ipc=container:sb): no annotations, the paths of the
# sandbox's pid for the KINDS ("network ipc")
docker_member() {
  local name=$1 kinds=$2 dir=$BATS_TEST_TMPDIR/$1 pid
  shift 2
  pid=$(sb_pid)
  make_bundle "$dir" "$@"
  jq --arg pid "$pid" --arg kinds " $kinds " '
    .linux.namespaces |= map(.type as $t | if ($kinds | contains(" " + $t + " "))
      then .path = "/proc/\($pid)/ns/\(if .type == "network" then "net" else .type end)" else . end)
    | if any(.linux.namespaces[]; .type == "network") then . else .linux.namespaces += [{"type": "network", "path": "/proc/\($pid)/ns/net"}] end' \
    "$dir/config.json" > "$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
}

@test "a member found by its network path alone, and by net+ipc paths (Docker's --net/--ipc=container:)" {
  docker_member d1 "network" /bin/sh -c "wget -q -O - http://127.0.0.1:8080/marker; probe shm-get $SHM_KEY"
  run husk run --bundle "$BATS_TEST_TMPDIR/d1" d1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "pod-web" ]
  # its own ipc namespace: no segment there
  [ "${lines[1]}" = "errno 2" ]
  docker_member d2 "network ipc" /bin/sh -c "wget -q -O - http://127.0.0.1:8080/marker; probe shm-get $SHM_KEY"
  husk create --bundle "$BATS_TEST_TMPDIR/d2" d2 < /dev/null > "$BATS_TEST_TMPDIR/d2.out" 2>&1
  [ "$(jq -r .sandbox "$HUSK_ROOT/d2/state.json")" = "$SB" ]
  [ "$(stat -L -c %i "/proc/$(husk state d2 | jq -r .pid)/ns/net")" = "$(stat -L -c %i "/proc/$(sb_pid)/ns/net")" ]
  [ "$(qemus)" -eq 1 ]
  husk start d2
  local i
  for ((i = 0; i < 300; i++)); do
    [ "$(husk state d2 | jq -r .status)" = stopped ] && break
    sleep 0.1
  done
  cat "$BATS_TEST_TMPDIR/d2.out"
  [ "$(sed -n 1p "$BATS_TEST_TMPDIR/d2.out")" = "pod-web" ]
  [ "$(sed -n 2p "$BATS_TEST_TMPDIR/d2.out")" = "from-the-sandbox" ]
  husk delete d2
  [ ! -e "$HUSK_ROOT/d2" ]
  [ "$(qemus)" -eq 1 ]
}

@test "a member's exit status is its own; the sandbox runs on" {
  member m2 /bin/sh -c 'exit 7'
  run husk run --bundle "$BATS_TEST_TMPDIR/m2" m2
  [ "$status" -eq 7 ]
  [ "$(husk state "$SB" | jq -r .status)" = running ]
}

@test "pause, ps, exec and update act on the member only; delete without --force is refused" {
  member m3 sleep 1000
  husk create --bundle "$BATS_TEST_TMPDIR/m3" m3 < /dev/null > /dev/null 2>&1
  [ "$(husk state m3 | jq -r .pid)" != "$(sb_pid)" ]
  [ "$(jq -r .sandbox "$HUSK_ROOT/m3/state.json")" = "$SB" ]
  husk start m3
  run husk ps m3
  echo "$output"
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[1]}" == *sleep* ]]
  husk pause m3
  [ "$(husk state m3 | jq -r .status)" = paused ]
  [ "$(husk state "$SB" | jq -r .status)" = running ]
  [ "$(husk exec "$SB" wget -q -O - http://127.0.0.1:8080/marker)" = pod-web ]
  husk resume m3
  # exec reaches the member: its rootfs (no /www) in the sandbox's uts namespace
  [ "$(husk exec m3 probe hostname)" = podhost ]
  run husk exec m3 cat /www/marker
  [ "$status" -ne 0 ]
  husk update --pids-limit 77 m3
  [ "$(husk events --stats m3 | jq .data.pids.limit)" = 77 ]
  [ "$(husk events --stats "$SB" | jq .data.pids.limit)" != 77 ]
  [ "$(husk events --stats m3 | jq .data.pids.current)" -eq 1 ]
  run husk update --blkio-weight 500 m3
  [ "$status" -ne 0 ]
  [[ "$output" == *"the VM's I/O belongs to sandbox \"$SB\""* ]]
  run husk delete m3
  [ "$status" -ne 0 ]
  [[ "$output" == *"cannot delete container \"m3\" that is not stopped: running (use --force)"* ]]
  husk kill m3 KILL
  wait_status m3 stopped
  [ "$(jq -r .exit_status "$HUSK_ROOT/m3/state.json")" -eq 137 ]
  husk delete m3
  [ ! -e "$HUSK_ROOT/m3" ]
  [ "$(husk state "$SB" | jq -r .status)" = running ]
}

@test "20 create/delete rounds of one slot each see their own rootfs" {
  local i
  for ((i = 0; i < 20; i++)); do
    member "r$i" cat /marker
    echo "round $i" > "$BATS_TEST_TMPDIR/r$i/rootfs/marker"
    run husk run --bundle "$BATS_TEST_TMPDIR/r$i" "r$i"
    [ "$status" -eq 0 ]
    [ "$output" = "round $i" ]
  done
  [ "$(qemus)" -eq 1 ]
}

@test "two members created at once get two slots" {
  member ca sleep 1000
  member cb sleep 1000
  husk create --bundle "$BATS_TEST_TMPDIR/ca" ca < /dev/null > /dev/null 2>&1 &
  husk create --bundle "$BATS_TEST_TMPDIR/cb" cb < /dev/null > /dev/null 2>&1 &
  wait
  [ "$(husk state ca | jq -r .status)" = created ]
  [ "$(husk state cb | jq -r .status)" = created ]
  [ "$(jq -r .slot "$HUSK_ROOT/ca/state.json")" != "$(jq -r .slot "$HUSK_ROOT/cb/state.json")" ]
  [ "$(jq -r '.members | length' "$HUSK_ROOT/$SB/pod.json")" -eq 2 ]
  husk delete --force ca
  husk delete --force cb
  [ "$(jq -r '.members | length' "$HUSK_ROOT/$SB/pod.json")" -eq 0 ]
}

@test "a member's memory limit or cpuset beyond the pod's VM is refused at create" {
  local mib vcpus
  mib=$(jq -r .vm_memory_mib "$HUSK_ROOT/$SB/state.json")
  vcpus=$(jq -r .vm_vcpus "$HUSK_ROOT/$SB/state.json")
  [ "$mib" -gt 0 ] && [ "$vcpus" -gt 0 ]
  member big sleep 1000
  jq --argjson b $(((mib + 1) << 20)) '.linux.resources.memory.limit = $b' "$BATS_TEST_TMPDIR/big/config.json" \
    > "$BATS_TEST_TMPDIR/c.json" && mv "$BATS_TEST_TMPDIR/c.json" "$BATS_TEST_TMPDIR/big/config.json"
  run husk create --bundle "$BATS_TEST_TMPDIR/big" big
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"joining sandbox \"$SB\": memory limit $((mib + 1)) MiB is larger than the container's VM ($mib MiB), which cannot grow"* ]]
  [ ! -e "$HUSK_ROOT/big" ]
  member cpus sleep 1000
  jq --arg c "$vcpus" '.linux.resources.cpu.cpus = $c' "$BATS_TEST_TMPDIR/cpus/config.json" \
    > "$BATS_TEST_TMPDIR/c.json" && mv "$BATS_TEST_TMPDIR/c.json" "$BATS_TEST_TMPDIR/cpus/config.json"
  run husk create --bundle "$BATS_TEST_TMPDIR/cpus" cpus
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"cpuset.cpus \"$vcpus\" names CPU $vcpus, but the container's VM has $vcpus vCPUs and cannot grow"* ]]
  # exactly the VM's size fits
  member fits /bin/true
  jq --argjson b $((mib << 20)) '.linux.resources.memory.limit = $b' "$BATS_TEST_TMPDIR/fits/config.json" \
    > "$BATS_TEST_TMPDIR/c.json" && mv "$BATS_TEST_TMPDIR/c.json" "$BATS_TEST_TMPDIR/fits/config.json"
  run husk run --bundle "$BATS_TEST_TMPDIR/fits" fits
  [ "$status" -eq 0 ]
  [ "$(jq -r '.members | length' "$HUSK_ROOT/$SB/pod.json")" -eq 0 ]
}

@test "the sixteenth container of a pod is refused" {
  local i
  for ((i = 1; i <= 15; i++)); do
    member "f$i" sleep 1000
    husk create --bundle "$BATS_TEST_TMPDIR/f$i" "f$i" < /dev/null > /dev/null 2>&1
  done
  member f16 sleep 1000
  run husk create --bundle "$BATS_TEST_TMPDIR/f16" f16
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"the pod's VM holds 16 containers"* ]]
  [ ! -e "$HUSK_ROOT/f16" ]
  for ((i = 1; i <= 15; i++)); do
    husk delete --force "f$i"
  done
}

@test "kill 9 of the sandbox: members end 137, and nothing is left once deleted" {
  member mk sleep 1000
  husk create --bundle "$BATS_TEST_TMPDIR/mk" mk < /dev/null > /dev/null 2>&1
  husk start mk
  husk kill "$SB" 9
  wait_status "$SB" stopped
  wait_status mk stopped
  [ "$(jq -r .exit_status "$HUSK_ROOT/mk/state.json")" -eq 137 ]
  run husk create --bundle "$BATS_TEST_TMPDIR/mk" mk2
  [ "$status" -ne 0 ]
  husk delete mk
  husk delete "$SB"
  [ -z "$(ls "$HUSK_ROOT")" ]
  [ -z "$(pgrep -af -- "$HUSK_ROOT" | grep -v -e pgrep -e bats)" ]
  ! grep -F "$HUSK_ROOT" /proc/self/mountinfo
}
