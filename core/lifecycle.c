/*
 * lifecycle.c - worktrees released when tasks succeed and flows end, and
 * `hive gc` (core/lifecycle.h, docs/lifecycle.md).
 *
 * Each call reads what to remove in one read transaction, removes it with
 * git / the file system outside any transaction, and records what is gone
 * in one write transaction.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/datadir.h"
#include "core/emit.h"
#include "core/gitws.h"
#include "core/hive.h"
#include "core/lifecycle.h"
#include "core/lock.h"
#include "core/projection.h"
#include "core/state.h"
#include "core/steer.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/fs.h"
#include "events/json.h"
#include "events/strv.h"

/* One thing to remove, and then the event saying it is gone. */
typedef struct {
	char task_id[HIVE_ID_LEN + 1];
	char *path;       /* worktree or attempt dir; NULL for a branch */
	char *branch;
	const char *reason;
	int is_attempt;   /* an attempt dir (no event of its own) */
	int is_spare;     /* a spare worktree (docs/lifecycle.md): spare_removed */
	int may_park;     /* a succeeded task's worktree: kept as a spare while there is room */
	char *parked;     /* the spare path it was kept as (it was, not removed) */
	int done;
	char commit[HIVE_GIT_OID_HEXSZ + 1]; /* a deleted branch's commit; a moved one's tip */
	char expect[HIVE_GIT_OID_HEXSZ + 1]; /* a branch: where hive left it */
	int moved;        /* a branch someone moved since: kept, reported by gc */
	uint64_t bytes;
} lc_item;

typedef struct {
	const hive_store *s;
	const char *flow_id;
	int gc, branches;       /* gc: every worktree, attempt dirs, and branches if asked */
	int owns_name;          /* gc: the name index names this flow: the result branches are its */
	const char *const *only; /* while the flow runs: look only at these tasks (NULL = all) */
	size_t n_only;
	int max_spares;         /* while the flow runs: keep up to this many spares */
	int ended;              /* the flow has ended (or gc): its spares go too */
	char project_id[HIVE_ID_LEN + 1];
	char name[128];
	char *repo;
	lc_item *items;
	size_t n, cap;
} lc_flow;

static void lc_flow_dispose(lc_flow *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->items[i].path);
		free(f->items[i].branch);
		free(f->items[i].parked);
	}
	free(f->items);
	free(f->repo);
	memset(f, 0, sizeof *f);
}

static lc_item *lc_add(lc_flow *f, const char *task_id, char *path, char *branch, const char *reason)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->items = hive_xrealloc(f->items, f->cap * sizeof *f->items);
	}
	lc_item *it = &f->items[f->n++];
	memset(it, 0, sizeof *it);
	snprintf(it->task_id, sizeof it->task_id, "%s", task_id);
	it->path = path;
	it->branch = branch;
	it->reason = reason;
	return it;
}

static int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* ---- disk usage ------------------------------------------------------------ */

static _Thread_local uint64_t du_sum;

static int du_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)path;
	(void)flag;
	(void)ftw;
	du_sum += (uint64_t)sb->st_blocks * 512u;
	return 0;
}

/* The disk space under path (allocated blocks, symlinks not followed). */
static uint64_t disk_usage(const char *path)
{
	du_sum = 0;
	nftw(path, du_cb, 32, FTW_PHYS);
	return du_sum;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT ? -1 : 0;
}

/* ---- what to remove (one read transaction) ----------------------------------- */

static const char *end_reason(hive_flow_state st)
{
	return st == HIVE_FLOW_COMPLETED ? "flow_completed" : "flow_aborted";
}

/* The attempt dirs of this flow's attempts of task t. */
static void add_attempt_dirs(hive_txn *txn, lc_flow *f, const json_t *t)
{
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(t, "attempt_ids"), i, a) {
		json_t *doc = hive_proj_attempt(txn, json_string_value(a));
		const char *fid = hive_json_str(doc, "flow_id");
		if (fid && strcmp(fid, f->flow_id) == 0) {
			char *dir = hive_attempt_dir(f->s, json_string_value(a));
			if (is_dir(dir))
				lc_add(f, hive_json_str(t, "id"), dir, NULL, "gc")->is_attempt = 1;
			else
				free(dir);
		}
		json_decref(doc);
	}
}

/* where hive left the branch: the result, else the last attempt's commit,
 * else the base (a task that never committed) */
