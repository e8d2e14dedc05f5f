/* utf8: the one judge of UTF-8 for untrusted text (zip entry names, JSON bodies): valid
 * means well-formed, shortest form, no surrogates, nothing above U+10FFFF. */
#ifndef BO_UTF8_H
#define BO_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (1..4; s holds n >= 1 bytes) with its code
 * point in *cp_out, or 0 when it is not valid. */
size_t utf8_seq_len(const unsigned char *s, size_t n, uint32_t *cp_out);

/* How many bytes of the string s to print so that at most max are shown and no UTF-8
 * sequence is cut in half (for "%.*s" of untrusted text in messages). */
int utf8_prefix(const char *s, int max);

/* 1 when the n bytes at s are valid UTF-8 (an empty string is). */
int utf8_valid(const char *s, size_t n);

#endif
