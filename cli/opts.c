/* opts.c - flag parsing shared by every command (see cli.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "events/buf.h"
#include "events/error.h"
#include "events/json.h"

static cli_opt *find_opt(cli_opt *opts, const char *name, size_t len)
{
	for (cli_opt *o = opts; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static int parse_u64(const char *cmd, const char *flag, const char *s, unsigned long long *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-')
		goto bad;
	*out = strtoull(s, &end, 10);
	if (errno || *end)
		goto bad;
	return 0;
bad:
	return hive_error_set(HIVE_EINVALID, "%s: --%s needs a non-negative integer, got \"%s\"", cmd, flag, s);
}

static int store_value(const char *cmd, cli_opt *o, const char *val)
{
	switch (o->kind) {
	case CLI_STR:
		if (o->seen > 1)
			return hive_error_set(HIVE_EINVALID, "%s: --%s given twice; give it once", cmd, o->name);
		*(const char **)o->dest = val;
		return 0;
	case CLI_LIST: {
		cli_list *l = o->dest;
		l->v = hive_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
		l->v[l->n++] = val;
		return 0;
	}
	case CLI_U64:
		return parse_u64(cmd, o->name, val, o->dest);
	default:
		return 0;
	}
}

static int parse_flag(const char *cmd, char *arg, int argc, char **argv, int *i, cli_opt *opts)
{
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	cli_opt *o = find_opt(opts, name, len);
	if (!o)
		return hive_error_set(HIVE_EINVALID, "%s: unknown flag --%.*s; see hive %s --help",
				      cmd, (int)len, name, cmd);
	o->seen++;
	if (o->kind == CLI_FLAG) {
		if (eq)
			return hive_error_set(HIVE_EINVALID, "%s: --%s takes no value", cmd, o->name);
		*(int *)o->dest = 1;
		return 0;
	}
	const char *val = eq ? eq + 1 : NULL;
	if (!val) {
		if (*i + 1 >= argc)
			return hive_error_set(HIVE_EINVALID, "%s: --%s needs a value; see hive %s --help",
					      cmd, o->name, cmd);
		val = argv[++*i];
	}
	return store_value(cmd, o, val);
}

int cli_parse(const char *cmd, int argc, char **argv, cli_opt *opts,
	      const char **pos, int min_pos, int max_pos, int *npos)
{
	int n = 0, rc, dashdash = 0;
	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		if (!dashdash && strcmp(a, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (!dashdash && a[0] == '-' && a[1] == '-' && a[2]) {
			if ((rc = parse_flag(cmd, a, argc, argv, &i, opts)))
				return rc;
			continue;
		}
		if (!dashdash && a[0] == '-' && a[1])
			return hive_error_set(HIVE_EINVALID, "%s: unknown flag %s; see hive %s --help", cmd, a, cmd);
		if (n >= max_pos)
			return hive_error_set(HIVE_EINVALID, "%s: unexpected argument \"%s\"; see hive %s --help",
					      cmd, a, cmd);
		pos[n++] = a;
	}
	if (n < min_pos)
		return hive_error_set(HIVE_EINVALID, "%s: missing argument; see hive %s --help", cmd, cmd);
	if (npos)
		*npos = n;
	return 0;
}

void cli_list_free(cli_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

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
