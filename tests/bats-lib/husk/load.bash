# shellcheck shell=bash
# husk's bats helper library: run a test file's commands in one husk sandbox VM.
#
# Installed by `make install` at $(PREFIX)/lib/bats/husk/load.bash (/usr/local/lib/bats/husk/).
# Load it with
#     bats_load_library husk
# and bats' BATS_LIB_PATH naming that directory's parent (Debian's bats 1.8 defaults to
# /usr/lib/bats only: run `BATS_LIB_PATH=/usr/local/lib/bats bats tests/`).
#
# Settings (environment, read when a function runs):
#   HUSK                 the husk binary (default: `husk` on PATH)
#   HUSK_ROOT            husk's state directory, passed as --root (unset: husk's default, /run/husk)
#   HUSK_SANDBOX_ROOTFS  the rootfs of husk_sandbox_setup when its options name neither
#                        --rootfs nor --image
#   HUSK_CONSOLE_LINES   how many lines of the console log a failed assertion prints (default 20)
#
# Functions:
#   husk_sandbox_setup [START OPTIONS...]   in setup_file: `husk sandbox start` of a sandbox named
#       after the test file and the bats process (<file>-<pid>), with the options given
#       (--rootfs DIR, --work DIR, --memory MIB, --cpus N, --env K=V, --read-only; see
#       docs/sandbox.md). Exports HUSK_SANDBOX_NAME (the name), so the tests see it. Returns 1 with
#       husk's message when the sandbox does not start.
#   husk_sandbox_teardown   in teardown_file: `husk sandbox stop`; the VM and its state go.
#       Does nothing when the sandbox is already gone, so it may be called twice.
#   husk_run [!|-N] [--separate-stderr] [--keep-empty-lines] [--] CMD [ARG...]
#       bats' `run`, with CMD run in the sandbox by `husk sandbox exec` (cwd /work, the
#       sandbox's environment): sets $status, $output, $lines, and with --separate-stderr
#       $stderr and $stderr_lines. `!` expects a non-zero status, `-N` status N; a mismatch
#       fails the test with the console tail printed.
#   husk_assert_success            $status is 0
#   husk_assert_failure [N]        $status is not 0 (is N)
#   husk_assert_output [--partial] TEXT   $output is TEXT (contains TEXT)
#       On failure each prints what was expected, the status, $output (and $stderr) of the
#       last husk_run, and the tail of the sandbox's console log
#       (<root>/sandbox-<name>/console.log, or the pool VM's when it
#       started in one), then returns 1.
#   husk_console_tail [N]          prints the last N lines of that console log.
#
# A file using it:
#     bats_require_minimum_version 1.5.0
#     bats_load_library husk
#     setup_file() { husk_sandbox_setup --rootfs /srv/rootfs/ci --work "$BATS_FILE_TMPDIR"; }
#     teardown_file() { husk_sandbox_teardown; }
#     @test "make works" { husk_run make -v; husk_assert_success; }

# husk with --root when HUSK_ROOT is set
_husk() {
  if [[ -n ${HUSK_ROOT:-} ]]; then
    "${HUSK:-husk}" --root "$HUSK_ROOT" "$@"
  else
    "${HUSK:-husk}" "$@"
  fi
}

# the sandbox's state directory (its console.log is there)
_husk_sandbox_dir() {
  printf '%s/sandbox-%s' "${HUSK_ROOT:-/run/husk}" "${HUSK_SANDBOX_NAME:?husk: no sandbox (call husk_sandbox_setup in setup_file)}"
}

husk_sandbox_setup() {
  local base opt have_rootfs=
  base=$(basename "${BATS_TEST_FILENAME:-bats}" .bats)
  base=${base//[^A-Za-z0-9_-]/_}
  export HUSK_SANDBOX_NAME="${base:0:40}-$$"
  for opt in "$@"; do
    case $opt in --rootfs | --rootfs=* | --image | --image=*) have_rootfs=1 ;; esac
  done
  local -a args=(sandbox start --name "$HUSK_SANDBOX_NAME")
  if [[ -z $have_rootfs ]]; then
    if [[ -z ${HUSK_SANDBOX_ROOTFS:-} ]]; then
      echo "husk_sandbox_setup: no rootfs: pass --rootfs DIR or set HUSK_SANDBOX_ROOTFS" >&2
      return 1
    fi
    args+=(--rootfs "$HUSK_SANDBOX_ROOTFS")
  fi
  args+=("$@")
  local out
  if ! out=$(_husk "${args[@]}" 2>&1); then
    echo "husk_sandbox_setup: husk ${args[*]} failed:" >&2
    printf '%s\n' "$out" >&2
    return 1
  fi
}

