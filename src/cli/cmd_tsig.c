/* certdnsctl tsig ... and secondary ...: keys and the secondaries that use them. */

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "common/error.h"
#include "db/tsig_store.h"
#include "db/zone_conf.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "zonefile/zonefile.h"

/* Secret sizes follow RFC 8945 6: at least the hash output length. */
static size_t secret_bytes(const char *alg)
{
	if (strcasecmp(alg, "hmac-sha512") == 0 || strcasecmp(alg, "hmac-sha384") == 0) {
		return 64;
	}
	return 32;
}

static int write_txn(const ctl_t *ctl, db_t **db, MDB_txn **txn)
{
	if (cli_open_db(ctl, db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	if (db_write_begin(*db, txn) != CD_OK) {
		db_close(*db);
		return cli_fail("cannot write the database");
	}
	return EXIT_SUCCESS;
}

static int finish(db_t *db, MDB_txn *txn, int ret, const char *what)
{
	if (ret == CD_OK) {
		ret = db_write_commit(txn);
	} else {
		mdb_txn_abort(txn);
	}
	db_close(db);
	if (ret != CD_OK) {
		return cli_fail("%s: %s", what, ret == CD_ENOTFOUND ? "not found" : cd_strerror(ret));
	}
	return EXIT_SUCCESS;
}

static void print_key_configs(const tsig_key_t *key)
{
	printf("key %s (%s) secret: %s\n\n", key->name, key->algorithm, key->secret);
	printf("Knot DNS (knot.conf):\n  key:\n    - id: %s\n      algorithm: %s\n      secret: %s\n\n",
	       key->name, key->algorithm, key->secret);
	printf("NSD (nsd.conf):\n  key:\n    name: \"%s\"\n    algorithm: %s\n    secret: \"%s\"\n\n",
	       key->name, key->algorithm, key->secret);
	printf("BIND (named.conf):\n  key \"%s\" { algorithm %s; secret \"%s\"; };\n", key->name,
	       key->algorithm, key->secret);
}

int cmd_tsig_add(const ctl_t *ctl, int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		return cli_usage_error("usage: tsig add NAME [ALGORITHM]  (default hmac-sha256)");
	}
	tsig_key_t key;
	memset(&key, 0, sizeof(key));
	const char *alg = argc == 3 ? argv[2] : "hmac-sha256";
	if (!tsig_algorithm_supported(alg)) {
		return cli_usage_error("unsupported TSIG algorithm '%s' (use hmac-sha256, hmac-sha384 "
		                       "or hmac-sha512)", alg);
	}
	uint8_t wire[DNS_MAX_NAME];
	if (zonefile_parse_name(argv[1], wire) < 0 || wire[0] == 0) {
		return cli_usage_error("'%s' is not a valid key name", argv[1]);
	}
	dname_to_lower(wire);
	dname_to_str(wire, key.name, sizeof(key.name));
	snprintf(key.algorithm, sizeof(key.algorithm), "%s", alg);
	for (char *p = key.algorithm; *p; p++) {
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	}
	uint8_t secret[64];
	size_t n = secret_bytes(alg);
	if (RAND_bytes(secret, (int)n) != 1) {
		return cli_fail("cannot generate a random secret");
	}
	EVP_EncodeBlock((unsigned char *)key.secret, secret, (int)n);
	db_t *db;
	MDB_txn *txn;
	if (write_txn(ctl, &db, &txn) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	tsig_key_t existing;
	if (tsig_store_get(db, txn, key.name, &existing) == CD_OK) {
		mdb_txn_abort(txn);
		db_close(db);
		return cli_fail("TSIG key %s exists already (delete it first to replace it)", key.name);
	}
	int rc = finish(db, txn, tsig_store_put(db, txn, &key), "adding TSIG key");
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	if (ctl->json) {
		cli_print_json(json_pack("{s:s, s:s, s:s}", "name", key.name, "algorithm",
		                         key.algorithm, "secret", key.secret));
	} else {
		print_key_configs(&key);
	}
	return EXIT_SUCCESS;
}

static int list_key(void *arg, const tsig_key_t *key)
{
	json_t *array = arg;
	if (array != NULL) {
		json_array_append_new(array, json_pack("{s:s, s:s}", "name", key->name,
		                                       "algorithm", key->algorithm));
	} else {
		printf("%-40s %s\n", key->name, key->algorithm);
	}
	return 0;
}

int cmd_tsig_list(const ctl_t *ctl, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		return cli_usage_error("tsig list takes no arguments");
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	json_t *array = ctl->json ? json_array() : NULL;
	if (db_read_begin(db, &txn) == CD_OK) {
		if (array == NULL) {
			printf("%-40s %s\n", "KEY", "ALGORITHM");
		}
		tsig_store_foreach(db, txn, list_key, array);
		mdb_txn_abort(txn);
	}
	db_close(db);
	if (array != NULL) {
		cli_print_json(array);
	}
	return EXIT_SUCCESS;
}

int cmd_tsig_show(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[2], "--secret") != 0) {
		return cli_usage_error("usage: tsig show NAME --secret  (prints the secret)");
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	tsig_key_t key;
	int ret = db_read_begin(db, &txn);
	if (ret == CD_OK) {
		ret = tsig_store_get(db, txn, argv[1], &key);
		mdb_txn_abort(txn);
	}
	db_close(db);
	if (ret != CD_OK) {
		return cli_fail("TSIG key %s: %s", argv[1], ret == CD_ENOTFOUND ? "no such key" : cd_strerror(ret));
	}
	if (ctl->json) {
		cli_print_json(json_pack("{s:s, s:s, s:s}", "name", key.name, "algorithm",
		                         key.algorithm, "secret", key.secret));
	} else {
		print_key_configs(&key);
	}
	return EXIT_SUCCESS;
}

int cmd_tsig_delete(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 2) {
		return cli_usage_error("usage: tsig delete NAME");
	}
	db_t *db;
	MDB_txn *txn;
	if (write_txn(ctl, &db, &txn) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	return finish(db, txn, tsig_store_delete(db, txn, argv[1]), "deleting TSIG key");
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT" -> address text and port. */
static int parse_addr_port(const char *text, char *addr, size_t addrlen, long *port)
{
	*port = 53;
	const char *p = NULL;
	char host[INET6_ADDRSTRLEN + 2];
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || (size_t)(end - text - 1) >= sizeof(host)) {
			return -1;
		}
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		if (end[1] == ':') {
			p = end + 2;
		} else if (end[1] != '\0') {
			return -1;
		}
	} else {
		const char *colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			if ((size_t)(colon - text) >= sizeof(host)) {
				return -1;
			}
			memcpy(host, text, (size_t)(colon - text));
			host[colon - text] = '\0';
			p = colon + 1;
		} else {
			snprintf(host, sizeof(host), "%s", text);
		}
	}
	if (p != NULL) {
		char *end;
		errno = 0;
		*port = strtol(p, &end, 10);
		if (errno || *end || end == p || *port < 1 || *port > 65535) {
			return -1;
		}
	}
	uint8_t buf[16];
	if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1) {
		return -1;
	}
	snprintf(addr, addrlen, "%s", host);
	return 0;
}

