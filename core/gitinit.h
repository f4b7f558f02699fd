/* gitinit.h - a new repository with one commit of the files in path. */
#ifndef HIVE_GITINIT_H
#define HIVE_GITINIT_H

/* git init path; stage every file; commit it on HEAD with message.
 * Errors: HIVE_ESYSTEM with the path and libgit2's message. */
int hive_git_init_commit(const char *path, const char *message);

#endif
