# An exec'd process under Docker's default seccomp profile.
.linux.seccomp = $docker[0]
