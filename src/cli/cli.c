#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

int cli_open_db(const ctl_t *ctl, db_t **db)
{
	db_options_t opts = { .map_size = ctl->map_size };
	int ret = db_open(db, ctl->db_dir, &opts);
	if (ret != CD_OK) {
		return cli_fail("cannot open database %s: %s", ctl->db_dir, cd_strerror(ret));
	}
	return EXIT_SUCCESS;
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

void cli_poke_daemon(const ctl_t *ctl, const char *event, const char *zone)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/control.sock",
	                     ctl->db_dir) >= sizeof(addr.sun_path)) {
		return;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		json_t *req = json_pack("{s:s, s:s?}", "cmd", event, "zone", zone);
		char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
		if (text != NULL) {
			size_t len = strlen(text);
			text[len] = '\n';   /* replaces the terminator: one request per line */
			ssize_t n = write(fd, text, len + 1);
			(void)n;   /* best effort: the daemon also rechecks on its own */
			char reply[256];
			n = read(fd, reply, sizeof(reply));
			(void)n;
		}
		free(text);
		json_decref(req);
	}
	close(fd);
}
