/* certdnsctl settings ...: database-wide defaults (the database is the config). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "db/zone_conf.h"
#include "dns/dname.h"
#include "zonefile/zonefile.h"

static const char *const number_keys[] = {
	"default_ttl", "soa_refresh", "soa_retry", "soa_expire", "soa_minimum",
	"acme_ns_port", "acme_propagation_timeout", "acme_propagation_interval", "acme_challenge_ttl",
};

int cmd_settings_show(const ctl_t *ctl, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		return cli_usage_error("settings show takes no arguments");
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	json_t *s = NULL;
	if (db_read_begin(db, &txn) == CD_OK) {
		s = db_settings_get(db, txn);
		mdb_txn_abort(txn);
	}
	db_close(db);
	if (s == NULL) {
		return cli_fail("cannot read settings");
	}
	if (ctl->json) {
		cli_print_json(s);
		return EXIT_SUCCESS;
	}
	const char *key;
	json_t *v;
	json_object_foreach(s, key, v) {
		printf("%-14s", key);
		if (json_is_array(v)) {
			size_t i;
			json_t *e;
			if (json_array_size(v) == 0) {
				printf(" (none)");
			}
			json_array_foreach(v, i, e) {
				printf(" %s", json_string_value(e));
			}
		} else if (json_is_integer(v)) {
			printf(" %lld", (long long)json_integer_value(v));
		} else if (json_is_boolean(v)) {
			printf(" %s", json_is_true(v) ? "true" : "false");
		} else if (json_is_string(v)) {
			printf(" %s", json_string_value(v));
		}
		putchar('\n');
	}
	json_decref(s);
	return EXIT_SUCCESS;
}

/* Canonical text of a name argument ("ns1.example.net."), or NULL if invalid. */
static json_t *name_value(const char *text)
{
	uint8_t wire[DNS_MAX_NAME];
	char str[DNAME_STR_MAX];
	if (zonefile_parse_name(text, wire) < 0 || dname_to_str(wire, str, sizeof(str)) != CD_OK) {
		return NULL;
	}
	return json_string(str);
}

int cmd_settings_set(const ctl_t *ctl, int argc, char **argv)
{
	if (argc < 3) {
		return cli_usage_error("usage: settings set KEY VALUE...  (keys: default_ns, soa_mname, "
		                       "soa_rname, serial_policy, default_ttl, soa_refresh, soa_retry, "
		                       "soa_expire, soa_minimum)");
	}
	const char *key = argv[1];
	json_t *value = NULL;
	if (strcmp(key, "default_ns") == 0) {
		value = json_array();
		for (int i = 2; i < argc; i++) {
			json_t *n = name_value(argv[i]);
			if (n == NULL) {
				json_decref(value);
				return cli_usage_error("'%s' is not a valid name server name", argv[i]);
			}
			json_array_append_new(value, n);
		}
	} else if (argc != 3) {
		return cli_usage_error("%s takes one value", key);
	} else if (strcmp(key, "soa_mname") == 0 || strcmp(key, "soa_rname") == 0) {
		value = name_value(argv[2]);
		if (value == NULL) {
			return cli_usage_error("'%s' is not a valid domain name", argv[2]);
		}
	} else if (strcmp(key, "acme_zone") == 0) {
		value = name_value(argv[2]);
		if (value == NULL) {
			return cli_usage_error("'%s' is not a valid zone name", argv[2]);
		}
	} else if (strcmp(key, "acme_check_ns") == 0) {
		if (strcmp(argv[2], "true") != 0 && strcmp(argv[2], "false") != 0) {
			return cli_usage_error("acme_check_ns is true or false");
		}
		value = json_boolean(strcmp(argv[2], "true") == 0);
	} else if (strcmp(key, "serial_policy") == 0) {
		if (strcmp(argv[2], "increment") != 0 && strcmp(argv[2], "dateserial") != 0) {
			return cli_usage_error("serial_policy is 'increment' or 'dateserial'");
		}
		value = json_string(argv[2]);
	} else {
		for (size_t i = 0; i < sizeof(number_keys) / sizeof(number_keys[0]); i++) {
			if (strcmp(key, number_keys[i]) == 0) {
				char *end;
				errno = 0;
				long long n = strtoll(argv[2], &end, 10);
				if (errno || *end || end == argv[2] || n < 0 || n > 2147483647) {
					return cli_usage_error("%s must be a number of seconds", key);
				}
				value = json_integer(n);
			}
		}
		if (value == NULL) {
			return cli_usage_error("unknown setting '%s'", key);
		}
	}
	db_t *db;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		json_decref(value);
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	int ret = db_write_begin(db, &txn);
	if (ret == CD_OK) {
		json_t *s = db_settings_get(db, txn);
		if (s == NULL) {
			ret = CD_ENOMEM;
		} else {
			json_object_set(s, key, value);
			ret = db_settings_put(db, txn, s);
			json_decref(s);
		}
		ret = ret == CD_OK ? db_write_commit(txn) : (mdb_txn_abort(txn), ret);
	}
	db_close(db);
	json_decref(value);
	if (ret != CD_OK) {
		return cli_fail("saving setting %s: %s", key, cd_strerror(ret));
	}
	return EXIT_SUCCESS;
}
