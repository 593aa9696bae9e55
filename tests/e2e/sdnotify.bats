#!/usr/bin/env bats
# sd_notify: with NOTIFY_SOCKET in husk's environment (runc's way) or a host
# socket bound in by the spec (Podman's --sdnotify=container), what the
# container sends to its NOTIFY_SOCKET reaches the host socket through
# husk-init and the monitor; READY=1 carries the monitor's pid as MAINPID.
# A python listener (notify_listen.py) stands in for systemd or conmon.

load helpers

RUNC=${RUNC:-/usr/sbin/runc}

setup() {
  common_setup
  LISTENER=
  NLOG=$BATS_TEST_TMPDIR/notify.log
}

teardown() {
  if [ -n "$LISTENER" ]; then kill "$LISTENER" 2>/dev/null || true; fi
  if [ -d "$BATS_TEST_TMPDIR/runc-root" ]; then
    "$RUNC" --root "$BATS_TEST_TMPDIR/runc-root" delete --force rn >/dev/null 2>&1 || true
  fi
  common_teardown
}

# listen PATH: a datagram listener on PATH, each datagram a line of $NLOG
listen() {
  python3 "$TOP/tests/e2e/notify_listen.py" "$1" "$NLOG" "$BATS_TEST_TMPDIR/listening" 300 \
    </dev/null >/dev/null 2>&1 3>&- &
  LISTENER=$!
  local i
  for i in $(seq 100); do
    [ -e "$BATS_TEST_TMPDIR/listening" ] && return 0
    sleep 0.1
  done
  echo "the listener did not start" >&2
  return 1
}

# wait_datagram REGEX [SECONDS]: a datagram matching REGEX (jq's test) arrived
wait_datagram() {
  local i
  for ((i = 0; i < ${2:-90} * 10; i++)); do
    [ -f "$NLOG" ] && jq -s -e --arg re "$1" 'any(.[]; .d | test($re))' "$NLOG" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "no datagram matching $1; got: $(cat "$NLOG" 2>/dev/null)" >&2
  return 1
}

# ready ID: a datagram with READY=1 arrived; else the container's logs are shown
ready() {
  wait_datagram '^READY=1' && return 0
  echo "--- $1: out"; cat "$BATS_TEST_TMPDIR/out" 2>/dev/null
  echo "--- monitor.log"; tail -20 "$HUSK_ROOT/$1/monitor.log" 2>/dev/null
  echo "--- console.log"; tail -20 "$HUSK_ROOT/$1/console.log" 2>/dev/null
  return 1
}

# husk_env NOTIFY_SOCKET-VALUE ARG...: husk with that NOTIFY_SOCKET ("" unsets it)
husk_env() {
  local v=$1
  shift
  if [ -n "$v" ]; then
    env NOTIFY_SOCKET="$v" "$HUSK" --root "$HUSK_ROOT" "$@"
  else
    env -u NOTIFY_SOCKET "$HUSK" --root "$HUSK_ROOT" "$@"
  fi
}

@test "NOTIFY_SOCKET set: STATUS and READY=1 arrive, READY with the monitor's pid, the guest's MAINPID dropped" {
  sock=$BATS_TEST_TMPDIR/notify.sock
  listen "$sock"
  # (set_args takes one line per argument)
  cmd='echo "NOTIFY_SOCKET=$NOTIFY_SOCKET"; probe notify STATUS=starting && probe notify READY=1 MAINPID=1 STATUS=serving && echo sent; sleep 1000'
  set_args "$BUNDLE" /bin/sh -c "$cmd"
  husk_env "$sock" create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" n1 \
    </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
  pid=$(cat "$BATS_TEST_TMPDIR/pid")
  husk start n1
  ready n1
  cat "$NLOG"
  [ "$(head -1 "$NLOG" | jq -r .d)" = "STATUS=starting" ]
  [ "$(sed -n 2p "$NLOG" | jq -r .d)" = "$(printf 'READY=1\nMAINPID=%s\nSTATUS=serving' "$pid")" ]
  [ "$(wc -l <"$NLOG")" -eq 2 ]
  grep -qx "NOTIFY_SOCKET=/run/notify/notify.sock" "$BATS_TEST_TMPDIR/out"
  grep -qx sent "$BATS_TEST_TMPDIR/out"
  husk kill n1 KILL
  wait_status n1 stopped
  husk delete n1
}

