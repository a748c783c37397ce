#include "common/file_perms.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"

const char *file_perms_user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *found = NULL;
	char scratch[1024];
	if (getpwuid_r(uid, &pw, scratch, sizeof(scratch), &found) == 0 && found != NULL) {
		snprintf(buf, len, "%s", found->pw_name);
	} else {
		snprintf(buf, len, "uid %u", (unsigned)uid);
	}
	return buf;
}

int file_perms_check_dir(const char *dir, const struct stat *st)
{
	uid_t me = geteuid();
	if (me != 0 && st->st_uid != me && st->st_uid != 0) {
		char owner[64], self[64];
		file_perms_user_name(st->st_uid, owner, sizeof(owner));
		file_perms_user_name(me, self, sizeof(self));
		bool named = strncmp(owner, "uid ", 4) != 0;
		log_error("database directory %s belongs to %s, not to %s who runs this: run it as %s "
		          "or as root%s%s%s", dir, owner, self, owner, named ? " (e.g. sudo -u " : "",
		          named ? owner : "", named ? " ...)" : "");
		return CD_EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		log_error("database directory %s is writable by group or others (mode %04o), who could "
		          "replace the database; run: chmod go-w %s", dir,
		          (unsigned)(st->st_mode & 07777), dir);
		return CD_EPERM;
	}
	return CD_OK;
}

int file_perms_check_file(const char *path, const struct stat *st, const struct stat *dir_st,
                          file_perms_kind_t kind)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);
	if (!S_ISREG(st->st_mode)) {
		log_error("%s: not a regular file", path);
		return CD_EPERM;
	}
	if (st->st_uid != dir_st->st_uid) {
		char owner[64], dir_owner[64];
		file_perms_user_name(st->st_uid, owner, sizeof(owner));
		file_perms_user_name(dir_st->st_uid, dir_owner, sizeof(dir_owner));
		log_error("%s belongs to %s, but its database directory to %s (one owner for the whole "
		          "database: the user certdnsd runs as); run: chown %s: %s", path, owner,
		          dir_owner, dir_owner, path);
		return CD_EPERM;
	}
	if (kind == FILE_PERMS_SECRET && (mode & 077) != 0) {
		log_error("%s: the master key is accessible to other users (mode %04o); run: chmod 600 %s",
		          path, mode, path);
		return CD_EPERM;
	}
	if (mode & (S_IWGRP | S_IWOTH)) {
		log_error("%s is writable by group or others (mode %04o); run: chmod 600 %s", path, mode,
		          path);
		return CD_EPERM;
	}
	if (kind == FILE_PERMS_DATA && (mode & (S_IRGRP | S_IROTH))) {
		log_warning("%s is readable by group or others (mode %04o) and holds the TSIG secrets; "
		            "run: chmod 600 %s", path, mode, path);
	}
	return CD_OK;
}

int file_perms_act_as_owner(const struct stat *dir_st, file_perms_identity_t *saved)
{
	saved->switched = false;
	saved->euid = geteuid();
	saved->egid = getegid();
	if (saved->euid != 0 || dir_st->st_uid == 0) {
		return CD_OK;
	}
	/* The group first: after giving up root as effective user we could not change it. */
	if (setegid(dir_st->st_gid) != 0) {
		log_error("cannot act as group %u, the database directory's: %s",
		          (unsigned)dir_st->st_gid, strerror(errno));
		return CD_EPERM;
	}
	if (seteuid(dir_st->st_uid) != 0) {
		int err = errno;
		if (setegid(saved->egid) != 0) {
			abort();   /* root cannot take its own group back: nothing sane is left to do */
		}
		log_error("cannot act as uid %u, the database directory's owner: %s",
		          (unsigned)dir_st->st_uid, strerror(err));
		return CD_EPERM;
	}
	saved->switched = true;
	return CD_OK;
}

void file_perms_restore(const file_perms_identity_t *saved)
{
	if (!saved->switched) {
		return;
	}
	/* The saved set-user-ID is still root, so this cannot fail; if it did,
	 * going on under the wrong identity would be worse than stopping. */
	if (seteuid(saved->euid) != 0 || setegid(saved->egid) != 0) {
		log_error("cannot return to uid %u after opening the database: %s",
		          (unsigned)saved->euid, strerror(errno));
		abort();
	}
}
