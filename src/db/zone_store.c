#include "db/zone_store.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "db/journal.h"
#include "db/zone_conf.h"
#include "dns/dname.h"
#include "dns/wire.h"

size_t zone_store_key(const uint8_t *apex, uint8_t *key)
{
	key[0] = 0x00;
	return 1 + dname_to_key(apex, key + 1);
}

int zone_store_get(db_t *db, MDB_txn *txn, const uint8_t *apex, zone_record_t *zone)
{
	uint8_t kbuf[1 + DNAME_KEY_MAX];
	MDB_val key = { .mv_size = zone_store_key(apex, kbuf), .mv_data = kbuf };
	MDB_val val;
	int rc = mdb_get(txn, db->zones, &key, &val);
	if (rc != MDB_SUCCESS) {
		return rc == MDB_NOTFOUND ? CD_ENOTFOUND : db_error(rc, "reading zone record");
	}
	return zone_record_decode(val.mv_data, val.mv_size, zone);
}

int zone_store_put_record(db_t *db, MDB_txn *txn, const uint8_t *apex, uint32_t id,
                          uint32_t serial, const zone_acl_entry_t *acl, unsigned acl_count)
{
	int apex_len = dname_wire_length(apex, DNS_MAX_NAME);
	if (apex_len < 0 || acl_count > ZONE_ACL_MAX) {
		return CD_EINVAL;
	}
	uint8_t kbuf[1 + DNAME_KEY_MAX];
	uint8_t vbuf[11 + DNS_MAX_NAME + ZONE_ACL_MAX * 18];
	MDB_val key = { .mv_size = zone_store_key(apex, kbuf), .mv_data = kbuf };
	MDB_val val = {
		.mv_size = zone_record_encode(vbuf, id, serial, apex, (size_t)apex_len, acl, acl_count),
		.mv_data = vbuf,
	};
	return db_write_error(txn, mdb_put(txn, db->zones, &key, &val, 0), "writing zone record");
}

int zone_store_delete_nodes(db_t *db, MDB_txn *txn, uint32_t id)
{
	MDB_cursor *cursor;
	int rc = mdb_cursor_open(txn, db->names, &cursor);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening cursor");
	}
	uint8_t prefix[4];
	wire_write_u32(prefix, id);
	MDB_val key = { .mv_size = 4, .mv_data = prefix };
	MDB_val val;
	rc = mdb_cursor_get(cursor, &key, &val, MDB_SET_RANGE);
	while (rc == MDB_SUCCESS && key.mv_size >= 4 && memcmp(key.mv_data, prefix, 4) == 0) {
		rc = mdb_cursor_del(cursor, 0);
		if (rc != MDB_SUCCESS) {
			break;
		}
		rc = mdb_cursor_get(cursor, &key, &val, MDB_GET_CURRENT);
	}
	mdb_cursor_close(cursor);
	if (rc == MDB_NOTFOUND || rc == MDB_SUCCESS || rc == EINVAL) {
		/* EINVAL: the cursor ran off the end after the last deletion */
		return CD_OK;
	}
	return db_write_error(txn, rc, "deleting zone data");
}

int zone_store_delete(db_t *db, MDB_txn *txn, const uint8_t *apex)
{
	zone_record_t zone;
	int ret = zone_store_get(db, txn, apex, &zone);
	if (ret != CD_OK) {
		return ret;
	}
	uint32_t id = zone.id;
	uint8_t kbuf[1 + DNAME_KEY_MAX];
	MDB_val key = { .mv_size = zone_store_key(apex, kbuf), .mv_data = kbuf };
	int rc = mdb_del(txn, db->zones, &key, NULL);
	if (rc != MDB_SUCCESS) {
		return db_write_error(txn, rc, "deleting zone record");
	}
	ret = zone_store_delete_nodes(db, txn, id);
	if (ret == CD_OK) {
		ret = journal_delete_zone(db, txn, id);
	}
	if (ret == CD_OK) {
		ret = zone_conf_delete(db, txn, apex);
	}
	return ret;
}

