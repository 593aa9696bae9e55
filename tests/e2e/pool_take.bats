#!/usr/bin/env bats
# husk create taking a VM from the pool (docs/pool.md, docs/design-pool.md
# section 2): one server of size 2 on the file's root, shared by the tests
# that use it; the last tests start no server or kill one of their own.

bats_require_minimum_version 1.5.0

load helpers
load pool_helpers

setup_file() {
  TAKE_ROOT=$(mktemp -d /run/husk-take.XXXXXX)
  export TAKE_ROOT
  pool_start "$TAKE_ROOT" 2
  pool_wait_ready "$TAKE_ROOT" 2
}

teardown_file() {
  pool_stop "$TAKE_ROOT"
}

setup() {
  common_setup
}

teardown() {
  local id
  for id in $(ls "$TAKE_ROOT" 2>/dev/null); do
    case $id in pool.*) continue ;; esac
    "$HUSK" --root "$TAKE_ROOT" delete --force "$id" >/dev/null 2>&1 || true
  done
  common_teardown
}

# on the pool's root
take() {
  "$HUSK" --root "$TAKE_ROOT" "$@"
}

@test "ten runs in a row each adopt a pool VM: output, stderr and exit code as a cold run's; the VM used once" {
  make_bundle "$BUNDLE" /bin/sh -c 'echo out-$(cat /proc/sys/kernel/random/boot_id | cut -c1-8); echo err >&2; exit 3'
  # [pool] use = off in the config file: cold, the pool untouched
  printf '[pool]\nuse = off\n' >"$BATS_TEST_TMPDIR/off.conf"
  run --separate-stderr env HUSK_CONFIG="$BATS_TEST_TMPDIR/off.conf" "$HUSK" --root "$TAKE_ROOT" run -b "$BUNDLE" cold
  [ "$status" -eq 3 ]
  [ "$stderr" = err ]
  [ "$(take pool status | jq -r .ready)" = 2 ]
  local cold_out=$output seen="" i
  for i in $(seq 1 10); do
    pool_wait_ready "$TAKE_ROOT" 1
    # the environment wins over the file: HUSK_POOL=auto takes a VM
    run --separate-stderr env HUSK_CONFIG="$BATS_TEST_TMPDIR/off.conf" HUSK_POOL=auto \
      "$HUSK" --root "$TAKE_ROOT" --debug run -b "$BUNDLE" "warm$i"
    [ "$status" -eq 3 ]
    [[ "$output" == out-* ]]
    [ "${#output}" -eq "${#cold_out}" ]
    [[ "$stderr" == *"adopted pool VM $TAKE_ROOT/pool.d/"* ]]
    [[ "$stderr" == *$'\nerr'* || "$stderr" == err* ]]
    # a fresh guest every time: a VM is never used twice
    [[ "$seen" != *"$output"* ]]
    seen="$seen $output"
    [ ! -e "$TAKE_ROOT/warm$i" ]
  done
  # every VM the runs took is gone, with its dir
  [ "$(ls "$TAKE_ROOT/pool.d" | wc -l)" -le 2 ]
}

