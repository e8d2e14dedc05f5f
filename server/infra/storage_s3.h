/* storage_s3: the S3 backend of storage (libcurl + our own SigV4). Only storage.c uses
 * storage_s3__open/storage_s3__backend; storage_s3_create_bucket serves `backoffice storage create-bucket` and
 * first-time setup scripts. */
#ifndef BO_STORAGE_S3_H
#define BO_STORAGE_S3_H

#include "infra/storage.h"

struct bo_error;
struct config;

/* Reads cfg->s3_* (endpoint http(s)://host[:port], bucket, keys, region, prefix,
 * path style, part size, retries, timeout). No request is made. *out is the backend
 * object for storage_s3__backend. Returns 0, BO_EBADREQUEST (missing or malformed
 * option, named in the detail) or BO_ENOMEM. */
int storage_s3__open(void **out, const struct config *cfg, struct bo_error *err);

extern const struct storage__backend storage_s3__backend;

/* Creates cfg->s3_bucket with a signed PUT; a bucket that already exists and is ours is
 * not an error. Returns 0, BO_EBADREQUEST (config) or BO_ESTORAGE (refused/unreachable,
 * with S3's code and message). */
int storage_s3_create_bucket(const struct config *cfg, struct bo_error *err);

#endif
