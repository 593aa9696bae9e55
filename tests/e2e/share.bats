#!/usr/bin/env bats
# What the guest can reach of the host through virtio-fs and the serial
# console: the share root read-only, read-only binds read-only all the way
# down, no device nodes and no set-uid files left on host directories, a
# bounded console log, virtiofsd's fd limit and capabilities.

load helpers

setup() { common_setup; }
teardown() {
  if mountpoint -q "$BATS_TEST_TMPDIR/mvol" 2>/dev/null; then umount "$BATS_TEST_TMPDIR/mvol"; fi
  if mountpoint -q "$BATS_TEST_TMPDIR/vol/sub" 2>/dev/null; then umount "$BATS_TEST_TMPDIR/vol/sub"; fi
  rm -f "$BATS_TEST_TMPDIR/vol/suid" 2>/dev/null || true
  common_teardown
}

# edit BUNDLE JQ-FILTER [jq args...]
edit() {
  local bundle=$1 filter=$2
  shift 2
  jq "$@" "$filter" "$bundle/config.json" > "$bundle/c.json" && mv "$bundle/c.json" "$bundle/config.json"
}

# a container with CAP_SYS_ADMIN: it may mount the share's tag itself
privileged() {
  edit "$BUNDLE" '.process.capabilities |= with_entries(.value += ["CAP_SYS_ADMIN"])'
}

# bind BUNDLE SOURCE DEST OPTION...
bind() {
  local bundle=$1 src=$2 dst=$3 opts
  shift 3
  opts=$(printf '%s\n' "$@" | jq -R . | jq -s .)
  edit "$bundle" '.mounts += [{destination: $d, type: "bind", source: $s, options: $o}]' \
    --arg s "$src" --arg d "$dst" --argjson o "$opts"
}

# script BUNDLE TEXT: the process is sh -c TEXT (TEXT may span lines)
script() {
  edit "$1" '.process.args = ["/bin/sh", "-c", $s]' --arg s "$2"
}

# try LABEL COMMAND...: prints "LABEL ok" or "LABEL refused: <error>"
TRY='try() { l=$1; shift; if e=$("$@" 2>&1); then echo "$l ok"; else echo "$l refused: $e"; fi; }'

@test "a privileged container that mounts the share's tag can write nowhere beside rootfs/ and the binds" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  privileged
  bind "$BUNDLE" "$BATS_TEST_TMPDIR/vol" /data rbind rw
  script "$BUNDLE" "$TRY"'
    mkdir -p /mnt/vfs && mount -t virtiofs vfs /mnt/vfs || exit 9
    echo "top: $(ls /mnt/vfs | tr "\n" " ")"
    try file touch /mnt/vfs/x
    try dir mkdir /mnt/vfs/binds/7
    try link rm -f /mnt/vfs/mounts/0
    try rename mv /mnt/vfs/rootfs /mnt/vfs/r2
    try bind-write touch /mnt/vfs/binds/0/vol/fine'
  run husk run --bundle "$BUNDLE" tagrw </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "top: binds ctr mounts rootfs " ]
  [[ "${lines[1]}" == "file refused: "*"Read-only file system"* ]]
  [[ "${lines[2]}" == "dir refused: "*"Read-only file system"* ]]
  [[ "${lines[3]}" == "link refused: "*"Read-only file system"* ]]
  [[ "${lines[4]}" == "rename refused: "*"Read-only file system"* ]]
  # the bind itself is the container's to write, as at /data
  [ "${lines[5]}" = "bind-write ok" ]
  [ -e "$BATS_TEST_TMPDIR/vol/fine" ]
}

@test "the share's pod slots ctr/1..15 are there, empty and read-only" {
  privileged
  script "$BUNDLE" "$TRY"'
    mkdir -p /mnt/vfs && mount -t virtiofs vfs /mnt/vfs || exit 9
    echo "slots: $(ls /mnt/vfs/ctr | sort -n | tr "\n" " ")"
    echo "entries: $(find /mnt/vfs/ctr -mindepth 2 | wc -l)"
    try slot-file touch /mnt/vfs/ctr/1/x
    try slot-dir mkdir /mnt/vfs/ctr/15/rootfs
    try new-slot mkdir /mnt/vfs/ctr/16'
  run husk run --bundle "$BUNDLE" slots </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "slots: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 " ]
  [ "${lines[1]}" = "entries: 0" ]
  [[ "${lines[2]}" == "slot-file refused: "*"Read-only file system"* ]]
  [[ "${lines[3]}" == "slot-dir refused: "*"Read-only file system"* ]]
  [[ "${lines[4]}" == "new-slot refused: "*"Read-only file system"* ]]
}

