#include "zonefile/zonefile.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "db/node.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "dns/wire.h"

typedef struct {
	const char *path;
	unsigned errors;
	unsigned warnings;
	bool progress;
} import_ctx_t;

static void report_cb(void *arg, bool is_error, unsigned line, const char *msg)
{
	import_ctx_t *ctx = arg;
	if (ctx->progress) {
		fputs("\r\033[K", stderr);
	}
	if (line > 0) {
		fprintf(stderr, "%s:%u: %s: %s\n", ctx->path, line, is_error ? "error" : "warning", msg);
	} else {
		fprintf(stderr, "%s: %s: %s\n", ctx->path, is_error ? "error" : "warning", msg);
	}
	if (is_error) {
		ctx->errors++;
	} else {
		ctx->warnings++;
	}
}

static void progress_cb(void *arg, size_t done, size_t total)
{
	(void)arg;
	fprintf(stderr, "\r\033[Kwriting: %zu/%zu records", done, total);
	if (done == total) {
		fputc('\n', stderr);
	}
}

int zonefile_parse_name(const char *text, uint8_t out[255])
{
	ldns_rdf *rdf = NULL;
	if (ldns_str2rdf_dname(&rdf, text) != LDNS_STATUS_OK) {
		return CD_EINVAL;
	}
	/* Names given on the command line are absolute whether or not they end in a dot. */
	if (!ldns_dname_str_absolute(text) && ldns_rdf_size(rdf) > 0) {
		size_t len = ldns_rdf_size(rdf);
		const uint8_t *data = ldns_rdf_data(rdf);
		if (data[len - 1] != 0) {
			ldns_rdf_deep_free(rdf);
			return CD_EINVAL;
		}
	}
	size_t len = ldns_rdf_size(rdf);
	int ret = CD_EINVAL;
	if (len <= DNS_MAX_NAME && dname_wire_length(ldns_rdf_data(rdf), len) == (int)len) {
		memcpy(out, ldns_rdf_data(rdf), len);
		ret = (int)len;
	}
	ldns_rdf_deep_free(rdf);
	return ret;
}

/* Adds one parsed RR to the builder; reports and counts problems. */
static void add_rr(zone_builder_t *zb, import_ctx_t *ctx, ldns_buffer *buf, const ldns_rr *rr,
                   unsigned line)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	char msg[256];
	ldns_buffer_clear(buf);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) {
		report_cb(ctx, true, line, "cannot encode the record's data");
		return;
	}
	size_t rdlen = ldns_buffer_position(buf);
	int ret = zone_builder_add(zb, ldns_rdf_data(owner), (uint16_t)ldns_rr_get_type(rr),
	                           (uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr),
	                           ldns_buffer_begin(buf), rdlen, line);
	if (ret == CD_ENOZONE) {
		char *name = ldns_rdf2str(owner);
		snprintf(msg, sizeof(msg), "%s is outside the zone", name ? name : "owner");
		free(name);
		report_cb(ctx, true, line, msg);
	} else if (ret != CD_OK) {
		snprintf(msg, sizeof(msg), "cannot store the record: %s", cd_strerror(ret));
		report_cb(ctx, true, line, msg);
	}
}

int zonefile_import(db_t *db, const char *path, const zonefile_import_opts_t *opts,
                    zonefile_import_result_t *result)
{
	memset(result, 0, sizeof(*result));
	import_ctx_t ctx = { .path = path, .progress = opts->progress };
	FILE *fp = fopen(path, "r");
	if (fp == NULL) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		return CD_EIO;
	}
	int ret = CD_OK;
	ldns_rdf *origin = NULL;
	ldns_rdf *prev = NULL;
	ldns_buffer *buf = ldns_buffer_new(65535);
	zone_builder_t *zb = NULL;
	uint32_t default_ttl = 3600;
	int line = 0;
	if (buf == NULL) {
		ret = CD_ENOMEM;
		goto out;
	}
	if (opts->origin != NULL) {
		if (ldns_str2rdf_dname(&origin, opts->origin) != LDNS_STATUS_OK) {
			fprintf(stderr, "invalid zone name '%s'\n", opts->origin);
			ret = CD_EINVAL;
			goto out;
		}
		if (!ldns_dname_str_absolute(opts->origin)) {
			ldns_rdf *root = ldns_dname_new_frm_str(".");
			ldns_status s = root ? ldns_dname_cat(origin, root) : LDNS_STATUS_MEM_ERR;
			ldns_rdf_deep_free(root);
			if (s != LDNS_STATUS_OK) {
				ret = CD_ENOMEM;
				goto out;
			}
		}
		zb = zone_builder_new(ldns_rdf_data(origin));
		if (zb == NULL) {
			ret = CD_ENOMEM;
			goto out;
		}
		dname_to_str(ldns_rdf_data(origin), result->apex, sizeof(result->apex));
	}

	size_t parsed = 0;
	while (!feof(fp)) {
		ldns_rr *rr = NULL;
		int before = line;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, &default_ttl, &origin, &prev, &line);
		unsigned at = (unsigned)(line > before ? line : before + 1);
		switch (s) {
		case LDNS_STATUS_OK:
			break;
		case LDNS_STATUS_SYNTAX_EMPTY:
		case LDNS_STATUS_SYNTAX_TTL:
		case LDNS_STATUS_SYNTAX_ORIGIN:
			continue;
		case LDNS_STATUS_SYNTAX_INCLUDE:
			report_cb(&ctx, true, at, "$INCLUDE is not supported: concatenate the files "
			                          "into one zone file");
			continue;
		default:
			if (feof(fp) && s == LDNS_STATUS_SYNTAX_ERR) {
				continue;   /* trailing whitespace at the end of the file */
			}
			{
				char msg[256];
				snprintf(msg, sizeof(msg), "%s", ldns_get_errorstr_by_id(s));
				report_cb(&ctx, true, at, msg);
			}
			if (ctx.errors >= 100) {
				report_cb(&ctx, true, at, "too many errors, giving up");
				goto parsed;
			}
			continue;
		}
		if (zb == NULL) {
			/* No --origin: the zone is named by $ORIGIN or by the first record, its SOA. */
			const ldns_rdf *apex = origin;
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
				apex = ldns_rr_owner(rr);
			}
			if (apex == NULL) {
				report_cb(&ctx, true, at, "cannot tell the zone's name: "
				                          "give --origin NAME or start with $ORIGIN or the SOA");
				ldns_rr_free(rr);
				goto parsed;
			}
			zb = zone_builder_new(ldns_rdf_data(apex));
			if (zb == NULL) {
				ldns_rr_free(rr);
				ret = CD_ENOMEM;
				goto out;
			}
			dname_to_str(ldns_rdf_data(apex), result->apex, sizeof(result->apex));
		}
		add_rr(zb, &ctx, buf, rr, at);
		ldns_rr_free(rr);
		parsed++;
		if (ctx.progress && (parsed & 0xFFFF) == 0) {
			fprintf(stderr, "\r\033[Kparsing: %zu records", parsed);
		}
	}
