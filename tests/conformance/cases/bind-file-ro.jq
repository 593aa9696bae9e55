# A host file bound read-only over a file the rootfs has (/etc/group),
# and one at a path that does not exist yet: what podman and docker do
# with /etc/hosts, /etc/resolv.conf and /etc/hostname.
.mounts += [{destination: "/etc/group", type: "bind", source: "\($fix)/file", options: ["bind", "ro"]},
            {destination: "/etc/hostname", type: "bind", source: "\($fix)/file", options: ["rbind", "ro", "nosuid", "nodev", "noexec"]}]
