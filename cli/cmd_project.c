/* cmd_project.c - hive project create | list | show. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "events/error.h"

static int cmd_create(hive_cli *cli, const cli_args *a)
{
	const char *name = a->pos[0];
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (!s)
		return rc;
	hive_id id;
	if ((rc = hive_project_create(s, name, cli_str(a, "repo"), cli_str(a, "description"),
				       &(hive_act_opts){.actor = cli_actor(a)}, &id)))
		return rc;
	json_t *doc = NULL;
	hive_project_show(s, id.s, &doc);
	char shown[CLI_ID_LEN];
	if (!cli_json_out(cli, json_incref(doc)))
		printf("created project %s (%s) for %s\n", name, cli_id(cli, "project", id.s, shown), cli_jstr(doc, "repo"));
	json_decref(doc);
	return 0;
}

static int cmd_list(hive_cli *cli, const cli_args *a)
{
	(void)a;
	json_t *docs = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_doc_project_list(s, &docs);
	if (!rc && !cli_json_out(cli, json_incref(docs))) {
		size_t i;
		json_t *d;
		printf("%-20s %-18s %s\n", "NAME", "ID", "REPO");
		json_array_foreach(json_object_get(docs, "projects"), i, d) {
			char id[CLI_ID_LEN];
			printf("%-20s %-18s %s\n", hive_safe(cli_jstr(d, "name")), cli_id(cli, "project", cli_jstr(d, "id"), id),
			       hive_safe(cli_jstr(d, "repo")));
		}
	}
	json_decref(docs);
	return rc;
}

static int cmd_show(hive_cli *cli, const cli_args *a)
{
	json_t *d = NULL;
	int rc;
	hive_store *s = cli_store(cli, &rc);
	if (s)
		rc = hive_project_show(s, a->pos[0], &d);
	if (!rc && !cli_json_out(cli, json_incref(d)))
		printf("project:     %s\nid:          %s\nrepo:        %s\ndescription: %s\ncreated:     %s\n",
		       cli_jstr(d, "name"), cli_jstr(d, "id"), cli_jstr(d, "repo"), cli_jstr(d, "description"),
		       cli_jstr(d, "created_at"));
	json_decref(d);
	return rc;
}

const hive_command hive_cmds_project[] = {
	{
		.group = "project", .name = "create", .creates_store = 1,
		.args = {"NAME"}, .min_args = 1,
		.opts = {
			{.name = "repo", .kind = CLI_STR, .arg = "PATH",
			 .help = "the git repository (it must have at least one commit)", .required = 1},
			{.name = "description", .kind = CLI_STR, .arg = "TEXT",
			 .help = "a line about the project"},
			CLI_ACTOR_OPT,
		},
		.help = "Bind NAME to a git repository (it must have at least one commit).\n",
		.exit = "0 ok, 2 bad name or not a git repository, 4 name taken.",
		.run = cmd_create,
	},
	{
		.group = "project", .name = "list",
		.help = "List projects.\n",
		.run = cmd_list,
	},
	{
		.group = "project", .name = "show",
		.args = {"PROJECT"}, .min_args = 1,
		.help = "Show one project (name, id or id prefix).\n",
		.exit = "0 ok, 3 not found.",
		.run = cmd_show,
	},
	{0},
};
