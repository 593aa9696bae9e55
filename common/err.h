/* husk error contract (CONVENTIONS.md): a function that can fail takes a
 * caller-owned struct husk_err, returns a negative errno-style code and then
 * always fills err. husk_err_wrap() adds context in front of an existing
 * message. The buffer is fixed so failing paths never allocate (PID 1 too). */
#ifndef HUSK_COMMON_ERR_H
#define HUSK_COMMON_ERR_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>

#define HUSK_ERR_MSG_MAX 512

struct husk_err {
	int code;                   /* positive errno value, 0 when unset */
	char msg[HUSK_ERR_MSG_MAX]; /* human-readable, one line */
};

/* Sets err unless it is already set; returns -code (code<=0 becomes EIO). */
int husk_err_set(struct husk_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* As husk_err_set, appending ": strerror(code)". */
int husk_err_sys(struct husk_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes "context: " to the message already in err; returns -err->code. */
int husk_err_wrap(struct husk_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void husk_err_clear(struct husk_err *err);

static inline bool husk_err_is_set(const struct husk_err *err)
{
	return err->code != 0;
}

#endif
