#!/usr/bin/env bats
# linux.namespaces inside the guest, as runc applies them: each listed type
# is a new namespace, a missing one is the guest's; a network namespace is
# the VM's own network; a path names a host namespace, which only network
# may (the VM is attached to it); exec joins exactly the container's set.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# edit BUNDLE JQ-FILTER [jq args...]
edit() {
  local bundle=$1 filter=$2
  shift 2
  jq "$@" "$filter" "$bundle/config.json" > "$bundle/c.json" && mv "$bundle/c.json" "$bundle/config.json"
}

# set_namespaces BUNDLE TYPE... : linux.namespaces = those types, no paths
set_namespaces() {
  local bundle=$1
  shift
  local list
  list=$(printf '%s\n' "$@" | jq -R '{type: .}' | jq -s .)
  edit "$bundle" '.linux.namespaces = $l' --argjson l "$list"
}

@test "no uts and no pid namespace: the guest's hostname, and the container process is not PID 1" {
  set_namespaces "$BUNDLE" mount ipc network
  edit "$BUNDLE" 'del(.hostname)'
  set_args "$BUNDLE" /bin/sh -c 'probe hostname; probe pid'
  run husk run --bundle "$BUNDLE" nouts
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "(none)" ]
  [[ "${lines[1]}" == pid=* ]]
  [[ "${lines[1]}" != "pid=1 "* ]]
}

@test "a hostname without a uts namespace is an error at create, as in runc" {
  set_namespaces "$BUNDLE" mount pid
  run husk create --bundle "$BUNDLE" hostnouts
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"unable to set hostname without a private UTS namespace"* ]]
  [ ! -e "$HUSK_ROOT/hostnouts" ]
  [ -z "$(leftover_processes)" ]
}

@test "a cgroup namespace makes the container's cgroup its root" {
  set_namespaces "$BUNDLE" mount pid uts ipc network cgroup
  set_args "$BUNDLE" /bin/cat /proc/self/cgroup
  run husk run --bundle "$BUNDLE" cgns
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "0::/" ]
}

@test "without a cgroup namespace the container sees its cgroup's path" {
  set_args "$BUNDLE" /bin/cat /proc/self/cgroup
  run husk run --bundle "$BUNDLE" nocgns
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" != "0::/" ]
}

@test "a user namespace with uid and gid mappings: root inside, the mapping in /proc/self/uid_map" {
  set_namespaces "$BUNDLE" user mount pid uts ipc network
  edit "$BUNDLE" '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .process.rlimits = [{type: "RLIMIT_NOFILE", soft: 1048576, hard: 1048576}]'
  set_args "$BUNDLE" /bin/sh -c 'id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map; probe hostname; test -c /dev/null && echo devnull; ulimit -Hn; grep -c " /sys " /proc/mounts'
  run husk run --bundle "$BUNDLE" userns
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "0" ]
  [ "${lines[1]}" = "0" ]
  [ "$(echo "${lines[2]}" | tr -s ' ')" = " 0 100000 65536" ]
  [ "$(echo "${lines[3]}" | tr -s ' ')" = " 0 100000 65536" ]
  [ "${lines[4]}" = "husk" ]
  [ "${lines[5]}" = "devnull" ]
  [ "${lines[6]}" = "1048576" ]
  [ "${lines[7]}" = "1" ]
}

@test "a user namespace without mappings is an error at create" {
  set_namespaces "$BUNDLE" user mount pid uts
  run husk create --bundle "$BUNDLE" usernomap
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"uidMappings and gidMappings"* ]]
  [ ! -e "$HUSK_ROOT/usernomap" ]
}

@test "a network namespace with a path is accepted" {
  # (what its interfaces become: network.bats)
  ip netns add "husk-test-ns$$"
  edit "$BUNDLE" '.linux.namespaces |= map(if .type == "network" then .path = "/run/netns/husk-test-ns'$$'" else . end)'
  set_args "$BUNDLE" /bin/sh -c 'echo ran'
  run husk run --bundle "$BUNDLE" netpath
  ip netns del "husk-test-ns$$"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "ran" ]
  edit "$BUNDLE" '.linux.namespaces |= map(if .type == "network" then .path = "/run/netns/husk-test-none" else . end)'
  run husk run --bundle "$BUNDLE" netpath
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"network namespace /run/netns/husk-test-none: No such file or directory"* ]]
  [ ! -e "$HUSK_ROOT/netpath" ]
}

@test "an ipc namespace with a path is a clear error with nothing left" {
  edit "$BUNDLE" '.linux.namespaces |= map(if .type == "ipc" then .path = "/proc/1/ns/ipc" else . end)'
  run husk create --bundle "$BUNDLE" ipcpath
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *"joining an existing ipc namespace (path /proc/1/ns/ipc) is not possible across the VM boundary"* ]]
  [ ! -e "$HUSK_ROOT/ipcpath" ]
  [ -z "$(leftover_processes)" ]
}

