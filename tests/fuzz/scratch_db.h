#pragma once
/*
 * A scratch LMDB database for the fuzz targets that need one (fuzz_query,
 * fuzz_zonefile): a fresh private directory (fuzz_tmpdir), the environment
 * opened without syncs (nothing in it has to survive a crash), and a
 * query-path reader on it.  Include after fuzzing.h.
 */

#include <lmdb.h>

#include "common/error.h"
#include "db/db.h"
#include "db/reader.h"

typedef struct {
	char dir[512];
	db_t *db;
	db_reader_t reader;
} fuzz_db_t;

/* Opens f (tag names the directory) with a map of map_size bytes; aborts on failure. */
static inline void fuzz_db_open(fuzz_db_t *f, const char *tag, size_t map_size)
{
	fuzz_tmpdir(f->dir, sizeof(f->dir), tag);
	db_options_t opts = { .map_size = map_size };
	FUZZ_CHECK(db_open(&f->db, f->dir, &opts) == CD_OK, "cannot open a database in %s", f->dir);
	mdb_env_set_flags(f->db->env, MDB_NOSYNC, 1);
	FUZZ_CHECK(db_reader_init(&f->reader, f->db) == CD_OK, "cannot start a reader");
}

/* Closes f and removes its directory (with the files the caller left in it). */
static inline void fuzz_db_close(fuzz_db_t *f)
{
	db_reader_destroy(&f->reader);
	db_close(f->db);
	fuzz_rmdir(f->dir);
}
