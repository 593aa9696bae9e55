#!/usr/bin/env bats
# Docker (dockerd 20.10 from docker.io, with the containerd it starts
# itself) runs husk as a runtime named in daemon.json, as docs/docker.md
# shows. dockerd's data, exec root, socket and config live under a temp dir;
# it is stopped by pid at the end.

load helpers

DOCKER=/usr/bin/docker

setup_file() {
  DTMP=$(client_tmpdir docker)
  export DTMP
  export DOCKER_CONFIG=$DTMP/cli
  mkdir -p "$DOCKER_CONFIG"
  cat > "$DTMP/daemon.json" <<EOF
{
  "runtimes": {
    "husk": { "path": "$HUSK" }
  }
}
EOF
  dockerd --config-file "$DTMP/daemon.json" --data-root "$DTMP/root" --exec-root "$DTMP/exec" \
    --pidfile "$DTMP/dockerd.pid" -H "unix://$DTMP/docker.sock" --iptables=false --ip6tables=false \
    --bridge=none --storage-driver=vfs > "$DTMP/dockerd.log" 2>&1 </dev/null 3>&- &
  echo $! > "$DTMP/pid"
  if ! wait_for "dockerd to answer" 120 dk version; then
    cat "$DTMP/dockerd.log" >&2
    return 1
  fi
  archive=$(make_docker_archive "$DTMP")
  dk load -i "$archive" >/dev/null
  [ -z "${HUSK_CLIENT_POOL:-}" ] || client_pool_start "$HUSK_CLIENT_POOL" suite-pool
}

teardown_file() {
  local ids left="" id
  ids=$(dk ps -aq --no-trunc 2>/dev/null || true)
  [ -n "$ids" ] && dk rm -f $ids >/dev/null 2>&1
  for id in $ids; do
    [ -e "/run/husk/$id" ] && left="$left state:$id"
    [ -n "$(husk_processes_of "$id")" ] && left="$left processes:$id"
  done
  left="$left$(stop_engine "$DTMP")"
  [ -z "$(client_pool_stop suite-pool)" ] || left="$left pool-vms"
  remove_tmpdir "$DTMP"
  if [ -n "$left" ]; then
    echo "left behind:$left" >&2
    return 1
  fi
}

teardown() {
  tty_stop
  local ids
  ids=$(dk ps -aq 2>/dev/null || true)
  [ -n "$ids" ] && dk rm -f $ids >/dev/null 2>&1
  client_pool_stop >/dev/null
  return 0
}

dk() {
  "$DOCKER" -H "unix://$DTMP/docker.sock" "$@"
}

drun() {
  dk run --rm --runtime husk --network none "$@"
}

logs_have() {
  dk logs "$1" 2>&1 | grep -qF -- "$2"
}

@test "docker run --rm --runtime husk: husk's guest kernel, exit codes 0 and 7" {
  run drun "$IMAGE_NAME" probe kernel
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "$(guest_release)" ]
  [ "$output" != "$(uname -r)" ]
  run drun "$IMAGE_NAME" sh -c 'exit 7'
  [ "$status" -eq 7 ]
}

