#pragma once
/*
 * Zones as a whole: look up, list, delete, transfer ACLs, walking their nodes.
 * All functions work inside a transaction the caller owns; pointers they hand
 * out point into LMDB memory and live as long as that transaction.
 */

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "db/node.h"

/* Zones database key of an apex: 0x00 then the apex's lookup key.  Returns its length. */
size_t zone_store_key(const uint8_t *apex, uint8_t *key);

/* Looks up the zone with this apex (wire name).  Returns 0, CD_ENOTFOUND, CD_EDB, CD_EVERSION. */
int zone_store_get(db_t *db, MDB_txn *txn, const uint8_t *apex, zone_record_t *zone);

/* Writes (creates or replaces) the zone record of apex.  Returns 0, CD_EMAPFULL, CD_EDB. */
int zone_store_put_record(db_t *db, MDB_txn *txn, const uint8_t *apex, uint32_t id,
                          uint32_t serial, const zone_acl_entry_t *acl, unsigned acl_count);

/* Deletes every node stored under zone id.  Returns 0 or CD_EDB. */
int zone_store_delete_nodes(db_t *db, MDB_txn *txn, uint32_t id);

/* Deletes a zone and all its nodes.  Returns 0, CD_ENOTFOUND, CD_EDB. */
int zone_store_delete(db_t *db, MDB_txn *txn, const uint8_t *apex);

/* Replaces the transfer ACL of a zone.  Returns 0, CD_ENOTFOUND, CD_ELIMIT (over ZONE_ACL_MAX), CD_EDB. */
int zone_store_set_acl(db_t *db, MDB_txn *txn, const uint8_t *apex,
                       const zone_acl_entry_t *acl, unsigned acl_count);

/*
 * Calls cb for every zone in canonical order of their apexes; a non-zero
 * return from cb stops the walk and is returned.  Returns 0 or CD_EDB.
 */
typedef int (*zone_store_zone_cb)(void *ctx, const zone_record_t *zone);
int zone_store_foreach_zone(db_t *db, MDB_txn *txn, zone_store_zone_cb cb, void *ctx);

/*
 * Calls cb for every node of zone id in canonical order (the apex first).
 * A non-zero return from cb stops the walk and is returned.  Returns 0 or CD_EDB.
 */
typedef int (*zone_store_node_cb)(void *ctx, const node_t *node);
int zone_store_foreach_node(db_t *db, MDB_txn *txn, uint32_t id, zone_store_node_cb cb, void *ctx);

/*
 * A resumable walk over the nodes of one zone, for streaming zone transfers.
 * The cursor belongs to the iterator; the transaction to the caller.
 */
typedef struct {
	MDB_cursor *cursor;
	uint32_t zone_id;
	int started;
} zone_node_iter_t;

int zone_node_iter_init(zone_node_iter_t *it, db_t *db, MDB_txn *txn, uint32_t id);
/* Returns 0 and fills node, CD_ENOTFOUND at the end, CD_EDB. */
int zone_node_iter_next(zone_node_iter_t *it, node_t *node);
void zone_node_iter_close(zone_node_iter_t *it);

/*
 * Finds the deepest zone of ours holding name (wire) and, in it, the node of
 * name.  Returns 0 with zone filled and *found telling whether name has a node
 * (then node is filled), or CD_ENOZONE.  Pointers live as long as txn.
 */
int zone_store_lookup(db_t *db, MDB_txn *txn, const uint8_t *name, zone_record_t *zone,
                      node_t *node, bool *found);
