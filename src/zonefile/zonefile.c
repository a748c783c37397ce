#include "zonefile/zonefile.h"

#include <errno.h>
#include <stdio_ext.h>
#include <ldns/ldns.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "db/node.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "dns/wire.h"
#include "zonefile/entry.h"
#include "zonefile/simple_rr.h"

/* ldns reads an unknown type mnemonic ("www line") as type 0, which is reserved. */
#define UNKNOWN_TYPE "unknown or missing record type (a type such as A, TXT or TYPE65280)"

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

/* Adds one record to the builder; reports and counts problems. */
static void add_record(zone_builder_t *zb, import_ctx_t *ctx, const uint8_t *owner, uint16_t type,
                       uint16_t rclass, uint32_t ttl, const uint8_t *rdata, size_t rdlen,
                       unsigned line)
{
	char msg[DNAME_STR_MAX + 64];
	int ret = zone_builder_add(zb, owner, type, rclass, ttl, rdata, rdlen, line);
	if (ret == CD_ENOZONE) {
		char name[DNAME_STR_MAX];
		dname_to_str(owner, name, sizeof(name));
		snprintf(msg, sizeof(msg), "%s is outside the zone", name);
		report_cb(ctx, true, line, msg);
	} else if (ret != CD_OK) {
		snprintf(msg, sizeof(msg), "cannot store the record: %s", cd_strerror(ret));
		report_cb(ctx, true, line, msg);
	}
}

/* Adds one record parsed by ldns. */
static void add_ldns_rr(zone_builder_t *zb, import_ctx_t *ctx, ldns_buffer *buf, const ldns_rr *rr,
                        unsigned line)
{
	ldns_buffer_clear(buf);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) {
		report_cb(ctx, true, line, "cannot encode the record's data");
		return;
	}
	add_record(zb, ctx, ldns_rdf_data(ldns_rr_owner(rr)), (uint16_t)ldns_rr_get_type(rr),
	           (uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr), ldns_buffer_begin(buf),
	           ldns_buffer_position(buf), line);
}

/*
 * A $ directive (RFC 1035 5.1).  $ORIGIN sets the origin (a relative name is
 * taken relative to the current one), $TTL the default TTL (RFC 2308 4).
 * Returns NULL or what is wrong with it.
 */
static const char *directive(char *entry, ldns_rdf **origin, uint32_t *default_ttl)
{
	char *save = NULL;
	char *word = strtok_r(entry, " \t", &save);
	char *arg = strtok_r(NULL, " \t", &save);
	char *extra = arg ? strtok_r(NULL, " \t", &save) : NULL;
	if (strcasecmp(word, "$INCLUDE") == 0) {
		return "$INCLUDE is not supported: concatenate the files into one zone file";
	}
	if (strcasecmp(word, "$ORIGIN") != 0 && strcasecmp(word, "$TTL") != 0) {
		return "unknown directive: only $ORIGIN and $TTL are supported";
	}
	if (arg == NULL || extra != NULL) {
		return strcasecmp(word, "$TTL") == 0 ? "$TTL needs exactly one value"
		                                     : "$ORIGIN needs exactly one name";
	}
	if (strcasecmp(word, "$TTL") == 0) {
		const char *end = NULL;
		uint32_t ttl = ldns_str2period(arg, &end);
		if (end == NULL || *end != '\0' || end == arg) {
			return "$TTL: not a TTL (seconds, or a period such as 1h30m)";
		}
		*default_ttl = ttl;
		return NULL;
	}
	ldns_rdf *name = NULL;
	if (ldns_str2rdf_dname(&name, arg) != LDNS_STATUS_OK) {
		return "$ORIGIN: not a domain name";
	}
	if (!ldns_dname_str_absolute(arg)) {
		if (*origin == NULL) {
			ldns_rdf_deep_free(name);
			return "$ORIGIN: a relative name needs an origin to be relative to";
		}
		if (ldns_dname_cat(name, *origin) != LDNS_STATUS_OK) {
			ldns_rdf_deep_free(name);
			return "$ORIGIN: the name is too long";
		}
	}
	ldns_rdf_deep_free(*origin);
	*origin = name;
	return NULL;
}

