/*
 * strv.h - NULL-terminated vectors of malloc'd strings (argv, envp, lists of
 * paths), written once for every layer.
 *
 * A vector is `char **v` with v[n] == NULL; the vector and each string are
 * owned by whoever holds v and released with hive_strv_free.  Allocation
 * failure aborts (as in buf.h).
 */
#ifndef HIVE_STRV_H
#define HIVE_STRV_H

#include <stddef.h>

/* A vector being built: zero-initialise it, push, then hand out v. */
typedef struct {
	char **v; /* NULL until the first push; NULL-terminated after it */
	size_t n, cap;
} hive_strv;

/* Append a copy of s (not NULL). */
void hive_strv_push(hive_strv *s, const char *str);

/* Number of strings in the NULL-terminated vector v (0 for NULL). */
size_t hive_strv_len(char *const *v);

/* Free every string of the NULL-terminated vector v, then v.  NULL is fine. */
void hive_strv_free(char **v);

#endif
