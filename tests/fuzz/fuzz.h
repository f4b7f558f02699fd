/*
 * fuzz.h - what every fuzz target in tests/fuzz/ defines.
 *
 * A target is one function with libFuzzer's signature.  It is linked two
 * ways (see the Makefile): with clang's libFuzzer (`make fuzz`) to search
 * for new inputs, and with replay.c's main under any compiler, so `make
 * test` replays the committed corpus and every input that once crashed a
 * target without needing clang.
 *
 * A target checks more than "does not crash": each asserts the property its
 * function documents (a round trip, a bound, one error line), with
 * fuzz_require, which aborts so that both libFuzzer and the replay binary
 * report the input as a failure.
 */
#ifndef HIVE_FUZZ_H
#define HIVE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with the failed property's text: a finding, not an error path. */
#define fuzz_require(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* The same, printing a message that failed the property (e.g. an error
 * line that is not one safe line), escaped so the report stays readable. */
#define fuzz_require_msg(cond, msg) \
	do { \
		if (!(cond)) { \
			const char *m_ = (msg); \
			fprintf(stderr, "%s:%d: property violated: %s; message: \"", __FILE__, __LINE__, #cond); \
			for (; m_ && *m_; m_++) \
				fprintf(stderr, (unsigned char)*m_ < 0x20 || (unsigned char)*m_ >= 0x7f ? "\\x%02x" : "%c", \
				        (unsigned char)*m_); \
			fputs("\"\n", stderr); \
			abort(); \
		} \
	} while (0)

#endif
