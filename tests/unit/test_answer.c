/*
 * Unit tests of the answer algorithm (src/dns/answer.c) over a real LMDB
 * database in a temporary directory, with zones built by zone_builder, and of
 * the rules zone_builder enforces.  Responses are parsed with ldns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "db/db.h"
#include "db/node.h"
#include "db/reader.h"
#include "db/zone_builder.h"
#include "db/zone_store.h"
#include "dns/answer.h"
#include "dns/dname.h"
#include "dns/query.h"
#include "dns/response.h"
#include "dns/wire.h"

#include "unit_util.h"

/* =================== fixture: a database in a temporary directory =================== */

typedef struct {
	char dir[64];
	db_t *db;
	db_reader_t reader;
	bool reader_ok;
} fx_t;

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
				continue;
			}
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

static fx_t *fx_open(void)
{
	fx_t *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/certdns-unit-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	db_options_t opts = { .map_size = (size_t)64 << 20 };
	assert_int_equal(db_open(&fx->db, fx->dir, &opts), CD_OK);
	assert_int_equal(db_reader_init(&fx->reader, fx->db), CD_OK);
	fx->reader_ok = true;
	return fx;
}

static void fx_close(fx_t *fx)
{
	if (fx == NULL) {
		return;
	}
	if (fx->reader_ok) {
		db_reader_destroy(&fx->reader);
	}
	db_close(fx->db);
	remove_dir(fx->dir);
	free(fx);
}

/* =================== building zones =================== */

typedef struct {
	int errors;
	int warnings;
	char last[512];
} reports_t;

static void on_report(void *ctx, bool is_error, unsigned line, const char *msg)
{
	reports_t *r = ctx;
	if (is_error) {
		r->errors++;
	} else {
		r->warnings++;
	}
	snprintf(r->last, sizeof(r->last), "%u: %s", line, msg);
}

typedef struct {
	zone_builder_t *zb;
	reports_t reports;
	unsigned line;
} zb_t;

static void zb_new(zb_t *z, const char *apex)
{
	uint8_t name[DNS_MAX_NAME];
	u_name(apex, name);
	memset(z, 0, sizeof(*z));
	z->zb = zone_builder_new(name);
	assert_non_null(z->zb);
	zone_builder_set_report(z->zb, on_report, &z->reports);
}

static int add_rr(zb_t *z, const char *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
                  size_t rdlen)
{
	uint8_t name[DNS_MAX_NAME];
	u_name(owner, name);
	return zone_builder_add(z->zb, name, type, DNS_CLASS_IN, ttl, rd, rdlen, ++z->line);
}

static void add(zb_t *z, const char *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
                size_t rdlen)
{
	assert_int_equal(add_rr(z, owner, type, ttl, rd, rdlen), CD_OK);
}

static void add_a(zb_t *z, const char *owner, uint32_t ttl, const char *addr)
{
	uint8_t rd[4];
	assert_int_equal(inet_pton(AF_INET, addr, rd), 1);
	add(z, owner, DNS_TYPE_A, ttl, rd, sizeof(rd));
}

static void add_aaaa(zb_t *z, const char *owner, uint32_t ttl, const char *addr)
{
	uint8_t rd[16];
	assert_int_equal(inet_pton(AF_INET6, addr, rd), 1);
	add(z, owner, DNS_TYPE_AAAA, ttl, rd, sizeof(rd));
}

/* NS, CNAME, PTR: rdata is one name. */
static void add_name(zb_t *z, const char *owner, uint16_t type, uint32_t ttl, const char *target)
{
	uint8_t rd[DNS_MAX_NAME];
	size_t n = u_name(target, rd);
	add(z, owner, type, ttl, rd, n);
}

static void add_mx(zb_t *z, const char *owner, uint32_t ttl, uint16_t pref, const char *target)
{
	uint8_t rd[2 + DNS_MAX_NAME];
	wire_write_u16(rd, pref);
	size_t n = u_name(target, rd + 2);
	add(z, owner, DNS_TYPE_MX, ttl, rd, 2 + n);
}

static size_t soa_rdata(uint8_t *rd, const char *mname, const char *rname, uint32_t serial,
                        uint32_t minimum)
{
	size_t n = u_name(mname, rd);
	n += u_name(rname, rd + n);
	const uint32_t f[5] = { serial, 3600, 900, 604800, minimum };
	for (int i = 0; i < 5; i++) {
		wire_write_u32(rd + n, f[i]);
		n += 4;
	}
	return n;
}

static void add_soa(zb_t *z, const char *owner, uint32_t ttl, const char *mname,
                    const char *rname, uint32_t serial, uint32_t minimum)
{
	uint8_t rd[2 * DNS_MAX_NAME + 20];
	size_t n = soa_rdata(rd, mname, rname, serial, minimum);
	add(z, owner, DNS_TYPE_SOA, ttl, rd, n);
}

/* One character-string of text, or of len copies of fill when text is NULL. */
static void add_txt(zb_t *z, const char *owner, uint32_t ttl, const char *text, size_t len,
                    char fill)
{
	uint8_t rd[256];
	if (text != NULL) {
		len = strlen(text);
		memcpy(rd + 1, text, len);
	} else {
		memset(rd + 1, fill, len);
	}
	assert_true(len <= 255);
	rd[0] = (uint8_t)len;
	add(z, owner, DNS_TYPE_TXT, ttl, rd, len + 1);
}

static void add_ds(zb_t *z, const char *owner, uint32_t ttl)
{
	uint8_t rd[4 + 32];
	wire_write_u16(rd, 12345);
	rd[2] = 13;   /* ECDSAP256SHA256 */
	rd[3] = 2;    /* SHA-256 */
	memset(rd + 4, 0xD5, 32);
	add(z, owner, DNS_TYPE_DS, ttl, rd, sizeof(rd));
}

static int zb_commit(zb_t *z, db_t *db, zone_builder_stats_t *stats)
{
	int ret = zone_builder_commit(z->zb, db, stats);
	zone_builder_free(z->zb);
	z->zb = NULL;
	return ret;
}

static void zb_commit_ok(zb_t *z, db_t *db, zone_builder_stats_t *stats)
{
	zone_builder_stats_t local;
	if (stats == NULL) {
		stats = &local;
	}
	int ret = zb_commit(z, db, stats);
	if (ret != CD_OK) {
		fail_msg("commit failed: %s (%d errors, last: %s)", cd_strerror(ret), z->reports.errors,
		         z->reports.last);
	}
}

