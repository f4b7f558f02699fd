/*
 * sha256.c - see sha256.h.
 */
#include "events/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

void hive_sha256_hex(const void *data, size_t len, char hex_out[HIVE_SHA256_HEX_LEN + 1])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!EVP_Digest(len ? data : "", len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		fputs("hive: SHA-256 failed (libcrypto)\n", stderr);
		abort();
	}
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		hex_out[2 * i] = hex[md[i] >> 4];
		hex_out[2 * i + 1] = hex[md[i] & 15];
	}
	hex_out[HIVE_SHA256_HEX_LEN] = '\0';
}
