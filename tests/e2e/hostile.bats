#!/usr/bin/env bats
# A hostile guest: a PID 1 (tests/hostile/hostile-init.c) that breaks the
# protocol on purpose, chosen by husk.hostile=MODE on the kernel command line.
# The host must fail that container with a clear error and stay whole: no
# crash, no hang, no unbounded memory, nothing left behind, other containers
# untouched.

load helpers

HOSTILE_INITRAMFS=$TOP/build/tests/hostile-initramfs.cpio.gz

setup() { common_setup; make_bundle "$BUNDLE" /bin/sleep 600; }
teardown() { common_teardown; }

# hostile MODE husk ARGS... : runs husk with the hostile guest in MODE
hostile() {
  local mode=$1
  shift
  HUSK_INITRAMFS=$HOSTILE_INITRAMFS HUSK_KERNEL_PARAMS="husk.hostile=$mode" husk "$@"
}

nothing_left() {
  [ -z "$(ls -A "$HUSK_ROOT")" ]
  [ -z "$(leftover_processes)" ]
}

# handshake_fails MODE TEXT: create fails with one line that says TEXT
handshake_fails() {
  run hostile "$1" create --bundle "$BUNDLE" "h-$1" </dev/null
  echo "$1: $output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == husk:*"$2"* ]]
  nothing_left
}

@test "hostile guest: broken replies during the handshake fail create cleanly" {
  handshake_fails hello-garbage "guest handshake reply: cbor"
  handshake_fails hello-oversize "exceeds the limit"
  handshake_fails hello-truncated "waiting for the guest's reply to HELLO"
  handshake_fails hello-unknown-type "answered HELLO with"
  handshake_fails hello-stray "stray frame"
  handshake_fails hello-long-kernel "kernel"
  handshake_fails create-huge-pid "out of range"
  handshake_fails create-big-reply "exceeds the limit"
  # the id is free again, and a real guest works under it
  make_bundle "$BATS_TEST_TMPDIR/ok" /bin/echo fine
  run husk run --bundle "$BATS_TEST_TMPDIR/ok" h-hello-garbage </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = fine ]
}

@test "hostile guest: a guest that never answers times out create" {
  run hostile hello-silent create --bundle "$BUNDLE" silent </dev/null
  [ "$status" -ne 0 ]
  [[ "$output" == *"waiting for the guest's reply to HELLO"* ]]
  nothing_left
}

# running MODE: creates and starts a container whose guest then turns hostile
running() {
  hostile "$1" --log "$BATS_TEST_TMPDIR/$1.log" create --bundle "$BUNDLE" "$1" </dev/null >/dev/null 2>&1
  husk start "$1"
}

@test "hostile guest: protocol violations while running stop that container" {
  local mode
  for mode in run-garbage run-bad-stream run-exit-range run-unknown-type; do
    running "$mode"
    wait_status "$mode" stopped 60
    grep -q "guest protocol violation" "$BATS_TEST_TMPDIR/$mode.log"
    run husk delete "$mode"
    [ "$status" -eq 0 ]
  done
  nothing_left
}

@test "hostile guest: frames after EXIT do not change the exit status" {
  make_bundle "$BUNDLE" /bin/true
  run hostile run-after-exit run --bundle "$BUNDLE" after </dev/null
  [ "$status" -eq 3 ]
  nothing_left
}

@test "hostile guest: a flood stays bounded, SIGKILL is enforced, a neighbour is untouched" {
  make_bundle "$BATS_TEST_TMPDIR/good" /bin/sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
  husk create --bundle "$BATS_TEST_TMPDIR/good" good </dev/null >/dev/null 2>&1
  husk start good
  running run-flood
  sleep 5
  local pid rss
  pid=$(husk state run-flood | jq -r .pid)
  rss=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  echo "monitor peak RSS under the flood: $rss kB"
  [ "$rss" -lt 65536 ]
  # OOM reports are coalesced, not one log line per frame
  local ooms
  ooms=$(grep -c "OOM-killed" "$BATS_TEST_TMPDIR/run-flood.log")
  echo "OOM log lines: $ooms"
  [ "$ooms" -le 10 ]
  # the guest acknowledges SIGKILL and ignores it: the host kills the VM
  run husk kill run-flood 9
  [ "$status" -eq 0 ]
  wait_status run-flood stopped 60
  grep -q "did not end the container within" "$BATS_TEST_TMPDIR/run-flood.log"
  husk delete run-flood
  # the neighbour still runs and obeys
  [ "$(husk state good | jq -r .status)" = running ]
  run husk exec good /bin/echo still here
  [ "$output" = "still here" ]
  husk kill good 15
  wait_status good stopped 60
  husk delete good
  nothing_left
}

