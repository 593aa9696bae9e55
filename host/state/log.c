#include "host/state/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/escape.h"

static int log_fd = 2;
static int tee_fd = -1; /* the caller's stderr, while a --debug monitor starts */
static bool log_json;
static enum husk_log_level log_level = HUSK_LOG_INFO;
static char log_id[128];

static const char *const level_names[] = { "error", "warning", "info", "debug" };

static void open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
}

void husk_log_setup(const char *path, bool json, enum husk_log_level level)
{
	log_json = json;
	log_level = level;
	if (path)
		open_log(path);
}

void husk_log_to_file(const char *path)
{
	/* --debug without --log: the caller asked for debug lines on stderr;
	 * a monitor keeps them coming there until it reports ready */
	if (log_fd == 2 && log_level >= HUSK_LOG_DEBUG && tee_fd < 0)
		tee_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	open_log(path);
}

void husk_log_tee_end(void)
{
	if (tee_fd >= 0)
		close(tee_fd);
	tee_fd = -1;
}

void husk_log_set_id(const char *id)
{
	snprintf(log_id, sizeof log_id, "%s", id ? id : "");
}

int husk_log_fd(void)
{
	return log_fd;
}

enum husk_log_level husk_log_get_level(void)
{
	return log_level;
}

/* JSON string escaping for the message (control characters, quotes). */
static size_t json_escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;
	for (; *s && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	out[n] = '\0';
	return n;
}

/* A logrus text value: bare if it is only [A-Za-z0-9-._/@^+], else quoted
 * as Go's %q would (quotes, backslashes and control characters escaped). */
static void logrus_value(char *out, size_t cap, const char *s)
{
	bool bare = *s != '\0';
	for (const char *p = s; *p && bare; p++)
		bare = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		       strchr("-._/@^+", *p);
	if (bare) {
		snprintf(out, cap, "%s", s);
		return;
	}
	size_t n = husk_escape_str(out + 1, cap - 2, s, HUSK_ESC_QUOTE);
	out[0] = '"';
	out[n + 1] = '"';
	out[n + 2] = '\0';
}

void husk_log(enum husk_log_level level, const char *fmt, ...)
{
	char msg[1024], line[4400], ts[64];
	va_list ap;
	struct timespec now;
	struct tm tm;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	int n;
	if (log_json) {
		char esc[2100];
		json_escape(esc, sizeof esc, msg);
		n = snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s.%09ldZ\"}\n",
			     level_names[level], esc, ts, now.tv_nsec);
	} else {
		/* logrus's text format, as runc writes it (the time in
		 * RFC 3339 with nanoseconds); the container id last, a field */
		char val[4200], id[300];
		logrus_value(val, sizeof val, msg);
		logrus_value(id, sizeof id, log_id);
		n = snprintf(line, sizeof line, "time=\"%s.%09ldZ\" level=%s msg=%s%s%s\n", ts, now.tv_nsec,
			     level_names[level], val, log_id[0] ? " id=" : "", log_id[0] ? id : "");
	}
	if (n <= 0)
		return;
	size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	ssize_t w = write(log_fd, line, len);
	if (tee_fd >= 0)
		w = write(tee_fd, line, len);
	(void)w;
}
