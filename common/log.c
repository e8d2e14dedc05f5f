/* log: one fixed line shape so logs can be grepped by request id:
 *   2026-11-24T10:00:00.123Z INFO [req-id] message
 * The level is the only state and is set before threads start. */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum log_level current_level = LOG_LEVEL_INFO;

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

int log_parse_level(const char *s, enum log_level *out)
{
	static const char *names[] = {"error", "warn", "info", "debug"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

void log_timestamp(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(tv.tv_usec / 1000));
}

void log_write(enum log_level level, const char *reqid, int with_errno, const char *fmt, ...)
{
	static const char *tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
	int saved = errno;
	char ts[40], msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_timestamp(ts, sizeof(ts));
	/* one fprintf per line so concurrent threads do not interleave within a line */
	if (with_errno)
		fprintf(stderr, "%s %s%s%s%s %s: %s\n", ts, tags[level], reqid ? " [" : "",
			reqid ? reqid : "", reqid ? "]" : "", msg, strerror(saved));
	else
		fprintf(stderr, "%s %s%s%s%s %s\n", ts, tags[level], reqid ? " [" : "",
			reqid ? reqid : "", reqid ? "]" : "", msg);
	errno = saved;
}

void log_access(const char *reqid, const char *method, const char *path, int status,
		unsigned long long bytes_in, unsigned long long bytes_out, double ms)
{
	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	char ts[40];
	log_timestamp(ts, sizeof(ts));
	fprintf(stderr, "%s ACCESS [%s] %s %s %d in=%llu out=%llu %.1fms\n", ts, reqid, method, path,
		status, bytes_in, bytes_out, ms);
}
