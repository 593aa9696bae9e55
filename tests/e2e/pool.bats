#!/usr/bin/env bats
# husk pool serve / status, the pool side (docs/pool.md): one server of
# size 2 shared by the file; the last two tests kill it (SIGKILL), start
# another and stop that one (SIGTERM).

load helpers
load pool_helpers

setup_file() {
  POOL_ROOT=$(mktemp -d /run/husk-pool.XXXXXX)
  export POOL_ROOT
  pool_start "$POOL_ROOT" 2
  pool_wait_ready "$POOL_ROOT" 2
}

teardown_file() {
  pool_stop "$POOL_ROOT"
}

setup() {
  common_setup
}

teardown() {
  common_teardown
}

@test "pool: status counts reach ready = size, with the VMs' shape" {
  run "$HUSK" --root "$POOL_ROOT" pool status
  [ "$status" -eq 0 ]
  [ "$(jq -r .size <<<"$output")" = 2 ]
  [ "$(jq -r .ready <<<"$output")" = 2 ]
  [ "$(jq -r .booting <<<"$output")" = 0 ]
  [ "$(jq -r .last_error <<<"$output")" = "" ]
  [ "$(jq -r .shape.memory_mib <<<"$output")" -ge 64 ]
  [ "$(jq -r .shape.vcpus <<<"$output")" -ge 1 ]
  accel=$(jq -r .shape.accel <<<"$output")
  [ "$accel" = tcg ] || [ "$accel" = kvm ]
  [ "$(stat -c %a "$POOL_ROOT/pool.sock")" = 600 ]
  [ "$(ls "$POOL_ROOT/pool.d" | wc -l)" = 2 ]
}

@test "pool: a second server on the same root is refused" {
  run "$HUSK" --root "$POOL_ROOT" pool serve --size 1
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"a pool server already runs for $POOL_ROOT"* ]]
  run "$HUSK" --root "$POOL_ROOT" pool status
  [ "$(jq -r .ready <<<"$output")" = 2 ]
}

