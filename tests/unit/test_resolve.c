/*
 * test_resolve.c - turning what a user typed into an id (hive_resolve,
 * SPEC sections 1 and 12).
 *
 * What it protects: full ids, unique prefixes of at least 4 characters,
 * project and flow names, FLOW/KEY and bare task keys all resolve to the
 * right object; an ambiguous prefix or key is refused with a message that
 * lists the candidates the way a user can type them; shorter prefixes and
 * unknown references are "not found" with a hint; and a name never
 * shadows an id.  An attempt is also TASK#N (FLOW/KEY#N): the task's
 * attempt number N.  Ids are displayed as the shortest prefix of at
 * least 13 characters no other id of the kind shares, and that prefix
 * resolves back to the id.
 *
 * The objects live in a real store; their ids are chosen to share
 * prefixes.
 */
#include "engine.h"

#include "core/resolve.h"

#define PA "b1a00000-0000-7000-8000-000000000001" /* project "proj" (PROJ_ID is b0...1, the events' project) */
#define F1 "c1a00000-0000-7000-8000-000000000001" /* flow alpha */
#define F2 "c1a0b000-0000-7000-8000-000000000002" /* flow beta */
#define T1 "d1a00000-0000-7000-8000-000000000001" /* alpha/build */
#define T2 "d1a0b000-0000-7000-8000-000000000002" /* beta/build */
#define T3 "d2000000-0000-7000-8000-000000000003" /* alpha/lint */
#define T4 "d3000000-0000-7000-8000-000000000004" /* build, in no flow */
#define T5 "d4000000-0000-7000-8000-000000000005" /* solo, in no flow */
#define A1 "a1a00000-0000-7000-8000-000000000001"
#define A2 "a1a0c000-0000-7000-8000-000000000002"

static void build(eng *e)
{
	eng_project(e, "p"); /* PROJ_ID */
	json_t *p = json_pack("{s:s,s:s,s:s}", "name", "proj", "repo", "/r", "description", "");
	eng_ev x = {HIVE_EV_PROJECT_CREATED, PA, NULL, NULL, NULL, p};
	assert_int_equal(hive_store_write(e->s, eng_emit_fn, &x), 0);
	json_decref(p);
	eng_task(e, T1, "build", NULL, NULL);
	eng_task(e, T2, "build", NULL, NULL);
	eng_task(e, T3, "lint", NULL, NULL);
	eng_task(e, T4, "build", NULL, NULL);
	eng_task(e, T5, "solo", NULL, NULL);
	const char *alpha[] = {T1, T3, NULL}, *beta[] = {T2, NULL};
	eng_flow(e, F1, "alpha", alpha, NULL);
	eng_flow(e, F2, "beta", beta, NULL);
	eng_flow_start(e, F1);
	eng_move(e, F1, T1, "ready", "running", (const char *)NULL);
	eng_attempt(e, F1, T1, A1, 1);
	eng_emits(e, HIVE_EV_ATTEMPT_COMPLETED, F1, T1, A1, "{\"outcome\":\"crashed\",\"attempt_number\":1}");
	eng_attempt(e, F1, T1, A2, 2);
}

typedef struct {
	hive_ref_kind kind;
	const char *ref;
	int rc;
	const char *want; /* the id on success, else a piece of the message */
} row;