@test "virtiofsd's copy of the share is a slave of the monitor's (mounts made there later reach it)" {
  make_bundle "$BUNDLE" /bin/sleep 600
  husk create --bundle "$BUNDLE" slave </dev/null
  local vfsd mon child line group
  vfsd=$(jq -r .virtiofsd.pid "$HUSK_ROOT/slave/state.json")
  mon=$(jq -r .monitor.pid "$HUSK_ROOT/slave/state.json")
  child=$(pgrep -P "$vfsd")
  [ -n "$child" ]
  # the monitor's: the share, read-only and shared
  line=$(awk -v d="$(readlink -f "$HUSK_ROOT/slave")/vfs" '$5 == d' "/proc/$mon/mountinfo")
  echo "monitor: $line"
  [[ "$line" =~ \ shared:([0-9]+)\ (.*\ )?-\ tmpfs\ husk-vfs\ ro, ]]
  group=${BASH_REMATCH[1]}
  # virtiofsd serves it as its root: a slave of that peer group
  for p in $vfsd $child; do
    line=$(awk '$5 == "/"' "/proc/$p/mountinfo")
    echo "virtiofsd $p: $line"
    [[ "$line" =~ \ master:$group\ (.*\ )?-\ tmpfs\ husk-vfs\ ro, ]]
  done
  husk delete --force slave
}

# lines LABEL FILE: waits (60 s) for a line starting with LABEL in FILE
wait_line() {
  local i
  for ((i = 0; i < 600; i++)); do
    grep -q "^$1" "$2" && return 0
    sleep 0.1
  done
  echo "no '$1' line in $2: $(cat "$2")" >&2
  return 1
}

# slot_mounts MOUNTINFO DIR: the mounts at or below DIR
slot_mounts() {
  awk -v d="$2" '$5 == d || index($5, d "/") == 1' "$1" | tee /dev/stderr | wc -l
}

