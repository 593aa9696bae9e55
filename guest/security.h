/* The process's security attributes applied in the child before exec, in
 * runc's order (guest/spawn.c child_main calls them):
 *   security_early      oom_score_adj (through PID 1's /proc)
 *   security_prepare    rlimits, umask, no_new_privs, seccomp when NNP is
 *                       off (needs CAP_SYS_ADMIN), bounding set, keepcaps
 *   -- setgroups/setgid/setuid, chdir --
 *   security_caps       effective/permitted/inheritable, ambient
 *   security_final      seccomp when NNP is on, just before execve
 * Each failure goes to the host as one line through spawn_child_fail. */
#ifndef HUSK_GUEST_SECURITY_H
#define HUSK_GUEST_SECURITY_H

#include "proto/msg_security.h"

void security_early(const struct husk_process_security *s, int sync_fd);
void security_prepare(const struct husk_process_security *s, int sync_fd);
void security_caps(const struct husk_process_security *s, int sync_fd);
/* 0, or a negative errno (the sync channel is closed by then) */
int security_final(const struct husk_process_security *s);

#endif
