/* db: SQLite is the source of truth. A fixed pool of connections shared by HTTP and
 * job runner threads; each connection is WAL, foreign_keys=ON, with a busy timeout.
 * Invariant: user_version equals the number of the last migration applied, and a
 * database newer than the migrations we ship is never opened. */
#include "infra/db.h"

#include "common/error.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define POOL_SIZE 8
#define BUSY_TIMEOUT_MS 10000
#define MIGRATION_MAX_BYTES (1 << 20)
#define MIGRATIONS_MAX 1000

struct db {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	sqlite3 *conns[POOL_SIZE];
	int in_use[POOL_SIZE];
};

int db_fail(sqlite3 *c, const char *what, struct bo_error *err)
{
	return bo_error_set(err, BO_EDATABASE, "database: %s: %s", what, c ? sqlite3_errmsg(c) : "no connection");
}

int db_exec(sqlite3 *c, const char *sql, struct bo_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(c, sql, NULL, NULL, &msg) != SQLITE_OK) {
		bo_error_set(err, BO_EDATABASE, "database: %s", msg ? msg : sqlite3_errmsg(c));
		sqlite3_free(msg);
		return BO_EDATABASE;
	}
	return 0;
}

int db_prepare(sqlite3 *c, sqlite3_stmt **out, const char *sql, struct bo_error *err)
{
	*out = NULL;
	if (sqlite3_prepare_v2(c, sql, -1, out, NULL) != SQLITE_OK)
		return db_fail(c, "prepare", err);
	return 0;
}

int db_step_done(sqlite3_stmt *st, struct bo_error *err)
{
	int rc = sqlite3_step(st);
	int out = 0;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		out = db_fail(sqlite3_db_handle(st), "step", err);
	sqlite3_finalize(st);
	return out;
}

int db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (!s)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

const char *db_column_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	return t ? (const char *)t : "";
}

#ifdef BO_CHECK_TX
/* Test builds only: the connection on which this thread last took the write lock, for
 * db_assert_no_write_tx; cleared when the thread gives the connection back, since pooled
 * connections move between threads. Thread-local because the rule is per thread; never
 * read for anything but the check. */
static _Thread_local sqlite3 *check_tx_conn;
#endif

int db_begin(sqlite3 *c, struct bo_error *err)
{
	int rc = db_exec(c, "BEGIN IMMEDIATE", err);
#ifdef BO_CHECK_TX
	if (!rc)
		check_tx_conn = c;
#endif
	return rc;
}

void db_assert_no_write_tx(const char *what)
{
#ifdef BO_CHECK_TX
	if (check_tx_conn && !sqlite3_get_autocommit(check_tx_conn) &&
	    sqlite3_txn_state(check_tx_conn, NULL) == SQLITE_TXN_WRITE) {
		log_error("BUG: %s while this thread holds the database write lock (BEGIN IMMEDIATE): "
			  "do it after the commit", what);
		abort();
	}
#else
	(void)what;
#endif
}

int db_commit(sqlite3 *c, struct bo_error *err)
{
	int rc = db_exec(c, "COMMIT", err);
	if (rc)
		db_rollback(c);
	return rc;
}

void db_rollback(sqlite3 *c)
{
	if (c && !sqlite3_get_autocommit(c))
		sqlite3_exec(c, "ROLLBACK", NULL, NULL, NULL);
}

int db_begin_or_join(sqlite3 *c, int *own, struct bo_error *err)
{
	*own = sqlite3_get_autocommit(c);
	return *own ? db_begin(c, err) : 0;
}

int db_end_joined(sqlite3 *c, int own, int rc, struct bo_error *err)
{
	if (!own)
		return rc;
	if (rc) {
		db_rollback(c);
		return rc;
	}
	return db_commit(c, err);
}

void db_now_iso(char *buf, size_t len) { log_timestamp(buf, len); }

int64_t db_now_unix(void) { return (int64_t)time(NULL); }

