#pragma once
/*
 * TSIG keys (RFC 8945) as data: name -> algorithm and base64 secret, in the
 * "tsig" database.  The secret never leaves through listings or logs.
 */

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"

#define TSIG_SECRET_MAX 128   /* base64 text */
#define TSIG_ALG_MAX 32

typedef struct {
	char name[1024];                  /* presentation format, absolute ("key1.") */
	char algorithm[TSIG_ALG_MAX];     /* "hmac-sha256", ... */
	char secret[TSIG_SECRET_MAX];     /* base64 */
} tsig_key_t;

/* Is this an algorithm we sign and verify with?  ("hmac-sha256", "hmac-sha512", ...) */
int tsig_algorithm_supported(const char *algorithm);

/* Stores a key (replacing).  Returns 0, CD_EINVAL (bad name), CD_EMAPFULL, CD_EDB. */
int tsig_store_put(db_t *db, MDB_txn *txn, const tsig_key_t *key);

/* Loads the key of that name (any case, with or without final dot).  Returns 0, CD_ENOTFOUND, CD_EDB. */
int tsig_store_get(db_t *db, MDB_txn *txn, const char *name, tsig_key_t *key);

/* Deletes a key.  Returns 0, CD_ENOTFOUND, CD_EDB. */
int tsig_store_delete(db_t *db, MDB_txn *txn, const char *name);

/* Calls cb for every key in name order; non-zero from cb stops and is returned. */
typedef int (*tsig_store_cb)(void *ctx, const tsig_key_t *key);
int tsig_store_foreach(db_t *db, MDB_txn *txn, tsig_store_cb cb, void *ctx);
