/* certdnsctl zone ...: whole zones. */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/error.h"
#include "db/journal.h"
#include "db/node.h"
#include "db/zone_conf.h"
#include "db/zone_edit.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "zonefile/zonefile.h"

int cmd_zone_import(const ctl_t *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "origin", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	zonefile_import_opts_t opts = { .progress = isatty(STDERR_FILENO) };
	int c;
	optind = 0;   /* 0: GNU getopt starts afresh (also its permutation state) */
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		if (c == 'o') {
			opts.origin = optarg;
		} else {
			return cli_usage_error("zone import: unknown option");
		}
	}
	if (argc - optind != 1) {
		return cli_usage_error("zone import needs exactly one FILE");
	}
	const char *path = argv[optind];
	db_t *db;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	zonefile_import_result_t res;
	int ret = zonefile_import(db, path, &opts, &res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	db_close(db);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (ret != CD_OK) {
		if (ret == CD_ESYNTAX || ret == CD_ESEMANTIC) {
			fprintf(stderr, "certdnsctl: %s rejected (%u error%s); the zone served before "
			        "is unchanged\n", path, res.errors, res.errors == 1 ? "" : "s");
		} else {
			fprintf(stderr, "certdnsctl: importing %s failed: %s; the zone served before "
			        "is unchanged\n", path, cd_strerror(ret));
		}
		return EXIT_FAILURE;
	}
	if (ctl->json) {
		json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:f}", "zone", res.apex,
		                      "serial", (json_int_t)res.store.serial,
		                      "records", (json_int_t)res.store.records,
		                      "names", (json_int_t)res.store.names,
		                      "duplicates", (json_int_t)res.store.duplicates,
		                      "seconds", secs);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		printf("imported %s: %zu records at %zu names, serial %u, in %.2f s",
		       res.apex, res.store.records, res.store.names, res.store.serial, secs);
		if (res.store.duplicates > 0) {
			printf(" (%zu duplicate records dropped)", res.store.duplicates);
		}
		putchar('\n');
	}
	return EXIT_SUCCESS;
}

typedef struct {
	const ctl_t *ctl;
	json_t *array;
	unsigned count;
} list_ctx_t;

static int list_zone_cb(void *arg, const zone_record_t *zone)
{
	list_ctx_t *ctx = arg;
	char name[DNAME_STR_MAX];
	dname_to_str(zone->apex, name, sizeof(name));
	if (ctx->array != NULL) {
		json_array_append_new(ctx->array, json_pack("{s:s, s:I, s:i}", "name", name,
		                                             "serial", (json_int_t)zone->serial,
		                                             "transfer_acl_entries",
		                                             (int)zone->acl_count));
	} else {
		if (ctx->count == 0) {
			printf("%-40s %12s\n", "ZONE", "SERIAL");
		}
		printf("%-40s %12u\n", name, zone->serial);
	}
	ctx->count++;
	return 0;
}