/* The simple parser on entry, with names completed as ldns would complete them. */
static bool parse_simple(const char *entry, const ldns_rdf *origin, const uint8_t *prev,
                         size_t prev_len, uint32_t default_ttl, zf_simple_rr_t *out)
{
	zf_simple_ctx_t sctx = {
		.origin = origin ? ldns_rdf_data(origin) : NULL,
		.origin_len = origin ? ldns_rdf_size(origin) : 0,
		.prev = prev_len > 0 ? prev : NULL,
		.prev_len = prev_len,
		.default_ttl = default_ttl,
	};
	return zf_simple_rr_parse(entry, &sctx, out);
}

static void count_parsed(const import_ctx_t *ctx, size_t *parsed)
{
	(*parsed)++;
	if (ctx->progress && (*parsed & 0xFFFF) == 0) {
		fprintf(stderr, "\r\033[Kparsing: %zu records", *parsed);
	}
}

/*
 * A builder sized for the file: about one record per 32 bytes of text (one
 * line each in a typical zone), about 64 bytes of builder memory per record.
 * Only a hint -- untouched reserved memory costs nothing.
 */
static zone_builder_t *new_builder(const uint8_t *apex, FILE *fp)
{
	zone_builder_t *zb = zone_builder_new(apex);
	struct stat st;
	if (zb != NULL && fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		size_t records = (size_t)st.st_size / 32;
		if (zone_builder_reserve(zb, records, records * 64) != CD_OK) {
			zone_builder_free(zb);
			return NULL;
		}
	}
	return zb;
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
	/* Only this thread reads the file: no stdio lock per line. */
	__fsetlocking(fp, FSETLOCKING_BYCALLER);
	int ret = CD_OK;
	ldns_rdf *origin = NULL;
	ldns_buffer *buf = ldns_buffer_new(65535);
	zone_builder_t *zb = NULL;
	uint32_t default_ttl = 3600;
	/*
	 * The previous entry's owner, for entries that leave it out.  Both parsers
	 * keep it: ldns in prev, the simple parser in prev_wire; prev_in_ldns says
	 * whether ldns's copy is current.
	 */
	ldns_rdf *prev = NULL;
	uint8_t prev_wire[DNS_MAX_NAME];
	size_t prev_len = 0;
	bool prev_in_ldns = true;
	zf_simple_rr_t simple = { .rdata_cap = 65535 };
	if (buf == NULL) {
		ret = CD_ENOMEM;
		goto out;
	}
	simple.rdata = ldns_buffer_begin(buf);   /* both parsers' RDATA goes through buf */
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
		zb = new_builder(ldns_rdf_data(origin), fp);
		if (zb == NULL) {
			ret = CD_ENOMEM;
			goto out;
		}
		dname_to_str(ldns_rdf_data(origin), result->apex, sizeof(result->apex));
	}

	size_t parsed = 0;
	zf_entry_reader_t reader;
	zf_entry_reader_init(&reader, fp);
	for (;;) {
		zf_entry_status_t st = zf_entry_next(&reader);
		unsigned at = reader.entry_line;
		if (st == ZF_ENTRY_EOF) {
			break;
		}
		if (st == ZF_ENTRY_NOMEM || st == ZF_ENTRY_IOERROR) {
			fprintf(stderr, "%s: cannot read: %s\n", path,
			        st == ZF_ENTRY_NOMEM ? "out of memory" : strerror(errno));
			ret = st == ZF_ENTRY_NOMEM ? CD_ENOMEM : CD_EIO;
			zf_entry_reader_free(&reader);
			goto out;
		}
		ldns_rr *rr = NULL;
		const char *problem = reader.error;
		if (st == ZF_ENTRY_OK && reader.entry[0] == '$') {
			problem = directive(reader.entry, &origin, &default_ttl);
		} else if (st == ZF_ENTRY_OK && zb != NULL &&
		           parse_simple(reader.entry, origin, prev_wire, prev_len, default_ttl,
		                        &simple)) {
			if (simple.owner_given) {
				memcpy(prev_wire, simple.owner, simple.owner_len);
				prev_len = simple.owner_len;
				prev_in_ldns = false;
			}
			add_record(zb, &ctx, simple.owner, simple.type, simple.rclass, simple.ttl,
			           simple.rdata, simple.rdlen, at);
			count_parsed(&ctx, &parsed);
			continue;
		} else if (st == ZF_ENTRY_OK) {
			if (!prev_in_ldns) {
				ldns_rdf_deep_free(prev);
				prev = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, prev_len, prev_wire);
				if (prev == NULL) {
					zf_entry_reader_free(&reader);
					ret = CD_ENOMEM;
					goto out;
				}
				prev_in_ldns = true;
			}
			ldns_status s = ldns_rr_new_frm_str(&rr, reader.entry, default_ttl, origin, &prev);
			if (prev != NULL && ldns_rdf_size(prev) <= sizeof(prev_wire)) {
				memcpy(prev_wire, ldns_rdf_data(prev), ldns_rdf_size(prev));
				prev_len = ldns_rdf_size(prev);
			}
			if (s != LDNS_STATUS_OK) {
				problem = ldns_get_errorstr_by_id(s);
				rr = NULL;
			} else if (ldns_rr_get_type(rr) == 0) {
				problem = UNKNOWN_TYPE;
				ldns_rr_free(rr);
				rr = NULL;
			}
		}
		if (problem != NULL) {
			report_cb(&ctx, true, at, problem);
			if (ctx.errors >= 100) {
				report_cb(&ctx, true, at, "too many errors, giving up");
				break;
			}
			continue;
		}
		if (rr == NULL) {
			continue;   /* a directive */
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
				break;
			}
			zb = new_builder(ldns_rdf_data(apex), fp);
			if (zb == NULL) {
				ldns_rr_free(rr);
				zf_entry_reader_free(&reader);
				ret = CD_ENOMEM;
				goto out;
			}
			dname_to_str(ldns_rdf_data(apex), result->apex, sizeof(result->apex));
		}
		add_ldns_rr(zb, &ctx, buf, rr, at);
		ldns_rr_free(rr);
		count_parsed(&ctx, &parsed);
	}
	zf_entry_reader_free(&reader);
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

