#!/usr/bin/env bats
# The two vsock backends: the built-in vhost-user one everywhere, the
# kernel's vhost-vsock where /dev/vhost-vsock can be opened.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "the built-in vhost-user-vsock backend carries a container" {
  set_args "$BUNDLE" /bin/sh -c 'echo over-vhost-user'
  HUSK_VSOCK=vhost-user run husk run --bundle "$BUNDLE" vu1
  [ "$status" -eq 0 ]
  [ "$output" = "over-vhost-user" ]
}

@test "the kernel vhost-vsock backend carries a container" {
  # (a plain `exec 9<>` would create a regular file where the device is missing)
  if [ ! -c /dev/vhost-vsock ] || ! (exec 9</dev/vhost-vsock) 2>/dev/null; then
    skip "/dev/vhost-vsock cannot be opened on this host"
  fi
  set_args "$BUNDLE" /bin/sh -c 'echo over-vhost'
  HUSK_VSOCK=vhost run husk run --bundle "$BUNDLE" vh1
  [ "$status" -eq 0 ]
  [ "$output" = "over-vhost" ]
}

@test "the built-in backend echoes 1 MiB and 4 MiB both ways and 8 streams at once (echo guest)" {
  run "$TOP/tests/vsock/run-echo.sh"
  echo "$output"
  if [ "$status" -eq 77 ]; then skip "$output"; fi
  [ "$status" -eq 0 ]
}

@test "the built-in backend refuses guest connections to host ports nothing listens on (RST at once)" {
  make_bundle "$BUNDLE" /bin/sleep 600
  # the hostile test guest connects to 20 unbound host ports once started
  HUSK_VSOCK=vhost-user HUSK_INITRAMFS=$TOP/build/tests/hostile-initramfs.cpio.gz \
    HUSK_KERNEL_PARAMS=husk.hostile=run-vsock-unbound husk create --bundle "$BUNDLE" unbound </dev/null >/dev/null 2>&1
  husk start unbound
  local log=$HUSK_ROOT/unbound/console.log i
  for i in $(seq 120); do
    grep -q "unbound host ports refused" "$log" && break
    sleep 0.5
  done
  cat "$log"
  # refused with RST (ECONNRESET), not left to the guest's 2 s connect timeout
  grep -q "hostile-init: host port 7700: Connection reset by peer" "$log"
  grep -q "hostile-init: unbound host ports refused: 20/20" "$log"
  # the back-end still carries the session: the host is answered
  husk kill unbound 9
  wait_status unbound stopped 60
  husk delete unbound
}
