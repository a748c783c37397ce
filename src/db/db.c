#include "db/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/file_perms.h"
#include "common/log.h"
#include "dns/wire.h"

int db_error(int rc, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS:
		return CD_OK;
	case MDB_NOTFOUND:
		return CD_ENOTFOUND;
	case MDB_MAP_RESIZED:
		log_error("%s: the database map was grown by another process; restart certdnsd "
		          "to use the larger map", what);
		return CD_EDB;
	case MDB_MAP_FULL:
		log_error("%s: %s", what, cd_strerror(CD_EMAPFULL));
		return CD_EMAPFULL;
	case ENOMEM:
		return CD_ENOMEM;
	case ENOSPC:
		log_error("%s: no space left on the device holding the database (ENOSPC); nothing "
		          "was written: free some space there and try again", what);
		return CD_ENOSPC;
	case EIO:
		log_error("%s: %s", what, mdb_strerror(rc));
		return CD_EIO;
	default:
		log_error("%s: %s", what, mdb_strerror(rc));
		return CD_EDB;
	}
}

void db_format_size(size_t bytes, char *buf, size_t len)
{
	if (bytes >= ((size_t)1 << 30) && bytes % ((size_t)1 << 30) == 0) {
		snprintf(buf, len, "%zu GiB", bytes >> 30);
	} else if (bytes >= ((size_t)1 << 20) && bytes % ((size_t)1 << 20) == 0) {
		snprintf(buf, len, "%zu MiB", bytes >> 20);
	} else {
		snprintf(buf, len, "%.1f MiB", (double)bytes / (1 << 20));
	}
}

/* A --map-size argument for twice the given size, rounded up to whole MiB. */
static void suggest_map_size(size_t bytes, char *buf, size_t len)
{
	size_t mib = ((bytes + ((size_t)1 << 20) - 1) >> 20) * 2;
	if (mib >= 1024 && mib % 1024 == 0) {
		snprintf(buf, len, "%zuG", mib / 1024);
	} else {
		snprintf(buf, len, "%zuM", mib);
	}
}

/* The one message for a full map: which database, how big its map is, how to grow it. */
static int map_full(MDB_env *env, const char *what)
{
	MDB_envinfo info;
	const char *path = "?";
	char size[32], bigger[32];
	mdb_env_info(env, &info);
	mdb_env_get_path(env, &path);
	db_format_size(info.me_mapsize, size, sizeof(size));
	suggest_map_size(info.me_mapsize, bigger, sizeof(bigger));
	log_error("%s: the database %s is full: its map of %s is used up and nothing was written. "
	          "Grow it: restart certdnsd with --map-size %s (the database keeps the new size, "
	          "certdnsctl then uses it too), or, while certdnsd is stopped, give certdnsctl "
	          "--map-size %s; see 'When the database is full' in doc/hosting.md",
	          what, path, size, bigger, bigger);
	return CD_EMAPFULL;
}

int db_write_error(MDB_txn *txn, int rc, const char *what)
{
	if (rc == MDB_MAP_FULL && txn != NULL) {
		return map_full(mdb_txn_env(txn), what);
	}
	return db_error(rc, what);
}

int db_map_usage(db_t *db, size_t *map_size, size_t *used)
{
	MDB_envinfo info;
	MDB_stat st;
	int rc = mdb_env_info(db->env, &info);
	if (rc == MDB_SUCCESS) {
		rc = mdb_env_stat(db->env, &st);
	}
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "reading the database map size");
	}
	*map_size = info.me_mapsize;
	*used = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
	return CD_OK;
}

static int db_check_format(db_t *db, MDB_txn *txn, bool writable)
{
	MDB_val key = { .mv_size = 6, .mv_data = "format" };
	MDB_val val;
	int rc = mdb_get(txn, db->meta, &key, &val);
	if (rc == MDB_NOTFOUND) {
		if (!writable) {
			log_error("%s: not a certdns database (no format record)", db->path);
			return CD_EVERSION;
		}
		uint8_t buf[4];
		wire_write_u32(buf, DB_FORMAT_VERSION);
		val.mv_size = sizeof(buf);
		val.mv_data = buf;
		return db_write_error(txn, mdb_put(txn, db->meta, &key, &val, 0),
		                      "writing database format");
	}
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "reading database format");
	}
	if (val.mv_size != 4 || wire_read_u32(val.mv_data) != DB_FORMAT_VERSION) {
		log_error("%s: database format %u is not supported by this certdns (expects %u)",
		          db->path, val.mv_size == 4 ? wire_read_u32(val.mv_data) : 0,
		          DB_FORMAT_VERSION);
		return CD_EVERSION;
	}
	return CD_OK;
}

