/* db: the SQLite database — the source of truth. A small pool of connections (WAL,
 * foreign_keys=ON, busy timeout), migrations applied at open and tracked in
 * PRAGMA user_version, transactions, and the conversion of SQLite errors into
 * BO_EDATABASE with sqlite3_errmsg in the detail. */
#ifndef BO_DB_H
#define BO_DB_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct bo_error;

typedef struct db db;

/* Opens (creating if needed) the database at path, applies every migration in
 * migrations_dir above PRAGMA user_version, each in its own transaction, and refuses a
 * database whose user_version is newer than the newest migration (BO_EDATABASE).
 * migrations_dir NULL skips migrations (tests that build from schema/). */
int db_open(db **out, const char *path, const char *migrations_dir, struct bo_error *err);
void db_close(db *d);

/* Applies pending migrations only (the `migrate` subcommand); *applied_out counts them. */
int db_migrate(db *d, const char *migrations_dir, int *applied_out, struct bo_error *err);
/* The database's PRAGMA user_version. */
int db_schema_version(db *d, int *out, struct bo_error *err);

/* Borrows a connection for the calling thread; give it back with db_release.
 * Blocks when every pooled connection is in use. */
int db_acquire(db *d, sqlite3 **out, struct bo_error *err);
void db_release(db *d, sqlite3 *conn);

/* BEGIN IMMEDIATE (the write lock up front, so two writers never deadlock), COMMIT,
 * ROLLBACK. db_rollback is safe to call when no transaction is open. */
int db_begin(sqlite3 *c, struct bo_error *err);
int db_commit(sqlite3 *c, struct bo_error *err);
void db_rollback(sqlite3 *c);

/* For a function that writes atomically on its own but may also be called inside a
 * caller's transaction: db_begin_or_join takes the write lock with its own BEGIN IMMEDIATE
 * unless a transaction is already open, in which case the writes become part of it; *own
 * says which. db_end_joined(c, own, rc, err) then returns rc, after committing (rc == 0)
 * or rolling back (rc != 0) only a transaction it owns; a failed commit gives BO_EDATABASE
 * (rolled back). A caller's transaction is left for the caller to end, also on failure. */
int db_begin_or_join(sqlite3 *c, int *own, struct bo_error *err);
int db_end_joined(sqlite3 *c, int own, int rc, struct bo_error *err);

/* Invariant: no storage or network I/O while this thread holds the write lock (a slow
 * PUT would hold every other writer past the busy timeout). Storage and the outside
 * calls (Zenodo, mail, package fetch) call this first; in builds with BO_CHECK_TX (the
 * test build) it aborts with what was attempted, elsewhere it does nothing. */
void db_assert_no_write_tx(const char *what);

/* Prepares sql; on failure sets BO_EDATABASE with the SQLite message. */
int db_prepare(sqlite3 *c, sqlite3_stmt **out, const char *sql, struct bo_error *err);
/* Runs a statement without results (after binding); finalizes it. BO_EDATABASE. */
int db_step_done(sqlite3_stmt *st, struct bo_error *err);
/* Executes sql with no parameters (DDL, pragmas). */
int db_exec(sqlite3 *c, const char *sql, struct bo_error *err);
/* Sets BO_EDATABASE with what and sqlite3_errmsg(c); returns the code. */
int db_fail(sqlite3 *c, const char *what, struct bo_error *err);

/* Binds a UTF-8 string (NULL binds NULL). */
int db_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* Column text or "" (never NULL). Borrowed until the next step/finalize. */
const char *db_column_text(sqlite3_stmt *st, int col);

/* Current time: ISO 8601 UTC with milliseconds and Z into buf (>= 32 bytes). */
void db_now_iso(char *buf, size_t len);
/* Current unix time in seconds. */
int64_t db_now_unix(void);

/* Liveness: a trivial query on a pooled connection. */
int db_ping(db *d, struct bo_error *err);

#endif
