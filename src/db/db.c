#include "db/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
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
	case EIO:
	case ENOSPC:
		log_error("%s: %s", what, mdb_strerror(rc));
		return CD_EIO;
	default:
		log_error("%s: %s", what, mdb_strerror(rc));
		return CD_EDB;
	}
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
		return db_error(mdb_put(txn, db->meta, &key, &val, 0), "writing database format");
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
	struct stat st;
	if (stat(dir, &st) != 0) {
		log_error("database directory %s: %s", dir, strerror(errno));
		return CD_EIO;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_error("database directory %s: not a directory", dir);
		return CD_EIO;
	}

	db_t *db = calloc(1, sizeof(*db));
	if (db == NULL || (db->path = strdup(dir)) == NULL) {
		free(db);
		return CD_ENOMEM;
	}
	int ret = CD_EDB;
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
	/* A new database gets the default map; an existing one keeps the size it
	 * records unless the caller asks for another (grow with --map-size). */
	char data_path[4096];
	snprintf(data_path, sizeof(data_path), "%s/data.mdb", dir);
	if (opts->map_size != 0) {
		mdb_env_set_mapsize(db->env, opts->map_size);
	} else if (stat(data_path, &st) != 0) {
		mdb_env_set_mapsize(db->env, DB_DEFAULT_MAP_SIZE);
	}
	/* NOTLS: read transactions belong to their owner, not to the thread, so a
	 * worker can hold its per-batch reader and a long zone-transfer reader. */
	unsigned flags = MDB_NOTLS | (opts->read_only ? MDB_RDONLY : 0);
	rc = mdb_env_open(db->env, dir, flags, 0600);
	if (rc != MDB_SUCCESS) {
		log_error("cannot open database %s: %s", dir, mdb_strerror(rc));
		ret = (rc == EACCES || rc == ENOENT) ? CD_EIO : CD_EDB;
		goto fail;
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
	return db_error(mdb_txn_commit(txn), "committing transaction");
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
		return db_error(rc, "writing zone id counter");
	}
	*id = next;
	return CD_OK;
}
