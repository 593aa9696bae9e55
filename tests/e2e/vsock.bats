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
