#!/usr/bin/env bats
# containerd 1.6 (ctr, the runc shim v2) runs husk as its runc binary, as
# docs/containerd.md shows. containerd's root, state, sockets, config, the
# shim's root for husk and ctr's fifos live under a temp dir; containerd is
# stopped by pid at the end. (containerd 1.6 always puts its shims' sockets
# in /run/containerd/s; they go with the shims.)

load helpers

setup_file() {
  CTMP=$(client_tmpdir containerd)
  export CTMP
  cat > "$CTMP/config.toml" <<EOF
version = 2
root = "$CTMP/root"
state = "$CTMP/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CTMP/c.sock"
[ttrpc]
  address = "$CTMP/c.sock.ttrpc"
[debug]
  address = "$CTMP/debug.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTMP/opt"
EOF
  containerd --config "$CTMP/config.toml" > "$CTMP/containerd.log" 2>&1 </dev/null 3>&- &
  echo $! > "$CTMP/pid"
  if ! wait_for "containerd to answer" 120 c version; then
    cat "$CTMP/containerd.log" >&2
    return 1
  fi
  archive=$(make_docker_archive "$CTMP")
  c images import "$archive" >/dev/null
}

teardown_file() {
  local left="" id
  for id in $(c containers ls -q 2>/dev/null); do
    c task kill -s KILL "$id" >/dev/null 2>&1 || true
    wait_for "task $id to stop" 60 task_gone "$id" || c task delete -f "$id" >/dev/null 2>&1 || true
    c task delete "$id" >/dev/null 2>&1 || true
    c containers delete "$id" >/dev/null 2>&1 || true
  done
  left="$left$(stop_engine "$CTMP")"
  for id in $(ls /run/husk 2>/dev/null | grep '^husk-ctr-' || true); do
    left="$left state:$id"
  done
  remove_tmpdir "$CTMP"
  if [ -n "$left" ]; then
    echo "left behind:$left" >&2
    return 1
  fi
}

teardown() {
  tty_stop
  local id
  for id in $(c task ls -q 2>/dev/null); do
    c task kill -s KILL "$id" >/dev/null 2>&1 || true
  done
  for id in $(c containers ls -q 2>/dev/null); do
    wait_for "task $id to stop" 60 task_gone "$id" || true
    c task delete "$id" >/dev/null 2>&1 || true
    c containers delete "$id" >/dev/null 2>&1 || true
  done
  return 0
}

c() {
  ctr -a "$CTMP/c.sock" -n husk-test "$@"
}

# --runc-root: the shim's --root for husk, under the temp dir too
crun() {
  c run --runc-binary "$HUSK" --runc-root "$CTMP/runc" --fifo-dir "$CTMP/fifo" "$@"
}

cexec() {
  c task exec --fifo-dir "$CTMP/fifo" "$@"
}

task_status() {
  c task ls 2>/dev/null | awk -v id="$1" '$1 == id {print $3}'
}

# no task, or a stopped one
task_gone() {
  local s
  s=$(task_status "$1")
  [ -z "$s" ] || [ "$s" = STOPPED ]
}

task_running() {
  [ "$(task_status "$1")" = RUNNING ]
}

@test "ctr run --rm --runc-binary husk: husk's guest kernel, exit codes 0 and 7" {
  run crun --rm "$IMAGE_NAME" husk-ctr-r1 probe kernel
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$(guest_release)" ]
  [ "$output" != "$(uname -r)" ]
  run crun --rm "$IMAGE_NAME" husk-ctr-r2 sh -c 'exit 7'
  [ "$status" -eq 7 ]
  run c containers ls -q
  [ -z "$output" ]
}

@test "ctr run --rm -t: a terminal, typed input, the exit code" {
  tty_start t1 100 30 "ctr -a $CTMP/c.sock -n husk-test run --rm -t --runc-binary $HUSK --runc-root $CTMP/runc --fifo-dir $CTMP/fifo $IMAGE_NAME husk-ctr-t1 sh; echo EXIT=\$?"
  tty_shell_checks t1
}