static const row rows[] = {
	/* projects: name, full id, unique prefix */
	{HIVE_REF_PROJECT, "proj", 0, PA},
	{HIVE_REF_PROJECT, "p", 0, PROJ_ID},
	{HIVE_REF_PROJECT, PA, 0, PA},
	{HIVE_REF_PROJECT, "b1a0", 0, PA},
	{HIVE_REF_PROJECT, "nope", HIVE_ENOTFOUND, "no project matches \"nope\"; see hive project list"},
	/* flows: name, full id, unique prefix, ambiguous prefix, too short */
	{HIVE_REF_FLOW, "alpha", 0, F1},
	{HIVE_REF_FLOW, "beta", 0, F2},
	{HIVE_REF_FLOW, F1, 0, F1},
	{HIVE_REF_FLOW, F2, 0, F2},
	{HIVE_REF_FLOW, "c1a00", 0, F1},
	{HIVE_REF_FLOW, "c1a0b", 0, F2},
	{HIVE_REF_FLOW, "c1a0", HIVE_EAMBIGUOUS, "flow \"c1a0\" is ambiguous: " F1 ", " F2 "; give more characters"},
	{HIVE_REF_FLOW, "c1a", HIVE_ENOTFOUND, "no flow matches \"c1a\""},
	{HIVE_REF_FLOW, "gamma", HIVE_ENOTFOUND, "no flow matches \"gamma\"; see hive flow list"},
	{HIVE_REF_FLOW, F1 "0", HIVE_ENOTFOUND, "no flow matches"},
	{HIVE_REF_FLOW, "", HIVE_EINVALID, "empty flow reference"},
	/* tasks: FLOW/KEY, bare key, ids, prefixes */
	{HIVE_REF_TASK, "alpha/build", 0, T1},
	{HIVE_REF_TASK, "beta/build", 0, T2},
	{HIVE_REF_TASK, "alpha/lint", 0, T3},
	{HIVE_REF_TASK, F1 "/lint", 0, T3},
	{HIVE_REF_TASK, "c1a00/build", 0, T1},
	{HIVE_REF_TASK, "lint", 0, T3},
	{HIVE_REF_TASK, "solo", 0, T5},
	{HIVE_REF_TASK, "build", HIVE_EAMBIGUOUS, "task key \"build\" is ambiguous: "},
	{HIVE_REF_TASK, "build", HIVE_EAMBIGUOUS, "alpha/build"},
	{HIVE_REF_TASK, "build", HIVE_EAMBIGUOUS, "beta/build"},
	{HIVE_REF_TASK, "build", HIVE_EAMBIGUOUS, T4 " (in no flow); give FLOW/KEY or an id"},
	{HIVE_REF_TASK, "c1a0/build", HIVE_EAMBIGUOUS, "flow \"c1a0\" is ambiguous"},
	{HIVE_REF_TASK, "alpha/solo", HIVE_ENOTFOUND, "no task matches \"alpha/solo\""},
	{HIVE_REF_TASK, "gamma/build", HIVE_ENOTFOUND, "no task matches \"gamma/build\""},
	{HIVE_REF_TASK, T4, 0, T4},
	{HIVE_REF_TASK, "d1a00", 0, T1},
	{HIVE_REF_TASK, "d1a0", HIVE_EAMBIGUOUS, "task \"d1a0\" is ambiguous: " T1 ", " T2},
	{HIVE_REF_TASK, "d2", HIVE_ENOTFOUND, "no task matches \"d2\""},
	/* attempts: full id and prefixes */
	{HIVE_REF_ATTEMPT, A1, 0, A1},
	{HIVE_REF_ATTEMPT, "a1a0c", 0, A2},
	{HIVE_REF_ATTEMPT, "a1a00", 0, A1},
	{HIVE_REF_ATTEMPT, "a1a0", HIVE_EAMBIGUOUS, "attempt \"a1a0\" is ambiguous: " A1 ", " A2},
	{HIVE_REF_ATTEMPT, "ffff", HIVE_ENOTFOUND, "no attempt matches \"ffff\"; see hive attempt list"},
	/* a kind only resolves its own kind's ids */
	{HIVE_REF_ATTEMPT, F1, HIVE_ENOTFOUND, "no attempt matches"},
	/* attempts by task and number (SPEC section 12) */
	{HIVE_REF_ATTEMPT, "alpha/build#1", 0, A1},
	{HIVE_REF_ATTEMPT, "alpha/build#2", 0, A2},
	{HIVE_REF_ATTEMPT, "c1a00/build#2", 0, A2},
	{HIVE_REF_ATTEMPT, T1 "#1", 0, A1},
	{HIVE_REF_ATTEMPT, "alpha/build#3", HIVE_ENOTFOUND, "no attempt matches \"alpha/build#3\": the task has 2 attempts"},
	{HIVE_REF_ATTEMPT, "beta/build#1", HIVE_ENOTFOUND, "the task has 0 attempts"},
	{HIVE_REF_ATTEMPT, "alpha/build#0", HIVE_EINVALID, "after '#' give the attempt number"},
	{HIVE_REF_ATTEMPT, "alpha/build#", HIVE_EINVALID, "after '#' give the attempt number"},
	{HIVE_REF_ATTEMPT, "alpha/build#1x", HIVE_EINVALID, "after '#' give the attempt number"},
	{HIVE_REF_ATTEMPT, "alpha/build#-1", HIVE_EINVALID, "after '#' give the attempt number"},
	{HIVE_REF_ATTEMPT, "build#1", HIVE_EAMBIGUOUS, "task key \"build\" is ambiguous"},
	{HIVE_REF_ATTEMPT, "gamma/build#1", HIVE_ENOTFOUND, "no task matches \"gamma/build\""},
	{HIVE_REF_FLOW, T1, HIVE_ENOTFOUND, "no flow matches"},
};

