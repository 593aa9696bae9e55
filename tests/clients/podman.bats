#!/usr/bin/env bats
# podman (4.3, with conmon) runs husk. podman keeps everything under a temp
# dir (--root, --runroot, --tmpdir, --volumepath, its network config and a
# containers.conf of its own, as docs/podman.md shows); husk keeps its
# state in its default /run/husk.

load helpers

setup_file() {
  PTMP=$(client_tmpdir podman)
  export PTMP
  mkdir -p "$PTMP/net"
  cat > "$PTMP/containers.conf" <<EOF
[engine]
runtime = "husk"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "husk"]
cgroup_manager = "cgroupfs"
events_logger = "file"

[engine.runtimes]
husk = ["$HUSK"]
EOF
  export CONTAINERS_CONF=$PTMP/containers.conf
  tar=$(make_rootfs_tar "$PTMP")
  pm import --change 'CMD ["/bin/sh"]' "$tar" "$IMAGE_NAME" >/dev/null
  [ -z "${HUSK_CLIENT_POOL:-}" ] || client_pool_start "$HUSK_CLIENT_POOL" suite-pool
}

teardown_file() {
  local ids left="" id
  ids=$(pm ps -aq --no-trunc 2>/dev/null || true)
  pm pod rm -af -t 0 >/dev/null 2>&1 || true
  pm rm -af -t 0 >/dev/null 2>&1 || true
  for id in $ids; do
    [ -e "/run/husk/$id" ] && left="$left state:$id"
    [ -n "$(husk_processes_of "$id")" ] && left="$left processes:$id"
  done
  [ -n "$(pgrep -af conmon | grep -F "$PTMP")" ] && left="$left conmon"
  [ -z "$(client_pool_stop suite-pool)" ] || left="$left pool-vms"
  remove_tmpdir "$PTMP"
  if [ -n "$left" ]; then
    echo "left behind:$left" >&2
    return 1
  fi
}

teardown() {
  tty_stop
  pm pod rm -af -t 0 >/dev/null 2>&1 || true
  pm rm -af -t 0 >/dev/null 2>&1 || true
  client_pool_stop >/dev/null
}

pm() {
  podman --root "$PTMP/root" --runroot "$PTMP/run" --tmpdir "$PTMP/tmp" --volumepath "$PTMP/vol" \
    --network-config-dir "$PTMP/net" --storage-driver vfs --cgroup-manager cgroupfs --events-backend file "$@"
}

prun() {
  pm run --rm --network=none "$@"
}

# a shell line for tmux, with this suite's podman settings
pm_cmdline() {
  printf 'CONTAINERS_CONF=%q podman --root %q --runroot %q --tmpdir %q --volumepath %q --network-config-dir %q --storage-driver vfs --cgroup-manager cgroupfs --events-backend file' \
    "$CONTAINERS_CONF" "$PTMP/root" "$PTMP/run" "$PTMP/tmp" "$PTMP/vol" "$PTMP/net"
}

running() {
  [ "$(pm inspect -f '{{.State.Status}}' "$1" 2>/dev/null)" = running ]
}

logs_have() {
  pm logs "$1" 2>&1 | grep -qF -- "$2"
}

@test "podman uses husk: the container runs on husk's guest kernel" {
  run pm info --format '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}'
  [ "$output" = "husk $HUSK" ]
  run prun "$IMAGE_NAME" probe kernel
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$(guest_release)" ]
  [ "$output" != "$(uname -r)" ]
}

@test "run --rm: exit codes 0 and 7; the container is removed" {
  run prun --name rm0 "$IMAGE_NAME" sh -c 'echo out; exit 0'
  [ "$status" -eq 0 ]
  [ "$output" = out ]
  run prun --name rm7 "$IMAGE_NAME" sh -c 'exit 7'
  [ "$status" -eq 7 ]
  run pm ps -aq --filter name=rm7
  [ -z "$output" ]
}

