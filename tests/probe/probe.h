/* husk test probe: the subcommands that live in their own files */
#ifndef HUSK_PROBE_H
#define HUSK_PROBE_H

/* probe report [SYSCTL-KEY...]: the container as seen from inside, JSON */
int probe_report(int argc, char **argv);
/* probe notify LINE... | --bytes N: an sd_notify datagram to $NOTIFY_SOCKET */
int probe_notify(int argc, char **argv);

/* probe shm-put KEY TEXT (put 1) | shm-get KEY (put 0): a SysV shm segment */
int probe_shm(int argc, char **argv, int put);

#endif