/* The zones every answer test uses. */
static void build_example(db_t *db)
{
	zb_t z;
	zb_new(&z, "example.");
	add_soa(&z, "example.", 3600, "ns1.example.", "hostmaster.example.", 2024010101, 300);
	add_name(&z, "example.", DNS_TYPE_NS, 3600, "ns1.example.");
	add_name(&z, "example.", DNS_TYPE_NS, 3600, "ns2.example.");
	add_mx(&z, "example.", 3600, 10, "mail.example.");
	add_a(&z, "ns1.example.", 3600, "192.0.2.1");
	add_aaaa(&z, "ns1.example.", 3600, "2001:db8::1");
	add_a(&z, "ns2.example.", 3600, "192.0.2.2");
	add_a(&z, "mail.example.", 3600, "192.0.2.25");
	add_a(&z, "www.example.", 600, "192.0.2.10");
	add_a(&z, "www.example.", 600, "192.0.2.11");
	add_txt(&z, "www.example.", 600, "hello", 0, 0);
	/* ANY: four RRsets, the A one with two RRs. */
	add_a(&z, "multi.example.", 300, "192.0.2.30");
	add_a(&z, "multi.example.", 300, "192.0.2.31");
	add_aaaa(&z, "multi.example.", 300, "2001:db8::30");
	add_txt(&z, "multi.example.", 300, "multi", 0, 0);
	add_mx(&z, "multi.example.", 300, 5, "mail.example.");
	/* ent.example. exists only as an empty non-terminal. */
	add_a(&z, "host.ent.example.", 300, "192.0.2.40");
	/* Wildcards. */
	add_a(&z, "*.wild.example.", 300, "192.0.2.50");
	add_txt(&z, "*.wild.example.", 300, "wild", 0, 0);
	add_txt(&z, "exists.wild.example.", 300, "exists", 0, 0);
	add_a(&z, "host.deep.wild.example.", 300, "192.0.2.51");
	add_name(&z, "*.wc.example.", DNS_TYPE_CNAME, 300, "www.example.");
	/* A delegation with in-zone glue, out-of-zone NS and a DS. */
	add_name(&z, "sub.example.", DNS_TYPE_NS, 86400, "ns.sub.example.");
	add_name(&z, "sub.example.", DNS_TYPE_NS, 86400, "ns.other.test.");
	add_ds(&z, "sub.example.", 86400);
	add_a(&z, "ns.sub.example.", 86400, "192.0.2.53");
	add_aaaa(&z, "ns.sub.example.", 86400, "2001:db8::53");
	/* CNAMEs. */
	add_name(&z, "cname.example.", DNS_TYPE_CNAME, 300, "www.example.");
	add_name(&z, "chain1.example.", DNS_TYPE_CNAME, 300, "chain2.example.");
	add_name(&z, "chain2.example.", DNS_TYPE_CNAME, 300, "chain3.example.");
	add_name(&z, "chain3.example.", DNS_TYPE_CNAME, 300, "www.example.");
	add_name(&z, "ext.example.", DNS_TYPE_CNAME, 300, "www.other.test.");
	add_name(&z, "out.example.", DNS_TYPE_CNAME, 300, "www.notours.invalid.");
	add_name(&z, "loop1.example.", DNS_TYPE_CNAME, 300, "loop2.example.");
	add_name(&z, "loop2.example.", DNS_TYPE_CNAME, 300, "loop1.example.");
	add_name(&z, "self.example.", DNS_TYPE_CNAME, 300, "self.example.");
	add_name(&z, "dangling.example.", DNS_TYPE_CNAME, 300, "nothere.example.");
	add_name(&z, "tosub.example.", DNS_TYPE_CNAME, 300, "www.sub.example.");
	/* A chain longer than the resolver follows. */
	for (int i = 0; i < 20; i++) {
		char owner[64], target[64];
		snprintf(owner, sizeof(owner), "long%d.example.", i);
		snprintf(target, sizeof(target), "long%d.example.", i + 1);
		add_name(&z, owner, DNS_TYPE_CNAME, 300, target);
	}
	add_a(&z, "long20.example.", 300, "192.0.2.20");
	add_name(&z, "ext-nx.example.", DNS_TYPE_CNAME, 300, "nothere.other.test.");
	/* A delegation whose required glue does not fit in 512 bytes. */
	for (int i = 0; i < 12; i++) {
		char ns[80], v4[32], v6[32];
		snprintf(ns, sizeof(ns), "nameserver-number-%02d.bigdeleg.example.", i);
		snprintf(v4, sizeof(v4), "192.0.2.%d", 100 + i);
		snprintf(v6, sizeof(v6), "2001:db8::%d", 100 + i);
		add_name(&z, "bigdeleg.example.", DNS_TYPE_NS, 3600, ns);
		add_a(&z, ns, 3600, v4);
		add_aaaa(&z, ns, 3600, v6);
	}
	/* A delegation to a child zone this server also hosts. */
	add_name(&z, "child.example.", DNS_TYPE_NS, 3600, "ns.child.example.");
	add_ds(&z, "child.example.", 3600);
	add_a(&z, "ns.child.example.", 3600, "203.0.113.53");
	/* Sizes: big fits 1232 but not 512; huge fits only TCP. */
	for (int i = 0; i < 8; i++) {
		add_txt(&z, "big.example.", 300, NULL, 100, (char)('a' + i));
	}
	for (int i = 0; i < 20; i++) {
		add_txt(&z, "huge.example.", 300, NULL, 200, (char)('a' + i));
	}
	zb_commit_ok(&z, db, NULL);
}

static void build_other(db_t *db)
{
	zb_t z;
	zb_new(&z, "other.test.");
	/* SOA TTL below MINIMUM: negative answers use the TTL. */
	add_soa(&z, "other.test.", 60, "ns.other.test.", "admin.other.test.", 7, 3600);
	add_name(&z, "other.test.", DNS_TYPE_NS, 3600, "ns.other.test.");
	add_a(&z, "ns.other.test.", 3600, "198.51.100.53");
	add_a(&z, "www.other.test.", 3600, "198.51.100.1");
	add_name(&z, "back.other.test.", DNS_TYPE_CNAME, 300, "www.example.");
	zb_commit_ok(&z, db, NULL);
}

static void build_child(db_t *db)
{
	zb_t z;
	zb_new(&z, "child.example.");
	add_soa(&z, "child.example.", 3600, "ns.child.example.", "admin.child.example.", 1, 600);
	add_name(&z, "child.example.", DNS_TYPE_NS, 3600, "ns.child.example.");
	add_a(&z, "ns.child.example.", 3600, "203.0.113.53");
	add_a(&z, "www.child.example.", 3600, "203.0.113.1");
	zb_commit_ok(&z, db, NULL);
}

static int group_setup(void **state)
{
	fx_t *fx = fx_open();
	build_example(fx->db);
	build_other(fx->db);
	build_child(fx->db);
	*state = fx;
	return 0;
}

static int group_teardown(void **state)
{
	fx_close(*state);
	return 0;
}

/* Per-test database for the zone_builder tests. */
static int fresh_setup(void **state)
{
	*state = fx_open();
	return 0;
}

static int fresh_teardown(void **state)
{
	fx_close(*state);
	return 0;
}

/* =================== asking queries =================== */

typedef struct {
	bool tcp;
	bool edns;
	uint16_t payload;     /* EDNS payload (default 4096) */
	uint8_t version;
	bool do_bit;
	uint16_t flags;       /* query header flags (opcode included) */
	uint16_t qclass;      /* default IN */
	uint16_t udp_payload; /* server's: default ANSWER_DEFAULT_UDP_PAYLOAD */
	bool same_snapshot;   /* keep the read snapshot for the next query, as a batch does */
} ask_t;

typedef struct {
	uint8_t buf[65535];
	size_t len;
	uint16_t rcode;         /* as answer_query reported it */
	ldns_pkt *pkt;
} reply_t;

static reply_t reply;

static void reply_free(void)
{
	if (reply.pkt != NULL) {
		ldns_pkt_free(reply.pkt);
		reply.pkt = NULL;
	}
}

/* Sends a raw packet through query_parse and answer_query; parses the reply with ldns. */
static ldns_pkt *ask_raw(fx_t *fx, const uint8_t *pkt, size_t len, const ask_t *o)
{
	reply_free();
	dns_query_t q;
	query_verdict_t verdict = query_parse(pkt, len, &q);
	answer_opts_t opts = {
		.tcp = o->tcp,
		.udp_payload = o->udp_payload ? o->udp_payload : ANSWER_DEFAULT_UDP_PAYLOAD,
	};
	reply.rcode = 0xFFFF;
	reply.len = answer_query(&fx->reader, pkt, &q, verdict, reply.buf, sizeof(reply.buf), &opts,
	                         &reply.rcode);
	if (!o->same_snapshot) {
		db_reader_reset(&fx->reader);
	}
	if (reply.len == 0) {
		return NULL;
	}
	/* Never above what the transport allows. */
	size_t limit = 65535;
	if (!o->tcp) {
		size_t client = q.has_edns ? q.edns_payload : 512;
		limit = client < opts.udp_payload ? client : opts.udp_payload;
	}
	assert_true(reply.len <= limit);
	ldns_status st = ldns_wire2pkt(&reply.pkt, reply.buf, reply.len);
	if (st != LDNS_STATUS_OK) {
		fail_msg("response does not parse: %s", ldns_get_errorstr_by_id(st));
	}
	assert_true(ldns_pkt_qr(reply.pkt));
	return reply.pkt;
}

static ldns_pkt *ask_opts(fx_t *fx, const char *qname, uint16_t qtype, const ask_t *o)
{
	uint8_t pkt[512];
	size_t len = u_query(pkt, 0x5A5A, o->flags, qname, qtype, o->qclass ? o->qclass : DNS_CLASS_IN);
	if (o->edns) {
		len = u_add_opt(pkt, len, o->payload ? o->payload : 4096, o->version, o->do_bit);
	}
	return ask_raw(fx, pkt, len, o);
}

static ldns_pkt *ask(fx_t *fx, const char *qname, uint16_t qtype)
{
	ask_t o = { 0 };
	return ask_opts(fx, qname, qtype, &o);
}

/* =================== checking replies =================== */

