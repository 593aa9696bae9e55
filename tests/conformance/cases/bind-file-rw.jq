# A host file bound read-write with nosuid and nodev.
.mounts += [{destination: "/etc/resolv.conf", type: "bind", source: "\($fix)/file", options: ["rbind", "rw", "nosuid", "nodev"]}]
