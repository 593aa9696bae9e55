/* Host logging in runc's formats, to the --log file, else stderr: text is
 * logrus's (time="..." level=debug msg="..." id=ID), json is
 * {"level","msg","time"}. Never log payloads or environment variables. */
#ifndef HUSK_HOST_LOG_H
#define HUSK_HOST_LOG_H

#include <stdbool.h>

enum husk_log_level { HUSK_LOG_ERROR, HUSK_LOG_WARN, HUSK_LOG_INFO, HUSK_LOG_DEBUG };

void husk_log_setup(const char *path, bool json, enum husk_log_level level);
/* Re-point logging to a file (the monitor, whose stderr is the container's). */
void husk_log_to_file(const char *path);
/* With --debug and no --log, a monitor's lines also go to the caller's
 * stderr from husk_log_to_file() until this is called (when it reports
 * ready: after that its stderr belongs to the container). */
void husk_log_tee_end(void);
void husk_log_set_id(const char *id);
/* the fd log lines go to (2 until a file is set) */
int husk_log_fd(void);
enum husk_log_level husk_log_get_level(void);
void husk_log(enum husk_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) husk_log(HUSK_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) husk_log(HUSK_LOG_WARN, __VA_ARGS__)
#define log_info(...) husk_log(HUSK_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                                                 \
	do {                                                                                                           \
		if (husk_log_get_level() >= HUSK_LOG_DEBUG)                                                            \
			husk_log(HUSK_LOG_DEBUG, __VA_ARGS__);                                                         \
	} while (0)

#endif
