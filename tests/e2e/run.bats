#!/usr/bin/env bats
# husk run: a container in its own microVM, end to end (under TCG here).

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "run prints from inside the VM: hello, the guest kernel, the container's pid 1" {
  set_args "$BUNDLE" /bin/sh -c 'echo hello; uname -r; cat /proc/1/comm; exit 0'
  run husk run --bundle "$BUNDLE" demo
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "hello" ]
  [ "${lines[1]}" = "$(guest_release)" ]
  [ "${lines[1]}" != "$(uname -r)" ]
  [ "${lines[2]}" = "sh" ]
  # run removes what it created
  [ ! -e "$HUSK_ROOT/demo" ]
}

@test "run exits with the container's exit status" {
  set_args "$BUNDLE" /bin/sh -c 'exit 7'
  run husk run --bundle "$BUNDLE" seven
  [ "$status" -eq 7 ]
}

@test "a container killed by SIGKILL exits 137" {
  set_args "$BUNDLE" /bin/sh -c 'echo ready; exec sleep 1000'
  husk run --bundle "$BUNDLE" killed > "$BATS_TEST_TMPDIR/out" &
  p=$!
  for i in $(seq 600); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  husk kill killed SIGKILL
  s=0; wait $p || s=$?
  [ "$s" -eq 137 ]
}

@test "the container has the spec's hostname, cwd and ids" {
  jq '.process.cwd = "/tmp" | .process.user = {uid: 65534, gid: 65534, additionalGids: [5, 7]} | .hostname = "box1"' \
    "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  set_args "$BUNDLE" /bin/sh -c 'probe hostname; probe cwd; probe ids; probe pid'
  run husk run --bundle "$BUNDLE" facts
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "box1" ]
  [ "${lines[1]}" = "/tmp" ]
  [ "${lines[2]}" = "uid=65534 gid=65534 euid=65534 egid=65534 groups=5,7" ]
  [ "${lines[3]}" = "pid=1 ppid=0" ]
}

@test "env reaches the process" {
  jq '.process.env += ["GREETING=hi there"]' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  set_args "$BUNDLE" /bin/sh -c 'echo "$GREETING"'
  run husk run --bundle "$BUNDLE" envtest
  [ "$status" -eq 0 ]
  [ "$output" = "hi there" ]
}

@test "stdin is relayed" {
  set_args "$BUNDLE" /bin/cat
  run bash -c "echo data | '$HUSK' --root '$HUSK_ROOT' run --bundle '$BUNDLE' stdin1"
  [ "$status" -eq 0 ]
  [ "$output" = "data" ]
}

@test "without stdin the process reads /dev/null" {
  set_args "$BUNDLE" /bin/sh -c 'cat; echo done'
  run bash -c "'$HUSK' --root '$HUSK_ROOT' run --bundle '$BUNDLE' nostdin < /dev/null"
  [ "$status" -eq 0 ]
  [ "$output" = "done" ]
}