@test "with a pool on /run/husk: run -d takes a pool VM (state names it), exec, rm -f leaves nothing; run --rm's exit code as cold" {
  client_pool_start 1
  dk run -d --runtime husk --network none --name pl1 "$IMAGE_NAME" sh -c 'echo up; exec sleep 1000'
  wait_for "pl1 to log" 120 logs_have pl1 up
  id=$(dk inspect -f '{{.Id}}' pl1)
  vm=$(client_vm_dir "$id")
  echo "vm_dir: $vm"
  [[ "$vm" == /run/husk/pool.d/* ]]
  [ -d "$vm" ]
  run dk exec pl1 sh -c 'probe kernel; exit 4'
  [ "$status" -eq 4 ]
  [ "$output" = "$(guest_release)" ]
  dk rm -f pl1
  [ ! -e "/run/husk/$id" ]
  [ ! -e "$vm" ]
  [ -z "$(husk_processes_of "$id")" ]
  [ -z "$(husk_processes_of "$vm/")" ]
  client_pool_start 1 # replaced
  run drun "$IMAGE_NAME" sh -c 'echo warm; exit 7'
  [ "$status" -eq 7 ]
  [ "$output" = warm ]
  [ -z "$(client_pool_stop)" ]
}

@test "run -d, logs, stop (SIGTERM reaches the process: 143), start again, rm" {
  dk run -d --runtime husk --network none --name d1 "$IMAGE_NAME" \
    sh -c 'trap "echo got-term; exit 143" TERM; echo started-$(cat /proc/sys/kernel/random/boot_id); while :; do sleep 1; done'
  wait_for "d1 to log" 120 logs_have d1 started-
  [ "$(dk inspect -f '{{.HostConfig.Runtime}}' d1)" = husk ]
  dk stop -t 60 d1
  [ "$(dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' d1)" = "exited 143" ]
  run dk logs d1
  [ "${lines[1]}" = got-term ]
  dk start d1
  wait_for "d1 to log again" 120 bash -c "[ \$('$DOCKER' -H 'unix://$DTMP/docker.sock' logs d1 | grep -c started-) -ge 2 ]"
  [ "$(dk inspect -f '{{.State.Status}}' d1)" = running ]
  run dk logs d1
  first=$(echo "$output" | grep started- | head -1)
  second=$(echo "$output" | grep started- | tail -1)
  [ "$first" != "$second" ] # a new VM: a new boot id
  id=$(dk inspect -f '{{.Id}}' d1)
  dk rm -f d1
  run dk ps -aq --filter name=d1
  [ -z "$output" ]
  [ ! -e "/run/husk/$id" ]
  [ -z "$(husk_processes_of "$id")" ]
}

@test "exec: in the container's pid namespace and files; exit codes; user, cwd, env" {
  dk run -d --runtime husk --network none --name ex1 "$IMAGE_NAME" sh -c 'echo mark > /tmp/mark; exec sleep 1000'
  wait_for "ex1 to run sleep" 120 dk exec ex1 grep -qx sleep /proc/1/comm
  run dk exec ex1 sh -c 'cat /tmp/mark; cat /proc/1/comm; probe kernel'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = mark ]
  [ "${lines[1]}" = sleep ]
  [ "${lines[2]}" = "$(guest_release)" ]
  run dk exec ex1 sh -c 'exit 3'
  [ "$status" -eq 3 ]
  run dk exec -u 65534:65534 -w /tmp -e X=exec-env ex1 sh -c 'probe ids; pwd; echo $X'
  [[ "${lines[0]}" == "uid=65534 gid=65534 euid=65534 egid=65534 groups="* ]]
  [ "${lines[1]}" = /tmp ]
  [ "${lines[2]}" = exec-env ]
}

@test "run -it: a terminal of the pane's size, typed input, the exit code" {
  tty_start it1 100 30 "DOCKER_CONFIG=$DOCKER_CONFIG $DOCKER -H unix://$DTMP/docker.sock run -it --rm --runtime husk --network none $IMAGE_NAME sh; echo EXIT=\$?"
  tty_shell_checks it1
}

@test "--shm-size" {
  run drun --shm-size 32m "$IMAGE_NAME" sh -c 'df -k /dev/shm | tail -1'
  echo "$output"
  [ "$(echo "$output" | awk '{print $2}')" = 32768 ]
}

@test "--sysctl" {
  run drun --sysctl net.ipv4.ip_forward=1 --sysctl kernel.msgmax=9000 "$IMAGE_NAME" \
    cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax
  [ "$status" -eq 0 ]
  [ "$output" = "$(printf '1\n9000')" ]
}

@test "--memory: the container's limit, and a VM sized to it" {
  run drun --memory 64m "$IMAGE_NAME" sh -c 'cat /sys/fs/cgroup/container/memory.max; grep MemTotal /proc/meminfo'
  echo "$output"
  [ "${lines[0]}" = 67108864 ]
  total=$(awk '{print $2}' <<< "${lines[1]}")
  # 64 MiB + 96 MiB of guest overhead, less the kernel's own: below the 256 MiB default
  [ "$total" -lt 200000 ]
  [ "$total" -gt 64000 ]
}

@test "--net=container:X --ipc=container:X: a member of X's VM (one qemu), X's localhost and SysV shm; rm -f leaves nothing" {
  dk run -d --runtime husk --network none --ipc shareable --name px "$IMAGE_NAME" sh -c \
    'mkdir -p /www && echo pod-web > /www/marker && httpd -p 127.0.0.1:8080 -h /www && probe shm-put 4242 from-x && echo ready && exec sleep 100000'
  wait_for "px to serve" 120 logs_have px ready
  dk run -d --runtime husk --net container:px --ipc container:px --name pm1 "$IMAGE_NAME" sh -c \
    'wget -q -O - http://127.0.0.1:8080/marker; probe shm-get 4242; echo done; exec sleep 100000'
  wait_for "pm1 to finish its probes" 120 logs_have pm1 done
  run dk logs pm1
  echo "$output"
  [ "${lines[0]}" = pod-web ]
  [ "${lines[1]}" = from-x ]
  local x m qemu vm
  x=$(dk inspect -f '{{.Id}}' px)
  m=$(dk inspect -f '{{.Id}}' pm1)
  [ "$(jq -r .sandbox "/run/husk/$m/state.json")" = "$x" ]
  qemu=$(jq .qemu.pid "/run/husk/$x/state.json")
  # X's VM: its own, or one it took from a pool (HUSK_CLIENT_POOL), named by its dir
  vm=$(jq -r '.vm_dir // empty' "/run/husk/$x/state.json")
  [ "$(pgrep -fc "^qemu-system.*${vm:-$x}/")" -eq 1 ]
  [ -z "$(pgrep -f "^qemu-system.*$m")" ]
  dk rm -f pm1 px
  for id in "$x" "$m"; do
    [ ! -e "/run/husk/$id" ]
    [ -z "$(husk_processes_of "$id")" ]
    [ -z "$(findmnt -rn -o TARGET | grep -F "$id")" ]
  done
  ! kill -0 "$qemu" 2>/dev/null
  [ -z "$vm" ] || [ ! -e "$vm" ]
}
