/*
 * append_events.c - a test tool: put events into a data dir so the CLI
 * tests have something to list, stream and verify.  Not installed.
 *
 *   append_events [OPTIONS] DIR TYPE FLOW TASK ATTEMPT [COUNT]
 *       Append COUNT (default 1) events of TYPE through the store API
 *       (hive_txn_append), each in its own transaction unless --batch.
 *       FLOW/TASK/ATTEMPT are ids, or "-" for absent.  TYPE may be a name
 *       this build does not know: it is stored as HIVE_EV_UNKNOWN with
 *       that name.  Projections are not touched (see --raw-verify below).
 *       --project ID     project_id (default 0194a1b2-0000-7000-8000-0000000000aa; "-" = absent)
 *       --payload JSON   payload object (default {"i": <0-based index>})
 *       --batch          all COUNT events in one transaction
 *       --delay-ms N     sleep N ms before each transaction
 *       --print-raw      print each event's stored bytes (one line each)
 *       --print-seq      print each event's seq (one line each)
 *
 *   append_events --raw DIR JSON
 *       Store JSON byte for byte as the next event, with its index
 *       entries, straight through LMDB: what a newer hive could have
 *       written (any key order, spacing, extra fields).  The literal
 *       @SEQ@ in JSON is replaced by the seq it gets.  Prints the stored
 *       bytes.  The JSON must still decode as an event.
 *
 *   append_events --drop-index DIR INDEX KEY SEQ
 *       Delete one index entry (INDEX is idx_flow, idx_task, idx_attempt
 *       or idx_type) behind hive's back, to make `events verify` fail.
 *
 *   append_events --set-meta DIR KEY VALUE
 *       Write KEY -> VALUE into the store's meta database behind hive's
 *       back (e.g. schema_version 99: a store "from a newer hive").
 *
 * It also reads JSON for the shell tests, so they need no jq (FILE may be
 * "-" for stdin):
 *   append_events --json-seqs FILE          NDJSON events -> their seqs, space-separated
 *   append_events --json-check-events FILE  every line decodes as an event envelope
 *   append_events --json-get FILE PATH      one document -> the value at PATH ("a.b";
 *                                           "." = all): strings raw, the rest compact JSON
 *   append_events --json-keys FILE PATH     the keys of the object at PATH, sorted
 *
 * Exit: 0 ok, 1 failure (message on stderr), 2 usage.
 */
#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events/buf.h"
#include "events/error.h"
#include "events/event.h"
#include "events/store.h"

#define DEFAULT_PROJECT "0194a1b2-0000-7000-8000-0000000000aa"

static void usage(void)
{
	fputs("usage: append_events [--project ID] [--payload JSON] [--batch] [--delay-ms N]\n"
	      "                     [--print-raw] [--print-seq] DIR TYPE FLOW TASK ATTEMPT [COUNT]\n"
	      "       append_events --raw DIR JSON\n"
	      "       append_events --drop-index DIR INDEX KEY SEQ\n"
	      "       append_events --set-meta DIR KEY VALUE\n"
	      "       append_events --json-seqs|--json-check-events FILE\n"
	      "       append_events --json-get|--json-keys FILE PATH\n", stderr);
	exit(2);
}

static int die(const char *what)
{
	fprintf(stderr, "append_events: %s: %s\n", what, hive_error_last());
	return 1;
}

static const char *opt_id(const char *s) { return strcmp(s, "-") == 0 ? NULL : s; }

typedef struct {
	const char *type, *project, *flow, *task, *attempt;
	json_t *payload; /* borrowed template, or NULL */
	long first, count;
	int print_raw, print_seq;
	hive_buf out;
} append_job;

