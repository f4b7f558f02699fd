/*
 * store_fault.c - a damaged data.mdb ends the process with one line and
 * exit 5 instead of a crash (hive_store_opts.trap_damage).
 *
 * LMDB 0.9 keeps no checksums and trusts every page number and offset it
 * reads from the file (store_check.c catches what the meta pages show).
 * Damage inside a B-tree makes it read outside its pages — SIGSEGV or
 * SIGBUS — or trip one of its assertions (abort).  A process that owns its
 * signal handlers (the command line) asks for this trap: a fault at an
 * address inside a registered map, or in a thread that is inside a store
 * transaction, and any LMDB assertion, print a prepared line naming the
 * store and _exit(5).  Any other fault gets the default action, so real
 * bugs still crash (and dump core) as before.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/error.h"
#include "events/store_impl.h"

#define MAX_TRAPPED 8

typedef struct {
	hive_store *volatile s;
	volatile uintptr_t base, size;
	char msg[768];          /* a fault inside the map: the file is damaged */
	size_t len;
	char msg_txn[768];      /* a fault elsewhere during a transaction */
	size_t len_txn;
} trapped_map;

static trapped_map trapped[MAX_TRAPPED];
static _Thread_local volatile int in_txn;

void hive_store_fault_enter(void) { in_txn++; }
void hive_store_fault_leave(void) { in_txn--; }

static void say_and_exit(const char *msg, size_t len)
{
	ssize_t n = write(STDERR_FILENO, msg, len);
	(void)n;
	_exit(5);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	uintptr_t a = (uintptr_t)si->si_addr;
	const trapped_map *any = NULL;
	for (int i = 0; i < MAX_TRAPPED; i++) {
		if (!trapped[i].s)
			continue;
		if (a >= trapped[i].base && a - trapped[i].base < trapped[i].size)
			say_and_exit(trapped[i].msg, trapped[i].len);
		any = &trapped[i];
	}
	/* Outside the map but during a transaction: LMDB following a damaged
	 * pointer, or a bug in hive's own code running in the transaction.
	 * The message must not send a user to restore a backup for a bug. */
	if (in_txn && any)
		say_and_exit(any->msg_txn, any->len_txn);
	/* not the store's: the default action when the instruction runs again */
	signal(sig, SIG_DFL);
}

/* LMDB calls this instead of printing and aborting (mdb_env_set_assert). */
static void on_assert(MDB_env *env, const char *what)
{
	(void)what;
	for (int i = 0; i < MAX_TRAPPED; i++)
		if (trapped[i].s && trapped[i].s->env == env)
			say_and_exit(trapped[i].msg, trapped[i].len);
	static const char generic[] = "hive: an event log is damaged (LMDB found an inconsistent page)\n";
	ssize_t n = write(STDERR_FILENO, generic, sizeof generic - 1);
	(void)n;
	_exit(5);
}

static void install_handlers(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Where LMDB mapped data.mdb: mdb_env_info's me_mapaddr is only the
 * address a MDB_FIXEDMAP store asked for, so read the process's own map
 * list (once at open, again after the map was grown or adopted). */
static int find_map(const char *dir, uintptr_t *base, uintptr_t *size)
{
	char want[PATH_MAX + 16], real[PATH_MAX];
	if (!realpath(dir, real))
		return -1;
	snprintf(want, sizeof want, "%s/data.mdb", real);
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	char line[PATH_MAX + 128];
	int found = -1;
	while (found && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		int path_at = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &path_at) < 2 || !path_at)
			continue;
		char *path = line + path_at;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, want) == 0) {
			*base = lo;
			*size = hi - lo;
			found = 0;
		}
	}
	fclose(f);
	return found;
}

void hive_store_fault_refresh(hive_store *s)
{
	for (int i = 0; i < MAX_TRAPPED; i++) {
		uintptr_t base, size;
		if (trapped[i].s == s && find_map(s->dir, &base, &size) == 0) {
			trapped[i].size = 0; /* never a half-updated range */
			trapped[i].base = base;
			trapped[i].size = size;
		}
	}
}

/* The length of a message snprintf wrote (n) into buf, cut to fit and
 * always ending in a newline. */
static size_t one_line_len(char *buf, size_t size, int n)
{
	size_t len = n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
	if (len && buf[len - 1] != '\n')
		buf[len - 1] = '\n';
	return len;
}

void hive_store_fault_trap(hive_store *s)
{
	for (int i = 0; i < MAX_TRAPPED; i++) {
		if (trapped[i].s)
			continue;
		trapped_map *m = &trapped[i];
		int n = snprintf(m->msg, sizeof m->msg,
				 "hive: event log in %s is damaged: a read fell outside its pages (LMDB keeps no checksums); "
				 "restore data.mdb from a backup\n",
				 s->dir);
		m->len = one_line_len(m->msg, sizeof m->msg, n);
		n = snprintf(m->msg_txn, sizeof m->msg_txn,
			     "hive: crashed while reading the event log in %s (a damaged data.mdb, or a bug in hive): run "
			     "hive events verify; restore data.mdb from a backup only if it reports damage\n",
			     s->dir);
		m->len_txn = one_line_len(m->msg_txn, sizeof m->msg_txn, n);
		m->s = s;
		hive_store_fault_refresh(s);
		mdb_env_set_assert(s->env, on_assert);
		install_handlers();
		return;
	}
}

void hive_store_fault_untrap(hive_store *s)
{
	for (int i = 0; i < MAX_TRAPPED; i++)
		if (trapped[i].s == s)
			trapped[i].s = NULL;
}
