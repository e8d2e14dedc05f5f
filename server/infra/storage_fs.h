/* storage_fs: the local-directory backend of storage (the embedded default). Only
 * storage.c calls it, through storage_fs__backend, with keys already checked. */
#ifndef BO_STORAGE_FS_H
#define BO_STORAGE_FS_H

#include "infra/storage.h"

struct bo_error;

/* Opens (creating it and its .tmp/ directory if missing) the directory dir. *out is the
 * backend object for storage_fs__backend (freed by its free). Returns 0, BO_EBADREQUEST
 * (empty or too long dir), BO_ESTORAGE (cannot create or not a directory), BO_ENOMEM. */
int storage_fs__open(void **out, const char *dir, struct bo_error *err);

extern const struct storage__backend storage_fs__backend;

#endif
