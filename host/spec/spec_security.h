/* Names of the process security attributes (host/spec_security.c). */
#ifndef HUSK_HOST_SPEC_SECURITY_H
#define HUSK_HOST_SPEC_SECURITY_H

/* The number of a CAP_* name, or -1 if it is not one. */
int husk_cap_from_name(const char *name);

#endif