typedef struct {
	const row *r;
	hive_id id;
	int rc;
	char msg[1024];
} res_ctx;

static int res_fn(hive_txn *txn, void *vctx)
{
	res_ctx *c = vctx;
	memset(&c->id, 0, sizeof c->id);
	c->rc = hive_resolve(txn, c->r->kind, c->r->ref, &c->id);
	snprintf(c->msg, sizeof c->msg, "%s", c->rc ? hive_error_last() : "");
	return 0;
}

static void resolve_row(eng *e, const row *r)
{
	res_ctx c = {.r = r};
	assert_int_equal(hive_store_read(e->s, res_fn, &c), 0);
	if (c.rc != r->rc)
		fail_msg("%s \"%s\": rc %d, expected %d (%s)", hive_ref_kind_name(r->kind), r->ref, c.rc, r->rc, c.msg);
	if (r->rc == 0 && strcmp(c.id.s, r->want) != 0)
		fail_msg("%s \"%s\" resolved to %s, expected %s", hive_ref_kind_name(r->kind), r->ref, c.id.s, r->want);
	if (r->rc != 0 && !strstr(c.msg, r->want))
		fail_msg("%s \"%s\": message \"%s\" lacks \"%s\"", hive_ref_kind_name(r->kind), r->ref, c.msg, r->want);
}

static void test_table(void **state)
{
	eng *e = *state;
	build(e);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		resolve_row(e, &rows[i]);
}

/* A store written before names that look like ids were refused may hold a
 * flow named with another flow's full id: the id still wins (SPEC 12). */
static void test_exact_id_before_name(void **state)
{
	eng *e = *state;
	build(e);
	const char *f3 = "c3000000-0000-7000-8000-000000000003";
	const char *none[] = {NULL};
	eng_flow(e, f3, F1, none, NULL); /* hive_apply does not judge names */
	static const row after[] = {
		{HIVE_REF_FLOW, F1, 0, F1},
		{HIVE_REF_FLOW, "alpha", 0, F1},
		{HIVE_REF_FLOW, "c300", 0, "c3000000-0000-7000-8000-000000000003"},
	};
	for (size_t i = 0; i < sizeof after / sizeof after[0]; i++)
		resolve_row(e, &after[i]);
	/* the same for a project named with another project's id */
	json_t *p = json_pack("{s:s,s:s,s:s}", "name", PA, "repo", "/r", "description", "");
	eng_ev x = {HIVE_EV_PROJECT_CREATED, "b2000000-0000-7000-8000-000000000002", NULL, NULL, NULL, p};
	assert_int_equal(hive_store_write(e->s, eng_emit_fn, &x), 0);
	json_decref(p);
	static const row proj = {HIVE_REF_PROJECT, PA, 0, PA};
	resolve_row(e, &proj);
}

