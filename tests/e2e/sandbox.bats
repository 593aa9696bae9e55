#!/usr/bin/env bats
# husk sandbox run: a CI job in a throwaway VM (docs/sandbox.md). Each test
# boots a VM under TCG: few tests, each one meaningful.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
  ROOTFS_BUNDLE=$(mktemp -d /tmp/husk-sandbox-rootfs.XXXXXX)
  export ROOTFS_BUNDLE
  make_bundle "$ROOTFS_BUNDLE" /bin/true
}

teardown_file() {
  rm -rf "$ROOTFS_BUNDLE"
}

setup() {
  common_setup
  ROOTFS=$ROOTFS_BUNDLE/rootfs
  WORK=$BATS_TEST_TMPDIR/work
  mkdir -p "$WORK"
}

teardown() { common_teardown; }

# every file of the rootfs with its type, mode, owner, size and contents' sum
rootfs_listing() {
  (cd "$1" && find . -printf '%y %m %U:%G %s %p -> %l\n' | sort &&
    find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# nothing of the job left: no state dir, no process naming the root
nothing_left() {
  [ -z "$(ls -A "$HUSK_ROOT")" ] || { ls -la "$HUSK_ROOT" >&2; return 1; }
  local left
  left=$(leftover_processes)
  [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}

@test "sandbox run: the job's exit status, stdout and stderr kept apart, only lo; a terminal when stdin is one" {
  run --separate-stderr husk sandbox run --rootfs "$ROOTFS" -- \
    /bin/sh -c 'echo out; echo err >&2; ls /sys/class/net; [ -t 0 ] || echo no-tty; exit 3' </dev/null
  echo "out: $output"
  echo "err: $stderr"
  [ "$status" -eq 3 ]
  [ "${lines[0]}" = "out" ]
  [ "${lines[1]}" = "lo" ]
  [ "${lines[2]}" = "no-tty" ]
  [ "${#lines[@]}" -eq 3 ]
  [ "$stderr" = "err" ]
  nothing_left
  # under script(1) stdin is a terminal: the job has one too, its status passes through
  run script -qec "$HUSK --root $HUSK_ROOT sandbox run --rootfs $ROOTFS -- \
    /bin/sh -c '[ -t 0 ] && [ -t 1 ] && echo tty-in-job; exit 5'" /dev/null </dev/null
  echo "$output"
  [ "$status" -eq 5 ]
  # (script(1) sends its stdin's EOF as a character; the job's terminal echoes it first: "^@")
  [[ "${output//$'\r'/}" =~ ^(\^@)?tty-in-job$ ]]
  nothing_left
}

@test "sandbox run: /work is --work, read-write, the cwd; the rootfs stays as it was" {
  echo "from the host" > "$WORK/in.txt"
  before=$(rootfs_listing "$ROOTFS")
  run husk sandbox run --rootfs "$ROOTFS" --work "$WORK" --env GREETING=hi -- /bin/sh -c '
    set -e
    pwd
    cat in.txt
    echo "$GREETING from the job" > out.txt
    echo x > /new-file; echo y >> /etc/passwd; rm /bin/ls; mkdir -p /usr/share/junk; echo z > /usr/share/junk/f
    chmod 700 /etc; touch /bin/busybox
    cat /new-file; tail -n 1 /etc/passwd; [ ! -e /bin/ls ]'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "/work" ]
  [ "${lines[1]}" = "from the host" ]
  [ "${lines[2]}" = "x" ]
  [ "${lines[3]}" = "y" ]
  [ "$(cat "$WORK/out.txt")" = "hi from the job" ]
  after=$(rootfs_listing "$ROOTFS")
  [ "$before" = "$after" ]
  nothing_left
}

@test "sandbox run: without --work /work is an empty tmpfs; --read-only refuses writes to /" {
  run husk sandbox run --rootfs "$ROOTFS" --read-only -- /bin/sh -c \
    'ls -A /work | wc -l; touch /work/a && echo work-ok; touch /tmp/t && echo tmp-ok; touch /x 2>&1 || echo refused'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "0" ]
  [ "${lines[1]}" = "work-ok" ]
  [ "${lines[2]}" = "tmp-ok" ]
  [[ "$output" == *"Read-only file system"* ]]
  [ "${lines[-1]}" = "refused" ]
  [ ! -e "$ROOTFS/x" ]
  nothing_left
}

@test "sandbox run --timeout: 124 long before the job would end, nothing left" {
  start=$SECONDS
  run husk sandbox run --rootfs "$ROOTFS" --timeout 3 -- /bin/sh -c 'echo started; sleep 600; echo never'
  echo "$output"
  [ "$status" -eq 124 ]
  [ "${lines[0]}" = "started" ]
  [[ "$output" != *never* ]]
  [ $((SECONDS - start)) -lt 300 ]
  nothing_left
}

@test "SIGINT to sandbox run tears the VM down: 130, nothing left" {
  # husk itself in the background (the helper function would be a subshell)
  "$HUSK" --root "$HUSK_ROOT" sandbox run --rootfs "$ROOTFS" -- /bin/sh -c 'echo ready; exec sleep 600' \
    > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
  p=$!
  for _ in $(seq 900); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  grep -q ready "$BATS_TEST_TMPDIR/out"
  # the job runs in a VM of its own: QEMU names this root
  pgrep -f -- "$HUSK_ROOT" | grep -q .
  kill -INT "$p"
  s=0; wait "$p" || s=$?
  cat "$BATS_TEST_TMPDIR/err"
  [ "$s" -eq 130 ]
  nothing_left
}

@test "sandbox: bad flags, a missing rootfs, no command, no such sandbox: one-line errors" {
  run husk sandbox run --rootfs "$ROOTFS"
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox run: no command given (husk sandbox run [options] -- CMD [ARG...])" ]
  run husk sandbox run --rootfs /nonexistent/rootfs -- true
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox run: --rootfs /nonexistent/rootfs: No such file or directory" ]
  run husk sandbox run -- true
  [ "$status" -eq 1 ]
  [[ "$output" == "husk: sandbox run: --rootfs DIR or --image NAME is required" ]]
  run husk sandbox run --rootfs "$ROOTFS" --timeout 0 -- true
  [ "$status" -eq 1 ]
  [[ "$output" == "husk: sandbox run: --timeout must be a number from 1 to "* ]]
  run husk sandbox run --rootfs "$ROOTFS" --memory 1 -- true
  [ "$status" -eq 1 ]
  [[ "$output" == *"--memory must be a number from 128"* ]]
  run husk sandbox run --rootfs "$ROOTFS" --env =x -- true
  [ "$status" -eq 1 ]
  [ "$output" = 'husk: sandbox run: --env "=x" is not NAME=VALUE' ]
  run husk sandbox run --rootfs "$ROOTFS" --bogus -- true
  [ "$status" -eq 1 ]
  [[ "$output" == "husk: sandbox run: unknown option --bogus"* ]]
  run husk sandbox start --name x --rootfs "$ROOTFS" --net bogus
  [ "$status" -eq 1 ]
  [ "$output" = 'husk: sandbox start: --net must be none or nat, not "bogus"' ]
  run husk sandbox start --name x --image localhost/no-such-image-here
  [ "$status" -eq 1 ]
  [[ "$output" == "husk: sandbox start: --image localhost/no-such-image-here: not a local Podman image ("* ]]
  run husk sandbox start --rootfs "$ROOTFS"
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox start: --name NAME is required" ]
  run husk sandbox exec nosuch -- true
  [ "$status" -eq 1 ]
  [[ "$output" == 'husk: sandbox exec: no sandbox "nosuch" ('* ]]
  run husk sandbox stop nosuch
  [ "$status" -eq 1 ]
  [[ "$output" == 'husk: sandbox stop: no sandbox "nosuch" ('* ]]
  run husk sandbox cp nosuch "$BATS_TEST_TMPDIR/f"
  [ "$status" -eq 1 ]
  [ "$output" = 'husk: sandbox cp: "nosuch" is not NAME:PATH' ]
  [ "${#lines[@]}" -eq 1 ]
  nothing_left
}

@test "sandbox start/exec/cp/stop: one VM, many commands, its writes kept between them, nothing left" {
  before=$(rootfs_listing "$ROOTFS")
  run husk sandbox start --name s1 --rootfs "$ROOTFS" --work "$WORK" --env FOO=bar
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run --separate-stderr husk sandbox exec s1 -- /bin/sh -c 'echo "$FOO"; pwd; echo kept > /etc/note; echo w > out; echo e >&2; exit 5'
  [ "$status" -eq 5 ]
  [ "$output" = "$(printf 'bar\n/work')" ]
  [ "$stderr" = "e" ]
  [ "$(cat "$WORK/out")" = "w" ]
  run husk sandbox exec --env X=1 s1 -- /bin/sh -c 'cat /etc/note; echo "$X"'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'kept\n1')" ]
  run husk sandbox cp s1:/etc/note "$BATS_TEST_TMPDIR/note"
  [ "$status" -eq 0 ]
  [ "$(cat "$BATS_TEST_TMPDIR/note")" = "kept" ]
  run husk sandbox cp s1:/nonexistent "$BATS_TEST_TMPDIR/none"
  [ "$status" -eq 1 ]
  [ ! -e "$BATS_TEST_TMPDIR/none" ]
  run husk sandbox stop s1
  [ "$status" -eq 0 ]
  [ "$before" = "$(rootfs_listing "$ROOTFS")" ]
  nothing_left
}