static bool rdf_name_is(const ldns_rdf *rdf, const char *want)
{
	uint8_t w[DNS_MAX_NAME];
	size_t n = u_name(want, w);
	return ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME && ldns_rdf_size(rdf) == n &&
	       dname_equal(ldns_rdf_data(rdf), w);
}

static void assert_owner(const ldns_rr *rr, const char *want)
{
	if (!rdf_name_is(ldns_rr_owner(rr), want)) {
		char *got = ldns_rdf2str(ldns_rr_owner(rr));
		char msg[512];
		snprintf(msg, sizeof(msg), "owner %s, want %s", got, want);
		free(got);
		fail_msg("%s", msg);
	}
}

static void assert_owner_exact(const ldns_rr *rr, const char *want)
{
	uint8_t w[DNS_MAX_NAME];
	size_t n = u_name(want, w);
	const ldns_rdf *o = ldns_rr_owner(rr);
	assert_int_equal(ldns_rdf_size(o), n);
	assert_memory_equal(ldns_rdf_data(o), w, n);
}

static void assert_rdata_name(const ldns_rr *rr, size_t field, const char *want)
{
	assert_true(rdf_name_is(ldns_rr_rdf(rr, field), want));
}

static void assert_a(const ldns_rr *rr, const char *addr)
{
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
	uint8_t w[4];
	assert_int_equal(inet_pton(AF_INET, addr, w), 1);
	const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
	assert_int_equal(ldns_rdf_size(rd), 4);
	assert_memory_equal(ldns_rdf_data(rd), w, 4);
}

static size_t count(const ldns_rr_list *l)
{
	return l == NULL ? 0 : ldns_rr_list_rr_count(l);
}

static size_t count_type(const ldns_rr_list *l, ldns_rr_type type)
{
	size_t n = 0;
	for (size_t i = 0; i < count(l); i++) {
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == type) {
			n++;
		}
	}
	return n;
}

static const ldns_rr *rr_at(const ldns_rr_list *l, size_t i)
{
	assert_true(i < count(l));
	return ldns_rr_list_rr(l, i);
}

#define AN(p) ldns_pkt_answer(p)
#define NS(p) ldns_pkt_authority(p)
#define AR(p) ldns_pkt_additional(p)

/* The SOA of a negative answer: only it in authority, with the expected TTL. */
static void assert_negative_soa(ldns_pkt *p, const char *apex, uint32_t ttl)
{
	assert_int_equal(count(NS(p)), 1);
	const ldns_rr *soa = rr_at(NS(p), 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_owner(soa, apex);
	assert_int_equal(ldns_rr_ttl(soa), ttl);
}

/* =================== answers =================== */

static void test_exact_answer_aa(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "www.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(reply.rcode, DNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_false(ldns_pkt_tc(p));
	assert_false(ldns_pkt_ra(p));
	assert_int_equal(ldns_pkt_id(p), 0x5A5A);
	assert_int_equal(count(AN(p)), 2);
	assert_owner(rr_at(AN(p), 0), "www.example.");
	assert_a(rr_at(AN(p), 0), "192.0.2.10");
	assert_a(rr_at(AN(p), 1), "192.0.2.11");
	assert_int_equal(ldns_rr_ttl(rr_at(AN(p), 0)), 600);
	assert_int_equal(count(NS(p)), 0);
	reply_free();
}

static void test_answer_echoes_id_rd_and_question(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .flags = DNS_FLAG_RD | DNS_FLAG_CD };
	ldns_pkt *p = ask_opts(fx, "www.example.", DNS_TYPE_TXT, &o);
	assert_true(ldns_pkt_rd(p));
	assert_true(ldns_pkt_cd(p));
	assert_false(ldns_pkt_ra(p));
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	const ldns_rr *q = rr_at(ldns_pkt_question(p), 0);
	assert_owner(q, "www.example.");
	assert_int_equal(ldns_rr_get_type(q), LDNS_RR_TYPE_TXT);
	assert_int_equal(count_type(AN(p), LDNS_RR_TYPE_TXT), 1);
	reply_free();
}

static void test_answer_case_preserved(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "WwW.ExAmPlE.", DNS_TYPE_A);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 2);
	assert_owner_exact(rr_at(AN(p), 0), "WwW.ExAmPlE.");
	assert_owner_exact(rr_at(AN(p), 1), "WwW.ExAmPlE.");
	assert_owner_exact(rr_at(ldns_pkt_question(p), 0), "WwW.ExAmPlE.");
	reply_free();
}

static void test_answer_apex_ns_with_additional(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "example.", DNS_TYPE_NS);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count_type(AN(p), LDNS_RR_TYPE_NS), 2);
	/* ns1 has A and AAAA, ns2 an A. */
	assert_int_equal(count_type(AR(p), LDNS_RR_TYPE_A), 2);
	assert_int_equal(count_type(AR(p), LDNS_RR_TYPE_AAAA), 1);
	reply_free();
}

static void test_answer_mx_with_additional(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "example.", DNS_TYPE_MX);
	assert_int_equal(count(AN(p)), 1);
	assert_rdata_name(rr_at(AN(p), 0), 1, "mail.example.");
	assert_int_equal(count_type(AR(p), LDNS_RR_TYPE_A), 1);
	assert_owner(rr_at(AR(p), 0), "mail.example.");
	assert_a(rr_at(AR(p), 0), "192.0.2.25");
	reply_free();
}

static void test_nxdomain_soa_ttl_is_minimum(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "nothere.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(reply.rcode, DNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 0);
	assert_negative_soa(p, "example.", 300);   /* min(3600, MINIMUM 300) */
	reply_free();
}

static void test_nxdomain_soa_ttl_is_soa_ttl_when_lower(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "a.b.nothere.other.test.", DNS_TYPE_AAAA);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	assert_negative_soa(p, "other.test.", 60);   /* min(60, MINIMUM 3600) */
	reply_free();
}

static void test_nodata(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "www.example.", DNS_TYPE_MX);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 0);
	assert_negative_soa(p, "example.", 300);
	reply_free();
}

static void test_nodata_apex(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "example.", DNS_TYPE_AAAA);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 0);
	assert_negative_soa(p, "example.", 300);
	reply_free();
}

static void test_empty_non_terminal_nodata(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "ent.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 0);
	assert_negative_soa(p, "example.", 300);
	reply_free();
	/* Names below the ENT that do not exist are NXDOMAIN. */
	p = ask(fx, "other.ent.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	reply_free();
	/* And the name below it is there. */
	p = ask(fx, "host.ent.example.", DNS_TYPE_A);
	assert_int_equal(count(AN(p)), 1);
	reply_free();
}

static void test_empty_non_terminal_any_nodata(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "ent.example.", DNS_TYPE_ANY);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 0);
	assert_negative_soa(p, "example.", 300);
	reply_free();
}

static void test_wildcard_synthesis(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "foo.wild.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 1);
	assert_owner(rr_at(AN(p), 0), "foo.wild.example.");   /* the qname, not "*" */
	assert_a(rr_at(AN(p), 0), "192.0.2.50");
	reply_free();
}

static void test_wildcard_synthesis_keeps_qname_case(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "FoO.Wild.EXAMPLE.", DNS_TYPE_TXT);
	assert_int_equal(count(AN(p)), 1);
	assert_owner_exact(rr_at(AN(p), 0), "FoO.Wild.EXAMPLE.");
	reply_free();
}

static void test_wildcard_several_labels(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "a.b.c.wild.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 1);
	assert_owner(rr_at(AN(p), 0), "a.b.c.wild.example.");
	reply_free();
}

static void test_wildcard_nodata(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "foo.wild.example.", DNS_TYPE_MX);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 0);
	assert_negative_soa(p, "example.", 300);
	reply_free();
}

static void test_wildcard_owner_queried_directly(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "*.wild.example.", DNS_TYPE_A);
	assert_int_equal(count(AN(p)), 1);
	assert_owner(rr_at(AN(p), 0), "*.wild.example.");
	reply_free();
}

