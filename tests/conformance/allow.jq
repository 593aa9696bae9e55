# The allow-list of the conformance test: what may differ between a
# container under runc and the same container under husk, and why.
#
# Input: one probe report (tests/probe/report.c). $config: the case's
# config.json. Output: the report with every allowed difference removed or
# rewritten to a form both runtimes share. $rt: "runc" or "husk", for the
# few steps where runc is the one that departs from the spec; $mode: "run"
# (the probe is the container's process) or "exec" (an exec'd process). The runner compares the two
# outputs; anything left that differs fails the case. Each step below is
# one allowed difference and says why it exists; docs/limitations.md
# ("What a container sees differently in a VM") lists the same.

def ns($t): [$config.linux.namespaces[]?.type] | index($t) != null;
def res: $config.linux.resources // {};
# (no `try` here: jq 1.6 loses values of `|=` whose filter uses it)
def big: . != null and (tonumber >= 9000000000000000000);

# A. The kernel: husk's container runs on the VM's own kernel, not the
#    host's, so the release differs.
del(.kernel)

# B. The machine: the VM has the memory and vCPUs husk sized it with
#    (from linux.resources, the config file or annotations), not the host's.
| del(.mem_total_kb, .cpus_online)

# C. Without a cpuset the container may run on every CPU of its machine:
#    the host's under runc, the VM's vCPUs under husk.
| if res.cpu.cpus then . else del(.cpus_allowed) end

# D. rlimits the config does not set are inherited: under runc from the
#    process that called runc on the host, under husk from the guest
#    kernel's defaults (RLIMIT_NPROC and RLIMIT_SIGPENDING scale with the
#    machine's memory). The ones in process.rlimits must agree.
| ([$config.process.rlimits[]?.type]) as $set
| .rlimits |= with_entries(select(.key as $k | $set | index($k)))

# D2. RLIMIT_NOFILE under runc: Debian's runc 1.1.5 sets a process's
#     rlimits from outside (prlimit on `runc init`, a Go program), and the
#     Go runtime raises its own soft NOFILE limit to the hard one when it
#     starts: which of the two writes lands last is a race, so runc's soft
#     value is the config's or the hard limit by timing. runc's figure is
#     replaced by the config's; husk's must be the config's exactly.
| ([$config.process.rlimits[]? | select(.type == "RLIMIT_NOFILE")][0]) as $nofile
| if $rt == "runc" and $nofile != null and .rlimits.RLIMIT_NOFILE != null
  then .rlimits.RLIMIT_NOFILE = [$nofile.soft, $nofile.hard] else . end

# E. Without a uts namespace the names are the machine's: the host's under
#    runc, the VM's under husk.
| if ns("uts") then . else del(.hostname, .domainname) end

# E2. domainname: Debian's runc 1.1.5 does not implement the spec's
#     `domainname` (runc 1.2 does); husk must show the configured one.
| if $rt == "runc" and ns("uts") and $config.domainname then .domainname = $config.domainname else . end

# E3. exec: Debian's runc 1.1.5 does not apply process.user.umask to an
#     exec'd process (runc PR #3661, in runc 1.2); husk does.
| if $rt == "runc" and $mode == "exec" and $config.process.user.umask != null
  then .umask = ($config.process.user.umask | [(. / 64 | floor) % 8, (. / 8 | floor) % 8, . % 8]
                 | "0" + (map(tostring) | join("")))
  else . end

# F. The rootfs reaches the guest through virtio-fs: "/" and every mount
#    of the same file system (bind mounts of host directories and files,
#    read-only paths inside the rootfs) are "virtiofs" from the tag "vfs"
#    under husk and the host's file system (ext4 of /dev/vda here) under
#    runc; their per-mount options (ro, nosuid, nodev, noexec, atime) and
#    propagation must agree.
| (.mounts | map(select(.target == "/"))[0]) as $root
| .mounts |= map(if .fstype == $root.fstype and .source == $root.source
                 then .fstype = "(rootfs file system)" | del(.source, .super) else . end)