/*
 * The directory, its LMDB files and the master key (certs/vault.h), those that
 * exist, must be safe to trust (common/file_perms.h): checked at every open, so
 * a loose mode is reported at once, not when a key is first needed.
 */
static int db_check_files(const char *dir, const struct stat *dir_st)
{
	int ret = file_perms_check_dir(dir, dir_st);
	static const struct {
		const char *name;
		file_perms_kind_t kind;
	} files[] = {
		{ "data.mdb", FILE_PERMS_DATA },
		{ "lock.mdb", FILE_PERMS_LOCK },
		{ "master.key", FILE_PERMS_SECRET },
	};
	for (size_t i = 0; ret == CD_OK && i < sizeof(files) / sizeof(files[0]); i++) {
		char path[4200];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		if (lstat(path, &st) == 0) {
			ret = file_perms_check_file(path, &st, dir_st, files[i].kind);
		} else if (errno != ENOENT) {
			log_error("%s: %s", path, strerror(errno));
			ret = CD_EIO;
		}
	}
	return ret;
}

/* LMDB writes the map size into the meta page of a commit that changed
 * something: rewriting the format record (same value) is that change. */
static int db_record_map_size(db_t *db, MDB_txn *txn)
{
	uint8_t buf[4];
	wire_write_u32(buf, DB_FORMAT_VERSION);
	MDB_val key = { .mv_size = 6, .mv_data = "format" };
	MDB_val val = { .mv_size = sizeof(buf), .mv_data = buf };
	return db_write_error(txn, mdb_put(txn, db->meta, &key, &val, 0), "recording the map size");
}

int db_open(db_t **out, const char *dir, const db_options_t *opts)
{
	db_options_t defaults = { 0 };
	if (opts == NULL) {
		opts = &defaults;
	}
	if (!opts->read_only && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("cannot create database directory %s: %s", dir, strerror(errno));
		return CD_EIO;
	}
	struct stat dir_st, st;
	if (stat(dir, &dir_st) != 0) {
		log_error("database directory %s: %s", dir, strerror(errno));
		return CD_EIO;
	}
	if (!S_ISDIR(dir_st.st_mode)) {
		log_error("database directory %s: not a directory", dir);
		return CD_EIO;
	}
	int ret = db_check_files(dir, &dir_st);
	if (ret != CD_OK) {
		return ret;
	}

	db_t *db = calloc(1, sizeof(*db));
	if (db == NULL || (db->path = strdup(dir)) == NULL) {
		free(db);
		return CD_ENOMEM;
	}
	ret = CD_EDB;
	MDB_txn *txn = NULL;
	int rc = mdb_env_create(&db->env);
	if (rc != MDB_SUCCESS) {
		ret = db_error(rc, "creating LMDB environment");
		goto fail;
	}
	mdb_env_set_maxdbs(db->env, 16);
	if (opts->max_readers > 0) {
		mdb_env_set_maxreaders(db->env, opts->max_readers);
	}
	/* A new database gets the default map (or the size asked for); an existing
	 * one keeps the size it records, grown below when a larger one is asked for. */
	char data_path[4096];
	snprintf(data_path, sizeof(data_path), "%s/data.mdb", dir);
	if (stat(data_path, &st) != 0) {
		mdb_env_set_mapsize(db->env, opts->map_size != 0 ? opts->map_size : DB_DEFAULT_MAP_SIZE);
	}
	/* NOTLS: read transactions belong to their owner, not to the thread, so a
	 * worker can hold its per-batch reader and a long zone-transfer reader. */
	unsigned flags = MDB_NOTLS | (opts->read_only ? MDB_RDONLY : 0);
	/* Root opening another user's database does it as that user: the files it
	 * creates then belong to the user certdnsd runs as (see common/file_perms.h). */
	file_perms_identity_t saved;
	ret = file_perms_act_as_owner(&dir_st, &saved);
	if (ret != CD_OK) {
		goto fail;
	}
	rc = mdb_env_open(db->env, dir, flags, 0600);
	file_perms_restore(&saved);
	ret = CD_EDB;
	if (rc != MDB_SUCCESS) {
		if (rc == EACCES && saved.switched) {
			char owner[64];
			log_error("cannot open database %s as its owner %s: %s (is a parent directory "
			          "closed to %s?)", dir, file_perms_user_name(dir_st.st_uid, owner,
			          sizeof(owner)), mdb_strerror(rc), owner);
		} else {
			log_error("cannot open database %s: %s", dir, mdb_strerror(rc));
		}
		ret = (rc == EACCES || rc == ENOENT) ? CD_EIO : CD_EDB;
		goto fail;
	}
	/* Grow, never shrink: a smaller map than the data's would not open for the
	 * other processes.  The size is recorded at the commit below, so certdnsd
	 * and certdnsctl started later use it without being told. */
	bool grown = false;
	MDB_envinfo info;
	if (!opts->read_only && opts->map_size != 0 && mdb_env_info(db->env, &info) == MDB_SUCCESS &&
	    opts->map_size > info.me_mapsize) {
		rc = mdb_env_set_mapsize(db->env, opts->map_size);
		if (rc != MDB_SUCCESS) {
			ret = db_error(rc, "growing the database map");
			goto fail;
		}
		grown = true;
	}
	int dead = 0;
	mdb_reader_check(db->env, &dead);   /* slots left by crashed processes pin old pages */
	if (dead > 0) {
		log_warning("%s: released %d reader slot%s left by a process that died", dir, dead,
		            dead == 1 ? "" : "s");
	}
	rc = mdb_txn_begin(db->env, NULL, opts->read_only ? MDB_RDONLY : 0, &txn);
	if (rc != MDB_SUCCESS) {
		ret = db_error(rc, "opening database transaction");
		goto fail;
	}
	unsigned dbi_flags = opts->read_only ? 0 : MDB_CREATE;
	if ((rc = mdb_dbi_open(txn, "meta", dbi_flags, &db->meta)) != MDB_SUCCESS ||
	    (rc = mdb_dbi_open(txn, "zones", dbi_flags, &db->zones)) != MDB_SUCCESS ||
	    (rc = mdb_dbi_open(txn, "names", dbi_flags, &db->names)) != MDB_SUCCESS ||
	    (rc = mdb_dbi_open(txn, "conf", dbi_flags, &db->conf)) != MDB_SUCCESS ||
	    (rc = mdb_dbi_open(txn, "journal", dbi_flags, &db->journal)) != MDB_SUCCESS ||
	    (rc = mdb_dbi_open(txn, "tsig", dbi_flags, &db->tsig)) != MDB_SUCCESS ||
	    (rc = mdb_dbi_open(txn, "accounts", dbi_flags, &db->accounts)) != MDB_SUCCESS ||
	    (rc = mdb_dbi_open(txn, "certs", dbi_flags, &db->certs)) != MDB_SUCCESS) {
		if (rc == MDB_NOTFOUND) {
			log_error("%s: not a certdns database", dir);
			ret = CD_EVERSION;
		} else {
			ret = db_error(rc, "opening named databases");
		}
		goto fail;
	}
	ret = db_check_format(db, txn, !opts->read_only);
	if (ret == CD_OK && grown) {
		ret = db_record_map_size(db, txn);
	}
	if (ret != CD_OK) {
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != MDB_SUCCESS) {
		ret = db_error(rc, "initialising database");
		goto fail;
	}
	*out = db;
	return CD_OK;
fail:
	if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	db_close(db);
	return ret;
}

