#!/usr/bin/env bats
# exec: new processes in a running container's namespaces in the guest.

load helpers

setup() {
  common_setup
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" ex </dev/null >/dev/null 2>&1
  husk start ex
}
teardown() { common_teardown; }

@test "exec runs in the container: its hostname, pid namespace and rootfs; the exit status comes back" {
  run husk exec ex /bin/sh -c 'probe hostname; cat /proc/1/comm; test -x /bin/busybox && echo rootfs; exit 5'
  echo "$output"
  [ "$status" -eq 5 ]
  [ "${lines[0]}" = "husk" ]
  [ "${lines[1]}" = "sleep" ]
  [ "${lines[2]}" = "rootfs" ]
}

@test "exec with user, cwd and env options" {
  run husk exec --user 65534:65534 --cwd /tmp --env FOO=bar --env HOME=/nowhere ex /bin/sh -c 'probe ids; pwd; echo "$FOO $HOME"'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "uid=65534 gid=65534 euid=65534 egid=65534 groups=" ]
  [ "${lines[1]}" = "/tmp" ]
  [ "${lines[2]}" = "bar /nowhere" ]
}

@test "exec relays stdin and keeps stdout and stderr apart" {
  out=$(echo piped | husk exec ex /bin/sh -c 'cat; echo to-err >&2' 2> "$BATS_TEST_TMPDIR/err")
  [ "$out" = "piped" ]
  [ "$(cat "$BATS_TEST_TMPDIR/err")" = "to-err" ]
}

@test "exec --process with the JSON containerd writes" {
  cat > "$BATS_TEST_TMPDIR/process.json" <<'JSON'
{"terminal":false,"user":{"uid":1000,"gid":1000,"additionalGids":[10]},"args":["/bin/sh","-c","probe ids; pwd; echo $ONLY"],"env":["PATH=/bin:/usr/bin","ONLY=from-json"],"cwd":"/var","capabilities":{"bounding":["CAP_KILL"]},"noNewPrivileges":true}
JSON
  run husk exec --process "$BATS_TEST_TMPDIR/process.json" ex
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "uid=1000 gid=1000 euid=1000 egid=1000 groups=10" ]
  [ "${lines[1]}" = "/var" ]
  [ "${lines[2]}" = "from-json" ]
}

@test "exec --detach --pid-file: the exec monitor exits with the process's status" {
  husk exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" ex /bin/sh -c 'sleep 1; exit 9' </dev/null >/dev/null 2>&1
  pid=$(cat "$BATS_TEST_TMPDIR/exec.pid")
  [ "$(cat /proc/$pid/comm)" = "husk-exec" ]
  # it is not our child: wait for it to go, then check no process is left
  for i in $(seq 300); do [ -e /proc/$pid ] || break; sleep 0.1; done
  [ ! -e /proc/$pid ]
}

@test "exec output still queued when the process exits reaches a slow reader" {
  want=$("$PROBE" pattern 4194304 | sha256sum | cut -d' ' -f1)
  got=$(husk exec ex /bin/probe pattern 4194304 | { sleep 8; sha256sum; } | cut -d' ' -f1)
  [ "$got" = "$want" ]
}

@test "10 execs in parallel" {
  for i in $(seq 10); do
    husk exec ex /bin/sh -c "echo exec-$i; exit $i" > "$BATS_TEST_TMPDIR/out.$i" &
    pids[$i]=$!
  done
  for i in $(seq 10); do
    s=0; wait ${pids[$i]} || s=$?
    [ "$s" -eq "$i" ]
    [ "$(cat "$BATS_TEST_TMPDIR/out.$i")" = "exec-$i" ]
  done
}

@test "a signal to exec reaches the exec'd process" {
  "$HUSK" --root "$HUSK_ROOT" exec ex /bin/sh -c 'trap "echo caught; exit 4" TERM; echo ready; while :; do sleep 0.1; done' > "$BATS_TEST_TMPDIR/out" &
  p=$!
  for i in $(seq 300); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  kill -TERM $p
  s=0; wait $p || s=$?
  [ "$s" -eq 4 ]
  grep -q caught "$BATS_TEST_TMPDIR/out"
}

@test "exec with a terminal over --console-socket" {
  SOCK=$BATS_TEST_TMPDIR/console.sock
  "$TOP/build/tests/console-client" "$SOCK" > "$BATS_TEST_TMPDIR/console.out" 2>&1 3>&- &
  c=$!
  for i in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
  husk exec --tty --console-socket "$SOCK" ex /bin/sh -c 'tty'
  wait $c
  [ "$(tr -d '\r' < "$BATS_TEST_TMPDIR/console.out")" = "/dev/pts/0" ]
}

@test "exec with a terminal: typed input reaches the process while the terminal stays open" {
  SOCK=$BATS_TEST_TMPDIR/console.sock
  timeout 150 "$TOP/build/tests/console-client" "$SOCK" 24 80 $'echo typed-$((2+3))\nexit 6\n' > "$BATS_TEST_TMPDIR/console.out" 2>&1 3>&- &
  c=$!
  for i in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
  s=0; timeout 120 "$HUSK" --root "$HUSK_ROOT" exec --tty --console-socket "$SOCK" ex /bin/sh || s=$?
  wait $c
  [ "$s" -eq 6 ]
  grep -q '^typed-5' <(tr -d '\r' < "$BATS_TEST_TMPDIR/console.out")
}

@test "exec errors: missing program, stopped container, unknown container" {
  run husk exec ex /bin/no-such-program
  [ "$status" -ne 0 ]
  [[ "$output" == *no-such-program* ]]
  run husk exec ghost /bin/true
  [ "$status" -ne 0 ]
  [[ "$output" == *"does not exist"* ]]
  husk kill ex KILL
  wait_status ex stopped
  run husk exec ex /bin/true
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *stopped* ]]
}
