#!/usr/bin/env bats
# runc parity of the spec's mounts in the guest (issue 18, items 12 and
# 13): the recursive mount options (rro, rnosuid, ...), a host mount below
# a bind's source, and a cgroup mount in a user namespace without a cgroup
# namespace. Each case runs the same bundle under Debian's runc (when it
# is installed and the tests run in the host's initial namespaces) and
# under husk; the assertions are husk's own facts, and runc's where both
# must agree. Where they differ on purpose, docs/limitations.md says so.

load helpers

RUNC=${RUNC:-/usr/sbin/runc}

setup() {
  HUSK_ROOT=$(mktemp -d /run/husk-test.XXXXXX)
  export HUSK_ROOT
  # a user namespace's root (host id 100000) must reach the rootfs
  W=$(mktemp -d /tmp/husk-pm.XXXXXX)
  chmod 755 "$W"
  B=$W/bundle
  make_bundle "$B" /bin/true
  FIX=$W/fix
  mkdir -p "$FIX/dir/sub"
  echo hello > "$FIX/dir/hello"
  ln -s hello "$FIX/dir/link"
  # a host mount below the bind source
  mount -t tmpfs -o size=1m tmpfs "$FIX/dir/sub"
  HOST_SUBMOUNT=$FIX/dir/sub
  RUNC_OK=
  if [ -x "$RUNC" ]; then
    RUNC_OK=1
    local ns ino=$((0xEFFFFFFF))
    for ns in ipc uts user pid cgroup; do
      [ "$(stat -L -c %i /proc/self/ns/$ns)" -eq "$ino" ] || RUNC_OK=
      ino=$((ino - 1))
    done
  fi
}

teardown() {
  if [ -n "${HOST_SUBMOUNT:-}" ]; then umount "$HOST_SUBMOUNT" 2>/dev/null || true; fi
  if [ -n "$RUNC_OK" ]; then "$RUNC" --root "$W/runc-state" delete --force "pm-$$" >/dev/null 2>&1 || true; fi
  rm -rf "$W"
  common_teardown
}

# with_mount JSON SCRIPT [JQ-FILTER]: the bundle gets mount JSON (a source
# "FIX" is the host directory with the submount) and runs sh -c SCRIPT
with_mount() {
  jq --argjson m "$1" --arg s "$FIX/dir" --arg c "$2" \
    '.mounts += [$m | if .source == "FIX" then .source = $s else . end] | .process.args = ["sh", "-c", $c] | '"${3:-.}" \
    "$B/config.json" > "$B/c.json" && mv "$B/c.json" "$B/config.json"
}

# in_runtimes: runs the bundle under runc (when it can: runc_status and
# runc_out, else runc_status is empty) and husk (bats' status and output)
in_runtimes() {
  runc_status= runc_out=
  if [ -n "$RUNC_OK" ]; then
    runc_status=0
    runc_out=$(timeout 120 "$RUNC" --root "$W/runc-state" run --bundle "$B" "pm-$$" </dev/null 2>&1) || runc_status=$?
    "$RUNC" --root "$W/runc-state" delete --force "pm-$$" >/dev/null 2>&1 || true
    rm -f "$FIX/dir/top" "$FIX/dir/sub/x" # what runc's container wrote: the files say what husk's did
    echo "runc (status $runc_status):"
    echo "$runc_out"
  fi
  run husk run --bundle "$B" "pm-$BATS_TEST_NUMBER"
  echo "husk (status $status):"
  echo "$output"
}

# the facts the scripts print: write tests and a mount's options
WRITES='w() { if touch "$1" 2>/dev/null; then echo "$2=rw"; else echo "$2=ro"; fi; }; w /data/top top; w /data/sub/x sub'
OPTS='awk '"'"'$5 == "/data" { print "opts=" $6 }'"'"' /proc/self/mountinfo'

@test "rro: the bind and a host mount below it are read-only, under runc and husk" {
  with_mount '{"destination": "/data", "type": "bind", "source": "FIX", "options": ["rbind", "rro"]}' "$WRITES; $OPTS"
  in_runtimes
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "top=ro" ]
  [ "${lines[1]}" = "sub=ro" ]
  [[ "${lines[2]}" == opts=ro,* ]]
  [ ! -e "$FIX/dir/top" ] && [ ! -e "$FIX/dir/sub/x" ]
  if [ -n "$runc_status" ]; then
    [ "$runc_status" -eq 0 ]
    [[ "$runc_out" == "top=ro"$'\n'"sub=ro"$'\n'opts=ro,* ]]
  fi
}

@test "ro without rro: husk's guest sees a host submount as part of the bind, so it is read-only too (runc: writable)" {
  with_mount '{"destination": "/data", "type": "bind", "source": "FIX", "options": ["rbind", "ro"]}' \
    "$WRITES; grep -c ' /data/sub ' /proc/self/mountinfo || true"
  in_runtimes
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "top=ro" ]
  [ "${lines[1]}" = "sub=ro" ]
  [ "${lines[2]}" = "0" ] # no mount of its own in the guest
  [ ! -e "$FIX/dir/sub/x" ]
  if [ -n "$runc_status" ]; then
    [ "$runc_status" -eq 0 ]
    [ "$runc_out" = "top=ro"$'\n'"sub=rw"$'\n'"1" ]
  fi
}