static int append_txn(hive_txn *txn, void *ctx)
{
	append_job *j = ctx;
	hive_buf_reset(&j->out); /* the fn may run again after a map resize */
	for (long i = j->first; i < j->first + j->count; i++) {
		hive_event_type t = hive_event_type_from_name(j->type);
		json_t *payload = j->payload ? json_deep_copy(j->payload) : json_pack("{s:i}", "i", (int)i);
		hive_event ev;
		hive_event_init(&ev, t, payload);
		if (t == HIVE_EV_UNKNOWN)
			snprintf(ev.type_name, sizeof ev.type_name, "%s", j->type);
		hive_event_correlate(&ev, j->project, j->flow, j->task, j->attempt);
		int rc = hive_txn_append(txn, &ev);
		hive_event_dispose(&ev);
		if (rc)
			return rc;
		if (j->print_seq)
			hive_buf_printf(&j->out, "%llu\n", (unsigned long long)ev.seq);
		if (j->print_raw) {
			hive_slice raw;
			if ((rc = hive_txn_event_raw(txn, ev.seq, &raw)))
				return rc;
			hive_buf_append(&j->out, raw.data, raw.len);
			hive_buf_putc(&j->out, '\n');
		}
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int cmd_append(int argc, char **argv)
{
	append_job j = {.project = DEFAULT_PROJECT};
	int batch = 0;
	long delay = 0;
	int i = 1;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--batch") == 0)
			batch = 1;
		else if (strcmp(a, "--print-raw") == 0)
			j.print_raw = 1;
		else if (strcmp(a, "--print-seq") == 0)
			j.print_seq = 1;
		else if (strcmp(a, "--project") == 0 && i + 1 < argc)
			j.project = opt_id(argv[++i]);
		else if (strcmp(a, "--delay-ms") == 0 && i + 1 < argc)
			delay = atol(argv[++i]);
		else if (strcmp(a, "--payload") == 0 && i + 1 < argc) {
			json_error_t err;
			j.payload = json_loads(argv[++i], 0, &err);
			if (!json_is_object(j.payload)) {
				fprintf(stderr, "append_events: --payload is not a JSON object: %s\n", err.text);
				return 2;
			}
		} else
			usage();
	}
	if (argc - i < 5 || argc - i > 6)
		usage();
	const char *dir = argv[i];
	j.type = argv[i + 1];
	j.flow = opt_id(argv[i + 2]);
	j.task = opt_id(argv[i + 3]);
	j.attempt = opt_id(argv[i + 4]);
	long count = argc - i == 6 ? atol(argv[i + 5]) : 1;
	if (count < 0)
		usage();
	hive_store *s;
	if (hive_store_open(dir, NULL, &s))
		return die(dir);
	int rc = 0;
	for (long done = 0; done < count && !rc;) {
		j.first = done;
		j.count = batch ? count : 1;
		if (delay)
			sleep_ms(delay);
		rc = hive_store_write(s, append_txn, &j);
		if (!rc) {
			fputs(hive_buf_str(&j.out), stdout);
			fflush(stdout);
		}
		done += j.count;
	}
	if (rc)
		rc = die("append");
	hive_store_close(s);
	hive_buf_dispose(&j.out);
	json_decref(j.payload);
	return rc;
}

/* ---- raw LMDB access (the layout documented in events/store.h) ---------- */

static int raw_fail(const char *what, int rc)
{
	fprintf(stderr, "append_events: %s: %s\n", what, mdb_strerror(rc));
	return 1;
}

static int raw_begin(const char *dir, MDB_env **env, MDB_txn **txn)
{
	int rc;
	if ((rc = mdb_env_create(env)))
		return raw_fail("mdb_env_create", rc);
	mdb_env_set_maxdbs(*env, 16);
	mdb_env_set_maxreaders(*env, 256);
	if ((rc = mdb_env_open(*env, dir, MDB_NOTLS, 0600)) || (rc = mdb_txn_begin(*env, NULL, 0, txn))) {
		mdb_env_close(*env);
		return raw_fail(dir, rc);
	}
	return 0;
}

static int raw_dbi(MDB_txn *txn, const char *name, MDB_dbi *dbi)
{
	unsigned flags = strncmp(name, "idx_", 4) == 0 ? MDB_DUPSORT | MDB_DUPFIXED : 0;
	int rc = mdb_dbi_open(txn, name, flags, dbi);
	return rc ? raw_fail(name, rc) : 0;
}

static void seq_key(uint64_t seq, unsigned char k[8])
{
	for (int i = 0; i < 8; i++)
		k[i] = (unsigned char)(seq >> (56 - 8 * i));
}

static int put_index(MDB_txn *txn, const char *name, const char *key, unsigned char sk[8])
{
	MDB_dbi dbi;
	if (!*key)
		return 0;
	if (raw_dbi(txn, name, &dbi))
		return 1;
	MDB_val k = {strlen(key), (void *)key}, v = {8, sk};
	int rc = mdb_put(txn, dbi, &k, &v, 0);
	return rc ? raw_fail(name, rc) : 0;
}

static int cmd_raw(const char *dir, const char *tmpl)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi events;
	if (raw_begin(dir, &env, &txn))
		return 1;
	int rc = 1, mrc = 0;
	hive_buf json = {0};
	if (raw_dbi(txn, "events", &events))
		goto out;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t seq = 1;
	mdb_cursor_open(txn, events, &c);
	if (mdb_cursor_get(c, &k, &v, MDB_LAST) == 0) {
		const unsigned char *b = k.mv_data;
		seq = 0;
		for (int i = 0; i < 8; i++)
			seq = (seq << 8) | b[i];
		seq++;
	}
	mdb_cursor_close(c);
	for (const char *p = tmpl; *p;) {
		if (strncmp(p, "@SEQ@", 5) == 0) {
			hive_buf_printf(&json, "%llu", (unsigned long long)seq);
			p += 5;
		} else {
			hive_buf_putc(&json, *p++);
		}
	}
	hive_event ev;
	if (hive_event_decode(json.data, json.len, &ev)) {
		die("the event would not decode");
		goto out;
	}
	unsigned char sk[8];
	seq_key(seq, sk);
	k = (MDB_val){8, sk};
	v = (MDB_val){json.len, json.data};
	mrc = mdb_put(txn, events, &k, &v, MDB_APPEND);
	if (mrc)
		raw_fail("events", mrc);
	else if (!put_index(txn, "idx_flow", ev.flow_id, sk) && !put_index(txn, "idx_task", ev.task_id, sk) &&
		 !put_index(txn, "idx_attempt", ev.attempt_id, sk) && !put_index(txn, "idx_type", ev.type_name, sk))
		rc = 0;
	hive_event_dispose(&ev);
out:
	if (rc == 0 && (mrc = mdb_txn_commit(txn)))
		rc = raw_fail("commit", mrc);
	else if (rc)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	if (rc == 0)
		printf("%s\n", json.data);
	hive_buf_dispose(&json);
	return rc;
}

