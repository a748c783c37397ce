#include "db/tsig_store.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "dns/dname.h"
#include "zonefile/zonefile.h"

int tsig_algorithm_supported(const char *algorithm)
{
	static const char *const algs[] = {
		"hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5",
	};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (strcasecmp(algorithm, algs[i]) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Key: the lookup key of the name, so lookups ignore case. */
static int name_key(const char *name, uint8_t key[DNAME_KEY_MAX], size_t *len, char canon[1024])
{
	uint8_t wire[DNS_MAX_NAME];
	if (zonefile_parse_name(name, wire) < 0) {
		return CD_EINVAL;
	}
	*len = dname_to_key(wire, key);
	if (*len == 0) {
		return CD_EINVAL;   /* the root is no key name */
	}
	if (canon != NULL) {
		dname_to_lower(wire);
		dname_to_str(wire, canon, 1024);
	}
	return CD_OK;
}

static int decode(const MDB_val *v, tsig_key_t *key)
{
	json_error_t err;
	json_t *o = json_loadb(v->mv_data, v->mv_size, 0, &err);
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *alg = json_string_value(json_object_get(o, "algorithm"));
	const char *secret = json_string_value(json_object_get(o, "secret"));
	int ret = CD_EMALF;
	if (name && alg && secret) {
		snprintf(key->name, sizeof(key->name), "%s", name);
		snprintf(key->algorithm, sizeof(key->algorithm), "%s", alg);
		snprintf(key->secret, sizeof(key->secret), "%s", secret);
		ret = CD_OK;
	}
	json_decref(o);
	return ret;
}

int tsig_store_put(db_t *db, MDB_txn *txn, const tsig_key_t *key)
{
	uint8_t k[DNAME_KEY_MAX];
	size_t klen;
	char canon[1024];
	if (name_key(key->name, k, &klen, canon) != CD_OK) {
		return CD_EINVAL;
	}
	json_t *o = json_pack("{s:s, s:s, s:s}", "name", canon, "algorithm", key->algorithm,
	                      "secret", key->secret);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL) {
		return CD_ENOMEM;
	}
	MDB_val mk = { .mv_size = klen, .mv_data = k };
	MDB_val mv = { .mv_size = strlen(text), .mv_data = text };
	int rc = mdb_put(txn, db->tsig, &mk, &mv, 0);
	free(text);
	return db_write_error(txn, rc, "writing TSIG key");
}

int tsig_store_get(db_t *db, MDB_txn *txn, const char *name, tsig_key_t *key)
{
	uint8_t k[DNAME_KEY_MAX];
	size_t klen;
	if (name_key(name, k, &klen, NULL) != CD_OK) {
		return CD_ENOTFOUND;
	}
	MDB_val mk = { .mv_size = klen, .mv_data = k }, mv;
	int rc = mdb_get(txn, db->tsig, &mk, &mv);
	if (rc != MDB_SUCCESS) {
		return rc == MDB_NOTFOUND ? CD_ENOTFOUND : db_error(rc, "reading TSIG key");
	}
	return decode(&mv, key);
}

int tsig_store_delete(db_t *db, MDB_txn *txn, const char *name)
{
	uint8_t k[DNAME_KEY_MAX];
	size_t klen;
	if (name_key(name, k, &klen, NULL) != CD_OK) {
		return CD_ENOTFOUND;
	}
	MDB_val mk = { .mv_size = klen, .mv_data = k };
	int rc = mdb_del(txn, db->tsig, &mk, NULL);
	if (rc == MDB_NOTFOUND) {
		return CD_ENOTFOUND;
	}
	return db_write_error(txn, rc, "deleting TSIG key");
}

int tsig_store_foreach(db_t *db, MDB_txn *txn, tsig_store_cb cb, void *ctx)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->tsig, &cur);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening cursor");
	}
	MDB_val k, v;
	int ret = CD_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		tsig_key_t key;
		if (decode(&v, &key) == CD_OK && (ret = cb(ctx, &key)) != 0) {
			break;
		}
	}
	mdb_cursor_close(cur);
	return ret;
}
