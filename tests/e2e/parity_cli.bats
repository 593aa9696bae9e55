#!/usr/bin/env bats
# runc parity of the command line (issue 18, items 7, 9, 10, 11) and guest
# text escaped on the host (issue 14, item 7): each case runs under Debian's
# runc where runc applies, and the two must agree; husk's own facts are
# asserted beside.

load helpers

RUNC=${RUNC:-/usr/sbin/runc}

setup() {
  common_setup
  RUNC_ROOT=$(mktemp -d /run/husk-test-runc.XXXXXX)
}

teardown() {
  local id
  if [ -x "$RUNC" ]; then
    for id in $("$RUNC" --root "$RUNC_ROOT" list -q 2>/dev/null); do
      "$RUNC" --root "$RUNC_ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$RUNC_ROOT"
  common_teardown
}

have_runc() { [ -x "$RUNC" ]; }
runc() { "$RUNC" --root "$RUNC_ROOT" "$@"; }

# husk's one-line errors
one_line_error() {
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == husk:* ]]
}

# RT ID ARG... : a created container running ARG... (RT: husk or runc)
create_in() {
  local rt=$1 id=$2
  shift 2
  local b=$BATS_TEST_TMPDIR/$rt-$id
  make_bundle "$b" "$@"
  "$rt" create --bundle "$b" "$id" </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/$rt-$id.err" ||
    { cat "$BATS_TEST_TMPDIR/$rt-$id.err"; return 1; }
}

wait_runc_stopped() {
  local i
  for i in $(seq 100); do
    [ "$(runc state "$1" | jq -r .status)" = stopped ] && return 0
    sleep 0.1
  done
  return 1
}

# --- item 7: delete --force, kill 0 -------------------------------------

@test "delete --force of a container that does not exist exits 0; plain delete fails (as runc)" {
  run husk delete --force nothere
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run husk delete nothere
  one_line_error
  [[ "$output" == *'"nothere" does not exist'* ]]
  # an invalid id is still an error, forced or not
  run husk delete --force '../x'
  [ "$status" -ne 0 ]
  if have_runc; then
    run runc delete --force nothere
    [ "$status" -eq 0 ]
    run runc delete nothere
    [ "$status" -ne 0 ]
  fi
}

@test "kill ID 0 checks liveness: created and running 0, stopped and missing non-zero (as runc)" {
  create_in husk k0 /bin/sleep 600
  husk kill k0 0
  husk start k0
  husk kill k0 0
  [ "$(husk state k0 | jq -r .status)" = running ] # signal 0 signalled nothing
  husk kill k0 KILL
  wait_status k0 stopped
  run husk kill k0 0
  one_line_error
  [[ "$output" == *"not running"* ]]
  run husk kill nothere 0
  one_line_error
  run husk kill k0 -1
  one_line_error
  husk delete k0
  if have_runc; then
    create_in runc k0 /bin/sleep 600
    runc kill k0 0
    runc start k0
    runc kill k0 0
    runc kill k0 KILL
    wait_runc_stopped k0
    run runc kill k0 0
    [ "$status" -ne 0 ]
    run runc kill nothere 0
    [ "$status" -ne 0 ]
  fi
}

# --- item 10: state and list JSON ---------------------------------------

@test "state and list: runc's keys in runc's order; list names the owner" {
  local keys='["ociVersion","id","pid","status","bundle","rootfs","created","owner"]'
  create_in husk st /bin/sleep 600
  [ "$(husk state st | jq -c keys_unsorted)" = "$keys" ]
  [ "$(husk state st | jq -r .owner)" = "" ]
  [ "$(husk list --format json | jq -c '.[0] | keys_unsorted')" = "$keys" ]
  [ "$(husk list --format json | jq -r '.[0].owner')" = "$(stat -c %U "$HUSK_ROOT/st")" ]
  run husk list
  [[ "${lines[0]}" =~ ^ID\ +PID\ +STATUS\ +BUNDLE\ +CREATED\ +OWNER$ ]]
  [[ "${lines[1]}" =~ ^st\ +[0-9]+\ +created\ +/.*\ +root$ ]]
  husk delete --force st
  # no container: runc prints null
  [ "$(husk list --format json)" = null ]
  if have_runc; then
    create_in runc st /bin/sleep 600
    [ "$(runc state st | jq -c keys_unsorted)" = "$keys" ]
    [ "$(runc list --format json | jq -c '.[0] | keys_unsorted')" = "$keys" ]
    [ "$(runc list --format json | jq -r '.[0].owner')" = root ]
    runc delete --force st
    [ "$(runc list --format json)" = null ]
  fi
}

# --- item 9 and issue 14 item 7: ps -------------------------------------