@test "stdout and stderr stay separate" {
  set_args "$BUNDLE" /bin/sh -c 'echo out; echo err >&2; echo out2'
  husk run --bundle "$BUNDLE" split > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err"
  [ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(printf 'out\nout2')" ]
  [ "$(cat "$BATS_TEST_TMPDIR/err")" = "err" ]
}

@test "10 MiB of output arrives intact and in order" {
  set_args "$BUNDLE" /bin/probe pattern 10485760
  want=$("$PROBE" pattern 10485760 | sha256sum | cut -d' ' -f1)
  got=$(husk run --bundle "$BUNDLE" big | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ]
}

@test "output still queued when the VM powers off reaches a slow reader" {
  # the process exits while its last MiB waits in the monitor for a reader
  # that has not begun: the VM goes, the output must not
  set_args "$BUNDLE" /bin/probe pattern 4194304
  want=$("$PROBE" pattern 4194304 | sha256sum | cut -d' ' -f1)
  got=$(husk run --bundle "$BUNDLE" slow | { sleep 8; sha256sum; } | cut -d' ' -f1)
  [ "$got" = "$want" ]
}

@test "10 MiB of input arrives intact and in order" {
  set_args "$BUNDLE" /bin/sha256sum
  want=$("$PROBE" pattern 10485760 | sha256sum | cut -d' ' -f1)
  got=$("$PROBE" pattern 10485760 | husk run --bundle "$BUNDLE" bigin | cut -d' ' -f1)
  [ "$got" = "$want" ]
}

@test "two containers run at once" {
  set_args "$BUNDLE" /bin/sh -c 'sleep 1; echo one'
  make_bundle "$BATS_TEST_TMPDIR/b2" /bin/sh -c 'sleep 1; echo two'
  husk run --bundle "$BUNDLE" par1 > "$BATS_TEST_TMPDIR/o1" &
  p1=$!
  husk run --bundle "$BATS_TEST_TMPDIR/b2" par2 > "$BATS_TEST_TMPDIR/o2" &
  p2=$!
  wait $p1
  wait $p2
  [ "$(cat "$BATS_TEST_TMPDIR/o1")" = "one" ]
  [ "$(cat "$BATS_TEST_TMPDIR/o2")" = "two" ]
}

@test "a signal to run is forwarded to the container" {
  set_args "$BUNDLE" /bin/sh -c 'trap "echo got TERM; exit 3" TERM; echo ready; while true; do sleep 0.1; done'
  "$HUSK" --root "$HUSK_ROOT" run --bundle "$BUNDLE" fwd > "$BATS_TEST_TMPDIR/out" &
  pid=$!
  for i in $(seq 600); do grep -q ready "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  kill -TERM $pid
  status=0
  wait $pid || status=$?
  [ "$status" -eq 3 ]
  grep -q "got TERM" "$BATS_TEST_TMPDIR/out"
}

@test "the rootfs is shared: writes reach the host's directory" {
  set_args "$BUNDLE" /bin/sh -c 'echo written-in-guest > /tmp/from-guest'
  run husk run --bundle "$BUNDLE" rw1
  [ "$status" -eq 0 ]
  [ "$(cat "$BUNDLE/rootfs/tmp/from-guest")" = "written-in-guest" ]
}

@test "virtiofs_cache: virtiofsd serves with the configured mode (auto by default), and files flow both ways" {
  local mode
  for mode in "" always; do
    echo "from-host-$mode" > "$BUNDLE/rootfs/tmp/from-host"
    set_args "$BUNDLE" /bin/sh -c 'cat /tmp/from-host; echo "guest" > /tmp/from-guest; sleep 600'
    HUSK_VIRTIOFS_CACHE=$mode husk create --bundle "$BUNDLE" vc </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
    pgrep -af virtiofsd | grep -F "$HUSK_ROOT/vc/" | grep -q -- "cache=${mode:-auto}"
    husk start vc
    for ((i = 0; i < 100; i++)); do [ -e "$BUNDLE/rootfs/tmp/from-guest" ] && break; sleep 0.1; done
    [ "$(cat "$BUNDLE/rootfs/tmp/from-guest")" = guest ]
    husk delete --force vc
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = "from-host-$mode" ]
    rm -f "$BUNDLE/rootfs/tmp/from-guest"
  done
  HUSK_VIRTIOFS_CACHE=sometimes run husk create --bundle "$BUNDLE" vc
  [ "$status" -ne 0 ]
  [[ "$output" == *"virtiofs_cache must be auto, always or none"* ]]
}

@test "root.readonly: the container cannot write, and the host view stays untouched" {
  jq '.root.readonly = true' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  set_args "$BUNDLE" /bin/sh -c 'if touch /should-not-exist 2>/dev/null; then echo wrote; else echo refused; fi'
  run husk run --bundle "$BUNDLE" ro1
  [ "$status" -eq 0 ]
  [ "$output" = "refused" ]
  [ ! -e "$BUNDLE/rootfs/should-not-exist" ]
  # the read-only view is virtiofsd's own: nothing leaks into the host's mount table
  ! grep -q "$BUNDLE" /proc/mounts
}