@test "a tree injected into slot 1 of a running VM's share reaches the guest; ejected, it goes, and no mount is left" {
  local member=$BATS_TEST_TMPDIR/member out=$BATS_TEST_TMPDIR/out label="husk-test-mvol-$$"
  local inject=$TOP/build/tests/vfs-inject
  make_bundle "$member" /bin/true
  echo "marker-$$" > "$member/rootfs/pod-marker"
  # the member's volume: a tmpfs of its own, to find any copy of it later
  mkdir -p "$BATS_TEST_TMPDIR/mvol"
  mount -t tmpfs -o size=1m "$label" "$BATS_TEST_TMPDIR/mvol"
  echo vol > "$BATS_TEST_TMPDIR/mvol/v"
  bind "$member" "$BATS_TEST_TMPDIR/mvol" /data rbind ro
  privileged
  script "$BUNDLE" "$TRY"'
    mkdir -p /mnt/vfs && mount -t virtiofs vfs /mnt/vfs || exit 9
    s=/mnt/vfs/ctr/1
    echo "empty $(ls -A $s | wc -l)"
    i=0; while [ ! -e $s/rootfs/pod-marker ]; do i=$((i+1)); [ $i -lt 900 ] || exit 8; sleep 0.1; done
    echo "seen $(cat $s/rootfs/pod-marker) $(cat $s/mounts/0/v) $(ls $s | tr "\n" " ")"
    try vol-write touch $s/mounts/0/x
    try slot-write touch $s/x
    # until the guest looks ctr/1 up again (its dentry timeout) it may
    # still hold the detached slot, emptied of its mounts
    i=0; while [ -n "$(ls -A $s)" ]; do i=$((i+1)); [ $i -lt 900 ] || exit 7; sleep 0.1; done
    echo "gone $(ls -A $s | wc -l) $(cat $s/rootfs/pod-marker 2>&1)"'
  husk create --bundle "$BUNDLE" sb > "$out" 2>&1 </dev/null
  husk start sb
  wait_line empty "$out"
  # refused: slot 0 (the sandbox's own), a slot past the pod's size
  run "$inject" inject "$HUSK_ROOT/sb" 0 "$member"
  [ "$status" -eq 1 ]
  [[ "$output" == *"share slot 0 is not one of 1..15"* ]]
  run "$inject" inject "$HUSK_ROOT/sb" 16 "$member"
  [ "$status" -eq 1 ]
  "$inject" inject "$HUSK_ROOT/sb" 1 "$member"
  # a second tree into the same slot
  run "$inject" inject "$HUSK_ROOT/sb" 1 "$member"
  [ "$status" -eq 1 ]
  [[ "$output" == *"slot 1 holds a container already"* ]]
  # nothing in the host's mount table, no stage left
  ! grep -F "$HUSK_ROOT" /proc/self/mountinfo || false
  [ ! -e "$HUSK_ROOT/sb/ctr1.stage" ]
  wait_line seen "$out"
  # the slot is in the monitor's namespace and in virtiofsd's
  local mon vfsd
  mon=$(jq -r .monitor.pid "$HUSK_ROOT/sb/state.json")
  vfsd=$(pgrep -P "$(jq -r .virtiofsd.pid "$HUSK_ROOT/sb/state.json")")
  local dir
  dir=$(readlink -f "$HUSK_ROOT/sb")
  [ "$(slot_mounts "/proc/$mon/mountinfo" "$dir/vfs/ctr/1")" -eq 3 ]
  [ "$(slot_mounts "/proc/$vfsd/mountinfo" /ctr/1)" -eq 3 ]
  "$inject" eject "$HUSK_ROOT/sb" 1
  [ "$(slot_mounts "/proc/$mon/mountinfo" "$dir/vfs/ctr/1")" -eq 0 ]
  [ "$(slot_mounts "/proc/$vfsd/mountinfo" /ctr/1)" -eq 0 ]
  run "$inject" eject "$HUSK_ROOT/sb" 1
  [ "$status" -eq 1 ]
  [[ "$output" == *"slot 1 holds nothing"* ]]
  wait_status sb stopped 90
  cat "$out"
  [ "$(sed -n 1p "$out")" = "empty 0" ]
  [ "$(sed -n 2p "$out")" = "seen marker-$$ vol binds mounts rootfs " ]
  [[ "$(sed -n 3p "$out")" == "vol-write refused: "*"Read-only file system"* ]]
  [[ "$(sed -n 4p "$out")" == "slot-write refused: "*"Read-only file system"* ]]
  [[ "$(sed -n 5p "$out")" == "gone 0 "*"No such file or directory" ]]
  husk delete sb
  # no mount under the state root in any namespace (other monitors made
  # meanwhile hold copies of the volume's own host mount, not under it)
  [ -z "$(grep -lF "$dir" /proc/[0-9]*/mountinfo 2>/dev/null)" ]
  run "$inject" eject "$HUSK_ROOT/sb" 1
  [ "$status" -eq 1 ]
  umount "$BATS_TEST_TMPDIR/mvol"
}

@test "a sandbox deleted with a slot still injected leaves no mount behind; eject then finds it gone" {
  local member=$BATS_TEST_TMPDIR/member label="husk-test-mvol-$$" dir
  local inject=$TOP/build/tests/vfs-inject
  make_bundle "$member" /bin/true
  mkdir -p "$BATS_TEST_TMPDIR/mvol"
  mount -t tmpfs -o size=1m "$label" "$BATS_TEST_TMPDIR/mvol"
  bind "$member" "$BATS_TEST_TMPDIR/mvol" /data rbind rw
  make_bundle "$BUNDLE" /bin/sleep 600
  husk create --bundle "$BUNDLE" sbdel </dev/null
  dir=$(readlink -f "$HUSK_ROOT/sbdel")
  "$inject" inject "$HUSK_ROOT/sbdel" 7 "$member"
  grep -qF "$dir/vfs/ctr/7/binds/0/mvol" "/proc/$(jq -r .monitor.pid "$HUSK_ROOT/sbdel/state.json")/mountinfo"
  cp "$HUSK_ROOT/sbdel/state.json" "$BATS_TEST_TMPDIR/state.json"
  husk delete --force sbdel
  [ -z "$(grep -lF "$dir" /proc/[0-9]*/mountinfo 2>/dev/null)" ]
  # the recorded monitor is gone: refused, nothing touched
  mkdir "$BATS_TEST_TMPDIR/old"
  cp "$BATS_TEST_TMPDIR/state.json" "$BATS_TEST_TMPDIR/old/"
  run "$inject" eject "$BATS_TEST_TMPDIR/old" 7
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"the sandbox's monitor (pid "*") is gone" ]]
  umount "$BATS_TEST_TMPDIR/mvol"
}

