/* certdnsctl record ...: single records, live, each command one transaction. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/error.h"
#include "db/node.h"
#include "db/zone_conf.h"
#include "db/zone_edit.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "zonefile/zonefile.h"

typedef struct {
	const ctl_t *ctl;
	db_t *db;
	zone_edit_t *edit;
	uint8_t apex[DNS_MAX_NAME];
	const char *zone_text;
	uint32_t default_ttl;
	cli_report_t report;
	zonefile_rr_t *rr;   /* scratch for parsing (64 KiB) */
} edit_session_t;

static int session_open(edit_session_t *s, const ctl_t *ctl, const char *zone_text,
                        const char *source)
{
	memset(s, 0, sizeof(*s));
	s->ctl = ctl;
	s->zone_text = zone_text;
	s->report.source = source;
	if (cli_parse_zone_name(zone_text, s->apex) < 0) {
		return EXIT_USAGE;
	}
	s->rr = malloc(sizeof(*s->rr));
	s->edit = zone_edit_new(s->apex);
	if (s->rr == NULL || s->edit == NULL) {
		return cli_fail("out of memory");
	}
	zone_edit_set_report(s->edit, cli_report_cb, &s->report);
	if (cli_open_db(ctl, &s->db) != EXIT_SUCCESS) {
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	if (db_read_begin(s->db, &txn) != CD_OK) {
		return cli_fail("cannot read the database");
	}
	zone_record_t zone;
	int ret = zone_store_get(s->db, txn, s->apex, &zone);
	json_t *settings = db_settings_get(s->db, txn);
	s->default_ttl = db_settings_number(settings, "default_ttl", 3600);
	json_decref(settings);
	mdb_txn_abort(txn);
	if (ret != CD_OK) {
		return cli_fail("zone %s: %s", zone_text,
		                ret == CD_ENOTFOUND ? "no such zone (create it with 'zone create')"
		                                    : cd_strerror(ret));
	}
	return EXIT_SUCCESS;
}

static void session_close(edit_session_t *s)
{
	zone_edit_free(s->edit);
	free(s->rr);
	db_close(s->db);
}

/* Parses one change in presentation format and queues it.  Returns 0, or -1 (reported). */
static int queue_change(edit_session_t *s, zone_edit_op_t op, const char *text, unsigned line)
{
	char err[256];
	bool partial = op == ZONE_EDIT_DELETE_RR;
	if (zonefile_parse_rr(text, s->apex, s->default_ttl, partial, s->rr, err,
	                      sizeof(err)) != CD_OK) {
		char msg[512];
		snprintf(msg, sizeof(msg), "'%s': %s", text, err);
		cli_report_cb(&s->report, true, line, msg);
		return -1;
	}
	if (op == ZONE_EDIT_DELETE_RR && !s->rr->has_rdata) {
		op = s->rr->has_type ? ZONE_EDIT_DELETE_RRSET : ZONE_EDIT_DELETE_NAME;
	}
	int ret = zone_edit_add(s->edit, op, s->rr->owner, s->rr->type, s->rr->rclass, s->rr->ttl,
	                        s->rr->rdata, s->rr->rdlen, line);
	if (ret != CD_OK) {
		char msg[DNAME_STR_MAX + 64], name[DNAME_STR_MAX];
		dname_to_str(s->rr->owner, name, sizeof(name));
		snprintf(msg, sizeof(msg), "%s: %s", name,
		         ret == CD_ENOZONE ? "is outside the zone" : cd_strerror(ret));
		cli_report_cb(&s->report, true, line, msg);
		return -1;
	}
	return 0;
}

static int session_commit(edit_session_t *s)
{
	if (s->report.errors > 0) {
		return cli_fail("nothing changed: %u error%s", s->report.errors,
		                s->report.errors == 1 ? "" : "s");
	}
	zone_edit_result_t res;
	int ret = zone_edit_commit(s->edit, s->db, &res);
	if (ret == CD_ESEMANTIC) {
		return cli_fail("nothing changed (see above)");
	}
	if (ret != CD_OK) {
		return cli_fail("zone %s: %s; nothing changed", s->zone_text, cd_strerror(ret));
	}
	if (!res.changed) {
		if (s->ctl->json) {
			cli_print_json(json_pack("{s:s, s:b, s:I}", "zone", s->zone_text, "changed", 0,
			                         "serial", (json_int_t)res.old_serial));
		} else {
			printf("zone %s: nothing to change (serial stays %u)\n", s->zone_text,
			       res.old_serial);
		}
		return EXIT_SUCCESS;
	}
	cli_poke_daemon(s->ctl, "zone-changed", s->zone_text);
	if (s->ctl->json) {
		cli_print_json(json_pack("{s:s, s:b, s:I, s:I, s:I, s:I}", "zone", s->zone_text,
		                         "changed", 1, "old_serial", (json_int_t)res.old_serial,
		                         "serial", (json_int_t)res.new_serial,
		                         "added", (json_int_t)res.added,
		                         "removed", (json_int_t)res.removed));
	} else {
		printf("zone %s: %zu record%s added, %zu removed, serial %u -> %u\n", s->zone_text,
		       res.added, res.added == 1 ? "" : "s", res.removed, res.old_serial,
		       res.new_serial);
	}
	return EXIT_SUCCESS;
}

static int record_simple(const ctl_t *ctl, int argc, char **argv, zone_edit_op_t op)
{
	if (argc < 3) {
		return cli_usage_error("usage: record %s ZONE 'OWNER [TTL] [CLASS] TYPE RDATA' ...",
		                       argv[0]);
	}
	edit_session_t s;
	int rc = session_open(&s, ctl, argv[1], "command line");
	if (rc == EXIT_SUCCESS) {
		for (int i = 2; i < argc; i++) {
			queue_change(&s, op, argv[i], (unsigned)(i - 1));
		}
		rc = session_commit(&s);
	}
	session_close(&s);
	return rc;
}

int cmd_record_add(const ctl_t *ctl, int argc, char **argv)
{
	return record_simple(ctl, argc, argv, ZONE_EDIT_ADD);
}

int cmd_record_delete(const ctl_t *ctl, int argc, char **argv)
{
	return record_simple(ctl, argc, argv, ZONE_EDIT_DELETE_RR);
}

int cmd_record_replace(const ctl_t *ctl, int argc, char **argv)
{
	return record_simple(ctl, argc, argv, ZONE_EDIT_REPLACE);
}

/* Starts a new transaction's worth of changes after a "commit" line. */
static int session_restart(edit_session_t *s)
{
	zone_edit_free(s->edit);
	s->edit = zone_edit_new(s->apex);
	if (s->edit == NULL) {
		return cli_fail("out of memory");
	}
	zone_edit_set_report(s->edit, cli_report_cb, &s->report);
	s->report.errors = 0;
	return EXIT_SUCCESS;
}

/*
 * Lines "add RR", "delete RR|NAME TYPE|NAME", "replace RR"; '#' or ';' start
 * comments.  The changes up to a line "commit" (or the end of the input) are
 * one transaction: a provisioning system can keep one certdnsctl running and
 * stream its changes, each committed as soon as its "commit" line arrives.
 */
int cmd_record_batch(const ctl_t *ctl, int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		return cli_usage_error("usage: record batch ZONE [FILE|-]");
	}
	const char *path = argc == 3 ? argv[2] : "-";
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (fp == NULL) {
		return cli_fail("%s: %s", path, strerror(errno));
	}
	edit_session_t s;
	int rc = session_open(&s, ctl, argv[1], strcmp(path, "-") == 0 ? "stdin" : path);
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	bool failed = false;   /* a committed group failed; later groups still run */
	unsigned groups = 0;   /* groups ended by "commit" */
	while (rc == EXIT_SUCCESS && getline(&line, &cap, fp) >= 0) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		char *p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#' || *p == ';') {
			continue;
		}
		size_t wlen = strcspn(p, " \t");
		char *rest = p + wlen + strspn(p + wlen, " \t");
		zone_edit_op_t op;
		if (wlen == 6 && strncmp(p, "commit", 6) == 0 && *rest == '\0') {
			if (zone_edit_count(s.edit) > 0 || s.report.errors > 0) {
				failed |= session_commit(&s) != EXIT_SUCCESS;
				groups++;
				fflush(stdout);
				rc = session_restart(&s);
			}
			continue;
		}
		if (wlen == 3 && strncmp(p, "add", 3) == 0) {
			op = ZONE_EDIT_ADD;
		} else if (wlen == 6 && strncmp(p, "delete", 6) == 0) {
			op = ZONE_EDIT_DELETE_RR;
		} else if (wlen == 7 && strncmp(p, "replace", 7) == 0) {
			op = ZONE_EDIT_REPLACE;
		} else {
			cli_report_cb(&s.report, true, lineno,
			              "a change starts with 'add', 'delete' or 'replace'");
			continue;
		}
		queue_change(&s, op, rest, lineno);
	}
	if (ferror(fp)) {
		cli_report_cb(&s.report, true, lineno, strerror(errno));   /* e.g. a directory */
	}
	free(line);
	if (fp != stdin) {
		fclose(fp);
	}
	if (rc == EXIT_SUCCESS) {
		if (zone_edit_count(s.edit) > 0 || s.report.errors > 0) {
			rc = session_commit(&s);
		} else if (groups == 0) {
			rc = cli_fail("%s: no changes", path);
		}
	}
	session_close(&s);
	return failed && rc == EXIT_SUCCESS ? EXIT_FAILURE : rc;
}

