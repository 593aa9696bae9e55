#!/usr/bin/env bats
# Bad input gets one clear error line, a non-zero exit and leaves nothing.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

one_line_error() {
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == husk:* ]]
}

nothing_left() {
  [ -z "$(ls -A "$HUSK_ROOT")" ]
  [ -z "$(leftover_processes)" ]
}

@test "broken config.json" {
  echo '{"ociVersion": "1.0.2", "process": ' > "$BUNDLE/config.json"
  run husk create --bundle "$BUNDLE" broken
  one_line_error
  [[ "$output" == *config.json* ]]
  nothing_left
}

@test "config.json without process.args" {
  jq 'del(.process.args)' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  run husk create --bundle "$BUNDLE" noargs
  one_line_error
  [[ "$output" == *process.args* ]]
  nothing_left
}

@test "missing rootfs" {
  rm -rf "$BUNDLE/rootfs"
  run husk create --bundle "$BUNDLE" norootfs
  one_line_error
  [[ "$output" == *rootfs* ]]
  nothing_left
}

@test "missing bundle" {
  run husk create --bundle /nonexistent/bundle nobundle
  one_line_error
  nothing_left
}

@test "an executable that does not exist fails at create" {
  set_args "$BUNDLE" /bin/no-such-program
  run husk create --bundle "$BUNDLE" noexec
  one_line_error
  [[ "$output" == *no-such-program* ]]
  nothing_left
}

@test "unknown verb" {
  run husk frobnicate
  one_line_error
  [[ "$output" == *frobnicate* ]]
}

@test "unknown flag" {
  run husk create --bogus-flag --bundle "$BUNDLE" x
  one_line_error
  nothing_left
}

@test "unknown id for state, start, kill and delete" {
  for verb in state start kill delete; do
    run husk $verb ghost
    one_line_error
    [[ "$output" == *"does not exist"* ]]
  done
}

@test "invalid id" {
  run husk create --bundle "$BUNDLE" "../escape"
  one_line_error
  nothing_left
}

@test "duplicate id" {
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" dup </dev/null >/dev/null 2>&1
  run husk create --bundle "$BUNDLE" dup
  one_line_error
  [[ "$output" == *"already exists"* ]]
  [ "$(husk state dup | jq -r .status)" = "created" ]
  husk delete --force dup
}

@test "missing kernel" {
  HUSK_KERNEL=/nonexistent/vmlinux run husk create --bundle "$BUNDLE" nokernel
  one_line_error
  [[ "$output" == *"/nonexistent/vmlinux"* ]]
  nothing_left
}

@test "bad signal name" {
  run husk kill whatever SIGNOPE
  one_line_error
}

@test "a bad value in the config file" {
  printf '[vm]\naccel = warp\n' > "$BATS_TEST_TMPDIR/husk.conf"
  HUSK_CONFIG=$BATS_TEST_TMPDIR/husk.conf run husk create --bundle "$BUNDLE" badconf
  one_line_error
  [[ "$output" == *accel* ]]
  nothing_left
}

@test "checkpoint and restore say why they cannot work" {
  run husk checkpoint anything
  one_line_error
  [[ "$output" == *virtio-fs* ]]
  run husk restore anything
  one_line_error
}

@test "--help on every verb and --version" {
  for verb in create start run state kill delete list config exec ps pause resume update events features spec checkpoint restore; do
    run husk $verb --help
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "usage: husk $verb"* ]]
  done
  run husk --version
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "husk version "* ]]
}

@test "husk config names where each value comes from" {
  printf '[vm]\nvcpus = 2\n' > "$BATS_TEST_TMPDIR/husk.conf"
  HUSK_CONFIG=$BATS_TEST_TMPDIR/husk.conf HUSK_MEMORY_MIB=300 run husk config
  [ "$status" -eq 0 ]
  [[ "$output" == *"vcpus = 2"*"file $BATS_TEST_TMPDIR/husk.conf"* ]]
  [[ "$output" == *"memory_mib = 300"*"env HUSK_MEMORY_MIB"* ]]
  [[ "$output" == *"accel = auto"*"default"* ]]
}

