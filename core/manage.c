/*
 * manage.c - creating and steering projects, tasks and flows.
 *
 * Each public function prepares what needs no lock (ids, git lookups),
 * then runs one write transaction that checks the preconditions against
 * the projections and emits the events.  A failed check aborts the whole
 * transaction: nothing is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/emit.h"
#include "core/gitws.h"
#include "core/hive.h"
#include "core/lifecycle.h"
#include "core/lock.h"
#include "core/policy.h"
#include "core/projection.h"
#include "core/resolve.h"
#include "core/schedule.h"
#include "core/spec.h"
#include "core/steer.h"
#include "core/state.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/json.h"

/* One name rule for projects, flows and task keys (core/spec.c): names
 * become part of git branch names. */
static int valid_name(const char *what, const char *name)
{
	char where[32];
	snprintf(where, sizeof where, "%s name", what);
	int rc = hive_spec_name_check(name, where);
	return rc ? rc : hive_resolve_name_check(name, where);
}

/* ---- projects ------------------------------------------------------------ */

typedef struct {
	const char *name, *description;
	char *repo;
	hive_id id;
} project_ctx;

static int project_txn(hive_txn *txn, void *vctx)
{
	project_ctx *c = vctx;
	return hive_emit_new(txn, HIVE_EV_PROJECT_CREATED,
			hive_json_pack("{s:s,s:s,s:s}", "name", c->name, "repo", c->repo, "description",
				  c->description ? c->description : ""),
			c->id.s, NULL, NULL, NULL);
}

static int project_create(hive_store *s, const char *name, const char *repo, const char *description,
			  hive_id *out)
{
	int rc = valid_name("project", name);
	if (rc)
		return rc;
	project_ctx c = {.name = name, .description = description};
	if ((rc = hive_git_repo_check(repo, &c.repo)))
		return rc;
	hive_id_new(&c.id);
	rc = hive_store_write(s, project_txn, &c);
	free(c.repo);
	if (!rc && out)
		*out = c.id;
	return rc;
}

/* ---- tasks ------------------------------------------------------------------ */

/* Replace each dependency reference in def (a new copy) by a task id. */
static int resolve_deps(hive_txn *txn, json_t *def)
{
	json_t *deps = json_object_get(def, "depends_on"), *d;
	size_t i;
	json_array_foreach(deps, i, d) {
		hive_id id;
		int rc = hive_resolve(txn, HIVE_REF_TASK, json_string_value(d), &id);
		if (rc)
			return hive_error_prefix("dependency %s", json_string_value(d));
		json_array_set_new(deps, i, json_string(id.s));
	}
	return 0;
}

typedef struct {
	const char *project_ref;
	const json_t *def;
	hive_id id;
} task_ctx;

static int task_txn(hive_txn *txn, void *vctx)
{
	task_ctx *c = vctx;
	hive_id project;
	int rc = hive_resolve(txn, HIVE_REF_PROJECT, c->project_ref, &project);
	if (rc)
		return rc;
	json_t *def = json_deep_copy(c->def);
	if ((rc = resolve_deps(txn, def))) {
		json_decref(def);
		return rc;
	}
	return hive_emit_new(txn, HIVE_EV_TASK_CREATED, def, project.s, NULL, c->id.s, NULL);
}

int hive_project_create(hive_store *s, const char *name, const char *repo, const char *description,
			const hive_act_opts *who, hive_id *out)
{
	int rc = hive_steer_actor_begin(who ? who->actor : NULL);
	if (!rc)
		rc = project_create(s, name, repo, description, out);
	hive_emit_actor_end();
	return rc;
}

int hive_task_create(hive_store *s, const char *project_ref, const json_t *def, const hive_act_opts *who,
		     hive_id *out)
{
	task_ctx c = {.project_ref = project_ref, .def = def};
	hive_id_new(&c.id);
	int rc = hive_steer_actor_begin(who ? who->actor : NULL);
	if (!rc)
		rc = hive_store_write(s, task_txn, &c);
	hive_emit_actor_end();
	if (!rc && out)
		*out = c.id;
	return rc;
}