static void test_wildcard_not_across_existing_names(void **state)
{
	fx_t *fx = *state;
	/* exists.wild.example. exists: it is the closest encloser, with no "*" below it. */
	ldns_pkt *p = ask(fx, "x.exists.wild.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(count(AN(p)), 0);
	assert_negative_soa(p, "example.", 300);
	reply_free();
	/* An existing name is never answered from the wildcard. */
	p = ask(fx, "exists.wild.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 0);
	assert_negative_soa(p, "example.", 300);
	reply_free();
}

static void test_wildcard_not_at_empty_non_terminal(void **state)
{
	fx_t *fx = *state;
	/* deep.wild.example. is an ENT: it exists, so no synthesis for it... */
	ldns_pkt *p = ask(fx, "deep.wild.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 0);
	reply_free();
	/* ...nor below it (RFC 4592 2.2.2). */
	p = ask(fx, "x.deep.wild.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(count(AN(p)), 0);
	reply_free();
}

static void test_wildcard_cname_followed(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "anything.wc.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 3);
	assert_int_equal(ldns_rr_get_type(rr_at(AN(p), 0)), LDNS_RR_TYPE_CNAME);
	assert_owner(rr_at(AN(p), 0), "anything.wc.example.");
	assert_rdata_name(rr_at(AN(p), 0), 0, "www.example.");
	assert_owner(rr_at(AN(p), 1), "www.example.");
	assert_a(rr_at(AN(p), 1), "192.0.2.10");
	reply_free();
}

static void test_referral(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "www.sub.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 0);
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_NS), 2);
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_SOA), 0);
	for (size_t i = 0; i < count(NS(p)); i++) {
		assert_owner(rr_at(NS(p), i), "sub.example.");
	}
	/* In-zone glue only: ns.sub.example. A and AAAA; nothing for ns.other.test. */
	assert_int_equal(count(AR(p)), 2);
	assert_int_equal(count_type(AR(p), LDNS_RR_TYPE_A), 1);
	assert_int_equal(count_type(AR(p), LDNS_RR_TYPE_AAAA), 1);
	for (size_t i = 0; i < count(AR(p)); i++) {
		assert_owner(rr_at(AR(p), i), "ns.sub.example.");
	}
	reply_free();
}

static void test_referral_includes_ds(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "www.sub.example.", DNS_TYPE_A);
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_DS), 1);
	reply_free();
}

static void test_referral_at_the_cut(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "sub.example.", DNS_TYPE_NS);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 0);   /* NS at a cut are the child's: a referral */
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_NS), 2);
	reply_free();
	p = ask(fx, "sub.example.", DNS_TYPE_A);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 0);
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_NS), 2);
	reply_free();
}

static void test_ds_at_the_cut_answered_by_parent(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "sub.example.", DNS_TYPE_DS);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count_type(AN(p), LDNS_RR_TYPE_DS), 1);
	reply_free();
}

static void test_query_below_cut_deep(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "a.b.c.sub.example.", DNS_TYPE_TXT);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);   /* not NXDOMAIN */
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 0);
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_NS), 2);
	reply_free();
}

static void test_glue_name_gets_referral(void **state)
{
	fx_t *fx = *state;
	/* The glue address is not authoritative: refer instead of answering. */
	ldns_pkt *p = ask(fx, "ns.sub.example.", DNS_TYPE_A);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 0);
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_NS), 2);
	reply_free();
	p = ask(fx, "x.ns.sub.example.", DNS_TYPE_A);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_NS), 2);
	reply_free();
}

static void test_cname_in_zone(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "cname.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 3);
	assert_int_equal(ldns_rr_get_type(rr_at(AN(p), 0)), LDNS_RR_TYPE_CNAME);
	assert_owner(rr_at(AN(p), 0), "cname.example.");
	assert_rdata_name(rr_at(AN(p), 0), 0, "www.example.");
	assert_owner(rr_at(AN(p), 1), "www.example.");
	assert_a(rr_at(AN(p), 1), "192.0.2.10");
	assert_a(rr_at(AN(p), 2), "192.0.2.11");
	reply_free();
}

static void test_cname_query_for_cname_not_followed(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "cname.example.", DNS_TYPE_CNAME);
	assert_int_equal(count(AN(p)), 1);
	assert_int_equal(ldns_rr_get_type(rr_at(AN(p), 0)), LDNS_RR_TYPE_CNAME);
	reply_free();
}

static void test_cname_chain(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "chain1.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 5);
	static const char *owners[] = { "chain1.example.", "chain2.example.", "chain3.example.",
	                                "www.example.", "www.example." };
	for (size_t i = 0; i < 5; i++) {
		assert_owner(rr_at(AN(p), i), owners[i]);
		assert_int_equal(ldns_rr_get_type(rr_at(AN(p), i)),
		                 i < 3 ? LDNS_RR_TYPE_CNAME : LDNS_RR_TYPE_A);
	}
	reply_free();
}

static void test_cname_across_zones(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "ext.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 2);
	assert_owner(rr_at(AN(p), 0), "ext.example.");
	assert_owner(rr_at(AN(p), 1), "www.other.test.");
	assert_a(rr_at(AN(p), 1), "198.51.100.1");
	reply_free();
	/* And the other way round. */
	p = ask(fx, "back.other.test.", DNS_TYPE_A);
	assert_int_equal(count(AN(p)), 3);
	assert_owner(rr_at(AN(p), 0), "back.other.test.");
	assert_owner(rr_at(AN(p), 1), "www.example.");
	reply_free();
}

static void test_cname_leaving_our_zones(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "out.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 1);
	assert_int_equal(ldns_rr_get_type(rr_at(AN(p), 0)), LDNS_RR_TYPE_CNAME);
	assert_int_equal(count(NS(p)), 0);
	reply_free();
}

static void test_cname_loop_terminates(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "loop1.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 2);
	assert_owner(rr_at(AN(p), 0), "loop1.example.");
	assert_owner(rr_at(AN(p), 1), "loop2.example.");
	reply_free();
	p = ask(fx, "self.example.", DNS_TYPE_A);
	assert_int_equal(count(AN(p)), 1);
	assert_owner(rr_at(AN(p), 0), "self.example.");
	reply_free();
}

static void test_cname_dangling_nxdomain(void **state)
{
	fx_t *fx = *state;
	/* RFC 6604: the rcode describes the last name of the chain. */
	ldns_pkt *p = ask(fx, "dangling.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 1);
	assert_int_equal(ldns_rr_get_type(rr_at(AN(p), 0)), LDNS_RR_TYPE_CNAME);
	assert_negative_soa(p, "example.", 300);
	reply_free();
}

static void test_cname_into_delegation(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "tosub.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 1);
	assert_int_equal(ldns_rr_get_type(rr_at(AN(p), 0)), LDNS_RR_TYPE_CNAME);
	assert_true(ldns_pkt_aa(p));   /* the CNAME itself is authoritative */
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_NS), 2);
	reply_free();
}

static void test_referral_required_glue_truncates(void **state)
{
	fx_t *fx = *state;
	/* 12 NS fit in 512 bytes, their in-bailiwick glue does not: TC (RFC 9471). */
	ldns_pkt *p = ask(fx, "www.bigdeleg.example.", DNS_TYPE_A);
	assert_false(ldns_pkt_aa(p));
	assert_true(ldns_pkt_tc(p));
	assert_true(reply.len <= 512);
	reply_free();
}

static void test_referral_glue_complete_with_edns(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .edns = true, .payload = 1232 };
	ldns_pkt *p = ask_opts(fx, "www.bigdeleg.example.", DNS_TYPE_A, &o);
	assert_false(ldns_pkt_aa(p));
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(count_type(NS(p), LDNS_RR_TYPE_NS), 12);
	assert_int_equal(count_type(AR(p), LDNS_RR_TYPE_A), 12);
	assert_int_equal(count_type(AR(p), LDNS_RR_TYPE_AAAA), 12);
	reply_free();
}

