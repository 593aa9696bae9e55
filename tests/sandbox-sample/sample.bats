#!/usr/bin/env bats
# A sample suite using husk's bats library (tests/bats-lib/husk/load.bash, installed at
# /usr/local/lib/bats/husk/load.bash) as a user's CI suite would: one sandbox VM for the
# whole file, booted from a local busybox Podman image, every test's commands run in it.
# tests/run-all.sh runs it with the library as `make install` places it (into a temporary
# DESTDIR) and HUSK=build/husk; by hand, with the library in the tree:
#   BATS_LIB_PATH=$PWD/tests/bats-lib HUSK=$PWD/build/husk bats tests/sandbox-sample
bats_require_minimum_version 1.5.0
bats_load_library husk

IMAGE=localhost/husk-sample-busybox

setup_file() {
  # a busybox image (the e2e tests' busybox rootfs, imported) in a Podman store
  # of the suite's own, and a husk state dir of its own (not /run/husk): both
  # removed again in teardown_file. A user's suite names an image it has.
  SAMPLE_DIR=$(mktemp -d /tmp/husk-sample.XXXXXX)
  export SAMPLE_DIR
  "$BATS_TEST_DIRNAME/../../scripts/make-bundle.sh" "$SAMPLE_DIR/bundle" >/dev/null
  tar -C "$SAMPLE_DIR/bundle/rootfs" -cf "$SAMPLE_DIR/rootfs.tar" .
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' \
    "$SAMPLE_DIR/store/graph" "$SAMPLE_DIR/store/run" > "$SAMPLE_DIR/storage.conf"
  printf '[engine]\nevents_logger = "file"\nevents_logfile_path = "%s"\ncgroup_manager = "cgroupfs"\n' \
    "$SAMPLE_DIR/events.log" > "$SAMPLE_DIR/containers.conf"
  export CONTAINERS_STORAGE_CONF=$SAMPLE_DIR/storage.conf CONTAINERS_CONF=$SAMPLE_DIR/containers.conf
  podman import -q "$SAMPLE_DIR/rootfs.tar" "$IMAGE" >/dev/null
  mkdir "$SAMPLE_DIR/work"
  echo "from the host" > "$SAMPLE_DIR/work/in.txt"
  HUSK_ROOT=$(mktemp -d /run/husk-sample.XXXXXX)
  export HUSK_ROOT
  husk_sandbox_setup --image "$IMAGE" --work "$SAMPLE_DIR/work" --env SUITE=sample
}

teardown_file() {
  husk_sandbox_teardown
  podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
  local m
  for m in $(findmnt -rn -o TARGET | grep -F "$SAMPLE_DIR" | sort -r); do umount -l "$m" || true; done
  rm -rf "$SAMPLE_DIR"
  [ -z "${HUSK_ROOT:-}" ] || rmdir "$HUSK_ROOT"
}

@test "husk_run: a command's status and output, its environment and cwd" {
  husk_run sh -c 'echo "$SUITE"; pwd; uname -n'
  husk_assert_success
  husk_assert_output "$(printf 'sample\n/work\nsandbox')"
  [ "${#lines[@]}" -eq 3 ]
  [ "${lines[1]}" = /work ]
}

@test "husk_run --separate-stderr: stdout in \$output, stderr in \$stderr" {
  husk_run --separate-stderr sh -c 'echo out1; echo err1 >&2; echo out2; echo err2 >&2'
  husk_assert_success
  [ "$output" = "$(printf 'out1\nout2')" ]
  [ "$stderr" = "$(printf 'err1\nerr2')" ]
  [ "${stderr_lines[1]}" = err2 ]
  # without it both go to $output
  husk_run sh -c 'echo e >&2'
  husk_assert_output e
}

@test "husk_run -N and !: an expected failing status; a mismatch fails" {
  husk_run -3 sh -c 'echo no; exit 3'
  husk_assert_failure 3
  husk_assert_output no
  husk_run ! false
  husk_assert_failure
  # the wrong status: husk_run itself returns 1 and reports it
  run -1 --separate-stderr husk_run -3 true
  [[ "$stderr" == *"husk_run -3 true: status 0"* ]]
  # a command that is not in the rootfs: the shell's 127, as with bats' run
  husk_run -127 sh -c no-such-command
}

@test "files written in /work are the host's; writes to / stay in the sandbox" {
  husk_run sh -c 'cat in.txt; echo "written in the sandbox" > out.txt; echo kept > /etc/note'
  husk_assert_success
  husk_assert_output "from the host"
  [ "$(cat "$SAMPLE_DIR/work/out.txt")" = "written in the sandbox" ]
  local image_root
  image_root=$(podman image mount "$IMAGE")
  [ -d "$image_root/etc" ]
  [ ! -e "$image_root/etc/note" ]
  podman image unmount "$IMAGE" >/dev/null
  husk_run cat /etc/note
  husk_assert_output kept
}

@test "a failed assertion prints what failed and the sandbox's console tail" {
  local log=$HUSK_ROOT/sandbox-$HUSK_SANDBOX_NAME/console.log report=$BATS_TEST_TMPDIR/report rc
  [ -s "$log" ]
  husk_run sh -c 'echo this went wrong; exit 2'
  # each assertion must fail, and its report name the failure, show the output
  # and end with the console log's last lines
  rc=0
  husk_assert_success 2> "$report" || rc=$?
  cat "$report"
  [ "$rc" -eq 1 ]
  grep -qxF "husk_assert_success: expected status 0, got 2" "$report"
  grep -qxF "this went wrong" "$report"
  grep -qxF -- "-- last 20 lines of $log:" "$report"
  [ "$(tail -n 1 "$report")" = "$(tail -n 1 "$log")" ]
  rc=0
  husk_assert_output --partial "not there" 2> "$report" || rc=$?
  [ "$rc" -eq 1 ]
  grep -qxF "husk_assert_output: expected the output to contain: not there" "$report"
  grep -qxF -- "-- last 20 lines of $log:" "$report"
  # and they pass, silently, when they should
  husk_assert_failure 2 2> "$report"
  husk_assert_output --partial "went wrong" 2>> "$report"
  [ ! -s "$report" ]
}

@test "husk_sandbox_teardown: the sandbox, its VM and its image mount go, a second call does nothing" {
  [ -n "$(podman image mount)" ]
  husk_sandbox_teardown
  [ -z "$(ls -A "$HUSK_ROOT")" ]
  [ -z "$(pgrep -f -- "$HUSK_ROOT" || true)" ]
  [ -z "$(podman image mount)" ]
  husk_sandbox_teardown
  run "${HUSK:-husk}" --root "$HUSK_ROOT" sandbox exec "$HUSK_SANDBOX_NAME" -- true
  [ "$status" -ne 0 ]
}
