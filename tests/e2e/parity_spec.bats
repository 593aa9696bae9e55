#!/usr/bin/env bats
# runc parity of the spec in the guest (issue 18: hooks' working
# directories, seccomp's -ENOSYS stub and the guest kernel's syscalls,
# hugepageLimits, cpuset.cpus) and the allow-list of VM annotations (issue
# 14). Where runc applies, each case runs under Debian's runc too and the
# two must agree; husk's own facts are asserted either way.

load helpers

RUNC=${RUNC:-/usr/sbin/runc}

setup() {
  common_setup
  RUNC_ROOT=$BATS_TEST_TMPDIR/runc-root
  export RUNC_ROOT
  unset HUSK_ALLOWED_ANNOTATIONS
}

teardown() {
  local id
  if [ -d "$RUNC_ROOT" ]; then
    for id in $("$RUNC" --root "$RUNC_ROOT" list -q 2>/dev/null); do
      "$RUNC" --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
    done
  fi
  common_teardown
}

have_runc() { [ -x "$RUNC" ]; }

# runc_bundle DIR: a bundle for runc, the same as $BUNDLE's
runc_bundle() {
  make_bundle "$1" /bin/true
  cp "$BUNDLE/config.json" "$1/config.json"
}

# edit BUNDLE JQ [ARGS...]: apply a jq filter to BUNDLE/config.json
edit() {
  local b=$1 f=$2
  shift 2
  jq "$@" "$f" "$b/config.json" > "$b/c.json"
  mv "$b/c.json" "$b/config.json"
}

# --- item 18: hooks' working directories ------------------------------------

# every kind writes `pwd -P` to ./hook-cwd-KIND, so where the file lands
# and what it says are runc's facts; process.cwd is /tmp
hooks_everywhere() {
  edit "$1" '.process.cwd = "/tmp" | .process.args = ["true"]
    | .hooks = (reduce ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop") as $k
        ({}; .[$k] = [{path: "/bin/sh", args: ["sh", "-c", ("pwd -P > hook-cwd-" + $k)]}]))'
}

# hook_cwds BUNDLE CALLER: "KIND WHERE: WHAT" for each file, the bundle's and
# the caller's paths replaced by B and C
hook_cwds() {
  local b=$1 c=$2 f
  for f in $(cd "$b" && find . -name 'hook-cwd-*' | sort) $(cd "$c" && find . -name 'hook-cwd-*' | sort); do
    if [ -e "$b/$f" ]; then
      echo "B/${f#./}: $(sed -e "s|^$b|B|" "$b/$f")"
    else
      echo "C/${f#./}: $(sed -e "s|^$c|C|" "$c/$f")"
    fi
  done | LC_ALL=C sort
}

@test "hooks run in runc's working directories: the bundle, the rootfs, process.cwd, the caller's" {
  hooks_everywhere "$BUNDLE"
  caller=$BATS_TEST_TMPDIR/caller
  mkdir -p "$caller"
  (cd "$caller" && husk create --bundle "$BUNDLE" hk && husk start hk)
  wait_status hk stopped
  (cd "$caller" && husk delete hk)
  run hook_cwds "$(readlink -f "$BUNDLE")" "$(readlink -f "$caller")"
  echo "$output"
  husk_cwds=$output
  # husk's facts: the rootfs for createContainer, process.cwd in it for
  # startContainer, the bundle for the others, delete's caller for poststop
  [ "$husk_cwds" = "$(printf '%s\n' \
    'B/hook-cwd-createRuntime: B' \
    'B/hook-cwd-poststart: B' \
    'B/hook-cwd-prestart: B' \
    'B/rootfs/hook-cwd-createContainer: B/rootfs' \
    'B/rootfs/tmp/hook-cwd-startContainer: B/rootfs/tmp' \
    'C/hook-cwd-poststop: C')" ]
  have_runc || skip "runc ($RUNC) is not installed"
  rb=$BATS_TEST_TMPDIR/runc-bundle
  rc=$BATS_TEST_TMPDIR/runc-caller
  runc_bundle "$rb"
  mkdir -p "$rc"
  (cd "$rc" && "$RUNC" --root "$RUNC_ROOT" create -b "$rb" rhk </dev/null && "$RUNC" --root "$RUNC_ROOT" start rhk)
  sleep 1
  (cd "$rc" && "$RUNC" --root "$RUNC_ROOT" delete rhk)
  run hook_cwds "$(readlink -f "$rb")" "$(readlink -f "$rc")"
  echo "$output"
  # the same files in the same places; runc's startContainer ran after
  # pivot_root, so it says /tmp where husk (on the host) says B/rootfs/tmp
  [ "$output" = "${husk_cwds/B\/rootfs\/tmp\/hook-cwd-startContainer: B\/rootfs\/tmp/B/rootfs/tmp/hook-cwd-startContainer: /tmp}" ]
}

