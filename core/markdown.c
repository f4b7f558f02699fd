/*
 * markdown.c - see markdown.h.
 */
#include "core/markdown.h"

size_t hive_markdown_fence_len(const char *s, size_t min)
{
	size_t best = 0, run = 0;
	for (; *s; s++) {
		run = *s == '`' ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best + 1 > min ? best + 1 : min;
}
