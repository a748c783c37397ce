/*
 * certdnsd: the certdns daemon.  Serves the zones in the database over UDP
 * and TCP; every committed change is live for the next query.
 */

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "db/db.h"
#include "dns/answer.h"
#include "server/privdrop.h"
#include "server/conn_limit.h"
#include "server/server.h"

#define EXIT_USAGE 2

/* Options without a short form. */
enum {
	OPT_RRL_RATE = 256,
	OPT_RRL_SLIP,
	OPT_RRL_IPV4_PREFIX,
	OPT_RRL_IPV6_PREFIX,
	OPT_TCP_MAX_PER_SOURCE,
	OPT_COOKIE_SECRET_FILE,
};
#define DEFAULT_DB_DIR "/var/lib/certdns"
#define DEFAULT_LISTEN "127.0.0.1:5353"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: certdnsd [--db DIR] [--listen ADDR[:PORT]]... [--workers N]\n"
	        "\n"
	        "  --db DIR                 database directory (default: $CERTDNS_DB or " DEFAULT_DB_DIR ")\n"
	        "  --listen ADDR[:PORT]     UDP and TCP address, repeatable; IPv6 as [ADDR]:PORT\n"
	        "                           (default: " DEFAULT_LISTEN ")\n"
	        "  --workers N              DNS worker threads (default: number of CPUs)\n"
	        "  --udp-payload N          largest UDP answer and EDNS size advertised (512-4096, default %d)\n"
	        "  --tcp-idle-timeout SECS  close idle TCP connections (default 10)\n"
	        "  --tcp-max-clients N      TCP connections per worker (default 250)\n"
	        "  --map-size BYTES         grow the database map (suffixes K, M, G)\n"
	        "  --acme-resolver ADDR[:PORT]  recursive resolver for the ACME engine's CNAME and NS\n"
	        "                           look-ups (default: /etc/resolv.conf)\n"
	        "  --no-acme                do not run the ACME engine\n"
	        "  --rrl-rate N             UDP answers per second to one network for one name and kind\n"
	        "                           of answer, beyond which they are dropped or slipped\n"
	        "                           (0: no rate limiting; default %d; see doc/hosting.md)\n"
	        "  --rrl-slip N             send every Nth limited answer truncated, so real clients\n"
	        "                           retry over TCP (0: drop all, 1: truncate all; default %d)\n"
	        "  --rrl-ipv4-prefix N      IPv4 network size the rate applies to (default /%d)\n"
	        "  --rrl-ipv6-prefix N      IPv6 network size the rate applies to (default /%d)\n"
	        "  --tcp-max-per-source N   TCP connections one address (IPv6: one /64) may hold\n"
	        "                           (0: no cap; default %d)\n"
	        "  --cookie-secret-file FILE  DNS cookie secrets, 32 hex digits a line, shared by a set\n"
	        "                           of servers (default: a random secret at each start)\n"
	        "  --user USER[:GROUP]      started as root: bind the sockets, then run as USER for good\n"
	        "                           (the database directory must belong to USER; see doc/hosting.md)\n"
	        "  -h, --help, -V, --version\n",
	        ANSWER_DEFAULT_UDP_PAYLOAD, RRL_DEFAULT_RATE, RRL_DEFAULT_SLIP, RRL_DEFAULT_IPV4_PREFIX,
	        RRL_DEFAULT_IPV6_PREFIX, CONN_LIMIT_DEFAULT_PER_SOURCE);
}

/* Parses a decimal number in [min, max]; with suffixes, K, M and G scale it first. */
static int parse_uint(const char *text, unsigned long min, unsigned long max, bool suffixes,
                      unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || text[0] == '-') {
		return -1;
	}
	unsigned shift = 0;
	if (suffixes) {
		switch (*end) {
		case 'K': case 'k': shift = 10; end++; break;
		case 'M': case 'm': shift = 20; end++; break;
		case 'G': case 'g': shift = 30; end++; break;
		default: break;
		}
	}
	if (*end != '\0' || (shift > 0 && v > (ULONG_MAX >> shift))) {
		return -1;
	}
	v <<= shift;
	if (v < min || v > max) {
		return -1;
	}
	*out = v;
	return 0;
}

static int bad_option(const char *opt, const char *value)
{
	fprintf(stderr, "certdnsd: invalid value '%s' for %s\nTry 'certdnsd --help'.\n", value, opt);
	return EXIT_USAGE;
}

