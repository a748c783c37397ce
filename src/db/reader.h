#pragma once
/*
 * The query path's view of the database: one long-lived read transaction and
 * names cursor per worker, renewed per batch of queries (mdb_txn_renew) so no
 * allocation or lock is taken per query and writers are never held back.
 */

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "db/node.h"

typedef enum {
	NODE_LOOKUP_FOUND = 0,   /* the name has a node (possibly with no RRsets) */
	NODE_LOOKUP_ENT,         /* no node, but names below it exist: an empty non-terminal */
	NODE_LOOKUP_NONE,        /* the name does not exist */
} node_lookup_t;

typedef struct {
	MDB_txn *txn;
	MDB_cursor *names;
	MDB_cursor *zones;
	MDB_dbi zones_dbi;
	MDB_dbi names_dbi;
	int active;
	/* The last zone apex looked up, valid until the snapshot ends: negative
	 * answers need its SOA each time. 0: none. */
	uint32_t apex_zone_id;
	node_t apex_node;
	/* Likewise the wildcard below that apex ("*.<apex>"), looked up by every
	 * NXDOMAIN answer for a name just below the apex.  0: none. */
	uint32_t apex_wildcard_zone_id;
	node_lookup_t apex_wildcard_found;
	node_t apex_wildcard_node;
	/* The last zone found that has no zone below it, valid until the snapshot
	 * ends: every name under its apex belongs to it.  NULL key: none. */
	const uint8_t *leaf_zone_key;   /* its zones key, in the map */
	size_t leaf_zone_key_len;
	zone_record_t leaf_zone;
} db_reader_t;

/* Allocates the transaction and cursor (left reset).  Returns 0 or CD_EDB/CD_ENOMEM. */
int db_reader_init(db_reader_t *reader, db_t *db);

/* Frees them.  Safe on a zeroed reader. */
void db_reader_destroy(db_reader_t *reader);

/*
 * Starts a snapshot of the current committed state.  Returns 0, or CD_EDB when
 * the database cannot be read (e.g. its map was grown past ours by another
 * process: certdnsd must be restarted then; logged).
 */
int db_reader_renew(db_reader_t *reader);

/* Ends the snapshot so writers can reuse the pages it pinned. */
void db_reader_reset(db_reader_t *reader);

/*
 * Finds the zone holding the name whose full lookup key (see dns/dname.h) is
 * in zkey[1..keylen]; zkey[0] must be 0x00 (the zones database key prefix).
 * Picks the deepest zone.  On success fills zone and *apex_keylen (the length
 * of the apex's part of the key).  Returns 0 or CD_ENOZONE.
 */
int db_find_zone(db_reader_t *reader, uint8_t *zkey, size_t keylen,
                 zone_record_t *zone, size_t *apex_keylen);

/*
 * Looks up the node of zone_id at rel_key (the lookup key relative to the
 * apex; empty for the apex).  nkey must have 4 bytes of room before rel_key:
 * the zone id is written there so no copy is made.
 */
node_lookup_t db_get_node(db_reader_t *reader, uint32_t zone_id, uint8_t *rel_key,
                          size_t rel_len, node_t *node);

/* db_get_node for the apex of zone_id, answered from memory after the first call of a snapshot. */
node_lookup_t db_get_apex(db_reader_t *reader, uint32_t zone_id, node_t *node);

/* db_get_node for "*" just below the apex of zone_id, likewise answered from memory. */
node_lookup_t db_get_apex_wildcard(db_reader_t *reader, uint32_t zone_id, node_t *node);
