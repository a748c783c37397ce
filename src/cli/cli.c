#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "zonefile/zonefile.h"

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "certdnsctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'certdnsctl --help'.\n");
	return EXIT_USAGE;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "certdnsctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

/* Whether a certdnsd accepts connections on the database's control socket. */
static bool daemon_running(const ctl_t *ctl)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/control.sock",
	                     ctl->db_dir) >= sizeof(addr.sun_path)) {
		return false;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return false;
	}
	bool up = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	return up;
}

/*
 * A running certdnsd keeps the map it opened: growing the map under it would
 * let us write where it cannot read (LMDB: MDB_MAP_RESIZED), and it would
 * answer SERVFAIL until restarted.  Refuses that, with what to do instead.
 */
static int check_growth_is_safe(const ctl_t *ctl)
{
	if (ctl->map_size == 0 || !daemon_running(ctl)) {
		return EXIT_SUCCESS;
	}
	db_t *db;
	db_options_t ro = { .read_only = true };
	size_t map = 0, used = 0;
	if (db_open(&db, ctl->db_dir, &ro) != CD_OK) {
		return EXIT_SUCCESS;     /* the real open reports what is wrong */
	}
	int ret = db_map_usage(db, &map, &used);
	db_close(db);
	if (ret != CD_OK || ctl->map_size <= map) {
		return EXIT_SUCCESS;
	}
	char have[32], want[32];
	db_format_size(map, have, sizeof(have));
	db_format_size(ctl->map_size, want, sizeof(want));
	return cli_fail("certdnsd is running on %s with a map of %s: growing the map to %s under "
	                "it would leave it unable to read the database. Restart certdnsd with "
	                "--map-size instead (the database keeps the new size, certdnsctl then uses "
	                "it too); see 'When the database is full' in doc/hosting.md",
	                ctl->db_dir, have, want);
}

