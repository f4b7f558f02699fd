#include "core/resolve.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/projection.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/json.h"

#define MAX_CANDIDATES 8

const char *hive_ref_kind_name(hive_ref_kind kind)
{
	static const char *const names[] = {"project", "flow", "task", "attempt"};
	return names[kind];
}

static int ambiguous(hive_ref_kind kind, const char *ref, char (*c)[HIVE_ID_LEN + 1], size_t n)
{
	hive_buf b = {0};
	for (size_t i = 0; i < n; i++)
		hive_buf_printf(&b, "%s%s", i ? ", " : "", c[i]);
	int rc = hive_error_set(HIVE_EAMBIGUOUS, "%s \"%s\" is ambiguous: %s%s; give more characters",
				hive_ref_kind_name(kind), ref, hive_buf_str(&b), n >= MAX_CANDIDATES ? ", ..." : "");
	hive_buf_dispose(&b);
	return rc;
}

/* Id prefixes are looked up in the log's indexes, so no scan is needed. */
static int by_prefix(hive_txn *txn, hive_ref_kind kind, const char *ref, hive_id *out)
{
	/* projects have no index in the log; resolve_any scans their projections */
	assert(kind != HIVE_REF_PROJECT);
	hive_index idx = kind == HIVE_REF_FLOW ? HIVE_IDX_FLOW : kind == HIVE_REF_TASK ? HIVE_IDX_TASK : HIVE_IDX_ATTEMPT;
	char found[MAX_CANDIDATES][HIVE_ID_LEN + 1];
	size_t n = 0;
	int rc = hive_txn_index_prefix(txn, idx, ref, found, MAX_CANDIDATES, &n);
	if (rc)
		return rc;
	if (n == 0)
		return HIVE_ENOTFOUND;
	if (n > 1)
		return ambiguous(kind, ref, found, n);
	memcpy(out->s, found[0], sizeof out->s);
	return 0;
}

/* A name (project, flow) through its name/ projection key. */
static int by_name(hive_txn *txn, hive_ref_kind kind, const char *ref, hive_id *out)
{
	json_t *d = hive_proj_get(txn, "name/%s/%s", hive_ref_kind_name(kind), ref);
	const char *id = json_string_value(json_object_get(d, "id"));
	int rc = HIVE_ENOTFOUND;
	if (id) {
		snprintf(out->s, sizeof out->s, "%s", id);
		rc = 0;
	}
	json_decref(d);
	return rc;
}

/* A bare task key several tasks share: name them the way a user can type
 * them (flow-name/key), or by id for a task in no flow. */
static int ambiguous_key(hive_txn *txn, const char *ref, char (*c)[HIVE_ID_LEN + 1], size_t n)
{
	hive_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		json_t *t = hive_proj_task(txn, c[i]);
		json_t *f = hive_proj_flow(txn, hive_json_str(t, "flow_id"));
		const char *fname = hive_json_str(f, "name");
		if (fname)
			hive_buf_printf(&b, "%s%s/%s", i ? ", " : "", fname, ref);
		else
			hive_buf_printf(&b, "%s%s (in no flow)", i ? ", " : "", c[i]);
		json_decref(f);
		json_decref(t);
	}
	int rc = hive_error_set(HIVE_EAMBIGUOUS, "task key \"%s\" is ambiguous: %s%s; give FLOW/KEY or an id",
				ref, hive_buf_str(&b), n >= MAX_CANDIDATES ? ", ..." : "");
	hive_buf_dispose(&b);
	return rc;
}

typedef struct {
	const char *prefix;
	size_t skip;
	char found[MAX_CANDIDATES][HIVE_ID_LEN + 1];
	size_t n;
} scan_ctx;

static int collect_suffix(const char *key, size_t klen, hive_slice val, void *vctx)
{
	scan_ctx *c = vctx;
	(void)val;
	if (c->n >= MAX_CANDIDATES)
		return 1;
	size_t n = klen - c->skip < HIVE_ID_LEN ? klen - c->skip : HIVE_ID_LEN;
	memcpy(c->found[c->n], key + c->skip, n);
	c->found[c->n][n] = '\0';
	c->n++;
	return 0;
}