/*
 * Prints one RR.  for_import: an owner whose text is longer than ldns reads as
 * one token (LDNS_MAX_DOMAINLEN characters: names with many escaped bytes)
 * is written as "$ORIGIN parent" and its first label, which always fits.
 */
static int print_rr(FILE *out, const uint8_t *owner, const uint8_t *header,
                    const uint8_t *rdata, uint16_t rdlen, bool for_import)
{
	int owner_len = dname_wire_length(owner, DNS_MAX_NAME);
	if (owner_len < 0) {
		return CD_EMALF;
	}
	uint8_t *wire = malloc((size_t)owner_len + 10 + rdlen);
	if (wire == NULL) {
		return CD_ENOMEM;
	}
	memcpy(wire, owner, (size_t)owner_len);
	memcpy(wire + owner_len, header, 8);
	wire_write_u16(wire + owner_len + 8, rdlen);
	memcpy(wire + owner_len + 10, rdata, rdlen);
	ldns_rr *rr = NULL;
	size_t pos = 0;
	ldns_status s = ldns_wire2rr(&rr, wire, (size_t)owner_len + 10 + rdlen, &pos,
	                             LDNS_SECTION_ANSWER);
	free(wire);
	if (s != LDNS_STATUS_OK) {
		return CD_EMALF;
	}
	/* The owner in our own escaping: ldns prints '@' and '$' bare and reads an
	 * owner starting with '@' back as the origin, so the line would not import
	 * back to the same name.  ldns escapes tabs in names: the first is the field's end. */
	char owner_text[DNAME_STR_MAX];
	char *line = ldns_rr2str(rr);
	const char *fields = line != NULL ? strchr(line, '\t') : NULL;
	ldns_rr_free(rr);
	if (fields == NULL) {
		free(line);
		return CD_ENOMEM;
	}
	dname_to_str(owner, owner_text, sizeof(owner_text));
	if (for_import && owner[0] != 0 && strlen(owner_text) > LDNS_MAX_DOMAINLEN) {
		char parent_text[DNAME_STR_MAX];
		uint8_t label[DNS_MAX_LABEL + 2];
		dname_to_str(owner + 1 + owner[0], parent_text, sizeof(parent_text));
		memcpy(label, owner, 1 + (size_t)owner[0]);
		label[1 + owner[0]] = 0;
		dname_to_str(label, owner_text, sizeof(owner_text));
		owner_text[strlen(owner_text) - 1] = '\0';   /* relative: no final dot */
		fprintf(out, "$ORIGIN %s\n", parent_text);
	}
	fprintf(out, "%s%s", owner_text, fields);
	free(line);
	return ferror(out) ? CD_EIO : CD_OK;
}

int zonefile_print_rr(FILE *out, const uint8_t *owner, const uint8_t *header,
                      const uint8_t *rdata, uint16_t rdlen)
{
	return print_rr(out, owner, header, rdata, rdlen, false);
}