static int open_conn(sqlite3 **out, const char *path, struct bo_error *err)
{
	sqlite3 *c = NULL;
	int rc = sqlite3_open_v2(path, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = bo_error_set(err, BO_EDATABASE, "database: cannot open %s: %s", path,
				  c ? sqlite3_errmsg(c) : sqlite3_errstr(rc));
		sqlite3_close(c);
		return rc;
	}
	sqlite3_busy_timeout(c, BUSY_TIMEOUT_MS);
	/* WAL lets HTTP readers run while a job writes; NORMAL sync is durable in WAL
	 * against process crashes (what the crash rule needs) and cheaper than FULL. */
	rc = db_exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err);
	if (rc) {
		sqlite3_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

int db_schema_version(db *d, int *out, struct bo_error *err)
{
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc = db_acquire(d, &c, err);
	if (rc)
		return rc;
	rc = db_prepare(c, &st, "PRAGMA user_version", err);
	if (rc)
		goto fail;
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = db_fail(c, "user_version", err);
		goto fail;
	}
	*out = sqlite3_column_int(st, 0);
	rc = 0;
fail:
	sqlite3_finalize(st);
	db_release(d, c);
	return rc;
}

struct migration {
	int number;
	char *path;
};

static int cmp_migration(const void *a, const void *b)
{
	return ((const struct migration *)a)->number - ((const struct migration *)b)->number;
}

/* Reads NNNN_name.sql names; two files with one number are an error (a merge mistake). */
static int list_migrations(const char *dir, struct migration **out, int *n_out, struct bo_error *err)
{
	int rc = 0, n = 0;
	struct migration *list = NULL;
	DIR *dh = opendir(dir);
	if (!dh)
		return bo_error_set(err, BO_EDATABASE, "migrations: cannot open directory %s: %s", dir, strerror(errno));
	list = calloc(MIGRATIONS_MAX, sizeof(*list));
	if (!list) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	struct dirent *e;
	while ((e = readdir(dh))) {
		const char *name = e->d_name;
		size_t len = strlen(name);
		if (len < 9 || strcmp(name + len - 4, ".sql"))
			continue;
		char *end = NULL;
		long num = strtol(name, &end, 10);
		if (end != name + 4 || *end != '_' || num <= 0) {
			rc = bo_error_set(err, BO_EDATABASE, "migrations: %s/%s is not named NNNN_name.sql", dir, name);
			goto fail;
		}
		if (n >= MIGRATIONS_MAX) {
			rc = bo_error_set(err, BO_EDATABASE, "migrations: more than %d files", MIGRATIONS_MAX);
			goto fail;
		}
		list[n].number = (int)num;
		if (asprintf(&list[n].path, "%s/%s", dir, name) < 0) {
			list[n].path = NULL;
			rc = bo_error_set(err, BO_ENOMEM, "out of memory");
			goto fail;
		}
		n++;
	}
	qsort(list, (size_t)n, sizeof(*list), cmp_migration);
	for (int i = 0; i < n; i++) {
		if (list[i].number != i + 1) {
			rc = bo_error_set(err, BO_EDATABASE, "migrations: expected number %04d, found %s", i + 1,
					  list[i].path);
			goto fail;
		}
	}
	*out = list;
	*n_out = n;
	list = NULL;
fail:
	if (list) {
		for (int i = 0; i < n; i++)
			free(list[i].path);
		free(list);
	}
	closedir(dh);
	return rc;
}

