# A host directory bound read-write (a volume), with rprivate propagation.
.mounts += [{destination: "/srv/vol", type: "none", source: "\($fix)/dir", options: ["rbind", "rw", "rprivate"]}]
