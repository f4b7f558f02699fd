#include "events/id.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "events/buf.h"

static void fill_random(unsigned char *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r < 0)
			continue; /* EINTR; getrandom never fails otherwise for small n */
		got += (size_t)r;
	}
}

void hive_id_new(hive_id *out)
{
	unsigned char b[16];
	uint64_t ms = (uint64_t)hive_time_now_ms();
	fill_random(b + 6, 10);
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (b[6] & 0x0f)); /* version 7 */
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f)); /* RFC 4122 variant */
	static const char hex[] = "0123456789abcdef";
	char *s = out->s;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*s++ = '-';
		*s++ = hex[b[i] >> 4];
		*s++ = hex[b[i] & 15];
	}
	*s = '\0';
}

int hive_id_valid(const char *s)
{
	if (!s || strlen(s) != HIVE_ID_LEN)
		return 0;
	for (int i = 0; i < HIVE_ID_LEN; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

int64_t hive_time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hive_time_now(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%06ldZ", base, ts.tv_nsec / 1000);
}

void hive_time_format_ms(int64_t ms, char *out, size_t n)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[32];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03dZ", base, (int)(ms % 1000));
}

int64_t hive_time_parse_ms(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	int64_t ms = (int64_t)timegm(&tm) * 1000;
	if (*p == '.') {
		int64_t frac = 0, scale = 1000;
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3) {
				scale /= 10;
				frac += (*p - '0') * scale;
			}
		ms += frac;
	}
	return *p == 'Z' && p[1] == '\0' ? ms : -1;
}
