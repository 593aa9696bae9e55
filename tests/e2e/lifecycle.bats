#!/usr/bin/env bats
# create / start / state / kill / delete, and what must be left behind: nothing.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "create, start, stop, delete: states, the monitor pid, nothing left behind" {
  set_args "$BUNDLE" /bin/sh -c 'read line; echo "got $line"'
  mkfifo "$BATS_TEST_TMPDIR/in"
  exec 7<>"$BATS_TEST_TMPDIR/in"
  husk create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" life <&7 > "$BATS_TEST_TMPDIR/out"
  pid=$(cat "$BATS_TEST_TMPDIR/pid")
  run husk state life
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r .status)" = "created" ]
  [ "$(echo "$output" | jq -r .pid)" = "$pid" ]
  [ "$(echo "$output" | jq -r .id)" = "life" ]
  [ "$(echo "$output" | jq -r .bundle)" = "$(readlink -f "$BUNDLE")" ]
  [ "$(cat /proc/$pid/comm)" = "husk-monitor" ]
  husk start life
  [ "$(husk state life | jq -r .status)" = "running" ]
  run husk start life
  [ "$status" -ne 0 ]
  echo hi >&7
  wait_status life stopped
  exec 7>&-
  [ "$(cat "$BATS_TEST_TMPDIR/out")" = "got hi" ]
  [ ! -e /proc/$pid ] || [ "$(awk '{print $3}' /proc/$pid/stat)" = "Z" ]
  husk delete life
  [ ! -e "$HUSK_ROOT/life" ]
  [ -z "$(leftover_processes)" ]
  ! grep -q "$HUSK_ROOT" /proc/mounts
}

@test "kill by name and by number; SIGKILL gives 137" {
  set_args "$BUNDLE" /bin/sleep 1000
  husk run --bundle "$BUNDLE" k1 &
  p1=$!
  wait_status k1 running
  husk kill k1 KILL
  s=0; wait $p1 || s=$?
  [ "$s" -eq 137 ]

  # PID 1 of a pid namespace has no default signal actions (as under
  # runc): a trap tells which signal arrived
  set_args "$BUNDLE" /bin/sh -c 'trap "exit 43" TERM; trap "exit 42" INT; echo ready; while :; do sleep 0.1; done'
  for spec in "15 43" "TERM 43" "SIGINT 42" "2 42"; do
    set -- $spec
    husk run --bundle "$BUNDLE" k2 > "$BATS_TEST_TMPDIR/out" &
    p2=$!
    for i in $(seq 600); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
    husk kill k2 "$1"
    s=0; wait $p2 || s=$?
    [ "$s" -eq "$2" ]
  done
}

@test "kill --all signals every process of the container" {
  set_args "$BUNDLE" /bin/sh -c 'sleep 1000 & sleep 1000 & wait'
  husk run --bundle "$BUNDLE" kall &
  p=$!
  wait_status kall running
  husk kill --all kall 9
  s=0; wait $p || s=$?
  [ "$s" -eq 137 ]
}

@test "kill defaults to SIGTERM" {
  set_args "$BUNDLE" /bin/sh -c 'trap "exit 43" TERM; echo ready; while :; do sleep 0.1; done'
  husk run --bundle "$BUNDLE" kdef > "$BATS_TEST_TMPDIR/out" &
  p=$!
  for i in $(seq 600); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  husk kill kdef
  s=0; wait $p || s=$?
  [ "$s" -eq 43 ]
}

@test "a process that is not PID 1 dies of a signal: 128+N reaches the host" {
  set_args "$BUNDLE" /bin/sh -c 'sleep 1000 & echo ready; wait $!; exit $?'
  husk run --bundle "$BUNDLE" kchild > "$BATS_TEST_TMPDIR/out" &
  p=$!
  for i in $(seq 600); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  husk kill --all kchild TERM
  s=0; wait $p || s=$?
  [ "$s" -eq 143 ]
}