@test "an adopted container: its VM in the container's cgroups, exec, kill 9 -> 137, delete leaves no process, dir or group" {
  make_bundle "$BUNDLE" /bin/sleep 1000
  local cg="husk-take-$$"
  jq --arg p "/$cg" '.linux.cgroupsPath = $p' "$BUNDLE/config.json" >"$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  pool_wait_ready "$TAKE_ROOT" 1
  take create -b "$BUNDLE" ad
  take start ad
  local vm_dir qemu mon
  vm_dir=$(jq -r .vm_dir "$TAKE_ROOT/ad/state.json")
  [[ "$vm_dir" == "$TAKE_ROOT/pool.d/"* ]]
  qemu=$(jq -r .qemu.pid "$TAKE_ROOT/ad/state.json")
  mon=$(jq -r .vm_monitor.pid "$TAKE_ROOT/ad/state.json")
  grep -q ":memory:/$cg\$" "/proc/$qemu/cgroup"
  grep -q ":memory:/$cg\$" "/proc/$mon/cgroup"
  grep -q ":memory:/$cg\$" "/proc/$(take state ad | jq -r .pid)/cgroup"
  run take exec ad /bin/sh -c 'echo in-exec'
  [ "$status" -eq 0 ]
  [ "$output" = in-exec ]
  take kill ad 9
  HUSK_ROOT=$TAKE_ROOT wait_status ad stopped 30
  [ "$(jq -r .exit_status "$TAKE_ROOT/ad/state.json")" = 137 ]
  take delete ad
  ! kill -0 "$qemu" 2>/dev/null
  ! kill -0 "$mon" 2>/dev/null
  [ ! -e "$vm_dir" ]
  [ ! -e "$TAKE_ROOT/ad" ]
  ! ls -d /sys/fs/cgroup/*/"$cg" 2>/dev/null
}

@test "a container in a pool VM is a sandbox others join (Docker's --net/--ipc=container:X): one VM, X's shm; delete leaves nothing" {
  make_bundle "$BUNDLE" /bin/sh -c 'probe shm-put 4343 from-x && echo ready && exec sleep 1000'
  pool_wait_ready "$TAKE_ROOT" 1
  take create -b "$BUNDLE" px </dev/null >"$BATS_TEST_TMPDIR/px.out" 2>&1
  take start px
  local vm_dir pid i
  vm_dir=$(jq -r .vm_dir "$TAKE_ROOT/px/state.json")
  [[ "$vm_dir" == "$TAKE_ROOT/pool.d/"* ]]
  for ((i = 0; i < 300; i++)); do
    grep -qx ready "$BATS_TEST_TMPDIR/px.out" && break
    sleep 0.1
  done
  pid=$(take state px | jq -r .pid)
  local m=$BATS_TEST_TMPDIR/pm
  make_bundle "$m" /bin/sh -c 'probe shm-get 4343; probe kernel'
  jq --arg pid "$pid" '.linux.namespaces |= map(if .type == "ipc" then .path = "/proc/\($pid)/ns/ipc"
      elif .type == "network" then .path = "/proc/\($pid)/ns/net" else . end)' "$m/config.json" >"$m/c.json"
  mv "$m/c.json" "$m/config.json"
  run take run -b "$m" pm
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = from-x ]
  [ "${lines[1]}" = "$(take exec px probe kernel)" ]
  [ ! -e "$TAKE_ROOT/pm" ]
  [ "$(pgrep -fc "^qemu-system.*$vm_dir/")" -eq 1 ]
  take delete --force px
  [ ! -e "$vm_dir" ]
  [ ! -e "$TAKE_ROOT/px" ]
  [ "$(pgrep -fc "^qemu-system.*$vm_dir/" || true)" -eq 0 ]
}

@test "a container bigger than the pool's VMs boots cold and says why at debug" {
  make_bundle "$BUNDLE" /bin/sh -c 'head -1 /proc/meminfo'
  jq '.linux.resources.memory.limit = 1073741824' "$BUNDLE/config.json" >"$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  pool_wait_ready "$TAKE_ROOT" 1
  run --separate-stderr take --debug run -b "$BUNDLE" big
  [ "$status" -eq 0 ]
  [[ "$stderr" != *"adopted pool VM"* ]]
  [[ "$stderr" == *"cold boot:"* ]]
  # the guest has the VM a cold boot sizes for the limit (1 GiB + overhead)
  [ "$(awk '{print $2}' <<<"$output")" -gt 1000000 ]
}

@test "no pool, a stale pool.sock or a killed server: create boots cold, no error, nothing left" {
  make_bundle "$BUNDLE" /bin/echo cold-ok
  touch "$HUSK_ROOT/pool.sock"
  run --separate-stderr husk run -b "$BUNDLE" stale
  [ "$status" -eq 0 ]
  [ "$output" = cold-ok ]
  [ -z "$stderr" ]
  rm -f "$HUSK_ROOT/pool.sock"
  pool_start "$HUSK_ROOT" 1
  pool_wait_ready "$HUSK_ROOT" 1
  local mons
  mons=$(pool_monitors "$HUSK_ROOT")
  kill -9 "$(cat "$HUSK_ROOT.pid")"
  run --separate-stderr husk run -b "$BUNDLE" killed
  [ "$status" -eq 0 ]
  [ "$output" = cold-ok ]
  [ -z "$stderr" ]
  local m
  for m in $mons; do
    timeout 10 tail --pid="$m" -f /dev/null
  done
  # the idle VM's QEMU and virtiofsd follow their monitor
  local i
  for i in $(seq 1 50); do
    [ -z "$(leftover_processes)" ] && break
    sleep 0.2
  done
  rm -rf "$HUSK_ROOT/pool.d" "$HUSK_ROOT/pool.sock" "$HUSK_ROOT/pool.lock" "$HUSK_ROOT.pid" "$HUSK_ROOT.log" "$HUSK_ROOT.rc"
}

# The last tests kill the file's server (SIGKILL) mid-handover and start
# others on its root; teardown_file stops the last one.

# take_by_hand ROOT [kill]: TAKE on ROOT's pool.sock (docs/design-pool.md
# section 1) for the pool's own shape; the reply line on stdout. With
# "kill", the server is SIGKILLed the moment the reply is read.
take_by_hand() {
  local shape
  shape=$("$HUSK" --root "$1" pool status | jq -c .shape)
  python3 -c '
import json, os, signal, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1] + "/pool.sock")
s.sendall((json.dumps({"op": "take", "shape": json.loads(sys.argv[2])}) + "\n").encode())
line = s.makefile().readline().strip()
if sys.argv[3] == "kill":
    os.kill(int(open(sys.argv[1] + ".pid").read()), signal.SIGKILL)
print(line)' "$1" "$shape" "${2:-}"
}

# kill -9 ROOT's server, waited for
pool_kill() {
  local pid
  pid=$(cat "$1.pid")
  kill -KILL "$pid"
  timeout 10 tail --pid="$pid" -f /dev/null
}

# until no process names ROOT and no mount namespace holds a mount under it (20 s)
nothing_left_under() {
  local root=$1 i procs mounts
  for i in $(seq 1 100); do
    procs=$(pgrep -af -- "$root" | grep -v -e pgrep -e bats || true)
    mounts=$(grep -l -- "$root" /proc/[0-9]*/mountinfo 2>/dev/null || true)
    [ -z "$procs$mounts" ] && return 0
    sleep 0.2
  done
  echo "left under $root: processes: $procs; mounts in: $mounts" >&2
  return 1
}

