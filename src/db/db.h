#pragma once
/*
 * The certdns database: one LMDB environment, the single source of truth for
 * zones (and, later, certificates and keys).  certdnsd and certdnsctl both
 * open it through this API; writers use LMDB write transactions and readers
 * never block them, so a committed change is visible to the next query.
 *
 * Named databases:
 *   meta   "format" -> u32 schema version; "next_zone_id" -> u32
 *   zones  zone key (0x00 + lookup key of the apex, see dns/dname.h) -> zone record
 *   names  zone id (u32 BE) + lookup key of the owner relative to the apex -> node
 *          (every RRset of the owner, pre-encoded in wire format: see db/node.h)
 *   conf   zone key -> zone settings as JSON (serial policy, secondaries, ...)
 *          and "settings" -> database-wide defaults as JSON (db/zone_conf.h)
 *   journal zone id + u64 sequence -> one change of the zone (db/journal.h)
 *   tsig   key name (wire) -> algorithm and secret (db/tsig_store.h)
 *   accounts, certs  id -> ACME account / certificate as JSON (db/acme_store.h)
 *
 * Ownership: db_t owns the environment.  Every pointer handed out by a lookup
 * points into LMDB's map and is valid until its transaction ends or is reset.
 */

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DB_FORMAT_VERSION  1
#define DB_DEFAULT_MAP_SIZE  ((size_t)4 << 30)   /* 4 GiB of address space, sparse on disk */

typedef struct db {
	MDB_env *env;
	MDB_dbi meta;
	MDB_dbi zones;
	MDB_dbi names;
	MDB_dbi conf;
	MDB_dbi journal;
	MDB_dbi tsig;
	MDB_dbi accounts;
	MDB_dbi certs;
	char *path;
} db_t;

typedef struct {
	size_t map_size;    /* 0: the size the database records (DB_DEFAULT_MAP_SIZE when new);
	                       larger than that: grow the map and record the new size */
	bool read_only;     /* open without creating; writes fail */
	unsigned max_readers; /* 0: LMDB default (126) */
} db_options_t;

/*
 * Opens (creating when needed, unless read_only) the database in directory dir.
 * The directory and its LMDB files must pass the owner and mode checks of
 * common/file_perms.h; root opens another user's database as that user.
 * Returns 0, or:
 *   CD_EIO      dir missing and not creatable, or not accessible (logged with errno)
 *   CD_EPERM    dir or an LMDB file has an unsafe owner or mode (logged, with the fix)
 *   CD_EVERSION the database was written by an incompatible certdns version
 *   CD_EDB      any other LMDB error (logged)
 *   CD_ENOMEM
 */
int db_open(db_t **out, const char *dir, const db_options_t *opts);

/* Closes the environment.  No transaction may be open.  NULL is allowed. */
void db_close(db_t *db);

/* Begins a write transaction.  Returns 0, CD_EDB (logged). */
int db_write_begin(db_t *db, MDB_txn **txn);

/*
 * Commits a write transaction (txn is freed in every case).
 * Returns 0, or (nothing was written, the reason logged):
 *   CD_EMAPFULL the map is full (logged with the database, its map size and how to grow it)
 *   CD_ENOSPC   the device holding the database is full
 *   CD_EIO, CD_EDB
 */
int db_write_commit(MDB_txn *txn);

/* Begins a read-only transaction.  Returns 0 or CD_EDB. */
int db_read_begin(db_t *db, MDB_txn **txn);

/* Maps an LMDB return code onto CD_E* (MDB_MAP_FULL -> CD_EMAPFULL, ENOSPC -> CD_ENOSPC, ...)
 * and logs it with what. */
int db_error(int mdb_rc, const char *what);

/*
 * db_error for the return code of a write in txn (mdb_put, mdb_del, cursor
 * puts and deletes): a full map is logged with the database's path, its map
 * size and how to grow it (--map-size; doc/hosting.md).  Returns as db_error.
 */
int db_write_error(MDB_txn *txn, int mdb_rc, const char *what);

/* The map size and the bytes in use (up to the last page written).  Returns 0 or CD_EDB. */
int db_map_usage(db_t *db, size_t *map_size, size_t *used);

/* "64 MiB", "4 GiB", "1.5 MiB": a size for messages. */
void db_format_size(size_t bytes, char *buf, size_t len);

/* Next unused zone id (monotonic, never reused).  Returns 0 or CD_EDB. */
int db_alloc_zone_id(db_t *db, MDB_txn *txn, uint32_t *id);