@test "delete --force of a running container leaves nothing behind" {
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" force1 </dev/null >/dev/null 2>&1
  husk start force1
  [ "$(husk state force1 | jq -r .status)" = "running" ]
  run husk delete force1
  [ "$status" -ne 0 ]
  [[ "$output" == *"not stopped"* ]]
  husk delete --force force1
  [ ! -e "$HUSK_ROOT/force1" ]
  [ -z "$(leftover_processes)" ]
}

@test "delete of a created, never started container" {
  husk create --bundle "$BUNDLE" created1 </dev/null >/dev/null 2>&1
  [ "$(husk state created1 | jq -r .status)" = "created" ]
  husk delete created1
  [ ! -e "$HUSK_ROOT/created1" ]
  [ -z "$(leftover_processes)" ]
}

@test "list shows containers in table and json form" {
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" listed </dev/null >/dev/null 2>&1
  run husk list
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == ID* ]]
  [[ "${lines[1]}" == listed*created* ]]
  run husk list --format json
  [ "$(echo "$output" | jq -r '.[0].id')" = "listed" ]
  run husk list -q
  [ "$output" = "listed" ]
  husk delete --force listed
}

@test "a monitor killed hard takes QEMU and virtiofsd with it" {
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" hard </dev/null >/dev/null 2>&1
  kill -9 "$(cat "$BATS_TEST_TMPDIR/pid")"
  for i in $(seq 100); do [ -z "$(leftover_processes)" ] && break; sleep 0.1; done
  [ -z "$(leftover_processes)" ]
  [ "$(husk state hard | jq -r .status)" = "stopped" ]
  husk delete hard
}

@test "a container created under --root is found by verbs without --root (podman's cleanup)" {
  id=rootless-lookup-$$
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
  [ -L "/run/husk/$id" ]
  [ "$("$HUSK" state "$id" | jq -r .status)" = "created" ]
  "$HUSK" delete --force "$id"
  [ ! -e "$HUSK_ROOT/$id" ]
  [ ! -L "/run/husk/$id" ]
  [ -z "$(leftover_processes)" ]
  # and the link goes when delete is given --root
  husk create --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
  [ -L "/run/husk/$id" ]
  husk delete --force "$id"
  [ ! -L "/run/husk/$id" ]
}

@test "a --root too long for unix sockets (containerd's, dockerd's) with a 64-character id works; nothing left" {
  long=$HUSK_ROOT/$(printf 'r%.0s' $(seq 70))
  id=$(printf '%064x' $$)
  set_args "$BUNDLE" /bin/sh -c 'echo ready; exec sleep 1000'
  "$HUSK" --root "$long" create --bundle "$BUNDLE" "$id" </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
  [ -L "$long/$id" ]
  [ "$(readlink "$long/$id")" = "/run/husk/$id" ]
  "$HUSK" --root "$long" start "$id"
  [ "$("$HUSK" --root "$long" state "$id" | jq -r .status)" = running ]
  run "$HUSK" --root "$long" exec "$id" probe kernel
  [ "$output" = "$(guest_release)" ]
  "$HUSK" --root "$long" kill "$id" KILL
  for i in $(seq 600); do [ "$("$HUSK" --root "$long" state "$id" | jq -r .status)" = stopped ] && break; sleep 0.1; done
  "$HUSK" --root "$long" delete "$id"
  [ ! -e "$long/$id" ] && [ ! -L "$long/$id" ]
  [ ! -e "/run/husk/$id" ]
  [ -z "$(pgrep -af -- "$id" | grep -v -e pgrep -e bats)" ]
  # a delete through the default root takes the link under --root too
  "$HUSK" --root "$long" create --bundle "$BUNDLE" "$id" </dev/null >/dev/null 2>&1
  "$HUSK" delete --force "$id"
  [ ! -L "$long/$id" ]
  [ ! -e "/run/husk/$id" ]
  [ -z "$(pgrep -af -- "$id" | grep -v -e pgrep -e bats)" ]
}