# F1. rootfsPropagation "shared" or "unbindable": runc 1.1.5 leaves "/"
#     private (runc issue #1755, fixed in runc 1.2.7/1.3); husk applies it.
| ({shared: "shared", rshared: "shared", unbindable: "unbindable", runbindable: "unbindable"}
   [$config.linux.rootfsPropagation // ""]) as $rp
| if $rt == "runc" and $rp then .mounts |= map(if .target == "/" then .propagation = $rp else . end) else . end

# F2. The source name of a bind mount is the host's device (runc) or
#     husk's name for what it made of it ("shm" for a host tmpfs on
#     /dev/shm, which becomes a guest tmpfs of the same size).
| ([$config.mounts[]? | select(.type == "bind" or ((.options // []) | index("bind") or index("rbind")))
   | .destination]) as $binds
| .mounts |= map(if .target as $t | $binds | index($t) then del(.source) else . end)

# G. sysfs belongs to a network namespace. husk's container shares the
#    VM's network (the VM is the isolation), so its /sys mount is a new
#    mount of the guest's sysfs superblock, whose superblock options are
#    the guest's ("rw"); runc's new network namespace gets a new superblock
#    that carries the mount's "ro". The per-mount options must agree.
| .mounts |= map(if .fstype == "sysfs" then del(.super) else . end)

# H. Paths that do not exist in the guest kernel are not masked (runc too
#    skips a missing masked path): /proc/keys (the guest kernel has no key
#    retention service, CONFIG_KEYS).
| .mounts |= map(select(.target != "/proc/keys"))

# I. cgroups: this host has cgroup v1 (plus a v2 "unified" mount); runc
#    mounts a `cgroup` entry as a tmpfs with one cgroup v1 mount per
#    controller, husk's guest kernel is cgroup v2 only and mounts cgroup2.
#    The mounts collapse to one entry with the options of the cgroup file
#    system(s) (ro/rw, nosuid, ...).
| (.mounts | map(select((.target == "/sys/fs/cgroup" or (.target | startswith("/sys/fs/cgroup/")))
                         and (.fstype == "cgroup" or .fstype == "cgroup2")))[0]) as $cg
| .mounts |= (map(select(.target | startswith("/sys/fs/cgroup/") | not))
              | map(if .target == "/sys/fs/cgroup" and $cg != null
                    then {target, propagation, fstype: "cgroup", opts: $cg.opts} else . end))

# J. The cgroup limits, v1 files (runc here) converted to the v2 values
#    the way runc converts a spec on a v2 host: unlimited is "max",
#    memory+swap becomes swap, cpu.shares becomes cpu.weight, quota and
#    period become cpu.max; a v1 soft limit of "unlimited" is v2's
#    memory.low 0 (no reservation).
| .cgroup |= (if .version == 1 then {
      memory_max: (.["memory/memory.limit_in_bytes"] | if big then "max" else . end),
      memory_low: (.["memory/memory.soft_limit_in_bytes"] | if big then "0" else . end),
      memory_swap_max: (if (.["memory/memory.memsw.limit_in_bytes"] | big) then "max"
                        else ((.["memory/memory.memsw.limit_in_bytes"] | tonumber)
                              - (.["memory/memory.limit_in_bytes"] | tonumber) | tostring) end),
      cpu_max: ((.["cpu/cpu.cfs_quota_us"] | if . == "-1" then "max" else . end) + " " + .["cpu/cpu.cfs_period_us"]),
      cpu_weight: (.["cpu/cpu.shares"] | tonumber | 1 + (((. - 2) * 9999 / 262142) | floor) | tostring),
      cpus: .["cpuset/cpuset.cpus"], mems: .["cpuset/cpuset.mems"], pids_max: .["pids/pids.max"] }
    elif .version == 2 then {
      memory_max: .["memory.max"], memory_low: .["memory.low"], memory_swap_max: .["memory.swap.max"],
      cpu_max: .["cpu.max"], cpu_weight: .["cpu.weight"], cpus: .["cpuset.cpus.effective"],
      mems: .["cpuset.mems.effective"], pids_max: .["pids.max"] }
    else {} end)

# K. Defaults of what the config does not set are the machine's: the CPUs
#    and memory nodes of a cpuset (host vs VM), and cpu weight (v1's
#    default 1024 shares is not v2's default weight 100 in runc's formula).
| if res.cpu.cpus then . else del(.cgroup.cpus) end
| if res.cpu.mems then . else del(.cgroup.mems) end
| if res.cpu.shares then . else del(.cgroup.cpu_weight) end

# L. In a user namespace:
#    - device nodes cannot be created, so the machine's are bound from its
#      devtmpfs, whose size and mount options (the guest mounts it nosuid)
#      are the machine's;
#    - husk cannot mount a new sysfs (the VM's network namespace is not
#      owned by the user namespace) and binds the guest's /sys with what
#      is mounted below it (the guest's cgroup2 at /sys/fs/cgroup); runc's
#      new network namespace lets it mount a fresh sysfs. Mounts below /sys
#      the config does not ask for, and what the probe reads through them,
#      are the guest's.
| if ns("user") then
    ([$config.mounts[]?.destination] + ($config.linux.maskedPaths // []) + ($config.linux.readonlyPaths // [])) as $asked
    | .mounts |= map(if .fstype == "devtmpfs" then del(.super, .opts) else . end)
    | .mounts |= map(select(.target as $t | ($t | startswith("/sys/") | not) or ($asked | index($t))))
    | (if [$config.mounts[]? | select(.type == "cgroup" or .type == "cgroup2")] == [] then .cgroup = {} else . end)
  else . end
