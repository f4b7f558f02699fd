/* output.c - printing helpers shared by every command (see cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
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
	doc = hive_doc_wrap(doc); /* every document carries "schema" (hive.h) */
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

int cli_color_wanted(const char *mode, int json)
{
	if (json || (mode && strcmp(mode, "never") == 0))
		return 0;
	if (mode && strcmp(mode, "always") == 0)
		return 1;
	const char *no = getenv("NO_COLOR"), *force = getenv("CLICOLOR_FORCE"), *term = getenv("TERM");
	if (no && *no)
		return 0;
	if (force && *force && strcmp(force, "0") != 0)
		return 1;
	if (term && strcmp(term, "dumb") == 0)
		return 0;
	return isatty(1);
}

/* Recent displays: events list names the same few flows and tasks on
 * every line, so most lookups are answered here without a transaction. */
#define ID_CACHE 32
static struct {
	char kind[8];
	char id[HIVE_ID_LEN + 1];
	char shown[HIVE_ID_LEN + 1];
} id_cache[ID_CACHE];
static unsigned id_cache_next;

const char *cli_id(hive_cli *cli, const char *kind, const char *id, char *buf)
{
	snprintf(buf, HIVE_ID_LEN + 1, "%s", id ? id : "");
	if (!cli->store || !id || strlen(id) != HIVE_ID_LEN)
		return buf;
	for (unsigned i = 0; i < ID_CACHE; i++)
		if (strcmp(id_cache[i].id, id) == 0 && strcmp(id_cache[i].kind, kind) == 0)
			return strcpy(buf, id_cache[i].shown);
	hive_id_display(cli->store, kind, id, buf);
	unsigned slot = id_cache_next++ % ID_CACHE;
	snprintf(id_cache[slot].kind, sizeof id_cache[slot].kind, "%s", kind);
	memcpy(id_cache[slot].id, id, HIVE_ID_LEN + 1);
	memcpy(id_cache[slot].shown, buf, HIVE_ID_LEN + 1);
	return buf;
}
