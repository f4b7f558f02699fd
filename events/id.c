#include "events/id.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "events/buf.h"

static void fill_random(unsigned char *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r < 0)
			continue; /* EINTR; getrandom never fails otherwise */
		got += (size_t)r;
	}
}

/*
 * Random bytes for ids, fetched from getrandom(2) a page at a time: one
 * system call per ~400 ids instead of one per id (a batch of 1000 events
 * spent 5 % of its time in getrandom).  The bytes are the kernel's CSPRNG
 * output as they are, handed out once each.
 *
 * Two ways a buffer could hand the same bytes out twice, and what stops
 * them:
 *  - threads: each thread has its own page (thread-local pointer), so no
 *    lock and no sharing;
 *  - fork: the page is MADV_WIPEONFORK, so a child (of fork(2), or of any
 *    clone without CLONE_VM) sees it zero-filled -- `left` is 0 -- and
 *    fetches its own bytes before its first id, whatever the parent had
 *    buffered.  No atfork handler needed, and none to forget.
 * Where the page cannot be set up that way (no mmap, a kernel before 4.14
 * without MADV_WIPEONFORK), the thread falls back to one getrandom per id.
 */
#define RANDOM_PAGE 4096
typedef struct {
	size_t left;                                   /* unread bytes at the start of bytes[] */
	unsigned char bytes[RANDOM_PAGE - sizeof(size_t)];
} random_page;

static __thread random_page *tls_random;
static __thread int tls_unbuffered;
static pthread_key_t random_key;
static int random_key_ok;
static pthread_once_t random_once = PTHREAD_ONCE_INIT;

static void random_page_free(void *p) { munmap(p, RANDOM_PAGE); }

static void random_key_init(void) { random_key_ok = pthread_key_create(&random_key, random_page_free) == 0; }

/* This thread's page, or NULL when it has to do without one. */
static random_page *random_page_get(void)
{
	if (tls_random || tls_unbuffered)
		return tls_random;
	pthread_once(&random_once, random_key_init);
	void *p = mmap(NULL, RANDOM_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || !random_key_ok || madvise(p, RANDOM_PAGE, MADV_WIPEONFORK) != 0 ||
	    pthread_setspecific(random_key, p) != 0) {
		if (p != MAP_FAILED)
			munmap(p, RANDOM_PAGE);
		tls_unbuffered = 1;
		return NULL;
	}
	tls_random = p; /* all zero: left == 0, filled on first use */
	return tls_random;
}

/* n (<= a page) random bytes into out, from this thread's page. */
static void take_random(unsigned char *out, size_t n)
{
	random_page *pg = random_page_get();
	if (!pg) {
		fill_random(out, n);
		return;
	}
	if (pg->left < n) {
		fill_random(pg->bytes, sizeof pg->bytes);
		pg->left = sizeof pg->bytes;
	}
	pg->left -= n;
	memcpy(out, pg->bytes + pg->left, n);
	memset(pg->bytes + pg->left, 0, n); /* handed out once: do not keep it */
}

void hive_id_new(hive_id *out)
{
	unsigned char b[16];
	uint64_t ms = (uint64_t)hive_time_now_ms();
	take_random(b + 6, 10);
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

/*
 * The "YYYY-MM-DDTHH:MM:SS" part changes once a second, and formatting it
 * (gmtime_r, which takes glibc's time zone lock, then strftime) cost more
 * than the rest of an append's envelope: each thread keeps the last one.
 */
static __thread struct {
	time_t sec;
	size_t len;
	char text[32];
} tls_second;

void hive_time_now(char *out, size_t n)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (tls_second.len == 0 || tls_second.sec != ts.tv_sec) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		tls_second.len = strftime(tls_second.text, sizeof tls_second.text, "%Y-%m-%dT%H:%M:%S", &tm);
		tls_second.sec = ts.tv_sec;
	}
	size_t len = tls_second.len;
	if (n < len + 9) { /* too small for the whole text: snprintf truncates */
		snprintf(out, n, "%s.%06ldZ", tls_second.text, ts.tv_nsec / 1000);
		return;
	}
	memcpy(out, tls_second.text, len);
	out[len] = '.';
	long us = ts.tv_nsec / 1000;
	for (int i = 6; i >= 1; i--, us /= 10)
		out[len + (size_t)i] = (char)('0' + us % 10);
	out[len + 7] = 'Z';
	out[len + 8] = '\0';
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
