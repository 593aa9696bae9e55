# An exec'd process in the base container: it joins every namespace and
# gets the process's capabilities, rlimits, no_new_privs, env and cwd.
.
