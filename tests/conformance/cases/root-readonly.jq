# root.readonly: the rootfs is mounted read-only.
.root.readonly = true
