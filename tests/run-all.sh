#!/usr/bin/env bash
# `make test`: unit tests, fuzz corpus replay, layout and format checks, the end-to-end tests that
# boot real VMs, the sandbox sample suite (tests/sandbox-sample), then the client suites (podman,
# docker, containerd, CRI). Ends with one "N passed, N failed" line over all of them.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0 fail=0 skip=0

count_tap() { # counts the TAP in $log
  local p f s
  s=$(grep -cE '^ok .*# (SKIP|skip)' "$log" || true)
  p=$(grep -cE '^ok ' "$log" || true)
  f=$(grep -cE '^not ok ' "$log" || true)
  pass=$((pass + p - s)); fail=$((fail + f)); skip=$((skip + s))
}

echo "== unit tests"
make -s check > "$log" 2>&1; rc=$?
cat "$log"; count_tap
if [ $rc -ne 0 ] && ! grep -q '^not ok ' "$log"; then fail=$((fail + 1)); echo "not ok - make check failed"; fi

if [ -x tests/fuzz/run.sh ]; then
  echo "== fuzz corpus replay"
  tests/fuzz/run.sh replay > "$log" 2>&1; rc=$?
  cat "$log"
  if [ $rc -eq 0 ]; then pass=$((pass + 1)); echo "ok - fuzz corpus replay"; else fail=$((fail + 1)); echo "not ok - fuzz corpus replay"; fi
fi

# the tree's shape (docs/hacking.md) and its formatting
echo "== layout and format"
tests/layout/check.sh > "$log" 2>&1
cat "$log"; count_tap
if make -s format-check > "$log" 2>&1; then
  pass=$((pass + 1)); echo "ok - make format-check"
else
  fail=$((fail + 1)); echo "not ok - make format-check"; head -n 40 "$log"
fi

echo "== end-to-end tests (real VMs)"
bats --tap tests/e2e > "$log" 2>&1 </dev/null
cat "$log"; count_tap

# the sample suite of the bats helper library, loaded as a user's suite loads
# the installed one (bats_load_library husk): from where `make install` puts it,
# here in a temporary DESTDIR
echo "== sandbox sample suite (bats library)"
libdest=$(mktemp -d)
if make -s install DESTDIR="$libdest" PREFIX=/usr/local >/dev/null; then
  BATS_LIB_PATH=$libdest/usr/local/lib/bats HUSK=$top/build/husk bats --tap tests/sandbox-sample > "$log" 2>&1 </dev/null
else
  echo "not ok 1 make install DESTDIR=$libdest" > "$log"
fi
rm -rf "$libdest"
cat "$log"; count_tap

# the real engines (podman, docker, containerd, containerd's CRI) driving build/husk; each
# suite starts its engine with state under a temp dir and stops it
for suite in tests/clients/podman.bats tests/clients/docker.bats tests/clients/containerd.bats tests/clients/cri.bats; do
  [ -f "$suite" ] || continue
  echo "== client tests: $(basename "$suite" .bats)"
  bats --tap "$suite" > "$log" 2>&1 </dev/null
  cat "$log"; count_tap
done

# `make bench`'s own logic (report verdicts, fsbench, cleanup), not timings
if [ -f tests/bench/bench.bats ]; then
  echo "== bench tooling tests"
  bats --tap tests/bench/bench.bats > "$log" 2>&1 </dev/null
  cat "$log"; count_tap
fi

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
