#pragma once
/*
 * Settings that are data: per-zone configuration and database-wide defaults,
 * stored as JSON objects in the "conf" database.  Not on the query path.
 *
 * Zone configuration keys (all optional):
 *   "serial_policy": "increment" | "dateserial"      (default "increment")
 *   "secondaries":   [ {"address": "192.0.2.2", "port": 53, "tsig": "keyname."} ]
 *
 * Database settings (certdnsctl settings show|set):
 *   "default_ns":    [ "ns1.example.net.", ... ]    NS set of new zones
 *   "soa_mname":     "ns1.example.net."              (default: first default_ns)
 *   "soa_rname":     "hostmaster.example.net."
 *   "default_ttl", "soa_refresh", "soa_retry", "soa_expire", "soa_minimum": numbers
 *   "serial_policy": default for new zones
 */

#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>

#include "db/db.h"

/*
 * Loads the configuration of the zone at apex: a new reference the caller
 * owns (an empty object when none is stored).  Returns NULL on ENOMEM or a
 * corrupt record (logged).
 */
json_t *zone_conf_get(db_t *db, MDB_txn *txn, const uint8_t *apex);

/* Stores it (replacing).  Returns 0, CD_EMAPFULL, CD_EDB, CD_ENOMEM. */
int zone_conf_put(db_t *db, MDB_txn *txn, const uint8_t *apex, const json_t *conf);

/* Deletes it.  Returns 0 or CD_EDB (absent is fine). */
int zone_conf_delete(db_t *db, MDB_txn *txn, const uint8_t *apex);

/* Database-wide settings, with defaults filled in.  New reference, or NULL on ENOMEM. */
json_t *db_settings_get(db_t *db, MDB_txn *txn);
int db_settings_put(db_t *db, MDB_txn *txn, const json_t *settings);

/* Number setting with a default. */
uint32_t db_settings_number(const json_t *settings, const char *key, uint32_t dflt);

/*
 * Calls cb for every zone that has a stored configuration (whether or not the
 * zone exists yet: a followed zone is configured before its first transfer).
 * cb gets the apex (wire) and the configuration; non-zero stops the walk.
 */
typedef int (*zone_conf_cb)(void *ctx, const uint8_t *apex, const json_t *conf);
int zone_conf_foreach(db_t *db, MDB_txn *txn, zone_conf_cb cb, void *ctx);
