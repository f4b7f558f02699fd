/*
 * datadir.h - directories inside hive's data dir, created private and
 * never followed through a symbolic link.
 *
 * A runtime runs with the user's rights and knows where the data dir is
 * (its attempt dir is $HIVE_RESULT_FILE's).  It can replace attempts/,
 * worktrees/ or locks/ with a symlink to make hive write elsewhere.  hive
 * therefore checks every component it walks under the data dir with
 * lstat(): each must be a real directory owned by the caller, and
 * whatever it creates is 0700 (whatever the umask).
 */
#ifndef HIVE_DATADIR_H
#define HIVE_DATADIR_H

/* Make sure data_dir/rel exists as real directories: each component of
 * rel ("worktrees/flow-a") is created 0700 when missing, else must be a
 * directory (not a symlink to one) owned by the effective user.  data_dir
 * itself is the user's choice and is not checked.
 * Errors: HIVE_ESYSTEM naming the offending path and what to do. */
int hive_datadir_mkdirs(const char *data_dir, const char *rel);

/* A path that must be hive's own directory if it exists (a worktree):
 * 0 when it is a real directory or missing; HIVE_ESYSTEM naming it when
 * it is a symlink or something else. */
int hive_datadir_check_dir(const char *path);

#endif