@test "task exec, task ps, task kill with a signal the process handles, and SIGKILL (137)" {
  crun -d "$IMAGE_NAME" husk-ctr-d1 sh -c 'trap "echo got-usr1 > /tmp/usr1" USR1; echo up > /tmp/up; while :; do sleep 1000 & wait $!; done'
  wait_for "the task to run its sleep" 120 cexec --exec-id probe-up husk-ctr-d1 pidof sleep
  run cexec --exec-id e1 husk-ctr-d1 sh -c 'cat /proc/1/comm; probe kernel; exit 4'
  [ "$status" -eq 4 ]
  [ "${lines[0]}" = sh ]
  [ "${lines[1]}" = "$(guest_release)" ]
  # ps: husk ps --format json, runc's contract: the container's host pids
  # (for a VM, its monitor's)
  run c task ps husk-ctr-d1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -ge 2 ]
  # the pids containerd shows are the ones husk ps reports
  ctr_pids=$(awk 'NR > 1 {print $1}' <<< "$output" | sort -n | tr '\n' ' ')
  husk_pids=$("$HUSK" --root "$CTMP/runc/husk-test" ps --format json husk-ctr-d1 | jq -r '.[]' | sort -n | tr '\n' ' ')
  echo "ctr: $ctr_pids husk: $husk_pids"
  [ "$ctr_pids" = "$husk_pids" ]
  c task kill -s USR1 husk-ctr-d1
  wait_for "the trap to run" 60 cexec --exec-id e3 husk-ctr-d1 test -f /tmp/usr1
  task_running husk-ctr-d1
  c task kill -s KILL husk-ctr-d1
  wait_for "the task to stop" 120 bash -c "ctr -a '$CTMP/c.sock' -n husk-test task ls | grep husk-ctr-d1 | grep -q STOPPED"
  run c task delete husk-ctr-d1
  echo "$output"
  [[ "$output" == *137* ]]
}

@test "task pause and resume: a paused task does not run" {
  mkdir -p "$BATS_TEST_TMPDIR/count"
  crun -d --mount "type=bind,src=$BATS_TEST_TMPDIR/count,dst=/count,options=rbind:rw" "$IMAGE_NAME" husk-ctr-p1 \
    sh -c 'i=0; while :; do i=$((i+1)); echo $i > /count/n; sleep 0.2; done'
  wait_for "the task to count" 120 test -s "$BATS_TEST_TMPDIR/count/n"
  c task pause husk-ctr-p1
  [ "$(task_status husk-ctr-p1)" = PAUSED ]
  a=$(cat "$BATS_TEST_TMPDIR/count/n")
  sleep 3
  [ "$(cat "$BATS_TEST_TMPDIR/count/n")" = "$a" ]
  c task resume husk-ctr-p1
  [ "$(task_status husk-ctr-p1)" = RUNNING ]
  wait_for "the task to count again" 60 bash -c "[ \"\$(cat '$BATS_TEST_TMPDIR/count/n')\" != '$a' ]"
}

@test "task metrics: the numbers are the VM's (its host cgroup), not the host's" {
  crun -d "$IMAGE_NAME" husk-ctr-m1 sleep 1000
  wait_for "the task to run" 120 task_running husk-ctr-m1
  pid=$(c task ls | awk '$1 == "husk-ctr-m1" {print $2}')
  run c task metrics --format json husk-ctr-m1
  echo "$output" | head -40
  [ "$status" -eq 0 ]
  mem=$(jq '.memory.usage.usage // .memory.usage' <<< "$output")
  cpu=$(jq '.cpu.usage.total // (.cpu.usage_usec * 1000)' <<< "$output")
  # the task's pid is husk's monitor; its host cgroup holds the monitor,
  # QEMU and virtiofsd: compare with what those processes really use
  qemu=$(pgrep -P "$pid" -f qemu-system | head -1)
  [ -n "$qemu" ]
  rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$qemu/status")
  echo "memory $mem, QEMU rss ${rss_kb} kB, cpu $cpu ns"
  # at least QEMU's resident memory, at most its guest memory plus 512 MiB
  [ "$mem" -ge $((rss_kb * 1024 / 2)) ]
  [ "$mem" -lt $(( (256 + 512) * 1024 * 1024 )) ]
  # CPU time: the VM's, far below the whole host's
  tree_ticks=0
  for p in "$pid" $(pgrep -P "$pid"); do
    t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat")
    tree_ticks=$((tree_ticks + t))
  done
  hz=$(getconf CLK_TCK)
  [ "$cpu" -gt 0 ]
  [ "$cpu" -le $(( (tree_ticks / hz + 30) * 1000000000 )) ]
}
