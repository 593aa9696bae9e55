#!/usr/bin/env bats
# husk sandbox run: a CI job in a throwaway VM (docs/sandbox.md). Each test
# boots a VM under TCG: few tests, each one meaningful.

load helpers
load pool_helpers
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
  POOL_ROOT=""
}

teardown() {
  if [ -n "$POOL_ROOT" ]; then
    "$HUSK" --root "$POOL_ROOT" delete --force sandbox-pb >/dev/null 2>&1 || true
    pool_stop "$POOL_ROOT"
  fi
  common_teardown
}

# a rootfs of one static binary, the probe at /opt/probe: no /bin, no sh,
# no sleep
bare_rootfs() {
  mkdir -p "$1/opt"
  cp "$PROBE" "$1/opt/probe"
  [ "$(cd "$1" && find . | sort | tr '\n' ' ')" = ". ./opt ./opt/probe " ]
}

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
  [ "$output" = "husk: sandbox cp: neither \"nosuch\" nor \"$BATS_TEST_TMPDIR/f\" is NAME:PATH" ]
  [ "${#lines[@]}" -eq 1 ]
  run husk sandbox cp a:/x b:/y
  [ "$status" -eq 1 ]
  [ "$output" = 'husk: sandbox cp: both "a:/x" and "b:/y" are NAME:PATH (one side must be a host path)' ]
  run husk sandbox cp "$BATS_TEST_TMPDIR/no-such-file" nosuch:/tmp
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox cp: $BATS_TEST_TMPDIR/no-such-file: No such file or directory" ]
  touch "$BATS_TEST_TMPDIR/f"
  run husk sandbox cp "$BATS_TEST_TMPDIR/f" nosuch:/tmp
  [ "$status" -eq 1 ]
  [[ "$output" == 'husk: sandbox cp: no sandbox "nosuch" ('* ]]
  [ "${#lines[@]}" -eq 1 ]
  run husk sandbox cp nosuch: "$BATS_TEST_TMPDIR/f"
  [ "$status" -eq 1 ]
  [ "$output" = 'husk: sandbox cp: "nosuch:" is not NAME:PATH (a name and a path are needed)' ]
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
  # PID 1 is the held init: none of husk-init's fds, only its stdio
  run husk sandbox exec s1 -- /bin/sh -c 'cat /proc/1/comm; ls /proc/1/fd | tr "\n" " "'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'husk-hold\n0 1 2 ')" ]
  # an orphan is handed to the held init, which reaps it: no zombie stays
  run husk sandbox exec s1 -- /bin/sh -c 'sleep 0.2 & echo $! > /tmp/orphan'
  [ "$status" -eq 0 ]
  run husk sandbox exec s1 -- /bin/sh -c \
    'p=$(cat /tmp/orphan); i=0; while [ -e /proc/$p ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; [ ! -e /proc/$p ] || cat /proc/$p/stat'
  [ "$status" -eq 0 ]
  [ -z "$output" ]
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

# cp_rootfs DIR: the busybox rootfs with dash as /bin/sh (busybox's sh runs
# its own applets before PATH: no fake tar, no missing tar, with it)
cp_rootfs() {
  cp -a "$ROOTFS" "$1"
  mkdir -p "$1/lib/x86_64-linux-gnu" "$1/lib64"
  cp -L /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$1/lib/x86_64-linux-gnu/"
  ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$1/lib64/"
  rm -f "$1/bin/sh"
  cp /bin/dash "$1/bin/sh"
}

# no .husk-cp-* staging file or directory left in DIR
no_staging_left() {
  [ -z "$(find "$1" -name '.husk-cp-*')" ] || { find "$1" -name '.husk-cp-*' >&2; return 1; }
}