static int export_rrset(export_ctx_t *ctx, const node_t *node, const rrset_t *rrset)
{
	size_t pos = 0;
	const uint8_t *rdata;
	uint16_t rdlen;
	while (rrset_next_rr(rrset, &pos, &rdata, &rdlen)) {
		int ret = print_rr(ctx->out, node->owner, rrset->header, rdata, rdlen, true);
		if (ret != CD_OK) {
			return ret;
		}
	}
	return CD_OK;
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

static int rdf_to_name(const ldns_rdf *rdf, uint8_t out[255], size_t *len)
{
	if (rdf == NULL || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME ||
	    ldns_rdf_size(rdf) > DNS_MAX_NAME ||
	    dname_wire_length(ldns_rdf_data(rdf), ldns_rdf_size(rdf)) != (int)ldns_rdf_size(rdf)) {
		return CD_ESYNTAX;
	}
	memcpy(out, ldns_rdf_data(rdf), ldns_rdf_size(rdf));
	*len = ldns_rdf_size(rdf);
	return CD_OK;
}

int zonefile_parse_rr(const char *text, const uint8_t *origin, uint32_t default_ttl,
                      bool allow_partial, zonefile_rr_t *out, char *err, size_t errlen)
{
	memset(out, 0, offsetof(zonefile_rr_t, rdata));
	int origin_len = dname_wire_length(origin, DNS_MAX_NAME);
	ldns_rdf *orig = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, (size_t)origin_len, origin);
	if (orig == NULL) {
		snprintf(err, errlen, "out of memory");
		return CD_ENOMEM;
	}
	int ret = CD_ESYNTAX;
	ldns_rr *rr = NULL;
	ldns_buffer *buf = NULL;
	ldns_status s = ldns_rr_new_frm_str(&rr, text, default_ttl, orig, NULL);
	if (s == LDNS_STATUS_OK && ldns_rr_get_type(rr) == 0) {
		snprintf(err, errlen, UNKNOWN_TYPE);
		goto out;
	}
	if (s == LDNS_STATUS_OK) {
		buf = ldns_buffer_new(65535);
		if (buf == NULL || ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
		    rdf_to_name(ldns_rr_owner(rr), out->owner, &out->owner_len) != CD_OK) {
			snprintf(err, errlen, "cannot encode the record");
			goto out;
		}
		out->type = (uint16_t)ldns_rr_get_type(rr);
		out->rclass = (uint16_t)ldns_rr_get_class(rr);
		out->ttl = ldns_rr_ttl(rr);
		out->has_type = true;
		out->has_rdata = true;
		out->rdlen = ldns_buffer_position(buf);
		memcpy(out->rdata, ldns_buffer_begin(buf), out->rdlen);
		ret = CD_OK;
		goto out;
	}
	if (allow_partial) {
		ldns_rr *q = NULL;
		ldns_status qs = ldns_rr_new_question_frm_str(&q, text, orig, NULL);
		if (qs == LDNS_STATUS_OK && ldns_rr_get_type(q) == 0) {
			ldns_rr_free(q);
			snprintf(err, errlen, UNKNOWN_TYPE);
			goto out;
		}
		if (qs == LDNS_STATUS_OK) {
			ret = rdf_to_name(ldns_rr_owner(q), out->owner, &out->owner_len);
			out->type = (uint16_t)ldns_rr_get_type(q);
			out->rclass = (uint16_t)ldns_rr_get_class(q);
			out->has_type = true;
			ldns_rr_free(q);
			if (ret != CD_OK) {
				snprintf(err, errlen, "invalid owner name");
			}
			goto out;
		}
		/* A bare name: no blanks inside. */
		if (strpbrk(text, " \t") == NULL && *text != '\0') {
			ldns_rdf *name = NULL;
			if (strcmp(text, "@") == 0) {
				name = ldns_rdf_clone(orig);
			} else if (ldns_str2rdf_dname(&name, text) == LDNS_STATUS_OK &&
			           !ldns_dname_str_absolute(text)) {
				if (ldns_dname_cat(name, orig) != LDNS_STATUS_OK) {
					ldns_rdf_deep_free(name);
					name = NULL;
				}
			}
			if (name != NULL) {
				ret = rdf_to_name(name, out->owner, &out->owner_len);
				ldns_rdf_deep_free(name);
				if (ret == CD_OK) {
					goto out;
				}
			}
		}
	}
	snprintf(err, errlen, "%s", ldns_get_errorstr_by_id(s));
out:
	ldns_rr_free(rr);
	ldns_buffer_free(buf);
	ldns_rdf_deep_free(orig);
	return ret;
}