static void test_hosted_child_zone_answers_below_cut(void **state)
{
	fx_t *fx = *state;
	/* The deepest zone answers: no referral to a zone we serve ourselves. */
	ldns_pkt *p = ask(fx, "www.child.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 1);
	assert_a(rr_at(AN(p), 0), "203.0.113.1");
	reply_free();
	p = ask(fx, "nothere.child.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_negative_soa(p, "child.example.", 600);
	reply_free();
}

static void test_parent_zone_names_on_both_sides_of_a_hosted_child(void **state)
{
	fx_t *fx = *state;
	/* The zone is found by position: the greatest zone key below the name's.
	 * For "aaa" that is the parent's own key; for "zzz" it is the child's, not
	 * an ancestor, and the search must go on to the parent. */
	static const char *const names[] = { "aaa.example.", "zzz.example.", "childa.example.",
	                                     "chil.example." };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ldns_pkt *p = ask(fx, names[i], DNS_TYPE_A);
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
		assert_true(ldns_pkt_aa(p));
		assert_negative_soa(p, "example.", 300);
		reply_free();
	}
}

static void test_zones_found_within_one_snapshot(void **state)
{
	fx_t *fx = *state;
	/* A batch shares one snapshot, and the reader keeps the last zone found
	 * that has no zone below it: every name must still find its own zone,
	 * whichever zone the query before it was in. */
	static const struct {
		const char *qname;
		const char *zone;
		uint32_t negative_ttl;
	} seq[] = {
		{ "nothere.child.example.", "child.example.", 600 },
		{ "nothere.example.", "example.", 300 },
		{ "aaa.example.", "example.", 300 },   /* sorts before child.example. */
		{ "a.b.nothere.child.example.", "child.example.", 600 },
		{ "nothere.other.test.", "other.test.", 60 },
		{ "zzz.example.", "example.", 300 },
		{ "deep.nothere.other.test.", "other.test.", 60 },
		{ "childa.example.", "example.", 300 },
		{ "x.child.example.", "child.example.", 600 },
	};
	ask_t o = { .same_snapshot = true };
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		ldns_pkt *p = ask_opts(fx, seq[i].qname, DNS_TYPE_A, &o);
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
		assert_true(ldns_pkt_aa(p));
		assert_negative_soa(p, seq[i].zone, seq[i].negative_ttl);
		reply_free();
	}
	db_reader_reset(&fx->reader);
}

static void test_ds_for_hosted_child_answered_by_parent(void **state)
{
	fx_t *fx = *state;
	/* RFC 4035 3.1.4.1: DS lives on the parent side of the cut, even when
	 * the same server is authoritative for the child too. */
	ldns_pkt *p = ask(fx, "child.example.", DNS_TYPE_DS);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count_type(AN(p), LDNS_RR_TYPE_DS), 1);
	reply_free();
}

static void test_cname_to_nxdomain_in_other_zone(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "ext-nx.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(count(AN(p)), 1);
	/* The SOA of the zone the last name is in. */
	assert_negative_soa(p, "other.test.", 60);
	reply_free();
}

static void test_cname_chain_length_limited(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .tcp = true };
	ldns_pkt *p = ask_opts(fx, "long0.example.", DNS_TYPE_A, &o);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	size_t n = count(AN(p));
	assert_true(n >= ANSWER_CNAME_CHAIN_MAX && n <= ANSWER_CNAME_CHAIN_MAX + 1);
	assert_int_equal(count_type(AN(p), LDNS_RR_TYPE_CNAME), n);
	for (size_t i = 0; i < n; i++) {
		char owner[64];
		snprintf(owner, sizeof(owner), "long%zu.example.", i);
		assert_owner(rr_at(AN(p), i), owner);
	}
	reply_free();
}

static void test_refused_outside_zones(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "www.nowhere.invalid.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(reply.rcode, DNS_RCODE_REFUSED);
	assert_false(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)) + count(NS(p)) + count(AR(p)), 0);
	reply_free();
	/* A parent of our zones is outside them too. */
	p = ask(fx, "test.", DNS_TYPE_NS);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	reply_free();
	p = ask(fx, ".", DNS_TYPE_NS);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	reply_free();
}

static void test_binary_labels_in_qname(void **state)
{
	fx_t *fx = *state;
	/* Label bytes 0x00 and 0x01 are escaped in lookup keys: no confusion with terminators. */
	ldns_pkt *p = ask(fx, "\\000.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	reply_free();
	p = ask(fx, "\\000\\001.wild.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 1);
	assert_owner_exact(rr_at(AN(p), 0), "\\000\\001.wild.example.");
	reply_free();
	p = ask(fx, "www\\000.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	reply_free();
}

/* A 255-byte name: labels of 63, 63, 63 and (48 - suffix) bytes, then suffix. */
static void long_name(char *out, size_t outlen, const char *suffix)
{
	uint8_t tail[DNS_MAX_NAME];
	size_t tlen = u_name(suffix, tail);
	size_t left = DNS_MAX_NAME - tlen;   /* bytes for the extra labels incl. length bytes */
	size_t o = 0;
	while (left > 0) {
		size_t l = left - 1 > 63 ? 63 : left - 1;
		if (left - (l + 1) == 1) {
			l--;   /* never leave a single byte: a label needs two */
		}
		for (size_t i = 0; i < l; i++) {
			out[o++] = (char)('a' + (i % 26));
		}
		out[o++] = '.';
		left -= l + 1;
	}
	snprintf(out + o, outlen - o, "%s", suffix);
}

static void test_longest_qname(void **state)
{
	fx_t *fx = *state;
	char name[DNAME_STR_MAX];
	long_name(name, sizeof(name), "example.");
	uint8_t wire[DNS_MAX_NAME];
	assert_int_equal(u_name(name, wire), DNS_MAX_NAME);
	ldns_pkt *p = ask(fx, name, DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_negative_soa(p, "example.", 300);
	reply_free();
	/* Synthesised from the wildcard, the 255-byte owner is the qname. */
	long_name(name, sizeof(name), "wild.example.");
	assert_int_equal(u_name(name, wire), DNS_MAX_NAME);
	p = ask(fx, name, DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_int_equal(count(AN(p)), 1);
	assert_owner(rr_at(AN(p), 0), name);
	reply_free();
}

static void test_refused_other_class(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .qclass = DNS_CLASS_CH };
	ldns_pkt *p = ask_opts(fx, "www.example.", DNS_TYPE_A, &o);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(count(AN(p)), 0);
	reply_free();
}

static size_t distinct_types(const ldns_rr_list *l)
{
	size_t n = 0;
	for (size_t i = 0; i < count(l); i++) {
		bool seen = false;
		for (size_t j = 0; j < i; j++) {
			if (ldns_rr_get_type(ldns_rr_list_rr(l, j)) ==
			    ldns_rr_get_type(ldns_rr_list_rr(l, i))) {
				seen = true;
			}
		}
		n += !seen;
	}
	return n;
}

static void test_any_over_udp_one_rrset(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "multi.example.", DNS_TYPE_ANY);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_false(ldns_pkt_tc(p));
	assert_true(count(AN(p)) >= 1);
	assert_int_equal(distinct_types(AN(p)), 1);
	/* The whole RRset, not one RR of it. */
	ldns_rr_type t = ldns_rr_get_type(rr_at(AN(p), 0));
	assert_int_equal(count(AN(p)), t == LDNS_RR_TYPE_A ? 2 : 1);
	reply_free();
}

static void test_any_over_tcp_everything(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .tcp = true };
	ldns_pkt *p = ask_opts(fx, "multi.example.", DNS_TYPE_ANY, &o);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 5);
	assert_int_equal(distinct_types(AN(p)), 4);
	assert_int_equal(count_type(AN(p), LDNS_RR_TYPE_A), 2);
	reply_free();
}

static void test_truncation_at_512_without_edns(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "big.example.", DNS_TYPE_TXT);
	assert_true(ldns_pkt_tc(p));
	assert_true(reply.len <= 512);
	assert_int_equal(count(AN(p)), 0);   /* RRsets are never cut in half */
	assert_false(ldns_pkt_edns(p));
	reply_free();
}

static void test_no_truncation_with_edns(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .edns = true, .payload = 4096 };
	ldns_pkt *p = ask_opts(fx, "big.example.", DNS_TYPE_TXT, &o);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(count(AN(p)), 8);
	assert_true(reply.len > 512 && reply.len <= ANSWER_DEFAULT_UDP_PAYLOAD);
	reply_free();
}

static void test_truncation_with_small_edns_payload(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .edns = true, .payload = 512 };
	ldns_pkt *p = ask_opts(fx, "big.example.", DNS_TYPE_TXT, &o);
	assert_true(ldns_pkt_tc(p));
	assert_true(reply.len <= 512);
	assert_true(ldns_pkt_edns(p));   /* the OPT still fits */
	reply_free();
}

static void test_truncation_at_server_udp_limit(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .edns = true, .payload = 65535 };
	ldns_pkt *p = ask_opts(fx, "huge.example.", DNS_TYPE_TXT, &o);
	assert_true(ldns_pkt_tc(p));
	assert_true(reply.len <= ANSWER_DEFAULT_UDP_PAYLOAD);
	assert_int_equal(count(AN(p)), 0);
	reply_free();
}

