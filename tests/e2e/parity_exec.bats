#!/usr/bin/env bats
# runc parity of exec and terminals (issue 18, items 1-6 and 8): each case
# runs under husk and, where Debian's runc is installed, under runc too,
# and asserts the same facts of both. runc needs a controlling terminal for
# `exec -t` (it opens /dev/tty), so cases with stdin /dev/null are husk's.

load helpers

RUNC=${RUNC:-/usr/sbin/runc}
PTY_RUN=$BATS_TEST_DIRNAME/pty_run.py

setup() {
  common_setup
  RUNC_ROOT=$BATS_TEST_TMPDIR/runc-root
  make_bundle "$BUNDLE" sleep 1000
  BG_PIDS=
}

teardown() {
  local pid id
  for pid in $BG_PIDS; do kill -9 "$pid" 2>/dev/null || true; done
  if [ -x "$RUNC" ]; then
    for id in $("$RUNC" --root "$RUNC_ROOT" list -q 2>/dev/null); do
      "$RUNC" --root "$RUNC_ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  common_teardown
}

# the runtimes a case runs under: husk, and runc when it is installed
runtimes() {
  echo husk
  if [ -x "$RUNC" ]; then echo runc; fi
}

# rt RUNTIME ARG... : the runtime's command line with its own state root
rt() {
  local r=$1
  shift
  if [ "$r" = husk ]; then
    "$HUSK" --root "$HUSK_ROOT" "$@"
  else
    "$RUNC" --root "$RUNC_ROOT" "$@"
  fi
}

# a running container ID under runtime R, its process `sleep 1000`
start_sleeper() {
  rt "$1" create --bundle "$BUNDLE" "$2" </dev/null >/dev/null 2>&1 3>&-
  rt "$1" start "$2"
}

# field F of pty_run.py's report in $output
report() { jq -r ".$1" <<<"$output"; }

@test "exec -t without --console-socket: pty output on stdout, the process's status, stdin /dev/null" {
  start_sleeper husk pe1
  run timeout 120 "$HUSK" --root "$HUSK_ROOT" exec -t pe1 sh -c 'echo hi; tty; exit 3' </dev/null
  echo "$output"
  [ "$status" -eq 3 ]
  [ "$output" = $'hi\r\n/dev/pts/0\r' ]
  # a stdout file gets all of it, the last line included
  timeout 120 "$HUSK" --root "$HUSK_ROOT" exec -t pe1 sh -c 'echo one; echo two' </dev/null >"$BATS_TEST_TMPDIR/out"
  [ "$(cat "$BATS_TEST_TMPDIR/out")" = $'one\r\ntwo\r' ]
}

@test "exec -t ends on SIGTERM with the process's status (husk and runc)" {
  local r
  for r in $(runtimes); do
    start_sleeper "$r" "pe2-$r"
    python3 "$PTY_RUN" --timeout 120 --pid-file "$BATS_TEST_TMPDIR/$r.pid" -- \
      "$([ "$r" = husk ] && echo "$HUSK" || echo "$RUNC")" \
      --root "$([ "$r" = husk ] && echo "$HUSK_ROOT" || echo "$RUNC_ROOT")" \
      exec -t "pe2-$r" sh -c 'echo started; exec sleep 100' >"$BATS_TEST_TMPDIR/$r.json" 3>&- &
    local pid=$!
    BG_PIDS="$BG_PIDS $pid"
    # the exec runs once the container shows the second sleep
    local i
    for ((i = 0; i < 600; i++)); do
      [ "$(rt "$r" ps "pe2-$r" | grep -c 'sleep')" -ge 2 ] && break
      sleep 0.1
    done
    sleep 1
    kill -TERM "$(cat "$BATS_TEST_TMPDIR/$r.pid")"
    wait "$pid"
    output=$(cat "$BATS_TEST_TMPDIR/$r.json")
    echo "$r: $output"
    [ "$(report status)" -eq 143 ]
    [ "$(report timed_out)" = false ]
    [[ "$(report output)" == *started* ]]
  done
}