static int read_file(const char *path, char **out, struct bo_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	int rc = 0;
	if (!f)
		return bo_error_set(err, BO_EDATABASE, "migrations: cannot read %s: %s", path, strerror(errno));
	buf = malloc(MIGRATION_MAX_BYTES + 1);
	if (!buf) {
		rc = bo_error_set(err, BO_ENOMEM, "out of memory");
		goto fail;
	}
	size_t n = fread(buf, 1, MIGRATION_MAX_BYTES + 1, f);
	if (n > MIGRATION_MAX_BYTES) {
		rc = bo_error_set(err, BO_EDATABASE, "migrations: %s is larger than 1 MiB", path);
		goto fail;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
fail:
	free(buf);
	fclose(f);
	return rc;
}

int db_migrate(db *d, const char *migrations_dir, int *applied_out, struct bo_error *err)
{
	struct migration *list = NULL;
	int n = 0, current = 0, applied = 0;
	char *sql = NULL;
	sqlite3 *c = NULL;
	int rc = list_migrations(migrations_dir, &list, &n, err);
	if (rc)
		goto fail;
	rc = db_schema_version(d, &current, err);
	if (rc)
		goto fail;
	if (current > n) {
		rc = bo_error_set(err, BO_EDATABASE,
				  "database schema version %d is newer than this program knows (%d); "
				  "run the newer backoffice or restore a backup",
				  current, n);
		goto fail;
	}
	rc = db_acquire(d, &c, err);
	if (rc)
		goto fail;
	for (int i = current; i < n; i++) {
		free(sql);
		sql = NULL;
		rc = read_file(list[i].path, &sql, err);
		if (rc)
			goto fail;
		rc = db_begin(c, err);
		if (rc)
			goto fail;
		rc = db_exec(c, sql, err);
		if (rc && err) {
			size_t used = strlen(err->detail);
			snprintf(err->detail + used, sizeof(err->detail) - used, " (in %s)", list[i].path);
		}
		if (!rc) {
			char pragma[64];
			snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", list[i].number);
			rc = db_exec(c, pragma, err);
		}
		if (!rc)
			rc = db_commit(c, err);
		if (rc) {
			db_rollback(c);
			goto fail;
		}
		log_info("database: applied migration %s", list[i].path);
		applied++;
	}
	if (applied_out)
		*applied_out = applied;
	rc = 0;
fail:
	free(sql);
	if (c)
		db_release(d, c);
	if (list) {
		for (int i = 0; i < n; i++)
			free(list[i].path);
		free(list);
	}
	return rc;
}

int db_open(db **out, const char *path, const char *migrations_dir, struct bo_error *err)
{
	int rc;
	db *d = calloc(1, sizeof(*d));
	if (!d)
		return bo_error_set(err, BO_ENOMEM, "out of memory");
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->freed, NULL);
	for (int i = 0; i < POOL_SIZE; i++) {
		rc = open_conn(&d->conns[i], path, err);
		if (rc)
			goto fail;
	}
	if (migrations_dir) {
		rc = db_migrate(d, migrations_dir, NULL, err);
		if (rc)
			goto fail;
	}
	*out = d;
	return 0;
fail:
	db_close(d);
	return rc;
}

void db_close(db *d)
{
	if (!d)
		return;
	for (int i = 0; i < POOL_SIZE; i++)
		sqlite3_close(d->conns[i]);
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->freed);
	free(d);
}

int db_acquire(db *d, sqlite3 **out, struct bo_error *err)
{
	(void)err;
	pthread_mutex_lock(&d->lock);
	for (;;) {
		for (int i = 0; i < POOL_SIZE; i++) {
			if (!d->in_use[i]) {
				d->in_use[i] = 1;
				*out = d->conns[i];
				pthread_mutex_unlock(&d->lock);
				return 0;
			}
		}
		pthread_cond_wait(&d->freed, &d->lock);
	}
}

void db_release(db *d, sqlite3 *conn)
{
	if (!conn)
		return;
	/* a handler that failed mid-transaction must not hand an open one to the next user */
	db_rollback(conn);
#ifdef BO_CHECK_TX
	/* the next thread to borrow conn may open a transaction on it: not ours to judge */
	if (check_tx_conn == conn)
		check_tx_conn = NULL;
#endif
	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < POOL_SIZE; i++)
		if (d->conns[i] == conn)
			d->in_use[i] = 0;
	pthread_cond_signal(&d->freed);
	pthread_mutex_unlock(&d->lock);
}

int db_ping(db *d, struct bo_error *err)
{
	int v;
	return db_schema_version(d, &v, err);
}
