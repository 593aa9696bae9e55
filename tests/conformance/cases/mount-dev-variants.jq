# devpts and mqueue with other options, a proc mounted twice, and a
# second sysfs mount (read-write).
.mounts |= map(if .destination == "/dev/pts" then .options = ["nosuid", "noexec", "newinstance", "ptmxmode=0600", "mode=0600"]
               elif .destination == "/dev/mqueue" then .options = ["nosuid", "nodev", "noexec", "ro"] else . end)
| .mounts += [{destination: "/mnt/proc2", type: "proc", source: "proc", options: ["nosuid", "nodev", "noexec"]},
              {destination: "/mnt/sys2", type: "sysfs", source: "sysfs", options: ["nosuid", "nodev", "noexec"]}]
