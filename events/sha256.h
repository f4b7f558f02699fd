/*
 * sha256.h - SHA-256 as lowercase hex, written once for every layer (blob
 * addresses, prompt and context hashes).  mbedcrypto does the hashing:
 * libgit2 links it already (Debian builds libgit2 against mbedtls), so
 * hashing maps no library of its own.  With libcrypto's EVP, every hive
 * process also initialised OpenSSL's providers for it: +0.5 MB of
 * resident set (libssh2 loads libcrypto too, but touches less of it).
 */
#ifndef HIVE_SHA256_H
#define HIVE_SHA256_H

#include <stddef.h>

/* Length of the hex digest, without the terminating NUL. */
#define HIVE_SHA256_HEX_LEN 64

/* SHA-256 of data[0..len) as 64 lowercase hex digits and a NUL in hex_out.
 * data may be NULL when len is 0.  Cannot fail: a mbedcrypto failure
 * aborts, as allocation failure does everywhere (buf.h). */
void hive_sha256_hex(const void *data, size_t len, char hex_out[HIVE_SHA256_HEX_LEN + 1]);

#endif
