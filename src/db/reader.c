#include "db/reader.h"

#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "dns/wire.h"

int db_reader_init(db_reader_t *reader, db_t *db)
{
	memset(reader, 0, sizeof(*reader));
	reader->zones_dbi = db->zones;
	reader->names_dbi = db->names;
	int ret = db_read_begin(db, &reader->txn);
	if (ret != CD_OK) {
		return ret;
	}
	int rc = mdb_cursor_open(reader->txn, db->names, &reader->names);
	if (rc == MDB_SUCCESS) {
		rc = mdb_cursor_open(reader->txn, db->zones, &reader->zones);
	}
	if (rc != MDB_SUCCESS) {
		if (reader->names != NULL) {
			mdb_cursor_close(reader->names);
		}
		mdb_txn_abort(reader->txn);
		memset(reader, 0, sizeof(*reader));
		return db_error(rc, "opening read cursor");
	}
	mdb_txn_reset(reader->txn);
	return CD_OK;
}

void db_reader_destroy(db_reader_t *reader)
{
	if (reader->names != NULL) {
		mdb_cursor_close(reader->names);
	}
	if (reader->zones != NULL) {
		mdb_cursor_close(reader->zones);
	}
	if (reader->txn != NULL) {
		mdb_txn_abort(reader->txn);
	}
	memset(reader, 0, sizeof(*reader));
}

int db_reader_renew(db_reader_t *reader)
{
	if (reader->active) {
		return CD_OK;
	}
	int rc = mdb_txn_renew(reader->txn);
	if (rc == MDB_SUCCESS) {
		rc = mdb_cursor_renew(reader->txn, reader->names);
	}
	if (rc == MDB_SUCCESS) {
		rc = mdb_cursor_renew(reader->txn, reader->zones);
	}
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "renewing read transaction");
	}
	/* The cached apex, wildcard and zone belonged to the old snapshot. */
	reader->apex_zone_id = 0;
	reader->apex_wildcard_zone_id = 0;
	reader->leaf_zone_key = NULL;
	reader->active = 1;
	return CD_OK;
}

void db_reader_reset(db_reader_t *reader)
{
	if (reader->active) {
		mdb_txn_reset(reader->txn);
		reader->active = 0;
	}
}

/*
 * Keeps the zone just found (the zones cursor is on its key) for the rest of
 * the snapshot if no zone key below it follows: then it is the deepest zone
 * of every name under its apex, and the next query for one needs no lookup.
 */
static void remember_if_leaf(db_reader_t *reader, const MDB_val *zone_key, const zone_record_t *zone)
{
	MDB_val next;
	MDB_val val;
	int rc = mdb_cursor_get(reader->zones, &next, &val, MDB_NEXT);
	if (rc == MDB_SUCCESS && next.mv_size >= zone_key->mv_size &&
	    memcmp(next.mv_data, zone_key->mv_data, zone_key->mv_size) == 0) {
		return;   /* a zone below it */
	}
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		return;
	}
	reader->leaf_zone_key = zone_key->mv_data;
	reader->leaf_zone_key_len = zone_key->mv_size;
	reader->leaf_zone = *zone;
}

/*
 * The deepest zone is usually found with one positioned lookup: the greatest
 * zone key <= the name's key.  If that key is a prefix of the name's key it is
 * an ancestor (a 0x00 byte only ever ends a label), and the deepest one: a
 * deeper ancestor would sort between it and the name.  Returns 1 when found,
 * 0 when the caller must search ancestor by ancestor.
 */
static int find_zone_by_position(db_reader_t *reader, const uint8_t *zkey, size_t keylen,
                                 zone_record_t *zone, size_t *apex_keylen)
{
	MDB_val key = { .mv_size = keylen + 1, .mv_data = (void *)zkey };
	MDB_val val;
	int rc = mdb_cursor_get(reader->zones, &key, &val, MDB_SET_RANGE);
	if (rc == MDB_SUCCESS && key.mv_size == keylen + 1 &&
	    memcmp(key.mv_data, zkey, keylen + 1) == 0) {
		/* the name is an apex */
	} else {
		rc = mdb_cursor_get(reader->zones, &key, &val, rc == MDB_SUCCESS ? MDB_PREV : MDB_LAST);
		if (rc != MDB_SUCCESS || key.mv_size > keylen + 1 ||
		    memcmp(key.mv_data, zkey, key.mv_size) != 0) {
			return 0;
		}
	}
	if (zone_record_decode(val.mv_data, val.mv_size, zone) != CD_OK) {
		return 0;
	}
	*apex_keylen = key.mv_size - 1;
	remember_if_leaf(reader, &key, zone);
	return 1;
}

