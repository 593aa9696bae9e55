#!/usr/bin/env bats
# OCI hooks run on the host, at their moment of the lifecycle, with the
# container's state JSON on stdin.

load helpers

setup() {
  common_setup
  HOOKLOG=$BATS_TEST_TMPDIR/hooks.log
}
teardown() { common_teardown; }

# hook_script KIND [BODY]: a hook that saves its stdin to KIND.json and
# appends "KIND <status it saw>" to the log, then runs BODY
hook_script() {
  local kind=$1 body=${2:-true} f=$BATS_TEST_TMPDIR/hook-$1
  cat > "$f" <<EOF
#!/bin/sh
cat > "$BATS_TEST_TMPDIR/$kind.json"
echo "$kind \$(jq -r .status "$BATS_TEST_TMPDIR/$kind.json")" >> "$HOOKLOG"
$body
EOF
  chmod +x "$f"
  echo "$f"
}

# add_hook KIND PATH [TIMEOUT]
add_hook() {
  local kind=$1 path=$2 timeout=${3:-}
  local hook
  hook=$(jq -n --arg p "$path" --arg k "$kind" '{path: $p, args: [$p, $k]}')
  [ -n "$timeout" ] && hook=$(echo "$hook" | jq --argjson t "$timeout" '.timeout = $t')
  jq --arg k "$kind" --argjson h "$hook" '.hooks[$k] += [$h]' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}

nothing_left() {
  [ -z "$(ls -A "$HUSK_ROOT")" ]
  [ -z "$(leftover_processes)" ]
}

@test "every hook kind runs at its moment and sees the state on stdin" {
  set_args "$BUNDLE" /bin/sleep 2
  for kind in prestart createRuntime createContainer startContainer poststart poststop; do
    add_hook "$kind" "$(hook_script "$kind")" 10
  done
  husk create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" hk
  # create returns only after its hooks, in the spec's order
  [ "$(cat "$HOOKLOG")" = "$(printf 'prestart created\ncreateRuntime created\ncreateContainer created')" ]
  pid=$(cat "$BATS_TEST_TMPDIR/pid")
  [ "$(jq -r .id "$BATS_TEST_TMPDIR/createRuntime.json")" = hk ]
  [ "$(jq -r .pid "$BATS_TEST_TMPDIR/createRuntime.json")" = "$pid" ]
  [ "$(jq -r .bundle "$BATS_TEST_TMPDIR/createRuntime.json")" = "$(readlink -f "$BUNDLE")" ]
  [ "$(jq -r .ociVersion "$BATS_TEST_TMPDIR/createRuntime.json")" != null ]
  husk start hk
  [ "$(tail -n 2 "$HOOKLOG")" = "$(printf 'startContainer created\npoststart running')" ]
  wait_status hk stopped
  [ "$(wc -l < "$HOOKLOG")" -eq 5 ]
  husk delete hk
  [ "$(tail -n 1 "$HOOKLOG")" = "poststop stopped" ]
  [ "$(jq -r .pid "$BATS_TEST_TMPDIR/poststop.json")" = 0 ]
  nothing_left
}

@test "run: hooks in order, poststop once the container exited" {
  set_args "$BUNDLE" /bin/sh -c 'exit 3'
  for kind in prestart createRuntime createContainer startContainer poststart poststop; do
    add_hook "$kind" "$(hook_script "$kind")"
  done
  s=0; husk run --bundle "$BUNDLE" hrun || s=$?
  [ "$s" -eq 3 ]
  [ "$(cat "$HOOKLOG")" = "$(printf '%s\n' 'prestart created' 'createRuntime created' 'createContainer created' \
    'startContainer created' 'poststart running' 'poststop stopped')" ]
  nothing_left
}

@test "a failing prestart hook fails create with one line and leaves nothing" {
  add_hook prestart "$(hook_script prestart 'echo "no network for you" >&2; exit 7')"
  add_hook createRuntime "$(hook_script createRuntime)"
  run husk create --bundle "$BUNDLE" hbad
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == husk:*"hooks.prestart[0]"*"exited with status 7"*"no network for you"* ]]
  [ "$(cat "$HOOKLOG")" = "prestart created" ] # the next hook did not run
  nothing_left
}

