/*
 * fuzz_zonefile: zone-file import (src/zonefile/zonefile.c, parsed by ldns)
 * and the zone builder's checks and encoding (src/db/zone_builder.c) on
 * arbitrary master files, into a real LMDB database.
 *
 * Input: one flags byte (bit 0: import with --origin fuzz.test.), then the
 * file.  Invariants beyond "no crash":
 *   - the import returns success or one of the documented errors;
 *   - a zone that imported exists, and its export imports back (with the
 *     same origin) to the same export: zonefile.h promises the round trip;
 *   - every name of it (the first 32) answers a query over TCP with a
 *     well-formed message (the answer code on arbitrary zone data).
 * The zone is deleted again after each input.
 */
#include <ldns/ldns.h>

#include "common/error.h"
#include "db/db.h"
#include "db/reader.h"
#include "db/zone_store.h"
#include "dns/answer.h"
#include "dns/dname.h"
#include "dns/query.h"
#include "dns/wire.h"
#include "zonefile/zonefile.h"

#include "dns_check.h"
#include "fuzzing.h"
#include "scratch_db.h"

#define NAMES_QUERIED 32

typedef struct {
	fuzz_db_t store;
	char input[600];
	uint8_t *out;
} fixture_t;

static fixture_t *fx;

static void fixture_free(void)
{
	if (fx == NULL) {
		return;
	}
	unlink(fx->input);
	fuzz_db_close(&fx->store);
	free(fx->out);
	free(fx);
	fx = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx = calloc(1, sizeof(*fx));
	FUZZ_CHECK(fx != NULL, "out of memory");
	fuzz_db_open(&fx->store, "fuzz-zonefile", (size_t)256 << 20);
	snprintf(fx->input, sizeof(fx->input), "%s/input.zone", fx->store.dir);
	fx->out = malloc(65535);
	FUZZ_CHECK(fx->out != NULL, "out of memory");
	atexit(fixture_free);
	return 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "w");
	FUZZ_CHECK(f != NULL, "cannot write %s", path);
	FUZZ_CHECK(len == 0 || fwrite(data, 1, len, f) == len, "cannot write %s", path);
	FUZZ_CHECK(fclose(f) == 0, "cannot write %s", path);
}

/* The export of apex as text (malloc'd), or NULL when the zone is not there. */
static char *export_zone(const uint8_t *apex, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	FUZZ_CHECK(f != NULL, "out of memory");
	int ret = zonefile_export(fx->store.db, apex, f);
	fclose(f);
	if (ret != CD_OK) {
		FUZZ_CHECK(ret == CD_ENOTFOUND, "export failed: %s", cd_strerror(ret));
		free(text);
		return NULL;
	}
	return text;
}

typedef struct {
	uint8_t names[NAMES_QUERIED][DNS_MAX_NAME];
	size_t n;
} names_t;

static int collect_name(void *ctx, const node_t *node)
{
	names_t *names = ctx;
	int len = dname_wire_length(node->owner, DNS_MAX_NAME);
	FUZZ_CHECK(len > 0, "a stored owner name is malformed");
	memcpy(names->names[names->n++], node->owner, (size_t)len);
	return names->n == NAMES_QUERIED ? 1 : 0;
}

