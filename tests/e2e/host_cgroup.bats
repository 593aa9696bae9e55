#!/usr/bin/env bats
# The VM's host cgroup: the monitor, QEMU, virtiofsd and the vsock back-end
# live in linux.cgroupsPath (resolved as runc does), with a memory limit
# that covers the VM, a pids limit, the spec's CPU weight and quota (and
# `update`'s); the group goes at delete. Paths of the other forms
# (absolute, systemd) are computed in tests/unit/test_host_cgroup.c: here
# a relative path keeps the test's groups under its own.

load helpers

setup() { common_setup; }
teardown() {
  common_teardown
  # the parent a relative cgroupsPath made (runc leaves parents too)
  local d
  for d in "${PARENTS[@]}"; do rmdir "$d" 2>/dev/null || true; done
}

PARENTS=()

v2() { [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; }

# dir_of CTRL REL: the directory REL (relative to this shell's group) has
# in the hierarchy of CTRL (v1), or in the one hierarchy (v2)
dir_of() {
  local ctrl=$1 rel=$2 own mnt
  if v2; then
    own=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
    echo "/sys/fs/cgroup${own%/}/$rel"
    return
  fi
  own=$(awk -F: -v c="$ctrl" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' /proc/self/cgroup)
  mnt=$(awk -v c="$ctrl" '$0 ~ " - cgroup " {n = split($NF, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $5}' /proc/self/mountinfo | head -1)
  echo "$mnt${own%/}/$rel"
}

with_cgroup() {
  jq --arg p "$1" --argjson cpu "$2" '.linux.cgroupsPath = $p | if $cpu then .linux.resources.cpu = $cpu else . end' \
    "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}

@test "the VM's processes are in the cgroupsPath group, with a memory limit that covers the VM; pids and CPU limits; gone at delete" {
  [ -d /sys/fs/cgroup/memory ] || v2 || skip "no memory cgroup hierarchy"
  set_args "$BUNDLE" /bin/sleep 1000
  with_cgroup "husk-e2e-$$/hc1" '{"shares": 512, "quota": 50000, "period": 100000}'
  PARENTS=("$(dirname "$(dir_of memory husk-e2e-$$/hc1)")" "$(dirname "$(dir_of cpu husk-e2e-$$/hc1)")" \
           "$(dirname "$(dir_of pids husk-e2e-$$/hc1)")" "$(dirname "$(dir_of blkio husk-e2e-$$/hc1)")" \
           "$(dirname "$(dir_of cpuacct husk-e2e-$$/hc1)")")
  husk create --bundle "$BUNDLE" hc1 </dev/null >/dev/null 2>&1
  local st=$HUSK_ROOT/hc1/state.json mem cpu pids pid
  mem=$(dir_of memory husk-e2e-$$/hc1)
  cpu=$(dir_of cpu husk-e2e-$$/hc1)
  pids=$(dir_of pids husk-e2e-$$/hc1)
  [ -d "$mem" ] && [ -d "$cpu" ] && [ -d "$pids" ]
  for pid in $(jq '.monitor.pid, .qemu.pid, .virtiofsd.pid, .vsock_backend.pid' "$st"); do
    [ "$pid" -gt 0 ] || continue
    grep -qx "$pid" "$mem/cgroup.procs"
    grep -qx "$pid" "$pids/cgroup.procs"
    grep -qx "$pid" "$cpu/cgroup.procs"
  done
  # memory: the VM's size (QEMU's -m) + TCG's cache (16 MiB) + 64 MiB
  local qemu vm_mib limit
  qemu=$(jq .qemu.pid "$st")
  vm_mib=$(tr '\0' '\n' < "/proc/$qemu/cmdline" | grep -A1 -x -- -m | tail -1 | tr -dc 0-9)
  if v2; then limit=$(cat "$mem/memory.max"); else limit=$(cat "$mem/memory.limit_in_bytes"); fi
  echo "VM $vm_mib MiB, host limit $limit"
  [ "$limit" -eq $(( (vm_mib + 16 + 64) * 1048576 )) ]
  # one vCPU (the quota): 512 + 4
  [ "$(cat "$pids/pids.max")" = 516 ]
  if v2; then
    [ "$(cat "$cpu/cpu.weight")" = 20 ]
    [ "$(cat "$cpu/cpu.max")" = "50000 100000" ]
  else
    [ "$(cat "$cpu/cpu.shares")" = 512 ]
    [ "$(cat "$cpu/cpu.cfs_quota_us")" = 50000 ]
    [ "$(cat "$cpu/cpu.cfs_period_us")" = 100000 ]
  fi
  # what the VM uses stays under the limit (and is the VM's: QEMU's RSS)
  local used
  if v2; then used=$(cat "$mem/memory.peak" 2>/dev/null || cat "$mem/memory.current"); else used=$(cat "$mem/memory.max_usage_in_bytes"); fi
  echo "host usage peak $used"
  [ "$used" -lt "$limit" ]
  [ "$used" -gt $(( 8 * 1048576 )) ]
  # update: the host group's CPU values follow
  husk start hc1
  husk update --cpu-share 256 --cpu-quota 30000 hc1
  if v2; then
    [ "$(cat "$cpu/cpu.max")" = "30000 100000" ]
  else
    [ "$(cat "$cpu/cpu.shares")" = 256 ]
    [ "$(cat "$cpu/cpu.cfs_quota_us")" = 30000 ]
  fi
  husk delete --force hc1
  [ ! -e "$mem" ] && [ ! -e "$cpu" ] && [ ! -e "$pids" ]
}

@test "a pod's sandbox: the VM's CPU weight is the pod's (sandbox-cpu-shares), not the pause container's 2" {
  set_args "$BUNDLE" /bin/sleep 1000
  with_cgroup "husk-e2e-$$/hc4" '{"shares": 2}'
  jq '.annotations = {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "hc4",
                      "io.kubernetes.cri.sandbox-cpu-shares": "1024", "io.kubernetes.cri.sandbox-memory": "0"}' \
    "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  PARENTS=("$(dirname "$(dir_of memory husk-e2e-$$/hc4)")" "$(dirname "$(dir_of cpu husk-e2e-$$/hc4)")" \
           "$(dirname "$(dir_of pids husk-e2e-$$/hc4)")" "$(dirname "$(dir_of blkio husk-e2e-$$/hc4)")" \
           "$(dirname "$(dir_of cpuacct husk-e2e-$$/hc4)")")
  husk create --bundle "$BUNDLE" hc4 </dev/null >/dev/null 2>&1
  local cpu
  cpu=$(dir_of cpu husk-e2e-$$/hc4)
  if v2; then
    [ "$(cat "$cpu/cpu.weight")" = 39 ] # runc's mapping of 1024
  else
    [ "$(cat "$cpu/cpu.shares")" = 1024 ]
  fi
  husk delete --force hc4
  # the same spec as a plain container keeps the spec's own 2
  jq 'del(.annotations)' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  husk create --bundle "$BUNDLE" hc4 </dev/null >/dev/null 2>&1
  if v2; then
    [ "$(cat "$cpu/cpu.weight")" = 1 ]
  else
    [ "$(cat "$cpu/cpu.shares")" = 2 ]
  fi
  husk delete --force hc4
}

# pod_member NAME CGROUPSPATH ARG...: a bundle as containerd makes a pod's
# container of sandbox sb5, in its own cgroupsPath
pod_member() {
  local name=$1 cg=$2 dir=$BATS_TEST_TMPDIR/$1 pid
  shift 2
  pid=$(jq .monitor.pid "$HUSK_ROOT/sb5/state.json")
  make_bundle "$dir" "$@"
  jq --arg pid "$pid" --arg cg "$cg" 'del(.hostname) | .linux.cgroupsPath = $cg
    | .annotations = {"io.kubernetes.cri.container-type": "container", "io.kubernetes.cri.sandbox-id": "sb5"}
    | .linux.namespaces |= map(if .type == "ipc" or .type == "uts" then .path = "/proc/\($pid)/ns/\(.type)" else . end)' \
    "$dir/config.json" > "$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
}

@test "a pod member's monitor is alone in the member's cgroupsPath group (pids limit only); gone at delete and at its end" {
  set_args "$BUNDLE" /bin/sleep 1000
  with_cgroup "husk-e2e-$$/sb5" 'null'
  jq '.annotations = {"io.kubernetes.cri.container-type": "sandbox", "io.kubernetes.cri.sandbox-id": "sb5"}' \
    "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  PARENTS=("$(dirname "$(dir_of memory husk-e2e-$$/m5)")" "$(dirname "$(dir_of cpu husk-e2e-$$/m5)")" \
           "$(dirname "$(dir_of pids husk-e2e-$$/m5)")" "$(dirname "$(dir_of blkio husk-e2e-$$/m5)")" \
           "$(dirname "$(dir_of cpuacct husk-e2e-$$/m5)")")
  husk create --bundle "$BUNDLE" sb5 </dev/null >/dev/null 2>&1
  pod_member m5 "husk-e2e-$$/m5" /bin/sleep 1000
  husk create --bundle "$BATS_TEST_TMPDIR/m5" m5 </dev/null >/dev/null 2>&1
  local mon pids mem qemu
  mon=$(jq .monitor.pid "$HUSK_ROOT/m5/state.json")
  [ "$(husk state m5 | jq .pid)" = "$mon" ]
  pids=$(dir_of pids husk-e2e-$$/m5)
  mem=$(dir_of memory husk-e2e-$$/m5)
  cat "/proc/$mon/cgroup"
  # the pid the engine reads names the member's group, which holds the monitor alone
  grep -q "pids:.*/husk-e2e-$$/m5\$" "/proc/$mon/cgroup"
  [ "$(cat "$pids/cgroup.procs")" = "$mon" ]
  [ "$(cat "$mem/cgroup.procs")" = "$mon" ]
  [ "$(cat "$pids/pids.max")" = 64 ]
  # no memory limit on it: the VM's memory is counted in the sandbox's group
  if v2; then
    [ "$(cat "$mem/memory.max")" = max ]
  else
    [ "$(cat "$mem/memory.limit_in_bytes")" -gt $(( 1 << 50 )) ]
  fi
  qemu=$(jq .qemu.pid "$HUSK_ROOT/sb5/state.json")
  grep -qx "$qemu" "$(dir_of memory husk-e2e-$$/sb5)/cgroup.procs"
  husk delete --force m5
  [ ! -e "$pids" ] && [ ! -e "$mem" ]
  # a member that ends: its group goes with its monitor, before delete
  pod_member m6 "husk-e2e-$$/m6" /bin/true
  husk create --bundle "$BATS_TEST_TMPDIR/m6" m6 </dev/null >/dev/null 2>&1
  pids=$(dir_of pids husk-e2e-$$/m6)
  [ -d "$pids" ]
  husk start m6
  wait_status m6 stopped 60
  [ ! -e "$pids" ]
  husk delete m6
  husk delete --force sb5
}

@test "the default group is the id under the caller's group; a stopped container's group goes with the monitor" {
  set_args "$BUNDLE" /bin/true
  local mem
  mem=$(dir_of memory hc2)
  husk create --bundle "$BUNDLE" hc2 </dev/null >/dev/null 2>&1
  [ -d "$mem" ]
  grep -qx "$(jq .qemu.pid "$HUSK_ROOT/hc2/state.json")" "$mem/cgroup.procs"
  husk start hc2
  wait_status hc2 stopped 60
  [ ! -e "$mem" ]
  husk delete hc2
}

@test "a cgroupsPath that is the root, the caller's own group, or not slice:prefix:name under --systemd-cgroup: one line, nothing left" {
  local p
  for p in / .. /a/../ ; do
    with_cgroup "$p" 'null'
    run husk create --bundle "$BUNDLE" hc3
    echo "$p: $output"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *cgroupsPath* ]]
    [ -z "$(ls -A "$HUSK_ROOT")" ]
  done
  with_cgroup "/kubepods/x" 'null'
  run "$HUSK" --root "$HUSK_ROOT" --systemd-cgroup create --bundle "$BUNDLE" hc3
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"slice:prefix:name"* ]]
  [ -z "$(ls -A "$HUSK_ROOT")" ]
}

@test "a --pid-file path that is a symlink is replaced; its target is untouched" {
  set_args "$BUNDLE" /bin/sleep 1000
  echo precious > "$BATS_TEST_TMPDIR/target"
  ln -s "$BATS_TEST_TMPDIR/target" "$BATS_TEST_TMPDIR/pid"
  husk create --bundle "$BUNDLE" --pid-file "$BATS_TEST_TMPDIR/pid" hc4 </dev/null >/dev/null 2>&1
  [ "$(cat "$BATS_TEST_TMPDIR/target")" = precious ]
  [ -f "$BATS_TEST_TMPDIR/pid" ] && [ ! -L "$BATS_TEST_TMPDIR/pid" ]
  [ "$(cat "$BATS_TEST_TMPDIR/pid")" = "$(jq .monitor.pid "$HUSK_ROOT/hc4/state.json")" ]
  husk delete --force hc4
}