typedef struct {
	hive_ref_kind kind;
	const char *id;
	char out[HIVE_ID_LEN + 1];
} display_ctx;

static int display_fn(hive_txn *txn, void *vctx)
{
	display_ctx *c = vctx;
	hive_resolve_display(txn, c->kind, c->id, c->out);
	return 0;
}

/* The displayed prefix is the shortest unique one of at least 13
 * characters, and resolves back to the same id. */
static void test_display_prefix(void **state)
{
	eng *e = *state;
	build(e);
	/* A3 shares its first 15 characters with A2 (the same millisecond and
	 * version digit): both need 16 */
	const char *a3 = "a1a0c000-0000-7100-8000-000000000003";
	eng_move(e, F1, T3, "ready", "running", (const char *)NULL);
	eng_attempt(e, F1, T3, a3, 1);
	static const struct {
		hive_ref_kind kind;
		const char *id, *want;
	} table[] = {
		{HIVE_REF_ATTEMPT, A1, "a1a00000-0000"},
		{HIVE_REF_ATTEMPT, A2, "a1a0c000-0000-70"},
		{HIVE_REF_ATTEMPT, "a1a0c000-0000-7100-8000-000000000003", "a1a0c000-0000-71"},
		{HIVE_REF_FLOW, F1, "c1a00000-0000"},
		{HIVE_REF_TASK, T2, "d1a0b000-0000"},
		{HIVE_REF_PROJECT, PA, "b1a00000-0000"},
		{HIVE_REF_ATTEMPT, "not-an-id", "not-an-id"},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		display_ctx c = {table[i].kind, table[i].id, ""};
		assert_int_equal(hive_store_read(e->s, display_fn, &c), 0);
		if (strcmp(c.out, table[i].want) != 0)
			fail_msg("%s %s shown as %s, expected %s", hive_ref_kind_name(table[i].kind), table[i].id, c.out,
				 table[i].want);
		if (!hive_id_valid(table[i].id))
			continue;
		row back = {table[i].kind, c.out, 0, table[i].id};
		resolve_row(e, &back);
	}
}

/* The rule applied to names being created. */
static void test_name_check(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int rc;
	} table[] = {
		{"beef", HIVE_EINVALID}, {"0194", HIVE_EINVALID}, {"dead-beef", HIVE_EINVALID},
		{"DEADBEEF", HIVE_EINVALID}, {"----", HIVE_EINVALID}, {F1, HIVE_EINVALID},
		{"c1a0", HIVE_EINVALID}, {"abc", 0}, {"a-b", 0}, {"beefy", 0}, {"build", 0},
		{"f1", 0}, {"0xbeef", 0}, {"cafe.1", 0}, {"", 0},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		int rc = hive_resolve_name_check(table[i].name, "flow name");
		if (rc != table[i].rc)
			fail_msg("\"%s\": rc %d, expected %d", table[i].name, rc, table[i].rc);
	}
	assert_int_equal(hive_resolve_name_check("beef", "tasks[0].key"), HIVE_EINVALID);
	assert_string_equal(hive_error_last(),
			    "tasks[0].key \"beef\" could be taken for an id (it is only hex digits and '-'); "
			    "use a name with another letter, e.g. \"x-beef\"");
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(hive_ref_kind_name(HIVE_REF_PROJECT), "project");
	assert_string_equal(hive_ref_kind_name(HIVE_REF_FLOW), "flow");
	assert_string_equal(hive_ref_kind_name(HIVE_REF_TASK), "task");
	assert_string_equal(hive_ref_kind_name(HIVE_REF_ATTEMPT), "attempt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_exact_id_before_name, eng_setup, eng_teardown),
		cmocka_unit_test_setup_teardown(test_display_prefix, eng_setup, eng_teardown),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
