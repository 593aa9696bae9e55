# A reduced set of capabilities, different in each of the five sets, with
# an ambient capability (inheritable and permitted too) and a non-root user.
.process.capabilities = {
  bounding: ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_SETUID"],
  effective: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
  permitted: ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
  inheritable: ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"],
  ambient: ["CAP_NET_BIND_SERVICE"]
}
| .process.user = {uid: 1000, gid: 1000}