typedef struct {
	const ctl_t *ctl;
	const uint8_t *name;       /* only this owner, or NULL */
	uint16_t type;             /* only this type, or 0 */
	json_t *array;
	size_t count;
} list_ctx_t;

static int list_node(void *arg, const node_t *node)
{
	list_ctx_t *ctx = arg;
	if (ctx->name != NULL && !dname_equal(ctx->name, node->owner)) {
		return 0;
	}
	size_t pos = 0;
	rrset_t rrset;
	while (node_next_rrset(node, &pos, &rrset)) {
		if (ctx->type != 0 && rrset.type != ctx->type) {
			continue;
		}
		size_t rpos = 0;
		const uint8_t *rdata;
		uint16_t rdlen;
		while (rrset_next_rr(&rrset, &rpos, &rdata, &rdlen)) {
			ctx->count++;
			if (ctx->array == NULL) {
				zonefile_print_rr(stdout, node->owner, rrset.header, rdata, rdlen);
				continue;
			}
			char *text = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&text, &len);
			if (mem == NULL) {
				return CD_ENOMEM;
			}
			zonefile_print_rr(mem, node->owner, rrset.header, rdata, rdlen);
			fclose(mem);
			/* "owner\tttl\tclass\ttype\trdata\n" -> fields */
			char *f[5] = { 0 };
			char *save = NULL, *p = text;
			for (int i = 0; i < 4; i++) {
				f[i] = strtok_r(p, "\t", &save);
				p = NULL;
			}
			f[4] = save;
			if (f[4] != NULL) {
				f[4][strcspn(f[4], "\n")] = '\0';
			}
			json_array_append_new(ctx->array, json_pack("{s:s?, s:I, s:s?, s:s?}", "name",
			                                             f[0], "ttl", (json_int_t)rrset.ttl,
			                                             "type", f[3], "data", f[4]));
			free(text);
		}
	}
	return 0;
}