int cmd_zone_list(const ctl_t *ctl, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		return cli_usage_error("zone list takes no arguments");
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	int ret = db_read_begin(db, &txn);
	list_ctx_t ctx = { .ctl = ctl, .array = ctl->json ? json_array() : NULL };
	if (ret == CD_OK) {
		ret = zone_store_foreach_zone(db, txn, list_zone_cb, &ctx);
		mdb_txn_abort(txn);
	}
	db_close(db);
	if (ret != CD_OK) {
		fprintf(stderr, "certdnsctl: listing zones failed: %s\n", cd_strerror(ret));
		json_decref(ctx.array);
		return EXIT_FAILURE;
	}
	if (ctx.array != NULL) {
		json_dumpf(ctx.array, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(ctx.array);
	} else if (ctx.count == 0) {
		printf("no zones\n");
	}
	return EXIT_SUCCESS;
}

int cmd_zone_export(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 2) {
		return cli_usage_error("zone export needs exactly one zone NAME");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (cli_parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	int ret = zonefile_export(db, apex, stdout);
	db_close(db);
	if (ret != CD_OK) {
		fprintf(stderr, "certdnsctl: exporting zone %s failed: %s\n", argv[1],
		        ret == CD_ENOTFOUND ? "no such zone" : cd_strerror(ret));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

int cmd_zone_delete(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 2) {
		return cli_usage_error("zone delete needs exactly one zone NAME");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (cli_parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	db_t *db;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	int ret = db_write_begin(db, &txn);
	if (ret == CD_OK) {
		ret = zone_store_delete(db, txn, apex);
		if (ret == CD_OK) {
			ret = db_write_commit(txn);
		} else {
			mdb_txn_abort(txn);
		}
	}
	db_close(db);
	if (ret != CD_OK) {
		fprintf(stderr, "certdnsctl: deleting zone %s failed: %s\n", argv[1],
		        ret == CD_ENOTFOUND ? "no such zone" : cd_strerror(ret));
		return EXIT_FAILURE;
	}
	printf("deleted zone %s\n", argv[1]);
	return EXIT_SUCCESS;
}

/* Parses "ADDR[/LEN]" (IPv4 or IPv6) into an ACL entry. */
static int parse_cidr(const char *text, zone_acl_entry_t *entry)
{
	char addr[INET6_ADDRSTRLEN + 8];
	snprintf(addr, sizeof(addr), "%s", text);
	char *slash = strchr(addr, '/');
	long bits = -1;
	if (slash != NULL) {
		*slash = '\0';
		char *end;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == slash + 1) {
			return -1;
		}
	}
	memset(entry, 0, sizeof(*entry));
	if (inet_pton(AF_INET, addr, entry->addr) == 1) {
		entry->family = 4;
		if (bits < 0) {
			bits = 32;
		}
		if (bits > 32) {
			return -1;
		}
	} else if (inet_pton(AF_INET6, addr, entry->addr) == 1) {
		entry->family = 6;
		if (bits < 0) {
			bits = 128;
		}
		if (bits > 128) {
			return -1;
		}
	} else {
		return -1;
	}
	entry->prefix_len = (uint8_t)bits;
	return 0;
}

static void print_acl(const ctl_t *ctl, const char *zone_name, const zone_record_t *zone)
{
	json_t *array = ctl->json ? json_array() : NULL;
	if (!ctl->json && zone->acl_count == 0) {
		printf("%s: zone transfers refused to everyone\n", zone_name);
	}
	for (unsigned i = 0; i < zone->acl_count; i++) {
		zone_acl_entry_t e;
		zone_acl_get(zone, i, &e);
		char addr[INET6_ADDRSTRLEN];
		inet_ntop(e.family == 4 ? AF_INET : AF_INET6, e.addr, addr, sizeof(addr));
		char cidr[INET6_ADDRSTRLEN + 8];
		snprintf(cidr, sizeof(cidr), "%s/%u", addr, e.prefix_len);
		if (array != NULL) {
			json_array_append_new(array, json_string(cidr));
		} else {
			printf("%s\n", cidr);
		}
	}
	if (array != NULL) {
		json_t *o = json_pack("{s:s, s:o}", "zone", zone_name, "transfer_acl", array);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	}
}

int cmd_zone_transfer_acl(const ctl_t *ctl, int argc, char **argv)
{
	if (argc < 2) {
		return cli_usage_error("zone transfer-acl needs a zone NAME");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (cli_parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	zone_acl_entry_t acl[ZONE_ACL_MAX];
	unsigned count = 0;
	bool set = argc > 2;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "none") == 0 && argc == 3) {
			break;
		}
		if (count >= ZONE_ACL_MAX) {
			fprintf(stderr, "certdnsctl: at most %d transfer ACL entries\n", ZONE_ACL_MAX);
			return EXIT_USAGE;
		}
		if (parse_cidr(argv[i], &acl[count]) < 0) {
			return cli_usage_error("'%s' is not an address or ADDR/PREFIX", argv[i]);
		}
		count++;
	}
	db_t *db;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	int ret = db_write_begin(db, &txn);
	if (ret == CD_OK) {
		if (set) {
			ret = zone_store_set_acl(db, txn, apex, acl, count);
		}
		zone_record_t zone;
		if (ret == CD_OK) {
			ret = zone_store_get(db, txn, apex, &zone);
		}
		if (ret == CD_OK) {
			print_acl(ctl, argv[1], &zone);
		}
		if (ret == CD_OK && set) {
			ret = db_write_commit(txn);
		} else {
			mdb_txn_abort(txn);
		}
	}
	db_close(db);
	if (ret != CD_OK) {
		fprintf(stderr, "certdnsctl: zone %s: %s\n", argv[1],
		        ret == CD_ENOTFOUND ? "no such zone" : cd_strerror(ret));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}


/* Wire-encodes a name given on the command line (absolute whether or not it ends in '.'). */
static int name_arg(const char *text, uint8_t out[DNS_MAX_NAME], size_t *len)
{
	int n = zonefile_parse_name(text, out);
	if (n < 0) {
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

int cmd_zone_create(const ctl_t *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ns", required_argument, NULL, 'n' },
		{ "soa-mname", required_argument, NULL, 'm' },
		{ "soa-rname", required_argument, NULL, 'r' },
		{ "ttl", required_argument, NULL, 't' },
		{ "serial-policy", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ns_args[16];
	unsigned ns_count = 0;
	const char *mname_arg = NULL, *rname_arg = NULL, *policy = NULL;
	long ttl_arg = -1;
	int c;
	optind = 0;   /* 0: GNU getopt starts afresh (also its permutation state) */
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (ns_count == 16) {
				return cli_usage_error("at most 16 --ns");
			}
			ns_args[ns_count++] = optarg;
			break;
		case 'm': mname_arg = optarg; break;
		case 'r': rname_arg = optarg; break;
		case 't': {
			char *end;
			errno = 0;
			ttl_arg = strtol(optarg, &end, 10);
			if (errno || *end || ttl_arg < 0 || ttl_arg > 2147483647) {
				return cli_usage_error("invalid --ttl '%s'", optarg);
			}
			break;
		}
		case 'p':
			if (strcmp(optarg, "increment") != 0 && strcmp(optarg, "dateserial") != 0) {
				return cli_usage_error("--serial-policy is 'increment' or 'dateserial'");
			}
			policy = optarg;
			break;
		default:
			return cli_usage_error("zone create: unknown option");
		}
	}
	if (argc - optind != 1) {
		return cli_usage_error("zone create needs exactly one zone NAME");
	}
	const char *zone_text = argv[optind];
	uint8_t apex[DNS_MAX_NAME];
	if (cli_parse_zone_name(zone_text, apex) < 0) {
		return EXIT_USAGE;
	}
	db_t *db;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	int rcode = EXIT_FAILURE;
	zone_builder_t *zb = NULL;
	MDB_txn *txn = NULL;
	json_t *settings = NULL;
	if (db_read_begin(db, &txn) != CD_OK || (settings = db_settings_get(db, txn)) == NULL) {
		cli_fail("cannot read database settings");
		goto out;
	}
	mdb_txn_abort(txn);
	txn = NULL;
	json_t *default_ns = json_object_get(settings, "default_ns");
	if (ns_count == 0) {
		size_t i;
		json_t *v;
		json_array_foreach(default_ns, i, v) {
			if (json_is_string(v) && ns_count < 16) {
				ns_args[ns_count++] = json_string_value(v);
			}
		}
	}
	if (ns_count == 0) {
		cli_fail("zone %s needs name servers: give --ns NAME, or set defaults with "
		         "'certdnsctl settings set default_ns ns1.example.net. ns2.example.net.'",
		         zone_text);
		goto out;
	}
	if (mname_arg == NULL) {
		mname_arg = json_string_value(json_object_get(settings, "soa_mname"));
	}
	if (mname_arg == NULL) {
		mname_arg = ns_args[0];
	}
	char default_rname[DNAME_STR_MAX + 16];
	if (rname_arg == NULL) {
		rname_arg = json_string_value(json_object_get(settings, "soa_rname"));
	}
	if (rname_arg == NULL) {
		char zone_str[DNAME_STR_MAX];
		dname_to_str(apex, zone_str, sizeof(zone_str));
		snprintf(default_rname, sizeof(default_rname), "hostmaster.%s", zone_str);
		rname_arg = default_rname;
	}
	if (policy == NULL) {
		policy = json_string_value(json_object_get(settings, "serial_policy"));
	}
	uint32_t ttl = ttl_arg >= 0 ? (uint32_t)ttl_arg
	                            : db_settings_number(settings, "default_ttl", 3600);
	uint8_t mname[DNS_MAX_NAME], rname[DNS_MAX_NAME];
	size_t mlen, rlen;
	if (name_arg(mname_arg, mname, &mlen) < 0 || name_arg(rname_arg, rname, &rlen) < 0) {
		rcode = cli_usage_error("invalid SOA MNAME '%s' or RNAME '%s'", mname_arg, rname_arg);
		goto out;
	}
	uint8_t soa[2 * DNS_MAX_NAME + 20];
	memcpy(soa, mname, mlen);
	memcpy(soa + mlen, rname, rlen);
	uint8_t *t = soa + mlen + rlen;
	uint32_t serial = zone_next_serial(policy, 0, (long)time(NULL));
	wire_write_u32(t, serial);
	wire_write_u32(t + 4, db_settings_number(settings, "soa_refresh", 7200));
	wire_write_u32(t + 8, db_settings_number(settings, "soa_retry", 3600));
	wire_write_u32(t + 12, db_settings_number(settings, "soa_expire", 1209600));
	wire_write_u32(t + 16, db_settings_number(settings, "soa_minimum", 300));
	zb = zone_builder_new(apex);
	if (zb == NULL) {
		goto out;
	}
	zone_builder_set_create_only(zb, true);
	cli_report_t rep = { .source = zone_text };
	zone_builder_set_report(zb, cli_report_cb, &rep);
	int ret = zone_builder_add(zb, apex, DNS_TYPE_SOA, DNS_CLASS_IN, ttl, soa, mlen + rlen + 20, 0);
	for (unsigned i = 0; ret == CD_OK && i < ns_count; i++) {
		uint8_t ns[DNS_MAX_NAME];
		size_t nslen;
		if (name_arg(ns_args[i], ns, &nslen) < 0) {
			rcode = cli_usage_error("invalid name server '%s'", ns_args[i]);
			goto out;
		}
		ret = zone_builder_add(zb, apex, DNS_TYPE_NS, DNS_CLASS_IN, ttl, ns, nslen, 0);
	}
	zone_builder_stats_t stats;
	if (ret == CD_OK) {
		ret = zone_builder_commit(zb, db, &stats);
	}
	if (ret == CD_EEXISTS) {
		cli_fail("zone %s already exists", zone_text);
		goto out;
	}
	if (ret != CD_OK) {
		cli_fail("creating zone %s failed: %s", zone_text, cd_strerror(ret));
		goto out;
	}
	if (policy != NULL && strcmp(policy, "increment") != 0) {
		if (db_write_begin(db, &txn) == CD_OK) {
			json_t *conf = zone_conf_get(db, txn, apex);
			if (conf != NULL) {
				json_object_set_new(conf, "serial_policy", json_string(policy));
				ret = zone_conf_put(db, txn, apex, conf);
				json_decref(conf);
			}
			ret = ret == CD_OK ? db_write_commit(txn) : (mdb_txn_abort(txn), ret);
			txn = NULL;
		}
	}
	cli_poke_daemon(ctl, "zone-changed", zone_text);
	printf("created zone %s, serial %u, %u name server%s\n", zone_text, serial, ns_count,
	       ns_count == 1 ? "" : "s");
	rcode = EXIT_SUCCESS;
out:
	if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	json_decref(settings);
	zone_builder_free(zb);
	db_close(db);
	return rcode;
}

typedef struct {
	size_t names;
	size_t records;
} count_ctx_t;

static int count_node(void *arg, const node_t *node)
{
	count_ctx_t *c = arg;
	c->names++;
	size_t pos = 0;
	rrset_t rrset;
	while (node_next_rrset(node, &pos, &rrset)) {
		c->records += rrset.count;
	}
	return 0;
}

int cmd_zone_show(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 2) {
		return cli_usage_error("zone show needs exactly one zone NAME");
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
	int ret = db_read_begin(db, &txn);
	zone_record_t zone;
	if (ret == CD_OK) {
		ret = zone_store_get(db, txn, apex, &zone);
	}
	if (ret != CD_OK) {
		if (ret != CD_EDB) {
			mdb_txn_abort(txn);
		}
		db_close(db);
		return cli_fail("zone %s: %s", argv[1], ret == CD_ENOTFOUND ? "no such zone" : cd_strerror(ret));
	}
	count_ctx_t counts = { 0 };
	zone_store_foreach_node(db, txn, zone.id, count_node, &counts);
	size_t journal = 0;
	journal_count(db, txn, zone.id, &journal);
	json_t *conf = zone_conf_get(db, txn, apex);
	char name[DNAME_STR_MAX];
	dname_to_str(zone.apex, name, sizeof(name));
	char policy[32];
	snprintf(policy, sizeof(policy), "%s",
	         conf && json_string_value(json_object_get(conf, "serial_policy"))
	             ? json_string_value(json_object_get(conf, "serial_policy")) : "increment");
	json_t *secondaries = conf ? json_object_get(conf, "secondaries") : NULL;
	json_t *acl = json_array();
	for (unsigned i = 0; i < zone.acl_count; i++) {
		zone_acl_entry_t e;
		zone_acl_get(&zone, i, &e);
		char addr[INET6_ADDRSTRLEN], cidr[INET6_ADDRSTRLEN + 8];
		inet_ntop(e.family == 4 ? AF_INET : AF_INET6, e.addr, addr, sizeof(addr));
		snprintf(cidr, sizeof(cidr), "%s/%u", addr, e.prefix_len);
		json_array_append_new(acl, json_string(cidr));
	}
	json_t *secs_out = secondaries ? json_incref(secondaries) : json_array();
	json_t *out = json_pack("{s:s, s:I, s:I, s:I, s:s, s:o, s:o, s:I}", "zone", name,
	                        "serial", (json_int_t)zone.serial, "names", (json_int_t)counts.names,
	                        "records", (json_int_t)counts.records,
	                        "serial_policy", policy,
	                        "transfer_acl", acl,
	                        "secondaries", secs_out,
	                        "journal_entries", (json_int_t)journal);
	mdb_txn_abort(txn);
	db_close(db);
	json_decref(conf);
	if (ctl->json) {
		cli_print_json(out);
		return EXIT_SUCCESS;
	}
	printf("zone:            %s\nserial:          %u (%s)\nrecords:         %zu at %zu names\n",
	       name, zone.serial, policy, counts.records, counts.names);
	printf("journal:         %zu change%s kept for IXFR\n", journal, journal == 1 ? "" : "s");
	printf("transfer ACL:   ");
	size_t i;
	json_t *v;
	if (json_array_size(acl) == 0) {
		printf(" nobody");
	}
	json_array_foreach(acl, i, v) {
		printf(" %s", json_string_value(v));
	}
	printf("\nsecondaries:    ");
	json_t *secs = json_object_get(out, "secondaries");
	if (json_array_size(secs) == 0) {
		printf(" none");
	}
	json_array_foreach(secs, i, v) {
		const char *key = json_string_value(json_object_get(v, "tsig"));
		printf(" %s:%lld%s%s", json_string_value(json_object_get(v, "address")),
		       (long long)json_integer_value(json_object_get(v, "port")),
		       key ? " key " : "", key ? key : "");
	}
	putchar('\n');
	json_decref(out);
	return EXIT_SUCCESS;
}

int cmd_zone_set(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[2], "serial-policy") != 0) {
		return cli_usage_error("usage: zone set NAME serial-policy increment|dateserial");
	}
	if (strcmp(argv[3], "increment") != 0 && strcmp(argv[3], "dateserial") != 0) {
		return cli_usage_error("serial-policy is 'increment' or 'dateserial'");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (cli_parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	db_t *db;
	if (cli_open_db(ctl, &db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	int ret = db_write_begin(db, &txn);
	if (ret == CD_OK) {
		zone_record_t zone;
		ret = zone_store_get(db, txn, apex, &zone);
		json_t *conf = ret == CD_OK ? zone_conf_get(db, txn, apex) : NULL;
		if (ret == CD_OK && conf == NULL) {
			ret = CD_ENOMEM;
		}
		if (ret == CD_OK) {
			json_object_set_new(conf, "serial_policy", json_string(argv[3]));
			ret = zone_conf_put(db, txn, apex, conf);
		}
		json_decref(conf);
		ret = ret == CD_OK ? db_write_commit(txn) : (mdb_txn_abort(txn), ret);
	}
	db_close(db);
	if (ret != CD_OK) {
		return cli_fail("zone %s: %s", argv[1], ret == CD_ENOTFOUND ? "no such zone" : cd_strerror(ret));
	}
	printf("zone %s: serial policy %s\n", argv[1], argv[3]);
	return EXIT_SUCCESS;
}