@test "--log-format json writes runc-style error lines to --log" {
  echo '{' > "$BUNDLE/config.json"
  run "$HUSK" --root "$HUSK_ROOT" --log "$BATS_TEST_TMPDIR/log.json" --log-format json create --bundle "$BUNDLE" jsonlog
  [ "$status" -ne 0 ]
  line=$(tail -n 1 "$BATS_TEST_TMPDIR/log.json")
  [ "$(echo "$line" | jq -r .level)" = "error" ]
  [[ "$(echo "$line" | jq -r .msg)" == *config.json* ]]
  [ -n "$(echo "$line" | jq -r .time)" ]
}

@test "delete --force clears the directory of a create that died early" {
  mkdir "$HUSK_ROOT/halfmade"
  run husk delete halfmade
  [ "$status" -ne 0 ]
  husk delete --force halfmade
  [ ! -e "$HUSK_ROOT/halfmade" ]
}

@test "a corrupt state.json: state says so, delete --force removes it" {
  mkdir "$HUSK_ROOT/corrupt"
  echo '{"id": ' > "$HUSK_ROOT/corrupt/state.json"
  run husk state corrupt
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *corrupt* ]]
  husk delete --force corrupt
  [ ! -e "$HUSK_ROOT/corrupt" ]
}

# a stand-in for QEMU or virtiofsd that says why it fails, as the real ones do
failing_program() { # failing_program PATH MESSAGE
  printf '#!/bin/sh\necho "%s" >&2\nexit 1\n' "$2" > "$1"
  chmod 755 "$1"
}

@test "qemu failing at start: its own reason ends the error" {
  failing_program "$BATS_TEST_TMPDIR/qemu" "qemu-system-x86_64: -chardev socket: something is wrong on purpose"
  HUSK_QEMU=$BATS_TEST_TMPDIR/qemu run husk run --bundle "$BUNDLE" badqemu </dev/null
  one_line_error
  [[ "$output" == *"qemu exited during boot (status 1): qemu-system-x86_64: -chardev socket: something is wrong on purpose" ]]
  nothing_left
}

@test "virtiofsd failing at start: its own reason ends the error" {
  failing_program "$BATS_TEST_TMPDIR/virtiofsd" "virtiofsd: cannot share this on purpose"
  HUSK_VIRTIOFSD=$BATS_TEST_TMPDIR/virtiofsd run husk run --bundle "$BUNDLE" badvfs </dev/null
  one_line_error
  [[ "$output" == *"virtiofsd exited at start (status 1): virtiofsd: cannot share this on purpose" ]]
  nothing_left
}

@test "qemu failing after boot: the monitor's log has its reason and the console tail" {
  # QEMU boots the real guest, then the wrapper says why it went. The
  # wrapper takes a second to exit after QEMU's end has closed the guest
  # session: the session's end, seen first, must not hide QEMU's status
  # (the monitor used to kill the wrapper and log "the guest session ended")
  cat > "$BATS_TEST_TMPDIR/qemu" <<EOS
#!/bin/sh
$(command -v qemu-system-x86_64) "\$@"
sleep 1
echo "qemu-system-x86_64: gone on purpose" >&2
exit 3
EOS
  chmod 755 "$BATS_TEST_TMPDIR/qemu"
  make_bundle "$BUNDLE" /bin/sleep 600
  HUSK_QEMU=$BATS_TEST_TMPDIR/qemu husk --log "$BATS_TEST_TMPDIR/q.log" create --bundle "$BUNDLE" qlate </dev/null
  husk start qlate
  # the wrapper outlives QEMU: kill QEMU itself, not the wrapper's shell
  pkill -9 -f "^$(command -v qemu-system-x86_64).*$HUSK_ROOT/qlate/"
  wait_status qlate stopped 30
  grep -q "qemu exited before the container did (status 3): qemu-system-x86_64: gone on purpose; console: " \
    "$BATS_TEST_TMPDIR/q.log"
  husk delete qlate
}

# QEMU runs with no capabilities: as uid 0 it cannot search a directory
# whose mode grants its owner no x (another tool left /run/containerd 0600)
@test "--root under a 0600 and under a 0700 parent works" {
  local mode parent
  for mode in 0600 0700; do
    parent=$HUSK_ROOT/parent-$mode
    mkdir -p "$parent"
    chmod "$mode" "$parent"
    run "$HUSK" --root "$parent/runc/default" run --bundle "$BUNDLE" "under-$mode" </dev/null
    [ "$status" -eq 0 ]
    [ -z "$(ls -A "$parent/runc/default" 2>/dev/null)" ]
  done
}