@test "pool: an idle VM is confined, its tree empty with slots ctr/0 .. ctr/15, shared with virtiofsd" {
  mon=$(pool_monitors "$POOL_ROOT" | head -1)
  dir=$(dirname "$(grep -l "\"pid\":$mon," "$POOL_ROOT"/pool.d/*/monitor.json)")
  vfs=/proc/$mon/root$dir/vfs
  [ -z "$(ls -A "$vfs/rootfs")" ]
  [ "$(ls "$vfs/ctr" | sort -n | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 " ]
  # the monitor's copy is shared, virtiofsd's a slave of it: later mounts reach the guest
  grep -E " $dir/vfs .* shared:[0-9]+ " "/proc/$mon/mountinfo"
  vfsd=$(pgrep -P "$mon" -x virtiofsd)
  grep -E "master:[0-9]+" "/proc/$vfsd/mountinfo"
  # confined as a container's monitor, QEMU under its own uid
  [ "$(awk '/^Seccomp:/ {print $2}' "/proc/$mon/status")" = 2 ]
  [ "$(cat "/proc/$mon/comm")" = husk-pool-vm ]
  qemu=$(pgrep -P "$mon" -f qemu-system)
  [ "$(stat -c %u "/proc/$qemu")" -ne 0 ]
  [ -S "$dir/ctl.sock" ]
}

@test "pool: the pool's names are reserved ids; list skips them" {
  run husk --root "$POOL_ROOT" create --bundle "$BUNDLE" pool.d
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *'"pool.d"'*reserved* ]]
  run husk --root "$POOL_ROOT" create --bundle "$BUNDLE" pool.sock
  [ "$status" -ne 0 ]
  [[ "$output" == *reserved* ]]
  run "$HUSK" --root "$POOL_ROOT" list --quiet
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "pool: a plain file or a dead socket at pool.sock: status fails with one line" {
  root=$BATS_TEST_TMPDIR/r
  mkdir -p "$root"
  run "$HUSK" --root "$root" pool status
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "husk: no pool server at $root/pool.sock"* ]]
  echo junk >"$root/pool.sock"
  run "$HUSK" --root "$root" pool status
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  rm "$root/pool.sock"
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$root/pool.sock"
  [ -S "$root/pool.sock" ]
  run "$HUSK" --root "$root" pool status
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"Connection refused"* ]]
}

@test "pool: a missing kernel: last_error names it, the server stays up" {
  root=$(mktemp -d /run/husk-pool-bad.XXXXXX)
  pool_start "$root" 1 HUSK_KERNEL=/nonexistent/vmlinux
  for i in $(seq 1 60); do
    err=$("$HUSK" --root "$root" pool status 2>/dev/null | jq -r .last_error) || true
    [ -n "$err" ] && break
    sleep 0.5
  done
  # between tries (1 s, 2 s, 4 s ... apart) nothing is ready and nothing boots
  for i in $(seq 1 60); do
    st=$("$HUSK" --root "$root" pool status 2>/dev/null | jq -c '[.size, .ready, .booting]') || true
    [ "$st" = "[1,0,0]" ] && break
    sleep 0.2
  done
  pid=$(cat "$root.pid")
  kill -0 "$pid"
  kill -TERM "$pid"
  timeout 30 tail --pid="$pid" -f /dev/null
  log=$(cat "$root.log")
  left=$(ls -A "$root/pool.d")
  rm -rf "$root" "$root.pid" "$root.log" "$root.rc"
  [ "$st" = "[1,0,0]" ]
  [[ "$err" == *"/nonexistent/vmlinux"* ]]
  [[ "$log" == *"/nonexistent/vmlinux"* ]]
  [ -z "$left" ]
}

@test "pool: SIGKILL of the server: its idle VMs die, the next serve removes their dirs" {
  pids=$(pool_monitors "$POOL_ROOT")
  [ -n "$pids" ]
  qemus=$(for m in $pids; do pgrep -P "$m" -f qemu-system; done)
  old=$(ls "$POOL_ROOT/pool.d")
  kill -KILL "$(cat "$POOL_ROOT.pid")"
  for i in $(seq 1 40); do
    alive=$(for p in $pids $qemus; do kill -0 "$p" 2>/dev/null && echo "$p"; done || true)
    [ -z "$alive" ] && break
    sleep 0.25
  done
  [ -z "$alive" ]
  run "$HUSK" --root "$POOL_ROOT" pool status
  [ "$status" -eq 1 ]
  pool_start "$POOL_ROOT" 1
  pool_wait_ready "$POOL_ROOT" 1
  for d in $old; do
    grep -q "removing stale $POOL_ROOT/pool.d/$d" "$POOL_ROOT.log"
  done
  [ "$(ls "$POOL_ROOT/pool.d" | wc -l)" = 1 ]
}

@test "pool: SIGTERM stops every idle VM and exits 0, nothing left" {
  pid=$(cat "$POOL_ROOT.pid")
  pids=$(pool_monitors "$POOL_ROOT")
  [ -n "$pids" ]
  kill -TERM "$pid"
  run timeout 30 tail --pid="$pid" -f /dev/null
  [ "$status" -eq 0 ]
  for i in $(seq 1 20); do [ -s "$POOL_ROOT.rc" ] && break; sleep 0.1; done
  [ "$(cat "$POOL_ROOT.rc")" = 0 ]
  grep -q "pool: stopping" "$POOL_ROOT.log"
  [ -z "$(pgrep -af -- "$POOL_ROOT" | grep -v -e pgrep -e bats)" ]
  for p in $pids; do
    run kill -0 "$p"
    [ "$status" -ne 0 ]
  done
  [ -z "$(ls -A "$POOL_ROOT/pool.d")" ]
  [ ! -e "$POOL_ROOT/pool.sock" ]
  run grep -c "$POOL_ROOT" /proc/self/mountinfo
  [ "$output" = 0 ]
  rm -f "$POOL_ROOT.pid"
}
