#include "host/state/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int log_fd = 2;
static bool log_json;
static enum husk_log_level log_level = HUSK_LOG_INFO;
static char log_id[128];

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void husk_log_setup(const char *path, bool json, enum husk_log_level level)
{
	log_json = json;
	log_level = level;
	if (path)
		husk_log_to_file(path);
}

void husk_log_to_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (log_fd > 2)
		close(log_fd);
	log_fd = fd;
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

void husk_log(enum husk_log_level level, const char *fmt, ...)
{
	char msg[1024], line[2400], ts[64];
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
	} else if (log_fd == 2) {
		n = snprintf(line, sizeof line, "husk: %s%s%s\n", log_id[0] ? log_id : "", log_id[0] ? ": " : "", msg);
	} else {
		n = snprintf(line, sizeof line, "%s.%03ldZ %s %s%s%s\n", ts, now.tv_nsec / 1000000L, level_names[level],
			     log_id, log_id[0] ? ": " : "", msg);
	}
	if (n > 0) {
		ssize_t w = write(log_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
		(void)w;
	}
}