parsed:
	if (ctx.progress && parsed >= 0x10000) {
		fprintf(stderr, "\r\033[Kparsing: %zu records\n", parsed);
	}
	if (ctx.errors > 0) {
		ret = CD_ESYNTAX;
		goto out;
	}
	if (zb == NULL) {
		report_cb(&ctx, true, 0, "no records: the file holds no zone");
		ret = CD_ESYNTAX;
		goto out;
	}
	zone_builder_set_report(zb, report_cb, &ctx);
	if (ctx.progress) {
		zone_builder_set_progress(zb, progress_cb, &ctx);
	}
	ret = zone_builder_commit(zb, db, &result->store);
out:
	result->errors = ctx.errors;
	result->warnings = ctx.warnings;
	zone_builder_free(zb);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	ldns_buffer_free(buf);
	fclose(fp);
	return ret;
}

typedef struct {
	FILE *out;
} export_ctx_t;

static int export_rrset(export_ctx_t *ctx, const node_t *node, const rrset_t *rrset)
{
	size_t owner_len = (size_t)dname_wire_length(node->owner, DNS_MAX_NAME);
	size_t pos = 0;
	const uint8_t *rdata;
	uint16_t rdlen;
	while (rrset_next_rr(rrset, &pos, &rdata, &rdlen)) {
		uint8_t wire[DNS_MAX_NAME + 10 + 65535];
		memcpy(wire, node->owner, owner_len);
		memcpy(wire + owner_len, rrset->header, 8);
		wire_write_u16(wire + owner_len + 8, rdlen);
		memcpy(wire + owner_len + 10, rdata, rdlen);
		ldns_rr *rr = NULL;
		size_t wpos = 0;
		if (ldns_wire2rr(&rr, wire, owner_len + 10 + rdlen, &wpos, LDNS_SECTION_ANSWER) !=
		    LDNS_STATUS_OK) {
			return CD_EMALF;
		}
		ldns_rr_print(ctx->out, rr);
		ldns_rr_free(rr);
	}
	return ferror(ctx->out) ? CD_EIO : CD_OK;
}

static int export_node(void *arg, const node_t *node)
{
	export_ctx_t *ctx = arg;
	size_t pos = 0;
	rrset_t rrset;
	/* The SOA leads the apex so the output starts like a zone file should. */
	if (node_find_rrset(node, DNS_TYPE_SOA, &rrset)) {
		int ret = export_rrset(ctx, node, &rrset);
		if (ret != CD_OK) {
			return ret;
		}
	}
	while (node_next_rrset(node, &pos, &rrset)) {
		if (rrset.type == DNS_TYPE_SOA) {
			continue;
		}
		int ret = export_rrset(ctx, node, &rrset);
		if (ret != CD_OK) {
			return ret;
		}
	}
	return CD_OK;
}

int zonefile_export(db_t *db, const uint8_t *apex, FILE *out)
{
	MDB_txn *txn;
	int ret = db_read_begin(db, &txn);
	if (ret != CD_OK) {
		return ret;
	}
	zone_record_t zone;
	ret = zone_store_get(db, txn, apex, &zone);
	if (ret == CD_OK) {
		export_ctx_t ctx = { .out = out };
		ret = zone_store_foreach_node(db, txn, zone.id, export_node, &ctx);
	}
	mdb_txn_abort(txn);
	if (ret == CD_OK && fflush(out) != 0) {
		ret = CD_EIO;
	}
	return ret;
}
