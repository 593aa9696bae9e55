#!/usr/bin/env bats
# What confines the host side: virtiofsd serves exactly the shared tree (no
# symlink or .. escape reaches host files), the monitors run with
# no_new_privs and a seccomp filter, QEMU under its own seccomp sandbox, and
# state is root's alone.

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

@test "confinement: monitors run with no_new_privs and seccomp, QEMU sandboxed, state is 0700/0600" {
  make_bundle "$BUNDLE" /bin/sleep 600
  husk create --bundle "$BUNDLE" conf </dev/null >/dev/null 2>&1
  husk start conf
  local mon qemu
  mon=$(husk state conf | jq -r .pid)
  grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$mon/status"
  grep -q "^Seccomp:[[:space:]]*2" "/proc/$mon/status"
  qemu=$(pgrep -f "^qemu-system.*$HUSK_ROOT/conf/")
  grep -q "^Seccomp:[[:space:]]*2" "/proc/$qemu/status"
  # an exec monitor too
  husk exec --detach --pid-file "$BATS_TEST_TMPDIR/exec.pid" conf /bin/sleep 600
  local ex
  ex=$(cat "$BATS_TEST_TMPDIR/exec.pid")
  grep -q "^NoNewPrivs:[[:space:]]*1" "/proc/$ex/status"
  grep -q "^Seccomp:[[:space:]]*2" "/proc/$ex/status"
  [ "$(stat -c %a "$HUSK_ROOT")" = 700 ]
  [ "$(stat -c %a "$HUSK_ROOT/conf")" = 700 ]
  [ "$(stat -c %a "$HUSK_ROOT/conf/state.json")" = 600 ]
  husk kill conf 9
  wait_status conf stopped 60
  husk delete conf
}