/* ---- flows -------------------------------------------------------------------- */

typedef struct {
	const json_t *spec;
	char *repo;          /* when the spec creates the project */
	hive_id project_id, flow_id;
	hive_id *task_ids;
	size_t n_tasks;
	int dry;             /* hive_flow_create_spec_check: abort after the last check */
	int dry_ok;          /* ... every check passed */
	int project_new;     /* the spec creates its project */
} spec_ctx;

static int spec_project(hive_txn *txn, spec_ctx *c)
{
	json_t *p = json_object_get(c->spec, "project");
	const char *name = json_string_value(json_object_get(p, "name"));
	if (hive_resolve(txn, HIVE_REF_PROJECT, name, &c->project_id) == 0) {
		if (!c->repo)
			return 0;
		/* the spec names a repo: it must be the project's, never silently another */
		json_t *doc = hive_proj_project(txn, c->project_id.s);
		const char *repo = json_string_value(json_object_get(doc, "repo"));
		int rc = repo && strcmp(repo, c->repo) != 0 ?
			 hive_error_set(HIVE_ECONFLICT, "project \"%s\" already exists for repo %s, but the spec names %s; "
					"give that repo or another project name", name, repo, c->repo) : 0;
		json_decref(doc);
		return rc;
	}
	if (!c->repo)
		return hive_error_set(HIVE_ENOTFOUND, "project \"%s\" does not exist; create it with hive project create or give {\"name\", \"repo\"} in the spec", name);
	if (hive_resolve_name_check(name, "project.name"))
		return HIVE_EINVALID;
	hive_error_clear();
	c->project_new = 1;
	return hive_emit_new(txn, HIVE_EV_PROJECT_CREATED,
			hive_json_pack("{s:s,s:s,s:s}", "name", name, "repo", c->repo, "description",
				  json_string_value(json_object_get(p, "description")) ?
				  json_string_value(json_object_get(p, "description")) : ""),
			c->project_id.s, NULL, NULL, NULL);
}

static int key_index(const json_t *tasks, const char *key)
{
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t)
		if (strcmp(json_string_value(json_object_get(t, "key")), key) == 0)
			return (int)i;
	return -1;
}

static int spec_tasks(hive_txn *txn, spec_ctx *c)
{
	json_t *tasks = json_object_get(c->spec, "tasks"), *t;
	size_t i;
	json_array_foreach(tasks, i, t) {
		json_t *def = json_deep_copy(t), *deps = json_object_get(def, "depends_on"), *d;
		size_t j;
		json_array_foreach(deps, j, d) {
			int k = key_index(tasks, json_string_value(d));
			if (k < 0) {
				json_decref(def);
				return hive_error_set(HIVE_EINVALID, "tasks[%zu].depends_on: unknown key", i);
			}
			json_array_set_new(deps, j, json_string(c->task_ids[k].s));
		}
		int rc = hive_emit_new(txn, HIVE_EV_TASK_CREATED, def, c->project_id.s, c->flow_id.s,
				  c->task_ids[i].s, NULL);
		if (rc)
			return rc;
	}
	return 0;
}

static int spec_txn(hive_txn *txn, void *vctx)
{
	spec_ctx *c = vctx;
	int rc = spec_project(txn, c);
	if (!rc)
		rc = spec_tasks(txn, c);
	if (rc)
		return rc;
	json_t *ids = json_array();
	for (size_t i = 0; i < c->n_tasks; i++)
		json_array_append_new(ids, json_string(c->task_ids[i].s));
	json_t *defaults = json_object_get(c->spec, "defaults");
	rc = hive_emit_new(txn, HIVE_EV_FLOW_CREATED,
			hive_json_pack("{s:s,s:o,s:O}", "name", json_string_value(json_object_get(c->spec, "name")),
				  "task_ids", ids, "defaults", defaults ? defaults : json_object()),
			c->project_id.s, c->flow_id.s, NULL, NULL);
	if (!rc && c->dry) { /* every check passed: an error aborts the transaction */
		c->dry_ok = 1;
		return HIVE_ECONFLICT;
	}
	return rc;
}

