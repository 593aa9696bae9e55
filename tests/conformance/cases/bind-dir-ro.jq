# A host directory bound read-only with nosuid, nodev and noexec.
.mounts += [{destination: "/data", type: "bind", source: "\($fix)/dir", options: ["rbind", "ro", "nosuid", "nodev", "noexec"]}]