@test "a failed create runs the poststop hooks, as runc's destroy does" {
  add_hook prestart "$(hook_script prestart 'exit 3')"
  add_hook poststop "$(hook_script poststop)"
  run husk create --bundle "$BUNDLE" hpost
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [ "$(cat "$HOOKLOG")" = "$(printf '%s\n' 'prestart created' 'poststop stopped')" ]
  [ "$(jq -r .id "$BATS_TEST_TMPDIR/poststop.json")" = hpost ]
  nothing_left

  # a container process that cannot start (the VM is up, no hook failed)
  rm -f "$HOOKLOG"
  make_bundle "$BUNDLE" /bin/no-such-program
  add_hook poststop "$(hook_script poststop)"
  run husk create --bundle "$BUNDLE" hpost2
  [ "$status" -ne 0 ]
  [[ "$output" == *no-such-program* ]]
  [ "$(cat "$HOOKLOG")" = "poststop stopped" ]
  nothing_left
}

@test "a missing hook binary fails create" {
  add_hook createContainer /nonexistent/hook
  run husk create --bundle "$BUNDLE" hmiss
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"hooks.createContainer[0] (/nonexistent/hook)"*"No such file"* ]]
  nothing_left
}

@test "a hook that sleeps past its timeout is killed and fails create" {
  add_hook createRuntime "$(hook_script createRuntime "echo \$\$ > $BATS_TEST_TMPDIR/sleeper; exec sleep 60")" 1
  start=$SECONDS
  run husk create --bundle "$BUNDLE" hslow
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"hooks.createRuntime[0]"*"timed out after 1 s"* ]]
  [ $((SECONDS - start)) -lt 30 ]
  [ ! -e "/proc/$(cat "$BATS_TEST_TMPDIR/sleeper")" ]
  nothing_left
}

@test "a bad hooks section is a one-line config.json error" {
  add_hook prestart relative/hook
  run husk create --bundle "$BUNDLE" hrel
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"config.json: hooks.prestart[0].path \"relative/hook\" must be absolute"* ]]
  nothing_left

  make_bundle "$BUNDLE" /bin/true
  add_hook poststop /bin/true 0
  run husk create --bundle "$BUNDLE" hzero
  [ "$status" -ne 0 ]
  [[ "$output" == *"config.json: hooks.poststop[0].timeout must be a positive number"* ]]
  nothing_left
}

@test "a failing startContainer hook fails start and stops the VM" {
  set_args "$BUNDLE" /bin/sleep 100
  add_hook startContainer "$(hook_script startContainer 'exit 1')"
  add_hook poststart "$(hook_script poststart)"
  husk create --bundle "$BUNDLE" hstart
  run husk start hstart
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"hooks.startContainer[0]"*"exited with status 1"* ]]
  wait_status hstart stopped 10
  [ "$(cat "$HOOKLOG")" = "startContainer created" ]
  husk delete hstart
  nothing_left
}

@test "failing poststart and poststop hooks only warn" {
  set_args "$BUNDLE" /bin/sleep 2
  add_hook poststart "$(hook_script poststart 'exit 1')"
  add_hook poststart "$(hook_script poststart2)"
  add_hook poststop "$(hook_script poststop 'exit 1')"
  husk create --bundle "$BUNDLE" hwarn
  husk start hwarn
  [ "$(cat "$HOOKLOG")" = "$(printf 'poststart running\npoststart2 running')" ]
  grep -q 'warning.*hooks.poststart\[0\].*exited with status 1' "$HUSK_ROOT/hwarn/monitor.log"
  wait_status hwarn stopped
  run husk delete hwarn
  [ "$status" -eq 0 ]
  [[ "$output" == *"hooks.poststop[0]"*"exited with status 1"* ]]
  [ "$(tail -n 1 "$HOOKLOG")" = "poststop stopped" ]
  nothing_left
}