static int by_scan(hive_txn *txn, hive_ref_kind kind, const char *prefix, size_t skip,
		   const char *ref, hive_id *out)
{
	scan_ctx c = {.prefix = prefix, .skip = skip};
	int rc = hive_txn_scan_prefix(txn, prefix, collect_suffix, &c);
	if (rc < 0)
		return rc;
	if (c.n == 0)
		return HIVE_ENOTFOUND;
	if (c.n > 1 && kind == HIVE_REF_TASK)
		return ambiguous_key(txn, ref, c.found, c.n);
	if (c.n > 1)
		return ambiguous(kind, ref, c.found, c.n);
	memcpy(out->s, c.found[0], sizeof out->s);
	return 0;
}

/* "flow-name/task-key": the flow's task with that key. */
static int task_in_flow(hive_txn *txn, const char *ref, hive_id *out)
{
	const char *slash = strchr(ref, '/');
	char *flow_ref = hive_xstrndup(ref, (size_t)(slash - ref));
	hive_id flow;
	int rc = hive_resolve(txn, HIVE_REF_FLOW, flow_ref, &flow);
	free(flow_ref);
	if (rc)
		return rc == HIVE_EAMBIGUOUS ? rc : HIVE_ENOTFOUND;
	json_t *f = hive_proj_flow(txn, flow.s);
	json_t *ids = json_object_get(f, "task_ids"), *id;
	size_t i;
	rc = HIVE_ENOTFOUND;
	json_array_foreach(ids, i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		const char *key = hive_json_str(t, "key");
		if (key && strcmp(key, slash + 1) == 0) {
			snprintf(out->s, sizeof out->s, "%s", json_string_value(id));
			rc = 0;
		}
		json_decref(t);
		if (!rc)
			break;
	}
	json_decref(f);
	return rc;
}

/* A full id of an existing object of this kind. */
static int by_exact_id(hive_txn *txn, hive_ref_kind kind, const char *ref, hive_id *out)
{
	if (!hive_id_valid(ref))
		return HIVE_ENOTFOUND;
	if (kind == HIVE_REF_PROJECT) {
		json_t *d = hive_proj_project(txn, ref);
		json_decref(d);
		if (!d)
			return HIVE_ENOTFOUND;
		snprintf(out->s, sizeof out->s, "%s", ref);
		return 0;
	}
	return by_prefix(txn, kind, ref, out);
}

/* "TASK#N": the task's attempt numbered N, whatever flow it ran in (SPEC
 * section 12).  TASK is any task reference (FLOW/KEY, a key, an id); a
 * flow name means the flow holding it now (the newest; at most one that
 * has not ended holds a name). */
static int attempt_by_number(hive_txn *txn, const char *ref, const char *hash, hive_id *out)
{
	const char *num = hash + 1;
	char *end = NULL;
	long long n = strtoll(num, &end, 10);
	if (!*num || *end || n < 1 || num[0] == '+' || num[0] == '-')
		return hive_error_set(HIVE_EINVALID, "attempt \"%s\": after '#' give the attempt number (1, 2, ...)", ref);
	char *task_ref = hive_xstrndup(ref, (size_t)(hash - ref));
	hive_id task;
	int rc = hive_resolve(txn, HIVE_REF_TASK, task_ref, &task);
	free(task_ref);
	if (rc)
		return rc;
	json_t *t = hive_proj_task(txn, task.s), *id;
	size_t i;
	rc = HIVE_ENOTFOUND;
	json_array_foreach(json_object_get(t, "attempt_ids"), i, id) {
		json_t *a = hive_proj_attempt(txn, json_string_value(id));
		if (json_integer_value(json_object_get(a, "attempt_number")) == n) {
			snprintf(out->s, sizeof out->s, "%s", json_string_value(id));
			rc = 0;
		}
		json_decref(a);
		if (!rc)
			break;
	}
	long long made = json_integer_value(json_object_get(t, "attempts"));
	json_decref(t);
	if (rc)
		return hive_error_set(HIVE_ENOTFOUND, "no attempt matches \"%s\": the task has %lld attempt%s; see hive "
				      "attempt list --task %.*s", ref, made, made == 1 ? "" : "s", (int)(hash - ref), ref);
	return 0;
}

