#!/usr/bin/env bash
# The spec conformance test: each case (cases/NAME.jq, a jq filter applied
# to the base config.json of scripts/make-bundle.sh) runs the probe's
# report (tests/probe/report.c) under runc and under husk; the two reports,
# with the allowed VM differences of allow.jq taken out, must be equal.
#
# Usage: tests/conformance/run.sh [CASE...]     (default: every case)
# Env:   HUSK (default build/husk), HUSK_ROOT (husk --root; default a new
#        temp dir), RUNC (default /usr/sbin/runc), KEEP=1 keeps work dirs.
# Prints "ok CASE" or "FAIL CASE" with the reason and the difference;
# exits 1 if any case failed.
#
# A case's filter sees $fix, a host directory made for it with dir/ (a
# directory with a file), file (a file) and, when the filter mentions
# "$fix/shm", shm/ (a 16 MiB host tmpfs, as Docker's --shm-size makes).
# A case named exec-* runs the probe with `exec --process` in a running
# container instead of as the container's process.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
HUSK=${HUSK:-$top/build/husk}
RUNC=${RUNC:-/usr/sbin/runc}
own_root=
if [ -z "${HUSK_ROOT:-}" ]; then
  HUSK_ROOT=$(mktemp -d /run/husk-conf.XXXXXX)
  own_root=1
fi

fail() { echo "FAIL $name: $*"; }

# run_one RUNTIME-ARGV... : runs the bundle in $work/$rt, report in $work/$rt.json
run_one() {
  local rt=$1
  shift
  local s=0
  timeout 300 "$@" </dev/null >"$work/$rt.json" 2>"$work/$rt.err" || s=$?
  if [ "$s" -ne 0 ]; then
    fail "$rt exited with status $s: $(tail -n 3 "$work/$rt.err" | tr '\n' ' ')"
    return 1
  fi
  if ! jq -e 'type == "object"' "$work/$rt.json" >/dev/null 2>&1; then
    fail "$rt: the probe's report is not JSON: $(head -c 300 "$work/$rt.json")"
    return 1
  fi
}

# run_in RT CLI... : the probe's report from runtime RT (runc or husk; CLI
# is its argv up to the verb) in $work/RT.json. An exec-* case runs the
# probe with `exec --process` in the running container (whose own process
# sleeps), so exec'd processes are compared too.
run_in() {
  local rt=$1
  shift
  local id=conf-$name-$$ r=0
  if [[ $name != exec-* ]]; then
    run_one "$rt" "$@" run --bundle "$work/$rt" "$id" || r=1
  elif ! { timeout 300 "$@" create --bundle "$work/$rt" "$id" </dev/null >/dev/null 2>"$work/$rt.err" &&
    timeout 60 "$@" start "$id" </dev/null >/dev/null 2>>"$work/$rt.err"; }; then
    fail "$rt could not create and start the container: $(tail -n 3 "$work/$rt.err" | tr '\n' ' ')"
    r=1
  else
    run_one "$rt" "$@" exec --process "$work/process.json" "$id" || r=1
  fi
  "$@" delete --force "$id" >/dev/null 2>&1
  return $r
}

run_case() {
  name=$1
  local filter=$here/cases/$name.jq
  [ -f "$filter" ] || { fail "no such case ($filter)"; return 1; }
  work=$(mktemp -d /tmp/husk-conf-case.XXXXXX)
  chmod 755 "$work" # a user namespace's root (host id 100000) must reach the rootfs
  local fix=$work/fix rc=1 shm=
  mkdir -p "$fix/dir/sub"
  echo "in a host directory" >"$fix/dir/hello"
  echo "a host file" >"$fix/file"
  if grep -q 'fix)/shm' "$filter"; then
    mkdir "$fix/shm" && mount -t tmpfs -o size=16m,mode=1777 tmpfs "$fix/shm" && shm=1
  fi
  "$top/scripts/make-bundle.sh" "$work/runc" /bin/probe report >/dev/null
  if jq --arg fix "$fix" --slurpfile docker "$top/tests/fixtures/seccomp-docker-like.json" -f "$filter" "$work/runc/config.json" >"$work/case.json" 2>"$work/jq.err" &&
    jq '.process.args = ["/bin/probe", "report"] + ((.linux.sysctl // {}) | keys)' "$work/case.json" \
      >"$work/runc/config.json"; then
    local mode=run
    if [[ $name == exec-* ]]; then
      mode=exec
      jq .process "$work/runc/config.json" >"$work/process.json"
      jq '.process.args = ["/bin/sleep", "1000"]' "$work/runc/config.json" >"$work/c.json"
      mv "$work/c.json" "$work/runc/config.json"
    fi
    cp -a "$work/runc" "$work/husk"
    if run_in runc "$RUNC" --root "$work/runc-state" && run_in husk "$HUSK" --root "$HUSK_ROOT"; then
      local bad=
      for rt in runc husk; do
        jq -S --arg rt "$rt" --arg mode "$mode" --argjson config "$(cat "$work/runc/config.json")" -f "$here/allow.jq" "$work/$rt.json" \
          >"$work/$rt.norm" 2>"$work/allow.err" && [ -s "$work/$rt.norm" ] || bad="$rt: $(head -n 3 "$work/allow.err")"
      done
      if [ -n "$bad" ]; then
        fail "the allow-list filter failed on the report of $bad"
      elif diff -u --label runc "$work/runc.norm" --label husk "$work/husk.norm" >"$work/diff"; then
        echo "ok $name"
        rc=0
      else
        fail "the reports differ beyond the allow-list (- runc, + husk):"
        cat "$work/diff"
      fi
    fi
  else
    fail "bad case filter: $(cat "$work/jq.err")"
  fi
  [ -n "$shm" ] && umount "$fix/shm"
  if [ "${KEEP:-0}" = 1 ]; then echo "  (kept $work)"; else rm -rf "$work"; fi
  return $rc
}

status=0
if [ "$#" -eq 0 ]; then
  set -- $(cd "$here/cases" && ls *.jq | sed 's/\.jq$//')
fi
for c in "$@"; do
  run_case "$c" || status=1
done
if [ -n "$own_root" ]; then
  for id in $(ls "$HUSK_ROOT" 2>/dev/null); do "$HUSK" --root "$HUSK_ROOT" delete --force "$id" >/dev/null 2>&1; done
  rm -rf "$HUSK_ROOT"
fi
exit $status