@test "rnosuid, rnodev, rnoexec, rnoatime, rnosymfollow on an rbind, under runc and husk" {
  with_mount '{"destination": "/data", "type": "bind", "source": "FIX", "options": ["rbind", "rnosuid", "rnodev", "rnoexec", "rnoatime", "rnosymfollow"]}' \
    "$OPTS; cat /data/hello; cat /data/link 2>/dev/null || echo link-refused; $WRITES"
  in_runtimes
  [ "$status" -eq 0 ]
  local o
  for o in nosuid nodev noexec noatime nosymfollow; do
    [[ ",${lines[0]#opts=}," == *",$o,"* ]] || { echo "no $o in ${lines[0]}"; return 1; }
  done
  [[ "${lines[0]}" == opts=rw,* ]]
  [ "${lines[1]}" = "hello" ]
  [ "${lines[2]}" = "link-refused" ]
  [ "${lines[3]}" = "top=rw" ]
  [ "${lines[4]}" = "sub=rw" ]
  [ -e "$FIX/dir/top" ] && [ -e "$FIX/dir/sub/x" ]
  if [ -n "$runc_status" ]; then
    [ "$runc_status" -eq 0 ]
    local first=${runc_out%%$'\n'*}
    for o in nosuid nodev noexec noatime nosymfollow; do
      [[ ",${first#opts=}," == *",$o,"* ]] || { echo "runc: no $o in $first"; return 1; }
    done
    [[ "$runc_out" == *$'\n'hello$'\n'link-refused$'\n'* ]]
  fi
}

@test "rstrictatime and rnodiratime: the access-time mode of the whole tree, under runc and husk" {
  with_mount '{"destination": "/data", "type": "bind", "source": "FIX", "options": ["rbind", "rstrictatime", "rnodiratime"]}' "$OPTS"
  in_runtimes
  [ "$status" -eq 0 ]
  [[ ",${output#opts=}," == *",nodiratime,"* ]]
  [[ ",${output#opts=}," != *",noatime,"* && ",${output#opts=}," != *",relatime,"* ]]
  if [ -n "$runc_status" ]; then
    [ "$runc_status" -eq 0 ]
    [ "$runc_out" = "$output" ]
  fi
}

# Debian's runc 1.1.5 passes both of two opposite options to the kernel:
# rro then rrw ends read-only, rnoatime then ratime stays noatime, and
# rnoatime then rstrictatime fails (EINVAL); husk reads the list in order
@test "husk: a later recursive option undoes an earlier one (rro then rrw; rnoatime then ratime or rstrictatime)" {
  with_mount '{"destination": "/data", "type": "bind", "source": "FIX", "options": ["rbind", "rro", "rnoatime", "rrw", "ratime"]}' "$WRITES; $OPTS"
  run husk run --bundle "$B" pm-undo
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "top=rw" ]
  [ "${lines[1]}" = "sub=rw" ]
  [[ "${lines[2]}" == opts=rw,* && "${lines[2]}" != *noatime* ]]
  with_mount '{"destination": "/data2", "type": "bind", "source": "FIX", "options": ["rbind", "rnoatime", "rstrictatime"]}' \
    'awk '"'"'$5 == "/data2" { print $6 }'"'"' /proc/self/mountinfo'
  run husk run --bundle "$B" pm-undo2
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == rw* && "$output" != *noatime* && "$output" != *relatime* ]]
}

@test "husk: rro on a tmpfs makes it read-only (Debian's runc 1.1.5 applies recursive options to binds only)" {
  with_mount '{"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["rro", "size=1m"]}' \
    'if touch /t/x 2>/dev/null; then echo t=rw; else echo t=ro; fi; awk '"'"'$5 == "/t" { print $6 }'"'"' /proc/self/mountinfo'
  run husk run --bundle "$B" pm-tmpfs
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "t=ro" ]
  [[ "${lines[1]}" == ro,* ]]
}

# the user namespace of tests/conformance/cases/ns-user.jq
USERNS='.linux.namespaces += [{type: "user"}]
  | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
  | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
CGROUP_MOUNT='{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}'

@test "a user namespace without a cgroup namespace and a cgroup mount: runc and husk run it (husk binds the guest's cgroup tree, read-only)" {
  with_mount "$CGROUP_MOUNT" \
    'awk '"'"'$5 == "/sys/fs/cgroup" { for (i = 7; $i != "-"; i++); l = $6 " " $(i + 1) } END { print l }'"'"' /proc/self/mountinfo; cat /proc/self/cgroup; test -d /sys/fs/cgroup/container && echo tree; touch /sys/fs/cgroup/x 2>/dev/null || echo write-refused' \
    "$USERNS"
  in_runtimes
  [ "$status" -eq 0 ]
  # the last mount on /sys/fs/cgroup (the guest's /sys, bound, has its own below)
  [[ "${lines[0]}" == "ro,"*" cgroup2" ]]
  [[ "${lines[0]}" == *nosuid*nodev*noexec* ]]
  [ "${lines[1]}" = "0::/container" ]
  [ "${lines[2]}" = "tree" ]
  [ "${lines[3]}" = "write-refused" ]
  # runc on a cgroup v1 host binds each hierarchy read-only below a tmpfs
  [ -z "$runc_status" ] || [ "$runc_status" -eq 0 ]
}

@test "a user namespace with a cgroup namespace and a cgroup mount: a cgroup2 mount rooted at the container's cgroup" {
  with_mount "$CGROUP_MOUNT" \
    'awk '"'"'$5 == "/sys/fs/cgroup" { for (i = 7; $i != "-"; i++); l = $4 " " $(i + 1) } END { print l }'"'"' /proc/self/mountinfo; cat /proc/self/cgroup; test -d /sys/fs/cgroup/container || echo no-tree' \
    "$USERNS | .linux.namespaces += [{type: \"cgroup\"}]"
  in_runtimes
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "/ cgroup2" ]
  [ "${lines[1]}" = "0::/" ]
  [ "${lines[2]}" = "no-tree" ]
  [ -z "$runc_status" ] || [ "$runc_status" -eq 0 ]
}
