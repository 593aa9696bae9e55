/* Unix stream sockets by path: the monitor's listeners and connections. */
#ifndef HUSK_HOST_UNIXSOCK_H
#define HUSK_HOST_UNIXSOCK_H

#include "common/err.h"

/* A listening socket at path (an old socket file there is replaced);
 * close-on-exec. Returns the fd. */
int husk_unix_listen(const char *path, int backlog, struct husk_err *err);
/* A blocking connection to path; close-on-exec. Returns the fd. */
int husk_unix_connect(const char *path, struct husk_err *err);

#endif
