# An exec'd process as a non-root user with additional groups, a reduced
# capability set with an ambient capability, rlimits, umask, env and cwd.
.process.user = {uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 23}
| .process.capabilities = {
  bounding: ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
  effective: ["CAP_NET_BIND_SERVICE"],
  permitted: ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
  inheritable: ["CAP_NET_BIND_SERVICE"],
  ambient: ["CAP_NET_BIND_SERVICE"]
}
| .process.rlimits = [{type: "RLIMIT_NOFILE", soft: 512, hard: 2048}, {type: "RLIMIT_NPROC", soft: 300, hard: 300}]
| .process.env += ["EXEC=yes"]
| .process.cwd = "/tmp"
