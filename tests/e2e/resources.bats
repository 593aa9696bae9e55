#!/usr/bin/env bats
# linux.resources and update in the guest's cgroup v2; events: stats and OOM.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

with_resources() {
  jq --argjson r "$1" '.linux.resources = $r' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}

@test "linux.resources reach the guest cgroup; update changes them; events --stats reports them" {
  with_resources '{"memory": {"limit": 67108864}, "pids": {"limit": 100}, "cpu": {"shares": 512}}'
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" r1 </dev/null >/dev/null 2>&1
  husk start r1
  run husk events --stats r1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r .type)" = "stats" ]
  [ "$(echo "$output" | jq -r .id)" = "r1" ]
  [ "$(echo "$output" | jq .data.memory.usage.limit)" = "67108864" ]
  [ "$(echo "$output" | jq .data.pids.limit)" = "100" ]
  [ "$(echo "$output" | jq '.data.pids.current >= 1')" = "true" ]
  [ "$(echo "$output" | jq '.data.cpu.usage.total > 0')" = "true" ]
  [ "$(echo "$output" | jq '.data.memory.usage.usage > 0')" = "true" ]
  husk update --memory 100m --pids-limit 50 r1
  run husk events --stats r1
  [ "$(echo "$output" | jq .data.memory.usage.limit)" = "104857600" ]
  [ "$(echo "$output" | jq .data.pids.limit)" = "50" ]
  echo '{"pids": {"limit": 0}}' > "$BATS_TEST_TMPDIR/res.json"
  husk update --resources "$BATS_TEST_TMPDIR/res.json" r1
  run husk events --stats r1
  [ "$(echo "$output" | jq .data.pids.limit)" = "-1" ]
}

@test "the pids limit holds inside the guest" {
  with_resources '{"pids": {"limit": 5}}'
  set_args "$BUNDLE" /bin/probe forks 8
  run husk run --bundle "$BUNDLE" r2
  echo "$output"
  [ "$status" -eq 0 ]
  # the probe itself is one of the five
  [ "$output" = "forked 4" ]
}

@test "growing memory past the VM's size is refused with a clear message" {
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" r3 </dev/null >/dev/null 2>&1
  husk start r3
  run husk update --memory 64g r3
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"cannot grow"* ]]
  run husk update r3
  [ "$status" -ne 0 ]
}

@test "the VM is sized from the memory limit, or from annotations" {
  with_resources '{"memory": {"limit": 536870912}}'
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" r4 </dev/null >/dev/null 2>&1
  qemu=$(jq .qemu.pid "$HUSK_ROOT/r4/state.json")
  mem=$(tr '\0' '\n' < /proc/$qemu/cmdline | grep -A1 -x -- -m | tail -1)
  [ "${mem%M}" -gt 512 ]
  husk delete --force r4
  export HUSK_ALLOWED_ANNOTATIONS='io.husk.vm.memory_mib, io.husk.vm.vcpus'
  jq '.annotations = {"io.husk.vm.memory_mib": "200", "io.husk.vm.vcpus": "2"}' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  husk create --bundle "$BUNDLE" r5 </dev/null >/dev/null 2>&1
  qemu=$(jq .qemu.pid "$HUSK_ROOT/r5/state.json")
  [ "$(tr '\0' '\n' < /proc/$qemu/cmdline | grep -A1 -x -- -m | tail -1)" = "200M" ]
  [ "$(tr '\0' '\n' < /proc/$qemu/cmdline | grep -A1 -x -- -smp | tail -1)" = "2" ]
}

@test "an OOM kill in the guest: an oom event, the bundle's oom file, and state" {
  with_resources '{"memory": {"limit": 33554432, "swap": 33554432}}'
  set_args "$BUNDLE" /bin/sh -c 'sleep 2; head -c 300m /dev/zero | tail > /dev/null; sleep 1000'
  rm -f "$BUNDLE/oom"
  husk create --bundle "$BUNDLE" r6 </dev/null >/dev/null 2>&1
  "$HUSK" --root "$HUSK_ROOT" events --interval 60s r6 > "$BATS_TEST_TMPDIR/events" &
  ev=$!
  sleep 0.5
  husk start r6
  for i in $(seq 600); do grep -q '"oom"' "$BATS_TEST_TMPDIR/events" && break; sleep 0.1; done
  kill $ev || true
  cat "$BATS_TEST_TMPDIR/events"
  grep -q '"type":"oom"' "$BATS_TEST_TMPDIR/events"
  [ -e "$BUNDLE/oom" ]
  [ "$(jq .oom_kills "$HUSK_ROOT/r6/state.json")" -ge 1 ]
}

