#include "cli/query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/projection.h"
#include "events/buf.h"
#include "events/error.h"

const char *cli_jstr(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

typedef struct {
	hive_ref_kind kind;
	const char *ref;
	json_t *doc;
} load_ctx;

static int load_txn(hive_txn *txn, void *vctx)
{
	load_ctx *c = vctx;
	hive_id id;
	int rc = hive_resolve(txn, c->kind, c->ref, &id);
	if (rc)
		return rc;
	c->doc = hive_proj_get(txn, "%s/%s", hive_ref_kind_name(c->kind), id.s);
	if (!c->doc)
		return hive_error_set(HIVE_ENOTFOUND, "%s %s has no projection; run hive events verify",
				      hive_ref_kind_name(c->kind), id.s);
	return 0;
}

int cli_load(hive_cli *cli, hive_ref_kind kind, const char *ref, json_t **doc)
{
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (!s)
		return rc;
	load_ctx c = {kind, ref, NULL};
	rc = hive_store_read(s, load_txn, &c);
	*doc = c.doc;
	return rc;
}

static int collect(const char *key, size_t klen, hive_slice val, void *vctx)
{
	(void)key;
	(void)klen;
	json_t *d = json_loadb(val.data, val.len, 0, NULL);
	if (d)
		json_array_append_new(vctx, d);
	return 0;
}

typedef struct {
	const char *prefix;
	json_t *docs;
} all_ctx;

static int all_txn(hive_txn *txn, void *vctx)
{
	all_ctx *c = vctx;
	return hive_txn_scan_prefix(txn, c->prefix, collect, c->docs);
}

int cli_load_all(hive_cli *cli, const char *prefix, json_t **docs)
{
	int rc;
	hive_store *s = cli_store(cli, &rc);
	*docs = json_array();
	if (!s)
		return rc;
	all_ctx c = {prefix, *docs};
	return hive_store_read(s, all_txn, &c);
}

typedef struct {
	const char *key;
	json_t *doc;
	const char *blob;
	char *data;
	size_t len;
} get_ctx;

static int get_txn(hive_txn *txn, void *vctx)
{
	get_ctx *c = vctx;
	if (c->key) {
		c->doc = hive_proj_get(txn, "%s", c->key);
		return 0;
	}
	hive_slice v;
	int rc = hive_txn_blob_get(txn, c->blob, &v);
	if (!rc) {
		c->data = hive_xstrndup(v.data, v.len);
		c->len = v.len;
	}
	return rc;
}

json_t *cli_get(hive_cli *cli, const char *fmt, ...)
{
	char key[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(key, sizeof key, fmt, ap);
	va_end(ap);
	int rc;
	hive_store *s = cli_store(cli, &rc);
	get_ctx c = {.key = key};
	if (s)
		hive_store_read(s, get_txn, &c);
	return c.doc;
}

char *cli_blob(hive_cli *cli, const char *hex, size_t *len)
{
	int rc;
	hive_store *s = cli_store(cli, &rc);
	get_ctx c = {.blob = hex};
	if (!s || !hex || hive_store_read(s, get_txn, &c) != 0)
		return NULL;
	if (len)
		*len = c.len;
	return c.data;
}

int cli_json_out(hive_cli *cli, json_t *doc)
{
	if (!cli->json) {
		json_decref(doc);
		return 0;
	}
	cli_print_json(doc);
	return 1;
}
