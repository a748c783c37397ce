#pragma once
/* An ACME client for a stored account: its directory, CA file and unsealed key. */

#include <stddef.h>
#include <stdint.h>

#include "acme/acme_client.h"
#include "certs/vault.h"
#include "db/db.h"

/*
 * Loads account id and returns a client signing as it.  Returns 0, or
 * CD_ENOTFOUND (no such account), CD_ECRYPTO (the key does not unseal),
 * another CD_E* code; err says which.
 */
int acme_account_client(db_t *db, const vault_t *vault, uint32_t id, acme_client_t **out,
                        char *err, size_t errlen);

/* Seals key as an account key into the account record (replacing).  Returns 0 or a CD_E* code. */
int acme_account_store_key(db_t *db, const vault_t *vault, uint32_t id, EVP_PKEY *key);
