#!/usr/bin/env bats
# Verbs that need no VM of their own: spec, features.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "spec writes runc's default config.json, and a container runs from it" {
  dir=$BATS_TEST_TMPDIR/specbundle
  mkdir -p "$dir"
  husk spec --bundle "$dir"
  [ "$(jq -r .ociVersion "$dir/config.json")" = "1.0.2" ]
  [ "$(jq -r '.process.args[0]' "$dir/config.json")" = "sh" ]
  [ "$(jq -r .process.terminal "$dir/config.json")" = "true" ]
  [ "$(jq -r .root.path "$dir/config.json")" = "rootfs" ]
  run husk spec --bundle "$dir"
  [ "$status" -ne 0 ]
  [[ "$output" == *exists* ]]
  # give it the busybox rootfs and a command, and run it
  cp -a "$BUNDLE/rootfs" "$dir/rootfs"
  jq '.process.terminal = false | .process.args = ["/bin/sh", "-c", "echo from-spec"] | .root.readonly = false' \
    "$dir/config.json" > "$dir/c.json" && mv "$dir/c.json" "$dir/config.json"
  run husk run --bundle "$dir" fromspec
  [ "$status" -eq 0 ]
  [ "$output" = "from-spec" ]
}