@test "a bind's root in the guest's mountinfo ends in the source's own name" {
  mkdir -p "$BATS_TEST_TMPDIR/my project"
  printf '10.9.8.7 h\n' > "$BATS_TEST_TMPDIR/hosts.file"
  bind "$BUNDLE" "$BATS_TEST_TMPDIR/my project" /src rbind rw
  bind "$BUNDLE" "$BATS_TEST_TMPDIR/hosts.file" /etc/hosts bind ro
  set_args "$BUNDLE" /bin/sh -c 'awk "\$5 == \"/src\" || \$5 == \"/etc/hosts\" { print \$5, \$4 }" /proc/self/mountinfo; cat /etc/hosts'
  run husk run --bundle "$BUNDLE" names </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^/src\ /binds/[0-9]+/my\\040project$ ]]
  [[ "${lines[1]}" =~ ^/etc/hosts\ /binds/[0-9]+/hosts\.file$ ]]
  [ "${lines[2]}" = "10.9.8.7 h" ]
}

@test "a write under an rbind,ro submount fails, in the container and through the share's tag" {
  mkdir -p "$BATS_TEST_TMPDIR/vol/sub"
  mount -t tmpfs -o size=1m husk-test "$BATS_TEST_TMPDIR/vol/sub"
  privileged
  bind "$BUNDLE" "$BATS_TEST_TMPDIR/vol" /data rbind ro
  script "$BUNDLE" "$TRY"'
    try top touch /data/x
    try sub touch /data/sub/x
    mkdir -p /mnt/vfs && mount -t virtiofs vfs /mnt/vfs || exit 9
    try tag-top touch /mnt/vfs/mounts/0/x
    try tag-sub touch /mnt/vfs/mounts/0/sub/x'
  run husk run --bundle "$BUNDLE" rro </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "top refused: "*"Read-only file system"* ]]
  [[ "${lines[1]}" == "sub refused: "*"Read-only file system"* ]]
  [[ "${lines[2]}" == "tag-top refused: "*"Read-only file system"* ]]
  [[ "${lines[3]}" == "tag-sub refused: "*"Read-only file system"* ]]
  [ -z "$(ls -A "$BATS_TEST_TMPDIR/vol/sub")" ]
  [ ! -e "$BATS_TEST_TMPDIR/vol/x" ]
}

@test "mknod on a read-write bind and on the rootfs is refused; FIFOs still work" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  bind "$BUNDLE" "$BATS_TEST_TMPDIR/vol" /data rbind rw
  script "$BUNDLE" "$TRY"'
    try bind-char mknod /data/null c 1 3
    try bind-block mknod /data/sda b 8 0
    try rootfs-char mknod /tmp/null c 1 3
    try bind-fifo mkfifo /data/fifo
    try dev-char mknod /dev/null2 c 1 3'
  run husk run --bundle "$BUNDLE" nodes </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "bind-char refused: "*"Operation not permitted"* ]]
  [[ "${lines[1]}" == "bind-block refused: "*"Operation not permitted"* ]]
  [[ "${lines[2]}" == "rootfs-char refused: "*"Operation not permitted"* ]]
  [ "${lines[3]}" = "bind-fifo ok" ]
  # device nodes live in the guest's own /dev (a tmpfs in the VM)
  [ "${lines[4]}" = "dev-char ok" ]
  [ ! -e "$BATS_TEST_TMPDIR/vol/null" ]
  [ ! -e "$BATS_TEST_TMPDIR/vol/sda" ]
  [ ! -e "$BUNDLE/rootfs/tmp/null" ]
  [ -p "$BATS_TEST_TMPDIR/vol/fifo" ]
}

@test "a set-uid file planted on a read-write bind is not set-uid on the host (virtiofs_setid = refuse)" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  bind "$BUNDLE" "$BATS_TEST_TMPDIR/vol" /data rbind rw
  script "$BUNDLE" "$TRY"'
    cp /bin/busybox /data/suid
    try chmod-u chmod 4755 /data/suid
    try chmod-g chmod 2755 /data/suid
    try chmod-plain chmod 0751 /data/suid
    try install install -m 4755 /bin/busybox /data/suid2
    ls -l /data/suid | cut -c1-10'
  run husk run --bundle "$BUNDLE" setid </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "chmod-u refused: "*"Operation not permitted"* ]]
  [[ "${lines[1]}" == "chmod-g refused: "*"Operation not permitted"* ]]
  [ "${lines[2]}" = "chmod-plain ok" ]
  [[ "${lines[3]}" == "install refused: "* ]]
  [ "${lines[4]}" = "-rwxr-x--x" ]
  [ "$(stat -c %a "$BATS_TEST_TMPDIR/vol/suid")" = 751 ]
  [ -z "$(find "$BATS_TEST_TMPDIR/vol" -perm /6000)" ]
}

