#pragma once
/*
 * Owners and modes of the files certdns trusts: the database directory, its
 * LMDB files (data.mdb, lock.mdb) and the master key.  Whoever can write them
 * can change zones, TSIG keys and certificates, or read the secrets, so
 * certdnsd and certdnsctl both refuse them when:
 *
 *   - the directory or an LMDB file is writable by group or others, or the
 *     master key is accessible to group or others at all;
 *   - the directory belongs to someone other than the user running the
 *     program or root (root may open any user's database: it administers the
 *     service user's files);
 *   - a file in the directory belongs to someone other than the directory's
 *     owner (one owner for the whole database: the user certdnsd runs as).
 *
 * Every refusal is logged with the path, its mode or owner, and the chmod or
 * chown that fixes it.
 *
 * When root opens files in a directory that belongs to another user, it acts
 * as that user meanwhile (file_perms_act_as_owner): what it creates (the LMDB
 * files, the master key) then belongs to the user the daemon runs as, and a
 * link planted in the directory gains nothing.
 */

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef enum {
	FILE_PERMS_DATA,     /* data.mdb: not writable by group or others (readable: warned) */
	FILE_PERMS_LOCK,     /* lock.mdb: not writable by group or others */
	FILE_PERMS_SECRET,   /* the master key: no access at all for group or others */
} file_perms_kind_t;

/*
 * Checks the database directory dir, whose stat is st.
 * Returns 0, or CD_EPERM (logged).
 */
int file_perms_check_dir(const char *dir, const struct stat *st);

/*
 * Checks path, a file of the database directory (st: its stat; dir_st: the
 * directory's), for its kind.  A group- or world-readable LMDB file is allowed
 * but warned about (it holds the TSIG secrets).
 * Returns 0, or CD_EPERM (logged).
 */
int file_perms_check_file(const char *path, const struct stat *st, const struct stat *dir_st,
                          file_perms_kind_t kind);

/* Who we were before acting as a directory's owner. */
typedef struct {
	bool switched;
	uid_t euid;
	gid_t egid;
} file_perms_identity_t;

/*
 * When the effective user is root and the directory (dir_st) belongs to another
 * user, switches the effective user and group to the directory's owner until
 * file_perms_restore(); otherwise changes nothing.  Only for a process with a
 * single thread, or one whose threads may all briefly take the owner's identity.
 * Returns 0, or CD_EPERM (logged).
 */
int file_perms_act_as_owner(const struct stat *dir_st, file_perms_identity_t *saved);

/* Returns to the identity saved by file_perms_act_as_owner (nothing if it did not switch). */
void file_perms_restore(const file_perms_identity_t *saved);

/* "name" of a user id, or "uid N" when it has no name.  Returns buf. */
const char *file_perms_user_name(uid_t uid, char *buf, size_t len);