static void test_tcp_not_truncated(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .tcp = true };
	ldns_pkt *p = ask_opts(fx, "huge.example.", DNS_TYPE_TXT, &o);
	assert_false(ldns_pkt_tc(p));
	assert_int_equal(count(AN(p)), 20);
	reply_free();
}

static void test_edns_opt_in_reply(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .edns = true, .payload = 4096, .do_bit = true };
	ldns_pkt *p = ask_opts(fx, "www.example.", DNS_TYPE_A, &o);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), ANSWER_DEFAULT_UDP_PAYLOAD);
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	assert_true(ldns_pkt_edns_do(p));
	reply_free();
	o.do_bit = false;
	p = ask_opts(fx, "www.example.", DNS_TYPE_A, &o);
	assert_true(ldns_pkt_edns(p));
	assert_false(ldns_pkt_edns_do(p));
	reply_free();
}

static void test_no_opt_without_edns(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "www.example.", DNS_TYPE_A);
	assert_false(ldns_pkt_edns(p));
	assert_int_equal(wire_read_u16(reply.buf + 10), 0);
	reply_free();
}

static void test_badvers(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .edns = true, .payload = 4096, .version = 1 };
	ldns_pkt *p = ask_opts(fx, "www.example.", DNS_TYPE_A, &o);
	assert_int_equal(reply.rcode, DNS_RCODE_BADVERS);
	assert_int_equal(reply.buf[3] & 0x0F, 0);              /* low bits of 16 */
	assert_int_equal(count(AN(p)), 0);
	assert_true(ldns_pkt_edns(p));
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);  /* high bits of 16 */
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	/* The OPT is the last record; its extended rcode byte is at offset 5. */
	const uint8_t *opt = reply.buf + reply.len - EDNS_OPT_SIZE;
	assert_int_equal(opt[0], 0);
	assert_int_equal(wire_read_u16(opt + 1), DNS_TYPE_OPT);
	assert_int_equal(opt[5], 1);
	reply_free();
}

static void test_formerr_without_question(void **state)
{
	fx_t *fx = *state;
	uint8_t pkt[64];
	size_t len = u_header(pkt, 0x1111, DNS_FLAG_RD, 0, 0, 0, 0);
	ask_t o = { 0 };
	ldns_pkt *p = ask_raw(fx, pkt, len, &o);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	assert_int_equal(ldns_pkt_id(p), 0x1111);
	assert_int_equal(ldns_pkt_qdcount(p), 0);
	reply_free();
}

static void test_notimp_opcode(void **state)
{
	fx_t *fx = *state;
	ask_t o = { .flags = (uint16_t)(2 << 11) };   /* STATUS */
	ldns_pkt *p = ask_opts(fx, "www.example.", DNS_TYPE_A, &o);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	assert_int_equal(count(AN(p)), 0);
	reply_free();
}

static void test_axfr_refused_over_udp_formerr(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "example.", DNS_TYPE_AXFR);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
	reply_free();
	ask_t o = { .tcp = true };
	p = ask_opts(fx, "example.", DNS_TYPE_AXFR, &o);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	reply_free();
}

static void test_meta_qtype_notimp(void **state)
{
	fx_t *fx = *state;
	ldns_pkt *p = ask(fx, "www.example.", DNS_TYPE_MAILB);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
	reply_free();
}

static void test_response_packet_dropped(void **state)
{
	fx_t *fx = *state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 1, DNS_FLAG_QR, "www.example.", DNS_TYPE_A, DNS_CLASS_IN);
	ask_t o = { 0 };
	assert_null(ask_raw(fx, pkt, len, &o));
	assert_int_equal(reply.len, 0);
}

/* =================== zone_builder rules =================== */

/* A valid minimal zone at apex into z. */
static void minimal_zone(zb_t *z, const char *apex)
{
	zb_new(z, apex);
	char ns[300];
	snprintf(ns, sizeof(ns), "ns1.%s", apex);
	add_soa(z, apex, 3600, ns, "hostmaster.invalid.", 1, 300);
	add_name(z, apex, DNS_TYPE_NS, 3600, ns);
	add_a(z, ns, 3600, "192.0.2.1");
}

static void assert_rejected(fx_t *fx, zb_t *z, const char *apex)
{
	zone_builder_stats_t stats;
	int ret = zb_commit(z, fx->db, &stats);
	assert_int_equal(ret, CD_ESEMANTIC);
	assert_true(z->reports.errors >= 1);
	/* Nothing was written. */
	uint8_t name[DNS_MAX_NAME];
	u_name(apex, name);
	MDB_txn *txn;
	assert_int_equal(db_read_begin(fx->db, &txn), CD_OK);
	zone_record_t zone;
	assert_int_equal(zone_store_get(fx->db, txn, name, &zone), CD_ENOTFOUND);
	mdb_txn_abort(txn);
}

static void test_builder_minimal_zone_ok(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	zone_builder_stats_t stats;
	zb_commit_ok(&z, fx->db, &stats);
	assert_int_equal(stats.records, 3);
	assert_int_equal(stats.duplicates, 0);
	assert_int_equal(stats.names, 2);
	assert_int_equal(stats.serial, 1);
	assert_int_equal(z.reports.errors, 0);
	assert_int_equal(z.reports.warnings, 0);
}

static void test_builder_rejects_cname_and_other_data(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_name(&z, "www.example.", DNS_TYPE_CNAME, 300, "elsewhere.test.");
	add_a(&z, "www.example.", 300, "192.0.2.9");
	assert_rejected(fx, &z, "example.");
}

static void test_builder_rejects_cname_at_apex(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_name(&z, "example.", DNS_TYPE_CNAME, 300, "elsewhere.test.");
	assert_rejected(fx, &z, "example.");
}

static void test_builder_rejects_two_cnames(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_name(&z, "www.example.", DNS_TYPE_CNAME, 300, "a.test.");
	add_name(&z, "www.example.", DNS_TYPE_CNAME, 300, "b.test.");
	assert_rejected(fx, &z, "example.");
}

static void test_builder_rejects_soa_off_apex(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_soa(&z, "www.example.", 3600, "ns1.example.", "hostmaster.example.", 2, 300);
	assert_rejected(fx, &z, "example.");
}

static void test_apex_wildcards_within_one_snapshot(void **state)
{
	fx_t *fx = *state;
	/* The reader keeps the lookup of "*" below the last apex for the rest of
	 * the snapshot: in a batch mixing zones with and without an apex
	 * wildcard, each name must still get its own zone's answer. */
	zb_t wild;
	minimal_zone(&wild, "wild.test.");
	add_a(&wild, "*.wild.test.", 300, "192.0.2.77");
	zb_commit_ok(&wild, fx->db, NULL);
	zb_t plain;
	minimal_zone(&plain, "plain.test.");
	add_a(&plain, "host.plain.test.", 300, "192.0.2.78");
	zb_commit_ok(&plain, fx->db, NULL);
	static const char *const seq[] = {
		"a.wild.test.", "b.plain.test.", "c.wild.test.", "d.wild.test.", "e.plain.test.",
		"f.plain.test.", "g.wild.test.",
	};
	ask_t o = { .same_snapshot = true };
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		ldns_pkt *p = ask_opts(fx, seq[i], DNS_TYPE_A, &o);
		if (strstr(seq[i], "wild") != NULL) {
			assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
			assert_int_equal(count(AN(p)), 1);
			assert_a(rr_at(AN(p), 0), "192.0.2.77");
		} else {
			assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
			assert_negative_soa(p, "plain.test.", 300);
		}
		reply_free();
	}
	db_reader_reset(&fx->reader);
}

static void test_builder_rejects_two_soas(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_soa(&z, "example.", 3600, "ns2.example.", "hostmaster.example.", 2, 300);
	assert_rejected(fx, &z, "example.");
}

static void test_builder_rejects_missing_soa(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	zb_new(&z, "example.");
	add_name(&z, "example.", DNS_TYPE_NS, 3600, "ns1.example.");
	add_a(&z, "ns1.example.", 3600, "192.0.2.1");
	assert_rejected(fx, &z, "example.");
}

static void test_builder_rejects_empty_zone(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	zb_new(&z, "example.");
	assert_rejected(fx, &z, "example.");
}

static void test_builder_rejects_malformed_soa(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	zb_new(&z, "example.");
	uint8_t rd[2 * DNS_MAX_NAME + 20];
	size_t n = soa_rdata(rd, "ns1.example.", "hostmaster.example.", 1, 300);
	add(&z, "example.", DNS_TYPE_SOA, 3600, rd, n - 1);
	add_name(&z, "example.", DNS_TYPE_NS, 3600, "ns1.example.");
	assert_rejected(fx, &z, "example.");
}

