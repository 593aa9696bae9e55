#!/usr/bin/env bash
# The shape of the tree, checked (docs/hacking.md): file and function sizes,
# which folder may include which, and that only proto/ speaks CBOR.
# Prints TAP; exits 1 if a check failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
n=0 failed=0
check() { # check NAME OUTPUT: ok when OUTPUT is empty
  n=$((n + 1))
  if [ -z "$2" ]; then
    echo "ok $n - layout: $1"
  else
    failed=$((failed + 1))
    echo "not ok $n - layout: $1"
    printf '%s\n' "$2" | sed 's/^/# /'
  fi
}
src=$(git ls-files '*.c' '*.h' | grep -v '^tests/')

check "no source file over 800 lines" \
  "$(echo "$src" | xargs wc -l | awk '$2 != "total" && $1 > 800 {print $2 ": " $1 " lines"}')"

# a function: a line at column 0 ending in ")" then "{" alone, up to "}" at column 0
check "no function over 120 lines" "$(for f in $(echo "$src" | grep '\.c$'); do
  awk -v f="$f" '
    start == 0 && prev ~ /^[A-Za-z_].*\)$/ && $0 == "{" { start = NR - 1; name = prev }
    start > 0 && /^}/ { if (NR - start + 1 > 120) printf "%s:%d: %d lines: %s\n", f, start, NR - start + 1, name; start = 0 }
    { prev = $0 }' "$f"
done)"

# includes_of DIR PATTERN: lines in DIR that include a file matching PATTERN
includes_of() { git grep -nE "^#\s*include\s+\"($2)" -- "$1" 2>/dev/null || true; }
check "proto/ includes neither side" "$(includes_of proto 'host/|guest/')"
check "common/ includes neither side nor proto/" "$(includes_of common 'host/|guest/|proto/')"
check "guest/ does not include host/" "$(includes_of guest 'host/')"
check "host/ does not include guest/" "$(includes_of host 'guest/')"
check "verbs reach the VM only through the monitor (cli/ includes no vsock/)" "$(includes_of host/cli 'host/vsock/')"
check "verbs call the container layer, which talks to the monitor (cli/ includes no monitor/)" \
  "$(includes_of host/cli 'host/monitor/')"
check "spec translation knows no process (spec/ includes no monitor/)" "$(includes_of host/spec 'host/monitor/')"
check "the state store knows no subsystem (state/ includes no net/, vsock/, monitor/, vmm/)" \
  "$(includes_of host/state 'host/net/|host/vsock/|host/monitor/|host/vmm/')"

# CBOR is built and parsed only in proto/: host and guest hand an encoder
# buffer (husk_cbor_enc_init/finish) or a parsed message to proto's typed
# codecs, and never put or get a CBOR item or a map key themselves
check "no CBOR encoding or decoding outside proto/" \
  "$(git grep -nE 'husk_cbor_(put|get|map_get|first|next)|husk_msg_get_|husk_msg_encode_one_' -- host guest 2>/dev/null || true)"

echo "1..$n"
[ "$failed" -eq 0 ]
