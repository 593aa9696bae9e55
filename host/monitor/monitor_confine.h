/* What the monitor gives up once its container is created: it keeps
 * reading a hostile guest's frames for the container's whole life, so it
 * runs with no_new_privs and a seccomp filter (built with libseccomp) that
 * refuses the system calls it never needs. */
#ifndef HUSK_HOST_MONITOR_CONFINE_H
#define HUSK_HOST_MONITOR_CONFINE_H

#include "common/err.h"

/* Sets no_new_privs and loads the deny-list filter on the calling process
 * (inherited by what it starts afterwards: startContainer and poststart
 * hooks). Denied calls fail with EPERM. */
int husk_monitor_confine(struct husk_err *err);

#endif