const char *hive_lifecycle_branch_commit(const json_t *task)
{
	static const char *const keys[] = {"result_commit", "last_commit", "base_commit"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		if (hive_json_str(task, keys[i]))
			return hive_json_str(task, keys[i]);
	return NULL;
}

static void add_task(hive_txn *txn, lc_flow *f, const json_t *t, hive_flow_state fst)
{
	const char *key = hive_json_str(t, "key"), *id = hive_json_str(t, "id");
	const char *reason = f->gc ? "gc" : hive_flow_state_ended(fst) ? end_reason(fst)
			   : hive_proj_task_state(t) == HIVE_TASK_SUCCESS ? "task_succeeded" : NULL;
	if (!reason || !key || !id)
		return;
	hive_buf branch = {0};
	hive_buf_printf(&branch, "hive/%s/%s", f->name, key);
	char *wt = hive_worktree_dir(f->s, f->name, key);
	if (is_dir(wt))
		lc_add(f, id, wt, hive_xstrdup(branch.data), reason)->may_park = strcmp(reason, "task_succeeded") == 0;
	else
		free(wt);
	const char *at = hive_lifecycle_branch_commit(t);
	if (f->gc && f->branches && f->owns_name && at)
		snprintf(lc_add(f, id, NULL, hive_xstrdup(branch.data), reason)->expect, sizeof(((lc_item *)0)->expect),
			 "%s", at);
	hive_buf_dispose(&branch);
	if (f->gc)
		add_attempt_dirs(txn, f, t);
}

char *hive_lifecycle_spares_dir(const hive_store *s, const char *flow_id)
{
	hive_buf b = {0};
	hive_buf_printf(&b, "%s/spares/%s", hive_store_dir(s), flow_id);
	return hive_buf_detach(&b);
}

/* The names in the flow's spares dir, sorted (an empty vector when none). */
static char **spare_names(const hive_store *s, const char *flow_id, char **dir_out)
{
	char *dir = hive_lifecycle_spares_dir(s, flow_id);
	hive_strv names = {0};
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			hive_strv_push(&names, e->d_name);
	if (d)
		closedir(d);
	if (!names.v)
		names.v = hive_xcalloc(1, sizeof *names.v);
	else
		qsort(names.v, names.n, sizeof *names.v, strcmp_p);
	*dir_out = dir;
	return names.v;
}

static const char *end_reason_gc(const lc_flow *f, hive_flow_state fst)
{
	return f->gc ? "gc" : end_reason(fst);
}

/* Every spare of an ended flow goes, whatever state a crash left it in. */
static void add_spares(lc_flow *f, const char *reason)
{
	char *dir;
	char **names = spare_names(f->s, f->flow_id, &dir);
	for (size_t i = 0; names[i]; i++)
		lc_add(f, "", hive_fs_join(dir, names[i]), NULL, reason)->is_spare = 1;
	hive_strv_free(names);
	free(dir);
}

static int plan_txn(hive_txn *txn, void *vctx)
{
	lc_flow *f = vctx;
	json_t *flow = hive_proj_flow_head(txn, f->flow_id), *id; /* task_ids below, only when needed */
	if (!flow)
		return hive_error_set(HIVE_ENOTFOUND, "flow %s has no projection; run hive events verify", f->flow_id);
	hive_flow_state fst = hive_proj_flow_state(flow);
	json_t *p = hive_proj_project(txn, hive_json_str(flow, "project_id"));
	snprintf(f->project_id, sizeof f->project_id, "%s", hive_json_str(flow, "project_id") ? hive_json_str(flow, "project_id") : "");
	snprintf(f->name, sizeof f->name, "%s", hive_json_str(flow, "name") ? hive_json_str(flow, "name") : "");
	free(f->repo);
	f->repo = hive_json_str(p, "repo") ? hive_xstrdup(hive_json_str(p, "repo")) : NULL;
	json_t *holder = hive_proj_get(txn, "name/flow/%s", f->name);
	f->owns_name = hive_json_str(holder, "id") && strcmp(hive_json_str(holder, "id"), f->flow_id) == 0;
	json_decref(holder);
	size_t i;
	if (f->repo && !f->gc && !hive_flow_state_ended(fst) && f->only) {
		for (i = 0; i < f->n_only; i++) {
			json_t *t = hive_proj_task(txn, f->only[i]);
			const char *tf = hive_json_str(t, "flow_id");
			if (tf && strcmp(tf, f->flow_id) == 0)
				add_task(txn, f, t, fst);
			json_decref(t);
		}
	} else if (f->repo && (f->gc ? hive_flow_state_ended(fst) : 1)) {
		json_t *ids = hive_proj_flow_task_ids(txn, f->flow_id);
		json_array_foreach(ids, i, id) {
			json_t *t = hive_proj_task(txn, json_string_value(id));
			if (t)
				add_task(txn, f, t, fst);
			json_decref(t);
		}
		json_decref(ids);
		/* `hive flow land`'s branch (core/land.c): no task's, and only
		 * when this flow landed */
		const char *landed_at = hive_json_str(json_object_get(flow, "landed"), "commit");
		if (f->gc && f->branches && f->owns_name && landed_at) {
			hive_buf landed = {0};
			hive_buf_printf(&landed, "hive/%s/landed", f->name);
			snprintf(lc_add(f, "", NULL, hive_buf_detach(&landed), "gc")->expect, sizeof(((lc_item *)0)->expect),
				 "%s", landed_at);
		}
	}
	f->ended = f->repo && hive_flow_state_ended(fst);
	if (f->ended)
		add_spares(f, end_reason_gc(f, fst));
	json_decref(p);
	json_decref(flow);
	return 0;
}

/* ---- removing (no transaction) ---------------------------------------------- */

/* Keep a succeeded task's worktree as a spare in the first free slot
 * ("0", "1", ...) while the flow has fewer than max_spares; 1 when kept.
 * A worktree that cannot be parked is removed as before. */
static int park(lc_flow *f, lc_item *it, int *n_spares)
{
	if (!it->may_park || *n_spares >= f->max_spares)
		return 0;
	char *dir;
	char **names = spare_names(f->s, f->flow_id, &dir);
	hive_buf slot = {0};
	for (int k = 0; !slot.len; k++) {
		hive_buf_printf(&slot, "%d", k);
		for (size_t i = 0; names[i] && slot.len; i++)
			if (strcmp(names[i], slot.data) == 0)
				hive_buf_reset(&slot);
	}
	char *spare = hive_fs_join(dir, slot.data);
	int rc = hive_datadir_mkdirs(hive_store_dir(f->s), "spares");
	if (!rc) {
		char *rel = hive_fs_join("spares", f->flow_id);
		rc = hive_datadir_mkdirs(hive_store_dir(f->s), rel);
		free(rel);
	}
	if (!rc)
		rc = hive_git_worktree_park(f->repo, it->path, spare);
	if (!rc) {
		it->parked = spare;
		(*n_spares)++;
	} else {
		free(spare);
		hive_error_clear();
	}
	hive_buf_dispose(&slot);
	hive_strv_free(names);
	free(dir);
	return rc == 0;
}

static int count_spares(const lc_flow *f)
{
	char *dir;
	char **names = spare_names(f->s, f->flow_id, &dir);
	int n = 0;
	while (names[n])
		n++;
	hive_strv_free(names);
	free(dir);
	return n;
}

/* Remove every item; the first error is kept in *first (message set). */
static void remove_items(lc_flow *f, int *first)
{
	int n_spares = f->max_spares > 0 ? count_spares(f) : 0;
	for (size_t i = 0; i < f->n; i++) {
		lc_item *it = &f->items[i];
		int rc = 0;
		if (it->path && f->gc)
			it->bytes = disk_usage(it->path);
		if (it->is_attempt)
			rc = nftw(it->path, rm_cb, 32, FTW_DEPTH | FTW_PHYS) == 0 ? 0
			     : hive_error_set(HIVE_ESYSTEM, "cannot remove %s: %s", it->path, strerror(errno));
		else if (it->is_spare)
			rc = hive_git_spare_discard(f->repo, it->path);
		else if (it->path && park(f, it, &n_spares))
			rc = 0;
		else if (it->path && hive_git_worktree_drop_debris(it->path))
			rc = 0; /* a crash left a directory git cannot open: hive's own, deleted */
		else if (it->path)
			rc = hive_git_worktree_remove(f->repo, it->path);
		else
			rc = hive_git_branch_delete_at(f->repo, it->branch, it->expect, it->commit, &it->moved);
		if (rc == HIVE_ENOTFOUND && !it->path) /* already gone: nothing to record */
			continue;
		it->done = rc == 0 && !it->moved;
		if (rc && !*first)
			*first = rc;
	}
	/* entries a crash left pointing at nothing (docs/lifecycle.md) */
	if (f->ended && f->repo && hive_git_worktree_prune_dead(f->repo, NULL) && !*first)
		*first = hive_error_last_code();
}

/* ---- recording (one write transaction) ---------------------------------------- */

static int record_item(hive_txn *txn, const lc_flow *f, const lc_item *it)
{
	json_t *pl;
	hive_event_type type = HIVE_EV_WORKTREE_RELEASED;
	if (it->is_spare) {
		pl = hive_json_pack("{s:s,s:s}", "path", it->path, "reason", it->reason);
		if (pl && f->gc)
			json_object_set_new(pl, "bytes", json_integer((json_int_t)it->bytes));
		return hive_emit_new(txn, HIVE_EV_SPARE_REMOVED, pl, f->project_id, f->flow_id, NULL, NULL);
	} else if (it->path) {
		pl = hive_json_pack("{s:s,s:s,s:s}", "path", it->path, "branch", it->branch, "reason", it->reason);
		if (pl && f->gc)
			json_object_set_new(pl, "bytes", json_integer((json_int_t)it->bytes));
		if (pl && it->parked)
			json_object_set_new(pl, "spare", json_string(it->parked));
	} else {
		type = HIVE_EV_BRANCH_DELETED;
		pl = hive_json_pack("{s:s,s:s,s:s}", "branch", it->branch, "commit", it->commit, "reason", it->reason);
	}
	return hive_emit_new(txn, type, pl, f->project_id, f->flow_id, it->task_id, NULL);
}

static int record_txn(hive_txn *txn, void *vctx)
{
	lc_flow *f = vctx;
	int worktrees = 0, dirs = 0, branches = 0, rc = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < f->n && !rc; i++) {
		const lc_item *it = &f->items[i];
		if (!it->done)
			continue;
		bytes += it->bytes;
		if (it->is_attempt)
			dirs++;
		else if (it->path)
			worktrees++;
		else
			branches++;
		if (!it->is_attempt)
			rc = record_item(txn, f, it);
	}
	if (!rc && f->gc && worktrees + dirs + branches > 0)
		rc = hive_emit_new(txn, HIVE_EV_FLOW_COLLECTED,
				   hive_json_pack("{s:i,s:i,s:i,s:I}", "worktrees", worktrees, "attempt_dirs", dirs,
						  "branches", branches, "bytes", (json_int_t)bytes),
				   f->project_id, f->flow_id, NULL, NULL);
	return rc;
}

