#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void log_msg(log_level_t level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char stamp[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line so lines from different threads do not interleave. */
	fprintf(stderr, "%s.%03ldZ %s: %s\n", stamp, now.tv_nsec / 1000000, names[level], line);
}