@test "features is valid JSON that says what husk applies" {
  run husk features
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r .ociVersionMin)" = "1.0.0" ]
  [ "$(echo "$output" | jq .linux.cgroup.v2)" = "true" ]
  [ "$(echo "$output" | jq .linux.cgroup.v1)" = "false" ]
  [ "$(echo "$output" | jq -r '.linux.namespaces | index("pid") != null')" = "true" ]
  [ "$(echo "$output" | jq .linux.seccomp.enabled)" = "true" ]
  [ "$(echo "$output" | jq -r '.linux.seccomp.actions | index("SCMP_ACT_ERRNO") != null')" = "true" ]
}

@test "update lowers the memory limit; an allocation beyond it is OOM-killed and reported" {
  set_args "$BUNDLE" /bin/sh -c 'while [ ! -e /tmp/go ]; do sleep 0.1; done; head -c 300m /dev/zero | tail > /dev/null; sleep 1000'
  rm -f "$BUNDLE/oom" "$BUNDLE/rootfs/tmp/go"
  husk create --bundle "$BUNDLE" r7 </dev/null >/dev/null 2>&1
  husk start r7
  "$HUSK" --root "$HUSK_ROOT" events --interval 60s r7 > "$BATS_TEST_TMPDIR/events" &
  ev=$!
  husk update --memory 32m --memory-swap 32m r7
  [ "$(husk events --stats r7 | jq .data.memory.usage.limit)" = "33554432" ]
  touch "$BUNDLE/rootfs/tmp/go"
  for i in $(seq 600); do grep -q '"oom"' "$BATS_TEST_TMPDIR/events" && break; sleep 0.1; done
  kill $ev || true
  grep -q '"type":"oom"' "$BATS_TEST_TMPDIR/events"
  [ -e "$BUNDLE/oom" ]
}

@test "blkio weight goes to the host cgroup of the VM's I/O processes" {
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" r8 </dev/null >/dev/null 2>&1
  husk start r8
  cg=$(jq -r .io_cgroup "$HUSK_ROOT/r8/state.json")
  if [ -z "$cg" ]; then
    run husk update --blkio-weight 300 r8
    [ "$status" -ne 0 ]
    skip "this host has no io or blkio cgroup controller"
  fi
  w=""
  for f in io.bfq.weight io.weight blkio.bfq.weight blkio.weight; do [ -e "$cg/$f" ] && { w=$cg/$f; break; }; done
  if [ -z "$w" ]; then skip "the host's io controller has no weight file (no BFQ / io.cost)"; fi
  qemu=$(jq .qemu.pid "$HUSK_ROOT/r8/state.json")
  grep -qx "$qemu" "$cg/cgroup.procs"
  husk update --blkio-weight 300 r8
  grep -q 300 "$w"
  run husk update --blkio-weight 5 r8
  [ "$status" -ne 0 ]
  husk delete --force r8
  [ ! -e "$cg" ]
}

@test "annotations: io.husk.vm.kernel_params reaches the guest kernel; bad values are clear errors" {
  export HUSK_ALLOWED_ANNOTATIONS='io.husk.vm.*'
  jq '.annotations = {"io.husk.vm.kernel_params": "husk.test=42", "io.husk.vm.accel": "tcg"}' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  set_args "$BUNDLE" /bin/cat /proc/cmdline
  run husk run --bundle "$BUNDLE" a1
  [ "$status" -eq 0 ]
  [[ "$output" == *"husk.test=42"* ]]
  jq '.annotations = {"io.husk.vm.kernel_params": "x\" -device foo"}' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  run husk create --bundle "$BUNDLE" a2
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  jq '.annotations = {"io.husk.vm.accel": "warp"}' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  run husk create --bundle "$BUNDLE" a3
  [ "$status" -ne 0 ]
  [[ "$output" == *accel* ]]
  [ -z "$(ls -A "$HUSK_ROOT")" ]
}

@test "the device allow/deny list is enforced in the guest cgroup (later rules win, runc's defaults last)" {
  # deny all, then /dev/zero read-only; runc's default rules follow the
  # spec's and win: /dev/null and /dev/zero rw, mknod of any node allowed,
  # a node outside them (1:11, kmsg) denied. The node is made on the
  # container's /dev tmpfs: virtiofsd refuses mknod on the shared rootfs.
  with_resources '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "r"}]}'
  set_args "$BUNDLE" /bin/sh -c 'echo x > /dev/null && echo null-rw; head -c 2 /dev/zero | wc -c; echo x > /dev/zero && echo zero-rw; mknod /dev/km c 1 11 && echo mknod-ok; head -c 1 /dev/km 2>/dev/null || echo kmsg-denied'
  run husk run --bundle "$BUNDLE" dev1
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'null-rw\n2\nzero-rw\nmknod-ok\nkmsg-denied')" ]
}

