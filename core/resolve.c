#include "core/resolve.h"

#include <string.h>

#include "events/buf.h"
#include "events/error.h"

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
	static const hive_index idx[] = {HIVE_IDX_FLOW, HIVE_IDX_FLOW, HIVE_IDX_TASK, HIVE_IDX_ATTEMPT};
	char found[MAX_CANDIDATES][HIVE_ID_LEN + 1];
	size_t n = 0;
	int rc = hive_txn_index_prefix(txn, idx[kind], ref, found, MAX_CANDIDATES, &n);
	if (rc)
		return rc;
	if (n == 0)
		return HIVE_ENOTFOUND;
	if (n > 1)
		return ambiguous(kind, ref, found, n);
	memcpy(out->s, found[0], sizeof out->s);
	return 0;
}

int hive_resolve(hive_txn *txn, hive_ref_kind kind, const char *ref, hive_id *out)
{
	if (!ref || !*ref)
		return hive_error_set(HIVE_EINVALID, "empty %s reference", hive_ref_kind_name(kind));
	int rc = HIVE_ENOTFOUND;
	if (strlen(ref) >= 4 && strlen(ref) <= HIVE_ID_LEN && kind != HIVE_REF_PROJECT)
		rc = by_prefix(txn, kind, ref, out);
	if (rc == HIVE_ENOTFOUND)
		return hive_error_set(HIVE_ENOTFOUND, "no %s matches \"%s\"; ids need at least 4 characters",
				      hive_ref_kind_name(kind), ref);
	return rc;
}
