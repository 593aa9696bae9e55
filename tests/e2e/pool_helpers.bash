# The pool server for a test file (tests/e2e/pool*.bats): started in the
# background, waited for, its pool monitors found.

# pool_start ROOT SIZE [ENV...]: a server in the background, its pid in
# ROOT.pid, its exit status in ROOT.rc once it exits
pool_start() {
  local root=$1 size=$2
  shift 2
  rm -f "$root.rc" "$root.pid"
  (
    env "$@" "$HUSK" --root "$root" --debug pool serve --size "$size" >"$root.log" 2>&1 &
    echo $! >"$root.pid"
    wait $!
    echo $? >"$root.rc"
  ) 3>&- &
  local i
  for i in $(seq 1 50); do
    [ -s "$root.pid" ] && return 0
    sleep 0.1
  done
  return 1
}

# pool_wait_ready ROOT N: until status says at least N are ready (120 s);
# a take makes the server boot a replacement: N=1 waits for one again
pool_wait_ready() {
  local root=$1 want=$2 i
  for i in $(seq 1 240); do
    if [ "$("$HUSK" --root "$root" pool status 2>/dev/null | jq -r .ready)" -ge "$want" ] 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  echo "pool at $root never had $want ready: $("$HUSK" --root "$root" pool status 2>&1)" >&2
  cat "$root.log" >&2
  return 1
}

# the pool monitors' pids, from their dirs
pool_monitors() {
  local f
  for f in "$1"/pool.d/*/monitor.json; do
    [ -f "$f" ] && jq -r .pid "$f"
  done
}

# pool_stop ROOT: SIGTERM to ROOT's server, waited for (30 s); its root and
# files removed
pool_stop() {
  local root=$1 pid
  pid=$(cat "$root.pid" 2>/dev/null) || true
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && timeout 30 tail --pid="$pid" -f /dev/null
  rm -rf "$root" "$root.pid" "$root.log" "$root.rc"
}
