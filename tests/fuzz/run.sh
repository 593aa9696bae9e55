#!/usr/bin/env bash
# Fuzzes the wire decoders, or replays their corpora.
#
#   tests/fuzz/run.sh [fuzz] [NAME...]   build with clang + libFuzzer, ASan and
#                                        UBSan; run each harness FUZZ_SECONDS
#                                        (default 30) seconds
#   tests/fuzz/run.sh replay [NAME...]   build with gcc + ASan/UBSan and the
#                                        replay main; replay the committed corpus
#                                        once (quick, deterministic: make test)
#
# NAME is a harness (cbor, frame, msg, spec, vhost_user, vsock, monitor); default all of tests/fuzz/fuzz_*.c. New
# inputs libFuzzer finds go to build/fuzz/corpus/NAME, crashes to
# build/fuzz/artifacts/; copy an input worth keeping into
# tests/fuzz/corpus/NAME/ by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."

mode=fuzz
case "${1:-}" in
  fuzz|replay) mode=$1; shift ;;
esac
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
B=build/fuzz

if [ "$#" -gt 0 ]; then
  names=("$@")
else
  names=()
  for f in tests/fuzz/fuzz_*.c; do
    n=${f##*/fuzz_}; names+=("${n%.c}")
  done
fi

# The library sources are held to -Werror by the Makefile; here warnings in
# them are shown but do not stop fuzzing. The harnesses themselves use -Werror.
WARN="-Wall -Wextra -Wshadow -Wmissing-prototypes -Wformat=2 -Wno-unused-parameter"
CFLAGS="-std=gnu11 -g -O1 -D_GNU_SOURCE -fno-omit-frame-pointer -iquote ."
LIB_SRCS=(common/err.c common/arena.c common/escape.c common/fs.c proto/cbor.c proto/frame.c proto/msg.c proto/msg_container.c proto/msg_security.c proto/msg_resources.c proto/msg_network.c proto/msg_notify.c proto/msg_session.c host/state/log.c host/vsock/virtq.c host/vsock/vsock_pkt.c host/vsock/vsock_mux.c host/vsock/vsock_conn.c host/vsock/vsock_queue.c host/vsock/vhost_user.c host/spec/spec.c host/spec/spec_container.c host/spec/spec_namespaces.c host/spec/spec_notify.c host/spec/spec_resources.c host/spec/spec_security.c host/spec/seccomp.c host/spec/seccomp_enosys.c host/state/fsutil.c)

# the monitor's harness runs the monitor's own code: all of the host's
MON_SRCS=()
for f in common/*.c proto/*.c host/*/*.c; do
  [ "$f" = host/cli/main.c ] || MON_SRCS+=("$f")
done
MON_DEFS="-DHUSK_LIBDIR=\"/usr/local/lib/husk\""
MON_LIBS="$(pkg-config --libs jansson libseccomp libmnl inih libapparmor libselinux) -lpthread"

if [ "$mode" = fuzz ]; then
  CC=${FUZZ_CC:-clang}
  SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
  command -v "$CC" >/dev/null || { echo "run.sh: $CC not found (scripts/install-deps.sh installs clang)" >&2; exit 1; }
else
  CC=${REPLAY_CC:-gcc}
  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
  WARN="$WARN -Wno-format-truncation" # as in the Makefile; clang has no such option
fi

# Builds $B/<mode>/<name>: library objects, then the harness (+ replay main).
build() {
  local name=$1 out=$B/$mode
  mkdir -p "$out/obj"
  local objs=() srcs=("${LIB_SRCS[@]}") libs="-lcbor -ljansson -lseccomp"
  local defs=""
  if [ "$name" = monitor ]; then srcs=("${MON_SRCS[@]}"); libs="$MON_LIBS"; defs=$MON_DEFS; fi
  for src in "${srcs[@]}"; do
    local o
    o=$out/obj/${src%.c}.o # the source's own path: two folders may hold the same file name
    mkdir -p "${o%/*}"
    # shellcheck disable=SC2086
    $CC $CFLAGS $defs $WARN $SAN -c -o "$o" "$src"
    objs+=("$o")
  done
  local extra=()
  [ "$mode" = replay ] && extra=(tests/fuzz/replay_main.c)
  # With clang, -fsanitize=fuzzer instruments every object for coverage and
  # links libFuzzer's main(); the replay build brings its own main().
  # shellcheck disable=SC2086
  $CC $CFLAGS $WARN -Werror $SAN -o "$out/$name" "tests/fuzz/fuzz_$name.c" "${extra[@]}" "${objs[@]}" $libs
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for name in "${names[@]}"; do
  [ -f "tests/fuzz/fuzz_$name.c" ] || { echo "run.sh: no harness tests/fuzz/fuzz_$name.c" >&2; exit 1; }
  seeds=tests/fuzz/corpus/$name
  build "$name"
  if [ "$mode" = replay ]; then
    # (not inside echo's arguments: a replay that crashes must fail the run)
    replayed=$("$B/replay/$name" "$seeds")
    echo "fuzz-replay $name: $replayed"
  else
    work=$B/corpus/$name
    mkdir -p "$work" "$B/artifacts"
    echo "fuzz $name: ${FUZZ_SECONDS}s"
    "$B/fuzz/$name" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="$B/artifacts/$name-" "$work" "$seeds"
  fi
done