int cmd_record_list(const ctl_t *ctl, int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		return cli_usage_error("usage: record list ZONE [NAME] [TYPE]");
	}
	uint8_t apex[DNS_MAX_NAME];
	if (cli_parse_zone_name(argv[1], apex) < 0) {
		return EXIT_USAGE;
	}
	list_ctx_t ctx = { .ctl = ctl };
	zonefile_rr_t *rr = NULL;
	if (argc >= 3) {
		rr = malloc(sizeof(*rr));
		char err[256];
		char spec[600];
		snprintf(spec, sizeof(spec), "%s%s%s", argv[2], argc == 4 ? " " : "",
		         argc == 4 ? argv[3] : "");
		if (rr == NULL || zonefile_parse_rr(spec, apex, 0, true, rr, err, sizeof(err)) != CD_OK ||
		    rr->has_rdata) {
			free(rr);
			return cli_usage_error("record list: invalid NAME or TYPE '%s'", spec);
		}
		ctx.name = rr->owner;
		ctx.type = rr->has_type ? rr->type : 0;
	}
	db_t *db;
	if (cli_open_db_ro(ctl, &db) != EXIT_SUCCESS) {
		free(rr);
		return EXIT_FAILURE;
	}
	MDB_txn *txn;
	int ret = db_read_begin(db, &txn);
	zone_record_t zone;
	if (ret == CD_OK) {
		ret = zone_store_get(db, txn, apex, &zone);
		if (ret == CD_OK) {
			ctx.array = ctl->json ? json_array() : NULL;
			ret = zone_store_foreach_node(db, txn, zone.id, list_node, &ctx);
		}
		mdb_txn_abort(txn);
	}
	db_close(db);
	free(rr);
	if (ret != CD_OK) {
		json_decref(ctx.array);
		return cli_fail("zone %s: %s", argv[1], ret == CD_ENOTFOUND ? "no such zone" : cd_strerror(ret));
	}
	if (ctx.array != NULL) {
		cli_print_json(ctx.array);
	}
	return EXIT_SUCCESS;
}
