/* fs: the small filesystem steps several modules need (the data directory, the mail
 * outbox, storage_fs's tree, the test sandbox), in one copy. */
#ifndef BO_FS_H
#define BO_FS_H

#include <sys/types.h>

struct bo_error;

/* Creates the directory path and its missing parents, each with mode (less the umask,
 * as mkdir(2)). A directory that exists is fine, whatever its mode; anything else in the
 * way is not. Returns 0, or -1 with errno: ENOTDIR when a non-directory is in the way
 * (at path itself too), ENAMETOOLONG at PATH_MAX or longer, else mkdir's. For callers
 * whose answer depends on errno (storage_fs: a file in the way is a key conflict). */
int fs_make_dirs(const char *path, mode_t mode);

/* fs_make_dirs with the failure in err: BO_ESTORAGE, "cannot create directory <path>:
 * <why>", where a non-directory in the way is named ("<that path> is not a directory"). */
int fs_mkdir_p(const char *path, mode_t mode, struct bo_error *err);

/* fs_mkdir_p, then sets path's own mode to exactly mode (the umask and an older mode
 * aside): for a directory another uid must be able to pass (the test sandbox). Also
 * BO_ESTORAGE, "cannot set the mode of <path>: <why>". */
int fs_mkdir_mode(const char *path, mode_t mode, struct bo_error *err);

#endif