static int cmd_drop_index(const char *dir, const char *index, const char *key, const char *seq_s)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	if (raw_begin(dir, &env, &txn))
		return 1;
	int rc = raw_dbi(txn, index, &dbi);
	if (!rc) {
		unsigned char sk[8];
		seq_key(strtoull(seq_s, NULL, 10), sk);
		MDB_val k = {strlen(key), (void *)key}, v = {8, sk};
		int mrc = mdb_del(txn, dbi, &k, &v);
		if (!mrc)
			mrc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		rc = mrc ? raw_fail(index, mrc) : 0;
	} else {
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

static int cmd_set_meta(const char *dir, const char *key, const char *value)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	if (raw_begin(dir, &env, &txn))
		return 1;
	int rc = raw_dbi(txn, "meta", &dbi);
	if (!rc) {
		MDB_val k = {strlen(key), (void *)key}, v = {strlen(value), (void *)value};
		int mrc = mdb_put(txn, dbi, &k, &v, 0);
		if (!mrc)
			mrc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		rc = mrc ? raw_fail("meta", mrc) : 0;
	} else {
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

/* ---- reading JSON for the shell tests ----------------------------------- */

static char *slurp(const char *file, size_t *len)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
	if (!f) {
		fprintf(stderr, "append_events: %s: %s\n", file, strerror(errno));
		exit(1);
	}
	hive_buf b = {0};
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		hive_buf_append(&b, chunk, n);
	if (f != stdin)
		fclose(f);
	*len = b.len;
	return hive_buf_detach(&b);
}

/* Call fn on each line of the file (without its newline). */
static int each_line(const char *file, int (*fn)(const char *line, size_t len, long no, void *ctx), void *ctx)
{
	size_t len;
	char *all = slurp(file, &len);
	int rc = 0;
	long no = 0;
	for (char *p = all; p < all + len && !rc;) {
		char *nl = memchr(p, '\n', (size_t)(all + len - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(all + len - p);
		rc = fn(p, n, ++no, ctx);
		p += n + 1;
	}
	free(all);
	return rc;
}

static int print_seq(const char *line, size_t len, long no, void *ctx)
{
	int *first = ctx;
	json_t *o = json_loadb(line, len, 0, NULL);
	json_t *seq = json_object_get(o, "seq");
	if (!json_is_integer(seq)) {
		fprintf(stderr, "append_events: line %ld has no integer \"seq\": %.*s\n", no, (int)len, line);
		json_decref(o);
		return 1;
	}
	printf("%s%lld", *first ? "" : " ", (long long)json_integer_value(seq));
	*first = 0;
	json_decref(o);
	return 0;
}

static int check_event(const char *line, size_t len, long no, void *ctx)
{
	(void)ctx;
	hive_event ev;
	if (hive_event_decode(line, len, &ev)) {
		fprintf(stderr, "append_events: line %ld is not an event envelope: %s\n", no, hive_error_last());
		return 1;
	}
	hive_event_dispose(&ev);
	return 0;
}

/* The value at a dotted path: borrowed, or NULL. */
static json_t *at_path(json_t *v, const char *path)
{
	if (strcmp(path, ".") == 0 || !*path)
		return v;
	char *copy = hive_xstrdup(path), *save = NULL;
	for (char *k = strtok_r(copy, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
		v = json_is_array(v) ? json_array_get(v, strtoul(k, NULL, 10)) : json_object_get(v, k);
	free(copy);
	return v;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int cmd_json(const char *mode, const char *file, const char *path)
{
	if (strcmp(mode, "--json-seqs") == 0) {
		int first = 1, rc = each_line(file, print_seq, &first);
		printf("\n");
		return rc;
	}
	if (strcmp(mode, "--json-check-events") == 0)
		return each_line(file, check_event, NULL);
	size_t len;
	char *text = slurp(file, &len);
	json_error_t err;
	json_t *doc = json_loadb(text, len, 0, &err);
	free(text);
	if (!doc) {
		fprintf(stderr, "append_events: %s: not one JSON document: %s\n", file, err.text);
		return 1;
	}
	json_t *v = at_path(doc, path);
	int rc = 0;
	if (!v) {
		fprintf(stderr, "append_events: %s: nothing at %s\n", file, path);
		rc = 1;
	} else if (strcmp(mode, "--json-keys") == 0) {
		if (!json_is_object(v)) {
			fprintf(stderr, "append_events: %s: %s is not an object\n", file, path);
			rc = 1;
		} else {
			size_t n = json_object_size(v), i = 0;
			const char **keys = hive_xcalloc(n ? n : 1, sizeof *keys);
			const char *key;
			json_t *val;
			json_object_foreach(v, key, val)
				keys[i++] = key;
			qsort(keys, n, sizeof *keys, cmp_str);
			for (i = 0; i < n; i++)
				printf("%s%s", i ? " " : "", keys[i]);
			printf("\n");
			free(keys);
		}
	} else if (json_is_string(v)) {
		printf("%s\n", json_string_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s\n", s);
		free(s);
	}
	json_decref(doc);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strncmp(argv[1], "--json-", 7) == 0) {
		int two = strcmp(argv[1], "--json-get") == 0 || strcmp(argv[1], "--json-keys") == 0;
		if (argc != (two ? 4 : 3))
			usage();
		return cmd_json(argv[1], argv[2], two ? argv[3] : ".");
	}
	if (argc >= 2 && strcmp(argv[1], "--raw") == 0) {
		if (argc != 4)
			usage();
		return cmd_raw(argv[2], argv[3]);
	}
	if (argc >= 2 && strcmp(argv[1], "--drop-index") == 0) {
		if (argc != 6)
			usage();
		return cmd_drop_index(argv[2], argv[3], argv[4], argv[5]);
	}
	if (argc >= 2 && strcmp(argv[1], "--set-meta") == 0) {
		if (argc != 5)
			usage();
		return cmd_set_meta(argv[2], argv[3], argv[4]);
	}
	return cmd_append(argc, argv);
}