@test "virtiofs_setid = allow lets guest root set the bits (the filter is what refuses them)" {
  mkdir -p "$BATS_TEST_TMPDIR/vol"
  bind "$BUNDLE" "$BATS_TEST_TMPDIR/vol" /data rbind rw
  set_args "$BUNDLE" /bin/sh -c 'cp /bin/busybox /data/suid && chmod 4755 /data/suid && echo set'
  HUSK_VIRTIOFS_SETID=allow run husk run --bundle "$BUNDLE" setid-allow </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = set ]
  [ "$(stat -c %a "$BATS_TEST_TMPDIR/vol/suid")" = 4755 ]
  rm -f "$BATS_TEST_TMPDIR/vol/suid"
  HUSK_VIRTIOFS_SETID=sometimes run husk run --bundle "$BUNDLE" setid-bad </dev/null
  [ "$status" -ne 0 ]
  [[ "$output" == *"virtiofs_setid must be refuse or allow"* ]]
}

@test "virtiofsd: the configured fd limit, no MKNOD, SETFCAP or FSETID, a second seccomp filter" {
  make_bundle "$BUNDLE" /bin/sleep 600
  HUSK_VIRTIOFS_NOFILE=4096 husk create --bundle "$BUNDLE" vfsd </dev/null
  local pid
  pid=$(jq -r .virtiofsd.pid "$HUSK_ROOT/vfsd/state.json")
  [ "$pid" -gt 0 ]
  # virtiofsd's sandbox forks: the parent waits with no capabilities and
  # husk's filter; the child serves, with its own filter on top of husk's
  local child p eff
  child=$(pgrep -P "$pid")
  [ -n "$child" ]
  for p in $pid $child; do
    grep -E "^Max open files +4096 +4096 " "/proc/$p/limits"
    eff=$((16#$(awk '/^CapEff:/ { print $2 }' "/proc/$p/status")))
    echo "pid $p CapEff $eff"
    [ $((eff & (1 << 27))) -eq 0 ] # CAP_MKNOD
    [ $((eff & (1 << 31))) -eq 0 ] # CAP_SETFCAP
    [ $((eff & (1 << 4))) -eq 0 ]  # CAP_FSETID
    grep -E "^NoNewPrivs:\s+1$" "/proc/$p/status"
  done
  grep -E "^Seccomp_filters:\s+1$" "/proc/$pid/status"
  grep -E "^Seccomp_filters:\s+2$" "/proc/$child/status"
  # it still serves files as root: chown works
  eff=$((16#$(awk '/^CapEff:/ { print $2 }' "/proc/$child/status")))
  [ $((eff & 1)) -eq 1 ]
  husk delete --force vfsd
}

@test "the serial console log stays within console_log_max_kib while the guest floods it" {
  # 1 MiB, 16 times the cap (the serial line of a TCG guest moves ~70 KB/s)
  make_bundle "$BUNDLE" /bin/sh -c 'head -c 1048576 /dev/zero | tr "\0" x > /dev/ttyS0; echo done > /dev/ttyS0'
  edit "$BUNDLE" '.linux.devices = [{path: "/dev/ttyS0", type: "c", major: 4, minor: 64, fileMode: 438}]
    | .linux.resources.devices = [{allow: true, type: "c", major: 4, minor: 64, access: "rw"}]'
  HUSK_CONSOLE_LOG_MAX_KIB=64 husk create --bundle "$BUNDLE" flood </dev/null
  husk start flood
  local log=$HUSK_ROOT/flood/console.log size max=0 i
  for ((i = 0; i < 3000; i++)); do
    size=$(stat -c %s "$log")
    [ "$size" -le $((64 * 1024)) ]
    [ "$size" -gt "$max" ] && max=$size
    [ "$(husk state flood | jq -r .status)" = stopped ] && break
    sleep 0.1
  done
  wait_status flood stopped 10
  size=$(stat -c %s "$log")
  echo "size $size, largest seen $max"
  [ "$size" -le $((64 * 1024)) ]
  # the newest output is what is kept: the flood's end, then the guest's
  # own last lines
  [ "$max" -gt $((32 * 1024)) ]
  grep -q "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxdone" "$log"
  tail -c 300 "$log" | grep -q "reboot: Restarting system"
  husk delete flood
}