@test "sandbox cp: files and directories in and out as docker cp, one-line errors, a hostile guest's archive" {
  RFS=$BATS_TEST_TMPDIR/rootfs
  cp_rootfs "$RFS"
  H=$BATS_TEST_TMPDIR/h
  src=$H/src
  mkdir -p "$src/a/b" "$src/empty"
  echo top > "$src/top"
  echo deep > "$src/a/b/deep file"
  echo colon > "$src/a/c:d"
  printf '#!/bin/sh\necho ran\n' > "$src/x.sh"
  chmod 755 "$src/x.sh"
  chmod 750 "$src/a"
  ln -s top "$src/link"
  run husk sandbox start --name c --rootfs "$RFS"
  [ "$status" -eq 0 ]

  # a file in: its mode kept; into an existing directory under its own name
  run husk sandbox cp "$src/x.sh" c:/tmp/x.sh
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  cp "$src/top" "$H/a:b"
  run husk sandbox cp "$H/a:b" c:/tmp
  [ "$status" -eq 0 ]
  # a relative host path with ':' (a '/' before it) and a relative guest path (under /work)
  run bash -c "cd '$H' && '$HUSK' --root '$HUSK_ROOT' sandbox cp ./a:b c:rel"
  [ "$status" -eq 0 ]
  run husk sandbox exec c -- /bin/sh -c '/tmp/x.sh; stat -c %a /tmp/x.sh; cat /tmp/a:b /work/rel'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'ran\n755\ntop\ntop')" ]

  # a file out: its mode kept; into an existing directory under its own name; over a file
  mkdir "$H/o"
  run husk sandbox cp c:/tmp/x.sh "$H/o"
  [ "$status" -eq 0 ]
  cmp "$src/x.sh" "$H/o/x.sh"
  [ "$(stat -c %a "$H/o/x.sh")" = 755 ]
  echo old > "$H/o/top"
  run husk sandbox cp c:/tmp/a:b "$H/o/top"
  [ "$status" -eq 0 ]
  [ "$(cat "$H/o/top")" = top ]

  # a directory in: a new one takes the contents, an existing one gets it as a subdirectory
  run husk sandbox cp "$src" c:/tmp/d
  [ "$status" -eq 0 ]
  run husk sandbox cp "$src" c:/tmp/d
  [ "$status" -eq 0 ]
  run husk sandbox exec c -- /bin/sh -c 'cat "/tmp/d/a/b/deep file" /tmp/d/src/a/c:d; readlink /tmp/d/link; stat -c %a /tmp/d/a /tmp/d/src/x.sh'
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'deep\ncolon\ntop\n750\n755')" ]

  # ... and out again, both ways: contents, nesting, modes, the symlink
  run husk sandbox cp c:/tmp/d "$H/back"
  [ "$status" -eq 0 ]
  diff -r "$src" "$H/back/src"
  diff -r -x src "$src" "$H/back"
  [ "$(readlink "$H/back/link")" = top ]
  [ "$(stat -c %a "$H/back/a")" = 750 ]
  [ "$(stat -c %a "$H/back/src/x.sh")" = 755 ]
  run husk sandbox cp c:/tmp/d/ "$H/back"
  [ "$status" -eq 0 ]
  diff -r "$src" "$H/back/d/src"
  # DIR/. : the contents, into an existing directory too
  mkdir "$H/dot"
  run husk sandbox cp c:/tmp/d/a/. "$H/dot"
  [ "$status" -eq 0 ]
  diff -r "$src/a" "$H/dot"
  no_staging_left "$H"

  # errors: one line, status 1, nothing left at the destination
  run husk sandbox cp c:/nope "$H/nope"
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox cp: /nope: no such file or directory in sandbox c" ]
  [ ! -e "$H/nope" ]
  run husk sandbox cp "$H/nope" c:/tmp/nope
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox cp: $H/nope: No such file or directory" ]
  run husk sandbox cp c:/tmp/d "$H/o/top"
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox cp: $H/o/top exists and is not a directory" ]
  run husk sandbox cp "$src" c:/tmp/x.sh
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox cp: /tmp/x.sh in sandbox c exists and is not a directory" ]
  run husk sandbox cp "$src/top" c:/no/such/dir/f
  [ "$status" -eq 1 ]
  [[ "$output" == "husk: sandbox cp: writing /no/such/dir/f in sandbox c failed ("*")" ]]
  [ "${#lines[@]}" -eq 1 ]
  # cat fails halfway (a read error): the file there before stays as it was, no temp file
  run husk sandbox cp c:/proc/self/mem "$H/o/top"
  [ "$status" -eq 1 ]
  [[ "$output" == "husk: sandbox cp: reading /proc/self/mem in sandbox c failed (cat exited "* ]]
  [ "$(cat "$H/o/top")" = top ]
  no_staging_left "$H"

  # a hostile guest: its "tar" sends a symlink out of the destination, then
  # a file through it; GNU tar refuses, nothing is written outside, nothing left
  mkdir "$H/outside" "$BATS_TEST_TMPDIR/evil"
  (cd "$BATS_TEST_TMPDIR/evil" && ln -s "$H/outside" esc && ln -s ../../outside rel &&
    tar -cf ../hostile.tar esc rel && rm esc rel && mkdir esc rel && echo pwned > esc/f && echo pwned > rel/f &&
    tar -rf ../hostile.tar esc/f rel/f)
  printf '#!/bin/sh\nexec cat /tmp/hostile.tar\n' > "$BATS_TEST_TMPDIR/faketar"
  chmod 755 "$BATS_TEST_TMPDIR/faketar"
  run husk sandbox exec c -- mkdir -p /usr/local/bin
  run husk sandbox cp "$BATS_TEST_TMPDIR/faketar" c:/usr/local/bin/tar
  [ "$status" -eq 0 ]
  run husk sandbox cp "$BATS_TEST_TMPDIR/hostile.tar" c:/tmp/hostile.tar
  [ "$status" -eq 0 ]
  run husk sandbox cp c:/tmp "$H/hostile"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == "husk: sandbox cp: extracting what sandbox c sent for /tmp failed (tar exited 2: tar: "*"Not a directory)" ]]
  [ -z "$(ls -A "$H/outside")" ]
  [ ! -e "$H/hostile" ]
  no_staging_left "$H"
  # ... device nodes, a fifo and a set-uid file: only the plain file and the mode's 0777 bits arrive
  mkdir "$BATS_TEST_TMPDIR/nodes"
  echo ok > "$BATS_TEST_TMPDIR/nodes/ok"
  mknod "$BATS_TEST_TMPDIR/nodes/null" c 1 3
  mkfifo "$BATS_TEST_TMPDIR/nodes/fifo"
  install -m 4755 /dev/null "$BATS_TEST_TMPDIR/nodes/suid"
  tar -C "$BATS_TEST_TMPDIR/nodes" -cf "$BATS_TEST_TMPDIR/nodes.tar" .
  run husk sandbox cp "$BATS_TEST_TMPDIR/nodes.tar" c:/tmp/hostile.tar
  [ "$status" -eq 0 ]
  run husk sandbox cp c:/tmp "$H/nodes"
  [ "$status" -eq 0 ]
  [ "$(ls "$H/nodes" | tr '\n' ' ')" = "ok suid " ]
  [ "$(stat -c %a "$H/nodes/suid")" = 755 ]

  # no tar in the rootfs: a directory cannot be copied (the cause named), a file still can
  run husk sandbox exec c -- rm /usr/local/bin/tar /bin/tar
  [ "$status" -eq 0 ]
  run husk sandbox cp c:/tmp/d "$H/notar"
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox cp: no tar in sandbox c's rootfs (a directory is copied as a tar stream)" ]
  run husk sandbox cp "$src" c:/tmp/notar
  [ "$status" -eq 1 ]
  [ "$output" = "husk: sandbox cp: no tar in sandbox c's rootfs (a directory is copied as a tar stream)" ]
  [ ! -e "$H/notar" ]
  run husk sandbox cp c:/tmp/x.sh "$H/notar"
  [ "$status" -eq 0 ]
  cmp "$src/x.sh" "$H/notar"

  run husk sandbox stop c
  [ "$status" -eq 0 ]
  run husk sandbox cp c:/tmp/x.sh "$H/gone"
  [ "$status" -eq 1 ]
  [[ "$output" == 'husk: sandbox cp: no sandbox "c" ('* ]]
  [ ! -e "$H/gone" ]
}

