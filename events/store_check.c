/*
 * store_check.c - what can be checked of data.mdb before LMDB maps it.
 *
 * LMDB 0.9 keeps no checksums.  It checks the magic and version of its two
 * meta pages, and then trusts every page number it reads: a damaged meta
 * page (a root or the last page beyond the end of the file, a page size it
 * never wrote) sends the first read outside the file, and the process dies
 * of SIGBUS or SIGSEGV.  This file reads the two meta pages itself and
 * refuses such a file with one line.  Damage inside the B-trees cannot be
 * seen from here; see docs/reliability.md ("Corrupted stores") for what is
 * caught where.
 *
 * The layout below is LMDB 0.9's on-disk format (mdb.c: MDB_page header,
 * MDB_meta, MDB_db) for a 64-bit build, the only one hive supports.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events/buf.h"
#include "events/error.h"
#include "events/store_impl.h"

#define LMDB_MAGIC 0xBEEFC0DEu
#define LMDB_DATA_VERSION 1u
#define LMDB_P_META 0x08u
#define LMDB_P_INVALID UINT64_MAX
#define LMDB_CORE_DBS 2 /* FREE_DBI, MAIN_DBI */

typedef struct {
	uint32_t pad; /* of the free db: the page size */
	uint16_t flags, depth;
	uint64_t branch_pages, leaf_pages, overflow_pages, entries, root;
} lmdb_db;

typedef struct {
	uint64_t pgno;
	uint16_t pad, flags;
	uint32_t bounds;
	uint32_t magic, version;
	uint64_t address, mapsize;
	lmdb_db dbs[LMDB_CORE_DBS];
	uint64_t last_pg, txnid;
} lmdb_meta_page;

_Static_assert(sizeof(lmdb_db) == 48, "LMDB 0.9 MDB_db is 48 bytes on 64-bit");
_Static_assert(sizeof(lmdb_meta_page) == 16 + 24 + 96 + 16, "LMDB 0.9 meta page layout");

static int damaged(const char *path, const char *what)
{
	return hive_error_set(HIVE_ESYSTEM, "event log %s is damaged: %s; restore it from a backup", path, what);
}

static int read_meta(int fd, off_t off, lmdb_meta_page *m)
{
	return pread(fd, m, sizeof *m, off) == (ssize_t)sizeof *m ? 0 : -1;
}

/* What LMDB itself refuses (magic, version, the meta flag) plus the page
 * number; *why is set when the page is not a meta page of this file. */
static int meta_ok(const lmdb_meta_page *m, uint64_t pgno, const char **why)
{
	if (m->magic != LMDB_MAGIC || !(m->flags & LMDB_P_META) || m->pgno != pgno)
		*why = "a meta page is not an LMDB meta page";
	else if (m->version != LMDB_DATA_VERSION)
		*why = "a meta page has an unknown LMDB format version";
	else
		return 1;
	return 0;
}

/* The meta page LMDB will use must not point past the end of the file. */
static const char *bounds_problem(const lmdb_meta_page *m, uint64_t pages)
{
	if (m->last_pg < 1 || m->last_pg >= pages)
		return "its last page lies beyond the end of the file";
	for (int i = 0; i < LMDB_CORE_DBS; i++) {
		const lmdb_db *d = &m->dbs[i];
		if (d->root != LMDB_P_INVALID && (d->root < 2 || d->root > m->last_pg))
			return "a B-tree root lies outside the file";
		if (d->root != LMDB_P_INVALID && (d->depth == 0 || d->depth > 32))
			return "a B-tree has an impossible depth";
		if (d->branch_pages + d->leaf_pages + d->overflow_pages > pages)
			return "a B-tree counts more pages than the file holds";
	}
	return NULL;
}

static int check_open_file(int fd, const char *path)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot read %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return damaged(path, "it is not a regular file");
	if (st.st_size == 0)
		return 0; /* LMDB initialises an empty file */
	lmdb_meta_page m[2];
	const char *why = NULL;
	if (read_meta(fd, 0, &m[0]) != 0)
		return damaged(path, "it is shorter than one page");
	if (!meta_ok(&m[0], 0, &why))
		return damaged(path, why);
	uint32_t psize = m[0].dbs[0].pad;
	if (psize < 512 || psize > 65536 || (psize & (psize - 1)))
		return damaged(path, "its page size is not one LMDB writes");
	if ((uint64_t)st.st_size < 2 * (uint64_t)psize || st.st_size % psize)
		return damaged(path, "its size is not a whole number of pages");
	if (read_meta(fd, psize, &m[1]) != 0 || !meta_ok(&m[1], 1, &why))
		return damaged(path, why ? why : "its second meta page cannot be read");
	if (m[1].dbs[0].pad != psize)
		return damaged(path, "its two meta pages disagree on the page size");
	/* LMDB uses the meta page of the newer transaction */
	const lmdb_meta_page *cur = m[1].txnid > m[0].txnid ? &m[1] : &m[0];
	if ((why = bounds_problem(cur, (uint64_t)st.st_size / psize)))
		return damaged(path, why);
	return 0;
}

int hive_store_check_file(const char *dir)
{
	hive_buf path = {0};
	hive_buf_printf(&path, "%s/data.mdb", dir);
	int rc = 0;
	int fd = open(hive_buf_str(&path), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		rc = check_open_file(fd, hive_buf_str(&path));
		close(fd);
	} else if (errno != ENOENT) {
		rc = hive_error_set(HIVE_ESYSTEM, "cannot read %s: %s", hive_buf_str(&path), strerror(errno));
	}
	hive_buf_dispose(&path);
	return rc;
}