int cli_open_db(const ctl_t *ctl, db_t **db)
{
	if (check_growth_is_safe(ctl) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	db_options_t opts = { .map_size = ctl->map_size };
	int ret = db_open(db, ctl->db_dir, &opts);
	if (ret != CD_OK) {
		return cli_fail("cannot open database %s: %s", ctl->db_dir, cd_strerror(ret));
	}
	return EXIT_SUCCESS;
}

int cli_open_db_ro(const ctl_t *ctl, db_t **db)
{
	struct stat st;
	char data[4200];
	snprintf(data, sizeof(data), "%s/data.mdb", ctl->db_dir);
	if (stat(ctl->db_dir, &st) != 0) {
		return cli_fail("no database at %s: %s", ctl->db_dir, strerror(errno));
	}
	if (stat(data, &st) != 0) {
		return cli_open_db(ctl, db);   /* an empty directory: an empty database, made here */
	}
	db_options_t opts = { .read_only = true };
	int ret = db_open(db, ctl->db_dir, &opts);
	if (ret != CD_OK) {
		return cli_fail("cannot open database %s: %s", ctl->db_dir, cd_strerror(ret));
	}
	return EXIT_SUCCESS;
}

int cli_secret_arg(const char *what, const char *arg, char *buf, size_t len, const char **out)
{
	if (strcmp(arg, "-") != 0) {
		*out = arg;
		return 0;
	}
	if (fgets(buf, (int)len, stdin) == NULL) {
		fprintf(stderr, "certdnsctl: %s: nothing on standard input\n", what);
		return -1;
	}
	size_t n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == len - 1) {
		fprintf(stderr, "certdnsctl: %s: the line on standard input is too long\n", what);
		return -1;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

int cli_parse_zone_name(const char *text, uint8_t apex[DNS_MAX_NAME])
{
	if (zonefile_parse_name(text, apex) < 0) {
		fprintf(stderr, "certdnsctl: '%s' is not a valid domain name\n", text);
		return -1;
	}
	return 0;
}

void cli_print_json(json_t *value)
{
	json_dumpf(value, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(value);
}

void cli_report_cb(void *arg, bool is_error, unsigned line, const char *msg)
{
	cli_report_t *r = arg;
	if (line > 0) {
		fprintf(stderr, "%s:%u: %s: %s\n", r->source, line, is_error ? "error" : "warning", msg);
	} else {
		fprintf(stderr, "%s: %s: %s\n", r->source, is_error ? "error" : "warning", msg);
	}
	if (is_error) {
		r->errors++;
	} else {
		r->warnings++;
	}
}

/*
 * Sends one request line to the daemon's control socket and reads the reply.
 * Returns the reply (caller frees) or NULL when the daemon does not answer.
 */
static json_t *control_request(const ctl_t *ctl, json_t *req)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/control.sock",
	                     ctl->db_dir) >= sizeof(addr.sun_path)) {
		return NULL;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return NULL;
	}
	json_t *out = NULL;
	char *text = json_dumps(req, JSON_COMPACT);
	struct timeval tv = { .tv_sec = 5 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (text != NULL && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		size_t len = strlen(text);
		text[len] = '\n';   /* replaces the terminator: one request per line */
		if (write(fd, text, len + 1) == (ssize_t)(len + 1)) {
			char reply[65536];
			size_t got = 0;
			ssize_t n;
			while (got < sizeof(reply) - 1 &&
			       (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0) {
				got += (size_t)n;
				if (memchr(reply, '\n', got) != NULL) {
					break;
				}
			}
			reply[got] = '\0';
			json_error_t err;
			out = json_loads(reply, JSON_DISABLE_EOF_CHECK, &err);
		}
	}
	free(text);
	close(fd);
	return out;
}

int cmd_status(const ctl_t *ctl, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		return cli_usage_error("status takes no arguments");
	}
	json_t *req = json_pack("{s:s}", "cmd", "status");
	json_t *st = control_request(ctl, req);
	json_decref(req);
	if (st == NULL) {
		if (ctl->json) {
			cli_print_json(json_pack("{s:b}", "running", 0));
		} else {
			printf("certdnsd is not running on %s (no answer on %s/control.sock);\n"
			       "changes are stored and served as soon as it starts\n", ctl->db_dir,
			       ctl->db_dir);
		}
		return EXIT_FAILURE;
	}
	if (ctl->json) {
		cli_print_json(st);
		return EXIT_SUCCESS;
	}
	json_int_t up = json_integer_value(json_object_get(st, "uptime_seconds"));
	printf("certdnsd %s running for %lldd %02lld:%02lld:%02lld, %lld workers, %lld zones\n",
	       json_string_value(json_object_get(st, "version")), up / 86400, up / 3600 % 24,
	       up / 60 % 60, up % 60, json_integer_value(json_object_get(st, "workers")),
	       json_integer_value(json_object_get(st, "zones")));
	printf("listening on:");
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(st, "listen"), i, v) {
		printf(" %s", json_string_value(v));
	}
	json_t *q = json_object_get(st, "queries");
	printf("\nqueries:      %lld UDP, %lld TCP, %lld dropped\nanswers:     ",
	       json_integer_value(json_object_get(q, "udp")),
	       json_integer_value(json_object_get(q, "tcp")),
	       json_integer_value(json_object_get(st, "dropped")));
	const char *k;
	json_object_foreach(json_object_get(st, "rcodes"), k, v) {
		if (json_integer_value(v) > 0) {
			printf(" %s %lld", k, json_integer_value(v));
		}
	}
	printf("\nNOTIFY:       %lld waiting for an answer\n",
	       json_integer_value(json_object_get(st, "notify_pending")));
	json_t *lim = json_object_get(st, "limits");
	if (lim != NULL) {
		printf("rate limit:   %lld UDP answers dropped, %lld slipped (truncated)",
		       json_integer_value(json_object_get(lim, "rrl_dropped")),
		       json_integer_value(json_object_get(lim, "rrl_slipped")));
		if (json_integer_value(json_object_get(lim, "rrl_rate")) == 0) {
			printf(" (off: --rrl-rate 0)");
		}
		printf("\nTCP refused:  %lld connections over --tcp-max-per-source\n",
		       json_integer_value(json_object_get(lim, "tcp_refused_per_source")));
	}
	json_decref(st);
	return EXIT_SUCCESS;
}

void cli_poke_daemon(const ctl_t *ctl, const char *event, const char *zone)
{
	json_t *req = json_pack("{s:s, s:s?}", "cmd", event, "zone", zone);
	json_decref(control_request(ctl, req));   /* best effort: the daemon also rechecks itself */
	json_decref(req);
}