@test "sandbox start from a rootfs of one static binary, no sh and no sleep: exec runs it, stop leaves nothing" {
  local r=$BATS_TEST_TMPDIR/bare
  bare_rootfs "$r"
  before=$(rootfs_listing "$r")
  run husk sandbox start --name bare --rootfs "$r" --work "$WORK"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run husk sandbox exec bare -- /opt/probe hostname
  [ "$status" -eq 0 ]
  [ "$output" = "sandbox" ]
  run husk sandbox exec bare -- /opt/probe cwd
  [ "$status" -eq 0 ]
  [ "$output" = "/work" ]
  # the command runs beside the held init, in its pid namespace
  run husk sandbox exec bare -- /opt/probe pid
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^pid=([0-9]+)\ ppid=0$ ]]
  [ "${BASH_REMATCH[1]}" -gt 1 ]
  run husk sandbox exec bare -- /opt/probe no-such-fact
  [ "$status" -eq 2 ]
  run husk sandbox exec bare -- /bin/sh -c true
  [ "$status" -eq 1 ]
  [ "$output" = 'husk: exec: "/bin/sh": executable file not found in $PATH' ]
  # the spec kept for exec is husk's own, held
  [ "$(jq -r '.annotations["io.husk.sandbox.hold"]' "$HUSK_ROOT/sandbox-bare/sandbox.json")" = "true" ]
  # SIGTERM ends the held init, as it ends Kubernetes' pause
  run husk kill sandbox-bare TERM
  [ "$status" -eq 0 ]
  wait_status sandbox-bare stopped
  run husk sandbox exec bare -- /opt/probe hostname
  [ "$status" -ne 0 ]
  run husk sandbox stop bare
  [ "$status" -eq 0 ]
  [ "$before" = "$(rootfs_listing "$r")" ]
  nothing_left
  # --read-only: the mount points the rootfs lacks (/work, /proc, /dev,
  # /sys, /tmp) are made in the guest's overlay, never in the rootfs
  run husk sandbox run --rootfs "$r" --read-only -- /opt/probe cwd
  [ "$status" -eq 0 ]
  [ "$output" = "/work" ]
  [ "$before" = "$(rootfs_listing "$r")" ]
  nothing_left
}

