#!/usr/bin/env bats
# First contact: a copy of the tree on a simulated fresh Debian machine,
# where pkg-config and dpkg know of no library until the deps step (apt-get)
# has run. `make run` must then build, link and run the demo in one go, and
# a plain `make` before any install must say in one line what to run.
# The guest kernel comes from the shared cache, as on a second build.

load helpers

setup_file() {
  FRESH=$(mktemp -d /tmp/husk-fresh.XXXXXX)
  export FRESH
  mkdir "$FRESH/tree" "$FRESH/bin"
  (cd "$TOP" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) |
    tar -xf - -C "$FRESH/tree"
  local real
  # pkg-config and dpkg-query know nothing until "apt-get install" ran
  for tool in pkg-config dpkg-query; do
    real=$(command -v "$tool")
    cat > "$FRESH/bin/$tool" <<EOS
#!/bin/sh
[ -e "$FRESH/installed" ] && exec "$real" "\$@"
exit 1
EOS
  done
  cat > "$FRESH/bin/apt-get" <<EOS
#!/bin/sh
echo "apt-get \$*" >> "$FRESH/apt.log"
case "\$1" in install) touch "$FRESH/installed" ;; esac
exit 0
EOS
  chmod 755 "$FRESH/bin/"*
}

teardown_file() {
  rm -rf "$FRESH"
}

fresh_make() {
  PATH="$FRESH/bin:$PATH" make -C "$FRESH/tree" --no-print-directory "$@" </dev/null
}

@test "fresh machine: plain make says in one line what to run" {
  run fresh_make
  [ "$status" -ne 0 ]
  [[ "${lines[0]}" == "husk: missing build dependencies: jansson libseccomp"*"run 'make deps'"* ]]
  [[ "$output" != *"undefined reference"* ]]
  [[ "$output" != *"fatal error"* ]]
  [ ! -e "$FRESH/tree/build/husk" ]
}

@test "fresh machine: make run installs, builds, links and runs the demo on the first try" {
  run fresh_make run
  echo "$output" | tail -n 20
  [ "$status" -eq 0 ]
  grep -q "^apt-get install" "$FRESH/apt.log"
  [[ "$output" != *"undefined reference"* ]]
  [[ "$output" == *"hello from a husk container"* ]]
  [[ "$output" == *"the container exited with 0"* ]]
}
