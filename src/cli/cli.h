#pragma once
/* Internal to certdnsctl: shared state and helpers of the command modules. */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "dns/wire.h"

#define EXIT_USAGE 2

typedef struct {
	const char *db_dir;
	size_t map_size;
	bool json;
} ctl_t;

/* Prints "certdnsctl: <message>" and a hint to --help; returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2)))
int cli_usage_error(const char *fmt, ...);

/* Prints "certdnsctl: <message>" to stderr; returns EXIT_FAILURE. */
__attribute__((format(printf, 1, 2)))
int cli_fail(const char *fmt, ...);

/* Opens the database; prints why not.  Returns EXIT_SUCCESS or EXIT_FAILURE. */
int cli_open_db(const ctl_t *ctl, db_t **db);

/* Opens an existing database read-only (listings): a mistyped --db creates nothing. */
int cli_open_db_ro(const ctl_t *ctl, db_t **db);

/*
 * A secret argument, or "-" to read it from the first line of standard input:
 * every user can read a command line (ps, /proc/PID/cmdline), not our stdin.
 * *out is arg itself or buf.  Returns 0, or -1 (printed why, without the secret).
 */
int cli_secret_arg(const char *what, const char *arg, char *buf, size_t len, const char **out);

/* Parses a zone name argument; prints why not.  Returns 0 or -1. */
int cli_parse_zone_name(const char *text, uint8_t apex[DNS_MAX_NAME]);

/* Prints a JSON value to stdout, indented, and frees it. */
void cli_print_json(json_t *value);

/*
 * Tells a running certdnsd that a zone changed (NOTIFY its secondaries now)
 * or that the ACME work changed.  Best effort: when the daemon is down the
 * write still stands and the daemon catches up when it starts.
 */
void cli_poke_daemon(const ctl_t *ctl, const char *event, const char *zone);

/* Report callback for zone builders and edits: "SOURCE:LINE: error: msg". */
typedef struct {
	const char *source;
	unsigned errors;
	unsigned warnings;
} cli_report_t;
void cli_report_cb(void *ctx, bool is_error, unsigned line, const char *msg);

/* Command entry points: argv[0] is the command word ("import", "add", ...). */
int cmd_zone_import(const ctl_t *ctl, int argc, char **argv);
int cmd_zone_list(const ctl_t *ctl, int argc, char **argv);
int cmd_zone_export(const ctl_t *ctl, int argc, char **argv);
int cmd_zone_delete(const ctl_t *ctl, int argc, char **argv);
int cmd_zone_transfer_acl(const ctl_t *ctl, int argc, char **argv);
int cmd_zone_create(const ctl_t *ctl, int argc, char **argv);
int cmd_zone_show(const ctl_t *ctl, int argc, char **argv);
int cmd_zone_set(const ctl_t *ctl, int argc, char **argv);
int cmd_record_add(const ctl_t *ctl, int argc, char **argv);
int cmd_record_delete(const ctl_t *ctl, int argc, char **argv);
int cmd_record_replace(const ctl_t *ctl, int argc, char **argv);
int cmd_record_batch(const ctl_t *ctl, int argc, char **argv);
int cmd_record_list(const ctl_t *ctl, int argc, char **argv);
int cmd_settings_show(const ctl_t *ctl, int argc, char **argv);
int cmd_settings_set(const ctl_t *ctl, int argc, char **argv);
int cmd_tsig_add(const ctl_t *ctl, int argc, char **argv);
int cmd_tsig_list(const ctl_t *ctl, int argc, char **argv);
int cmd_tsig_show(const ctl_t *ctl, int argc, char **argv);
int cmd_tsig_delete(const ctl_t *ctl, int argc, char **argv);
int cmd_secondary_add(const ctl_t *ctl, int argc, char **argv);
int cmd_secondary_delete(const ctl_t *ctl, int argc, char **argv);
int cmd_secondary_list(const ctl_t *ctl, int argc, char **argv);
int cmd_status(const ctl_t *ctl, int argc, char **argv);
int cmd_zone_follow(const ctl_t *ctl, int argc, char **argv);
int cmd_zone_unfollow(const ctl_t *ctl, int argc, char **argv);
int cmd_tsig_import(const ctl_t *ctl, int argc, char **argv);
int cmd_acme_account_create(const ctl_t *ctl, int argc, char **argv);
int cmd_acme_account_list(const ctl_t *ctl, int argc, char **argv);
int cmd_acme_account_show(const ctl_t *ctl, int argc, char **argv);
int cmd_cert_request(const ctl_t *ctl, int argc, char **argv);
int cmd_cert_list(const ctl_t *ctl, int argc, char **argv);
int cmd_cert_show(const ctl_t *ctl, int argc, char **argv);
int cmd_cert_export(const ctl_t *ctl, int argc, char **argv);
int cmd_acme_account_rollover(const ctl_t *ctl, int argc, char **argv);
int cmd_acme_account_deactivate(const ctl_t *ctl, int argc, char **argv);
int cmd_cert_revoke(const ctl_t *ctl, int argc, char **argv);
int cmd_check(const ctl_t *ctl, int argc, char **argv);
int cmd_cert_import(const ctl_t *ctl, int argc, char **argv);
int cmd_cert_csr(const ctl_t *ctl, int argc, char **argv);
