#include "server/privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/file_perms.h"
#include "common/log.h"

/* A whole decimal id in [0, INT_MAX), or -1. */
static long parse_id(const char *text)
{
	if (*text < '0' || *text > '9') {
		return -1;
	}
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	return errno != 0 || *end != '\0' || v >= INT_MAX ? -1 : v;
}

static int resolve_user(const char *name, privdrop_t *out, gid_t *login_gid, char *err,
                        size_t errlen)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	long id = parse_id(name);
	int rc = id >= 0 ? getpwuid_r((uid_t)id, &pw, buf, sizeof(buf), &found)
	                 : getpwnam_r(name, &pw, buf, sizeof(buf), &found);
	if (found != NULL) {
		out->uid = found->pw_uid;
		*login_gid = found->pw_gid;
		snprintf(out->user, sizeof(out->user), "%s", found->pw_name);
		out->has_passwd = true;
		return CD_OK;
	}
	if (id >= 0) {   /* a bare uid without a passwd entry: allowed, with its group given */
		out->uid = (uid_t)id;
		*login_gid = (gid_t)-1;
		snprintf(out->user, sizeof(out->user), "%ld", id);
		out->has_passwd = false;
		return CD_OK;
	}
	snprintf(err, errlen, "no user '%s'%s%s (create one for certdnsd: useradd --system "
	         "--home-dir /var/lib/certdns --shell /usr/sbin/nologin certdns)", name,
	         rc != 0 ? ": " : "", rc != 0 ? strerror(rc) : "");
	return CD_EINVAL;
}

static int resolve_group(const char *name, privdrop_t *out, char *err, size_t errlen)
{
	struct group gr, *found = NULL;
	char buf[8192];
	long id = parse_id(name);
	int rc = id >= 0 ? getgrgid_r((gid_t)id, &gr, buf, sizeof(buf), &found)
	                 : getgrnam_r(name, &gr, buf, sizeof(buf), &found);
	if (found != NULL) {
		out->gid = found->gr_gid;
		snprintf(out->group, sizeof(out->group), "%s", found->gr_name);
		return CD_OK;
	}
	if (id >= 0) {
		out->gid = (gid_t)id;
		snprintf(out->group, sizeof(out->group), "%ld", id);
		return CD_OK;
	}
	snprintf(err, errlen, "no group '%s'%s%s", name, rc != 0 ? ": " : "", rc != 0 ? strerror(rc) : "");
	return CD_EINVAL;
}

int privdrop_resolve(const char *spec, privdrop_t *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char user[256];
	const char *colon = strchr(spec, ':');
	size_t ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
	if (ulen == 0 || ulen >= sizeof(user) || (colon != NULL && colon[1] == '\0')) {
		snprintf(err, errlen, "'%s' is not USER or USER:GROUP", spec);
		return CD_EINVAL;
	}
	memcpy(user, spec, ulen);
	user[ulen] = '\0';
	gid_t login_gid;
	int ret = resolve_user(user, out, &login_gid, err, errlen);
	if (ret != CD_OK) {
		return ret;
	}
	if (colon != NULL) {
		ret = resolve_group(colon + 1, out, err, errlen);
	} else if (login_gid == (gid_t)-1) {
		snprintf(err, errlen, "uid %s has no passwd entry, so no login group: give one "
		         "(--user %s:GROUP)", user, user);
		ret = CD_EINVAL;
	} else {
		char gid_text[32];
		snprintf(gid_text, sizeof(gid_text), "%u", (unsigned)login_gid);
		ret = resolve_group(gid_text, out, err, errlen);
	}
	if (ret != CD_OK) {
		return ret;
	}
	if (out->uid == 0 || out->gid == 0) {
		snprintf(err, errlen, "'%s' keeps root's %s: name an unprivileged user "
		         "and group", spec, out->uid == 0 ? "user id" : "group id");
		return CD_EINVAL;
	}
	if (colon != NULL) {
		snprintf(out->chown_spec, sizeof(out->chown_spec), "%s:%s", out->user, out->group);
	} else {
		snprintf(out->chown_spec, sizeof(out->chown_spec), "%s:", out->user);
	}
	return CD_OK;
}

/* A missing directory is made for the user: mode 0700, theirs. */
static int create_db_dir(const privdrop_t *p, const char *dir)
{
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("cannot create database directory %s: %s", dir, strerror(errno));
		return CD_EIO;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0700) != 0 || fchown(fd, p->uid, p->gid) != 0) {
		log_error("cannot give the new database directory %s to %s: %s", dir, p->chown_spec,
		          strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return CD_EIO;
	}
	close(fd);
	log_info("created the database directory %s (mode 0700, owner %s, group %s)", dir, p->user,
	         p->group);
	return CD_OK;
}