@test "ps: arguments after the id, host pids in json, guest text escaped, a stopped container" {
  # a shell that stays (sleep is not its last command) with an escape
  # sequence in its command line
  create_in husk ps /bin/sh -c "sleep 600; : $(printf '\033')[2J"
  # a created container's parked process is listed, as runc lists its init
  run husk ps ps
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -ge 2 ]
  husk start ps
  local pid
  pid=$(husk state ps | jq .pid)
  for i in $(seq 50); do husk ps ps | grep -q 'sleep 600$' && break; sleep 0.1; done
  run husk ps ps -e -x
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^PID\ +PPID\ +UID\ +CMD$ ]]
  [[ "$output" == *'/bin/sh -c sleep 600; : \x1b[2J'* ]]
  [[ "$output" != *$'\033'* ]]
  for a in -e -A -x a x -ef -eA; do husk ps ps "$a" >/dev/null; done
  run husk ps ps -o pid
  one_line_error
  [[ "$output" == *'"-o"'* ]]
  # json: runc's contract, the host pids of the container: its monitor
  [ "$(husk ps --format json ps)" = "[$pid]" ]
  [ -d "/proc/$pid" ]
  # an error the guest wrote reaches the terminal escaped
  run husk exec ps "/no$(printf '\033')[31mpe"
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *'/no\x1b[31mpe'* ]]
  [[ "$output" != *$'\033'* ]]
  husk kill ps KILL
  wait_status ps stopped
  run husk ps ps
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" =~ ^PID\ +PPID\ +UID\ +CMD$ ]]
  [ "$(husk ps --format json ps)" = null ]
  if have_runc; then
    create_in runc ps /bin/sleep 600
    runc start ps
    runc ps ps -e -x >/dev/null
    [ "$(runc ps --format json ps)" = "[$(runc state ps | jq .pid)]" ]
    runc kill ps KILL
    wait_runc_stopped ps
    run runc ps ps
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "$(runc ps --format json ps)" = null ]
  fi
}

# --- item 10: help, unknown commands, logging ---------------------------

@test "help, COMMAND -h and unknown commands: runc's exit codes and streams" {
  local rt
  for rt in husk $(have_runc && echo runc); do
    run "$rt" -h
    [ "$status" -eq 0 ]
    run "$rt" # no command prints the help too
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -gt 5 ]
    run "$rt" state -h
    [ "$status" -eq 0 ]
    run "$rt" help state
    [ "$status" -eq 0 ]
    [[ "$output" == *state* ]]
    for args in "foo -h" "foo" "help foo"; do
      # shellcheck disable=SC2086
      run "$rt" $args
      echo "$rt $args: $status $output"
      [ "$status" -eq 3 ]
    done
  done
  run husk foo
  [ "$output" = 'husk: no such command "foo" (see husk --help)' ]
  # help to stdout, nothing on stderr
  [ -z "$(husk -h 2>&1 >/dev/null)" ]
  [ -n "$(husk 2>/dev/null)" ]
}

