/*
 * test_sha256.c - events/sha256.h against the FIPS 180-2 test vectors.
 */
#include "testutil.h"

#include "events/sha256.h"

static void known_vectors(void **state)
{
	(void)state;
	static const struct { const char *in, *hex; } cases[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char hex[HIVE_SHA256_HEX_LEN + 1];
		memset(hex, 'x', sizeof hex);
		hive_sha256_hex(cases[i].in, strlen(cases[i].in), hex);
		assert_string_equal(hex, cases[i].hex);
	}
}

static void null_data_with_zero_length(void **state)
{
	(void)state;
	char hex[HIVE_SHA256_HEX_LEN + 1];
	hive_sha256_hex(NULL, 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Bytes, not strings: a NUL inside the data counts. */
static void embedded_nul(void **state)
{
	(void)state;
	char a[HIVE_SHA256_HEX_LEN + 1], b[HIVE_SHA256_HEX_LEN + 1];
	hive_sha256_hex("a\0b", 3, a);
	hive_sha256_hex("a", 1, b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_vectors),
		cmocka_unit_test(null_data_with_zero_length),
		cmocka_unit_test(embedded_nul),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
