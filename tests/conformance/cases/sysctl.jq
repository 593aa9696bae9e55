# linux.sysctl: ipc and network keys (runc accepts only namespaced keys).
.linux.sysctl = {
  "kernel.shmmax": "68719476736",
  "kernel.msgmax": "16384",
  "kernel.sem": "250 32000 100 128",
  "fs.mqueue.msg_max": "20",
  "net.ipv4.ip_forward": "1",
  "net.ipv4.ip_unprivileged_port_start": "80",
  "net.core.somaxconn": "1024"
}
