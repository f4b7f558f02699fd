/*
 * test_id.c - UUIDv7 ids and timestamps (events/id.c).
 *
 * What it protects: ids are well-formed UUIDv7 (version 7, RFC 4122
 * variant, the time in front) and never repeat -- across the page of
 * random bytes each thread buffers, across threads, and across fork(),
 * where a child must not hand out the bytes its parent had buffered (the
 * page is MADV_WIPEONFORK).  hive_time_now's cached seconds stay right
 * across second boundaries, and a short buffer truncates as snprintf does.
 */
#include "testutil.h"

#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/id.h"

static int cmp_id(const void *a, const void *b) { return strcmp(((const hive_id *)a)->s, ((const hive_id *)b)->s); }

static void assert_uuidv7(const char *s)
{
	assert_true(hive_id_valid(s));
	assert_int_equal(s[14], '7');              /* version */
	assert_non_null(strchr("89ab", s[19]));    /* variant 10xx */
}

/* n ids, sorted; all distinct (n spans several refills of the page). */
static void assert_all_distinct(hive_id *ids, size_t n)
{
	qsort(ids, n, sizeof *ids, cmp_id);
	for (size_t i = 1; i < n; i++)
		if (strcmp(ids[i - 1].s, ids[i].s) == 0)
			fail_msg("id %s made twice", ids[i].s);
}

static int64_t id_ms(const char *s)
{
	int64_t ms = 0;
	for (int i = 0; i < 13; i++) {
		if (s[i] == '-')
			continue;
		ms = ms * 16 + (s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
	}
	return ms;
}

static void test_ids_well_formed_and_distinct(void **state)
{
	(void)state;
	enum { N = 20000 }; /* a page holds ~400 ids' worth of random bytes */
	hive_id *ids = malloc(N * sizeof *ids);
	int64_t before = hive_time_now_ms();
	for (int i = 0; i < N; i++) {
		hive_id_new(&ids[i]);
		assert_uuidv7(ids[i].s);
	}
	int64_t after = hive_time_now_ms();
	assert_true(id_ms(ids[0].s) >= before && id_ms(ids[N - 1].s) <= after);
	assert_all_distinct(ids, N);
	free(ids);
}

enum { PER_THREAD = 5000, THREADS = 4 };

static void *make_ids(void *arg)
{
	hive_id *out = arg;
	for (int i = 0; i < PER_THREAD; i++)
		hive_id_new(&out[i]);
	return NULL;
}

/* Each thread has its own page: no two threads hand out the same bytes. */
static void test_ids_distinct_across_threads(void **state)
{
	(void)state;
	hive_id *ids = malloc(THREADS * PER_THREAD * sizeof *ids);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, make_ids, ids + i * PER_THREAD), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS * PER_THREAD; i++)
		assert_uuidv7(ids[i].s);
	assert_all_distinct(ids, THREADS * PER_THREAD);
	free(ids);
}

/* The random part of an id: everything after the version digit. */
static const char *random_part(const hive_id *id) { return id->s + 15; }

/*
 * A forked child gets its own random bytes: the parent has a half-used page
 * when it forks, and the child's next ids must not be the parent's next
 * ids (they would be, random part for random part, if the child kept the
 * parent's buffer).
 */
static void test_ids_distinct_across_fork(void **state)
{
	(void)state;
	enum { N = 64 };
	hive_id first;
	hive_id_new(&first); /* fills this thread's page */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		hive_id child[N];
		for (int i = 0; i < N; i++)
			hive_id_new(&child[i]);
		ssize_t w = write(fds[1], child, sizeof child);
		_exit(w == (ssize_t)sizeof child ? 0 : 1);
	}
	close(fds[1]);
	hive_id parent[N], child[N];
	for (int i = 0; i < N; i++)
		hive_id_new(&parent[i]);
	size_t got = 0;
	while (got < sizeof child) {
		ssize_t r = read(fds[0], (char *)child + got, sizeof child - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < N; i++) {
		assert_uuidv7(child[i].s);
		for (int j = 0; j < N; j++)
			if (strcmp(random_part(&child[i]), random_part(&parent[j])) == 0)
				fail_msg("child id %s reuses the random bits of parent id %s", child[i].s, parent[j].s);
	}
}

static int64_t realtime_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * hive_time_now keeps the formatted second: whatever the timing, each
 * result lies between clock reads taken just before and after it.  Runs
 * for 1.2 s of calls, so at least one second boundary is crossed.
 */
static void test_time_now_stays_right_across_seconds(void **state)
{
	(void)state;
	int64_t start = realtime_ms();
	long calls = 0;
	while (realtime_ms() - start < 1200) {
		char t[32];
		int64_t lo = realtime_ms();
		hive_time_now(t, sizeof t);
		int64_t hi = realtime_ms();
		calls++;
		assert_int_equal(strlen(t), 27);
		assert_true(t[4] == '-' && t[10] == 'T' && t[19] == '.' && t[26] == 'Z');
		for (int i = 20; i < 26; i++)
			assert_true(t[i] >= '0' && t[i] <= '9');
		int64_t ms = hive_time_parse_ms(t);
		if (ms < lo || ms > hi)
			fail_msg("hive_time_now said %s (%lld ms) between %lld and %lld", t, (long long)ms, (long long)lo,
				 (long long)hi);
		if (calls % 64 == 0)
			usleep(1000);
	}
	assert_true(calls > 100);
}

/* A buffer shorter than 28 bytes gets what snprintf would write. */
static void test_time_now_truncates(void **state)
{
	(void)state;
	char cut[11];
	memset(cut, 'x', sizeof cut);
	hive_time_now(cut, sizeof cut);
	assert_int_equal(strlen(cut), 10); /* the date, YYYY-MM-DD */
	for (int i = 0; i < 10; i++)
		assert_true(i == 4 || i == 7 ? cut[i] == '-' : (cut[i] >= '0' && cut[i] <= '9'));
	char none[1] = {'x'};
	hive_time_now(none, 1);
	assert_int_equal(none[0], '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_well_formed_and_distinct),
		cmocka_unit_test(test_ids_distinct_across_threads),
		cmocka_unit_test(test_ids_distinct_across_fork),
		cmocka_unit_test(test_time_now_stays_right_across_seconds),
		cmocka_unit_test(test_time_now_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
