/*
 * fuzz_duration.c - hive_duration_parse and hive_duration_format.
 *
 * Properties: an accepted duration is in [0, HIVE_DURATION_MAX_MS]; its
 * formatted text parses back to the same value (the header's promise); a
 * rejection leaves the output untouched and says why in one line.  The
 * first 8 input bytes are also taken as a raw value to format, so format's
 * round trip is checked on values no text would produce.
 */
#include <string.h>

#include "core/duration.h"
#include "events/error.h"
#include "tests/fuzz/check_text.h"
#include "tests/fuzz/fuzz.h"

static void round_trip(int64_t ms)
{
	char text[HIVE_DURATION_FMT_MAX];
	int64_t back = -1;
	hive_duration_format(ms, text, sizeof text);
	fuzz_require(strlen(text) < sizeof text - 1 || text[0] == '-');
	fuzz_require(hive_duration_parse(text, &back) == 0);
	fuzz_require(back == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	int64_t ms = -7;

	memcpy(s, data, size);
	s[size] = '\0';
	if (hive_duration_parse(s, &ms) == 0) {
		fuzz_require(ms >= 0 && ms <= HIVE_DURATION_MAX_MS);
		round_trip(ms);
	} else {
		fuzz_require(ms == -7);
		fuzz_require_msg(fuzz_one_line(hive_error_last()), hive_error_last());
	}
	free(s);

	if (size >= 8) {
		uint64_t raw;
		memcpy(&raw, data, 8);
		round_trip((int64_t)(raw % ((uint64_t)HIVE_DURATION_MAX_MS + 1)));
	}
	return 0;
}
