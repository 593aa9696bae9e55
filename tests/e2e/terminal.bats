#!/usr/bin/env bats
# process.terminal: the pty master goes to --console-socket (as runc's);
# the container sees a real terminal of its own devpts.

load helpers

setup() {
  common_setup
  CLIENT=$TOP/build/tests/console-client
  SOCK=$BATS_TEST_TMPDIR/console.sock
  jq '.process.terminal = true | .process.consoleSize = {height: 24, width: 80}' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}
teardown() {
  # a client still in accept() after a failed test must not hold bats' output
  local pid
  for pid in ${CLIENT_PIDS:-}; do kill "$pid" 2>/dev/null || true; done
  common_teardown
}

start_client() {
  # 3>&-: bats' own output fd is not the client's to keep open
  "$CLIENT" "$SOCK" "$@" > "$BATS_TEST_TMPDIR/console.out" 2>&1 3>&- &
  CLIENT_PID=$!
  CLIENT_PIDS="${CLIENT_PIDS:-} $CLIENT_PID"
  for i in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
  return 1
}

@test "the terminal is the container's own pty, sized from consoleSize" {
  set_args "$BUNDLE" /bin/sh -c 'tty; stty size'
  start_client
  husk create --console-socket "$SOCK" --bundle "$BUNDLE" tty1
  husk start tty1
  wait $CLIENT_PID
  out=$(tr -d '\r' < "$BATS_TEST_TMPDIR/console.out")
  echo "$out"
  [ "$(echo "$out" | sed -n 1p)" = "/dev/pts/0" ]
  [ "$(echo "$out" | sed -n 2p)" = "24 80" ]
  wait_status tty1 stopped
  husk delete tty1
}

@test "resizing the master reaches the container; typed input arrives" {
  set_args "$BUNDLE" /bin/sh -c 'while [ "$(stty size)" != "30 100" ]; do sleep 0.1; done; echo resized; read x; echo "typed $x"'
  start_client 30 100 $'hello\n'
  husk create --console-socket "$SOCK" --bundle "$BUNDLE" tty2
  husk start tty2
  wait $CLIENT_PID
  out=$(tr -d '\r' < "$BATS_TEST_TMPDIR/console.out")
  echo "$out"
  [[ "$out" == *resized* ]]
  [[ "$out" == *"typed hello"* ]]
  husk delete --force tty2
}

@test "a detached terminal without --console-socket is a clear error" {
  run husk create --bundle "$BUNDLE" tty3
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *console-socket* ]]
  [ -z "$(ls -A "$HUSK_ROOT")" ]
}

@test "with a terminal, create and exec let go of the caller's stdout and stderr (containerd's shim reads them to EOF)" {
  set_args "$BUNDLE" /bin/sleep 1000
  start_client
  # a pipe as stdout and stderr: the reader ends only when every holder closed it
  s=0; timeout 120 bash -c "set -o pipefail; '$HUSK' --root '$HUSK_ROOT' create --console-socket '$SOCK' --bundle '$BUNDLE' tty4 2>&1 | cat" || s=$?
  [ "$s" -eq 0 ]
  husk start tty4
  SOCK=$BATS_TEST_TMPDIR/exec.sock start_client
  s=0; timeout 120 bash -c "set -o pipefail; '$HUSK' --root '$HUSK_ROOT' exec --tty --detach --console-socket '$BATS_TEST_TMPDIR/exec.sock' tty4 /bin/sleep 1000 2>&1 | cat" || s=$?
  [ "$s" -eq 0 ]
  husk delete --force tty4
}
