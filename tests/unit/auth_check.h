/* auth_check.h: the fixture the identity tests share (auth, reviewers, maintainers): a
 * migrated database in the test's directory, users added through auth, and a file read
 * whole. One copy, so the three cannot drift. Include after check.h. */
#ifndef BO_TESTS_AUTH_CHECK_H
#define BO_TESTS_AUTH_CHECK_H

#include "check.h"

#include "common/error.h"
#include "domain/auth.h"
#include "infra/db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	db *d;
	sqlite3 *c;
};

/* t.db with every migration, and a connection; 0 or the (checked) failure. */
static inline int fixture_open(struct fixture *fx)
{
	struct bo_error err = BO_ERROR_INIT;
	memset(fx, 0, sizeof(*fx));
	int rc = db_open(&fx->d, "t.db", check_src("migrations"), &err);
	if (!rc)
		rc = db_acquire(fx->d, &fx->c, &err);
	check(rc == 0, "fixture: %s", err.detail);
	bo_error_cleanup(&err);
	return rc;
}

static inline void fixture_close(struct fixture *fx)
{
	if (fx->c)
		db_release(fx->d, fx->c);
	db_close(fx->d);
}

/* The whole file, NUL-terminated (malloc'd), or NULL. */
static inline char *slurp(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len_out = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* A user through auth_user_add (the checks it applies); its id, checked > 0. */
static inline int64_t add_user(sqlite3 *c, const char *name, const char *email, enum auth_role role)
{
	struct bo_error err = BO_ERROR_INIT;
	int64_t id = 0;
	int rc = auth_user_add(c, name, email, role, NULL, &id, &err);
	check(rc == 0 && id > 0, "add %s: %s", email, err.detail);
	bo_error_cleanup(&err);
	return id;
}

#endif
