#include "db/journal.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "dns/dname.h"
#include "dns/wire.h"

static void make_key(uint8_t key[12], uint32_t zone_id, uint64_t seq)
{
	wire_write_u32(key, zone_id);
	wire_write_u32(key + 4, (uint32_t)(seq >> 32));
	wire_write_u32(key + 8, (uint32_t)seq);
}

int journal_entry_decode(const uint8_t *data, size_t len, journal_entry_t *e)
{
	if (len < 20) {
		return CD_EMALF;
	}
	e->from_serial = wire_read_u32(data);
	e->to_serial = wire_read_u32(data + 4);
	e->removed_count = wire_read_u32(data + 8);
	e->added_count = wire_read_u32(data + 12);
	e->removed_len = wire_read_u32(data + 16);
	if (20 + e->removed_len > len) {
		return CD_EMALF;
	}
	e->removed = data + 20;
	e->added = data + 20 + e->removed_len;
	e->added_len = len - 20 - e->removed_len;
	return CD_OK;
}

int journal_append(db_t *db, MDB_txn *txn, uint32_t zone_id, const uint8_t *value, size_t len)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->journal, &cur);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening journal cursor");
	}
	/* The last entry of this zone: position after the zone's range, step back. */
	uint8_t key[12];
	make_key(key, zone_id + 1, 0);
	MDB_val k = { .mv_size = 12, .mv_data = key }, v;
	uint64_t next = 0, first = 0;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	rc = rc == MDB_SUCCESS ? mdb_cursor_get(cur, &k, &v, MDB_PREV)
	                       : mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == MDB_SUCCESS && k.mv_size == 12 && wire_read_u32(k.mv_data) == zone_id) {
		const uint8_t *p = k.mv_data;
		next = ((uint64_t)wire_read_u32(p + 4) << 32 | wire_read_u32(p + 8)) + 1;
	}
	/* The first entry, to trim the oldest beyond the limit. */
	make_key(key, zone_id, 0);
	k = (MDB_val){ .mv_size = 12, .mv_data = key };
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == MDB_SUCCESS && k.mv_size == 12 && wire_read_u32(k.mv_data) == zone_id) {
		const uint8_t *p = k.mv_data;
		first = (uint64_t)wire_read_u32(p + 4) << 32 | wire_read_u32(p + 8);
		while (next - first >= JOURNAL_MAX_ENTRIES && rc == MDB_SUCCESS &&
		       k.mv_size == 12 && wire_read_u32(k.mv_data) == zone_id) {
			rc = mdb_cursor_del(cur, 0);
			if (rc != MDB_SUCCESS) {
				mdb_cursor_close(cur);
				return db_write_error(txn, rc, "trimming journal");
			}
			first++;
			rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
		}
	}
	mdb_cursor_close(cur);
	make_key(key, zone_id, next);
	k = (MDB_val){ .mv_size = 12, .mv_data = key };
	v = (MDB_val){ .mv_size = len, .mv_data = (void *)value };
	return db_write_error(txn, mdb_put(txn, db->journal, &k, &v, 0), "writing journal");
}

int journal_delete_zone(db_t *db, MDB_txn *txn, uint32_t zone_id)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->journal, &cur);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening journal cursor");
	}
	uint8_t key[12];
	make_key(key, zone_id, 0);
	MDB_val k = { .mv_size = 12, .mv_data = key }, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == MDB_SUCCESS && k.mv_size == 12 && wire_read_u32(k.mv_data) == zone_id) {
		rc = mdb_cursor_del(cur, 0);
		if (rc == MDB_SUCCESS) {
			rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
		}
	}
	mdb_cursor_close(cur);
	return (rc == MDB_SUCCESS || rc == MDB_NOTFOUND || rc == EINVAL)
	       ? CD_OK : db_write_error(txn, rc, "deleting journal");
}

int journal_walk_from(db_t *db, MDB_txn *txn, uint32_t zone_id, uint32_t from,
                      uint32_t current, journal_cb cb, void *ctx)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->journal, &cur);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening journal cursor");
	}
	uint8_t key[12];
	make_key(key, zone_id, 0);
	MDB_val k = { .mv_size = 12, .mv_data = key }, v;
	int ret = CD_ENOTFOUND;
	bool started = false;
	uint32_t at = from;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == MDB_SUCCESS && k.mv_size == 12 && wire_read_u32(k.mv_data) == zone_id;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		journal_entry_t e;
		if (journal_entry_decode(v.mv_data, v.mv_size, &e) != CD_OK) {
			ret = CD_EMALF;
			break;
		}
		if (!started) {
			if (e.from_serial != from) {
				continue;
			}
			started = true;
		} else if (e.from_serial != at) {
			ret = CD_ENOTFOUND;   /* a gap: the chain is broken */
			break;
		}
		int r = cb(ctx, &e);
		if (r != 0) {
			ret = r;
			break;
		}
		at = e.to_serial;
		if (at == current) {
			ret = CD_OK;
			break;
		}
	}
	mdb_cursor_close(cur);
	if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
		return db_error(rc, "reading journal");
	}
	return ret;
}

bool journal_next_rr(const uint8_t *rrs, size_t len, size_t *pos, const uint8_t **owner,
                     const uint8_t **header, const uint8_t **rdata, uint16_t *rdlen)
{
	if (*pos >= len) {
		return false;
	}
	int olen = dname_wire_length(rrs + *pos, len - *pos);
	if (olen < 0 || *pos + (size_t)olen + 10 > len) {
		return false;
	}
	*owner = rrs + *pos;
	*header = rrs + *pos + olen;
	*rdlen = wire_read_u16(*header + 8);
	if (*pos + (size_t)olen + 10 + *rdlen > len) {
		return false;
	}
	*rdata = *header + 10;
	*pos += (size_t)olen + 10 + *rdlen;
	return true;
}

int journal_count(db_t *db, MDB_txn *txn, uint32_t zone_id, size_t *count)
{
	*count = 0;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->journal, &cur);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening journal cursor");
	}
	uint8_t key[12];
	make_key(key, zone_id, 0);
	MDB_val k = { .mv_size = 12, .mv_data = key }, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == MDB_SUCCESS && k.mv_size == 12 && wire_read_u32(k.mv_data) == zone_id;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		(*count)++;
	}
	mdb_cursor_close(cur);
	return CD_OK;
}
