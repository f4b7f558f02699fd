/* output.c - printing helpers shared by every command (see cli.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "events/json.h"

int cli_write(const char *data, size_t len)
{
	if (len && fwrite(data, 1, len, stdout) != len)
		return -1;
	return 0;
}

int cli_print_json(json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!s)
		return -1;
	int rc = cli_write(s, strlen(s));
	free(s);
	if (rc == 0 && cli_write("\n", 1) != 0)
		rc = -1;
	return rc;
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

const char *cli_jstr(const json_t *o, const char *k)
{
	const char *v = hive_json_str(o, k);
	return v ? v : "";
}

const char *cli_color(const hive_cli *cli, const char *code)
{
	return cli->color ? code : "";
}
