/* log: levelled lines on stderr with an optional request id; the access log.
 * The level check happens before formatting. Nothing else in the program prints
 * diagnostics (CLI commands print their results on stdout). */
#ifndef BO_LOG_H
#define BO_LOG_H

#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Set once at start (from config) before any thread starts; read-only afterwards. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error|warn|info|debug"; returns 0 or -1. */
int log_parse_level(const char *s, enum log_level *out);

void log_write(enum log_level level, const char *reqid, int with_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_enabled(lvl) ((lvl) <= log_get_level())
#define log_error(...) do { if (log_enabled(LOG_LEVEL_ERROR)) log_write(LOG_LEVEL_ERROR, NULL, 0, __VA_ARGS__); } while (0)
/* log_warn appends strerror(errno); log_warnx does not. */
#define log_warn(...) do { if (log_enabled(LOG_LEVEL_WARN)) log_write(LOG_LEVEL_WARN, NULL, 1, __VA_ARGS__); } while (0)
#define log_warnx(...) do { if (log_enabled(LOG_LEVEL_WARN)) log_write(LOG_LEVEL_WARN, NULL, 0, __VA_ARGS__); } while (0)
#define log_info(...) do { if (log_enabled(LOG_LEVEL_INFO)) log_write(LOG_LEVEL_INFO, NULL, 0, __VA_ARGS__); } while (0)
#define log_debug(fmt, ...) do { if (log_enabled(LOG_LEVEL_DEBUG)) log_write(LOG_LEVEL_DEBUG, NULL, 0, "%s: " fmt, __func__, ##__VA_ARGS__); } while (0)
/* Request-scoped variants: the line carries the request id. */
#define log_rinfo(rid, ...) do { if (log_enabled(LOG_LEVEL_INFO)) log_write(LOG_LEVEL_INFO, rid, 0, __VA_ARGS__); } while (0)
#define log_rwarnx(rid, ...) do { if (log_enabled(LOG_LEVEL_WARN)) log_write(LOG_LEVEL_WARN, rid, 0, __VA_ARGS__); } while (0)
#define log_rerror(rid, ...) do { if (log_enabled(LOG_LEVEL_ERROR)) log_write(LOG_LEVEL_ERROR, rid, 0, __VA_ARGS__); } while (0)

/* Now as ISO 8601 UTC with milliseconds and Z ("2026-11-24T10:00:00.123Z"); len >= 32. */
void log_timestamp(char *buf, size_t len);

/* One access-log line: id, method, path, status, bytes, milliseconds. */
void log_access(const char *reqid, const char *method, const char *path, int status,
		unsigned long long bytes_in, unsigned long long bytes_out, double ms);

#endif
