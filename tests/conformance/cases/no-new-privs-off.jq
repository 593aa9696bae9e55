# noNewPrivileges false.
.process.noNewPrivileges = false