/* ---- reusing a flow name (SPEC section 12) --------------------------------------- */

typedef struct {
	const char *name;
	json_t *holder; /* the flow holding the name, or NULL */
	char *repo;
} name_ctx;

static int name_txn(hive_txn *txn, void *vctx)
{
	name_ctx *c = vctx;
	json_t *ref = hive_proj_get(txn, "name/flow/%s", c->name);
	json_decref(c->holder);
	c->holder = hive_json_str(ref, "id") ? hive_proj_flow(txn, hive_json_str(ref, "id")) : NULL;
	json_t *p = c->holder ? hive_proj_project(txn, hive_json_str(c->holder, "project_id")) : NULL;
	free(c->repo);
	c->repo = hive_json_str(p, "repo") ? hive_xstrdup(hive_json_str(p, "repo")) : NULL;
	json_t *keys = json_array(), *id;
	size_t i;
	json_array_foreach(json_object_get(c->holder, "task_ids"), i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		if (hive_json_str(t, "key"))
			json_array_append_new(keys, json_pack("{s:s,s:s?}", "key", hive_json_str(t, "key"), "at",
							      hive_lifecycle_branch_commit(t)));
		json_decref(t);
	}
	/* hive flow land's branch (core/land.c) */
	json_array_append_new(keys, json_pack("{s:s,s:s?}", "key", "landed", "at",
					      hive_json_str(json_object_get(c->holder, "landed"), "commit")));
	if (c->holder)
		json_object_set_new(c->holder, "keys", keys);
	else
		json_decref(keys);
	json_decref(p);
	json_decref(ref);
	return 0;
}

/* The result branches hive/<name>/<key> of the holder that still exist;
 * those no longer where hive left them (gc keeps them) also go to moved. */
