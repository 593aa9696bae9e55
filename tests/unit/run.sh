#!/usr/bin/env bash
# Runs the C unit test binaries given as arguments, passes their TAP through
# and ends with one "N passed, N failed" line.
set -u
pass=0 fail=0 skip=0
for bin in "$@"; do
  echo "# $(basename "$bin")"
  out=$("$bin" 2>&1); rc=$?
  printf '%s\n' "$out"
  p=$(printf '%s\n' "$out" | grep -c '^ok .*# SKIP' || true)
  o=$(printf '%s\n' "$out" | grep -c '^ok ' || true)
  f=$(printf '%s\n' "$out" | grep -c '^not ok ' || true)
  skip=$((skip + p)); pass=$((pass + o - p)); fail=$((fail + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "not ok - $(basename "$bin") exited $rc"; fail=$((fail + 1))
  fi
done
echo "unit: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
