# /dev/shm as a bind of a 16 MiB host tmpfs (what Docker's --shm-size
# makes): husk gives the guest a tmpfs of the same size.
.mounts |= map(if .destination == "/dev/shm" then {destination: "/dev/shm", type: "bind", source: "\($fix)/shm", options: ["rbind", "nosuid", "nodev", "noexec"]} else . end)