@test "a bad device rule is a clear error at create" {
  with_resources '{"devices": [{"allow": true, "type": "x", "access": "rwm"}]}'
  run husk create --bundle "$BUNDLE" dev2
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *devices* ]]
  [ -z "$(ls -A "$HUSK_ROOT")" ]
}

@test "block-IO throttles go to the host cgroup; a device the host lacks is a clear error" {
  dev=$(mountpoint -d "$(df --output=target "$BUNDLE" | tail -1)")
  maj=${dev%:*}; min=${dev#*:}
  jq --argjson a "$maj" --argjson b "$min" '.linux.resources = {blockIO: {throttleReadBpsDevice: [{major: $a, minor: $b, rate: 1048576}]}}' \
    "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  set_args "$BUNDLE" /bin/sleep 1000
  s=0
  husk create --bundle "$BUNDLE" t1 </dev/null >/dev/null 2>"$BATS_TEST_TMPDIR/err" || s=$?
  if [ "$s" -ne 0 ] && grep -q "no io or blkio" "$BATS_TEST_TMPDIR/err"; then skip "this host has no io or blkio cgroup controller"; fi
  [ "$s" -eq 0 ]
  cg=$(jq -r .io_cgroup "$HUSK_ROOT/t1/state.json")
  if [ -e "$cg/blkio.throttle.read_bps_device" ]; then
    grep -qx "$dev 1048576" "$cg/blkio.throttle.read_bps_device"
  else
    grep -q "^$dev .*rbps=1048576" "$cg/io.max"
  fi
  husk delete --force t1
  [ ! -e "$cg" ]
  jq '.linux.resources.blockIO.throttleReadBpsDevice[0].major = 999' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  run husk create --bundle "$BUNDLE" t2
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"999:"* ]]
  [ -z "$(ls -A "$HUSK_ROOT")" ]
  [ ! -e "$(dirname "$cg")/t2" ]
}

@test "the monitor, QEMU and virtiofsd share host cgroups of the container's own (engines' metrics); they go with it" {
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" mc1 </dev/null >/dev/null 2>&1
  mon=$(jq .monitor.pid "$HUSK_ROOT/mc1/state.json")
  qemu=$(jq .qemu.pid "$HUSK_ROOT/mc1/state.json")
  if [ ! -s "$HUSK_ROOT/mc1/host-cgroups" ]; then
    husk delete --force mc1
    skip "no cgroup file system on this host"
  fi
  # made<TAB>group<TAB>where the monitor came from; no cgroupsPath: the id
  for cg in $(cut -f2 "$HUSK_ROOT/mc1/host-cgroups"); do
    [ "$(basename "$cg")" = mc1 ]
    grep -qx "$mon" "$cg/cgroup.procs"
    grep -qx "$qemu" "$cg/cgroup.procs"
  done
  groups=$(cut -f2 "$HUSK_ROOT/mc1/host-cgroups")
  husk delete --force mc1
  for cg in $groups; do [ ! -d "$cg" ]; done
}

@test "a pod's sandbox is sized from the pod's annotations (guest MemTotal, vCPUs), not its pause spec; bad values are clear errors" {
  # containerd's pause container: cpu.shares 2, no limits; the pod's in annotations
  with_resources '{"cpu": {"shares": 2}}'
  jq '.annotations = {"io.kubernetes.cri.container-type": "sandbox",
                      "io.kubernetes.cri.sandbox-id": "s1",
                      "io.kubernetes.cri.sandbox-memory": "402653184",
                      "io.kubernetes.cri.sandbox-cpu-quota": "200000",
                      "io.kubernetes.cri.sandbox-cpu-period": "100000",
                      "io.kubernetes.cri.sandbox-cpu-shares": "1024"}' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  set_args "$BUNDLE" sh -c 'grep MemTotal /proc/meminfo; echo cpus $(nproc)'
  run husk run --bundle "$BUNDLE" s1 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  # 384 MiB + 96 MiB of overhead = a 480 MiB VM (the default is 256): the
  # guest kernel keeps some for itself
  local kib
  kib=$(sed -n 's/^MemTotal: *\([0-9]*\) kB.*/\1/p' <<<"$output")
  [ "$kib" -gt $((400 * 1024)) ]
  [ "$kib" -le $((480 * 1024)) ]
  # ceil(200000 / 100000) = 2, at most the host's
  local host=$(nproc) want=2
  [ "$host" -ge 2 ] || want=$host
  [[ "$output" == *"cpus $want"* ]]
  # a malformed pod value: one line naming the key, nothing left
  jq '.annotations["io.kubernetes.cri.sandbox-memory"] = "384Mi"' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  run husk create --bundle "$BUNDLE" s2 </dev/null
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"annotation io.kubernetes.cri.sandbox-memory must be a number"* ]]
  [ "$(wc -l <<<"$output")" -eq 1 ]
  [ ! -e "$HUSK_ROOT/s2" ]
}