void db_close(db_t *db)
{
	if (db == NULL) {
		return;
	}
	if (db->env != NULL) {
		mdb_env_close(db->env);
	}
	free(db->path);
	free(db);
}

int db_write_begin(db_t *db, MDB_txn **txn)
{
	/* No remap on MDB_MAP_RESIZED: LMDB allows it only with no transaction
	 * open in the process, which a daemon with busy workers cannot promise. */
	return db_error(mdb_txn_begin(db->env, NULL, 0, txn), "beginning write transaction");
}

int db_write_commit(MDB_txn *txn)
{
	MDB_env *env = mdb_txn_env(txn);
	int rc = mdb_txn_commit(txn);
	/* Saving the free list at commit can fill the map too. */
	return rc == MDB_MAP_FULL ? map_full(env, "committing transaction")
	                          : db_error(rc, "committing transaction");
}

int db_read_begin(db_t *db, MDB_txn **txn)
{
	return db_error(mdb_txn_begin(db->env, NULL, MDB_RDONLY, txn), "beginning read transaction");
}

int db_alloc_zone_id(db_t *db, MDB_txn *txn, uint32_t *id)
{
	MDB_val key = { .mv_size = 12, .mv_data = "next_zone_id" };
	MDB_val val;
	uint32_t next = 1;
	int rc = mdb_get(txn, db->meta, &key, &val);
	if (rc == MDB_SUCCESS && val.mv_size == 4) {
		next = wire_read_u32(val.mv_data);
	} else if (rc != MDB_NOTFOUND && rc != MDB_SUCCESS) {
		return db_error(rc, "reading zone id counter");
	}
	uint8_t buf[4];
	wire_write_u32(buf, next + 1);
	val.mv_size = 4;
	val.mv_data = buf;
	rc = mdb_put(txn, db->meta, &key, &val, 0);
	if (rc != MDB_SUCCESS) {
		return db_write_error(txn, rc, "writing zone id counter");
	}
	*id = next;
	return CD_OK;
}
