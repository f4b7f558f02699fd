/*
 * token.h - the secret every request of `hive serve` must carry (SPEC
 * section 12): <data dir>/serve.token, 64 hex characters, mode 0600.
 */
#ifndef HIVE_TOKEN_H
#define HIVE_TOKEN_H

#include <stddef.h>

#define HIVE_TOKEN_LEN 64

/*
 * Read the token of dir into out, or create the file on first use (32
 * bytes of getrandom, written 0600 with O_EXCL, so two servers starting
 * at once agree on one token).  Never follows a symlink (O_NOFOLLOW).
 * Errors: HIVE_EINVALID (the file is not a regular file of this user,
 * is readable or writable by others, or does not hold a token: the
 * message names the path and what to do), HIVE_ESYSTEM (cannot read or
 * write it).
 */
int hive_token_load(const char *dir, char out[HIVE_TOKEN_LEN + 1]);

/* 1 when s (len bytes, untrusted) is the token; compares in constant time. */
int hive_token_matches(const char *token, const char *s, size_t len);

#endif