/* path (the directory or one of its files) must belong to the user certdnsd becomes. */
static int check_owned_by_user(const privdrop_t *p, const char *dir, const char *path,
                               const struct stat *st)
{
	if (st->st_uid == p->uid) {
		return CD_OK;
	}
	char owner[64];
	file_perms_user_name(st->st_uid, owner, sizeof(owner));
	log_error("%s %s is owned by %s, but certdnsd runs as %s (--user) and must own the whole "
	          "database; run: chown -R %s %s", path == dir ? "database directory" : "database file",
	          path, owner, p->user, p->chown_spec, dir);
	return CD_EPERM;
}

/* The user must be able to reach the directory: a parent closed to them is reported here. */
static int check_reachable(const privdrop_t *p, const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		log_error("database directory %s: %s", dir, strerror(errno));
		return CD_EIO;
	}
	file_perms_identity_t saved;
	if (file_perms_act_as_owner(&st, &saved) != CD_OK) {
		return CD_EPERM;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = errno;
	file_perms_restore(&saved);
	if (fd < 0) {
		log_error("user %s cannot open the database directory %s: %s (is a parent directory "
		          "closed to it? check: setpriv --reuid=%u --regid=%u --clear-groups ls %s)",
		          p->user, dir, strerror(err), (unsigned)p->uid, (unsigned)p->gid, dir);
		return CD_EPERM;
	}
	close(fd);
	return CD_OK;
}

int privdrop_prepare_db_dir(const privdrop_t *p, const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno == ENOENT && p != NULL) {
			int ret = create_db_dir(p, dir);
			return ret == CD_OK ? check_reachable(p, dir) : ret;
		}
		if (errno == ENOENT) {
			return CD_OK;   /* db_open makes it, as root, for root */
		}
		log_error("database directory %s: %s", dir, strerror(errno));
		return CD_EIO;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("database directory %s: not a directory", dir);
		return CD_EIO;
	}
	if (p == NULL) {
		if (geteuid() == 0 && st.st_uid != 0) {
			char owner[64];
			file_perms_user_name(st.st_uid, owner, sizeof(owner));
			log_error("database directory %s belongs to %s, who is meant to run certdnsd: start "
			          "it with --user %s instead of as root", dir, owner, owner);
			return CD_EPERM;
		}
		return CD_OK;
	}
	int ret = check_owned_by_user(p, dir, dir, &st);
	static const char *const files[] = { "data.mdb", "lock.mdb", "master.key" };
	for (size_t i = 0; ret == CD_OK && i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		if (lstat(path, &st) == 0) {
			ret = check_owned_by_user(p, dir, path, &st);
		} else if (errno != ENOENT) {
			log_error("%s: %s", path, strerror(errno));
			ret = CD_EIO;
		}
	}
	return ret == CD_OK ? check_reachable(p, dir) : ret;
}

/* After the drop: every id is the user's, no group is root's, and root cannot come back. */
static int verify_dropped(const privdrop_t *p)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 ||
	    ru != p->uid || eu != p->uid || su != p->uid ||
	    rg != p->gid || eg != p->gid || sg != p->gid) {
		log_error("after dropping privileges the user or group ids are not %s's", p->user);
		return CD_EPERM;
	}
	gid_t groups[NGROUPS_MAX];
	int n = getgroups(NGROUPS_MAX, groups);
	for (int i = 0; i < n; i++) {
		if (groups[i] == 0) {
			log_error("user %s is a member of group root (gid 0): certdnsd would keep root's "
			          "group; take %s out of it or use another user", p->user, p->user);
			return CD_EPERM;
		}
	}
	if (n < 0 || setuid(0) == 0 || seteuid(0) == 0) {
		log_error("certdnsd could become root again after dropping privileges to %s; "
		          "refusing to serve", p->user);
		return CD_EPERM;
	}
	return CD_OK;
}

int privdrop_drop(const privdrop_t *p)
{
	/* Groups first: once the uid is not root, they can no longer be changed. */
	int rc = p->has_passwd ? initgroups(p->user, p->gid) : setgroups(1, &p->gid);
	if (rc != 0) {
		log_error("cannot set the supplementary groups of %s: %s", p->user, strerror(errno));
		return CD_EPERM;
	}
	if (setresgid(p->gid, p->gid, p->gid) != 0) {
		log_error("cannot switch to group %s (gid %u): %s", p->group, (unsigned)p->gid,
		          strerror(errno));
		return CD_EPERM;
	}
	if (setresuid(p->uid, p->uid, p->uid) != 0) {
		log_error("cannot switch to user %s (uid %u): %s", p->user, (unsigned)p->uid,
		          strerror(errno));
		return CD_EPERM;
	}
	int ret = verify_dropped(p);
	if (ret != CD_OK) {
		return ret;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		log_error("cannot set no_new_privs: %s", strerror(errno));
		return CD_EPERM;
	}
	log_info("dropped root: running as user %s (uid %u), group %s (gid %u)", p->user,
	         (unsigned)p->uid, p->group, (unsigned)p->gid);
	return CD_OK;
}
