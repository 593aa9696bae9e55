#!/usr/bin/env bats
# What confines the host side: virtiofsd serves exactly the shared tree (no
# symlink or .. escape reaches host files), the monitors run with
# no_new_privs and an allow-list seccomp filter from before they read the
# guest, QEMU jailed (its own uid, root, namespaces; no capabilities; its
# own seccomp sandbox), the vsock back-end confined, and state is root's
# alone.

load helpers

setup() { common_setup; }
teardown() {
  rm -f "/tmp/husk-escape-marker.$$"
  common_teardown
}

@test "confinement: no symlink or .. in the rootfs reaches host files" {
  local marker=/tmp/husk-escape-marker.$$
  echo HOST-SECRET > "$marker"
  echo BUNDLE-SECRET > "$BUNDLE/secret"
  # links planted in the rootfs on the host side, as an image could carry them
  ln -s "$marker" "$BUNDLE/rootfs/abs-link"
  ln -s ../../../../../../../..$marker "$BUNDLE/rootfs/dotdot-link"
  ln -s ../secret "$BUNDLE/rootfs/bundle-link"
  # (set_args takes one argument per line: the script is one line)
  local script="for p in /abs-link /dotdot-link /bundle-link /../secret /../../secret /../../../..$marker $marker;"
  script+=" do cat \$p 2>/dev/null; done;"
  script+=" ln -s ../secret /tmp-link 2>/dev/null; cat /tmp-link 2>/dev/null;"
  script+=" cd / && cd .. && cd .. && cat secret 2>/dev/null;"
  script+=" grep -rs SECRET /bin /etc /tmp /root 2>/dev/null | head -1; echo done"
  set_args "$BUNDLE" /bin/sh -c "$script"
  jq '.root.readonly = false' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  run husk run --bundle "$BUNDLE" esc </dev/null
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = done ]
}

# field NAME PID: the value of NAME in /proc/PID/status (first column)
field() { awk -v f="$1:" '$1 == f {print $2; exit}' "/proc/$2/status"; }