@test "a TAKE no ADOPT follows: the VM stops after its ADOPT time (server alive: it removes the dir; server killed: the next serve does); nothing left, the next run cold" {
  pool_kill "$TAKE_ROOT"
  pool_start "$TAKE_ROOT" 1 HUSK_POOL_ADOPT_TIMEOUT_MS=3000
  pool_wait_ready "$TAKE_ROOT" 1
  # server alive: the taken VM stops on its own and the server removes its dir
  local reply dir mon
  reply=$(take_by_hand "$TAKE_ROOT")
  dir=$(jq -r .vm.dir <<<"$reply")
  mon=$(jq -r .vm.monitor.pid <<<"$reply")
  [[ "$dir" == "$TAKE_ROOT/pool.d/"* ]]
  timeout 30 tail --pid="$mon" -f /dev/null
  local i
  for i in $(seq 1 50); do [ ! -e "$dir" ] && break; sleep 0.1; done
  [ ! -e "$dir" ]
  grep -q "$dir was taken and never adopted; removing it" "$TAKE_ROOT.log"
  nothing_left_under "$dir"
  # a VM that does not answer "taken" in time (its monitor stopped) is not
  # handed out: the run boots cold; the VM, taken after all once it runs
  # again, stops after its ADOPT time and the server removes its dir
  pool_wait_ready "$TAKE_ROOT" 1
  mon=$(pool_monitors "$TAKE_ROOT")
  dir=$(dirname "$(grep -l "\"pid\":$mon," "$TAKE_ROOT"/pool.d/*/monitor.json)")
  kill -STOP "$mon"
  make_bundle "$BUNDLE" /bin/sh -c 'echo cold-stopped; exit 5'
  run --separate-stderr take --debug run -b "$BUNDLE" stopped
  kill -CONT "$mon"
  [ "$status" -eq 5 ]
  [ "$output" = cold-stopped ]
  [[ "$stderr" == *"cold boot: the pool has no VM: the VM went away"* ]]
  [[ "$stderr" != *"adopted pool VM"* ]]
  timeout 30 tail --pid="$mon" -f /dev/null
  for i in $(seq 1 50); do [ ! -e "$dir" ] && break; sleep 0.1; done
  [ ! -e "$dir" ]
  nothing_left_under "$dir"
  # server killed right after the TAKE: the VM outlives it (its death signal
  # was cleared before the reply), waits out its ADOPT time, stops
  pool_wait_ready "$TAKE_ROOT" 1
  reply=$(take_by_hand "$TAKE_ROOT" kill)
  dir=$(jq -r .vm.dir <<<"$reply")
  mon=$(jq -r .vm.monitor.pid <<<"$reply")
  [[ "$dir" == "$TAKE_ROOT/pool.d/"* ]]
  timeout 10 tail --pid="$(cat "$TAKE_ROOT.pid")" -f /dev/null
  timeout 30 tail --pid="$mon" -f /dev/null
  grep -q "taken but not adopted within 3000 ms; stopping it" "$dir/monitor.log"
  grep -q "pool VM [0-9]* stopped" "$dir/monitor.log"
  nothing_left_under "$TAKE_ROOT"
  # no server: the next run boots cold, its status and output as always
  make_bundle "$BUNDLE" /bin/sh -c 'echo cold-after; exit 4'
  run --separate-stderr take run -b "$BUNDLE" after-a
  [ "$status" -eq 4 ]
  [ "$output" = cold-after ]
  [ -z "$stderr" ]
  # the next serve removes what the killed one left
  pool_start "$TAKE_ROOT" 1
  pool_wait_ready "$TAKE_ROOT" 1
  grep -q "removing stale $dir" "$TAKE_ROOT.log"
  [ ! -e "$dir" ]
}

@test "the server killed while run adopts its VM: the run's status and output as always, nothing left, the next run cold" {
  pool_wait_ready "$TAKE_ROOT" 1
  make_bundle "$BUNDLE" /bin/sh -c 'echo adopted-out; echo adopted-err >&2; exit 7'
  local out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err rc
  take --debug run -b "$BUNDLE" mid >"$out" 2>"$err" &
  local run_pid=$! i
  # the kill lands once the reply is out: while run injects, forks its
  # monitor, sends ADOPT or CREATE
  for i in $(seq 1 1500); do
    grep -q "pool: VM [0-9]* taken" "$TAKE_ROOT.log" && break
    sleep 0.02
  done
  pool_kill "$TAKE_ROOT"
  rc=0
  wait "$run_pid" || rc=$?
  [ "$rc" -eq 7 ]
  [ "$(cat "$out")" = adopted-out ]
  grep -q "adopted pool VM $TAKE_ROOT/pool.d/" "$err"
  grep -qx adopted-err "$err"
  [ ! -e "$TAKE_ROOT/mid" ]
  nothing_left_under "$TAKE_ROOT"
  run --separate-stderr take --debug run -b "$BUNDLE" after-b
  [ "$status" -eq 7 ]
  [ "$output" = adopted-out ]
  [[ "$stderr" != *"adopted pool VM"* ]]
  # the VM the run took went with it; only the killed server's replacement is left
  [ "$(ls "$TAKE_ROOT/pool.d" | wc -l)" -le 1 ]
  pool_start "$TAKE_ROOT" 1
  pool_wait_ready "$TAKE_ROOT" 1
}