static int any_done(const lc_flow *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->items[i].done)
			return 1;
	return 0;
}

/* Plan, remove, record for one flow. */
static int collect_flow(lc_flow *f)
{
	int rc = hive_store_read((hive_store *)f->s, plan_txn, f), first = 0;
	if (rc || f->n == 0)
		return rc;
	remove_items(f, &first);
	char *err = first ? hive_xstrdup(hive_error_last()) : NULL;
	if (any_done(f))
		rc = hive_store_write((hive_store *)f->s, record_txn, f);
	if (!rc && first)
		rc = hive_error_set(first, "%s", err);
	free(err);
	return rc;
}

int hive_lifecycle_release(hive_store *s, const char *flow_id, const char *const *task_ids, size_t n,
			   int *released_out)
{
	return hive_lifecycle_release_keep(s, flow_id, task_ids, n, 0, released_out);
}

int hive_lifecycle_release_keep(hive_store *s, const char *flow_id, const char *const *task_ids, size_t n,
				int max_spares, int *released_out)
{
	lc_flow f = {.s = s, .flow_id = flow_id, .only = task_ids, .n_only = n, .max_spares = max_spares};
	int rc = collect_flow(&f);
	if (released_out) {
		*released_out = 0;
		for (size_t i = 0; i < f.n; i++)
			*released_out += f.items[i].done && !f.items[i].is_spare;
	}
	lc_flow_dispose(&f);
	return rc;
}

