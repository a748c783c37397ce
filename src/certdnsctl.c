/*
 * certdnsctl: manages the certdns database -- zones now; records,
 * secondaries, certificates and keys as they arrive.  Writes go straight to
 * LMDB in one transaction each, so they are live for the next query of a
 * running certdnsd without a reload.
 *
 * Exit codes: 0 success, 1 error, 2 usage.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "db/db.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "zonefile/zonefile.h"

#define EXIT_USAGE 2
#define DEFAULT_DB_DIR "/var/lib/certdns"

typedef struct {
	const char *db_dir;
	size_t map_size;
	bool json;
} ctl_t;

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certdnsctl [--db DIR] [--json] [--map-size BYTES] COMMAND ...\n"
	        "\n"
	        "Zones:\n"
	        "  zone import FILE [--origin NAME]   load a master file, replacing the zone atomically\n"
	        "  zone list                          list hosted zones\n"
	        "  zone export NAME                   print a zone in master-file format\n"
	        "  zone delete NAME                   delete a zone and all its records\n"
	        "  zone transfer-acl NAME [CIDR ...|none]\n"
	        "                                     show or set who may AXFR the zone\n"
	        "\n"
	        "Options:\n"
	        "  --db DIR        database directory (default: $CERTDNS_DB or " DEFAULT_DB_DIR ")\n"
	        "  --json          machine-readable output for listings\n"
	        "  --map-size N    grow the database map to N bytes (suffixes K, M, G)\n"
	        "  -h, --help      this text\n"
	        "  -V, --version   print the version\n");
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "certdnsctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'certdnsctl --help'.\n");
	return EXIT_USAGE;
}

static int open_db(const ctl_t *ctl, db_t **db, bool read_only)
{
	db_options_t opts = { .map_size = ctl->map_size, .read_only = read_only };
	int ret = db_open(db, ctl->db_dir, &opts);
	if (ret != CD_OK) {
		fprintf(stderr, "certdnsctl: cannot open database %s: %s\n", ctl->db_dir,
		        cd_strerror(ret));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

static int parse_zone_name(const char *text, uint8_t apex[DNS_MAX_NAME])
{
	if (zonefile_parse_name(text, apex) < 0) {
		fprintf(stderr, "certdnsctl: '%s' is not a valid domain name\n", text);
		return -1;
	}
	return 0;
}

static int cmd_zone_import(const ctl_t *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "origin", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	zonefile_import_opts_t opts = { .progress = isatty(STDERR_FILENO) };
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:", longopts, NULL)) != -1) {
		if (c == 'o') {
			opts.origin = optarg;
		} else {
			return usage_error("%s", "zone import: unknown option");
		}
	}
	if (argc - optind != 1) {
		return usage_error("%s", "zone import needs exactly one FILE");
	}
	const char *path = argv[optind];
	db_t *db;
	if (open_db(ctl, &db, false) != EXIT_SUCCESS) {
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

static int cmd_zone_list(const ctl_t *ctl, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		return usage_error("%s", "zone list takes no arguments");
	}
	db_t *db;
	if (open_db(ctl, &db, false) != EXIT_SUCCESS) {
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

static int cmd_zone_export(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 2) {
		return usage_error("%s", "zone export needs exactly one zone NAME");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	db_t *db;
	if (open_db(ctl, &db, false) != EXIT_SUCCESS) {
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

static int cmd_zone_delete(const ctl_t *ctl, int argc, char **argv)
{
	if (argc != 2) {
		return usage_error("%s", "zone delete needs exactly one zone NAME");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	db_t *db;
	if (open_db(ctl, &db, false) != EXIT_SUCCESS) {
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

static int cmd_zone_transfer_acl(const ctl_t *ctl, int argc, char **argv)
{
	if (argc < 2) {
		return usage_error("%s", "zone transfer-acl needs a zone NAME");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (parse_zone_name(argv[1], apex) < 0) {
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
			return usage_error("'%s' is not an address or ADDR/PREFIX", argv[i]);
		}
		count++;
	}
	db_t *db;
	if (open_db(ctl, &db, false) != EXIT_SUCCESS) {
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

typedef struct {
	const char *group;
	const char *name;
	int (*run)(const ctl_t *ctl, int argc, char **argv);
} command_t;

static const command_t commands[] = {
	{ "zone", "import", cmd_zone_import },
	{ "zone", "list", cmd_zone_list },
	{ "zone", "export", cmd_zone_export },
	{ "zone", "delete", cmd_zone_delete },
	{ "zone", "transfer-acl", cmd_zone_transfer_acl },
};

static int parse_size(const char *text, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text) {
		return -1;
	}
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v < (1u << 20)) {
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "map-size", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	ctl_t ctl = { .db_dir = getenv("CERTDNS_DB") };
	if (ctl.db_dir == NULL || *ctl.db_dir == '\0') {
		ctl.db_dir = DEFAULT_DB_DIR;
	}
	int c;
	while ((c = getopt_long(argc, argv, "+d:jm:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			ctl.db_dir = optarg;
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'm':
			if (parse_size(optarg, &ctl.map_size) < 0) {
				return usage_error("invalid --map-size '%s' (at least 1M)", optarg);
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("certdnsctl %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].group) == 0 && strcmp(argv[1], commands[i].name) == 0) {
			return commands[i].run(&ctl, argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "certdnsctl: unknown command '%s %s'\nTry 'certdnsctl --help'.\n",
	        argv[0], argv[1]);
	return EXIT_USAGE;
}