@test "exec -t on the caller's terminal: raw while it runs, sized from it, resized, typed input, restored (husk and runc)" {
  local r script
  script='stty size; echo go; i=0; while [ "$(stty size)" != "40 120" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done; stty size; echo ready; read x; echo "typed $x"; exit 5'
  for r in $(runtimes); do
    start_sleeper "$r" "pe3-$r"
    if [ "$r" = husk ]; then set -- "$HUSK" --root "$HUSK_ROOT"; else set -- "$RUNC" --root "$RUNC_ROOT"; fi
    run python3 "$PTY_RUN" --size 30 100 --resize-on go 40 120 --send-on ready $'hello\r' --timeout 180 -- \
      "$@" exec -t "pe3-$r" sh -c "$script"
    echo "$r: $output"
    [ "$status" -eq 0 ]
    [ "$(report status)" -eq 5 ]
    [ "$(report restored)" = true ]
    # raw: the guest's "\r\n" arrives as it is, not "\r\r\n"
    [ "$(report output)" = $'30 100\r\ngo\r\n40 120\r\nready\r\nhello\r\ntyped hello\r' ]
  done
}

@test "run with process.terminal in the foreground: the pty on stdout, the status; on a terminal: sized and restored (husk and runc)" {
  jq '.process.terminal = true | .process.args = ["sh", "-c", "echo hi; stty size; exit 4"]' \
    "$BUNDLE/config.json" >"$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  run timeout 180 "$HUSK" --root "$HUSK_ROOT" run --bundle "$BUNDLE" pe4 </dev/null
  echo "$output"
  [ "$status" -eq 4 ]
  [[ "$output" == hi$'\r'* ]]
  local r
  for r in $(runtimes); do
    if [ "$r" = husk ]; then set -- "$HUSK" --root "$HUSK_ROOT"; else set -- "$RUNC" --root "$RUNC_ROOT"; fi
    run python3 "$PTY_RUN" --size 30 100 --timeout 180 -- "$@" run --bundle "$BUNDLE" "pe4t-$r"
    echo "$r: $output"
    [ "$(report status)" -eq 4 ]
    [ "$(report restored)" = true ]
    [ "$(report output)" = $'hi\r\n30 100\r' ]
  done
}

@test "the pty belongs to process.user's uid and the tty group; exec's consoleSize, the caller's terminal size over it (husk and runc)" {
  local r
  for r in $(runtimes); do
    start_sleeper "$r" "pe5-$r"
    if [ "$r" = husk ]; then set -- "$HUSK" --root "$HUSK_ROOT"; else set -- "$RUNC" --root "$RUNC_ROOT"; fi
    run python3 "$PTY_RUN" --timeout 120 -- "$@" exec -t --user 1000:100 "pe5-$r" sh -c 'stat -c %u:%g $(tty)'
    echo "$r: $output"
    [ "$(report status)" -eq 0 ]
    [ "$(report output)" = $'1000:5\r' ]
    jq '.process | .terminal = true | .consoleSize = {height: 25, width: 90} | .args = ["stty", "size"]' \
      "$BUNDLE/config.json" >"$BATS_TEST_TMPDIR/process.json"
    # runc sizes the pty from its own terminal, over consoleSize
    run python3 "$PTY_RUN" --size 30 100 --timeout 120 -- "$@" exec --process "$BATS_TEST_TMPDIR/process.json" "pe5-$r"
    echo "$r: $output"
    [ "$(report status)" -eq 0 ]
    [ "$(report output)" = $'30 100\r' ]
  done
  # without a terminal of the caller's (runc needs one), consoleSize
  run timeout 120 "$HUSK" --root "$HUSK_ROOT" exec --process "$BATS_TEST_TMPDIR/process.json" pe5-husk </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = $'25 90\r' ]
}

