/*
 * doc.c - the JSON documents of the front ends (hive.h, "documents"):
 * every `--json` output of the CLI and every JSON body of `hive serve`
 * is built here, so both print the same bytes for the same question.
 *
 * A document is an object whose first member is "schema": 2 (SPEC
 * section 12).  A list is {"schema": 2, "<things>": [summary, ...]}: a
 * summary keeps the fields a list shows and drops the large ones (an
 * attempt's retry context, checks and outputs; a task's runtime and retry
 * policy), which the show/inspect document of the same object carries.
 * The summaries' field names are those of the full documents
 * (core/projection.h), documented as stable in docs/json.md.
 */
#include <string.h>

#include "core/hive.h"
#include "events/error.h"

json_t *hive_doc_wrap(json_t *doc)
{
	if (!json_is_object(doc))
		return doc;
	json_t *out = json_pack("{s:i}", "schema", HIVE_DOC_SCHEMA);
	const char *k;
	json_t *v;
	json_object_foreach(doc, k, v)
		if (strcmp(k, "schema") != 0)
			json_object_set(out, k, v);
	json_decref(doc);
	return out;
}

json_t *hive_doc_error(int rc, const char *message)
{
	return json_pack("{s:i,s:{s:s,s:s}}", "schema", HIVE_DOC_SCHEMA, "error", "code", hive_error_name(rc),
			 "message", message ? message : "");
}

/* A new object with the members of full named in keys (NULL-terminated),
 * in that order; absent ones are left out. */
static json_t *pick(const json_t *full, const char *const *keys)
{
	json_t *out = json_object();
	for (; *keys; keys++) {
		json_t *v = json_object_get(full, *keys);
		if (v)
			json_object_set(out, *keys, v);
	}
	return out;
}

static const char *const project_fields[] = {"id", "name", "repo", "description", "created_at", NULL};
static const char *const flow_fields[] = {"id", "name", "project_id", "state", "state_since", "reason",
					  "created_at", "base_commit", "task_ids", NULL};
static const char *const task_fields[] = {"id", "key", "title", "project_id", "flow_id", "flow_name", "state",
					  "state_since", "reason", "attempts", "last_outcome", "last_attempt_id",
					  "running_attempt", "next_attempt_at", "blocked_reason", "depends_on",
					  "result_commit", NULL};
static const char *const attempt_fields[] = {"id", "task_id", "task_key", "flow_id", "flow_name", "project_id",
					     "attempt_number", "state", "outcome", "runtime", "started_at",
					     "completed_at", "duration_ms", "failed_checks", "summary", NULL};

/* {"schema": 2, member: [pick(item, fields) ...]}; items is stolen. */
static json_t *list_doc(const char *member, json_t *items, const char *const *fields)
{
	json_t *arr = json_array(), *it;
	size_t i;
	json_array_foreach(items, i, it)
		json_array_append_new(arr, pick(it, fields));
	json_decref(items);
	return json_pack("{s:i,s:o}", "schema", HIVE_DOC_SCHEMA, member, arr);
}

/* A query's result (new reference on success) as a document. */
static int shaped(int rc, json_t *result, json_t **out)
{
	if (!rc)
		*out = hive_doc_wrap(result);
	return rc;
}

static int listed(int rc, const char *member, json_t *items, const char *const *fields, json_t **out)
{
	if (!rc)
		*out = list_doc(member, items, fields);
	return rc;
}

int hive_doc_project_list(hive_store *s, json_t **out)
{
	json_t *r = NULL;
	int rc = hive_project_list(s, &r);
	return listed(rc, "projects", r, project_fields, out);
}

int hive_doc_project_show(hive_store *s, const char *ref, json_t **out)
{
	json_t *r = NULL;
	int rc = hive_project_show(s, ref, &r);
	return shaped(rc, r, out);
}

int hive_doc_flow_list(hive_store *s, const char *project_ref, json_t **out)
{
	json_t *r = NULL;
	int rc = hive_flow_list(s, project_ref, &r);
	return listed(rc, "flows", r, flow_fields, out);
}

int hive_doc_flow_show(hive_store *s, const char *ref, json_t **out)
{
	json_t *r = NULL;
	int rc = hive_flow_show(s, ref, &r);
	return shaped(rc, r, out);
}

int hive_doc_flow_status(hive_store *s, const char *ref, json_t **out)
{
	json_t *r = NULL;
	int rc = hive_flow_status(s, ref, &r);
	return shaped(rc, r, out);
}

int hive_doc_task_list(hive_store *s, const hive_task_filter *f, json_t **out)
{
	json_t *r = NULL;
	int rc = hive_task_list(s, f, &r);
	return listed(rc, "tasks", r, task_fields, out);
}

int hive_doc_task_show(hive_store *s, const char *ref, json_t **out)
{
	json_t *r = NULL;
	int rc = hive_task_show(s, ref, &r);
	return shaped(rc, r, out);
}

int hive_doc_attempt_list(hive_store *s, const hive_attempt_filter *f, json_t **out)
{
	json_t *r = NULL;
	int rc = hive_attempt_list(s, f, &r);
	return listed(rc, "attempts", r, attempt_fields, out);
}

int hive_doc_attempt_show(hive_store *s, const char *ref, json_t **out)
{
	json_t *r = NULL;
	int rc = hive_attempt_show(s, ref, &r);
	return shaped(rc, r, out);
}