@test "a datagram over 4096 bytes is dropped, one of 4096 passes, the relay goes on" {
  sock=$BATS_TEST_TMPDIR/notify.sock
  listen "$sock"
  set_args "$BUNDLE" /bin/sh -c 'probe notify --bytes 5000; probe notify --bytes 4096; probe notify STATUS=after; sleep 1000'
  husk_env "$sock" create --bundle "$BUNDLE" n2 </dev/null >/dev/null 2>&1
  husk start n2
  wait_datagram '^STATUS=after$'
  jq -c '.d | length' "$NLOG"
  [ "$(wc -l <"$NLOG")" -eq 2 ]
  [ "$(head -1 "$NLOG" | jq -r '.d | length')" -eq 4096 ]
  grep -q "sd_notify: a notification of 5000 bytes is over 4096: dropped" "$HUSK_ROOT/n2/console.log"
  husk kill n2 KILL
  wait_status n2 stopped
  husk delete n2
}

@test "without NOTIFY_SOCKET nothing is bound and the process gets none" {
  set_args "$BUNDLE" /bin/sh -c 'echo "ns=${NOTIFY_SOCKET-unset}"; if [ -e /run/notify/notify.sock ]; then echo bound; else echo none; fi'
  run husk_env "" run --bundle "$BUNDLE" n3
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "ns=unset" ]
  [ "${lines[1]}" = "none" ]
}

@test "a NOTIFY_SOCKET that is no unix socket address fails create with one line" {
  run husk_env "vsock:2:9" create --bundle "$BUNDLE" n4
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *'NOTIFY_SOCKET "vsock:2:9" is not a unix socket path'* ]]
  [ ! -e "$HUSK_ROOT/n4" ]
}

@test "Podman's way: process.env's NOTIFY_SOCKET on a bound directory with a host socket gets the datagrams" {
  mkdir -p "$BATS_TEST_TMPDIR/userdata/notify"
  listen "$BATS_TEST_TMPDIR/userdata/notify/notify.sock"
  set_args "$BUNDLE" /bin/sh -c 'probe notify READY=1 && echo sent; sleep 1000'
  jq --arg src "$BATS_TEST_TMPDIR/userdata/notify" \
    '.mounts += [{destination: "/run/notify", type: "bind", source: $src, options: ["bind", "rprivate"]}]
     | .process.env += ["NOTIFY_SOCKET=/run/notify/notify.sock"]' \
    "$BUNDLE/config.json" >"$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  husk_env "" create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" n5 </dev/null >"$BATS_TEST_TMPDIR/out" 2>&1
  husk start n5
  ready n5
  [ "$(jq -r .d "$NLOG")" = "$(printf 'READY=1\nMAINPID=%s' "$(cat "$BATS_TEST_TMPDIR/pid")")" ]
  grep -qx sent "$BATS_TEST_TMPDIR/out"
  husk kill n5 KILL
  wait_status n5 stopped
  husk delete n5
}

@test "runc agrees: READY=1 arrives and MAINPID is the pid that state reports" {
  [ -x "$RUNC" ] || skip "runc ($RUNC) is not installed"
  [ "$(stat -L -c %i /proc/self/ns/pid)" -eq $((0xEFFFFFFC)) ] ||
    skip "the tests run outside the host's initial pid namespace: runc's pids cannot be compared"
  sock=$BATS_TEST_TMPDIR/notify.sock
  listen "$sock"
  set_args "$BUNDLE" /bin/sh -c 'probe notify READY=1; sleep 1000'
  # runc: its `run -d` returns once READY=1 came (READY=1 and MAINPID in two datagrams)
  mkdir -p "$BATS_TEST_TMPDIR/runc-root"
  env NOTIFY_SOCKET="$sock" timeout 120 "$RUNC" --root "$BATS_TEST_TMPDIR/runc-root" run -d --bundle "$BUNDLE" rn \
    </dev/null >/dev/null 2>&1
  rpid=$("$RUNC" --root "$BATS_TEST_TMPDIR/runc-root" state rn | jq -r .pid)
  wait_datagram "^MAINPID=$rpid\$" 10
  wait_datagram '^READY=1' 10
  "$RUNC" --root "$BATS_TEST_TMPDIR/runc-root" delete --force rn
  : >"$NLOG"
  # husk: one datagram
  husk_env "$sock" create --bundle "$BUNDLE" n6 </dev/null >/dev/null 2>&1
  husk start n6
  wait_datagram '^READY=1'
  hpid=$(husk state n6 | jq -r .pid)
  [ "$(jq -r .d "$NLOG")" = "$(printf 'READY=1\nMAINPID=%s' "$hpid")" ]
  husk kill n6 KILL
  wait_status n6 stopped
  husk delete n6
}
