#!/usr/bin/env bats
# Load: LOAD_CONTAINERS containers (default 20) at once, each run, exec'd
# into, stopped and removed, LOAD_ROUNDS times (default 10). Every exit code
# must be right, and nothing may leak: processes, monitor fds, mounts, state
# directories, sockets.

load helpers

LOAD_CONTAINERS=${LOAD_CONTAINERS:-20}
LOAD_ROUNDS=${LOAD_ROUNDS:-10}

setup() {
  common_setup
  # many VMs boot at once on few CPUs: this test is about correctness, not speed
  export HUSK_BOOT_TIMEOUT=600
  # TERM makes the container exit 3; the workload otherwise waits
  make_bundle "$BUNDLE" /bin/sh -c 'trap "exit 3" TERM; sleep 600 & wait'
  jq '.root.readonly = true' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}
teardown() { common_teardown; }

# one container's life; writes "ok" or what went wrong to $2
life() {
  set +e # failures are recorded in $out, not fatal here
  local id=$1 out=$2 rc i
  husk --log "$out.log" run --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>"$out.run-err" &
  local runner=$!
  for ((i = 0; i < 6000; i++)); do
    [ "$(husk state "$id" 2>/dev/null | jq -r .status)" = running ] && break
    if ! kill -0 "$runner" 2>/dev/null; then
      wait "$runner"
      echo "$id: run exited $? before the container ran: $(cat "$out.run-err")" > "$out"
      return
    fi
    sleep 0.1
  done
  local got
  got=$(husk --log "$out.exec-log" exec "$id" /bin/sh -c "echo exec-$id; exit 7" </dev/null 2>&1)
  rc=$?
  if [ "$rc" -ne 7 ] || [ "$got" != "exec-$id" ]; then
    echo "$id: exec gave $rc '$got'" > "$out"
  fi
  husk kill "$id" 15 2>>"$out.kill-err" || echo "$id: kill failed: $(cat "$out.kill-err")" >> "$out"
  wait "$runner"
  rc=$?
  if [ "$rc" -ne 3 ]; then
    echo "$id: run exited $rc, want 3: $(cat "$out.run-err")" >> "$out"
  fi
  if [ -s "$out" ]; then
    # what the monitors saw, for the failure report
    tail -n 8 "$out.log" "$out.exec-log" 2>/dev/null | sed 's/^/    /' >> "$out"
  else
    echo ok > "$out"
  fi
}

@test "load: $LOAD_CONTAINERS containers at once, $LOAD_ROUNDS rounds, exit codes right, nothing leaks" {
  local round i failed=0
  local fds_before
  fds_before=$(ls /proc/self/fd | wc -l)
  for ((round = 1; round <= LOAD_ROUNDS; round++)); do
    for ((i = 1; i <= LOAD_CONTAINERS; i++)); do
      life "r$round-c$i" "$BATS_TEST_TMPDIR/r$round-c$i.result" &
    done
    wait
    for ((i = 1; i <= LOAD_CONTAINERS; i++)); do
      if [ "$(cat "$BATS_TEST_TMPDIR/r$round-c$i.result")" != ok ]; then
        cat "$BATS_TEST_TMPDIR/r$round-c$i.result"
        failed=$((failed + 1))
      fi
    done
    echo "round $round: $failed failed so far"
    [ "$failed" -eq 0 ]
    # after each round: no state dir, no process, no mount, no socket
    [ -z "$(ls -A "$HUSK_ROOT")" ]
    [ -z "$(leftover_processes)" ]
    ! grep -q "$HUSK_ROOT" /proc/mounts
    ! grep -q "$HUSK_ROOT" /proc/net/unix
  done
  # the shell driving it all holds no more fds than before
  [ "$(ls /proc/self/fd | wc -l)" -eq "$fds_before" ]
}

@test "load: a monitor's fds stay flat across many execs" {
  make_bundle "$BUNDLE" /bin/sleep 600
  husk create --bundle "$BUNDLE" fdc </dev/null >/dev/null 2>&1
  husk start fdc
  local mon before after i
  mon=$(husk state fdc | jq -r .pid)
  husk exec fdc /bin/true
  before=$(ls "/proc/$mon/fd" | wc -l)
  for ((i = 0; i < 30; i++)); do
    husk exec fdc /bin/true
    husk state fdc >/dev/null
  done
  after=$(ls "/proc/$mon/fd" | wc -l)
  echo "monitor fds: $before before, $after after"
  [ "$after" -eq "$before" ]
  husk kill fdc 9
  wait_status fdc stopped 60
  husk delete fdc
}
