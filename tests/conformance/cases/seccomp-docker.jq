# Docker's default seccomp profile (tests/fixtures/seccomp-docker-like.json)
# with no_new_privs, as Docker runs containers.
.linux.seccomp = $docker[0]
