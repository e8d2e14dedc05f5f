/* sql_check.h: the database side of a unit test, shared so the copies in each test file
 * cannot drift: statements run straight on a connection (no bound parameters: test SQL is
 * literal) and checks of what a query returns. Include after check.h. */
#ifndef BO_TESTS_SQL_CHECK_H
#define BO_TESTS_SQL_CHECK_H

#include "check.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_CHECK_MAX 4096

/* Runs sql (one or more statements); a failure is a failed check naming the statement. */
static inline void sql_exec(sqlite3 *c, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK)
		check(0, "%s: %s", sql, msg);
	sqlite3_free(msg);
}

/* The first column of the first row as an integer (NULL is 0, as SQLite converts it);
 * -1 when the query fails or returns no row. */
static inline long long sql_int(sqlite3 *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The first column of the first row as text, malloc'd: "" for NULL, "<no row>" when the
 * query fails or returns no row. */
static inline char *sql_text(sqlite3 *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		v = strdup(t ? (const char *)t : "");
	}
	sqlite3_finalize(st);
	return v ? v : strdup("<no row>");
}

/* Checks that sql returns the text want. */
static inline void sql_expect_text(sqlite3 *c, const char *sql, const char *want)
{
	char *got = sql_text(c, sql);
	check(!strcmp(got, want), "%s: '%s', want '%s'", sql, got, want);
	free(got);
}

/* printf-style forms, for statements that name a row by its id. */
__attribute__((format(printf, 2, 3))) static inline void sql_execf(sqlite3 *c, const char *fmt, ...)
{
	char sql[SQL_CHECK_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	sql_exec(c, sql);
}

__attribute__((format(printf, 2, 3))) static inline long long sql_intf(sqlite3 *c, const char *fmt, ...)
{
	char sql[SQL_CHECK_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return sql_int(c, sql);
}

#endif
