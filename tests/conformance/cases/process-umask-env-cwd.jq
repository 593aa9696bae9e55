# umask, environment and working directory (created by the runtime when
# missing).
.process.user.umask = 23
| .process.env += ["FOO=bar", "EMPTY=", "WITH_SPACE=a b"]
| .process.cwd = "/var/lib/created-by-runtime"
