/* What the monitor gives up before it decodes anything from the guest
 * (right after QEMU starts; an exec monitor before it connects): it keeps
 * reading a hostile guest's frames for the container's whole life, so it
 * runs with no_new_privs and an allow-list seccomp filter (built with
 * libseccomp) of the calls its loop needs; every other call fails with
 * EPERM. It starts nothing after that: hooks run in the hook runner
 * forked before (monitor_hookrun.c). */
#ifndef HUSK_HOST_MONITOR_CONFINE_H
#define HUSK_HOST_MONITOR_CONFINE_H

#include "common/err.h"

/* Sets no_new_privs and loads the allow-list on the calling process. */
int husk_monitor_confine(struct husk_err *err);

#endif
