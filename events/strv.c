/*
 * strv.c - see strv.h.
 */
#include "events/strv.h"

#include "events/buf.h"

#include <stdlib.h>

void hive_strv_push(hive_strv *s, const char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = hive_xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = hive_xstrdup(str);
	s->v[s->n] = NULL;
}

size_t hive_strv_len(char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

void hive_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}
