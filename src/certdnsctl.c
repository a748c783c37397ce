/*
 * certdnsctl: manages the certdns database -- zones now; records,
 * secondaries, certificates and keys as they arrive.  Writes go straight to
 * LMDB in one transaction each, so they are live for the next query of a
 * running certdnsd without a reload.
 *
 * Exit codes: 0 success, 1 error, 2 usage.
 */

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

#define DEFAULT_DB_DIR "/var/lib/certdns"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certdnsctl [--db DIR] [--json] [--map-size BYTES] COMMAND ...\n"
	        "\n"
	        "Zones:\n"
	        "  zone create NAME [--ns NS]... [--soa-mname N] [--soa-rname N] [--ttl S]\n"
	        "              [--serial-policy increment|dateserial]\n"
	        "                                     a new zone with an SOA and NS records\n"
	        "  zone import FILE [--origin NAME]   load a master file, replacing the zone atomically\n"
	        "  zone list                          list hosted zones\n"
	        "  zone show NAME                     serial, size, policy, ACL, secondaries\n"
	        "  zone export NAME                   print a zone in master-file format\n"
	        "  zone delete NAME                   delete a zone and all its records\n"
	        "  zone set NAME serial-policy increment|dateserial\n"
	        "  zone transfer-acl NAME [CIDR ...|none]\n"
	        "                                     show or set who may AXFR the zone\n"
	        "\n"
	        "Records (each command is one atomic change; the serial is bumped):\n"
	        "  record add ZONE 'OWNER [TTL] [CLASS] TYPE RDATA' ...\n"
	        "  record delete ZONE 'OWNER TYPE RDATA' | 'OWNER TYPE' | 'OWNER' ...\n"
	        "  record replace ZONE 'OWNER [TTL] TYPE RDATA' ...   (the new RRset)\n"
	        "  record batch ZONE [FILE|-]         lines 'add RR', 'delete RR', 'replace RR';\n"
	        "                                     'commit' ends one transaction, starts the next\n"
	        "  record list ZONE [NAME] [TYPE]\n"
	        "\n"
	        "Secondaries and TSIG (NOTIFY is sent on every change; IXFR/AXFR with TSIG):\n"
	        "  tsig add NAME [hmac-sha256|hmac-sha384|hmac-sha512]   prints Knot/NSD/BIND config\n"
	        "  tsig list | tsig show NAME --secret | tsig delete NAME\n"
	        "  secondary add ZONE ADDR[:PORT] [--tsig KEYNAME]\n"
	        "  secondary list ZONE | secondary delete ZONE ADDR[:PORT]\n"
	        "  tsig import NAME ALGORITHM SECRET|-  a key made elsewhere (e.g. by the primary);\n"
	        "                                     -: the secret from standard input (not in ps)\n"
	        "  zone follow ZONE PRIMARY[:PORT] [--tsig KEYNAME]\n"
	        "                                     be a secondary: pull the zone by AXFR/IXFR\n"
	        "  zone unfollow ZONE                 stop pulling (the data stays, now ours)\n"
	        "\n"
	        "ACME certificates (the daemon's engine does the work; dns-01 on our zones):\n"
	        "  acme account create --directory URL [--contact mailto:...] [--agree-tos]\n"
	        "              [--eab-kid K --eab-hmac H|-] [--ca-file PEM] [--key TYPE]\n"
	        "  acme account list | acme account show ID\n"
	        "  acme account rollover ID [--key TYPE] | acme account deactivate ID\n"
	        "  cert request NAME... [--key ecdsa-p256|ecdsa-p384|rsa-2048|rsa-4096]\n"
	        "              [--account ID] [--fallback-account ID] [--wait [--timeout S]]\n"
	        "              [--export-dir DIR [--deploy-hook CMD]]   renewed by itself\n"
	        "  cert list | cert show ID | cert export ID --dir DIR\n"
	        "  cert revoke ID [--reason unspecified|keyCompromise|superseded|cessationOfOperation]\n"
	        "  cert import --cert BUNDLE.pem --key KEY.pem [--export-dir DIR [--deploy-hook CMD]]\n"
	        "  cert csr NAME... [--key TYPE] --out DIR   a key and CSR to buy a certificate elsewhere\n"
	        "\n"
	        "Diagnostics:\n"
	        "  check NAME [--account ID] [--resolver ADDR[:PORT]]\n"
	        "                                     delegation, challenge CNAME, CAA, serials; the fix\n"
	        "\n"
	        "Daemon:\n"
	        "  status                             uptime, zones, answers per rcode (exit 1 if down)\n"
	        "\n"
	        "Settings (defaults for new zones):\n"
	        "  settings show\n"
	        "  settings set KEY VALUE...          default_ns, soa_mname, soa_rname, serial_policy,\n"
	        "                                     default_ttl, soa_refresh/retry/expire/minimum,\n"
	        "                                     acme_zone, acme_check_ns, acme_ns_port,\n"
	        "                                     acme_propagation_timeout/interval, acme_challenge_ttl\n"
	        "\n"
	        "Options:\n"
	        "  --db DIR        database directory (default: $CERTDNS_DB or " DEFAULT_DB_DIR ")\n"
	        "  --json          machine-readable output for listings\n"
	        "  --map-size N    grow the database map to N bytes (suffixes K, M, G)\n"
	        "  -h, --help      this text\n"
	        "  -V, --version   print the version\n");
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
	{ "zone", "create", cmd_zone_create },
	{ "zone", "show", cmd_zone_show },
	{ "zone", "set", cmd_zone_set },
	{ "record", "add", cmd_record_add },
	{ "record", "delete", cmd_record_delete },
	{ "record", "replace", cmd_record_replace },
	{ "record", "batch", cmd_record_batch },
	{ "record", "list", cmd_record_list },
	{ "zone", "follow", cmd_zone_follow },
	{ "zone", "unfollow", cmd_zone_unfollow },
	{ "tsig", "add", cmd_tsig_add },
	{ "tsig", "import", cmd_tsig_import },
	{ "tsig", "list", cmd_tsig_list },
	{ "tsig", "show", cmd_tsig_show },
	{ "tsig", "delete", cmd_tsig_delete },
	{ "secondary", "add", cmd_secondary_add },
	{ "secondary", "list", cmd_secondary_list },
	{ "secondary", "delete", cmd_secondary_delete },
	{ "cert", "request", cmd_cert_request },
	{ "cert", "list", cmd_cert_list },
	{ "cert", "show", cmd_cert_show },
	{ "cert", "export", cmd_cert_export },
	{ "cert", "revoke", cmd_cert_revoke },
	{ "cert", "import", cmd_cert_import },
	{ "cert", "csr", cmd_cert_csr },
	{ "settings", "show", cmd_settings_show },
	{ "settings", "set", cmd_settings_set },
};

