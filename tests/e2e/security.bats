#!/usr/bin/env bats
# The process's security attributes applied in the guest as runc applies
# them: capabilities, rlimits, no_new_privs, oom_score_adj, umask, seccomp;
# for the container and for exec'd processes.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# edit BUNDLE's config.json with a jq filter
spec() {
  jq "$@" "$BUNDLE/config.json" > "$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}

# status_line KEY: the value of KEY from `probe status` output in $output
status_line() {
  printf '%s\n' "$output" | awk -v k="$1:" '$1 == k { print $2 }'
}

MKDIR_EPERM='{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
 "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}'

@test "capabilities: the default bundle's sets (Docker's defaults), nothing inheritable or ambient" {
  set_args "$BUNDLE" /bin/probe status
  run husk run --bundle "$BUNDLE" caps
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(status_line CapBnd)" = "00000000a80425fb" ]
  [ "$(status_line CapEff)" = "00000000a80425fb" ]
  [ "$(status_line CapPrm)" = "00000000a80425fb" ]
  [ "$(status_line CapInh)" = "0000000000000000" ]
  [ "$(status_line CapAmb)" = "0000000000000000" ]
  [ "$(status_line NoNewPrivs)" = "1" ]
  [ "$(status_line Seccomp)" = "0" ]
}

@test "capabilities: all five sets for a non-root user, with ambient kept across exec" {
  spec '.process.user = {uid: 1000, gid: 1000}
    | .process.capabilities = {bounding: ["CAP_NET_BIND_SERVICE","CAP_KILL","CAP_SYS_ADMIN"],
        effective: ["CAP_NET_BIND_SERVICE","CAP_KILL"], permitted: ["CAP_NET_BIND_SERVICE","CAP_KILL"],
        inheritable: ["CAP_NET_BIND_SERVICE"], ambient: ["CAP_NET_BIND_SERVICE"]}
    | .process.noNewPrivileges = false'
  set_args "$BUNDLE" /bin/probe status
  run husk run --bundle "$BUNDLE" caps5
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(status_line CapBnd)" = "0000000000200420" ]
  # after execve a non-root process keeps only its ambient capabilities
  [ "$(status_line CapAmb)" = "0000000000000400" ]
  [ "$(status_line CapEff)" = "0000000000000400" ]
  [ "$(status_line CapPrm)" = "0000000000000400" ]
  [ "$(status_line CapInh)" = "0000000000000400" ]
  [ "$(status_line NoNewPrivs)" = "0" ]
}

@test "no process.capabilities: the process has none, as under runc" {
  spec 'del(.process.capabilities)'
  set_args "$BUNDLE" /bin/probe status
  run husk run --bundle "$BUNDLE" nocaps
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(status_line CapBnd)" = "0000000000000000" ]
  [ "$(status_line CapEff)" = "0000000000000000" ]
}

@test "rlimits above the host's hard limit, oom_score_adj, umask" {
  spec '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 50000, hard: 50000}, {type: "RLIMIT_CORE", soft: 0, hard: 1000},
      {type: "RLIMIT_NPROC", soft: 300, hard: 400}]
    | .process.oomScoreAdj = 500 | .process.user.umask = 63'
  set_args "$BUNDLE" /bin/sh -c 'probe rlimits; cat /proc/self/oom_score_adj; probe umask'
  run husk run --bundle "$BUNDLE" limits
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"RLIMIT_NOFILE 50000 50000"* ]]
  [[ "$output" == *"RLIMIT_CORE 0 1000"* ]]
  [[ "$output" == *"RLIMIT_NPROC 300 400"* ]]
  [ "${lines[5]}" = "500" ]
  [ "${lines[6]}" = "0077" ]
}

@test "umask defaults to 0022 and a negative oom_score_adj is applied" {
  spec '.process.oomScoreAdj = -800'
  set_args "$BUNDLE" /bin/sh -c 'probe umask; cat /proc/self/oom_score_adj'
  run husk run --bundle "$BUNDLE" defaults
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "0022" ]
  [ "${lines[1]}" = "-800" ]
}

@test "seccomp: mkdir returns EPERM, Seccomp: 2 (with and without no_new_privs)" {
  for nnp in true false; do
    spec --argjson sc "$MKDIR_EPERM" --argjson nnp "$nnp" '.linux.seccomp = $sc | .process.noNewPrivileges = $nnp'
    set_args "$BUNDLE" /bin/sh -c 'probe status; mkdir /tmp/nope 2>&1; echo "mkdir=$?"'
    run husk run --bundle "$BUNDLE" "sc-$nnp"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(status_line Seccomp)" = "2" ]
    [[ "$output" == *"Operation not permitted"* ]]
    [[ "$output" == *"mkdir=1"* ]]
  done
}