@test "run: poststop runs in the bundle, as runc run's" {
  hooks_everywhere "$BUNDLE"
  caller=$BATS_TEST_TMPDIR/caller
  mkdir -p "$caller"
  (cd "$caller" && husk run --bundle "$BUNDLE" hkr)
  [ "$(cat "$BUNDLE/hook-cwd-poststop")" = "$(readlink -f "$BUNDLE")" ]
  [ ! -e "$caller/hook-cwd-poststop" ]
  have_runc || skip "runc ($RUNC) is not installed"
  rb=$BATS_TEST_TMPDIR/runc-bundle
  runc_bundle "$rb"
  (cd "$caller" && "$RUNC" --root "$RUNC_ROOT" run -b "$rb" rhkr </dev/null)
  [ "$(cat "$rb/hook-cwd-poststop")" = "$(readlink -f "$rb")" ]
}

# --- item 14: seccomp's -ENOSYS stub, and the guest kernel's syscalls -------

# allow every x86-64 syscall up to kcmp (312) but getcpu (309) and
# process_vm_writev (311); report what six numbers do
seccomp_case() {
  local names
  names=$(awk '$1 == "#define" && $2 ~ /^__NR_/ { n = $2; sub("__NR_", "", n);
      if ($3 + 0 <= 312 && $3 != 311 && $3 != 309) print n }' /usr/include/x86_64-linux-gnu/asm/unistd_64.h |
    jq -R . | jq -s .)
  edit "$1" '.linux.seccomp = {defaultAction: "SCMP_ACT_ERRNO",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [{names: $n, action: "SCMP_ACT_ALLOW"}]}
    | .process.args = ["sh", "-c", "for n in 309 311 333 1000 312 310; do echo \"$n $(probe syscall $n)\"; done"]' --argjson n "$names"
}

@test "seccomp: a syscall newer than the profile is ENOSYS, an older one it does not name EPERM, as runc" {
  [ -f /usr/include/x86_64-linux-gnu/asm/unistd_64.h ] || skip "no x86-64 syscall table (linux-libc-dev)"
  seccomp_case "$BUNDLE"
  run husk run --bundle "$BUNDLE" sc1 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  # getcpu and process_vm_writev: not named, below kcmp: the default
  # (EPERM); io_pgetevents (333) and 1000: above it: ENOSYS; kcmp of pid 0:
  # ESRCH (the guest kernel has kcmp); process_vm_readv of nothing: 0
  [ "$output" = "$(printf '%s\n' '309 errno 1' '311 errno 1' '333 errno 38' '1000 errno 38' '312 errno 3' '310 ret 0')" ]
  husk_out=$output
  have_runc || skip "runc ($RUNC) is not installed"
  rb=$BATS_TEST_TMPDIR/runc-bundle
  runc_bundle "$rb"
  run "$RUNC" --root "$RUNC_ROOT" run -b "$rb" rsc1 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$husk_out" ]
}

@test "the guest kernel has process_vm_readv/writev and kcmp, as the host's" {
  set_args "$BUNDLE" /bin/sh -c 'for n in 310 311 312; do echo "$n $(probe syscall $n)"; done'
  run husk run --bundle "$BUNDLE" sc2 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  # zero iovecs: 0 bytes; kcmp of pid 0: ESRCH; never ENOSYS
  [ "$output" = "$(printf '%s\n' '310 ret 0' '311 ret 0' '312 errno 3')" ]
  husk_out=$output
  have_runc || skip "runc ($RUNC) is not installed"
  rb=$BATS_TEST_TMPDIR/runc-bundle
  runc_bundle "$rb"
  run "$RUNC" --root "$RUNC_ROOT" run -b "$rb" rsc2 </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = "$husk_out" ]
}

# --- item 15: hugepageLimits ------------------------------------------------

@test "hugepageLimits: a size that is not a huge page size is one clear line at create" {
  edit "$BUNDLE" '.linux.resources.hugepageLimits = [{pageSize: "3MB", limit: 0}]'
  run husk create --bundle "$BUNDLE" hp1
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [ "$output" = 'husk: config.json: linux.resources.hugepageLimits[0].pageSize "3MB" is not a huge page size of the guest (2MB or 1GB)' ]
  [ -z "$(ls -A "$HUSK_ROOT")" ]
  have_runc || skip "runc ($RUNC) is not installed"
  rb=$BATS_TEST_TMPDIR/runc-bundle
  runc_bundle "$rb"
  run "$RUNC" --root "$RUNC_ROOT" run -b "$rb" rhp1 </dev/null
  echo "$output"
  [ "$status" -ne 0 ] # runc fails too (on a hugetlb file that does not exist)
}

