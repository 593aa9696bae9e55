# rlimits of several kinds; hard limits stay under this host's (no
# CAP_SYS_RESOURCE for runc here, nofile hard 20000).
.process.rlimits = [
  {type: "RLIMIT_NOFILE", soft: 4096, hard: 8192},
  {type: "RLIMIT_NPROC", soft: 500, hard: 1000},
  {type: "RLIMIT_CORE", soft: 0, hard: 1048576},
  {type: "RLIMIT_STACK", soft: 4194304, hard: 16777216},
  {type: "RLIMIT_MEMLOCK", soft: 65536, hard: 65536},
  {type: "RLIMIT_CPU", soft: 100, hard: 200},
  {type: "RLIMIT_NICE", soft: 0, hard: 0},
  {type: "RLIMIT_MSGQUEUE", soft: 8192, hard: 8192}
]
