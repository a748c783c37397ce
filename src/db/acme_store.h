#pragma once
/*
 * ACME accounts and certificates as data: JSON records keyed by a numeric id
 * (u32 BE) in the "accounts" and "certs" databases.  Private keys inside are
 * sealed (certs/vault.h); everything else is plain so `certdnsctl` can show it.
 *
 * Account: {"directory", "ca_file"?, "contact": [...], "url" (kid), "key" (sealed
 *           PEM), "key_type", "status", "created"}
 * Certificate: {"names": [...], "key_type", "account": id, "state", "status",
 *           "order_url"?, "authorizations"?, "finalize"?, "records": [{zone,
 *           owner, value}]?, "key"? (sealed PEM), "chain"? (PEM), "error"?
 *           (problem document), "retry_at"?, "not_before"?, "not_after"?,
 *           "serial"?, "issuer"?, "created", "updated", "events": [...]}
 */

#include <jansson.h>
#include <lmdb.h>
#include <stdint.h>

#include "db/db.h"

typedef enum { ACME_STORE_ACCOUNTS, ACME_STORE_CERTS } acme_store_kind_t;

/* Allocates the next id of a kind (monotonic).  Returns 0 or CD_EDB. */
int acme_store_new_id(db_t *db, MDB_txn *txn, acme_store_kind_t kind, uint32_t *id);

/* Writes a record (replacing).  Returns 0, CD_EMAPFULL, CD_EDB, CD_ENOMEM. */
int acme_store_put(db_t *db, MDB_txn *txn, acme_store_kind_t kind, uint32_t id, const json_t *rec);

/* Reads a record: a new reference, or NULL (*err: CD_ENOTFOUND, CD_EDB, CD_EMALF). */
json_t *acme_store_get(db_t *db, MDB_txn *txn, acme_store_kind_t kind, uint32_t id, int *err);

/* Deletes a record.  Returns 0, CD_ENOTFOUND, CD_EDB. */
int acme_store_delete(db_t *db, MDB_txn *txn, acme_store_kind_t kind, uint32_t id);

/* Calls cb for every record in id order; non-zero from cb stops and is returned. */
typedef int (*acme_store_cb)(void *ctx, uint32_t id, const json_t *rec);
int acme_store_foreach(db_t *db, MDB_txn *txn, acme_store_kind_t kind, acme_store_cb cb, void *ctx);
