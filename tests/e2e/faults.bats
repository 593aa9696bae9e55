#!/usr/bin/env bats
# Faults: kill -9 of each host process around a container, of the husk CLI in
# the middle of a verb, a guest kernel panic and a full state directory.
# After each, `state` tells the truth, `delete` (or `delete --force`) cleans
# everything, and a new container with the same id works.

load helpers

setup() { common_setup; make_bundle "$BUNDLE" /bin/sleep 600; }
teardown() {
  if mountpoint -q "$BATS_TEST_TMPDIR/full" 2>/dev/null; then umount "$BATS_TEST_TMPDIR/full"; fi
  common_teardown
}

running() { # running ID [husk create options]: created and started
  local id=$1
  shift
  husk --log "$BATS_TEST_TMPDIR/$id.log" create --bundle "$BUNDLE" "$@" "$id" </dev/null >/dev/null 2>&1
  husk start "$id"
}

# the id works again, end to end, and nothing is left of the old container
id_reusable() {
  local id=$1
  echo "left: $(leftover_processes)"
  [ -z "$(leftover_processes)" ]
  [ ! -e "$HUSK_ROOT/$id" ]
  make_bundle "$BATS_TEST_TMPDIR/again" /bin/echo again
  run husk run --bundle "$BATS_TEST_TMPDIR/again" "$id" </dev/null
  echo "run again: status $status, output: $output"
  [ "$status" -eq 0 ]
  [ "$output" = again ]
}

@test "fault: kill -9 of qemu stops the container" {
  running q
  pkill -9 -f "qemu-system.*$HUSK_ROOT/q/"
  wait_status q stopped 30
  # QEMU's exit, virtiofsd's (it goes when QEMU's connection closes) or
  # the session's end: which the monitor notices first is timing; the
  # closing line is there on every path and names it
  grep -qE "the VM stopped before the container exited: (qemu exited|virtiofsd exited|the guest session ended)" \
    "$BATS_TEST_TMPDIR/q.log" || { cat "$BATS_TEST_TMPDIR/q.log"; false; }
  husk delete q
  id_reusable q
}

@test "fault: kill -9 of virtiofsd stops the container instead of leaving it without files" {
  running v
  pkill -9 -f "virtiofsd.*$HUSK_ROOT/v/"
  wait_status v stopped 30
  grep -q "virtiofsd exited unexpectedly; stopping the VM" "$BATS_TEST_TMPDIR/v.log"
  husk delete v
  id_reusable v
}

@test "fault: kill -9 of the monitor takes the VM with it" {
  running m
  local pid
  pid=$(husk state m | jq -r .pid)
  kill -9 "$pid"
  wait_status m stopped 30
  # qemu, virtiofsd and the vsock back-end die with their parent
  local i
  for ((i = 0; i < 100; i++)); do
    [ -z "$(leftover_processes)" ] && break
    sleep 0.1
  done
  [ -z "$(leftover_processes)" ]
  husk delete m
  id_reusable m
}

@test "fault: a guest kernel panic stops the container" {
  HUSK_INITRAMFS=$TOP/build/tests/hostile-initramfs.cpio.gz HUSK_KERNEL_PARAMS=husk.hostile=run-panic \
    running p
  # the guest panics at the next request after START's reply, so that reply
  # cannot be lost in the panic; the signal itself gets no answer
  run husk kill p 15
  wait_status p stopped 30
  husk delete p
  id_reusable p
}

@test "fault: kill -9 of the husk CLI during create, start and exec" {
  local delay
  for delay in 0.2 1; do
    husk create --bundle "$BUNDLE" c </dev/null >/dev/null 2>&1 &
    local cli=$!
    sleep "$delay"
    kill -9 "$cli" 2>/dev/null || true
    wait "$cli" || true
    # whatever the moment, state answers and delete --force cleans up
    run husk state c
    echo "killed after ${delay}s: $output"
    husk delete --force c
    [ -z "$(leftover_processes)" ]
  done
  husk create --bundle "$BUNDLE" s </dev/null >/dev/null 2>&1
  husk start s &
  local cli=$!
  sleep 0.05
  kill -9 "$cli" 2>/dev/null || true
  wait "$cli" || true
  # the start reached the monitor or it did not: either state is true
  local st
  st=$(husk state s | jq -r .status)
  [ "$st" = created ] || [ "$st" = running ]
  [ "$st" = running ] || husk start s
  wait_status s running 30
  husk exec s /bin/sleep 30 &
  cli=$!
  sleep 1
  kill -9 "$cli" 2>/dev/null || true
  wait "$cli" || true
  run husk exec s /bin/echo still
  [ "$output" = still ]
  husk delete --force s
  id_reusable s
}

@test "fault: a full state directory fails create cleanly" {
  mkdir -p "$BATS_TEST_TMPDIR/full"
  mount -t tmpfs -o size=64k tmpfs "$BATS_TEST_TMPDIR/full"
  dd if=/dev/zero of="$BATS_TEST_TMPDIR/full/fill" bs=4k count=16 2>/dev/null || true
  run "$HUSK" --root "$BATS_TEST_TMPDIR/full" create --bundle "$BUNDLE" f </dev/null
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"No space left on device"* ]]
  [ ! -e "$BATS_TEST_TMPDIR/full/f" ]
  [ -z "$(pgrep -af -- "$BATS_TEST_TMPDIR/full" | grep -v pgrep)" ]
  # with room again, the same id works
  rm "$BATS_TEST_TMPDIR/full/fill"
  make_bundle "$BATS_TEST_TMPDIR/again" /bin/echo again
  run "$HUSK" --root "$BATS_TEST_TMPDIR/full" run --bundle "$BATS_TEST_TMPDIR/again" f </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = again ]
}
