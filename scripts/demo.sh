#!/usr/bin/env bash
# `make run`: boots a busybox container in its own microVM and prints what
# it says from inside.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
husk=$top/build/husk
bundle=$top/build/demo-bundle
rm -rf "$bundle"
"$top/scripts/make-bundle.sh" "$bundle" /bin/sh -c \
  'echo "hello from a husk container"; echo "guest kernel: $(uname -r)"; echo "hostname: $(hostname)"; echo "pid 1 in the container: $(cat /proc/1/comm)"'
echo "host kernel:  $(uname -r)"
id=husk-demo-$$
start=$(date +%s.%N)
rc=0
"$husk" run --bundle "$bundle" "$id" || rc=$?
end=$(date +%s.%N)
printf 'the container exited with %d after %.2f s (VM boot, run, power-off)\n' "$rc" "$(echo "$end - $start" | bc)"
exit "$rc"