static int parse_size(const char *text, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || text[0] == '-') {
		return -1;
	}
	unsigned shift = 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v > (SIZE_MAX >> shift) || (v << shift) < (1u << 20)) {
		return -1;
	}
	*out = (size_t)(v << shift);
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
	/* ldns allocates and frees a large buffer for every record it parses; with
	 * glibc's default trim threshold that buffer sits at the top of the heap
	 * and each free gives it back to the kernel: three brk calls a record, which
	 * made a 1M-record import spend most of its time in the kernel. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
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
				return cli_usage_error("invalid --map-size '%s' (at least 1M)", optarg);
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
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "certdnsctl: cannot initialise libcurl\n");
		return EXIT_FAILURE;
	}
	atexit(curl_global_cleanup);
	if (argc == 1 && strcmp(argv[0], "status") == 0) {
		return cmd_status(&ctl, argc, argv);
	}
	if (argc >= 1 && strcmp(argv[0], "check") == 0) {
		return cmd_check(&ctl, argc, argv);
	}
	if (argc >= 3 && strcmp(argv[0], "acme") == 0 && strcmp(argv[1], "account") == 0) {
		if (strcmp(argv[2], "create") == 0) {
			return cmd_acme_account_create(&ctl, argc - 2, argv + 2);
		}
		if (strcmp(argv[2], "list") == 0) {
			return cmd_acme_account_list(&ctl, argc - 2, argv + 2);
		}
		if (strcmp(argv[2], "show") == 0) {
			return cmd_acme_account_show(&ctl, argc - 2, argv + 2);
		}
		if (strcmp(argv[2], "rollover") == 0) {
			return cmd_acme_account_rollover(&ctl, argc - 2, argv + 2);
		}
		if (strcmp(argv[2], "deactivate") == 0) {
			return cmd_acme_account_deactivate(&ctl, argc - 2, argv + 2);
		}
	}
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
