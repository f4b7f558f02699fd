/*
 * sha256.c - see sha256.h.
 */
#include "events/sha256.h"

#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <stdio.h>
#include <stdlib.h>

void hive_sha256_hex(const void *data, size_t len, char hex_out[HIVE_SHA256_HEX_LEN + 1])
{
	unsigned char md[32];
	const unsigned char *in = len ? data : (const unsigned char *)"";
#if MBEDTLS_VERSION_MAJOR >= 3
	int rc = mbedtls_sha256(in, len, md, 0);
#else
	int rc = mbedtls_sha256_ret(in, len, md, 0);
#endif
	if (rc != 0) {
		fputs("hive: SHA-256 failed (mbedcrypto)\n", stderr);
		abort();
	}
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		hex_out[2 * i] = hex[md[i] >> 4];
		hex_out[2 * i + 1] = hex[md[i] & 15];
	}
	hex_out[HIVE_SHA256_HEX_LEN] = '\0';
}