static void query_names(const zone_record_t *zone, uint32_t salt)
{
	names_t names = { .n = 0 };
	MDB_txn *txn;
	FUZZ_CHECK(db_read_begin(fx->store.db, &txn) == CD_OK, "cannot read");
	int ret = zone_store_foreach_node(fx->store.db, txn, zone->id, collect_name, &names);
	mdb_txn_abort(txn);
	FUZZ_CHECK(ret == CD_OK || ret == 1, "walking the zone failed: %d", ret);

	static const uint16_t qtypes[] = { DNS_TYPE_A, DNS_TYPE_ANY, DNS_TYPE_TXT, DNS_TYPE_NS,
	                                   DNS_TYPE_DS, DNS_TYPE_MX, DNS_TYPE_CNAME, DNS_TYPE_SOA };
	for (size_t i = 0; i < names.n; i++) {
		uint8_t pkt[DNS_HEADER_SIZE + DNS_MAX_NAME + 4 + 11];
		size_t nlen = (size_t)dname_wire_length(names.names[i], DNS_MAX_NAME);
		memset(pkt, 0, DNS_HEADER_SIZE);
		wire_write_u16(pkt, (uint16_t)i);
		wire_write_u16(pkt + 4, 1);
		memcpy(pkt + DNS_HEADER_SIZE, names.names[i], nlen);
		size_t len = DNS_HEADER_SIZE + nlen;
		uint16_t qtype = qtypes[(i + salt) % (sizeof(qtypes) / sizeof(qtypes[0]))];
		wire_write_u16(pkt + len, qtype);
		wire_write_u16(pkt + len + 2, DNS_CLASS_IN);
		len += 4;
		dns_query_t q;
		query_verdict_t v = query_parse(pkt, len, &q);
		FUZZ_CHECK(v == QUERY_OK, "a query for a stored name does not parse");
		for (int tcp = 0; tcp <= 1; tcp++) {
			answer_opts_t opts = { .tcp = tcp, .udp_payload = ANSWER_DEFAULT_UDP_PAYLOAD };
			uint16_t rcode;
			size_t n = answer_query(&fx->store.reader, pkt, &q, v, fx->out, tcp ? 65535 : 512, &opts,
			                        &rcode);
			db_reader_reset(&fx->store.reader);
			dns_check_t c;
			FUZZ_CHECK(n <= (tcp ? 65535u : 512u) && dns_check_message(fx->out, n, &c),
			           "the answer to a query for a stored name (type %u) is malformed", qtype);
			ldns_pkt *p = NULL;
			ldns_status s = ldns_wire2pkt(&p, fx->out, n);
			FUZZ_CHECK(s == LDNS_STATUS_OK, "ldns cannot parse the answer to type %u: %s",
			           qtype, ldns_get_errorstr_by_id(s));
			ldns_pkt_free(p);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1) {
		return 0;
	}
	bool with_origin = data[0] & 1;
	write_file(fx->input, data + 1, size - 1);

	zonefile_import_opts_t opts = { .origin = with_origin ? "fuzz.test." : NULL };
	zonefile_import_result_t res;
	int quiet = fuzz_quiet_begin();
	int ret = zonefile_import(fx->store.db, fx->input, &opts, &res);
	fuzz_quiet_end(quiet);
	FUZZ_CHECK(ret == CD_OK || ret == CD_ESYNTAX || ret == CD_ESEMANTIC || ret == CD_EINVAL,
	           "import returned %s", cd_strerror(ret));
	if (ret != CD_OK) {
		return 0;
	}

	uint8_t apex[DNS_MAX_NAME];
	FUZZ_CHECK(zonefile_parse_name(res.apex, apex) > 0, "the imported zone's name %s does not "
	           "parse back", res.apex);
	size_t len1 = 0;
	char *text1 = export_zone(apex, &len1);
	FUZZ_CHECK(text1 != NULL, "zone %s imported but not there", res.apex);

	MDB_txn *txn;
	zone_record_t zone;
	FUZZ_CHECK(db_read_begin(fx->store.db, &txn) == CD_OK, "cannot read");
	FUZZ_CHECK(zone_store_get(fx->store.db, txn, apex, &zone) == CD_OK, "zone %s not found", res.apex);
	mdb_txn_abort(txn);
	FUZZ_CHECK(zone.serial == res.store.serial, "serial %u stored, %u reported", zone.serial,
	           res.store.serial);
	uint32_t salt = size > 1 ? data[1] : 0;
	zone_record_t zone_copy = zone;   /* only id is used after the txn */
	query_names(&zone_copy, salt);

	/* The export imports back to the same export. */
	write_file(fx->input, text1, len1);
	zonefile_import_opts_t again = { .origin = res.apex };
	zonefile_import_result_t res2;
	quiet = fuzz_quiet_begin();
	ret = zonefile_import(fx->store.db, fx->input, &again, &res2);
	fuzz_quiet_end(quiet);
	if (ret != CD_OK) {
		fprintf(stderr, "export that does not import back (%s):\n%.*s\n", cd_strerror(ret),
		        (int)len1, text1);
	}
	FUZZ_CHECK(ret == CD_OK, "the export of %s does not import back: %s", res.apex,
	           cd_strerror(ret));
	size_t len2 = 0;
	char *text2 = export_zone(apex, &len2);
	FUZZ_CHECK(text2 != NULL && len1 == len2 && memcmp(text1, text2, len1) == 0,
	           "the export of %s changes when imported back", res.apex);
	FUZZ_CHECK(res2.store.records == res.store.records, "%zu records, %zu after the round trip",
	           res.store.records, res2.store.records);
	free(text1);
	free(text2);

	FUZZ_CHECK(db_write_begin(fx->store.db, &txn) == CD_OK, "cannot write");
	FUZZ_CHECK(zone_store_delete(fx->store.db, txn, apex) == CD_OK, "cannot delete %s", res.apex);
	FUZZ_CHECK(db_write_commit(txn) == CD_OK, "cannot commit");
	return 0;
}