husk_sandbox_teardown() {
  [[ -n ${HUSK_SANDBOX_NAME:-} ]] || return 0
  [[ -d $(_husk_sandbox_dir) ]] || return 0
  local out
  if ! out=$(_husk sandbox stop "$HUSK_SANDBOX_NAME" 2>&1); then
    echo "husk_sandbox_teardown: husk sandbox stop $HUSK_SANDBOX_NAME failed:" >&2
    printf '%s\n' "$out" >&2
    return 1
  fi
}

# the VM's console log: in the sandbox's state directory, or in the pool
# VM's directory (state.json's vm_dir) when it started in a pool VM
_husk_console_log() {
  local dir vm
  dir=$(_husk_sandbox_dir)
  vm=$(tr -d '\n' <"$dir/state.json" 2>/dev/null | sed -n 's/.*"vm_dir": *"\([^"]*\)".*/\1/p')
  printf '%s/console.log' "${vm:-$dir}"
}

husk_console_tail() {
  local n=${1:-${HUSK_CONSOLE_LINES:-20}} log
  log=$(_husk_console_log)
  if [[ -r $log ]]; then
    echo "-- last $n lines of $log:"
    tail -n "$n" "$log"
  else
    echo "-- no console log at $log"
  fi
}

# the command husk_run hands to bats' run; stdin is passed on unless it is a
# terminal (exec would then give the command one, merging its stderr into stdout)
_husk_exec() {
  if [[ -t 0 ]]; then
    _husk sandbox exec "$HUSK_SANDBOX_NAME" -- "$@" </dev/null
  else
    _husk sandbox exec "$HUSK_SANDBOX_NAME" -- "$@"
  fi
}

husk_run() {
  local -a flags=()
  while [[ $# -gt 0 && ($1 == -* || $1 == '!') ]]; do
    if [[ $1 == -- ]]; then
      shift
      break
    fi
    flags+=("$1")
    shift
  done
  if [[ $# -eq 0 ]]; then
    echo "husk_run: no command" >&2
    return 1
  fi
  : "${HUSK_SANDBOX_NAME:?husk_run: no sandbox (call husk_sandbox_setup in setup_file)}"
  if ! run "${flags[@]}" _husk_exec "$@"; then
    _husk_report "husk_run ${flags[*]} $*: status $status${BATS_ERROR_SUFFIX:+ (${BATS_ERROR_SUFFIX#, })}"
    return 1
  fi
}

# what failed, the last husk_run's results, the console tail; on stderr (bats shows it)
_husk_report() {
  {
    echo "$1"
    echo "-- status: ${status-}"
    echo "-- output:"
    printf '%s\n' "${output-}"
    if [[ -n ${stderr+x} ]]; then
      echo "-- stderr:"
      printf '%s\n' "$stderr"
    fi
    husk_console_tail "${HUSK_CONSOLE_LINES:-20}"
  } >&2
}

husk_assert_success() {
  [[ ${status-} == 0 ]] && return 0
  _husk_report "husk_assert_success: expected status 0, got ${status-unset}"
  return 1
}

husk_assert_failure() {
  if [[ $# -gt 0 ]]; then
    [[ ${status-} == "$1" ]] && return 0
    _husk_report "husk_assert_failure: expected status $1, got ${status-unset}"
  else
    [[ -n ${status-} && $status != 0 ]] && return 0
    _husk_report "husk_assert_failure: expected a non-zero status, got ${status-unset}"
  fi
  return 1
}

husk_assert_output() {
  local partial=
  if [[ ${1-} == --partial ]]; then
    partial=1
    shift
  fi
  if [[ $# -ne 1 ]]; then
    echo "husk_assert_output: usage: husk_assert_output [--partial] TEXT" >&2
    return 1
  fi
  if [[ -n $partial ]]; then
    [[ ${output-} == *"$1"* ]] && return 0
    _husk_report "husk_assert_output: expected the output to contain: $1"
  else
    [[ ${output-} == "$1" ]] && return 0
    _husk_report "husk_assert_output: expected the output: $1"
  fi
  return 1
}
