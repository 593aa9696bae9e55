#!/usr/bin/env bash
# The pool (docs/pool.md): what an idle pool VM costs in memory beside an
# idle container, and warm `husk run /bin/true` (a pool of 1, ready before
# each run) beside cold runs of the same script. Each run is
# `run --keep` so that its state says whether it took a pool VM;
# the delete is not timed. A warm run that booted cold anyway (its state
# names no pool VM: the shape differs, the VM was not ready) is counted and
# left out of the warm figure. Where each warm run's time went comes from
# the server's log and the container monitor's (warm_breakdown_ms).
source "$(dirname "$0")/lib.sh"
n=$(runs 10)
bench_root
serve_pid=""
serve_log=$BENCH_OUT/pool-serve.log
net_ns=husk-bench-pool-$$
# the netns of the idle container with an interface, and its veth's peer's
net_cleanup() {
  ip netns del "$net_ns" 2>/dev/null || true
  ip netns del "$net_ns-peer" 2>/dev/null || true
}
# the server first (it stops its idle VMs on SIGTERM), then the containers
trap 'pool_stop; bench_cleanup; net_cleanup' EXIT

# waits until the pool has a ready VM; prints the ms it took, or fails
pool_wait_ready() {
  local t0 r
  t0=$(now_ms)
  for _ in $(seq 1200); do
    r=$(h pool status 2>/dev/null | jq -r '.ready // 0' 2>/dev/null || echo 0)
    if [ "${r:-0}" -ge 1 ]; then echo $(($(now_ms) - t0)); return 0; fi
    kill -0 "$serve_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# every process below PID, one a line
descendants() {
  local c
  for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done
}
# the PSS of the processes below PID by role, told by their names: QEMU,
# virtiofsd (and its sandboxed child), the vsock back-end (husk-vsock), and
# the pool monitor (the rest)
pss_tree_by_role() {
  local p comm role kb m=0 q=0 v=0 b=0
  for p in $(descendants "$1"); do
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    kb=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
    case "$comm" in
      qemu*) q=$((q + kb)) ;;
      virtiofsd*) v=$((v + kb)) ;;
      husk-vsock*) b=$((b + kb)) ;;
      *) m=$((m + kb)) ;;
    esac
  done
  jq -nc --argjson m "$m" --argjson q "$q" --argjson v "$v" --argjson b "$b" \
    '{monitor: $m, qemu: $q, virtiofsd: $v, vsock_backend: $b, total: ($m + $q + $v + $b)}'
}
# run_keep ID: times `husk run --keep` of /bin/true; prints its ms and its
# start (epoch ms), or nothing if it failed
run_keep() {
  local t0 ms
  t0=$(now_ms)
  if h run --keep --bundle "$bundle_true" "$1" </dev/null >/dev/null 2>"$BENCH_OUT/pool-run.err"; then
    ms=$(($(now_ms) - t0))
    echo "$ms $t0"
  else
    note "pool: husk run $1 failed: $(head -c 300 "$BENCH_OUT/pool-run.err")"
  fi
}
# epoch ms of the first line of FILE matching PATTERN (a husk log line), or
# of the last with "last"
at() {
  local l
  if [ "${3:-}" = last ]; then l=$(grep "$2" "$1" | tail -1); else l=$(grep -m1 "$2" "$1"); fi
  l=$(sed -n 's/^time="\([^"]*\)".*/\1/p' <<<"$l")
  if [ -n "$l" ]; then iso_ms "$l"; fi
}
# where warm run ID's time went (it started at T0 and took MS): the server's
# "taken" line, its monitor's "adopted" (ADOPT answered), "created" (the
# guest's CREATE answered) and "stopped" (process exited, session over);
# a JSON array of ms, or nothing when a mark is missing
warm_steps() {
  local id=$1 t0=$2 ms=$3 log="$HUSK_ROOT/$1/monitor.log" taken adopted created stopped
  taken=$(at "$serve_log" 'pool: VM [0-9]* taken' last) adopted=$(at "$log" 'adopted pool VM')
  created=$(at "$log" 'created in pool VM') stopped=$(at "$log" 'stopped with status')
  [ -n "$taken" ] && [ -n "$adopted" ] && [ -n "$created" ] && [ -n "$stopped" ] || return 0
  echo "[$((taken - t0)), $((adopted - taken)), $((created - adopted)), $((stopped - created)), $((t0 + ms - stopped))]"
}
# did container ID start in a pool VM? Its state names the VM's dir, or its
# monitor's log says so
adopted() {
  [ -n "$(jq -r '.vm_dir // empty' "$HUSK_ROOT/$1/state.json" 2>/dev/null)" ] ||
    grep -q 'adopted pool VM' "$HUSK_ROOT/$1/monitor.log" 2>/dev/null
}

# an idle container, no pool running: its PSS by role (as density.sh)
note "pool: an idle container's PSS"
idle_ctr=null
if start_idle idle "$bundle_idle"; then
  sleep 1
  idle_ctr=$(pss_by_role idle | jq -c '. + {total: (.monitor + .qemu + .virtiofsd + .vsock_backend)}')
fi
h delete --force idle >/dev/null 2>&1 || true

