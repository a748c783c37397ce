#include "acme/account.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/keys.h"
#include "common/error.h"
#include "db/acme_store.h"

int acme_account_client(db_t *db, const vault_t *vault, uint32_t id, acme_client_t **out,
                        char *err, size_t errlen)
{
	MDB_txn *txn;
	int ret = db_read_begin(db, &txn);
	if (ret != CD_OK) {
		snprintf(err, errlen, "cannot read the database");
		return ret;
	}
	json_t *acct = acme_store_get(db, txn, ACME_STORE_ACCOUNTS, id, &ret);
	mdb_txn_abort(txn);
	if (acct == NULL) {
		snprintf(err, errlen, "ACME account %u does not exist", id);
		return ret;
	}
	const char *sealed = json_string_value(json_object_get(acct, "key"));
	uint8_t *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	acme_client_t *client = NULL;
	ret = vault_open_sealed(vault, "account-key", sealed ? sealed : "", &pem, &len);
	if (ret == CD_OK) {
		ret = key_from_pem((const char *)pem, len, &key);
		OPENSSL_cleanse(pem, len);
		free(pem);
	}
	if (ret != CD_OK) {
		snprintf(err, errlen, "the key of ACME account %u cannot be read: %s", id, cd_strerror(ret));
	} else if ((ret = acme_client_new(&client, json_string_value(json_object_get(acct, "directory")),
	                                  json_string_value(json_object_get(acct, "ca_file")))) != CD_OK ||
	           (ret = acme_client_set_account(client, key,
	                                          json_string_value(json_object_get(acct, "url")))) != CD_OK) {
		snprintf(err, errlen, "cannot use ACME account %u: %s", id, cd_strerror(ret));
		acme_client_free(client);
		client = NULL;
	}
	EVP_PKEY_free(key);
	json_decref(acct);
	*out = client;
	return ret;
}

int acme_account_store_key(db_t *db, const vault_t *vault, uint32_t id, EVP_PKEY *key)
{
	char *pem = NULL, *sealed = NULL;
	int ret = key_to_pem(key, &pem);
	if (ret == CD_OK) {
		ret = vault_seal(vault, "account-key", (const uint8_t *)pem, strlen(pem), &sealed);
		OPENSSL_cleanse(pem, strlen(pem));
	}
	free(pem);
	if (ret != CD_OK) {
		return ret;
	}
	MDB_txn *txn = NULL;
	ret = db_write_begin(db, &txn);
	if (ret != CD_OK) {
		txn = NULL;
	}
	json_t *acct = NULL;
	if (ret == CD_OK) {
		acct = acme_store_get(db, txn, ACME_STORE_ACCOUNTS, id, &ret);
	}
	if (acct != NULL) {
		json_object_set_new(acct, "key", json_string(sealed));
		json_object_set_new(acct, "key_type", json_string(key_type_name(key)));
		ret = acme_store_put(db, txn, ACME_STORE_ACCOUNTS, id, acct);
		json_decref(acct);
	}
	if (txn != NULL && ret == CD_OK) {
		ret = db_write_commit(txn);
	} else if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	free(sealed);
	return ret;
}
