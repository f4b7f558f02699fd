/* cmd_project.c - hive project create | list | show. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "events/error.h"

static int cmd_create(hive_cli *cli, int argc, char **argv)
{
	const char *repo = NULL, *desc = NULL, *pos[1];
	cli_opt opts[] = {{"repo", CLI_STR, &repo, 0}, {"description", CLI_STR, &desc, 0}, {NULL, 0, NULL, 0}};
	int rc = cli_parse("project create", argc, argv, opts, pos, 1, 1, NULL);
	if (!rc && !repo)
		rc = hive_error_set(HIVE_EINVALID, "project create: --repo PATH is required");
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (!s)
		return rc;
	hive_id id;
	if ((rc = hive_project_create(s, pos[0], repo, desc, &id)))
		return rc;
	json_t *doc = NULL;
	hive_project_show(s, id.s, &doc);
	if (!cli_json_out(cli, json_incref(doc)))
		printf("created project %s (%s) for %s\n", pos[0], id.s, cli_jstr(doc, "repo"));
	json_decref(doc);
	return 0;
}

static int cmd_list(hive_cli *cli, int argc, char **argv)
{
	int rc = cli_parse("project list", argc, argv, NULL, NULL, 0, 0, NULL);
	json_t *docs = NULL;
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (s)
		rc = hive_project_list(s, &docs);
	if (!rc && !cli_json_out(cli, json_incref(docs))) {
		size_t i;
		json_t *d;
		printf("%-20s %-36s %s\n", "NAME", "ID", "REPO");
		json_array_foreach(docs, i, d)
			printf("%-20s %-36s %s\n", cli_jstr(d, "name"), cli_jstr(d, "id"), cli_jstr(d, "repo"));
	}
	json_decref(docs);
	return rc;
}

static int cmd_show(hive_cli *cli, int argc, char **argv)
{
	const char *pos[1];
	json_t *d = NULL;
	int rc = cli_parse("project show", argc, argv, NULL, pos, 1, 1, NULL);
	hive_store *s = rc ? NULL : cli_store(cli, &rc);
	if (s)
		rc = hive_project_show(s, pos[0], &d);
	if (!rc && !cli_json_out(cli, json_incref(d)))
		printf("project:     %s\nid:          %s\nrepo:        %s\ndescription: %s\ncreated:     %s\n",
		       cli_jstr(d, "name"), cli_jstr(d, "id"), cli_jstr(d, "repo"), cli_jstr(d, "description"),
		       cli_jstr(d, "created_at"));
	json_decref(d);
	return rc;
}

static const hive_command create_cmd = {"project", "create", "hive project create NAME --repo PATH [--description TEXT]",
	"Bind NAME to a git repository (it must have at least one commit).\n"
	"Exit: 0 ok, 2 bad name or not a git repository, 4 name taken.\n", cmd_create};
static const hive_command list_cmd = {"project", "list", "hive project list",
	"List projects.\n", cmd_list};
static const hive_command show_cmd = {"project", "show", "hive project show PROJECT",
	"Show one project (name, id or id prefix).\nExit: 0 ok, 3 not found.\n", cmd_show};

const hive_command *const hive_cmds_project[] = {&create_cmd, &list_cmd, &show_cmd, NULL};
