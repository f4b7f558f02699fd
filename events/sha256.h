/*
 * sha256.h - SHA-256 as lowercase hex, written once for every layer (blob
 * addresses, prompt and context hashes).  libcrypto does the hashing.
 */
#ifndef HIVE_SHA256_H
#define HIVE_SHA256_H

#include <stddef.h>

/* Length of the hex digest, without the terminating NUL. */
#define HIVE_SHA256_HEX_LEN 64

/* SHA-256 of data[0..len) as 64 lowercase hex digits and a NUL in hex_out.
 * data may be NULL when len is 0.  Cannot fail: a libcrypto failure (out
 * of memory) aborts, as allocation failure does everywhere (buf.h). */
void hive_sha256_hex(const void *data, size_t len, char hex_out[HIVE_SHA256_HEX_LEN + 1]);

#endif