@test "hugepageLimits reach the guest's hugetlb controller" {
  edit "$BUNDLE" '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}, {pageSize: "1GB", limit: 0}]
    | .linux.namespaces += [{type: "cgroup"}]
    | .mounts += [{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["ro"]}]'
  set_args "$BUNDLE" /bin/sh -c 'cd /sys/fs/cgroup; for f in hugetlb.2MB.max hugetlb.2MB.rsvd.max; do echo "$f $(cat $f)"; done'
  run husk run --bundle "$BUNDLE" hp2 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '%s\n' 'hugetlb.2MB.max 4194304' 'hugetlb.2MB.rsvd.max 4194304')" ]
}

# --- item 16: cpuset.cpus sizes the VM --------------------------------------

@test "cpuset.cpus \"0-1\" without a quota: the VM has both CPUs, as runc's container" {
  edit "$BUNDLE" '.linux.resources.cpu = {cpus: "0-1"}'
  set_args "$BUNDLE" /bin/sh -c 'grep Cpus_allowed_list /proc/self/status'
  run husk run --bundle "$BUNDLE" cs1 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "Cpus_allowed_list:	0-1" ]
  husk_out=$output
  have_runc || skip "runc ($RUNC) is not installed"
  [ "$(nproc)" -ge 2 ] || skip "the host has one CPU: runc cannot pin to 0-1"
  rb=$BATS_TEST_TMPDIR/runc-bundle
  runc_bundle "$rb"
  run "$RUNC" --root "$RUNC_ROOT" run -b "$rb" rcs1 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$husk_out" ]
}

@test "update: a cpuset past the VM's vCPUs is one clear line; within them it applies" {
  edit "$BUNDLE" '.linux.resources.cpu = {cpus: "1"}'
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" cs4 </dev/null >/dev/null 2>&1
  husk start cs4
  run husk update --cpuset-cpus 0-2 cs4
  echo "$output"
  [ "$status" -ne 0 ]
  [ "$output" = 'husk: cpuset.cpus "0-2" names CPU 2, but the container'"'"'s VM has 2 vCPUs and cannot grow; name the CPUs in linux.resources.cpu.cpus at create' ]
  husk update --cpuset-cpus 0 cs4
  run husk exec cs4 /bin/sh -c 'grep Cpus_allowed_list /proc/self/status'
  echo "$output"
  [ "$output" = "Cpus_allowed_list:	0" ]
}

@test "cpuset.cpus: an annotation with fewer vCPUs is an error; one past 63 too" {
  export HUSK_ALLOWED_ANNOTATIONS=io.husk.vm.vcpus
  edit "$BUNDLE" '.linux.resources.cpu = {cpus: "0-2"} | .annotations["io.husk.vm.vcpus"] = "2"'
  run husk create --bundle "$BUNDLE" cs2
  echo "$output"
  [ "$status" -ne 0 ]
  [ "$output" = 'husk: annotation io.husk.vm.vcpus is 2 but linux.resources.cpu.cpus "0-2" needs 3' ]
  edit "$BUNDLE" '.linux.resources.cpu = {cpus: "0,64"} | del(.annotations)'
  run husk create --bundle "$BUNDLE" cs3
  echo "$output"
  [ "$status" -ne 0 ]
  [ "$output" = 'husk: linux.resources.cpu.cpus "0,64" names CPU 64: a VM has at most 64 vCPUs' ]
  [ -z "$(ls -A "$HUSK_ROOT")" ]
}

# --- issue 14: annotations that change the VM need the config's allow-list --

@test "VM annotations are refused unless [security] allowed_annotations lists them" {
  edit "$BUNDLE" '.annotations = {"io.husk.vm.vcpus": "2", "org.example.note": "x"}'
  set_args "$BUNDLE" /bin/sh -c 'grep -c ^processor /proc/cpuinfo'
  for key in io.husk.vm.memory_mib io.husk.vm.vcpus io.husk.vm.accel io.husk.vm.kernel_params io.husk.net.spare_nics; do
    edit "$BUNDLE" '.annotations = {($k): "1"}' --arg k "$key"
    run husk create --bundle "$BUNDLE" an1
    echo "$output"
    [ "$status" -ne 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "husk: annotation $key is not allowed: list it in [security] allowed_annotations of "*" (or HUSK_ALLOWED_ANNOTATIONS)" ]]
    [ -z "$(ls -A "$HUSK_ROOT")" ]
  done
  # listed in the config file (a prefix), the annotation sizes the VM
  printf '[security]\nallowed_annotations = io.husk.vm.*\n' > "$BATS_TEST_TMPDIR/husk.conf"
  edit "$BUNDLE" '.annotations = {"io.husk.vm.vcpus": "2", "org.example.note": "x"}'
  export HUSK_CONFIG=$BATS_TEST_TMPDIR/husk.conf
  run husk run --bundle "$BUNDLE" an2 </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = 2 ]
  # other annotations never matter, as under runc
  edit "$BUNDLE" '.annotations = {"org.example.note": "x"}'
  run husk run --bundle "$BUNDLE" an3 </dev/null
  [ "$status" -eq 0 ]
  [ "$output" = 1 ]
}