# one_line_error OUTPUT TEXT: one husk: line that says TEXT
one_line_error() {
  echo "$1"
  [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]
  [[ "$1" == husk:*"$2"* ]]
}

# ends_cleanly ID: the container stops (the host ends the VM), deletes, leaves nothing
ends_cleanly() {
  wait_status "$1" stopped 60
  run husk delete "$1"
  [ "$status" -eq 0 ]
}

@test "hostile guest: malformed PS and STATS replies are one-line errors; the VM stops and deletes cleanly" {
  running run-bad-ps
  run husk ps run-bad-ps
  [ "$status" -ne 0 ]
  one_line_error "$output" "reply to PS"
  grep -q "guest protocol violation: the guest's reply to PS" "$BATS_TEST_TMPDIR/run-bad-ps.log"
  ends_cleanly run-bad-ps
  running run-bad-stats
  run husk events --stats run-bad-stats
  [ "$status" -ne 0 ]
  one_line_error "$output" "reply to STATS"
  ends_cleanly run-bad-stats
  nothing_left
}

@test "hostile guest: a reply under another request's id is refused; both callers get one line" {
  running run-reply-reuse
  # PS waits in the guest until STATS comes; the guest then swaps the replies
  husk ps run-reply-reuse > "$BATS_TEST_TMPDIR/ps.out" 2>&1 &
  local ps=$! s=0
  sleep 3
  run husk events --stats run-reply-reuse
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  wait "$ps" || s=$?
  [ "$s" -ne 0 ]
  one_line_error "$(cat "$BATS_TEST_TMPDIR/ps.out")" "reply to PS"
  ends_cleanly run-reply-reuse
  nothing_left
}

@test "hostile guest: a flood of guest-initiated vsock connections leaves the host bounded and the VM stoppable" {
  running run-vsock-flood
  sleep 10
  [ "$(husk state run-vsock-flood | jq -r .status)" = running ]
  local pid rss
  for pid in $(jq '.monitor.pid, .vsock_backend.pid' "$HUSK_ROOT/run-vsock-flood/state.json"); do
    [ "$pid" -gt 0 ] || continue
    rss=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
    echo "pid $pid peak RSS under the flood: $rss kB"
    [ "$rss" -lt 65536 ]
    [ "$(ls "/proc/$pid/fd" | wc -l)" -lt 256 ]
  done
  run husk kill run-vsock-flood 9
  [ "$status" -eq 0 ]
  ends_cleanly run-vsock-flood
  nothing_left
}

@test "hostile guest: an OOM report storm is coalesced; <bundle>/oom replaces a planted link, its target untouched" {
  echo keep > "$BATS_TEST_TMPDIR/precious"
  ln -sfn "$BATS_TEST_TMPDIR/precious" "$BUNDLE/oom"
  running run-oom-storm
  for i in $(seq 100); do [ ! -L "$BUNDLE/oom" ] && break; sleep 0.1; done
  sleep 3
  [ -f "$BUNDLE/oom" ] && [ ! -L "$BUNDLE/oom" ]
  [ "$(cat "$BATS_TEST_TMPDIR/precious")" = keep ]
  local ooms
  ooms=$(grep -c "OOM-killed" "$BATS_TEST_TMPDIR/run-oom-storm.log")
  echo "OOM log lines: $ooms"
  [ "$ooms" -le 15 ]
  [ "$(husk state run-oom-storm | jq -r .status)" = running ]
  run husk kill run-oom-storm 9
  [ "$status" -eq 0 ]
  ends_cleanly run-oom-storm
  nothing_left
}
