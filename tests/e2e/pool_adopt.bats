#!/usr/bin/env bats
# A container in a VM adopted from a pool (docs/design-pool.md, P2): what
# delete does with the pool VM it leaves. The adoption itself (husk create
# taking a VM from `husk pool serve`) is not built yet: these tests write
# the state.json an adopting monitor leaves behind once stopped.

load helpers

setup() { common_setup; }
teardown() {
  [ -n "${POOLVM:-}" ] && kill -9 "$POOLVM" 2>/dev/null || true
  common_teardown
}

# A stopped container $1 whose VM was pool VM dir $2, owned by a "pool
# monitor" that does not exit by itself (a sleep): POOLVM.
adopted_state() {
  sleep 300 &
  POOLVM=$!
  local start
  start=$(awk '{print $22}' "/proc/$POOLVM/stat")
  mkdir -p "$HUSK_ROOT/$1" "$2/vfs"
  echo log > "$2/monitor.log"
  jq -n --arg id "$1" --arg b "$BUNDLE" --arg d "$2" --argjson p "$POOLVM" --argjson s "$start" \
    '{ociVersion: "1.0.2", id: $id, status: "stopped", bundle: $b, rootfs: ($b + "/rootfs"), created: "",
      monitor: {pid: 0, start_time: 0}, qemu: {pid: 0, start_time: 0}, virtiofsd: {pid: 0, start_time: 0},
      vsock_backend: {pid: 0, start_time: 0}, guest_pid: 0, exited: true, exit_status: 0,
      vm_dir: $d, vm_monitor: {pid: $p, start_time: $s}}' > "$HUSK_ROOT/$1/state.json"
}

@test "delete of an adopted container: the pool monitor is killed after the grace, its pool.d dir removed" {
  adopted_state adopted "$HUSK_ROOT/pool.d/7"
  run husk delete adopted
  [ "$status" -eq 0 ]
  ! kill -0 "$POOLVM" 2>/dev/null
  [ ! -e "$HUSK_ROOT/pool.d/7" ]
  [ ! -e "$HUSK_ROOT/adopted" ]
}

@test "delete of an adopted container: a pool monitor gone already, its dir removed at once" {
  adopted_state gone "$HUSK_ROOT/pool.d/3"
  kill -9 "$POOLVM"
  wait "$POOLVM" 2>/dev/null || true
  SECONDS=0
  run husk delete gone
  [ "$status" -eq 0 ]
  [ "$SECONDS" -lt 5 ]
  [ ! -e "$HUSK_ROOT/pool.d/3" ]
}

@test "delete of an adopted container: a vm_dir that is no pool.d/<n> is left alone" {
  adopted_state odd "$BATS_TEST_TMPDIR/notpool/7"
  kill -9 "$POOLVM"
  wait "$POOLVM" 2>/dev/null || true
  run husk delete odd
  [ "$status" -eq 0 ]
  [ -e "$BATS_TEST_TMPDIR/notpool/7/monitor.log" ]
  [[ "$output" == *"left behind"* ]]
}