static void test_builder_rejects_non_glue_below_delegation(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_name(&z, "sub.example.", DNS_TYPE_NS, 3600, "ns.sub.example.");
	add_a(&z, "ns.sub.example.", 3600, "192.0.2.53");          /* glue: fine */
	add_txt(&z, "info.sub.example.", 300, "occluded", 0, 0);   /* not glue */
	assert_rejected(fx, &z, "example.");
}

static void test_builder_rejects_data_at_delegation(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_name(&z, "sub.example.", DNS_TYPE_NS, 3600, "ns.sub.example.");
	add_mx(&z, "sub.example.", 300, 10, "mail.example.");
	assert_rejected(fx, &z, "example.");
}

static void test_builder_accepts_glue_and_ds(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_name(&z, "sub.example.", DNS_TYPE_NS, 3600, "ns.sub.example.");
	add_ds(&z, "sub.example.", 3600);
	add_a(&z, "ns.sub.example.", 3600, "192.0.2.53");
	add_aaaa(&z, "ns.sub.example.", 3600, "2001:db8::53");
	add_a(&z, "deeper.ns.sub.example.", 3600, "192.0.2.54");
	/* Sorts right after the delegated subtree and shares its first bytes: not occluded. */
	add_a(&z, "sub-after.example.", 3600, "192.0.2.55");
	zone_builder_stats_t stats;
	zb_commit_ok(&z, fx->db, &stats);
	assert_int_equal(z.reports.errors, 0);
	ldns_pkt *p = ask(fx, "sub-after.example.", DNS_TYPE_A);
	assert_true(ldns_pkt_aa(p));
	assert_int_equal(count(AN(p)), 1);
	assert_a(rr_at(AN(p), 0), "192.0.2.55");
	reply_free();
}

static void test_builder_rejects_class_mismatch(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	uint8_t name[DNS_MAX_NAME];
	u_name("www.example.", name);
	uint8_t rd[4] = { 192, 0, 2, 1 };
	assert_int_equal(zone_builder_add(z.zb, name, DNS_TYPE_A, DNS_CLASS_CH, 300, rd, 4, 99),
	                 CD_OK);
	assert_rejected(fx, &z, "example.");
}

static void test_builder_add_outside_zone(void **state)
{
	(void)state;
	zb_t z;
	zb_new(&z, "sub.example.");
	uint8_t rd[4] = { 192, 0, 2, 1 };
	assert_int_equal(add_rr(&z, "example.", DNS_TYPE_A, 300, rd, 4), CD_ENOZONE);
	assert_int_equal(add_rr(&z, "www.example.", DNS_TYPE_A, 300, rd, 4), CD_ENOZONE);
	assert_int_equal(add_rr(&z, "xsub.example.", DNS_TYPE_A, 300, rd, 4), CD_ENOZONE);
	assert_int_equal(add_rr(&z, "sub.example.org.", DNS_TYPE_A, 300, rd, 4), CD_ENOZONE);
	assert_int_equal(add_rr(&z, ".", DNS_TYPE_A, 300, rd, 4), CD_ENOZONE);
	assert_int_equal(zone_builder_count(z.zb), 0);
	/* Inside, whatever the case. */
	assert_int_equal(add_rr(&z, "SUB.Example.", DNS_TYPE_A, 300, rd, 4), CD_OK);
	assert_int_equal(add_rr(&z, "a.b.Sub.example.", DNS_TYPE_A, 300, rd, 4), CD_OK);
	assert_int_equal(zone_builder_count(z.zb), 2);
	zone_builder_free(z.zb);
}

static void test_builder_add_rejects_bad_input(void **state)
{
	(void)state;
	zb_t z;
	zb_new(&z, "example.");
	uint8_t bad_owner[] = { 64, 0 };
	uint8_t rd[4] = { 0 };
	assert_int_equal(zone_builder_add(z.zb, bad_owner, DNS_TYPE_A, DNS_CLASS_IN, 1, rd, 4, 1),
	                 CD_EINVAL);
	uint8_t owner[DNS_MAX_NAME];
	u_name("example.", owner);
	static uint8_t huge[65536];
	assert_int_equal(zone_builder_add(z.zb, owner, DNS_TYPE_TXT, DNS_CLASS_IN, 1, huge,
	                                  sizeof(huge), 1), CD_EINVAL);
	assert_int_equal(zone_builder_count(z.zb), 0);
	zone_builder_free(z.zb);
}

static void test_builder_duplicates_dropped(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_a(&z, "www.example.", 300, "192.0.2.10");
	add_a(&z, "www.example.", 300, "192.0.2.10");
	add_a(&z, "WWW.example.", 300, "192.0.2.10");   /* same owner, other case */
	add_a(&z, "www.example.", 300, "192.0.2.11");
	zone_builder_stats_t stats;
	zb_commit_ok(&z, fx->db, &stats);
	assert_int_equal(stats.duplicates, 2);
	assert_int_equal(stats.records, 5);   /* SOA, NS, ns1 A, two www A */
	assert_int_equal(stats.names, 3);

	ldns_pkt *p = ask(fx, "www.example.", DNS_TYPE_A);
	assert_int_equal(count(AN(p)), 2);
	assert_a(rr_at(AN(p), 0), "192.0.2.10");
	assert_a(rr_at(AN(p), 1), "192.0.2.11");
	reply_free();
}

static void test_builder_rrset_ttl_lowest_with_warning(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_a(&z, "www.example.", 600, "192.0.2.10");
	add_a(&z, "www.example.", 120, "192.0.2.11");
	zb_commit_ok(&z, fx->db, NULL);
	assert_int_equal(z.reports.errors, 0);
	assert_true(z.reports.warnings >= 1);
	ldns_pkt *p = ask(fx, "www.example.", DNS_TYPE_A);
	assert_int_equal(count(AN(p)), 2);
	assert_int_equal(ldns_rr_ttl(rr_at(AN(p), 0)), 120);
	assert_int_equal(ldns_rr_ttl(rr_at(AN(p), 1)), 120);
	reply_free();
}

typedef struct {
	size_t nodes;
} node_count_t;

static int count_node(void *ctx, const node_t *node)
{
	node_count_t *c = ctx;
	(void)node;
	c->nodes++;
	return 0;
}

static size_t nodes_of(fx_t *fx, uint32_t id)
{
	MDB_txn *txn;
	assert_int_equal(db_read_begin(fx->db, &txn), CD_OK);
	node_count_t c = { 0 };
	assert_int_equal(zone_store_foreach_node(fx->db, txn, id, count_node, &c), CD_OK);
	mdb_txn_abort(txn);
	return c.nodes;
}

static void test_builder_replace_leaves_no_old_nodes(void **state)
{
	fx_t *fx = *state;
	/* Version 1: big enough to span many LMDB pages. */
	zb_t z;
	minimal_zone(&z, "example.");
	for (int i = 0; i < 3000; i++) {
		char owner[64];
		snprintf(owner, sizeof(owner), "host%04d.example.", i);
		add_a(&z, owner, 300, "192.0.2.100");
		add_txt(&z, owner, 300, NULL, 40, 'v');
	}
	zone_builder_stats_t s1;
	zb_commit_ok(&z, fx->db, &s1);
	assert_int_equal(s1.names, 3002);
	assert_int_equal(nodes_of(fx, s1.zone_id), 3002);

	/* A neighbouring zone whose nodes must survive. */
	zb_t other;
	minimal_zone(&other, "other.test.");
	zone_builder_stats_t so;
	zb_commit_ok(&other, fx->db, &so);

	/* Version 2 replaces it. */
	zb_t z2;
	zb_new(&z2, "example.");
	add_soa(&z2, "example.", 3600, "ns1.example.", "hostmaster.example.", 2, 300);
	add_name(&z2, "example.", DNS_TYPE_NS, 3600, "ns1.example.");
	add_a(&z2, "ns1.example.", 3600, "192.0.2.1");
	add_a(&z2, "new.example.", 300, "192.0.2.200");
	zone_builder_stats_t s2;
	zb_commit_ok(&z2, fx->db, &s2);
	assert_int_not_equal(s2.zone_id, s1.zone_id);
	assert_int_equal(s2.serial, 2);

	assert_int_equal(nodes_of(fx, s1.zone_id), 0);
	assert_int_equal(nodes_of(fx, s2.zone_id), 3);
	assert_int_equal(nodes_of(fx, so.zone_id), 2);

	/* The zone record points at the new id. */
	MDB_txn *txn;
	assert_int_equal(db_read_begin(fx->db, &txn), CD_OK);
	uint8_t apex[DNS_MAX_NAME];
	u_name("example.", apex);
	zone_record_t zone;
	assert_int_equal(zone_store_get(fx->db, txn, apex, &zone), CD_OK);
	assert_int_equal(zone.id, s2.zone_id);
	assert_int_equal(zone.serial, 2);
	mdb_txn_abort(txn);

	/* And queries see only the new content. */
	ldns_pkt *p = ask(fx, "host0001.example.", DNS_TYPE_A);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	reply_free();
	p = ask(fx, "new.example.", DNS_TYPE_A);
	assert_int_equal(count(AN(p)), 1);
	reply_free();
}

