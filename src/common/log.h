#pragma once
/* Logging to stderr: one line per event, with a timestamp and a level. */

typedef enum {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
} log_level_t;

void log_msg(log_level_t level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)   log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...)    log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
/* Debug lines are compiled in only with -DCERTDNS_DEBUG: no run-time switch, no global state. */
#ifdef CERTDNS_DEBUG
#define log_debug(...)   log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#else
#define log_debug(...)   do { } while (0)
#endif
