/*
 * fs.h - the file-system helpers every layer needs, written once: mkdir -p,
 * path join, absolute paths.
 *
 * Errors: HIVE_ESYSTEM with one line naming the path and the system's
 * reason.  New strings are free()d by the caller; allocation failure aborts
 * (as in buf.h).
 */
#ifndef HIVE_FS_H
#define HIVE_FS_H

#include <sys/types.h>

/*
 * mkdir -p: create `dir` and each missing parent with `mode` (before the
 * umask); directories that exist already are fine.  On failure:
 * HIVE_ESYSTEM "cannot create <what> <component>: <reason>", naming the
 * component that failed (e.g. "cannot create directory /ro/x: Read-only
 * file system"); `what` says what the caller was making.
 */
int hive_fs_mkdir_p(const char *dir, mode_t mode, const char *what);

/* New string "<dir>/<name>", with no doubled '/' when dir ends in one. */
char *hive_fs_join(const char *dir, const char *name);

/* New string: `path` unchanged when absolute, else joined to the current
 * directory (not resolved: symlinks and ".." stay).  NULL with
 * HIVE_ESYSTEM when the current directory cannot be read. */
char *hive_fs_absolute(const char *path);

#endif
