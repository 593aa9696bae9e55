# Shared set-up for the end-to-end tests: each test file gets its own husk
# --root, a busybox bundle, and a check that nothing is left behind.
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
HUSK=$TOP/build/husk
PROBE=$TOP/build/probe

husk() {
  "$HUSK" --root "$HUSK_ROOT" "$@"
}

# make_bundle DIR ARG... : a bundle running ARG...
make_bundle() {
  local dir=$1
  shift
  "$TOP/scripts/make-bundle.sh" "$dir" "$@"
}

# set_args BUNDLE ARG... : replace process.args
set_args() {
  local bundle=$1
  shift
  local args
  args=$(printf '%s\n' "$@" | jq -R . | jq -s .)
  jq --argjson a "$args" '.process.args = $a' "$bundle/config.json" > "$bundle/config.json.new"
  mv "$bundle/config.json.new" "$bundle/config.json"
}

guest_release() {
  cat "$(dirname "$(readlink -f "$TOP/build/vmlinux")")/release"
}

common_setup() {
  HUSK_ROOT=$(mktemp -d /run/husk-test.XXXXXX)
  export HUSK_ROOT
  BUNDLE=$BATS_TEST_TMPDIR/bundle
  make_bundle "$BUNDLE" /bin/true
}

# processes whose command line mentions this test's state root
leftover_processes() {
  pgrep -af -- "$HUSK_ROOT" | grep -v -e "pgrep" -e "bats" || true
}

common_teardown() {
  local id
  for id in $(ls "$HUSK_ROOT" 2>/dev/null); do
    "$HUSK" --root "$HUSK_ROOT" delete --force "$id" >/dev/null 2>&1 || true
  done
  local left
  left=$(leftover_processes)
  rm -rf "$HUSK_ROOT"
  if [ -n "$left" ]; then
    echo "left behind: $left" >&2
    return 1
  fi
}

# wait_status ID STATUS [SECONDS]
wait_status() {
  local id=$1 want=$2 limit=${3:-60} i
  for ((i = 0; i < limit * 10; i++)); do
    if [ "$(husk state "$id" 2>/dev/null | jq -r .status)" = "$want" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "container $id never reached $want; state: $(husk state "$id" 2>&1)" >&2
  return 1
}
