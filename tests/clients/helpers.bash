# Shared set-up for the client suites: the real podman, docker and
# containerd drive the worktree's build/husk (by absolute path). Every
# engine gets its own state under a temp dir, is stopped by pid at the end,
# and the temp dir is removed, pass or fail.
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
HUSK=$TOP/build/husk
IMAGE_NAME=localhost/husk-test:latest

# The test image: Debian's busybox-static and the probe (the rootfs
# scripts/make-bundle.sh builds), as a plain tar of the rootfs. Prints its path.
make_rootfs_tar() {
  local dir=$1
  "$TOP/scripts/make-bundle.sh" "$dir/image" >/dev/null
  tar -C "$dir/image/rootfs" -cf "$dir/rootfs.tar" .
  rm -rf "$dir/image"
  echo "$dir/rootfs.tar"
}

# A short temp dir (unix socket paths must stay under 108 bytes).
client_tmpdir() {
  mktemp -d "/tmp/husk-$1.XXXXXX"
}

# Unmounts whatever an engine left mounted under DIR, then removes DIR.
remove_tmpdir() {
  local dir=$1 m
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  for m in $(findmnt -rn -o TARGET | grep -F "$dir" | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$dir"
}

# Stops a daemon started by a suite: SIGTERM, then SIGKILL after LIMIT s.
stop_pid() {
  local pid=$1 limit=${2:-60} i
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Stops the engine whose pid is in DIR/pid, then kills whatever still names
# DIR on its command line (its containerd, shims); prints " pid:N" for each
# of those, so that teardown can report them as left behind.
stop_engine() {
  local dir=$1 pid
  stop_pid "$(cat "$dir/pid" 2>/dev/null)" 60
  for pid in $(pgrep -f -- "$dir"); do
    printf ' pid:%s' "$pid"
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local what=$1 limit=$2 i
  shift 2
  for ((i = 0; i < limit * 10; i++)); do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "timed out after ${limit}s waiting for $what" >&2
  return 1
}

# husk processes (monitors, QEMU, virtiofsd) that belong to container ID
# (their command lines name its state directory).
husk_processes_of() {
  pgrep -af -- "$1" | grep -v -e pgrep -e bats || true
}

guest_release() {
  cat "$(dirname "$(readlink -f "$TOP/build/vmlinux")")/release"
}

# --- a terminal through tmux -------------------------------------------
# tty_start NAME COLS ROWS COMMAND: runs COMMAND (a shell string) in a
# detached tmux pane of that size; the pane stays after the command ends.
tty_start() {
  local name=$1 cols=$2 rows=$3 cmd=$4
  TMUX_SOCK=${TMUX_SOCK:-$BATS_TEST_TMPDIR/tmux.sock}
  printf 'set -g remain-on-exit on\nset -g history-limit 2000\n' > "$BATS_TEST_TMPDIR/tmux.conf"
  tmux -S "$TMUX_SOCK" -f "$BATS_TEST_TMPDIR/tmux.conf" new-session -d -x "$cols" -y "$rows" -s "$name" "$cmd"
}

tty_screen() {
  tmux -S "$TMUX_SOCK" capture-pane -p -J -S - -t "$1" 2>/dev/null
}

# tty_wait NAME TEXT [SECONDS]: until TEXT shows in the pane
tty_wait() {
  local name=$1 text=$2 limit=${3:-90} i
  for ((i = 0; i < limit * 10; i++)); do
    if tty_screen "$name" | grep -qF -- "$text"; then
      return 0
    fi
    sleep 0.1
  done
  echo "the terminal never showed \"$text\"; it shows:" >&2
  tty_screen "$name" >&2
  return 1
}

tty_type() {
  tmux -S "$TMUX_SOCK" send-keys -t "$1" "$2" Enter
}

# tty_shell_checks SESSION: SESSION (started 100x30 with an interactive sh
# followed by `echo EXIT=$?`) has a terminal of that size, takes typed input
# and hands the shell's exit code back
tty_shell_checks() {
  local s=$1 screen
  tty_wait "$s" '/ #'
  tty_type "$s" 'tty; stty size; echo typed-$((6*7))'
  tty_wait "$s" typed-42
  tty_type "$s" 'exit 3'
  tty_wait "$s" EXIT=3
  screen=$(tty_screen "$s")
  echo "$screen"
  grep -qx '/dev/pts/0' <<< "$screen"
  grep -qx '30 100' <<< "$screen"
}

tty_stop() {
  [ -n "${TMUX_SOCK:-}" ] && [ -S "$TMUX_SOCK" ] || return 0
  local pid
  pid=$(tmux -S "$TMUX_SOCK" display-message -p '#{pid}' 2>/dev/null) || true
  tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
  [ -n "$pid" ] && stop_pid "$pid" 10
  return 0
}

# The test image as a docker-archive (for `docker load` and `ctr images
# import`), made by podman from the rootfs tar in a throwaway store under
# DIR. Prints its path.
make_docker_archive() {
  local dir=$1 tar
  tar=$(make_rootfs_tar "$dir")
  local store=(--root "$dir/pstore/root" --runroot "$dir/pstore/run" --tmpdir "$dir/pstore/tmp"
    --volumepath "$dir/pstore/vol" --network-config-dir "$dir/pstore/net" --storage-driver vfs
    --cgroup-manager cgroupfs --events-backend file)
  mkdir -p "$dir/pstore/net"
  podman "${store[@]}" import --change 'CMD ["/bin/sh"]' "$tar" "$IMAGE_NAME" >/dev/null
  podman "${store[@]}" save --format docker-archive -o "$dir/image-docker.tar" "$IMAGE_NAME" >/dev/null 2>&1
  remove_tmpdir "$dir/pstore"
  rm -f "$tar"
  echo "$dir/image-docker.tar"
}

# --- a VM pool on husk's default root ----------------------------------
# Engines pass their own --root (or none: /run/husk); create asks the
# default root's pool when its own root has none (docs/pool.md). With
# HUSK_CLIENT_POOL=N in the environment a whole suite runs with a pool of
# N (setup_file/teardown_file call these); a test may start one of its own.
CLIENT_POOL_ROOT=/run/husk

# client_pool_start SIZE [NAME]: a server on /run/husk unless one answers
# there; waits until SIZE VMs are ready (180 s). The pid of a server it
# started in $BATS_FILE_TMPDIR/NAME.pid (NAME: pool).
client_pool_start() {
  local size=$1 name=${2:-pool} i
  mkdir -p "$CLIENT_POOL_ROOT"
  if ! "$HUSK" --root "$CLIENT_POOL_ROOT" pool status >/dev/null 2>&1; then
    "$HUSK" --root "$CLIENT_POOL_ROOT" pool serve --size "$size" \
      >"$BATS_FILE_TMPDIR/$name.log" 2>&1 </dev/null 3>&- &
    echo $! >"$BATS_FILE_TMPDIR/$name.pid"
  fi
  for ((i = 0; i < 360; i++)); do
    [ "$("$HUSK" --root "$CLIENT_POOL_ROOT" pool status 2>/dev/null | jq -r .ready)" -ge "$size" ] 2>/dev/null &&
      return 0
    sleep 0.5
  done
  echo "the pool on $CLIENT_POOL_ROOT never had $size ready: $("$HUSK" --root "$CLIENT_POOL_ROOT" pool status 2>&1)" >&2
  cat "$BATS_FILE_TMPDIR/$name.log" >&2 2>/dev/null
  return 1
}

# client_pool_stop [NAME]: SIGTERM to the server client_pool_start NAME
# started (if it did), waited for; prints the processes of pool VMs left
client_pool_stop() {
  local name=${1:-pool} pid
  pid=$(cat "$BATS_FILE_TMPDIR/$name.pid" 2>/dev/null) || return 0
  rm -f "$BATS_FILE_TMPDIR/$name.pid"
  kill -TERM "$pid" 2>/dev/null && timeout 60 tail --pid="$pid" -f /dev/null
  pgrep -af -- "$CLIENT_POOL_ROOT/pool.d/" | grep -v -e pgrep -e bats || true
}

# the pool VM dir a container (full id) adopted, from its state ("" cold)
client_vm_dir() {
  jq -r '.vm_dir // ""' "/run/husk/$1/state.json" 2>/dev/null
}