int zone_store_set_acl(db_t *db, MDB_txn *txn, const uint8_t *apex,
                       const zone_acl_entry_t *acl, unsigned acl_count)
{
	if (acl_count > ZONE_ACL_MAX) {
		return CD_ELIMIT;
	}
	zone_record_t zone;
	int ret = zone_store_get(db, txn, apex, &zone);
	if (ret != CD_OK) {
		return ret;
	}
	return zone_store_put_record(db, txn, apex, zone.id, zone.serial, acl, acl_count);
}

int zone_store_foreach_zone(db_t *db, MDB_txn *txn, zone_store_zone_cb cb, void *ctx)
{
	MDB_cursor *cursor;
	int rc = mdb_cursor_open(txn, db->zones, &cursor);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening cursor");
	}
	MDB_val key, val;
	int ret = CD_OK;
	for (rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT)) {
		zone_record_t zone;
		if (zone_record_decode(val.mv_data, val.mv_size, &zone) != CD_OK) {
			continue;
		}
		ret = cb(ctx, &zone);
		if (ret != 0) {
			break;
		}
	}
	mdb_cursor_close(cursor);
	if (ret == CD_OK && rc != MDB_NOTFOUND) {
		ret = db_error(rc, "listing zones");
	}
	return ret;
}

int zone_node_iter_init(zone_node_iter_t *it, db_t *db, MDB_txn *txn, uint32_t id)
{
	it->zone_id = id;
	it->started = 0;
	int rc = mdb_cursor_open(txn, db->names, &it->cursor);
	if (rc != MDB_SUCCESS) {
		it->cursor = NULL;
		return db_error(rc, "opening cursor");
	}
	return CD_OK;
}

int zone_node_iter_next(zone_node_iter_t *it, node_t *node)
{
	uint8_t prefix[4];
	wire_write_u32(prefix, it->zone_id);
	MDB_val key = { .mv_size = 4, .mv_data = prefix };
	MDB_val val;
	int rc;
	if (!it->started) {
		rc = mdb_cursor_get(it->cursor, &key, &val, MDB_SET_RANGE);
		it->started = 1;
	} else {
		rc = mdb_cursor_get(it->cursor, &key, &val, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND) {
		return CD_ENOTFOUND;
	}
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "reading zone data");
	}
	if (key.mv_size < 4 || memcmp(key.mv_data, prefix, 4) != 0) {
		return CD_ENOTFOUND;
	}
	if (node_decode(val.mv_data, val.mv_size, node) != CD_OK) {
		return CD_EMALF;
	}
	return CD_OK;
}

void zone_node_iter_close(zone_node_iter_t *it)
{
	if (it->cursor != NULL) {
		mdb_cursor_close(it->cursor);
		it->cursor = NULL;
	}
}

int zone_store_foreach_node(db_t *db, MDB_txn *txn, uint32_t id, zone_store_node_cb cb, void *ctx)
{
	zone_node_iter_t it;
	int ret = zone_node_iter_init(&it, db, txn, id);
	if (ret != CD_OK) {
		return ret;
	}
	node_t node;
	while ((ret = zone_node_iter_next(&it, &node)) == CD_OK) {
		ret = cb(ctx, &node);
		if (ret != 0) {
			break;
		}
	}
	zone_node_iter_close(&it);
	return ret == CD_ENOTFOUND ? CD_OK : ret;
}

int zone_store_lookup(db_t *db, MDB_txn *txn, const uint8_t *name, zone_record_t *zone,
                      node_t *node, bool *found)
{
	*found = false;
	int labels = dname_label_count(name);
	for (int skip = 0; skip <= labels; skip++) {
		if (zone_store_get(db, txn, dname_skip_labels(name, skip), zone) != CD_OK) {
			continue;
		}
		uint8_t full[DNAME_KEY_MAX], apex_key[DNAME_KEY_MAX], key[4 + DNAME_KEY_MAX];
		size_t full_len = dname_to_key(name, full);
		size_t apex_len = dname_to_key(zone->apex, apex_key);
		wire_write_u32(key, zone->id);
		memcpy(key + 4, full + apex_len, full_len - apex_len);
		MDB_val k = { .mv_size = 4 + full_len - apex_len, .mv_data = key }, v;
		*found = mdb_get(txn, db->names, &k, &v) == MDB_SUCCESS &&
		         node_decode(v.mv_data, v.mv_size, node) == CD_OK;
		return CD_OK;
	}
	return CD_ENOZONE;
}
