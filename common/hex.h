/* hex: bytes as lowercase hexadecimal (digests, random ids), and the SHA-256 of a buffer
 * that way: the one copy of what sigv4, storage, staging, auth and the collection files
 * each wrote for themselves. */
#ifndef BO_HEX_H
#define BO_HEX_H

#include <stddef.h>

/* Writes the 2n hex digits of in[0..n) and a NUL: out holds 2n + 1 bytes. */
void hex_encode(char *out, const void *in, size_t n);

/* The SHA-256 of data[0..len) as 64 hex digits and a NUL. Returns 0, or -1 when OpenSSL
 * fails (out is then ""). */
int hex_sha256(char out[65], const void *data, size_t len);

#endif