@test "an unknown namespace type is a clear error" {
  edit "$BUNDLE" '.linux.namespaces += [{type: "bogus"}]'
  run husk create --bundle "$BUNDLE" bogus
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *'unknown namespace type "bogus"'* ]]
  [ ! -e "$HUSK_ROOT/bogus" ]
  [ -z "$(leftover_processes)" ]
}

@test "no mount namespace is a clear error" {
  set_namespaces "$BUNDLE" pid uts
  run husk create --bundle "$BUNDLE" nomnt
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"a mount namespace is required"* ]]
  [ ! -e "$HUSK_ROOT/nomnt" ]
}

# compare_exec_ns ID TYPE... : in an exec, /proc/1/ns/TYPE is /proc/self/ns/TYPE
compare_exec_ns() {
  local id=$1
  shift
  local script='' t
  for t in "$@"; do script="$script"'a=$(readlink /proc/1/ns/'"$t"'); b=$(readlink /proc/self/ns/'"$t"'); [ "$a" = "$b" ] && echo "'"$t"' same $a" || echo "'"$t"' differs $a $b";'; done
  run husk exec "$id" /bin/sh -c "$script"
  echo "$output"
  [ "$status" -eq 0 ]
  ! echo "$output" | grep -q differs
  [ "${#lines[@]}" -eq "$#" ]
}

@test "exec joins the same namespaces as the container init" {
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" exns </dev/null >/dev/null 2>&1
  husk start exns
  compare_exec_ns exns uts ipc mnt pid cgroup user
}

@test "exec joins user, cgroup and time namespaces too" {
  set_namespaces "$BUNDLE" user mount pid uts ipc network cgroup time
  edit "$BUNDLE" '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
    | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" exuser </dev/null >/dev/null 2>&1
  husk start exuser
  compare_exec_ns exuser uts ipc mnt pid cgroup user time
  run husk exec exuser /bin/sh -c 'id -u; cat /proc/self/cgroup; readlink /proc/self/ns/time; readlink /proc/self/ns/user'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "0" ]
  [ "${lines[1]}" = "0::/" ]
  # not the kernel's initial time and user namespaces (fixed inode numbers)
  [[ "${lines[2]}" == "time:["* ]] && [ "${lines[2]}" != "time:[4026531834]" ]
  [[ "${lines[3]}" == "user:["* ]] && [ "${lines[3]}" != "user:[4026531837]" ]
  cat > "$BATS_TEST_TMPDIR/process.json" <<'JSON'
{"terminal":false,"user":{"uid":1000,"gid":1000},"args":["/bin/sh","-c","probe ids; ulimit -Hn"],"env":["PATH=/bin"],"cwd":"/","rlimits":[{"type":"RLIMIT_NOFILE","soft":1048576,"hard":1048576}]}
JSON
  run husk exec --process "$BATS_TEST_TMPDIR/process.json" exuser
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "uid=1000 gid=1000 euid=1000 egid=1000 groups=" ]
  [ "${lines[1]}" = "1048576" ]
}

# kill --all walks the container's cgroup, not its pid namespace: without a
# pid namespace of its own that namespace is the guest's, shared by every
# child of husk-init (a pod's members too). A process of the VM outside the
# container's cgroup (here an exec'd one that moved itself out) is left alone.
@test "kill --all of a container without a pid namespace leaves husk-init's other children alone" {
  set_namespaces "$BUNDLE" mount ipc uts network
  edit "$BUNDLE" '.mounts += [{destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup",
    options: ["nosuid", "noexec", "nodev"]}]'
  # the init ignores SIGUSR1 (it must survive it, and so do the sleeps it
  # starts after the trap); the sleep it starts before does not
  set_args "$BUNDLE" /bin/sh -c 'sleep 1002 & echo $! > /tmp/in.pid; trap "" USR1; while :; do sleep 1; done'
  husk run --bundle "$BUNDLE" kby </dev/null >/dev/null 2>&1 &
  p=$!
  wait_status kby running
  husk exec --detach kby /bin/sh -c 'mkdir -p /sys/fs/cgroup/bystander &&
    echo $$ > /sys/fs/cgroup/bystander/cgroup.procs && echo $$ > /tmp/by.pid && exec sleep 1001' \
    </dev/null >/dev/null 2>&1
  for i in $(seq 100); do
    husk exec kby /bin/sh -c 'test -s /tmp/by.pid && test -s /tmp/in.pid' && break
    sleep 0.2
  done
  husk kill --all kby USR1
  sleep 1
  # a zombie (not yet reaped) counts as gone
  run husk exec kby /bin/sh -c '
    state() { grep "^State:" /proc/$1/status 2>/dev/null | grep -v zombie; }
    [ -n "$(state $(cat /tmp/by.pid))" ] && echo bystander-alive
    [ -z "$(state $(cat /tmp/in.pid))" ] && echo member-gone
    grep -qx "0::/bystander" /proc/$(cat /tmp/by.pid)/cgroup && echo bystander-outside'
  echo "$output"
  husk kill kby 9
  s=0; wait $p || s=$?
  [ "$s" -eq 137 ]
  [ "${lines[0]}" = "bystander-alive" ]
  [ "${lines[1]}" = "member-gone" ]
  [ "${lines[2]}" = "bystander-outside" ]
}
