# A small profile: errno default with a syscall list, argument conditions
# and per-rule errno, installed without no_new_privs (needs CAP_SYS_ADMIN
# at install time, which the runtime still has).
.process.noNewPrivileges = false
| .linux.seccomp = {
  defaultAction: "SCMP_ACT_ALLOW",
  architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
  syscalls: [
    {names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1},
    {names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{index: 0, value: 8, op: "SCMP_CMP_EQ"}]},
    {names: ["kill"], action: "SCMP_ACT_ERRNO", args: [{index: 1, value: 0, op: "SCMP_CMP_GT"}, {index: 1, value: 9, op: "SCMP_CMP_LE"}]}
  ]
}