/* ---- gc ------------------------------------------------------------------------- */

/* The ids of the ended flows whose name no live flow holds. */
static int ended_flows(const char *key, size_t klen, hive_slice val, void *vctx)
{
	(void)key;
	(void)klen;
	json_t *d = json_loadb(val.data, val.len, 0, NULL);
	if (d)
		json_array_append_new(vctx, d);
	return 0;
}

static int gc_plan_txn(hive_txn *txn, void *vctx)
{
	json_t *out = vctx, *all = json_array(), *f, *g;
	int rc = hive_txn_scan_prefix(txn, "flow/", ended_flows, all);
	size_t i, j;
	json_array_foreach(all, i, f) {
		if (!hive_flow_state_ended(hive_proj_flow_state(f)) || !hive_json_str(f, "id"))
			continue;
		int shadowed = 0;
		json_array_foreach(all, j, g)
			shadowed |= !hive_flow_state_ended(hive_proj_flow_state(g)) &&
				    hive_json_str(g, "name") && hive_json_str(f, "name") &&
				    strcmp(hive_json_str(g, "name"), hive_json_str(f, "name")) == 0;
		if (!shadowed)
			json_array_append_new(out, json_string(hive_json_str(f, "id")));
	}
	json_decref(all);
	return rc;
}

static int gc_as(hive_store *s, int branches, hive_gc_result *out)
{
	json_t *ids = json_array(), *id;
	int rc = hive_store_read(s, gc_plan_txn, ids), first = 0;
	char *first_msg = NULL;
	hive_strv skipped = {0};
	size_t i;
	json_array_foreach(ids, i, id) {
		if (rc)
			break;
		lc_flow f = {.s = s, .flow_id = json_string_value(id), .gc = 1, .branches = branches};
		/* A runner may still be recording an attempt in an aborted flow's
		 * worktree (its checkpoint stages deletions): as release_aborted in
		 * manage.c does, never collect a flow whose lock is held; the
		 * refusal is reported and the other flows are collected. */
		int lock_fd = -1;
		int frc = hive_lock_acquire(s, f.flow_id, f.flow_id, "gc", &lock_fd);
		if (!frc)
			frc = collect_flow(&f);
		hive_lock_release(lock_fd);
		int any = 0;
		for (size_t k = 0; k < f.n; k++) {
			const lc_item *it = &f.items[k];
			if (it->moved) {
				hive_buf b = {0};
				hive_buf_printf(&b, "%s moved since hive left it (now at %s): not deleted", it->branch,
						it->commit);
				hive_strv_push(&skipped, b.data);
				hive_buf_dispose(&b);
			}
			if (!it->done)
				continue;
			any = 1;
			out->bytes += it->bytes;
			if (it->is_attempt)
				out->attempt_dirs++;
			else if (it->path)
				out->worktrees++;
			else
				out->branches++;
		}
		out->flows += any;
		lc_flow_dispose(&f);
		if (frc && frc != HIVE_ESYSTEM && frc != HIVE_ECONFLICT && frc != HIVE_ENOTFOUND)
			rc = frc; /* storage: stop */
		else if (frc && !first) {
			first = frc;
			first_msg = hive_xstrdup(hive_error_last());
		}
	}
	json_decref(ids);
	out->skipped = skipped.v;
	if (!rc && first)
		rc = hive_error_set(first, "%s", first_msg);
	free(first_msg);
	return rc;
}