static int resolve_any(hive_txn *txn, hive_ref_kind kind, const char *ref, hive_id *out)
{
	const char *hash = kind == HIVE_REF_ATTEMPT ? strrchr(ref, '#') : NULL;
	if (hash)
		return attempt_by_number(txn, ref, hash, out);
	/* an exact id wins over everything: a name (kept from a store written
	 * before names that look like ids were refused) never shadows it */
	int rc = by_exact_id(txn, kind, ref, out);
	if (rc != HIVE_ENOTFOUND)
		return rc;
	if ((kind == HIVE_REF_PROJECT || kind == HIVE_REF_FLOW) && (rc = by_name(txn, kind, ref, out)) == 0)
		return 0;
	if (kind == HIVE_REF_TASK && strchr(ref, '/'))
		return task_in_flow(txn, ref, out);
	if (kind == HIVE_REF_TASK) {
		char prefix[300];
		int n = snprintf(prefix, sizeof prefix, "taskkey/%s/", ref);
		if (n > 0 && (size_t)n < sizeof prefix && (rc = by_scan(txn, kind, prefix, (size_t)n, ref, out)) != HIVE_ENOTFOUND)
			return rc;
	}
	if (strlen(ref) < 4 || strlen(ref) > HIVE_ID_LEN)
		return HIVE_ENOTFOUND;
	if (kind == HIVE_REF_PROJECT) {
		char prefix[64];
		snprintf(prefix, sizeof prefix, "project/%s", ref);
		return by_scan(txn, kind, prefix, 8, ref, out);
	}
	return by_prefix(txn, kind, ref, out);
}

/* How many stored objects of kind have an id starting with prefix (0, 1
 * or 2 = "more than one"). */
static size_t count_prefix(hive_txn *txn, hive_ref_kind kind, const char *prefix)
{
	char found[2][HIVE_ID_LEN + 1];
	size_t n = 0;
	if (kind == HIVE_REF_PROJECT) {
		char key[64];
		snprintf(key, sizeof key, "project/%s", prefix);
		scan_ctx c = {.prefix = key, .skip = 8};
		hive_txn_scan_prefix(txn, key, collect_suffix, &c);
		return c.n > 2 ? 2 : c.n;
	}
	hive_index idx = kind == HIVE_REF_FLOW ? HIVE_IDX_FLOW : kind == HIVE_REF_TASK ? HIVE_IDX_TASK : HIVE_IDX_ATTEMPT;
	if (hive_txn_index_prefix(txn, idx, prefix, found, 2, &n) != 0)
		return 2;
	return n;
}

void hive_resolve_display(hive_txn *txn, hive_ref_kind kind, const char *id, char *out)
{
	snprintf(out, HIVE_ID_LEN + 1, "%s", id ? id : "");
	if (!hive_id_valid(out))
		return;
	/* 13 = the 48-bit millisecond time; lengths ending on a '-' or on the
	 * version digit add nothing, so they are skipped */
	for (size_t len = 13; len < HIVE_ID_LEN; len++) {
		if (len == 14 || len == 15 || len == 19 || len == 24)
			continue;
		char prefix[HIVE_ID_LEN + 1];
		memcpy(prefix, id, len);
		prefix[len] = '\0';
		if (count_prefix(txn, kind, prefix) <= 1) {
			out[len] = '\0';
			return;
		}
	}
}

int hive_resolve_name_check(const char *name, const char *where)
{
	size_t n = name ? strlen(name) : 0;
	if (n < 4 || strspn(name, "0123456789abcdefABCDEF-") != n)
		return 0;
	return hive_error_set(HIVE_EINVALID,
			      "%s \"%s\" could be taken for an id (it is only hex digits and '-'); "
			      "use a name with another letter, e.g. \"x-%s\"",
			      where ? where : "name", name, name);
}

int hive_resolve(hive_txn *txn, hive_ref_kind kind, const char *ref, hive_id *out)
{
	if (!ref || !*ref)
		return hive_error_set(HIVE_EINVALID, "empty %s reference", hive_ref_kind_name(kind));
	int rc = resolve_any(txn, kind, ref, out);
	/* TASK#N said why itself (which task, how many attempts it has) */
	if (rc == HIVE_ENOTFOUND && !(kind == HIVE_REF_ATTEMPT && strchr(ref, '#')))
		return hive_error_set(HIVE_ENOTFOUND, "no %s matches \"%s\"; see hive %s list",
				      hive_ref_kind_name(kind), ref, hive_ref_kind_name(kind));
	return rc;
}