@test "--log: logrus text lines (time=, level=, msg=), as runc writes them" {
  echo '{' > "$BUNDLE/config.json"
  run husk --log "$BATS_TEST_TMPDIR/husk.log" create --bundle "$BUNDLE" badcfg
  one_line_error
  local line
  line=$(tail -n 1 "$BATS_TEST_TMPDIR/husk.log")
  echo "$line"
  [[ "$line" =~ ^time=\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\"\ level=error\ msg=\".*config.json.*\"$ ]]
  if have_runc; then
    run runc --log "$BATS_TEST_TMPDIR/runc.log" create --bundle "$BUNDLE" badcfg
    [ "$status" -ne 0 ]
    line=$(tail -n 1 "$BATS_TEST_TMPDIR/runc.log")
    echo "$line"
    [[ "$line" =~ ^time=\"[^\"]+\"\ level=error\ msg=\" ]]
  fi
}

@test "--debug without --log: the monitor's debug lines on stderr until the container is created" {
  set_args "$BUNDLE" /bin/sh -c 'echo from-the-container >&2; sleep 600'
  husk --debug create --bundle "$BUNDLE" dbg </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/err"
  cat "$BATS_TEST_TMPDIR/err"
  grep -qE '^time="[^"]+" level=debug msg="qemu spawned, pid [0-9]+, uid [0-9]+" id=dbg$' "$BATS_TEST_TMPDIR/err"
  grep -qE '^time="[^"]+" level=info msg="created: kernel [^"]+" id=dbg$' "$BATS_TEST_TMPDIR/err"
  # the monitor.log has them as well
  grep -q 'level=debug msg="qemu spawned' "$HUSK_ROOT/dbg/monitor.log"
  husk start dbg
  for i in $(seq 50); do grep -q from-the-container "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  grep -q from-the-container "$BATS_TEST_TMPDIR/err"
  # after create, stderr is the container's alone
  ! sed -n '/from-the-container/,$p' "$BATS_TEST_TMPDIR/err" | grep -q 'level='
  husk delete --force dbg
}

# --- item 11: update -r and device access -------------------------------

@test "update -r reads keys as Go does: case-insensitive, per level; real-time refused before any container is asked" {
  # keys that match reach the container lookup; nothing matched is nothing to update
  local doc
  for doc in '{"CPU":{"Cpus":"0"}}' '{"memory":{"LIMIT":1048576}}' '{"Pids":{"Limit":10}}' \
    '{"cpu":{"shares":2},"CPU":{"SHARES":4}}'; do
    run husk update -r - nothere <<<"$doc"
    echo "$doc: $output"
    one_line_error
    [[ "$output" == *'"nothere" does not exist'* ]]
  done
  for doc in '{"Bogus":{"Cpus":"0"}}' '{"memory":{"limitx":1}}' '{"Cpu":{"RealtimeRuntime":0}}'; do
    run husk update -r - nothere <<<"$doc"
    echo "$doc: $output"
    one_line_error
    [[ "$output" == *"nothing to update"* ]]
  done
  for doc in '{"cpu":{"realtimeRuntime":950000}}' '{"CPU":{"RealtimePeriod":1000000}}'; do
    run husk update -r - nothere <<<"$doc"
    echo "$doc: $output"
    one_line_error
    [[ "$output" == *"real-time group scheduling"* ]]
  done
  run husk update --cpu-rt-runtime 1000 nothere
  one_line_error
}

@test "ps arguments are checked before the container is: the ones that change the format are refused" {
  run husk ps nothere -e -x -ef
  one_line_error
  [[ "$output" == *'"nothere" does not exist'* ]]
  local a
  for a in -o u -l aux --sort; do
    run husk ps nothere "$a"
    echo "$a: $output"
    one_line_error
    [[ "$output" == *"\"$a\""*"not supported"* ]]
  done
  run husk ps
  one_line_error
}

@test "update -r: keys match case-insensitively; real-time budgets refused; device access rwa accepted" {
  # /dev/kmsg (c 1:11) is not among runc's default rules: only the rule
  # with "rwa" lets the container write it
  local rules='[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":11,"access":"rwa"}]'
  jq --argjson r "$rules" '.linux.resources.devices = $r |
    .linux.devices = [{"path":"/dev/kmsg","type":"c","major":1,"minor":11,"fileMode":384}]' \
    "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  set_args "$BUNDLE" /bin/sleep 600
  husk create --bundle "$BUNDLE" up </dev/null >/dev/null
  husk start up
  # "rwa" is rw (the a grants nothing, as runc reads it)
  [ "$(husk exec up /bin/sh -c 'echo parity-cli > /dev/kmsg && echo written')" = written ]
  echo '{"Memory":{"Limit":67108864},"CPU":{"Shares":512}}' | husk update -r - up
  [ "$(husk events --stats up | jq .data.memory.usage.limit)" -eq 67108864 ]
  echo '{"memory":{"LIMIT":100663296}}' > "$BATS_TEST_TMPDIR/res.json"
  husk update -r "$BATS_TEST_TMPDIR/res.json" up
  [ "$(husk events --stats up | jq .data.memory.usage.limit)" -eq 100663296 ]
  run husk update -r - up <<<'{"cpu":{"realtimeRuntime":1000,"realtimePeriod":100000}}'
  one_line_error
  [[ "$output" == *"realtimeRuntime"*"real-time group scheduling"* ]]
  # nothing set is still nothing to update
  run husk update -r - up <<<'{"Cpu":{"RealtimeRuntime":0}}'
  one_line_error
  [[ "$output" == *"nothing to update"* ]]
  husk delete --force up
  if have_runc; then
    # the same rule on /dev/null (runc's container writing the host's kmsg is not wanted)
    rules='[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rwa"}]'
    make_bundle "$BATS_TEST_TMPDIR/rb" /bin/sleep 600
    jq --argjson r "$rules" '.linux.resources.devices = $r' "$BATS_TEST_TMPDIR/rb/config.json" > "$BATS_TEST_TMPDIR/c.json"
    mv "$BATS_TEST_TMPDIR/c.json" "$BATS_TEST_TMPDIR/rb/config.json"
    runc run -d --bundle "$BATS_TEST_TMPDIR/rb" up </dev/null >/dev/null 2>&1
    [ "$(runc exec up /bin/sh -c 'echo x > /dev/null && echo written')" = written ]
    echo '{"Memory":{"Limit":67108864},"CPU":{"Shares":512}}' | runc update -r - up
    [ "$(runc events --stats up | jq .data.memory.usage.limit)" -eq 67108864 ]
  fi
}