@test "seccomp: a Docker-like default profile runs a shell normally" {
  spec --slurpfile sc "$TOP/tests/fixtures/seccomp-docker-like.json" '.linux.seccomp = $sc[0] | .process.noNewPrivileges = false'
  set_args "$BUNDLE" /bin/sh -c 'mkdir /tmp/d && echo hi > /tmp/d/f && cat /tmp/d/f; ls / | wc -l >/dev/null; (sleep 0; echo sub) ; probe status | grep Seccomp'
  run husk run --bundle "$BUNDLE" docker
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "hi" ]
  [ "${lines[1]}" = "sub" ]
  [[ "${lines[2]}" == "Seccomp:"*2 ]]
}

@test "exec'd processes get the container's capabilities and seccomp filter; --cap adds, --process too" {
  spec --argjson sc "$MKDIR_EPERM" '.linux.seccomp = $sc'
  set_args "$BUNDLE" /bin/sleep 1000
  husk create --bundle "$BUNDLE" ex </dev/null >/dev/null 2>&1
  husk start ex
  run husk exec ex /bin/sh -c 'probe status; mkdir /tmp/x 2>&1; echo "mkdir=$?"'
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(status_line CapBnd)" = "00000000a80425fb" ]
  [ "$(status_line CapEff)" = "00000000a80425fb" ]
  [ "$(status_line Seccomp)" = "2" ]
  [[ "$output" == *"mkdir=1"* ]]

  run husk exec --cap CAP_SYS_ADMIN ex /bin/probe status
  echo "$output"
  [ "$(status_line CapBnd)" = "00000000a82425fb" ]
  [ "$(status_line CapEff)" = "00000000a82425fb" ]

  cat > "$BATS_TEST_TMPDIR/process.json" <<'JSON'
{"terminal":false,"user":{"uid":0,"gid":0},"args":["/bin/sh","-c","probe status; ulimit -n; mkdir /tmp/y 2>&1; echo mkdir=$?"],
 "env":["PATH=/bin"],"cwd":"/","capabilities":{"bounding":["CAP_KILL"],"effective":["CAP_KILL"],"permitted":["CAP_KILL"]},
 "rlimits":[{"type":"RLIMIT_NOFILE","soft":40000,"hard":40000}],"noNewPrivileges":true}
JSON
  run husk exec --process "$BATS_TEST_TMPDIR/process.json" ex
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(status_line CapBnd)" = "0000000000000020" ]
  [ "$(status_line CapEff)" = "0000000000000020" ]
  [ "$(status_line NoNewPrivs)" = "1" ]
  [ "$(status_line Seccomp)" = "2" ]
  [[ "$output" == *40000* ]]
  [[ "$output" == *"mkdir=1"* ]]

  run husk exec --cap CAP_FLY ex /bin/true
  [ "$status" -ne 0 ]
  [[ "$output" == *CAP_FLY* ]]
}

one_line_error_nothing_left() {
  echo "$output"
  [ "$status" -ne 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == husk:* ]]
  [ -z "$(ls -A "$HUSK_ROOT")" ]
  [ -z "$(leftover_processes)" ]
}

@test "an invalid seccomp profile, capability or rlimit is one clear error at create, nothing left" {
  cp "$BUNDLE/config.json" "$BUNDLE/orig.json"
  spec '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir"], action: "SCMP_ACT_EXPLODE"}]}'
  run husk create --bundle "$BUNDLE" bad1
  one_line_error_nothing_left
  [[ "$output" == *SCMP_ACT_EXPLODE* ]]

  cp "$BUNDLE/orig.json" "$BUNDLE/config.json"
  spec '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_PDP11"]}'
  run husk create --bundle "$BUNDLE" bad2
  one_line_error_nothing_left
  [[ "$output" == *SCMP_ARCH_PDP11* ]]

  cp "$BUNDLE/orig.json" "$BUNDLE/config.json"
  spec '.linux.seccomp = {defaultAction: "SCMP_ACT_NOTIFY"}'
  run husk create --bundle "$BUNDLE" bad3
  one_line_error_nothing_left
  [[ "$output" == *"not supported"* ]]

  cp "$BUNDLE/orig.json" "$BUNDLE/config.json"
  spec '.process.capabilities.bounding += ["CAP_TELEPORT"]'
  run husk create --bundle "$BUNDLE" bad4
  one_line_error_nothing_left
  [[ "$output" == *CAP_TELEPORT* ]]

  cp "$BUNDLE/orig.json" "$BUNDLE/config.json"
  spec '.process.rlimits = [{type: "RLIMIT_WISHES", soft: 3, hard: 3}]'
  run husk create --bundle "$BUNDLE" bad5
  one_line_error_nothing_left
  [[ "$output" == *RLIMIT_WISHES* ]]
}