/* "ZONE ADDR[:PORT] [--tsig KEYNAME]", the arguments of secondary add and zone follow. */
typedef struct {
	uint8_t apex[DNS_MAX_NAME];
	char addr[INET6_ADDRSTRLEN + 2];
	long port;
	const char *key_name;
} zone_peer_args_t;

static int parse_zone_peer(int argc, char **argv, const char *usage, zone_peer_args_t *out)
{
	out->key_name = NULL;
	if (argc == 5 && strcmp(argv[3], "--tsig") == 0) {
		out->key_name = argv[4];
	} else if (argc != 3) {
		return cli_usage_error("usage: %s", usage);
	}
	if (cli_parse_zone_name(argv[1], out->apex) < 0) {
		return EXIT_USAGE;
	}
	if (parse_addr_port(argv[2], out->addr, sizeof(out->addr), &out->port) < 0) {
		return cli_usage_error("'%s' is not ADDR, ADDR:PORT or [IPV6]:PORT", argv[2]);
	}
	return EXIT_SUCCESS;
}

/* Opens a write transaction and, when a key is named, loads it; prints why not. */
static int begin_with_key(const ctl_t *ctl, const zone_peer_args_t *a, const char *hint,
                          db_t **db, MDB_txn **txn, tsig_key_t *key)
{
	if (write_txn(ctl, db, txn) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	if (a->key_name != NULL && tsig_store_get(*db, *txn, a->key_name, key) != CD_OK) {
		mdb_txn_abort(*txn);
		db_close(*db);
		return cli_fail("no TSIG key %s: %s", a->key_name, hint);
	}
	return EXIT_SUCCESS;
}

static int load_zone_conf(db_t *db, MDB_txn *txn, const uint8_t *apex, json_t **conf)
{
	zone_record_t zone;
	int ret = zone_store_get(db, txn, apex, &zone);
	if (ret != CD_OK) {
		return ret;
	}
	*conf = zone_conf_get(db, txn, apex);
	if (*conf == NULL) {
		return CD_ENOMEM;
	}
	if (!json_is_array(json_object_get(*conf, "secondaries"))) {
		json_object_set_new(*conf, "secondaries", json_array());
	}
	return CD_OK;
}

int cmd_secondary_add(const ctl_t *ctl, int argc, char **argv)
{
	zone_peer_args_t a;
	int rc = parse_zone_peer(argc, argv, "secondary add ZONE ADDR[:PORT] [--tsig KEYNAME]", &a);
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	const uint8_t *apex = a.apex;
	const char *addr = a.addr;
	long port = a.port;
	const char *key_name = a.key_name;
	db_t *db;
	MDB_txn *txn;
	tsig_key_t key;
	char hint[1200];
	snprintf(hint, sizeof(hint), "create it with 'certdnsctl tsig add %s'", key_name ? key_name : "");
	if (begin_with_key(ctl, &a, hint, &db, &txn, &key) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	json_t *conf = NULL;
	int ret = load_zone_conf(db, txn, apex, &conf);
	if (ret == CD_OK) {
		json_t *secs = json_object_get(conf, "secondaries");
		size_t i;
		json_t *s;
		json_array_foreach(secs, i, s) {
			if (strcmp(json_string_value(json_object_get(s, "address")), addr) == 0 &&
			    json_integer_value(json_object_get(s, "port")) == port) {
				json_array_remove(secs, i);
				break;
			}
		}
		json_array_append_new(secs, json_pack("{s:s, s:I, s:s?}", "address", addr, "port",
		                                      (json_int_t)port, "tsig",
		                                      key_name ? key.name : NULL));
		ret = zone_conf_put(db, txn, apex, conf);
	}
	json_decref(conf);
	if (ret == CD_ENOTFOUND) {
		mdb_txn_abort(txn);
		db_close(db);
		return cli_fail("zone %s does not exist here (create or import it first)", argv[1]);
	}
	rc = finish(db, txn, ret, "adding secondary");
	if (rc == EXIT_SUCCESS) {
		cli_poke_daemon(ctl, "zone-changed", argv[1]);
		printf("zone %s: secondary %s port %ld%s%s added; it is sent NOTIFY on every change\n",
		       argv[1], addr, port, key_name ? " with TSIG key " : "", key_name ? key.name : "");
	}
	return rc;
}

int cmd_secondary_delete(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 3) {
		return cli_usage_error("usage: secondary delete ZONE ADDR[:PORT]");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (cli_parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	char addr[INET6_ADDRSTRLEN + 2];
	long port;
	if (parse_addr_port(argv[2], addr, sizeof(addr), &port) < 0) {
		return cli_usage_error("'%s' is not ADDR, ADDR:PORT or [IPV6]:PORT", argv[2]);
	}
	db_t *db;
	MDB_txn *txn;
	if (write_txn(ctl, &db, &txn) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	json_t *conf = NULL;
	int ret = load_zone_conf(db, txn, apex, &conf);
	if (ret == CD_OK) {
		json_t *secs = json_object_get(conf, "secondaries");
		size_t i;
		json_t *s;
		ret = CD_ENOTFOUND;
		json_array_foreach(secs, i, s) {
			if (strcmp(json_string_value(json_object_get(s, "address")), addr) == 0 &&
			    json_integer_value(json_object_get(s, "port")) == port) {
				json_array_remove(secs, i);
				ret = zone_conf_put(db, txn, apex, conf);
				break;
			}
		}
	}
	json_decref(conf);
	return finish(db, txn, ret, "deleting secondary");
}

int cmd_secondary_list(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 2) {
		return cli_usage_error("usage: secondary list ZONE");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (cli_parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	json_t *conf = NULL;
	int ret = db_read_begin(db, &txn);
	if (ret == CD_OK) {
		ret = load_zone_conf(db, txn, apex, &conf);
		mdb_txn_abort(txn);
	}
	db_close(db);
	if (ret != CD_OK) {
		return cli_fail("zone %s: %s", argv[1], ret == CD_ENOTFOUND ? "no such zone" : cd_strerror(ret));
	}
	json_t *secs = json_incref(json_object_get(conf, "secondaries"));
	json_decref(conf);
	if (ctl->json) {
		cli_print_json(secs);
		return EXIT_SUCCESS;
	}
	printf("%-40s %6s  %s\n", "ADDRESS", "PORT", "TSIG KEY");
	size_t i;
	json_t *s;
	json_array_foreach(secs, i, s) {
		const char *k = json_string_value(json_object_get(s, "tsig"));
		printf("%-40s %6lld  %s\n", json_string_value(json_object_get(s, "address")),
		       (long long)json_integer_value(json_object_get(s, "port")), k ? k : "-");
	}
	json_decref(secs);
	return EXIT_SUCCESS;
}

/* zone follow NAME PRIMARY[:PORT] [--tsig KEY]: this daemon becomes a secondary of NAME. */
int cmd_zone_follow(const ctl_t *ctl, int argc, char **argv)
{
	zone_peer_args_t a;
	int rc = parse_zone_peer(argc, argv, "zone follow ZONE PRIMARY_ADDR[:PORT] [--tsig KEYNAME]", &a);
	if (rc != EXIT_SUCCESS) {
		return rc;
	}
	const uint8_t *apex = a.apex;
	const char *addr = a.addr;
	long port = a.port;
	const char *key_name = a.key_name;
	db_t *db;
	MDB_txn *txn;
	tsig_key_t key;
	char hint[1200];
	snprintf(hint, sizeof(hint), "add the primary's key first with 'certdnsctl tsig import %s "
	         "ALGORITHM SECRET'", key_name ? key_name : "");
	if (begin_with_key(ctl, &a, hint, &db, &txn, &key) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	json_t *conf = zone_conf_get(db, txn, apex);
	int ret = conf ? CD_OK : CD_ENOMEM;
	if (ret == CD_OK) {
		json_object_set_new(conf, "primary", json_pack("{s:s, s:I, s:s?}", "address", addr,
		                                               "port", (json_int_t)port, "tsig",
		                                               key_name ? key.name : NULL));
		ret = zone_conf_put(db, txn, apex, conf);
	}
	json_decref(conf);
	rc = finish(db, txn, ret, "following zone");
	if (rc == EXIT_SUCCESS) {
		cli_poke_daemon(ctl, "zone-changed", argv[1]);
		printf("zone %s: following the primary %s port %ld%s%s; certdnsd transfers it and keeps "
		       "it current (NOTIFY, SOA refresh)\n", argv[1], addr, port,
		       key_name ? " with TSIG key " : "", key_name ? key.name : "");
	}
	return rc;
}

int cmd_zone_unfollow(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 2) {
		return cli_usage_error("usage: zone unfollow ZONE  (keeps the data; it is then ours)");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (cli_parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	db_t *db;
	MDB_txn *txn;
	if (write_txn(ctl, &db, &txn) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	json_t *conf = zone_conf_get(db, txn, apex);
	int ret = conf == NULL ? CD_ENOMEM
	          : json_object_del(conf, "primary") != 0 ? CD_ENOTFOUND
	          : zone_conf_put(db, txn, apex, conf);
	json_decref(conf);
	return finish(db, txn, ret, "unfollowing zone");
}

/* tsig import NAME ALGORITHM SECRET|-: a key made elsewhere (e.g. by the primary). */
int cmd_tsig_import(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 4) {
		return cli_usage_error("usage: tsig import NAME ALGORITHM BASE64SECRET|-  "
		                       "(-: the secret on standard input)");
	}
	if (!tsig_algorithm_supported(argv[2])) {
		/* Not echoed: with the arguments in the wrong order it would be the secret. */
		return cli_usage_error("unsupported TSIG algorithm (use hmac-sha256, hmac-sha384 or "
		                       "hmac-sha512; the order is NAME ALGORITHM SECRET)");
	}
	char line[TSIG_SECRET_MAX + 2];
	const char *secret_text;
	if (cli_secret_arg("tsig import", argv[3], line, sizeof(line), &secret_text) != 0) {
		return EXIT_USAGE;
	}
	uint8_t secret[TSIG_SECRET_MAX];
	size_t slen = strlen(secret_text);
	if (slen == 0 || slen >= TSIG_SECRET_MAX || slen % 4 != 0 ||
	    EVP_DecodeBlock(secret, (const unsigned char *)secret_text, (int)slen) < 0) {
		return cli_usage_error("the secret is not base64");
	}
	tsig_key_t key;
	memset(&key, 0, sizeof(key));
	uint8_t wire[DNS_MAX_NAME];
	if (zonefile_parse_name(argv[1], wire) < 0 || wire[0] == 0) {
		return cli_usage_error("'%s' is not a valid key name", argv[1]);
	}
	dname_to_lower(wire);
	dname_to_str(wire, key.name, sizeof(key.name));
	snprintf(key.algorithm, sizeof(key.algorithm), "%s", argv[2]);
	for (char *p = key.algorithm; *p; p++) {
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	}
	snprintf(key.secret, sizeof(key.secret), "%s", secret_text);
	db_t *db;
	MDB_txn *txn;
	if (write_txn(ctl, &db, &txn) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	return finish(db, txn, tsig_store_put(db, txn, &key), "importing TSIG key");
}
