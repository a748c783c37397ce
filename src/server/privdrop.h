#pragma once
/*
 * certdnsd --user USER[:GROUP]: start as root, bind the listen sockets (port
 * 53 needs root), then become USER for good before anything a packet or the
 * network can reach starts (workers, control socket, ACME engine, transfers).
 *
 * The order, and why:
 *   1. privdrop_resolve   look the user and group up while /etc is readable
 *   2. privdrop_prepare_db_dir
 *                         the database must already belong to USER: it is
 *                         opened before the drop, but used by USER after it
 *                         (LMDB keeps its files open; the master key, the
 *                         control socket and exports are opened by USER)
 *   3. db_open            as root, acting as USER (files it creates are USER's)
 *   4. bind the listen sockets (as root)
 *   5. privdrop_drop      supplementary groups, gid, uid; check that root
 *                         cannot be regained; no_new_privs
 *   6. start the control socket, the ACME engine and the workers
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
	uid_t uid;
	gid_t gid;
	char user[64];        /* the name, for initgroups and messages */
	char group[64];
	char chown_spec[140]; /* "USER:" or "USER:GROUP", as chown takes it */
	bool has_passwd;      /* USER has a passwd entry (initgroups can use it) */
} privdrop_t;

/*
 * Resolves "USER" or "USER:GROUP" (names or numeric ids; the group defaults to
 * the user's login group).  Refuses a user or group that is root: nothing
 * would be dropped.  Returns 0, or CD_EINVAL with the reason in err.
 */
int privdrop_resolve(const char *spec, privdrop_t *out, char *err, size_t errlen);

/*
 * Checks the database directory before a root certdnsd opens it.
 *   p != NULL (--user): creates dir (mode 0700, owned by the user) when it is
 *     missing; refuses a directory, LMDB file or master key not owned by the
 *     user, with the chown to run.
 *   p == NULL (staying root): refuses a directory that belongs to another user
 *     (that user is meant to run certdnsd: start it with --user).
 * Returns 0, CD_EPERM or CD_EIO (logged).
 */
int privdrop_prepare_db_dir(const privdrop_t *p, const char *dir);

/*
 * Drops root for good: supplementary groups (the user's, via initgroups),
 * real/effective/saved gid, then uid; then checks that setuid(0) fails and sets
 * PR_SET_NO_NEW_PRIVS (so neither certdnsd nor a deploy hook it runs can gain
 * privileges again: no sudo or setuid programs in deploy hooks).
 * Returns 0, or CD_EPERM (logged): the caller must then stop.
 */
int privdrop_drop(const privdrop_t *p);