/* The DNS cookie secrets: from --cookie-secret-file, else one random secret. */
static int load_cookie_secrets(const char *path, cookie_secrets_t *secrets)
{
	if (path == NULL) {
		if (cookie_secrets_generate(secrets) != CD_OK) {
			log_error("cannot make a DNS cookie secret: getrandom: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	char err[512];
	if (cookie_secrets_load(secrets, path, err, sizeof(err)) != CD_OK) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

/* --user: only root can switch users; the user must exist and not be root. */
static int resolve_user(const char *spec, privdrop_t *priv)
{
	if (geteuid() != 0) {
		fprintf(stderr, "certdnsd: --user needs root to switch users, but certdnsd runs as uid %u:"
		        " start it as root, or without --user as the service user itself\n",
		        (unsigned)geteuid());
		return -1;
	}
	char err[512];
	if (privdrop_resolve(spec, priv, err, sizeof(err)) != CD_OK) {
		fprintf(stderr, "certdnsd: --user: %s\n", err);
		return -1;
	}
	return 0;
}

/* Called by the server once the listen sockets are bound. */
static int drop_privileges(void *ctx)
{
	return privdrop_drop(ctx);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "udp-payload", required_argument, NULL, 'u' },
		{ "tcp-idle-timeout", required_argument, NULL, 't' },
		{ "tcp-max-clients", required_argument, NULL, 'c' },
		{ "map-size", required_argument, NULL, 'm' },
		{ "acme-resolver", required_argument, NULL, 'r' },
		{ "no-acme", no_argument, NULL, 'n' },
		{ "rrl-rate", required_argument, NULL, OPT_RRL_RATE },
		{ "rrl-slip", required_argument, NULL, OPT_RRL_SLIP },
		{ "rrl-ipv4-prefix", required_argument, NULL, OPT_RRL_IPV4_PREFIX },
		{ "rrl-ipv6-prefix", required_argument, NULL, OPT_RRL_IPV6_PREFIX },
		{ "tcp-max-per-source", required_argument, NULL, OPT_TCP_MAX_PER_SOURCE },
		{ "cookie-secret-file", required_argument, NULL, OPT_COOKIE_SECRET_FILE },
		{ "user", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	server_config_t cfg = {
		.udp_payload = ANSWER_DEFAULT_UDP_PAYLOAD,
		.tcp_idle_timeout_ms = 10000,
		.tcp_max_clients = 250,
		.tcp_max_per_source = CONN_LIMIT_DEFAULT_PER_SOURCE,
		.rrl = { .rate = RRL_DEFAULT_RATE, .slip = RRL_DEFAULT_SLIP,
		         .ipv4_prefix = RRL_DEFAULT_IPV4_PREFIX, .ipv6_prefix = RRL_DEFAULT_IPV6_PREFIX },
		.acme = true,
	};
	const char *db_dir = getenv("CERTDNS_DB");
	if (db_dir == NULL || *db_dir == '\0') {
		db_dir = DEFAULT_DB_DIR;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cfg.workers = cpus > 0 ? (unsigned)cpus : 1;
	size_t map_size = 0;
	const char *user_spec = NULL;
	const char *cookie_secret_file = NULL;
	unsigned long v;
	int c;
	while ((c = getopt_long(argc, argv, "d:l:w:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db_dir = optarg;
			break;
		case 'l':
			if (cfg.listen_count >= SERVER_MAX_LISTEN) {
				fprintf(stderr, "certdnsd: at most %d --listen addresses\n", SERVER_MAX_LISTEN);
				return EXIT_USAGE;
			}
			if (server_parse_listen(optarg, &cfg.listen[cfg.listen_count]) != 0) {
				return bad_option("--listen (want ADDR, ADDR:PORT or [IPV6]:PORT)", optarg);
			}
			cfg.listen_count++;
			break;
		case 'w':
			if (parse_uint(optarg, 1, 256, false, &v) != 0) {
				return bad_option("--workers (1-256)", optarg);
			}
			cfg.workers = (unsigned)v;
			break;
		case 'u':
			if (parse_uint(optarg, 512, 4096, false, &v) != 0) {
				return bad_option("--udp-payload (512-4096)", optarg);
			}
			cfg.udp_payload = (uint16_t)v;
			break;
		case 't':
			if (parse_uint(optarg, 1, 3600, false, &v) != 0) {
				return bad_option("--tcp-idle-timeout (1-3600 seconds)", optarg);
			}
			cfg.tcp_idle_timeout_ms = (unsigned)v * 1000;
			break;
		case 'c':
			if (parse_uint(optarg, 1, 100000, false, &v) != 0) {
				return bad_option("--tcp-max-clients (1-100000)", optarg);
			}
			cfg.tcp_max_clients = (unsigned)v;
			break;
		case 'm':
			if (parse_uint(optarg, 1u << 20, ULONG_MAX, true, &v) != 0) {
				return bad_option("--map-size (at least 1M)", optarg);
			}
			map_size = v;
			break;
		case 'r':
			cfg.acme_resolver = optarg;
			break;
		case 'n':
			cfg.acme = false;
			break;
		case OPT_RRL_RATE:
			if (parse_uint(optarg, 0, RRL_RATE_MAX, false, &v) != 0) {
				return bad_option("--rrl-rate (0-1000000 answers per second, 0: off)", optarg);
			}
			cfg.rrl.rate = (unsigned)v;
			break;
		case OPT_RRL_SLIP:
			if (parse_uint(optarg, 0, RRL_SLIP_MAX, false, &v) != 0) {
				return bad_option("--rrl-slip (0-100)", optarg);
			}
			cfg.rrl.slip = (unsigned)v;
			break;
		case OPT_RRL_IPV4_PREFIX:
			if (parse_uint(optarg, 1, 32, false, &v) != 0) {
				return bad_option("--rrl-ipv4-prefix (1-32)", optarg);
			}
			cfg.rrl.ipv4_prefix = (unsigned)v;
			break;
		case OPT_RRL_IPV6_PREFIX:
			if (parse_uint(optarg, 1, 128, false, &v) != 0) {
				return bad_option("--rrl-ipv6-prefix (1-128)", optarg);
			}
			cfg.rrl.ipv6_prefix = (unsigned)v;
			break;
		case OPT_TCP_MAX_PER_SOURCE:
			if (parse_uint(optarg, 0, 100000, false, &v) != 0) {
				return bad_option("--tcp-max-per-source (0-100000, 0: no cap)", optarg);
			}
			cfg.tcp_max_per_source = (unsigned)v;
			break;
		case OPT_COOKIE_SECRET_FILE:
			cookie_secret_file = optarg;
			break;
		case 'U':
			user_spec = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("certdnsd %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "certdnsd: unexpected argument '%s'\nTry 'certdnsd --help'.\n",
		        argv[optind]);
		return EXIT_USAGE;
	}
	if (cfg.listen_count == 0) {
		server_parse_listen(DEFAULT_LISTEN, &cfg.listen[0]);
		cfg.listen_count = 1;
	}
	if (load_cookie_secrets(cookie_secret_file, &cfg.cookies) != 0) {
		return EXIT_FAILURE;
	}
	privdrop_t priv;
	if (user_spec != NULL && resolve_user(user_spec, &priv) != 0) {
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Zones pulled from a primary are parsed by ldns: see certdnsctl.c on brk churn. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_TOP_PAD, 16 << 20);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_error("cannot initialise libcurl");
		return EXIT_FAILURE;
	}

	/* Each worker holds one reader slot, each zone transfer another. */
	db_options_t opts = { .map_size = map_size, .max_readers = cfg.workers * 4 + 126 };
	umask(0077);   /* the database, its lock file and the control socket are ours alone */
	cfg.db_dir = db_dir;
	int ret = privdrop_prepare_db_dir(user_spec != NULL ? &priv : NULL, db_dir);
	if (ret != CD_OK) {
		return EXIT_FAILURE;
	}
	if (user_spec != NULL) {
		cfg.sockets_bound = drop_privileges;
		cfg.sockets_bound_ctx = &priv;
	} else if (geteuid() == 0) {
		log_warning("running as root: every packet is handled with full privileges; "
		            "start certdnsd with --user (see doc/hosting.md)");
	}
	ret = db_open(&cfg.db, db_dir, &opts);
	if (ret != CD_OK) {
		log_error("cannot open database %s: %s", db_dir, cd_strerror(ret));
		return EXIT_FAILURE;
	}
	log_info("certdnsd %s starting, database %s", PACKAGE_VERSION, db_dir);
	ret = server_run(&cfg);
	db_close(cfg.db);
	curl_global_cleanup();
	if (ret != CD_OK) {
		log_error("certdnsd stopped: %s", cd_strerror(ret));
		return EXIT_FAILURE;
	}
	log_info("certdnsd stopped");
	return EXIT_SUCCESS;
}