int db_find_zone(db_reader_t *reader, uint8_t *zkey, size_t keylen,
                 zone_record_t *zone, size_t *apex_keylen)
{
	if (reader->leaf_zone_key != NULL && keylen + 1 >= reader->leaf_zone_key_len &&
	    memcmp(zkey, reader->leaf_zone_key, reader->leaf_zone_key_len) == 0) {
		*zone = reader->leaf_zone;
		*apex_keylen = reader->leaf_zone_key_len - 1;
		return CD_OK;
	}
	if (find_zone_by_position(reader, zkey, keylen, zone, apex_keylen)) {
		return CD_OK;
	}
	/* Try the name itself, then each ancestor: the key prefixes that end at a
	 * label terminator, longest first, so the deepest zone wins. */
	size_t len = keylen;
	for (;;) {
		MDB_val key = { .mv_size = len + 1, .mv_data = zkey };
		MDB_val val;
		if (mdb_get(reader->txn, reader->zones_dbi, &key, &val) == MDB_SUCCESS &&
		    zone_record_decode(val.mv_data, val.mv_size, zone) == CD_OK) {
			*apex_keylen = len;
			return CD_OK;
		}
		if (len == 0) {
			return CD_ENOZONE;
		}
		/* Drop the last label: back to the previous terminator (or the start). */
		len--;
		while (len > 0 && zkey[len] != 0x00) {
			len--;
		}
	}
}

node_lookup_t db_get_node(db_reader_t *reader, uint32_t zone_id, uint8_t *rel_key,
                          size_t rel_len, node_t *node)
{
	uint8_t *nkey = rel_key - 4;
	wire_write_u32(nkey, zone_id);
	MDB_val key = { .mv_size = rel_len + 4, .mv_data = nkey };
	MDB_val val;
	/* One positioned lookup answers both "is it here" and "is anything below it". */
	int rc = mdb_cursor_get(reader->names, &key, &val, MDB_SET_RANGE);
	if (rc != MDB_SUCCESS) {
		return NODE_LOOKUP_NONE;
	}
	if (key.mv_size == rel_len + 4 && memcmp(key.mv_data, nkey, rel_len + 4) == 0) {
		if (node_decode(val.mv_data, val.mv_size, node) != CD_OK) {
			return NODE_LOOKUP_NONE;
		}
		return NODE_LOOKUP_FOUND;
	}
	if (key.mv_size > rel_len + 4 && memcmp(key.mv_data, nkey, rel_len + 4) == 0) {
		return NODE_LOOKUP_ENT;
	}
	return NODE_LOOKUP_NONE;
}

node_lookup_t db_get_apex(db_reader_t *reader, uint32_t zone_id, node_t *node)
{
	if (reader->apex_zone_id == zone_id && zone_id != 0) {
		*node = reader->apex_node;
		return NODE_LOOKUP_FOUND;
	}
	uint8_t key[4];
	node_lookup_t found = db_get_node(reader, zone_id, key + 4, 0, node);
	if (found == NODE_LOOKUP_FOUND) {
		reader->apex_zone_id = zone_id;
		reader->apex_node = *node;
	}
	return found;
}

node_lookup_t db_get_apex_wildcard(db_reader_t *reader, uint32_t zone_id, node_t *node)
{
	if (reader->apex_wildcard_zone_id != zone_id || zone_id == 0) {
		uint8_t key[4 + 2] = { 0, 0, 0, 0, '*', 0x00 };
		reader->apex_wildcard_found = db_get_node(reader, zone_id, key + 4, 2,
		                                          &reader->apex_wildcard_node);
		reader->apex_wildcard_zone_id = zone_id;
	}
	*node = reader->apex_wildcard_node;
	return reader->apex_wildcard_found;
}