static int remaining_branches(const name_ctx *c, hive_buf *list, int *n, hive_buf *moved)
{
	json_t *k;
	size_t i;
	*n = 0;
	json_array_foreach(json_object_get(c->holder, "keys"), i, k) {
		hive_buf b = {0};
		hive_buf_printf(&b, "hive/%s/%s", c->name, hive_json_str(k, "key"));
		int rc = c->repo ? hive_git_branch_exists(c->repo, b.data) : 0;
		char tip[HIVE_GIT_OID_HEXSZ + 1] = "";
		if (rc == 1)
			hive_buf_printf(list, "%s%s", (*n)++ ? ", " : "", b.data);
		if (rc == 1 && (hive_git_branch_commit(c->repo, b.data, tip) || !hive_json_str(k, "at") ||
				strcmp(tip, hive_json_str(k, "at")) != 0))
			hive_buf_printf(moved, "%s%s", moved->len ? ", " : "", b.data);
		hive_buf_dispose(&b);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* A flow name is free when no flow holds it, or the flow holding it has
 * ended and its result branches are gone (hive gc --branches), so a new
 * flow never moves another flow's result branch. */
static int flow_name_free(hive_store *s, const char *name)
{
	name_ctx c = {.name = name};
	int rc = hive_store_read(s, name_txn, &c), n = 0;
	hive_buf list = {0}, moved = {0};
	hive_flow_state st = hive_proj_flow_state(c.holder);
	if (!rc && c.holder && !hive_flow_state_ended(st))
		rc = hive_error_set(HIVE_ECONFLICT, "a flow named \"%s\" already exists and is %s; pick another name",
				    name, hive_flow_state_name(st));
	else if (!rc && c.holder && !(rc = remaining_branches(&c, &list, &n, &moved)) && n && !moved.len)
		rc = hive_error_set(HIVE_ECONFLICT, "flow name \"%s\" belongs to a flow that has ended, but its result "
				    "branches remain (%s); merge what you need, then run hive gc --branches to free the name",
				    name, list.data);
	else if (!rc && n)
		rc = hive_error_set(HIVE_ECONFLICT, "flow name \"%s\" belongs to a flow that has ended, but its result "
				    "branches remain (%s), and hive gc --branches never deletes one moved since hive left "
				    "it (%s): merge what you need, delete those with git branch -D, then run hive gc --branches",
				    name, list.data, moved.data);
	hive_buf_dispose(&list);
	hive_buf_dispose(&moved);
	json_decref(c.holder);
	free(c.repo);
	return rc;
}

/* s == NULL (a dry run without a store): only what needs no store. */
static int create_spec(hive_store *s, const json_t *spec, spec_ctx *c)
{
	const char *repo = json_string_value(json_object_get(json_object_get(spec, "project"), "repo"));
	int rc = valid_name("flow", json_string_value(json_object_get(spec, "name")));
	if (!rc && s)
		rc = flow_name_free(s, json_string_value(json_object_get(spec, "name")));
	if (!rc && repo && (rc = hive_git_repo_check(repo, &c->repo)) == HIVE_EINVALID) {
		/* name the field: the path is the spec's "repo" made absolute */
		char *why = hive_xstrdup(hive_error_last());
		hive_error_set(rc, "project.repo: %s (a relative \"repo\" is taken from the spec file's directory)", why);
		free(why);
	}
	if (rc || !s) {
		c->project_new = 1;
		return rc;
	}
	c->n_tasks = json_array_size(json_object_get(spec, "tasks"));
	c->task_ids = hive_xcalloc(c->n_tasks, sizeof *c->task_ids);
	hive_id_new(&c->project_id);
	hive_id_new(&c->flow_id);
	for (size_t i = 0; i < c->n_tasks; i++)
		hive_id_new(&c->task_ids[i]);
	rc = hive_store_write(s, spec_txn, c);
	if (c->dry_ok) {
		hive_error_clear();
		rc = 0;
	}
	free(c->task_ids);
	return rc;
}

int hive_flow_create_spec(hive_store *s, const json_t *spec, const hive_act_opts *who, hive_id *out)
{
	spec_ctx c = {.spec = spec};
	int rc = hive_steer_actor_begin(who ? who->actor : NULL);
	if (!rc)
		rc = create_spec(s, spec, &c);
	hive_emit_actor_end();
	free(c.repo);
	if (!rc && out)
		*out = c.flow_id;
	return rc;
}

int hive_flow_create_spec_check(hive_store *s, const json_t *spec, int *project_new)
{
	spec_ctx c = {.spec = spec, .dry = 1};
	int rc = create_spec(s, spec, &c);
	free(c.repo);
	*project_new = c.project_new;
	return rc;
}

typedef struct {
	const char *project_ref, *name;
	const char *const *refs;
	size_t n;
	hive_id flow_id;
} flow_tasks_ctx;

static int in_ids(const json_t *ids, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
		if (strcmp(json_string_value(v), id) == 0)
			return 1;
	return 0;
}

/* A dependency outside the flow must already have succeeded: nothing in
 * this flow would ever run it, and the dependant would wait forever. */
static int check_outside_deps(hive_txn *txn, const json_t *ids)
{
	size_t i, j;
	json_t *id, *d;
	int rc = 0;
	json_array_foreach(ids, i, id) {
		json_t *t = hive_proj_task(txn, json_string_value(id));
		json_array_foreach(json_object_get(t, "depends_on"), j, d) {
			if (rc || in_ids(ids, json_string_value(d)))
				continue;
			json_t *dep = hive_proj_task(txn, json_string_value(d));
			if (hive_proj_task_state(dep) != HIVE_TASK_SUCCESS) {
				hive_error_set(HIVE_EINVALID, "task %s depends on %s, which is not in this flow and has not succeeded",
					       json_string_value(json_object_get(t, "key")),
					       json_string_value(json_object_get(dep, "key")));
				rc = hive_error_hint_set(HIVE_HINT_ADD_TASK, json_string_value(json_object_get(dep, "key")));
			}
			json_decref(dep);
		}
		json_decref(t);
	}
	return rc;
}

/* SPEC section 12: a task that joins a new flow and has not succeeded
 * becomes pending there (from failed, escalated or aborted), keeping its
 * attempt numbers and retry context, with a fresh budget: recorded as a
 * task_retry_requested {reset_count, mode, reason} and the state change. */
static int rejoin(hive_txn *txn, const char *task_id, const char *flow_name)
{
	json_t *t = hive_proj_task(txn, task_id);
	hive_task_state st = hive_proj_task_state(t);
	int rc = 0;
	if (st == HIVE_TASK_FAILED || st == HIVE_TASK_ESCALATED || st == HIVE_TASK_ABORTED) {
		hive_buf why = {0};
		hive_buf_printf(&why, "joined flow %s", flow_name);
		rc = hive_emit_for_task(txn, t, HIVE_EV_TASK_RETRY_REQUESTED,
					hive_json_pack("{s:b,s:s,s:s}", "reset_count", 1, "mode",
						       hive_retry_policy_mode_name(hive_retry_policy_mode_of(t)),
						       "reason", why.data),
					NULL);
		if (!rc)
			rc = hive_emit_task_state(txn, t, HIVE_TASK_PENDING, why.data);
		hive_buf_dispose(&why);
	}
	json_decref(t);
	return rc;
}

static int flow_tasks_txn(hive_txn *txn, void *vctx)
{
	flow_tasks_ctx *c = vctx;
	hive_id project;
	int rc = hive_resolve(txn, HIVE_REF_PROJECT, c->project_ref, &project);
	if (rc)
		return rc;
	json_t *ids = json_array(), *keys = json_object();
	for (size_t i = 0; i < c->n && !rc; i++) {
		hive_id id;
		if ((rc = hive_resolve(txn, HIVE_REF_TASK, c->refs[i], &id)))
			break;
		json_t *t = hive_proj_task(txn, id.s);
		const char *key = json_string_value(json_object_get(t, "key"));
		if (strcmp(json_string_value(json_object_get(t, "project_id")), project.s) != 0)
			rc = hive_error_set(HIVE_EINVALID, "task %s belongs to another project", c->refs[i]);
		else if (json_object_get(keys, key)) {
			hive_error_set(HIVE_EINVALID, "two tasks with key \"%s\" in one flow", key);
			rc = hive_error_hint_set(HIVE_HINT_DISTINCT_KEYS, NULL);
		}
		json_object_set_new(keys, key, json_true());
		json_array_append_new(ids, json_string(id.s));
		json_decref(t);
	}
	json_decref(keys);
	if (!rc)
		rc = check_outside_deps(txn, ids);
	if (rc) {
		json_decref(ids);
		return rc;
	}
	rc = hive_emit_new(txn, HIVE_EV_FLOW_CREATED,
			   hive_json_pack("{s:s,s:O,s:{}}", "name", c->name, "task_ids", ids, "defaults"),
			   project.s, c->flow_id.s, NULL, NULL);
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id) {
		if (!rc)
			rc = rejoin(txn, json_string_value(id), c->name);
	}
	json_decref(ids);
	return rc;
}

static int flow_create_tasks(hive_store *s, const char *project_ref, const char *name,
			     const char *const *task_refs, size_t n, hive_id *out)
{
	flow_tasks_ctx c = {.project_ref = project_ref, .name = name, .refs = task_refs, .n = n};
	hive_id_new(&c.flow_id);
	char generated[64];
	if (!name) {
		snprintf(generated, sizeof generated, "flow-%.8s", c.flow_id.s + 28);
		c.name = generated;
	}
	int rc = valid_name("flow", c.name);
	if (!rc && n == 0) {
		hive_error_set(HIVE_EINVALID, "flow create: a flow needs at least one task");
		rc = hive_error_hint_set(HIVE_HINT_GIVE_TASK, NULL);
	}
	if (!rc)
		rc = flow_name_free(s, c.name);
	if (!rc)
		rc = hive_store_write(s, flow_tasks_txn, &c);
	if (!rc && out)
		*out = c.flow_id;
	return rc;
}

int hive_flow_create_tasks(hive_store *s, const char *project_ref, const char *name,
			   const char *const *task_refs, size_t n, const hive_act_opts *who, hive_id *out)
{
	int rc = hive_steer_actor_begin(who ? who->actor : NULL);
	if (!rc)
		rc = flow_create_tasks(s, project_ref, name, task_refs, n, out);
	hive_emit_actor_end();
	return rc;
}

/* ---- flow steering ------------------------------------------------------------ */

typedef struct {
	const char *ref, *reason;
	hive_event_type type;
	char base_commit[64];
	hive_kill_list kill;   /* running attempts' process groups (abort) */
	hive_id flow_id;
	char flow_name[128];
} steer_ctx;

static int load_flow(hive_txn *txn, const char *ref, hive_id *id, json_t **flow, hive_flow_state *st)
{
	int rc = hive_resolve(txn, HIVE_REF_FLOW, ref, id);
	if (rc)
		return rc;
	*flow = hive_proj_flow(txn, id->s);
	if (!*flow)
		return hive_error_set(HIVE_ESYSTEM, "flow %s has no projection; run hive events verify", id->s);
	*st = hive_proj_flow_state(*flow);
	return 0;
}

static int steer_txn(hive_txn *txn, void *vctx)
{
	steer_ctx *c = vctx;
	hive_id id;
	json_t *flow;
	hive_flow_state st = HIVE_FLOW_UNKNOWN;
	c->kill.n = 0; /* the transaction may run again after the map grew */
	int rc = load_flow(txn, c->ref, &id, &flow, &st);
	if (rc)
		return rc;
	c->flow_id = id;
	snprintf(c->flow_name, sizeof c->flow_name, "%s", json_string_value(json_object_get(flow, "name")));
	const char *project = json_string_value(json_object_get(flow, "project_id"));
	static const char *const verbs[] = {[HIVE_EV_FLOW_STARTED] = "start", [HIVE_EV_FLOW_PAUSED] = "pause",
		[HIVE_EV_FLOW_RESUMED] = "resume", [HIVE_EV_FLOW_ABORTED] = "abort"};
	int ok = (c->type == HIVE_EV_FLOW_STARTED && st == HIVE_FLOW_CREATED) ||
		 (c->type == HIVE_EV_FLOW_PAUSED && st == HIVE_FLOW_RUNNING) ||
		 (c->type == HIVE_EV_FLOW_RESUMED && st == HIVE_FLOW_PAUSED) ||
		 (c->type == HIVE_EV_FLOW_ABORTED && !hive_flow_state_ended(st));
	if (!ok) {
		rc = hive_error_set(HIVE_ECONFLICT, "flow %s is %s; cannot %s it",
				    json_string_value(json_object_get(flow, "name")), hive_flow_state_name(st),
				    verbs[c->type]);
		json_decref(flow);
		return rc;
	}
	json_t *payload = json_object();
	if (c->type == HIVE_EV_FLOW_STARTED)
		json_object_set_new(payload, "base_commit", json_string(c->base_commit));
	if (c->reason)
		json_object_set_new(payload, "reason", json_string(c->reason));
	if (c->type == HIVE_EV_FLOW_ABORTED)
		rc = hive_schedule_abort_tasks(txn, flow, c->reason ? c->reason : "flow aborted", &c->kill);
	if (!rc)
		rc = hive_emit_new(txn, c->type, payload, project, id.s, NULL, NULL);
	else
		json_decref(payload);
	if (!rc && (c->type == HIVE_EV_FLOW_STARTED || c->type == HIVE_EV_FLOW_RESUMED))
		rc = hive_schedule_pass(txn, id.s, NULL);
	json_decref(flow);
	return rc;
}

/* The base commit is read before the transaction (a git lookup). */
static int flow_base_commit(hive_store *s, const char *ref, char out[64]);

/* An aborted flow has ended: its worktrees go.  Not while a runner holds
 * the flow's lock (it may still be recording an attempt in a worktree):
 * that runner releases them after its tick.  A worktree git cannot remove
 * is left for hive gc; the abort stands either way. */
static void release_aborted(hive_store *s, const steer_ctx *c)
{
	int fd = -1;
	if (hive_lock_acquire(s, c->flow_id.s, c->flow_name, "abort", &fd) == 0)
		hive_lifecycle_release(s, c->flow_id.s, NULL, 0, NULL);
	hive_lock_release(fd);
	hive_error_clear();
}

static int steer_as(hive_store *s, const char *ref, hive_event_type type, const char *reason)
{
	steer_ctx c = {.ref = ref, .reason = reason, .type = type};
	if (type == HIVE_EV_FLOW_STARTED) {
		int rc = flow_base_commit(s, ref, c.base_commit);
		if (rc)
			return rc;
	}
	int rc = hive_store_write(s, steer_txn, &c);
	if (!rc)
		hive_kill_list_run(&c.kill); /* after the commit: the attempts are recorded aborted */
	hive_kill_list_dispose(&c.kill);
	if (!rc && type == HIVE_EV_FLOW_ABORTED)
		release_aborted(s, &c);
	return rc;
}

/* A person's flow command: every event it appends carries the actor. */
static int steer(hive_store *s, const char *ref, hive_event_type type, const hive_act_opts *who)
{
	const char *actor = who ? who->actor : NULL;
	int rc = hive_steer_actor_check(actor);
	if (rc)
		return rc;
	hive_emit_actor_begin(actor);
	rc = steer_as(s, ref, type, type == HIVE_EV_FLOW_ABORTED && who ? who->reason : NULL);
	hive_emit_actor_end();
	return rc;
}

typedef struct {
	const char *ref;
	char *repo;
} repo_ctx;

static int repo_txn(hive_txn *txn, void *vctx)
{
	repo_ctx *c = vctx;
	hive_id id;
	json_t *flow;
	hive_flow_state st = HIVE_FLOW_UNKNOWN;
	int rc = load_flow(txn, c->ref, &id, &flow, &st);
	if (rc)
		return rc;
	json_t *p = hive_proj_project(txn, json_string_value(json_object_get(flow, "project_id")));
	const char *repo = json_string_value(json_object_get(p, "repo"));
	c->repo = repo ? hive_xstrdup(repo) : NULL;
	json_decref(p);
	json_decref(flow);
	return c->repo ? 0 : hive_error_set(HIVE_ENOTFOUND, "flow %s: its project has no repo", c->ref);
}

static int flow_base_commit(hive_store *s, const char *ref, char out[64])
{
	repo_ctx c = {.ref = ref};
	int rc = hive_store_read(s, repo_txn, &c);
	if (!rc)
		rc = hive_git_head(c.repo, out);
	free(c.repo);
	return rc;
}

int hive_flow_start(hive_store *s, const char *ref, const hive_act_opts *who)
{
	return steer(s, ref, HIVE_EV_FLOW_STARTED, who);
}

int hive_flow_pause(hive_store *s, const char *ref, const hive_act_opts *who)
{
	return steer(s, ref, HIVE_EV_FLOW_PAUSED, who);
}

int hive_flow_resume(hive_store *s, const char *ref, const hive_act_opts *who)
{
	return steer(s, ref, HIVE_EV_FLOW_RESUMED, who);
}

int hive_flow_abort(hive_store *s, const char *ref, const hive_act_opts *who)
{
	return steer(s, ref, HIVE_EV_FLOW_ABORTED, who);
}