@test "sandbox start on a pool VM holds its init too: exec in a rootfs without sh, stop leaves nothing" {
  local r=$BATS_TEST_TMPDIR/bare
  bare_rootfs "$r"
  POOL_ROOT=$(mktemp -d /run/husk-sbhold.XXXXXX)
  pool_start "$POOL_ROOT" 1 HUSK_MEMORY_MIB=512 HUSK_VCPUS=1
  pool_wait_ready "$POOL_ROOT" 1
  run "$HUSK" --root "$POOL_ROOT" sandbox start --name pb --rootfs "$r"
  [ "$status" -eq 0 ]
  # adopted: the sandbox's VM is the pool's
  [[ "$(jq -r .vm_dir "$POOL_ROOT/sandbox-pb/state.json")" == "$POOL_ROOT/pool.d/"* ]]
  run "$HUSK" --root "$POOL_ROOT" sandbox exec pb -- /opt/probe hostname
  [ "$status" -eq 0 ]
  [ "$output" = "sandbox" ]
  run "$HUSK" --root "$POOL_ROOT" sandbox stop pb
  [ "$status" -eq 0 ]
  [ ! -e "$POOL_ROOT/sandbox-pb" ]
  [ -z "$(pgrep -f -- "--root $POOL_ROOT sandbox" || true)" ]
}

@test "io.husk.sandbox.hold in a bundle's spec: refused, one line" {
  make_bundle "$BATS_TEST_TMPDIR/b" /bin/true
  jq '.annotations["io.husk.sandbox.hold"] = "true"' "$BATS_TEST_TMPDIR/b/config.json" >"$BATS_TEST_TMPDIR/c.json"
  mv "$BATS_TEST_TMPDIR/c.json" "$BATS_TEST_TMPDIR/b/config.json"
  run husk create --bundle "$BATS_TEST_TMPDIR/b" held
  [ "$status" -eq 1 ]
  [ "$output" = "husk: annotation io.husk.sandbox.hold is for husk's own sandboxes only" ]
  nothing_left
}
