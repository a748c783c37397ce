#include "db/zone_conf.h"

#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "db/zone_store.h"
#include "dns/dname.h"

static json_t *load_json(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, const char *what)
{
	MDB_val val;
	int rc = mdb_get(txn, dbi, key, &val);
	if (rc == MDB_NOTFOUND) {
		return json_object();
	}
	if (rc != MDB_SUCCESS) {
		db_error(rc, what);
		return NULL;
	}
	json_error_t err;
	json_t *obj = json_loadb(val.mv_data, val.mv_size, 0, &err);
	if (obj == NULL || !json_is_object(obj)) {
		log_error("%s: stored JSON is corrupt: %s", what, obj ? "not an object" : err.text);
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int store_json(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, const json_t *obj,
                      const char *what)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		return CD_ENOMEM;
	}
	MDB_val val = { .mv_size = strlen(text), .mv_data = text };
	int rc = mdb_put(txn, dbi, key, &val, 0);
	free(text);
	return db_write_error(txn, rc, what);
}

json_t *zone_conf_get(db_t *db, MDB_txn *txn, const uint8_t *apex)
{
	uint8_t kbuf[1 + DNAME_KEY_MAX];
	MDB_val key = { .mv_size = zone_store_key(apex, kbuf), .mv_data = kbuf };
	return load_json(txn, db->conf, &key, "reading zone configuration");
}

int zone_conf_put(db_t *db, MDB_txn *txn, const uint8_t *apex, const json_t *conf)
{
	uint8_t kbuf[1 + DNAME_KEY_MAX];
	MDB_val key = { .mv_size = zone_store_key(apex, kbuf), .mv_data = kbuf };
	return store_json(txn, db->conf, &key, conf, "writing zone configuration");
}

int zone_conf_delete(db_t *db, MDB_txn *txn, const uint8_t *apex)
{
	uint8_t kbuf[1 + DNAME_KEY_MAX];
	MDB_val key = { .mv_size = zone_store_key(apex, kbuf), .mv_data = kbuf };
	int rc = mdb_del(txn, db->conf, &key, NULL);
	return rc == MDB_NOTFOUND ? CD_OK : db_write_error(txn, rc, "deleting zone configuration");
}

/* "settings" cannot collide with zone keys, which start with 0x00. */
#define SETTINGS_KEY "settings"

json_t *db_settings_get(db_t *db, MDB_txn *txn)
{
	MDB_val key = { .mv_size = strlen(SETTINGS_KEY), .mv_data = SETTINGS_KEY };
	json_t *s = load_json(txn, db->conf, &key, "reading database settings");
	if (s == NULL) {
		return NULL;
	}
	static const struct { const char *key; json_int_t value; } numbers[] = {
		{ "default_ttl", 3600 }, { "soa_refresh", 7200 }, { "soa_retry", 3600 },
		{ "soa_expire", 1209600 }, { "soa_minimum", 300 },
	};
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		if (json_object_get(s, numbers[i].key) == NULL) {
			json_object_set_new(s, numbers[i].key, json_integer(numbers[i].value));
		}
	}
	if (json_object_get(s, "serial_policy") == NULL) {
		json_object_set_new(s, "serial_policy", json_string("increment"));
	}
	if (json_object_get(s, "default_ns") == NULL) {
		json_object_set_new(s, "default_ns", json_array());
	}
	return s;
}

int db_settings_put(db_t *db, MDB_txn *txn, const json_t *settings)
{
	MDB_val key = { .mv_size = strlen(SETTINGS_KEY), .mv_data = SETTINGS_KEY };
	return store_json(txn, db->conf, &key, settings, "writing database settings");
}

uint32_t db_settings_number(const json_t *settings, const char *key, uint32_t dflt)
{
	json_t *v = json_object_get(settings, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX) {
		return dflt;
	}
	return (uint32_t)json_integer_value(v);
}

int zone_conf_foreach(db_t *db, MDB_txn *txn, zone_conf_cb cb, void *ctx)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->conf, &cur);
	if (rc != MDB_SUCCESS) {
		return db_error(rc, "opening cursor");
	}
	uint8_t first = 0x00;
	MDB_val k = { .mv_size = 1, .mv_data = &first }, v;
	int ret = CD_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *key = k.mv_data;
		if (k.mv_size < 1 || key[0] != 0x00) {
			break;   /* zone keys start with 0x00; "settings" sorts after them */
		}
		uint8_t apex[DNS_MAX_NAME];
		if (dname_from_key(key + 1, k.mv_size - 1, apex) < 0) {
			continue;
		}
		json_error_t err;
		json_t *conf = json_loadb(v.mv_data, v.mv_size, 0, &err);
		if (conf == NULL) {
			continue;
		}
		ret = cb(ctx, apex, conf);
		json_decref(conf);
		if (ret != 0) {
			break;
		}
	}
	mdb_cursor_close(cur);
	return ret;
}
