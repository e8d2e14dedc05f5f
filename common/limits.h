/* limits: every bound on untrusted input, in one place. Each is also a config option
 * (config.c) whose default comes from here; the problem+json for exceeding one names
 * the limit and its value. */
#ifndef BO_LIMITS_H
#define BO_LIMITS_H

/* Upload body (zip, multipart or fetched URL): 4 GiB. Real model packages reach a few
 * hundred MiB; 4 GiB leaves room for big weights. Streamed to a temp file, never held in
 * memory. Exceeding it: 413, answered as soon as Content-Length shows it. */
#define LIMIT_UPLOAD_BYTES (4ULL << 30)

/* Zip entries: 10,000. A package is an RDF plus tens of files; more is abuse. 413. */
#define LIMIT_ZIP_ENTRIES 10000

/* Total uncompressed size of all entries: 16 GiB (zip bombs). 413. */
#define LIMIT_ZIP_TOTAL_BYTES (16ULL << 30)

/* Per-entry compression ratio, checked for entries over 1 MiB uncompressed: 200:1.
 * Real weights and tensors compress at most ~10:1; a bomb compresses at ~1000:1. 413. */
#define LIMIT_ZIP_RATIO 200
#define LIMIT_ZIP_RATIO_MIN_BYTES (1ULL << 20)

/* Entry name: 1,024 bytes, each path segment 255 bytes (what filesystems allow). 422. */
#define LIMIT_ZIP_NAME_BYTES 1024

/* RDF YAML document: 4 MiB, depth 64, 200,000 nodes, scalars of 1 MiB, and an alias
 * expansion budget of 100,000 nodes (billion laughs); the text that alias copies add is
 * held to 4 MiB too (one 1 MiB scalar aliased 100,000 times). Real RDFs are < 100 KiB. 422. */
#define LIMIT_YAML_BYTES (4U << 20)
#define LIMIT_YAML_DEPTH 64
#define LIMIT_YAML_NODES 200000
#define LIMIT_YAML_SCALAR_BYTES (1U << 20)
#define LIMIT_YAML_ALIAS_BUDGET 100000

/* JSON request bodies (not uploads): 1 MiB. 413. */
#define LIMIT_JSON_BODY (1U << 20)

/* All request headers together: 16 KiB (curl and browsers send < 4 KiB). 431. */
#define LIMIT_HEADER_BYTES (16U << 10)

/* Drafts in flight (not yet published, not in error) per uploader: 10. 429. */
#define LIMIT_DRAFTS_PER_USER 10

/* Pixels (width × height, first frame) of an image we make a thumbnail of: 40,000,000.
 * Real covers are under 5 MP; a PNG can claim 30000×30000 in a few hundred bytes
 * (a decompression bomb), so the header is checked before decoding. Over it: no
 * thumbnail, a warning event for the uploader (the upload itself goes on). */
#define LIMIT_IMAGE_PIXELS 40000000

/* Fetching a package from a URL: 120 s to connect+transfer at most 30 min. 502/413. */
#define LIMIT_FETCH_CONNECT_SECONDS 30
#define LIMIT_FETCH_TOTAL_SECONDS 1800

#endif