@test "with a pool on /run/husk: run -d takes a pool VM (state names it), exec, rm -f leaves nothing; run --rm's exit code as cold" {
  client_pool_start 1
  pm run -d --network=none --name pl1 "$IMAGE_NAME" sh -c 'echo up; exec sleep 1000'
  wait_for "pl1 to log" 120 logs_have pl1 up
  id=$(pm inspect -f '{{.Id}}' pl1)
  vm=$(client_vm_dir "$id")
  echo "vm_dir: $vm"
  [[ "$vm" == /run/husk/pool.d/* ]]
  [ -d "$vm" ]
  run pm exec pl1 sh -c 'probe kernel; exit 4'
  [ "$status" -eq 4 ]
  [ "$output" = "$(guest_release)" ]
  pm rm -f -t 0 pl1
  [ ! -e "/run/husk/$id" ]
  [ ! -e "$vm" ]
  [ -z "$(husk_processes_of "$id")" ]
  [ -z "$(husk_processes_of "$vm/")" ]
  client_pool_start 1 # replaced
  run prun "$IMAGE_NAME" sh -c 'echo warm; exit 7'
  [ "$status" -eq 7 ]
  [ "$output" = warm ]
  [ -z "$(client_pool_stop)" ]
}

@test "run --rm killed with podman kill exits 137" {
  pm run --rm --network=none --name kill137 "$IMAGE_NAME" sh -c 'echo ready; exec sleep 1000' > "$BATS_TEST_TMPDIR/out" 2>&1 &
  p=$!
  wait_for "the container to print ready" 120 grep -q ready "$BATS_TEST_TMPDIR/out"
  pm kill kill137
  s=0; wait $p || s=$?
  [ "$s" -eq 137 ]
}

@test "run -d, logs, stop (SIGTERM reaches the process: 143), rm" {
  pm run -d --network=none --name d1 "$IMAGE_NAME" \
    sh -c 'trap "echo got-term; exit 143" TERM; echo started-$(hostname); while :; do sleep 1; done'
  wait_for "d1 to log" 120 logs_have d1 started-
  run pm logs d1
  [ "$output" = "started-$(pm inspect -f '{{.Config.Hostname}}' d1)" ]
  pm stop -t 60 d1
  run pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' d1
  [ "$output" = "exited 143" ]
  run pm logs d1
  [ "${lines[1]}" = got-term ]
  id=$(pm inspect -f '{{.Id}}' d1)
  pm rm d1
  [ ! -e "/run/husk/$id" ]
  [ -z "$(husk_processes_of "$id")" ]
}

@test "run -it: the process has a terminal of the pane's size; typed input and the exit code arrive" {
  tty_start it1 100 30 "$(pm_cmdline) run -it --rm --network=none $IMAGE_NAME sh; echo EXIT=\$?"
  tty_shell_checks it1
}

@test "exec: runs in the container (its pid namespace, files), exit codes come back" {
  pm run -d --network=none --name ex1 "$IMAGE_NAME" sh -c 'echo mark > /tmp/mark; exec sleep 1000'
  wait_for "ex1 to run sleep" 120 pm exec ex1 grep -qx sleep /proc/1/comm
  run pm exec ex1 sh -c 'cat /tmp/mark; cat /proc/1/comm; probe kernel'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = mark ]
  [ "${lines[1]}" = sleep ]
  [ "${lines[2]}" = "$(guest_release)" ]
  run pm exec ex1 sh -c 'exit 5'
  [ "$status" -eq 5 ]
  run pm exec --user 65534:65534 -w /tmp -e X=exec-env ex1 sh -c 'probe ids; pwd; echo $X'
  [[ "${lines[0]}" == "uid=65534 gid=65534 euid=65534 egid=65534 groups="* ]]
  [ "${lines[1]}" = /tmp ]
  [ "${lines[2]}" = exec-env ]
}

@test "exec -it: a terminal, typed input, the exit code" {
  pm run -d --network=none --name ex2 "$IMAGE_NAME" sleep 1000
  wait_for "ex2 to run" 120 running ex2
  tty_start ex2 90 20 "$(pm_cmdline) exec -it ex2 sh; echo EXIT=\$?"
  tty_wait ex2 '/ #'
  tty_type ex2 'tty; stty size; cat /proc/1/comm; echo typed-$((6*7))'
  tty_wait ex2 typed-42
  tty_type ex2 'exit 4'
  tty_wait ex2 EXIT=4
  screen=$(tty_screen ex2)
  echo "$screen"
  grep -qx '/dev/pts/[0-9]*' <<< "$screen"
  grep -qx '20 90' <<< "$screen"
  grep -qx 'sleep' <<< "$screen"
}

@test "kill: a signal reaches the process; the default kill ends it with 137" {
  pm run -d --network=none --name k1 "$IMAGE_NAME" sh -c 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 1; done'
  wait_for "k1 to log" 120 logs_have k1 ready
  pm kill -s USR1 k1
  wait_for "the trap to run" 60 logs_have k1 got-usr1
  running k1
  pm kill k1
  pm wait k1
  run pm inspect -f '{{.State.ExitCode}}' k1
  [ "$output" = 137 ]
}

@test "restart: a new VM (new boot id), running again" {
  pm run -d --network=none --name r1 "$IMAGE_NAME" sh -c 'echo boot-$(cat /proc/sys/kernel/random/boot_id); exec sleep 1000'
  wait_for "r1 to log" 120 logs_have r1 boot-
  first=$(pm logs r1 | grep boot-)
  pm restart -t 0 r1
  wait_for "r1 to log twice" 120 bash -c "[ \$($(pm_cmdline) logs r1 | grep -c boot-) -ge 2 ]"
  running r1
  second=$(pm logs r1 | grep boot- | tail -1)
  [ "$first" != "$second" ]
}

@test "pause/unpause: a paused container does not run" {
  mkdir -p "$BATS_TEST_TMPDIR/count"
  pm run -d --network=none --name p1 -v "$BATS_TEST_TMPDIR/count:/count" "$IMAGE_NAME" \
    sh -c 'i=0; while :; do i=$((i+1)); echo $i > /count/n; sleep 0.2; done'
  wait_for "p1 to count" 120 test -s "$BATS_TEST_TMPDIR/count/n"
  pm pause p1
  [ "$(pm inspect -f '{{.State.Status}}' p1)" = paused ]
  a=$(cat "$BATS_TEST_TMPDIR/count/n")
  sleep 3
  b=$(cat "$BATS_TEST_TMPDIR/count/n")
  [ "$a" = "$b" ]
  pm unpause p1
  [ "$(pm inspect -f '{{.State.Status}}' p1)" = running ]
  wait_for "p1 to count again" 60 bash -c "[ \"\$(cat '$BATS_TEST_TMPDIR/count/n')\" != '$b' ]"
}

@test "--read-only: the rootfs cannot be written, /tmp can" {
  run prun --read-only "$IMAGE_NAME" sh -c 'touch /x 2>&1; touch /tmp/y && echo tmp-ok; grep " / " /proc/mounts'
  echo "$output"
  [[ "${lines[0]}" == *"Read-only file system"* ]]
  [ "${lines[1]}" = tmp-ok ]
  [[ "${lines[2]}" == *" ro,"* || "${lines[2]}" == *" ro "* ]]
}

@test "-v: directories and files, read-write and read-only" {
  d=$BATS_TEST_TMPDIR/vol
  mkdir -p "$d/rw" "$d/ro"
  echo in-ro-dir > "$d/ro/f"
  echo file-ro > "$d/fro"
  echo file-rw > "$d/frw"
  run prun -v "$d/rw:/rw" -v "$d/ro:/ro:ro" -v "$d/fro:/fro:ro" -v "$d/frw:/frw" "$IMAGE_NAME" sh -c '
    echo from-container > /rw/new && echo rw-dir-ok
    cat /ro/f; (echo x > /ro/g) 2>&1 | grep -q "Read-only file system" && echo ro-dir-refused
    cat /fro; (echo x > /fro) 2>&1 | grep -q "Read-only file system" && echo ro-file-refused
    cat /frw; echo changed > /frw && echo rw-file-ok'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf 'rw-dir-ok\nin-ro-dir\nro-dir-refused\nfile-ro\nro-file-refused\nfile-rw\nrw-file-ok')" ]
  [ "$(cat "$d/rw/new")" = from-container ]
  [ ! -e "$d/ro/g" ]
  [ "$(cat "$d/fro")" = file-ro ]
  [ "$(cat "$d/frw")" = changed ]
}

@test "--tmpfs, --shm-size" {
  run prun --tmpfs /scratch:size=1m --shm-size 32m "$IMAGE_NAME" sh -c 'grep " /scratch " /proc/mounts; df -k /dev/shm | tail -1'
  echo "$output"
  [[ "${lines[0]}" == "tmpfs /scratch tmpfs "*"size=1024k"* ]]
  [ "$(echo "${lines[1]}" | awk '{print $2}')" = 32768 ]
}

@test "--sysctl: namespaced and guest-wide keys" {
  run prun --sysctl net.ipv4.ip_forward=1 --sysctl kernel.shm_rmid_forced=1 "$IMAGE_NAME" \
    cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '1\n1')" ]
}

@test "--ulimit" {
  run prun --ulimit nofile=512:1024 --ulimit nproc=100:200 "$IMAGE_NAME" probe rlimits
  echo "$output"
  [ "${lines[0]}" = "RLIMIT_NOFILE 512 1024" ]
  [ "${lines[1]}" = "RLIMIT_NPROC 100 200" ]
}

@test "--user, --hostname, -e, -w" {
  run prun --user 65534:65534 --hostname hbox -e GREETING=hi -w /tmp "$IMAGE_NAME" \
    sh -c 'probe ids; probe hostname; echo $GREETING; probe cwd'
  echo "$output"
  [ "${lines[0]}" = "uid=65534 gid=65534 euid=65534 egid=65534 groups=65534" ]
  [ "${lines[1]}" = hbox ]
  [ "${lines[2]}" = hi ]
  [ "${lines[3]}" = /tmp ]
}

@test "--cap-drop all --cap-add NET_ADMIN; the default set lacks NET_ADMIN" {
  run prun --cap-drop all --cap-add NET_ADMIN "$IMAGE_NAME" probe status
  echo "$output"
  grep -qx $'CapEff:\t0000000000001000' <<< "$output"
  grep -qx $'CapBnd:\t0000000000001000' <<< "$output"
  run prun "$IMAGE_NAME" probe status
  eff=$(awk '/^CapEff:/ {print $2}' <<< "$output")
  [ $((0x$eff & 0x1000)) -eq 0 ]
  [ $((0x$eff & 0x1)) -ne 0 ] # CAP_CHOWN
}

@test "--privileged: all of podman's capabilities, no seccomp, the host's device list as guest nodes, /dev/ptmx from devpts" {
  run prun --privileged "$IMAGE_NAME" sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status; ls -ln /dev/net/tun; readlink /dev/ptmx; uname -r'
  echo "$output"
  [ "$status" -eq 0 ]
  eff=$(awk '/^CapEff:/ {print $2}' <<< "$output")
  # CAP_NET_ADMIN (12), CAP_SYS_ADMIN (21), CAP_MKNOD (27): none in the default set
  [ $((0x$eff & (1 << 12))) -ne 0 ] && [ $((0x$eff & (1 << 21))) -ne 0 ] && [ $((0x$eff & (1 << 27))) -ne 0 ]
  grep -qx $'Seccomp:\t0' <<< "$output"
  # the host's /dev/net/tun, listed in linux.devices, is a node of the same numbers in the guest
  grep -Eq '^crw.* 10, +200 .*/dev/net/tun$' <<< "$output"
  # the host's /dev/ptmx is listed too; as in runc, /dev/ptmx stays the link into devpts
  grep -qx 'pts/ptmx' <<< "$output"
  [[ "$output" == *-husk* ]]
}

@test "--security-opt no-new-privileges" {
  run prun --security-opt no-new-privileges "$IMAGE_NAME" probe status
  grep -qx $'NoNewPrivs:\t1' <<< "$output"
  run prun "$IMAGE_NAME" probe status
  grep -qx $'NoNewPrivs:\t0' <<< "$output"
}

@test "--security-opt seccomp=FILE, and seccomp=unconfined" {
  cat > "$BATS_TEST_TMPDIR/seccomp.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
EOF
  run prun --security-opt seccomp="$BATS_TEST_TMPDIR/seccomp.json" "$IMAGE_NAME" \
    sh -c 'mkdir /tmp/d 2>&1; grep Seccomp: /proc/self/status'
  echo "$output"
  [[ "${lines[0]}" == *"Operation not permitted"* ]]
  [ "${lines[1]}" = $'Seccomp:\t2' ]
  run prun --security-opt seccomp=unconfined "$IMAGE_NAME" sh -c 'mkdir /tmp/d && echo made; grep Seccomp: /proc/self/status'
  [ "${lines[0]}" = made ]
  [ "${lines[1]}" = $'Seccomp:\t0' ]
}

@test "--memory: the limit is the container's; an OOM is reported" {
  run prun --memory 64m "$IMAGE_NAME" cat /sys/fs/cgroup/container/memory.max
  [ "$output" = 67108864 ]
  run pm run --network=none --name oom1 --memory 64m "$IMAGE_NAME" \
    sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived'
  [ "$status" -eq 137 ]
  [[ "$output" != *survived* ]]
  [ "$(pm inspect -f '{{.State.OOMKilled}} {{.State.ExitCode}}' oom1)" = "true 137" ]
}

@test "--pids-limit" {
  run prun --pids-limit 20 "$IMAGE_NAME" sh -c 'cat /sys/fs/cgroup/container/pids.max; probe forks 50'
  echo "$output"
  [ "${lines[0]}" = 20 ]
  [ "${lines[1]}" = "forked 19" ]
}

@test "--network=none: only loopback" {
  run prun "$IMAGE_NAME" sh -c 'ls /sys/class/net; cat /sys/class/net/lo/operstate'
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qx lo <<< "$output"
  ! grep -qE '^(eth|ens|enp)' <<< "$output"
}

# NOTIFY_LOG has a datagram that is $1 or has $1 as one of its lines
notify_has() {
  [ -f "$NOTIFY_LOG" ] && jq -s -e --arg want "$1" 'any(.[]; .d | split("\n") | index($want) != null)' \
    "$NOTIFY_LOG" >/dev/null
}

@test "--sdnotify=container: the container's READY=1 reaches NOTIFY_SOCKET through conmon, with podman's MAINPID" {
  # a listener where systemd's notify socket would be (Type=notify, quadlet's Notify=true)
  local sock=$PTMP/notify.sock listener
  NOTIFY_LOG=$BATS_TEST_TMPDIR/notify.log
  python3 "$TOP/tests/e2e/notify_listen.py" "$sock" "$NOTIFY_LOG" "$BATS_TEST_TMPDIR/listening" 300 \
    </dev/null >/dev/null 2>&1 3>&- &
  listener=$!
  wait_for "the notify listener" 10 test -e "$BATS_TEST_TMPDIR/listening"
  NOTIFY_SOCKET=$sock pm run -d --network=none --sdnotify=container --name sd1 "$IMAGE_NAME" \
    sh -c 'echo "$NOTIFY_SOCKET"; probe notify STATUS=starting; probe notify READY=1 && echo notified; exec sleep 1000'
  wait_for "READY=1 on the notify socket" 120 notify_has READY=1
  # podman names conmon as the service's main pid; the container's process
  # is a guest process, so conmon (or husk's monitor) is what systemd watches
  conmon=$(pm inspect -f '{{.State.ConmonPid}}' sd1)
  cat "$NOTIFY_LOG"
  notify_has "MAINPID=$conmon"
  wait_for "sd1 to log" 60 logs_have sd1 notified
  run pm logs sd1
  [ "${lines[0]}" = /run/notify/notify.sock ]
  [ "$(pm inspect -f '{{.State.Status}}' sd1)" = running ]
  pm rm -f -t 0 sd1
  kill "$listener" 2>/dev/null || true
}

@test "pod create + pod start: the infra container (podman-pause, built here from catatonit) runs in a husk VM; pod rm -f leaves nothing" {
  # Podman 4.3 builds localhost/podman-pause from the host's catatonit: no registry
  pm pod create --name pod1
  pm images --format '{{.Repository}}' | grep -qx localhost/podman-pause
  pm pod start pod1
  local infra st pid qemu netns
  infra=$(pm pod inspect -f '{{.InfraContainerID}}' pod1)
  [ -n "$infra" ]
  [ "$(pm inspect -f '{{.State.Status}}' "$infra")" = running ]
  # husk's container, with a VM of its own
  st=/run/husk/$infra/state.json
  [ "$(jq -r .status "$st")" = running ]
  qemu=$(jq .qemu.pid "$st")
  [ "$qemu" -gt 0 ]
  grep -q qemu-system "/proc/$qemu/cmdline"
  # its pid (the monitor) is in the pod's network namespace
  pid=$("$HUSK" state "$infra" | jq .pid)
  netns=$(pm inspect -f '{{.NetworkSettings.SandboxKey}}' "$infra")
  [ -n "$netns" ]
  [ "$(stat -L -c %i "/proc/$pid/ns/net")" = "$(stat -L -c %i "$netns")" ]
  pm pod rm -f pod1
  # nothing left: no state, no qemu/virtiofsd/monitor, no mount, no conmon
  ! pm pod exists pod1
  [ ! -e "/run/husk/$infra" ]
  [ -z "$(husk_processes_of "$infra")" ]
  [ -z "$(findmnt -rn -o TARGET | grep -F "$infra")" ]
  ! kill -0 "$qemu" 2>/dev/null
}

@test "pod with two run --pod members: one VM (the infra's), localhost and IPC shared; pod rm -f leaves nothing" {
  pm pod create --name pod2
  pm run -d --pod pod2 --name pa "$IMAGE_NAME" sh -c \
    'mkdir -p /www && echo pod-web > /www/marker && httpd -p 127.0.0.1:8080 -h /www && probe shm-put 4242 from-pa && echo ready && exec sleep 100000'
  wait_for "pa to serve" 120 logs_have pa ready
  pm run -d --pod pod2 --name pb "$IMAGE_NAME" sh -c \
    'wget -q -O - http://127.0.0.1:8080/marker; probe shm-get 4242; echo done; exec sleep 100000'
  wait_for "pb to finish its probes" 120 logs_have pb done
  run pm logs pb
  echo "$output"
  [ "${lines[0]}" = pod-web ]
  [ "${lines[1]}" = from-pa ]
  local infra a b qemu id
  infra=$(pm pod inspect -f '{{.InfraContainerID}}' pod2)
  a=$(pm inspect -f '{{.Id}}' pa)
  b=$(pm inspect -f '{{.Id}}' pb)
  [ "$(jq -r .sandbox "/run/husk/$a/state.json")" = "$infra" ]
  [ "$(jq -r .sandbox "/run/husk/$b/state.json")" = "$infra" ]
  qemu=$(jq .qemu.pid "/run/husk/$infra/state.json")
  grep -q qemu-system "/proc/$qemu/cmdline"
  [ -z "$(pgrep -f "^qemu-system.*($a|$b)")" ]
  pm pod rm -f -t 0 pod2
  ! pm pod exists pod2
  for id in "$infra" "$a" "$b"; do
    [ ! -e "/run/husk/$id" ]
    [ -z "$(husk_processes_of "$id")" ]
    [ -z "$(findmnt -rn -o TARGET | grep -F "$id")" ]
  done
  ! kill -0 "$qemu" 2>/dev/null
}
