#include "common/err.h"

#include <stdio.h>
#include <string.h>

static int husk_err_vset(struct husk_err *err, int code, bool with_errno, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static int husk_err_vset(struct husk_err *err, int code, bool with_errno, const char *fmt, va_list ap)
{
	if (code < 0)
		code = -code;
	if (code == 0)
		code = EIO;
	if (err->code != 0)
		return -err->code;
	err->code = code;
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(code));
	return -code;
}

int husk_err_set(struct husk_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = husk_err_vset(err, code, false, fmt, ap);
	va_end(ap);
	return r;
}

int husk_err_sys(struct husk_err *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = husk_err_vset(err, code, true, fmt, ap);
	va_end(ap);
	return r;
}

int husk_err_wrap(struct husk_err *err, const char *fmt, ...)
{
	char prefix[HUSK_ERR_MSG_MAX];
	char old[HUSK_ERR_MSG_MAX];
	va_list ap;

	if (err->code == 0)
		err->code = EIO;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	old[sizeof old - 1] = '\0';
	snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
	return -err->code;
}

void husk_err_clear(struct husk_err *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}