void hive_gc_result_dispose(hive_gc_result *r)
{
	if (!r)
		return;
	hive_strv_free(r->skipped);
	r->skipped = NULL;
}

int hive_gc(hive_store *s, int branches, const hive_act_opts *who, hive_gc_result *out)
{
	memset(out, 0, sizeof *out);
	int rc = hive_steer_actor_begin(who ? who->actor : NULL);
	if (!rc)
		rc = gc_as(s, branches, out);
	hive_emit_actor_end();
	return rc;
}

/* ---- adopting a spare ------------------------------------------------------------ */

int hive_lifecycle_adopt(const hive_store *s, const char *flow_id, const char *repo, const char *worktree_path,
			 const char *branch, const char *commit, char **spare_out, char **error_out)
{
	char *dir;
	char **names = spare_names(s, flow_id, &dir);
	int adopted = 0;
	*spare_out = *error_out = NULL;
	if (names[0]) {
		char *spare = hive_fs_join(dir, names[0]);
		if (hive_git_worktree_adopt(repo, spare, worktree_path, branch, commit) == 0) {
			*spare_out = spare;
			adopted = 1;
		} else {
			*error_out = hive_xstrdup(hive_error_last());
			/* whatever the failure left, it is not a spare any more */
			hive_git_spare_discard(repo, spare);
			*spare_out = spare;
		}
		hive_error_clear();
	}
	hive_strv_free(names);
	free(dir);
	return adopted;
}