@test "confinement: monitors run with no_new_privs and seccomp, QEMU jailed, the vsock back-end confined, state is 0700/0600" {
  make_bundle "$BUNDLE" /bin/sleep 600
  HUSK_VSOCK=vhost-user husk create --bundle "$BUNDLE" conf </dev/null >/dev/null 2>&1
  husk start conf
  local mon qemu be set
  mon=$(husk state conf | jq -r .pid)
  [ "$(field NoNewPrivs "$mon")" = 1 ]
  [ "$(field Seccomp "$mon")" = 2 ]
  # QEMU: the VM's own uid and gid, no capability, NNP, its own seccomp
  # filter, and a root of its own that holds none of the host's files
  qemu=$(pgrep -f "^qemu-system.*$HUSK_ROOT/conf/")
  [ "$(field Uid "$qemu")" -ne 0 ]
  [ "$(field Gid "$qemu")" -ne 0 ]
  [ "$(field Seccomp "$qemu")" = 2 ]
  [ "$(field NoNewPrivs "$qemu")" = 1 ]
  for set in CapInh CapPrm CapEff CapBnd CapAmb; do
    [ "$(field $set "$qemu")" = 0000000000000000 ]
  done
  [ "$(stat -L -c %d:%i "/proc/$qemu/root")" != "$(stat -c %d:%i /)" ]
  [ -e "/proc/$qemu/root/usr/bin" ]
  [ ! -e "/proc/$qemu/root/etc/shadow" ] && [ ! -e "/proc/$qemu/root/run" ] && [ ! -e "/proc/$qemu/root/tmp" ]
  [ "$(readlink "/proc/$qemu/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
  [ "$(readlink "/proc/$qemu/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ]
  [ "$(readlink "/proc/$qemu/ns/uts")" != "$(readlink /proc/self/ns/uts)" ]
  [ "$(readlink "/proc/$qemu/ns/net")" != "$(readlink /proc/self/ns/net)" ]
  # the vsock back-end: the same uid, no capability, NNP, its allow-list
  be=$(pgrep -P "$mon" -x husk-vsock)
  [ "$(field Uid "$be")" = "$(field Uid "$qemu")" ]
  for set in CapInh CapPrm CapEff CapBnd CapAmb; do
    [ "$(field $set "$be")" = 0000000000000000 ]
  done
  [ "$(field NoNewPrivs "$be")" = 1 ]
  [ "$(field Seccomp "$be")" = 2 ]
  # the uid's slot is held for the VM's life
  [ -e "/run/husk-vmm-uids/$(field Uid "$qemu")" ]
  # an exec monitor too
  husk exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" conf /bin/sleep 600
  local ex
  ex=$(cat "$BATS_TEST_TMPDIR/exec.pid")
  [ "$(field NoNewPrivs "$ex")" = 1 ]
  [ "$(field Seccomp "$ex")" = 2 ]
  [ "$(stat -c %a "$HUSK_ROOT")" = 700 ]
  [ "$(stat -c %a "$HUSK_ROOT/conf")" = 700 ]
  [ "$(stat -c %a "$HUSK_ROOT/conf/state.json")" = 600 ]
  husk kill conf 9
  wait_status conf stopped 60
  husk delete conf
}

@test "confinement: the monitor is confined before the guest's HELLO reply arrives" {
  make_bundle "$BUNDLE" /bin/true
  # a guest that never answers HELLO: the monitor waits for it, confined
  HUSK_INITRAMFS=$TOP/build/tests/hostile-initramfs.cpio.gz HUSK_KERNEL_PARAMS=husk.hostile=hello-silent \
    HUSK_BOOT_TIMEOUT=120 husk create --bundle "$BUNDLE" early </dev/null >/dev/null 2>&1 &
  local i mon=
  # QEMU runs and the guest never answers: whatever the monitor does now, it
  # does before any reply of the guest's was decoded
  for i in $(seq 240); do
    pgrep -f "^qemu-system.*$HUSK_ROOT/early/" >/dev/null && break
    sleep 0.5
  done
  sleep 3
  [ "$(husk state early | jq -r .status)" = creating ]
  mon=$(husk state early | jq -r .pid)
  [ "$(field Seccomp "$mon")" = 2 ]
  [ "$(field NoNewPrivs "$mon")" = 1 ]
  husk delete --force early
  wait
}

apparmor_enabled() { [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; }
selinux_enabled() { [ -e /sys/fs/selinux/enforce ]; }

# lsm_bundle KEY VALUE: a long-lived bundle with process.KEY = VALUE
lsm_bundle() {
  make_bundle "$BUNDLE" /bin/sleep 600
  jq --arg k "$1" --arg v "$2" '.process[$k] = $v' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}

@test "LSM: apparmorProfile without AppArmor on the host is accepted, with a debug log" {
  apparmor_enabled && skip "AppArmor is enabled on this host (see the enforcement test)"
  lsm_bundle apparmorProfile husk-test-profile
  husk --debug --log "$BATS_TEST_TMPDIR/aa.log" create --bundle "$BUNDLE" aa </dev/null >/dev/null 2>&1
  # a logrus text line: the quotes in the message are escaped
  grep -qF 'AppArmor is not enabled on this host: apparmorProfile \"husk-test-profile\" is not applied' \
    "$BATS_TEST_TMPDIR/aa.log"
  husk delete --force aa
}

@test "LSM: apparmorProfile confines QEMU where AppArmor is enabled" {
  apparmor_enabled || skip "AppArmor is not enabled on this host"
  local profile
  profile=$(awk '{print $1; exit}' /sys/kernel/security/apparmor/profiles 2>/dev/null)
  [ -n "$profile" ] || skip "AppArmor has no profile loaded to apply"
  lsm_bundle apparmorProfile "$profile"
  husk create --bundle "$BUNDLE" aa </dev/null >/dev/null 2>&1
  local qemu
  qemu=$(pgrep -f "^qemu-system.*$HUSK_ROOT/aa/")
  grep -q "^$profile" "/proc/$qemu/attr/current"
  husk delete --force aa
}

@test "LSM: selinuxLabel without SELinux on the host is accepted, with a debug log" {
  selinux_enabled && skip "SELinux is enabled on this host (see the enforcement test)"
  lsm_bundle selinuxLabel system_u:system_r:container_t:s0
  husk --debug --log "$BATS_TEST_TMPDIR/se.log" create --bundle "$BUNDLE" se </dev/null >/dev/null 2>&1
  grep -qF 'SELinux is not enabled on this host: selinuxLabel \"system_u:system_r:container_t:s0\" is not applied' \
    "$BATS_TEST_TMPDIR/se.log"
  husk delete --force se
}

@test "LSM: selinuxLabel labels QEMU where SELinux is enabled" {
  selinux_enabled || skip "SELinux is not enabled on this host"
  local label
  label=$(tr -d '\0' < /proc/self/attr/current)
  lsm_bundle selinuxLabel "$label"
  husk create --bundle "$BUNDLE" se </dev/null >/dev/null 2>&1
  local qemu
  qemu=$(pgrep -f "^qemu-system.*$HUSK_ROOT/se/")
  [ "$(tr -d '\0' < "/proc/$qemu/attr/current")" = "$label" ]
  husk delete --force se
}

@test "LSM: a label of the wrong type is a one-line error at create" {
  make_bundle "$BUNDLE" /bin/true
  jq '.process.apparmorProfile = 5' "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  run husk create --bundle "$BUNDLE" bad </dev/null
  [ "$status" -ne 0 ]
  [ "$output" = "husk: config.json: process.apparmorProfile must be a string" ]
  [ -z "$(ls -A "$HUSK_ROOT")" ]
}
