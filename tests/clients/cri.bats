#!/usr/bin/env bats
# Kubernetes' CRI driving husk, without a kubelet or a registry, as
# docs/kubernetes.md shows: a private containerd 1.6 with its CRI plugin
# (runtime handler `husk` = the runc shim with husk as its binary), CNI from
# Debian's containernetworking-plugins (a bridge without iptables), a pause
# image built here from cri/pause.c, and the test client cri/cri_client.py
# (Debian's python3-grpcio, stubs from cri/cri.proto). containerd's root,
# state, sockets, the shims' roots, the CNI config and IPAM live under a temp
# dir; containerd is stopped by pid at the end and the bridge removed.

load helpers

PAUSE_IMAGE=localhost/husk-pause:latest
BRIDGE=hskcri0
SUBNET=10.213.77.0/24
PY=/usr/bin/python3
# cgroupfs: the pods' host cgroups go under this group, removed at the end
CGROUP_PARENT=/husk-cri-test

setup_file() {
  CTMP=$(client_tmpdir cri)
  export CTMP
  cni_netns > "$CTMP/netns.before"
  mkdir -p "$CTMP/cni"
  sed -e "s|@BRIDGE@|$BRIDGE|" -e "s|@SUBNET@|$SUBNET|" -e "s|@IPAM_DIR@|$CTMP/ipam|" \
    "$BATS_TEST_DIRNAME/cri/cni.conflist.in" > "$CTMP/cni/10-husk-cri.conflist"
  write_containerd_config > "$CTMP/config.toml"
  containerd --config "$CTMP/config.toml" > "$CTMP/containerd.log" 2>&1 </dev/null 3>&- &
  echo $! > "$CTMP/pid"
  if ! wait_for "containerd's CRI to answer" 120 cri call Version; then
    cat "$CTMP/containerd.log" >&2
    return 1
  fi
  c images import "$(make_pause_archive "$CTMP")" >/dev/null
  c images import "$(make_docker_archive "$CTMP")" >/dev/null
  rm -f "$CTMP"/*.tar
}

teardown_file() {
  local left="" id ns
  for id in $(cat "$CTMP/pods" 2>/dev/null); do
    cri call StopPodSandbox "{\"pod_sandbox_id\": \"$id\"}" >/dev/null 2>&1 || true
    cri call RemovePodSandbox "{\"pod_sandbox_id\": \"$id\"}" >/dev/null 2>&1 || true
  done
  left="$left$(stop_engine "$CTMP")"
  for id in $(cat "$CTMP/pods" 2>/dev/null); do
    [ -e "/run/husk/$id" ] && left="$left state:$id"
  done
  for ns in $(cni_netns | comm -13 "$CTMP/netns.before" -); do
    left="$left netns:$ns"
    ip netns delete "$ns" 2>/dev/null || true
  done
  ip link delete "$BRIDGE" 2>/dev/null || true
  remove_cgroups "$CGROUP_PARENT"
  remove_tmpdir "$CTMP"
  if [ -n "$left" ]; then
    echo "left behind:$left" >&2
    return 1
  fi
}

# the network namespaces containerd's CRI made (cni-<uuid>), sorted
cni_netns() {
  ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}' | sort
}

# remove_cgroups PATH: the group PATH (and groups below it) in every
# hierarchy, v1 or v2
remove_cgroups() {
  local d
  for d in $(find /sys/fs/cgroup -depth -type d -path "*$1*" 2>/dev/null); do
    rmdir "$d" 2>/dev/null || true
  done
}

# containerd with the CRI plugin: the sandbox image built here, CNI from
# the temp dir, handlers runc and husk (each shim with its own root there)
write_containerd_config() {
  cat <<EOF
version = 2
root = "$CTMP/root"
state = "$CTMP/state"

[grpc]
  address = "$CTMP/c.sock"
[ttrpc]
  address = "$CTMP/c.sock.ttrpc"
[debug]
  address = "$CTMP/debug.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTMP/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # the sandbox's oom_score_adj (-998) no lower than containerd's own: a
  # host that may not lower it (e.g. inside a container) refuses otherwise
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CTMP/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$CTMP/runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.husk.options]
        BinaryName = "$HUSK"
        Root = "$CTMP/husk"
EOF
}

# The pause image: cri/pause.c built static with musl, alone in an image
# FROM scratch (podman build in a throwaway store), as a docker-archive.
# Prints its path.
make_pause_archive() {
  local dir=$1
  local store=(--root "$dir/pstore/root" --runroot "$dir/pstore/run" --tmpdir "$dir/pstore/tmp"
    --volumepath "$dir/pstore/vol" --network-config-dir "$dir/pstore/net" --storage-driver vfs
    --cgroup-manager cgroupfs --events-backend file)
  mkdir -p "$dir/pause-ctx" "$dir/pstore/net"
  musl-gcc -static -Os -Wall -Wextra -Werror -o "$dir/pause-ctx/pause" "$BATS_TEST_DIRNAME/cri/pause.c"
  printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' > "$dir/pause-ctx/Containerfile"
  local out
  if ! out=$(podman "${store[@]}" build -q --network none -t "$PAUSE_IMAGE" "$dir/pause-ctx" 2>&1); then
    echo "$out" >&2
    return 1
  fi
  podman "${store[@]}" save --format docker-archive -o "$dir/pause-docker.tar" "$PAUSE_IMAGE" >/dev/null 2>&1
  remove_tmpdir "$dir/pstore"
  rm -rf "$dir/pause-ctx"
  echo "$dir/pause-docker.tar"
}

c() {
  ctr -a "$CTMP/c.sock" -n k8s.io "$@"
}

cri() {
  "$PY" "$BATS_TEST_DIRNAME/cri/cri_client.py" --sock "$CTMP/c.sock" "$@"
}

# the kubelet's default namespaces: the pod's network and IPC, a PID
# namespace per container (no shareProcessNamespace)
NS_OPTIONS='{"network": "POD", "pid": "CONTAINER", "ipc": "POD"}'

# the pod's size, as the kubelet sends it (the sum of its containers'
# limits): containerd passes it on as io.kubernetes.cri.sandbox-* annotations
POD_RESOURCES='{"memory_limit_in_bytes": 209715200, "cpu_shares": 512, "cpu_period": 100000, "cpu_quota": 100000}'

# pod_config NAME: a PodSandboxConfig
pod_config() {
  jq -n --arg n "$1" --arg d "$CTMP/logs/$1" --arg cg "$CGROUP_PARENT" --argjson ns "$NS_OPTIONS" \
    --argjson res "$POD_RESOURCES" \
    '{metadata: {name: $n, uid: ("uid-" + $n), namespace: "husk-test", attempt: 0}, hostname: $n,
      log_directory: $d, linux: {cgroup_parent: $cg, security_context: {namespace_options: $ns}, resources: $res}}'
}

# host_cpu_weight PID: the cpu.shares (cgroup v1) or cpu.weight (v2) of
# PID's host cgroup
host_cpu_weight() {
  local line path
  line=$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' "/proc/$1/cgroup" || true)
  if [ -n "$line" ]; then
    path=${line#*:*:}
    cat "/sys/fs/cgroup/$(cut -d: -f2 <<< "$line")$path/cpu.shares"
  else
    path=$(sed -n 's/^0:://p' "/proc/$1/cgroup")
    cat "/sys/fs/cgroup$path/cpu.weight"
  fi
}

# run_pod NAME HANDLER: RunPodSandbox; prints the sandbox id and records it
# for teardown_file
run_pod() {
  local id
  id=$(cri call RunPodSandbox "$(jq -n --argjson c "$(pod_config "$1")" --arg h "$2" \
    '{config: $c, runtime_handler: $h}')" | jq -r .pod_sandbox_id) || return 1
  [ -n "$id" ] && [ "$id" != null ] || return 1
  echo "$id" >> "$CTMP/pods"
  echo "$id"
}

# pod_status ID [verbose]: PodSandboxStatus (verbose: with containerd's info)
pod_status() {
  cri call PodSandboxStatus "{\"pod_sandbox_id\": \"$1\", \"verbose\": ${2:-false}}"
}

# create_container SANDBOX_ID POD_NAME NAME ARG...: CreateContainer with the
# test image running ARG...; prints the container's id
create_container() {
  local sandbox=$1 pod=$2 name=$3
  shift 3
  cri call CreateContainer "$(jq -n --arg s "$sandbox" --argjson sc "$(pod_config "$pod")" --arg n "$name" \
    --arg i "$IMAGE_NAME" --argjson ns "$NS_OPTIONS" --args '{pod_sandbox_id: $s, sandbox_config: $sc,
      config: {metadata: {name: $n}, image: {image: $i}, command: $ARGS.positional, log_path: ($n + ".log"),
        linux: {security_context: {namespace_options: $ns}}}}' \
    "$@")" | jq -r .container_id
}

# the pids of QEMU processes whose command line names ID
qemu_of() {
  pgrep -f -- "qemu-system.*$1" || true
}

# a TCP connection to port 1 of IP: "refused" means the IP answered (RST)
tcp_probe() {
  timeout 20 bash -c "exec 3<>/dev/tcp/$1/1" 2>&1 || true
}

@test "RunPodSandbox with handler husk: the pause container is a VM, PodSandboxStatus gives the CNI pod IP, which answers" {
  id=$(run_pod p1 husk)
  echo "sandbox $id"
  echo "$id" > "$CTMP/p1"
  run pod_status "$id"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .status.state <<< "$output")" = SANDBOX_READY ]
  [ "$(jq -r .status.runtime_handler <<< "$output")" = husk ]
  ip=$(jq -r .status.network.ip <<< "$output")
  [[ "$ip" == 10.213.77.* ]]
  # husk's state for the sandbox: running, its pid a monitor with one QEMU
  run "$HUSK" --root "$CTMP/husk/k8s.io" state "$id"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(jq -r .status <<< "$output")" = running ]
  [ "$(jq -r '.annotations["io.kubernetes.cri.container-type"]' <<< "$output")" = sandbox ]
  pid=$(jq -r .pid <<< "$output")
  qemu=$(qemu_of "$id")
  echo "monitor $pid, qemu $qemu"
  [ "$(wc -w <<< "$qemu")" -eq 1 ]
  # sized from the pod: 200 MiB + 96, one vCPU, the pod's CPU weight (cpu.shares
  # 512, or runc's cpu.weight for it on v2), not the pause container's 2
  args=$(tr '\0' ' ' < "/proc/$qemu/cmdline")
  [[ "$args" == *" -m 296M "* ]]
  [[ "$args" == *" -smp 1 "* ]]
  weight=$(host_cpu_weight "$qemu")
  echo "host CPU weight $weight"
  [ "$weight" = 512 ] || [ "$weight" = 20 ]
  # the pod's veth belongs to the VM: its answer comes from the guest
  run tcp_probe "$ip"
  echo "$output"
  [[ "$output" == *"refused"* ]]
}

@test "CreateContainer, StartContainer, ExecSync: two containers in the sandbox's VM" {
  id=$(cat "$CTMP/p1")
  [ -n "$id" ]
  qemu=$(qemu_of "$id")
  ip=$(pod_status "$id" | jq -r .status.network.ip)
  c1=$(create_container "$id" p1 c1 sleep 100000)
  c2=$(create_container "$id" p1 c2 sleep 100000)
  echo "$c1 $c2" >> "$CTMP/containers"
  cri call StartContainer "{\"container_id\": \"$c1\"}"
  cri call StartContainer "{\"container_id\": \"$c2\"}"
  for c in "$c1" "$c2"; do
    [ "$(cri call ContainerStatus "{\"container_id\": \"$c\"}" | jq -r .status.state)" = CONTAINER_RUNNING ]
  done
  # one network (the pod's interface and address) and one guest kernel
  links1=$(cri exec "$c1" ip link)
  links2=$(cri exec "$c2" ip link)
  echo "$links1"
  [ "$links1" = "$links2" ]
  [[ "$(cri exec "$c1" ip -4 addr)" == *"inet $ip/"* ]]
  version1=$(cri exec "$c1" cat /proc/version)
  version2=$(cri exec "$c2" cat /proc/version)
  echo "$version1"
  [ "$version1" = "$version2" ]
  [[ "$version1" == *"$(guest_release)"* ]]
  [[ "$version1" != *"$(uname -r)"* ]]
  # no VM of their own
  [ "$(qemu_of "$id")" = "$qemu" ]
  # an exit code comes back through ExecSync
  run cri exec "$c2" sh -c 'exit 3'
  [ "$status" -eq 3 ]
  # one container stopped and removed: the other and the VM stay
  cri --timeout 180 call StopContainer "{\"container_id\": \"$c1\", \"timeout\": 10}"
  [ "$(cri call ContainerStatus "{\"container_id\": \"$c1\"}" | jq -r .status.state)" = CONTAINER_EXITED ]
  cri call RemoveContainer "{\"container_id\": \"$c1\"}"
  run cri call ContainerStatus "{\"container_id\": \"$c1\"}"
  [[ "$output" == *NOT_FOUND* ]]
  [ ! -e "/run/husk/$c1" ]
  [ "$(cri exec "$c2" cat /proc/version)" = "$version1" ]
  [ "$(qemu_of "$id")" = "$qemu" ]
}

@test "StopPodSandbox and RemovePodSandbox leave no process, mount, state or netns" {
  id=$(cat "$CTMP/p1")
  [ -n "$id" ]
  netns=$(pod_status "$id" true | jq -r '.info.info // empty' | jq -r '.runtimeSpec.linux.namespaces[] | select(.type == "network") | .path')
  # containerd waits for the sandbox's exit to be handled (a kill that husk
  # answered in words the shim did not know kept it waiting forever)
  cri --timeout 180 call StopPodSandbox "{\"pod_sandbox_id\": \"$id\"}"
  [ -z "$(qemu_of "$id")" ]
  cri --timeout 180 call RemovePodSandbox "{\"pod_sandbox_id\": \"$id\"}"
  run pod_status "$id"
  [ "$status" -ne 0 ]
  [[ "$output" == *NOT_FOUND* ]]
  [ -z "$(husk_processes_of "$id")" ]
  [ ! -e "/run/husk/$id" ]
  [ ! -e "$CTMP/husk/k8s.io/$id" ]
  # and the pod's containers went with it
  for c in $(cat "$CTMP/containers" 2>/dev/null); do
    [ -z "$(husk_processes_of "$c")" ]
    [ ! -e "/run/husk/$c" ]
  done
  [ -z "$(findmnt -rn -o TARGET | grep -F "$id" || true)" ]
  [ -z "$(pgrep -f -- "virtiofsd.*$id" || true)" ]
  [ -z "$(find /sys/fs/cgroup -type d -path "*$CGROUP_PARENT/*$id*")" ]
  echo "netns $netns"
  [ -n "$netns" ]
  [ ! -e "$netns" ]
}