static void test_builder_failed_replace_keeps_old_zone(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_a(&z, "www.example.", 300, "192.0.2.10");
	zone_builder_stats_t s1;
	zb_commit_ok(&z, fx->db, &s1);

	zb_t bad;
	minimal_zone(&bad, "example.");
	add_name(&bad, "www.example.", DNS_TYPE_CNAME, 300, "a.test.");
	add_a(&bad, "www.example.", 300, "192.0.2.99");
	zone_builder_stats_t s2;
	assert_int_equal(zb_commit(&bad, fx->db, &s2), CD_ESEMANTIC);

	assert_int_equal(nodes_of(fx, s1.zone_id), 3);
	ldns_pkt *p = ask(fx, "www.example.", DNS_TYPE_A);
	assert_int_equal(count(AN(p)), 1);
	assert_a(rr_at(AN(p), 0), "192.0.2.10");
	reply_free();
}

static void test_builder_stored_node_format(void **state)
{
	fx_t *fx = *state;
	zb_t z;
	minimal_zone(&z, "example.");
	add_name(&z, "sub.example.", DNS_TYPE_NS, 3600, "ns.sub.example.");
	add_a(&z, "ns.sub.example.", 3600, "192.0.2.53");
	zone_builder_stats_t stats;
	zb_commit_ok(&z, fx->db, &stats);
	/* Walk the nodes: apex first, the cut flagged DELEG, the glue OCCLUDED. */
	MDB_txn *txn;
	assert_int_equal(db_read_begin(fx->db, &txn), CD_OK);
	zone_node_iter_t it;
	assert_int_equal(zone_node_iter_init(&it, fx->db, txn, stats.zone_id), CD_OK);
	node_t node;
	char names[4][DNAME_STR_MAX];
	uint8_t flags[4];
	int n = 0;
	while (zone_node_iter_next(&it, &node) == CD_OK) {
		assert_true(n < 4);
		dname_to_str(node.owner, names[n], sizeof(names[n]));
		flags[n] = node.flags;
		n++;
	}
	zone_node_iter_close(&it);
	mdb_txn_abort(txn);
	assert_int_equal(n, 4);
	assert_string_equal(names[0], "example.");
	assert_int_equal(flags[0], 0);
	assert_string_equal(names[1], "ns1.example.");
	assert_string_equal(names[2], "sub.example.");
	assert_int_equal(flags[2], NODE_DELEG);
	assert_string_equal(names[3], "ns.sub.example.");
	assert_int_equal(flags[3], NODE_OCCLUDED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* answers over the shared zones */
		cmocka_unit_test(test_exact_answer_aa),
		cmocka_unit_test(test_answer_echoes_id_rd_and_question),
		cmocka_unit_test(test_answer_case_preserved),
		cmocka_unit_test(test_answer_apex_ns_with_additional),
		cmocka_unit_test(test_answer_mx_with_additional),
		cmocka_unit_test(test_nxdomain_soa_ttl_is_minimum),
		cmocka_unit_test(test_nxdomain_soa_ttl_is_soa_ttl_when_lower),
		cmocka_unit_test(test_nodata),
		cmocka_unit_test(test_nodata_apex),
		cmocka_unit_test(test_empty_non_terminal_nodata),
		cmocka_unit_test(test_empty_non_terminal_any_nodata),
		cmocka_unit_test(test_wildcard_synthesis),
		cmocka_unit_test(test_wildcard_synthesis_keeps_qname_case),
		cmocka_unit_test(test_wildcard_several_labels),
		cmocka_unit_test(test_wildcard_nodata),
		cmocka_unit_test(test_wildcard_owner_queried_directly),
		cmocka_unit_test(test_wildcard_not_across_existing_names),
		cmocka_unit_test(test_wildcard_not_at_empty_non_terminal),
		cmocka_unit_test(test_wildcard_cname_followed),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_referral_includes_ds),
		cmocka_unit_test(test_referral_at_the_cut),
		cmocka_unit_test(test_ds_at_the_cut_answered_by_parent),
		cmocka_unit_test(test_query_below_cut_deep),
		cmocka_unit_test(test_glue_name_gets_referral),
		cmocka_unit_test(test_cname_in_zone),
		cmocka_unit_test(test_cname_query_for_cname_not_followed),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_cname_across_zones),
		cmocka_unit_test(test_cname_leaving_our_zones),
		cmocka_unit_test(test_cname_loop_terminates),
		cmocka_unit_test(test_cname_dangling_nxdomain),
		cmocka_unit_test(test_cname_into_delegation),
		cmocka_unit_test(test_referral_required_glue_truncates),
		cmocka_unit_test(test_referral_glue_complete_with_edns),
		cmocka_unit_test(test_hosted_child_zone_answers_below_cut),
		cmocka_unit_test(test_parent_zone_names_on_both_sides_of_a_hosted_child),
		cmocka_unit_test(test_zones_found_within_one_snapshot),
		cmocka_unit_test(test_ds_for_hosted_child_answered_by_parent),
		cmocka_unit_test(test_cname_to_nxdomain_in_other_zone),
		cmocka_unit_test(test_cname_chain_length_limited),
		cmocka_unit_test(test_refused_outside_zones),
		cmocka_unit_test(test_refused_other_class),
		cmocka_unit_test(test_binary_labels_in_qname),
		cmocka_unit_test(test_longest_qname),
		cmocka_unit_test(test_any_over_udp_one_rrset),
		cmocka_unit_test(test_any_over_tcp_everything),
		cmocka_unit_test(test_truncation_at_512_without_edns),
		cmocka_unit_test(test_no_truncation_with_edns),
		cmocka_unit_test(test_truncation_with_small_edns_payload),
		cmocka_unit_test(test_truncation_at_server_udp_limit),
		cmocka_unit_test(test_tcp_not_truncated),
		cmocka_unit_test(test_edns_opt_in_reply),
		cmocka_unit_test(test_no_opt_without_edns),
		cmocka_unit_test(test_badvers),
		cmocka_unit_test(test_formerr_without_question),
		cmocka_unit_test(test_notimp_opcode),
		cmocka_unit_test(test_axfr_refused_over_udp_formerr),
		cmocka_unit_test(test_meta_qtype_notimp),
		cmocka_unit_test(test_response_packet_dropped),
		/* zone_builder, each on a fresh database */
		cmocka_unit_test_setup_teardown(test_builder_minimal_zone_ok, fresh_setup, fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_cname_and_other_data, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_cname_at_apex, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_two_cnames, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_soa_off_apex, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_apex_wildcards_within_one_snapshot, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_two_soas, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_missing_soa, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_empty_zone, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_malformed_soa, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_non_glue_below_delegation,
		                                fresh_setup, fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_data_at_delegation, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_accepts_glue_and_ds, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rejects_class_mismatch, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test(test_builder_add_outside_zone),
		cmocka_unit_test(test_builder_add_rejects_bad_input),
		cmocka_unit_test_setup_teardown(test_builder_duplicates_dropped, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_rrset_ttl_lowest_with_warning, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_replace_leaves_no_old_nodes, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_failed_replace_keeps_old_zone, fresh_setup,
		                                fresh_teardown),
		cmocka_unit_test_setup_teardown(test_builder_stored_node_format, fresh_setup,
		                                fresh_teardown),
	};
	int failed = cmocka_run_group_tests_name("answer", tests, group_setup, group_teardown);
	reply_free();
	return failed;
}