# the same with one interface (a veth whose peer is in another netns), as an
# engine's bridge network gives: its VM has that NIC and 2 spares, 3 NICs as
# every pool VM has; the like-for-like baseline
note "pool: an idle container's PSS with one interface"
idle_ctr_net=null
bundle_idle_net=$BENCH_OUT/bundle-idle-net
if ip netns add "$net_ns" && ip netns add "$net_ns-peer" &&
  ip -n "$net_ns" link add eth0 type veth peer name peer0 netns "$net_ns-peer" &&
  ip -n "$net_ns" link set eth0 up && ip -n "$net_ns" addr add 10.239.0.2/30 dev eth0; then
  mkdir -p "$bundle_idle_net"
  jq --arg ns "/run/netns/$net_ns" --arg root "$bundle_idle/rootfs" '.root.path = $root
    | .linux.namespaces |= map(if .type == "network" then .path = $ns else . end)' \
    "$bundle_idle/config.json" >"$bundle_idle_net/config.json"
  if start_idle idle-net "$bundle_idle_net"; then
    sleep 1
    idle_ctr_net=$(pss_by_role idle-net | jq -c '. + {total: (.monitor + .qemu + .virtiofsd + .vsock_backend)}')
  fi
  h delete --force idle-net >/dev/null 2>&1 || true
else
  note "pool: no network namespace with a veth could be made"
fi
net_cleanup

note "pool: cold husk run x$n (no pool)"
cold=()
for i in $(seq "$n"); do
  read -r ms _ <<<"$(run_keep "cold$i")"
  [ -n "$ms" ] && cold+=("$ms")
  h delete --force "cold$i" >/dev/null 2>&1 || true
done

note "pool: husk pool serve --size 1"
# not through h(): $! must be husk's own pid, not a subshell's
"$husk" --root "$HUSK_ROOT" pool serve --size 1 </dev/null >/dev/null 2>"$serve_log" &
serve_pid=$!
first_ready=null idle_vm=null server_kb=null
if first_ready=$(pool_wait_ready); then
  sleep 1 # let the idle VM settle, as density.sh does
  idle_vm=$(pss_tree_by_role "$serve_pid")
  server_kb=$(pss_of_pids "$serve_pid")
else
  first_ready=null
  note "pool: no VM got ready: $(h pool status 2>&1 | head -c 300)"
fi

note "pool: warm husk run x$n (a ready VM before each)"
warm=() cold_anyway=0 warm_marks='[]'
if [ "$idle_vm" != null ]; then
  for i in $(seq "$n"); do
    pool_wait_ready >/dev/null || { note "pool: no ready VM before warm run $i"; break; }
    read -r ms t0 <<<"$(run_keep "warm$i")"
    if [ -n "$ms" ]; then
      if adopted "warm$i"; then
        warm+=("$ms")
        st=$(warm_steps "warm$i" "$t0" "$ms")
        [ -n "$st" ] && warm_marks=$(jq -c --argjson s "$st" '. + [$s]' <<<"$warm_marks")
      else
        cold_anyway=$((cold_anyway + 1))
      fi
    fi
    h delete --force "warm$i" >/dev/null 2>&1 || true
  done
fi
last_error=$(h pool status 2>/dev/null | jq -r '.last_error // ""' 2>/dev/null || true)
pool_stop

why=null
if [ "${#warm[@]}" -eq 0 ] && [ "$cold_anyway" -gt 0 ]; then
  why='"create took no pool VM: every warm run booted cold"'
elif [ "$idle_vm" = null ]; then
  why="$(jq -n --arg e "$last_error" '"the pool got no VM ready: " + $e')"
fi
jq -n --argjson cold "$(nums "${cold[@]}" | json_nums)" --argjson warm "$(nums "${warm[@]}" | json_nums)" \
  --argjson cm "$(nums "${cold[@]}" | median)" --argjson cp "$(nums "${cold[@]}" | p95)" \
  --argjson wm "$(nums "${warm[@]}" | median)" --argjson wp "$(nums "${warm[@]}" | p95)" \
  --argjson anyway "$cold_anyway" --argjson why "$why" --argjson first "$first_ready" \
  --argjson vm "$idle_vm" --argjson ctr "$idle_ctr" --argjson ctr_net "$idle_ctr_net" --argjson server "$server_kb" --argjson marks "$warm_marks" '
  def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
                  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  {runs: ($cold | length), cold_run_ms: {median: $cm, p95: $cp, all: $cold},
   warm_run_ms: (if ($warm | length) == 0 then null else {median: $wm, p95: $wp, all: $warm} end),
   warm_breakdown_ms: (if ($marks | length) == 0 then null else
     {runs: ($marks | length), cli_to_taken: ([$marks[][0]] | med), taken_to_adopted: ([$marks[][1]] | med),
      adopted_to_created: ([$marks[][2]] | med), created_to_stopped: ([$marks[][3]] | med),
      stopped_to_cli_exit: ([$marks[][4]] | med)} end),
   warm_runs_cold_anyway: $anyway, warm_missing_why: $why, serve_to_first_ready_ms: $first,
   idle_pool_vm_pss_kb: $vm, idle_container_pss_kb: $ctr, idle_container_one_nic_pss_kb: $ctr_net,
   pool_server_pss_kb: $server}' >"$BENCH_OUT/pool.json"
note "pool: done"