@test "exec --ignore-paused in a paused container: resume gets through, then the process runs (husk and runc)" {
  local r
  for r in $(runtimes); do
    start_sleeper "$r" "pe6-$r"
    rt "$r" pause "pe6-$r"
    (rt "$r" exec --ignore-paused "pe6-$r" echo ok >"$BATS_TEST_TMPDIR/$r.out" 2>&1 3>&-) &
    local pid=$!
    BG_PIDS="$BG_PIDS $pid"
    sleep 2
    run timeout 60 "$([ "$r" = husk ] && echo "$HUSK" || echo "$RUNC")" \
      --root "$([ "$r" = husk ] && echo "$HUSK_ROOT" || echo "$RUNC_ROOT")" resume "pe6-$r"
    echo "$r resume: $output"
    [ "$status" -eq 0 ]
    wait "$pid"
    echo "$r exec: $(cat "$BATS_TEST_TMPDIR/$r.out")"
    [ "$(cat "$BATS_TEST_TMPDIR/$r.out")" = ok ]
    [ "$(rt "$r" state "pe6-$r" | jq -r .status)" = running ]
  done
}

@test "exec's own failures exit 255, the process's statuses pass through (husk and runc)" {
  local r
  for r in $(runtimes); do
    start_sleeper "$r" "pe7-$r"
    run rt "$r" exec "pe7-$r" sh -c 'exit 1'
    [ "$status" -eq 1 ]
    run rt "$r" exec "pe7-$r" sh -c 'exit 254'
    [ "$status" -eq 254 ]
    run rt "$r" exec --pid-file "$BATS_TEST_TMPDIR/no/such/dir/pid" "pe7-$r" true
    echo "$r: $output"
    [ "$status" -eq 255 ]
    run rt "$r" exec no-such-container true
    [ "$status" -eq 255 ]
    rt "$r" pause "pe7-$r"
    run rt "$r" exec "pe7-$r" true
    echo "$r: $output"
    [ "$status" -eq 255 ]
    [[ "$output" == *"--ignore-paused"* ]]
    rt "$r" resume "pe7-$r"
  done
}

@test "exec --additional-gids adds groups (husk and runc); --preserve-fds N and --cgroup are refused in one line" {
  local r
  for r in $(runtimes); do
    start_sleeper "$r" "pe8-$r"
    run rt "$r" exec --user 1000:100 -g 10 -g 20 "pe8-$r" id -G
    echo "$r: $output"
    [ "$status" -eq 0 ]
    [ "$output" = "100 10 20" ]
  done
  run husk exec --additional-gids abc pe8-husk true
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"--additional-gids"* ]]
  run husk exec --preserve-fds 0 pe8-husk true
  [ "$status" -eq 0 ]
  run husk exec --preserve-fds 2 pe8-husk true
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"--preserve-fds"* ]]
  run husk exec --cgroup sub pe8-husk true
  echo "$output"
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"--cgroup"* ]]
}

@test "a cwd only root may enter works for another user: changed into before the user (husk and runc)" {
  chmod 700 "$BUNDLE/rootfs/root"
  jq '.process.args = ["pwd"] | .process.user = {uid: 42, gid: 42} | .process.cwd = "/root"' \
    "$BUNDLE/config.json" >"$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  local r
  for r in $(runtimes); do
    run rt "$r" run --bundle "$BUNDLE" "pe9-$r" </dev/null
    echo "$r: $output"
    [ "$status" -eq 0 ]
    [ "$output" = /root ]
  done
  # a cwd that does not exist is still an error
  start_sleeper husk pe9b
  run husk exec --cwd /no/such/dir pe9b true
  echo "$output"
  [ "$status" -eq 255 ]
  [[ "$output" == *"/no/such/dir"* ]]
}

@test "run --keep leaves the container stopped for state and delete (husk and runc)" {
  set_args "$BUNDLE" sh -c 'exit 6'
  local r
  for r in $(runtimes); do
    run rt "$r" run --keep --bundle "$BUNDLE" "pe10-$r" </dev/null
    [ "$status" -eq 6 ]
    [ "$(rt "$r" state "pe10-$r" | jq -r .status)" = stopped ]
    rt "$r" delete "pe10-$r"
    run rt "$r" state "pe10-$r"
    [ "$status" -ne 0 ]
  done
  # without --keep the container is gone
  run husk run --bundle "$BUNDLE" pe10b </dev/null
  [ "$status" -eq 6 ]
  run husk state pe10b
  [ "$status" -ne 0 ]
}
