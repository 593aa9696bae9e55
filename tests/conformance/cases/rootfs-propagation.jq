# rootfsPropagation "shared", and a bind mount with rslave propagation.
.linux.rootfsPropagation = "shared"
| .mounts += [{destination: "/data", type: "bind", source: "\($fix)/dir", options: ["rbind", "rslave"]}]
