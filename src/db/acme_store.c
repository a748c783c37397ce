#include "db/acme_store.h"

#include <string.h>

#include "common/error.h"
#include "dns/wire.h"

static MDB_dbi dbi_of(const db_t *db, acme_store_kind_t kind)
{
	return kind == ACME_STORE_ACCOUNTS ? db->accounts : db->certs;
}

int acme_store_new_id(db_t *db, MDB_txn *txn, acme_store_kind_t kind, uint32_t *id)
{
	const char *name = kind == ACME_STORE_ACCOUNTS ? "next_account_id" : "next_cert_id";
	MDB_val key = { .mv_size = strlen(name), .mv_data = (void *)name }, val;
	uint32_t next = 1;
	int rc = mdb_get(txn, db->meta, &key, &val);
	if (rc == MDB_SUCCESS && val.mv_size == 4) {
		next = wire_read_u32(val.mv_data);
	} else if (rc != MDB_NOTFOUND && rc != MDB_SUCCESS) {
		return db_error(rc, "reading id counter");
	}
	uint8_t buf[4];
	wire_write_u32(buf, next + 1);
	val = (MDB_val){ .mv_size = 4, .mv_data = buf };
	rc = mdb_put(txn, db->meta, &key, &val, 0);
	if (rc != MDB_SUCCESS) {
		return db_write_error(txn, rc, "writing id counter");
	}
	*id = next;
	return CD_OK;
}

int acme_store_put(db_t *db, MDB_txn *txn, acme_store_kind_t kind, uint32_t id, const json_t *rec)
{
	char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		return CD_ENOMEM;
	}
	uint8_t k[4];
	wire_write_u32(k, id);
	MDB_val key = { .mv_size = 4, .mv_data = k };
	MDB_val val = { .mv_size = strlen(text), .mv_data = text };
	int rc = mdb_put(txn, dbi_of(db, kind), &key, &val, 0);
	free(text);
	return db_write_error(txn, rc, kind == ACME_STORE_ACCOUNTS ? "writing account"
	                                                           : "writing certificate");
}

json_t *acme_store_get(db_t *db, MDB_txn *txn, acme_store_kind_t kind, uint32_t id, int *err)
{
	uint8_t k[4];
	wire_write_u32(k, id);
	MDB_val key = { .mv_size = 4, .mv_data = k }, val;
	int rc = mdb_get(txn, dbi_of(db, kind), &key, &val);
	if (rc != MDB_SUCCESS) {
		*err = rc == MDB_NOTFOUND ? CD_ENOTFOUND : db_error(rc, "reading ACME data");
		return NULL;
	}
	json_error_t jerr;
	json_t *rec = json_loadb(val.mv_data, val.mv_size, 0, &jerr);
	if (!json_is_object(rec)) {
		json_decref(rec);
		*err = CD_EMALF;
		return NULL;
	}
	*err = CD_OK;
	return rec;
}

int acme_store_delete(db_t *db, MDB_txn *txn, acme_store_kind_t kind, uint32_t id)
{
	uint8_t k[4];
	wire_write_u32(k, id);
	MDB_val key = { .mv_size = 4, .mv_data = k };
	int rc = mdb_del(txn, dbi_of(db, kind), &key, NULL);
	return rc == MDB_NOTFOUND ? CD_ENOTFOUND : db_write_error(txn, rc, "deleting ACME data");
}

int acme_store_foreach(db_t *db, MDB_txn *txn, acme_store_kind_t kind, acme_store_cb cb, void *ctx)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, dbi_of(db, kind), &cur);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening cursor");
	}
	MDB_val key, val;
	int ret = CD_OK;
	for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
		if (key.mv_size != 4) {
			continue;
		}
		json_error_t jerr;
		json_t *rec = json_loadb(val.mv_data, val.mv_size, 0, &jerr);
		if (rec == NULL) {
			continue;
		}
		ret = cb(ctx, wire_read_u32(key.mv_data), rec);
		json_decref(rec);
		if (ret != 0) {
			break;
		}
	}
	mdb_cursor_close(cur);
	return ret;
}
