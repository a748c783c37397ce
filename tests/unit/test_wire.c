/*
 * Unit tests of src/dns/query.c (parsing queries) and src/dns/response.c
 * (building responses: compression, rollback, OPT, flags).  RRsets are built
 * by hand in the stored node format of src/db/node.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ldns/ldns.h>
#include <string.h>

#include "common/error.h"
#include "db/node.h"
#include "dns/dname.h"
#include "dns/query.h"
#include "dns/response.h"
#include "dns/wire.h"

#include "unit_util.h"

/* =================== query_parse =================== */

static query_verdict_t parse(const uint8_t *pkt, size_t len, dns_query_t *q)
{
	return query_parse(pkt, len, q);
}

static void test_query_minimal_ok(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 0x1234, DNS_FLAG_RD, "www.Example.", DNS_TYPE_AAAA, DNS_CLASS_IN);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_OK);
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.flags, DNS_FLAG_RD);
	assert_int_equal(q.opcode, DNS_OPCODE_QUERY);
	assert_true(q.has_question);
	assert_ptr_equal(q.qname, pkt + DNS_HEADER_SIZE);
	assert_int_equal(q.qname_len, 13);
	assert_int_equal(q.qtype, DNS_TYPE_AAAA);
	assert_int_equal(q.qclass, DNS_CLASS_IN);
	assert_int_equal(q.question_len, 13 + 4);
	assert_false(q.has_edns);
	assert_null(q.tsig);
}

static void test_query_short_packet_dropped(void **state)
{
	(void)state;
	uint8_t pkt[512] = { 0 };
	dns_query_t q;
	for (size_t len = 0; len < DNS_HEADER_SIZE; len++) {
		assert_int_equal(parse(pkt, len, &q), QUERY_DROP);
	}
}

static void test_query_response_dropped(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 1, DNS_FLAG_QR, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_DROP);
	/* Even a bare header with QR set, and a response with an error rcode. */
	u_header(pkt, 1, DNS_FLAG_QR | DNS_RCODE_FORMERR, 0, 0, 0, 0);
	assert_int_equal(parse(pkt, DNS_HEADER_SIZE, &q), QUERY_DROP);
}

static void test_query_qdcount_zero_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_header(pkt, 7, 0, 0, 0, 0, 0);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
	assert_false(q.has_question);
	assert_int_equal(q.id, 7);
}

static void test_query_qdcount_two_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 7, 0, "a.example.", DNS_TYPE_A, DNS_CLASS_IN);
	/* A second question. */
	len += u_name("b.example.", pkt + len);
	wire_write_u16(pkt + len, DNS_TYPE_A);
	wire_write_u16(pkt + len + 2, DNS_CLASS_IN);
	len += 4;
	wire_write_u16(pkt + 4, 2);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

static void test_query_compressed_qname_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_header(pkt, 7, 0, 1, 0, 0, 0);
	static const uint8_t qname[] = { 3, 'w', 'w', 'w', 0xC0, 12 };
	memcpy(pkt + len, qname, sizeof(qname));
	len += sizeof(qname);
	wire_write_u16(pkt + len, DNS_TYPE_A);
	wire_write_u16(pkt + len + 2, DNS_CLASS_IN);
	len += 4;
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
	assert_false(q.has_question);
}

static void test_query_truncated_question_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 7, 0, "www.example.", DNS_TYPE_A, DNS_CLASS_IN);
	dns_query_t q;
	for (size_t cut = DNS_HEADER_SIZE; cut < len; cut++) {
		assert_int_equal(parse(pkt, cut, &q), QUERY_ERROR);
		assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
	}
}

static void test_query_label_64_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_header(pkt, 7, 0, 1, 0, 0, 0);
	pkt[len++] = 64;
	memset(pkt + len, 'a', 64);
	len += 64;
	pkt[len++] = 0;
	wire_write_u16(pkt + len, DNS_TYPE_A);
	wire_write_u16(pkt + len + 2, DNS_CLASS_IN);
	len += 4;
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

static void test_query_trailing_garbage_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 7, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	pkt[len++] = 0x00;
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
	/* Also after an OPT record. */
	len = u_query(pkt, 7, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = u_add_opt(pkt, len, 1232, 0, false);
	pkt[len++] = 0xFF;
	pkt[len++] = 0xFF;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

static void test_query_unknown_opcode_notimp(void **state)
{
	(void)state;
	static const uint8_t opcodes[] = { 1, 2, 3, 5, 6, 15 };
	for (size_t i = 0; i < sizeof(opcodes); i++) {
		uint8_t pkt[512];
		size_t len = u_query(pkt, 9, (uint16_t)(opcodes[i] << 11), "example.", DNS_TYPE_A,
		                     DNS_CLASS_IN);
		dns_query_t q;
		assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
		assert_int_equal(q.rcode, DNS_RCODE_NOTIMP);
		assert_int_equal(q.opcode, opcodes[i]);
		assert_true(q.has_question);   /* echoed in the NOTIMP answer */
	}
}

static void test_query_unknown_opcode_without_question_notimp(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_header(pkt, 9, (uint16_t)(DNS_OPCODE_UPDATE << 11), 0, 0, 0, 0);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_NOTIMP);
}

static void test_query_notify_ok_with_soa_in_answer(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, (uint16_t)(DNS_OPCODE_NOTIFY << 11) | DNS_FLAG_AA, "example.",
	                     DNS_TYPE_SOA, DNS_CLASS_IN);
	/* Answer: example. SOA with the owner compressed to the qname. */
	pkt[len++] = 0xC0;
	pkt[len++] = 12;
	wire_write_u16(pkt + len, DNS_TYPE_SOA);
	wire_write_u16(pkt + len + 2, DNS_CLASS_IN);
	wire_write_u32(pkt + len + 4, 3600);
	wire_write_u16(pkt + len + 8, 22);
	len += 10;
	pkt[len++] = 0;   /* mname . */
	pkt[len++] = 0;   /* rname . */
	memset(pkt + len, 0, 20);
	len += 20;
	wire_write_u16(pkt + 6, 1);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_OK);
	assert_int_equal(q.opcode, DNS_OPCODE_NOTIFY);
	assert_int_equal(q.qtype, DNS_TYPE_SOA);
}

static void test_query_ancount_without_records_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	wire_write_u16(pkt + 6, 1);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

static void test_query_opt_parsed(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = u_add_opt(pkt, len, 4096, 0, true);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_OK);
	assert_true(q.has_edns);
	assert_int_equal(q.edns_payload, 4096);
	assert_int_equal(q.edns_version, 0);
	assert_true(q.edns_do);
}

static void test_query_opt_do_bit_clear(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = u_add_opt(pkt, len, 1232, 0, false);
	/* Every other flag bit set: only the top bit is DO. */
	wire_write_u16(pkt + len - 4, 0x7FFF);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_OK);
	assert_true(q.has_edns);
	assert_false(q.edns_do);
}

static void test_query_opt_small_payload_raised(void **state)
{
	(void)state;
	static const uint16_t sizes[][2] = {
		{ 0, 512 }, { 1, 512 }, { 511, 512 }, { 512, 512 }, { 513, 513 }, { 65535, 65535 },
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t pkt[512];
		size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
		len = u_add_opt(pkt, len, sizes[i][0], 0, false);
		dns_query_t q;
		assert_int_equal(parse(pkt, len, &q), QUERY_OK);
		assert_int_equal(q.edns_payload, sizes[i][1]);
	}
}

static void test_query_opt_version_badvers(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = u_add_opt(pkt, len, 1232, 1, false);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_BADVERS);
	assert_true(q.has_edns);      /* the BADVERS answer needs an OPT */
	assert_int_equal(q.edns_version, 1);
	assert_true(q.has_question);
}

static void test_query_two_opts_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = u_add_opt(pkt, len, 1232, 0, false);
	len = u_add_opt(pkt, len, 1232, 0, false);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

static void test_query_opt_nonroot_owner_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	pkt[len++] = 1;
	pkt[len++] = 'a';
	len = u_add_opt(pkt, len, 1232, 0, false);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);

	/* A compressed owner pointing at the qname is not the root either. */
	len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	pkt[len++] = 0xC0;
	pkt[len++] = 12;
	wire_write_u16(pkt + len, DNS_TYPE_OPT);
	wire_write_u16(pkt + len + 2, 1232);
	wire_write_u32(pkt + len + 4, 0);
	wire_write_u16(pkt + len + 8, 0);
	len += 10;
	wire_write_u16(pkt + 10, 1);
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

static void test_query_opt_truncated_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t base = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	size_t len = u_add_opt(pkt, base, 1232, 0, false);
	dns_query_t q;
	for (size_t cut = base; cut < len; cut++) {
		assert_int_equal(parse(pkt, cut, &q), QUERY_ERROR);
		assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
	}
	/* An rdlength running past the end. */
	wire_write_u16(pkt + len - 2, 4);
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

static void test_query_opt_with_options_ok(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = u_add_opt(pkt, len, 1400, 0, false);
	/* One COOKIE option with an 8-byte client cookie. */
	wire_write_u16(pkt + len - 2, 12);
	wire_write_u16(pkt + len, 10);
	wire_write_u16(pkt + len + 2, 8);
	memset(pkt + len + 4, 0x5A, 8);
	len += 12;
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_OK);
	assert_int_equal(q.edns_payload, 1400);
}

static void test_query_badvers_loses_to_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = u_add_opt(pkt, len, 1232, 1, false);
	pkt[len++] = 0;   /* trailing garbage */
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

/* Appends a TSIG-typed RR with a small opaque rdata and bumps ARCOUNT. */
static size_t add_tsig(uint8_t *pkt, size_t len)
{
	len += u_name("key.", pkt + len);
	wire_write_u16(pkt + len, DNS_TYPE_TSIG);
	wire_write_u16(pkt + len + 2, DNS_CLASS_ANY);
	wire_write_u32(pkt + len + 4, 0);
	wire_write_u16(pkt + len + 8, 4);
	memset(pkt + len + 10, 0xAA, 4);
	wire_write_u16(pkt + 10, (uint16_t)(wire_read_u16(pkt + 10) + 1));
	return len + 14;
}

static void test_query_tsig_located(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_AXFR, DNS_CLASS_IN);
	len = u_add_opt(pkt, len, 1232, 0, false);
	size_t tsig_at = len;
	len = add_tsig(pkt, len);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_OK);
	assert_ptr_equal(q.tsig, pkt + tsig_at);
	assert_true(q.has_edns);
}

static void test_query_tsig_not_last_formerr(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_query(pkt, 9, 0, "example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = add_tsig(pkt, len);
	len = u_add_opt(pkt, len, 1232, 0, false);
	dns_query_t q;
	assert_int_equal(parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

/* =================== stored RRsets built by hand =================== */

/* A node value in the stored format, built RRset by RRset. */
typedef struct {
	uint8_t buf[40000];
	size_t len;
	size_t hdr;     /* header offset of the open RRset */
	node_t node;
} nodebuf_t;

static void nb_init(nodebuf_t *nb, const char *owner)
{
	nb->buf[0] = 0;
	size_t olen = u_name(owner, nb->buf + 2);
	nb->buf[1] = (uint8_t)olen;
	nb->len = 2 + olen;
	nb->hdr = 0;
}

static void nb_rrset(nodebuf_t *nb, uint16_t type, uint32_t ttl)
{
	nb->hdr = nb->len;
	uint8_t *h = nb->buf + nb->len;
	wire_write_u16(h, type);
	wire_write_u16(h + 2, DNS_CLASS_IN);
	wire_write_u32(h + 4, ttl);
	wire_write_u16(h + 8, 0);
	wire_write_u16(h + 10, 0);
	nb->len += RRSET_HEADER_SIZE;
}

static void nb_rr(nodebuf_t *nb, const uint8_t *rdata, size_t rdlen)
{
	assert_true(nb->len + 2 + rdlen <= sizeof(nb->buf));
	wire_write_u16(nb->buf + nb->len, (uint16_t)rdlen);
	memcpy(nb->buf + nb->len + 2, rdata, rdlen);
	nb->len += 2 + rdlen;
	uint8_t *h = nb->buf + nb->hdr;
	wire_write_u16(h + 8, (uint16_t)(wire_read_u16(h + 8) + 1));
	wire_write_u16(h + 10, (uint16_t)(nb->len - nb->hdr - RRSET_HEADER_SIZE));
}

/* Adds one RR whose rdata is a single name. */
static void nb_rr_name(nodebuf_t *nb, const char *name)
{
	uint8_t rd[DNS_MAX_NAME];
	size_t n = u_name(name, rd);
	nb_rr(nb, rd, n);
}

static void nb_rr_mx(nodebuf_t *nb, uint16_t pref, const char *name)
{
	uint8_t rd[2 + DNS_MAX_NAME];
	wire_write_u16(rd, pref);
	size_t n = u_name(name, rd + 2);
	nb_rr(nb, rd, 2 + n);
}

static void nb_rr_a(nodebuf_t *nb, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t rd[4] = { a, b, c, d };
	nb_rr(nb, rd, 4);
}

/* Decodes the node and returns its RRset of type (which must exist). */
static rrset_t nb_get(nodebuf_t *nb, uint16_t type)
{
	assert_int_equal(node_decode(nb->buf, nb->len, &nb->node), CD_OK);
	rrset_t rrset;
	assert_true(node_find_rrset(&nb->node, type, &rrset));
	return rrset;
}

/* =================== checking responses =================== */

typedef struct {
	size_t owner_off;
	uint8_t owner[DNS_MAX_NAME];
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	size_t rdata_off;
	uint16_t rdlen;
	int nnames;
	size_t name_off[2];
	uint8_t names[2][DNS_MAX_NAME];
} prr_t;

typedef struct {
	uint16_t id, flags, qd, an, ns, ar;
	size_t nrr;
	prr_t rr[200];
} presp_t;

/*
 * Walks a response with dname_unpack (which rejects forward pointers and
 * loops) and checks the rdata of the compressible types consume exactly
 * their rdlength.  Also checks ldns accepts the packet.  Fails the test on
 * anything malformed.
 */
static void check_response(const uint8_t *pkt, size_t len, presp_t *p)
{
	ldns_pkt *lp = NULL;
	assert_int_equal(ldns_wire2pkt(&lp, pkt, len), LDNS_STATUS_OK);
	ldns_pkt_free(lp);

	memset(p, 0, sizeof(*p));
	assert_true(len >= DNS_HEADER_SIZE);
	p->id = wire_read_u16(pkt);
	p->flags = wire_read_u16(pkt + 2);
	p->qd = wire_read_u16(pkt + 4);
	p->an = wire_read_u16(pkt + 6);
	p->ns = wire_read_u16(pkt + 8);
	p->ar = wire_read_u16(pkt + 10);
	size_t pos = DNS_HEADER_SIZE;
	uint8_t name[DNS_MAX_NAME];
	for (unsigned i = 0; i < p->qd; i++) {
		assert_true(dname_unpack(pkt, len, &pos, name) > 0);
		assert_true(pos + 4 <= len);
		pos += 4;
	}
	unsigned total = (unsigned)p->an + p->ns + p->ar;
	assert_true(total <= sizeof(p->rr) / sizeof(p->rr[0]));
	for (unsigned i = 0; i < total; i++) {
		prr_t *rr = &p->rr[p->nrr++];
		rr->owner_off = pos;
		assert_true(dname_unpack(pkt, len, &pos, rr->owner) > 0);
		assert_true(pos + 10 <= len);
		rr->type = wire_read_u16(pkt + pos);
		rr->rclass = wire_read_u16(pkt + pos + 2);
		rr->ttl = wire_read_u32(pkt + pos + 4);
		rr->rdlen = wire_read_u16(pkt + pos + 8);
		pos += 10;
		rr->rdata_off = pos;
		assert_true(pos + rr->rdlen <= len);
		size_t rp = pos;
		size_t fixed_after = 0;
		switch (rr->type) {
		case DNS_TYPE_NS:
		case DNS_TYPE_CNAME:
		case DNS_TYPE_PTR:
			rr->nnames = 1;
			break;
		case DNS_TYPE_MX:
			rp += 2;
			rr->nnames = 1;
			break;
		case DNS_TYPE_SOA:
			rr->nnames = 2;
			fixed_after = 20;
			break;
		default:
			rr->nnames = 0;
			break;
		}
		for (int n = 0; n < rr->nnames; n++) {
			rr->name_off[n] = rp;
			assert_true(dname_unpack(pkt, pos + rr->rdlen, &rp, rr->names[n]) > 0);
		}
		if (rr->nnames > 0) {
			assert_int_equal(rp + fixed_after, pos + rr->rdlen);
		}
		pos += rr->rdlen;
	}
	assert_int_equal(pos, len);
}

static void assert_name(const uint8_t *got, const char *want)
{
	uint8_t w[DNS_MAX_NAME];
	size_t n = u_name(want, w);
	if (dname_wire_length(got, DNS_MAX_NAME) != (int)n || memcmp(got, w, n) != 0) {
		char g[DNAME_STR_MAX];
		dname_to_str(got, g, sizeof(g));
		fail_msg("name %s, want %s", g, want);
	}
}

/* A parsed query and its packet, for resp_init. */
typedef struct {
	uint8_t pkt[512];
	size_t len;
	dns_query_t q;
} query_t;

static void make_query(query_t *qq, uint16_t flags, const char *qname, uint16_t qtype, bool edns)
{
	qq->len = u_query(qq->pkt, 0xBEEF, flags, qname, qtype, DNS_CLASS_IN);
	if (edns) {
		qq->len = u_add_opt(qq->pkt, qq->len, 4096, 0, false);
	}
	assert_int_equal(query_parse(qq->pkt, qq->len, &qq->q), QUERY_OK);
}

/* Response buffer: large, so overruns past limit would show as wrong lengths, not crashes. */
static uint8_t out[65536];

/* =================== resp_init and header =================== */

static void test_resp_init_echoes_id_and_question(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, DNS_FLAG_RD, "WwW.Example.", DNS_TYPE_A, false);
	resp_t r;
	memset(out, 0xEE, sizeof(out));
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	size_t len = resp_finish(&r);
	assert_int_equal(len, DNS_HEADER_SIZE + qq.q.question_len);
	assert_int_equal(wire_read_u16(out), 0xBEEF);
	assert_int_equal(wire_read_u16(out + 2), DNS_FLAG_QR | DNS_FLAG_RD);
	assert_int_equal(wire_read_u16(out + 4), 1);
	assert_int_equal(wire_read_u16(out + 6), 0);
	assert_int_equal(wire_read_u16(out + 8), 0);
	assert_int_equal(wire_read_u16(out + 10), 0);
	/* Byte for byte, case included. */
	assert_memory_equal(out + DNS_HEADER_SIZE, qq.pkt + DNS_HEADER_SIZE, qq.q.question_len);
	presp_t p;
	check_response(out, len, &p);
}

static void test_resp_init_copies_rd_cd_only(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, DNS_FLAG_RD | DNS_FLAG_CD | DNS_FLAG_AA | DNS_FLAG_TC | DNS_FLAG_RA |
	                DNS_FLAG_AD | 0x0040 | 0x000F, "example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	assert_int_equal(wire_read_u16(out + 2), DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_CD);

	make_query(&qq, 0, "example.", DNS_TYPE_A, false);
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	assert_int_equal(wire_read_u16(out + 2), DNS_FLAG_QR);

	make_query(&qq, DNS_FLAG_CD, "example.", DNS_TYPE_A, false);
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	assert_int_equal(wire_read_u16(out + 2), DNS_FLAG_QR | DNS_FLAG_CD);
}

static void test_resp_init_copies_opcode(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, (uint16_t)(DNS_OPCODE_NOTIFY << 11), "example.", DNS_TYPE_SOA, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	uint16_t flags = wire_read_u16(out + 2);
	assert_int_equal((flags >> 11) & 0x0F, DNS_OPCODE_NOTIFY);
	assert_true(flags & DNS_FLAG_QR);
}

static void test_resp_init_without_question(void **state)
{
	(void)state;
	uint8_t pkt[64];
	size_t len = u_header(pkt, 0x4242, DNS_FLAG_RD, 0, 0, 0, 0);
	dns_query_t q;
	assert_int_equal(query_parse(pkt, len, &q), QUERY_ERROR);
	resp_t r;
	resp_init(&r, out, 512, pkt, &q);
	resp_set_rcode(&r, q.rcode);
	size_t rlen = resp_finish(&r);
	assert_int_equal(rlen, DNS_HEADER_SIZE);
	assert_int_equal(wire_read_u16(out), 0x4242);
	assert_int_equal(wire_read_u16(out + 2), DNS_FLAG_QR | DNS_FLAG_RD | DNS_RCODE_FORMERR);
	assert_int_equal(wire_read_u16(out + 4), 0);
}

static void test_resp_init_reserves_opt_room(void **state)
{
	(void)state;
	query_t qq;
	resp_t r;
	make_query(&qq, 0, "example.", DNS_TYPE_A, true);
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	assert_int_equal(r.reserve, EDNS_OPT_SIZE);
	make_query(&qq, 0, "example.", DNS_TYPE_A, false);
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	assert_int_equal(r.reserve, 0);
}

static void test_resp_init_resets_all_state(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "www.example.", DNS_TYPE_A, false);
	resp_t r;
	/* A caller's resp_t may hold anything before resp_init (a reused or stack struct). */
	memset(&r, 0xA5, sizeof(r));
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	assert_ptr_equal(r.pkt, out);
	assert_int_equal(r.limit, 512);
	assert_int_equal(r.len, DNS_HEADER_SIZE + qq.q.question_len);
	assert_int_equal(r.reserve, 0);
	assert_int_equal(r.count[SECTION_ANSWER], 0);
	assert_int_equal(r.count[SECTION_AUTHORITY], 0);
	assert_int_equal(r.count[SECTION_ADDITIONAL], 0);
	assert_int_equal(r.names_used, 2);   /* www.example. and example. of the question */
	assert_false(r.tc);
}

static void test_resp_set_rcode(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, DNS_FLAG_RD, "example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	resp_set_rcode(&r, DNS_RCODE_NXDOMAIN);
	assert_int_equal(wire_read_u16(out + 2), DNS_FLAG_QR | DNS_FLAG_RD | DNS_RCODE_NXDOMAIN);
	resp_set_rcode(&r, DNS_RCODE_REFUSED);
	assert_int_equal(wire_read_u16(out + 2), DNS_FLAG_QR | DNS_FLAG_RD | DNS_RCODE_REFUSED);
	/* BADVERS (16): only the low four bits (0) go in the header. */
	resp_set_rcode(&r, DNS_RCODE_BADVERS);
	assert_int_equal(wire_read_u16(out + 2), DNS_FLAG_QR | DNS_FLAG_RD);
}

static void test_resp_set_flag_tc_and_aa(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, DNS_FLAG_RD, "example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	resp_set_rcode(&r, DNS_RCODE_NXDOMAIN);
	resp_set_flag(&r, DNS_FLAG_TC, true);
	assert_int_equal(wire_read_u16(out + 2),
	                 DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_TC | DNS_RCODE_NXDOMAIN);
	resp_set_flag(&r, DNS_FLAG_AA, true);
	assert_int_equal(wire_read_u16(out + 2),
	                 DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_TC | DNS_FLAG_AA | DNS_RCODE_NXDOMAIN);
	resp_set_flag(&r, DNS_FLAG_TC, false);
	assert_int_equal(wire_read_u16(out + 2),
	                 DNS_FLAG_QR | DNS_FLAG_RD | DNS_FLAG_AA | DNS_RCODE_NXDOMAIN);
	resp_set_flag(&r, DNS_FLAG_AA, false);
	resp_set_flag(&r, DNS_FLAG_TC, false);   /* clearing a clear flag */
	assert_int_equal(wire_read_u16(out + 2), DNS_FLAG_QR | DNS_FLAG_RD | DNS_RCODE_NXDOMAIN);
	/* The counts are untouched. */
	assert_int_equal(wire_read_u16(out + 4), 1);
}

/* =================== resp_put_rrset =================== */

static void test_put_rrset_owner_pointer_to_qname(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "www.example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	size_t start = r.len;
	static nodebuf_t nb;
	nb_init(&nb, "www.example.");
	nb_rrset(&nb, DNS_TYPE_A, 300);
	nb_rr_a(&nb, 192, 0, 2, 1);
	nb_rr_a(&nb, 192, 0, 2, 2);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, NULL), CD_OK);
	size_t len = resp_finish(&r);
	/* Two RRs of 2 + 10 + 4 bytes. */
	assert_int_equal(len, start + 2 * 16);
	static const uint8_t rr1[] = { 0xC0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1 };
	assert_memory_equal(out + start, rr1, sizeof(rr1));
	assert_memory_equal(out + start + 16, rr1, 12);
	assert_int_equal(out[start + 16 + 15], 2);
	assert_int_equal(wire_read_u16(out + 6), 2);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 2);
	assert_name(p.rr[0].owner, "www.example.");
}

static void test_put_rrset_owner_compressed_to_question_suffix(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "www.example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	size_t start = r.len;
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_A, 60);
	nb_rr_a(&nb, 10, 0, 0, 1);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_AUTHORITY, nb.node.owner, 0, &rrset,
	                                UINT32_MAX, NULL), CD_OK);
	/* "example." sits at offset 16 inside the echoed "www.example.". */
	assert_int_equal(out[start], 0xC0);
	assert_int_equal(out[start + 1], 16);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.ns, 1);
	assert_name(p.rr[0].owner, "example.");
}

static void test_put_rrset_owner_partial_compression(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "www.example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	size_t start = r.len;
	static nodebuf_t nb;
	nb_init(&nb, "mail.example.");
	nb_rrset(&nb, DNS_TYPE_A, 60);
	nb_rr_a(&nb, 10, 0, 0, 1);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ADDITIONAL, nb.node.owner, 0, &rrset,
	                                UINT32_MAX, NULL), CD_OK);
	static const uint8_t want[] = { 4, 'm', 'a', 'i', 'l', 0xC0, 16 };
	assert_memory_equal(out + start, want, sizeof(want));
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_name(p.rr[0].owner, "mail.example.");
}

static void test_put_rrset_later_rrs_point_at_first_owner(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "www.example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	size_t start = r.len;
	static nodebuf_t nb;
	nb_init(&nb, "host.other.test.");
	nb_rrset(&nb, DNS_TYPE_A, 60);
	nb_rr_a(&nb, 10, 0, 0, 1);
	nb_rr_a(&nb, 10, 0, 0, 2);
	nb_rr_a(&nb, 10, 0, 0, 3);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, 0, &rrset, UINT32_MAX,
	                                NULL), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 3);
	/* The first owner is literal (17 bytes), the others point to it. */
	assert_int_equal(p.rr[0].owner_off, start);
	assert_int_equal(out[start], 4);
	for (int i = 1; i < 3; i++) {
		assert_int_equal(out[p.rr[i].owner_off], 0xC0);
		assert_int_equal(out[p.rr[i].owner_off + 1], start);
		assert_name(p.rr[i].owner, "host.other.test.");
	}
}

static void test_put_rrset_compression_is_case_insensitive(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "www.example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	size_t start = r.len;
	static nodebuf_t nb;
	nb_init(&nb, "WWW.EXAMPLE.");
	nb_rrset(&nb, DNS_TYPE_A, 60);
	nb_rr_a(&nb, 10, 0, 0, 1);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, 0, &rrset, UINT32_MAX,
	                                NULL), CD_OK);
	assert_int_equal(out[start], 0xC0);
	assert_int_equal(out[start + 1], 12);
}

static void test_put_rrset_ns_rdata_compressed(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_NS, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_NS, 3600);
	nb_rr_name(&nb, "ns1.example.");
	nb_rr_name(&nb, "ns2.EXAMPLE.");
	nb_rr_name(&nb, "ns.elsewhere.test.");
	rrset_t rrset = nb_get(&nb, DNS_TYPE_NS);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, NULL), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 3);
	/* "ns1" + pointer to the qname: 4 + 2 bytes. */
	assert_int_equal(p.rr[0].rdlen, 6);
	assert_name(p.rr[0].names[0], "ns1.example.");
	assert_int_equal(out[p.rr[0].rdata_off + 4], 0xC0);
	assert_int_equal(out[p.rr[0].rdata_off + 5], 12);
	assert_int_equal(p.rr[1].rdlen, 6);
	assert_name(p.rr[1].names[0], "ns2.example.");   /* compressed to the qname's case */
	/* Nothing to share but the root: written in full. */
	assert_int_equal(p.rr[2].rdlen, 19);
	assert_name(p.rr[2].names[0], "ns.elsewhere.test.");
}

static void test_put_rrset_cname_rdata_compressed(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "alias.example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "alias.example.");
	nb_rrset(&nb, DNS_TYPE_CNAME, 300);
	nb_rr_name(&nb, "www.example.");
	rrset_t rrset = nb_get(&nb, DNS_TYPE_CNAME);
	uint16_t target = 0;
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, &target), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.rr[0].rdlen, 4 + 2);   /* "www" + pointer to "example." */
	assert_name(p.rr[0].names[0], "www.example.");
	/* The target offset leads to the name written in the rdata. */
	assert_int_equal(target, p.rr[0].rdata_off);
	size_t pos = target;
	uint8_t name[DNS_MAX_NAME];
	assert_true(dname_unpack(out, len, &pos, name) > 0);
	assert_name(name, "www.example.");
}

static void test_put_rrset_cname_target_equal_to_earlier_name(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "www.example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "alias.example.");
	nb_rrset(&nb, DNS_TYPE_CNAME, 300);
	nb_rr_name(&nb, "www.example.");
	rrset_t rrset = nb_get(&nb, DNS_TYPE_CNAME);
	uint16_t target = 0;
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, 0, &rrset, UINT32_MAX,
	                                &target), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	/* The whole target is the qname: a bare pointer, and the target offset is the qname's. */
	assert_int_equal(p.rr[0].rdlen, 2);
	assert_int_equal(target, RESP_QNAME_OFFSET);
	assert_name(p.rr[0].names[0], "www.example.");
}

static void test_put_rrset_ptr_rdata_compressed(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "1.2.0.192.in-addr.arpa.", DNS_TYPE_PTR, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "1.2.0.192.in-addr.arpa.");
	nb_rrset(&nb, DNS_TYPE_PTR, 300);
	nb_rr_name(&nb, "host.2.0.192.in-addr.arpa.");
	rrset_t rrset = nb_get(&nb, DNS_TYPE_PTR);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, NULL), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.rr[0].rdlen, 5 + 2);
	assert_name(p.rr[0].names[0], "host.2.0.192.in-addr.arpa.");
}

static void test_put_rrset_mx_rdata_compressed(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_MX, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_MX, 300);
	nb_rr_mx(&nb, 10, "mx1.example.");
	nb_rr_mx(&nb, 0xABCD, "example.");
	rrset_t rrset = nb_get(&nb, DNS_TYPE_MX);
	uint16_t target = 0;
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, &target), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 2);
	assert_int_equal(wire_read_u16(out + p.rr[0].rdata_off), 10);
	assert_int_equal(p.rr[0].rdlen, 2 + 4 + 2);
	assert_name(p.rr[0].names[0], "mx1.example.");
	assert_int_equal(target, p.rr[0].rdata_off + 2);   /* the exchange, not the preference */
	assert_int_equal(wire_read_u16(out + p.rr[1].rdata_off), 0xABCD);
	assert_int_equal(p.rr[1].rdlen, 2 + 2);
	assert_name(p.rr[1].names[0], "example.");
}

static size_t soa_rdata(uint8_t *rd, const char *mname, const char *rname)
{
	size_t n = u_name(mname, rd);
	n += u_name(rname, rd + n);
	static const uint32_t f[5] = { 2024010101u, 3600, 900, 604800, 300 };
	for (int i = 0; i < 5; i++) {
		wire_write_u32(rd + n, f[i]);
		n += 4;
	}
	return n;
}

static void test_put_rrset_soa_rdata_compressed(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "nothere.example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_SOA, 3600);
	uint8_t rd[600];
	size_t rdlen = soa_rdata(rd, "ns1.example.", "hostmaster.example.");
	nb_rr(&nb, rd, rdlen);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_SOA);
	assert_int_equal(resp_put_rrset(&r, SECTION_AUTHORITY, nb.node.owner, 0, &rrset, 300,
	                                NULL), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.ns, 1);
	assert_name(p.rr[0].owner, "example.");
	assert_name(p.rr[0].names[0], "ns1.example.");
	assert_name(p.rr[0].names[1], "hostmaster.example.");
	/* "ns1"+ptr, "hostmaster"+ptr, then the 20 fixed bytes unchanged. */
	assert_int_equal(p.rr[0].rdlen, (4 + 2) + (11 + 2) + 20);
	assert_memory_equal(out + p.rr[0].rdata_off + p.rr[0].rdlen - 20, rd + rdlen - 20, 20);
	assert_int_equal(p.rr[0].ttl, 300);
}

static void test_put_rrset_srv_not_compressed(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "_sip._udp.example.", DNS_TYPE_SRV, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "_sip._udp.example.");
	nb_rrset(&nb, DNS_TYPE_SRV, 300);
	uint8_t rd[6 + DNS_MAX_NAME];
	wire_write_u16(rd, 10);
	wire_write_u16(rd + 2, 20);
	wire_write_u16(rd + 4, 5060);
	size_t rdlen = 6 + u_name("_sip._udp.example.", rd + 6);   /* same as the qname */
	nb_rr(&nb, rd, rdlen);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_SRV);
	uint16_t target = 0x7777;
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, &target), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.rr[0].rdlen, rdlen);
	assert_memory_equal(out + p.rr[0].rdata_off, rd, rdlen);
	assert_int_equal(target, 0x7777);   /* untouched: SRV is not a single-name type */
}

static void test_put_rrset_other_types_verbatim(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_ANY, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	/* TXT whose bytes happen to look like the name example. */
	nb_rrset(&nb, DNS_TYPE_TXT, 300);
	uint8_t txt[16];
	size_t tlen = u_name("example.", txt);
	nb_rr(&nb, txt, tlen);
	/* DNAME (RFC 6672 forbids compressing its target). */
	nb_rrset(&nb, DNS_TYPE_DNAME, 300);
	nb_rr_name(&nb, "example.");
	/* An unknown type (RFC 3597). */
	nb_rrset(&nb, 65280, 300);
	nb_rr_name(&nb, "example.");
	assert_int_equal(node_decode(nb.buf, nb.len, &nb.node), CD_OK);
	size_t pos = 0;
	rrset_t rrset;
	int sets = 0;
	while (node_next_rrset(&nb.node, &pos, &rrset)) {
		assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
		                                &rrset, UINT32_MAX, NULL), CD_OK);
		sets++;
	}
	assert_int_equal(sets, 3);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p.rr[i].rdlen, tlen);
		assert_memory_equal(out + p.rr[i].rdata_off, txt, tlen);
	}
}

static void test_put_rrset_srv_target_not_a_compression_target(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "_x._tcp.example.", DNS_TYPE_SRV, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t srv;
	nb_init(&srv, "_x._tcp.example.");
	nb_rrset(&srv, DNS_TYPE_SRV, 300);
	uint8_t rd[6 + DNS_MAX_NAME];
	memset(rd, 0, 6);
	size_t rdlen = 6 + u_name("target.example.", rd + 6);
	nb_rr(&srv, rd, rdlen);
	rrset_t rrset = nb_get(&srv, DNS_TYPE_SRV);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, srv.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, NULL), CD_OK);
	size_t srv_rdata = r.len - rdlen;
	/* Additional: target.example. A -- its owner must not point into the SRV rdata. */
	static nodebuf_t a;
	nb_init(&a, "target.example.");
	nb_rrset(&a, DNS_TYPE_A, 300);
	nb_rr_a(&a, 192, 0, 2, 7);
	rrset_t arr = nb_get(&a, DNS_TYPE_A);
	size_t owner_at = r.len;
	assert_int_equal(resp_put_rrset(&r, SECTION_ADDITIONAL, a.node.owner, 0, &arr, UINT32_MAX,
	                                NULL), CD_OK);
	assert_int_equal(out[owner_at], 6);   /* "target" written literally */
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_name(p.rr[1].owner, "target.example.");
	uint16_t ptr = wire_read_u16(out + owner_at + 7);
	assert_int_equal(ptr & 0xC000, 0xC000);
	assert_true((size_t)(ptr & 0x3FFF) < srv_rdata);
}

static void test_put_rrset_ttl_cap(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_A, 3600);
	nb_rr_a(&nb, 1, 2, 3, 4);
	nb_rr_a(&nb, 1, 2, 3, 5);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, 300, NULL), CD_OK);     /* lowered */
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, 86400, NULL), CD_OK);   /* not raised */
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, NULL), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 6);
	assert_int_equal(p.rr[0].ttl, 300);
	assert_int_equal(p.rr[1].ttl, 300);
	assert_int_equal(p.rr[2].ttl, 3600);
	assert_int_equal(p.rr[4].ttl, 3600);
	/* The stored value is not modified. */
	assert_int_equal(wire_read_u32(rrset.header + 4), 3600);
}

static void test_put_rrset_counts_per_section(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_A, 60);
	nb_rr_a(&nb, 1, 1, 1, 1);
	nb_rr_a(&nb, 1, 1, 1, 2);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, 12, &rrset, UINT32_MAX,
	                                NULL), CD_OK);
	assert_int_equal(resp_put_rrset(&r, SECTION_AUTHORITY, nb.node.owner, 12, &rrset,
	                                UINT32_MAX, NULL), CD_OK);
	assert_int_equal(resp_put_rrset(&r, SECTION_ADDITIONAL, nb.node.owner, 12, &rrset,
	                                UINT32_MAX, NULL), CD_OK);
	assert_int_equal(resp_put_rrset(&r, SECTION_ADDITIONAL, nb.node.owner, 12, &rrset,
	                                UINT32_MAX, NULL), CD_OK);
	size_t len = resp_finish(&r);
	assert_int_equal(len, r.len);
	assert_int_equal(wire_read_u16(out + 6), 2);
	assert_int_equal(wire_read_u16(out + 8), 2);
	assert_int_equal(wire_read_u16(out + 10), 4);
	presp_t p;
	check_response(out, len, &p);
}

/* =================== rollback on CD_ESPACE =================== */

static void test_put_rrset_rolls_back_partial_rrset(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_TXT, false);
	resp_t r;
	/* Header 12 + question 13 = 25; each TXT RR is 2 + 10 + 101 = 113 bytes. */
	size_t limit = 25 + 113 * 2 + 50;
	resp_init(&r, out, limit, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_TXT, 60);
	uint8_t txt[101];
	txt[0] = 100;
	memset(txt + 1, 'x', 100);
	for (int i = 0; i < 3; i++) {
		txt[1] = (uint8_t)('a' + i);
		nb_rr(&nb, txt, sizeof(txt));
	}
	rrset_t rrset = nb_get(&nb, DNS_TYPE_TXT);
	size_t before = r.len;
	unsigned names_before = r.names_used;
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, NULL), CD_ESPACE);
	assert_int_equal(r.len, before);
	assert_int_equal(r.names_used, names_before);
	assert_int_equal(r.count[SECTION_ANSWER], 0);
	assert_int_equal(r.count[SECTION_AUTHORITY], 0);
	assert_int_equal(r.count[SECTION_ADDITIONAL], 0);
	size_t len = resp_finish(&r);
	assert_int_equal(len, before);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 0);
}

static void test_put_rrset_espace_then_smaller_fits(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, false);
	resp_t r;
	size_t limit = 25 + 16 + 8;   /* one A RR (16 bytes) fits, two do not */
	resp_init(&r, out, limit, qq.pkt, &qq.q);
	static nodebuf_t two, one;
	nb_init(&two, "example.");
	nb_rrset(&two, DNS_TYPE_A, 60);
	nb_rr_a(&two, 1, 1, 1, 1);
	nb_rr_a(&two, 1, 1, 1, 2);
	nb_init(&one, "example.");
	nb_rrset(&one, DNS_TYPE_A, 60);
	nb_rr_a(&one, 9, 9, 9, 9);
	rrset_t r2 = nb_get(&two, DNS_TYPE_A);
	rrset_t r1 = nb_get(&one, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, two.node.owner, 12, &r2, UINT32_MAX,
	                                NULL), CD_ESPACE);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, one.node.owner, 12, &r1, UINT32_MAX,
	                                NULL), CD_OK);
	size_t len = resp_finish(&r);
	assert_true(len <= limit);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 1);
	assert_int_equal(out[p.rr[0].rdata_off], 9);
}

static void test_put_rrset_rollback_forgets_compression_names(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_NS, false);
	resp_t r;
	/* Room for the NS RRset's first RRs but not the last one (a long name). */
	size_t limit = 25 + 2 * (2 + 10 + 20) + 30;
	resp_init(&r, out, limit, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_NS, 60);
	nb_rr_name(&nb, "ns1.newzone.test.");
	nb_rr_name(&nb, "ns2.newzone.test.");
	nb_rr_name(&nb, "a-very-long-label-that-does-not-fit-in-the-limit.newzone.test.");
	rrset_t rrset = nb_get(&nb, DNS_TYPE_NS);
	size_t before = r.len;
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, RESP_QNAME_OFFSET,
	                                &rrset, UINT32_MAX, NULL), CD_ESPACE);
	assert_int_equal(r.len, before);
	/* Now a record whose owner was among the rolled-back names. */
	static nodebuf_t a;
	nb_init(&a, "ns1.newzone.test.");
	nb_rrset(&a, DNS_TYPE_A, 60);
	nb_rr_a(&a, 192, 0, 2, 1);
	rrset_t arr = nb_get(&a, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ADDITIONAL, a.node.owner, 0, &arr, UINT32_MAX,
	                                NULL), CD_OK);
	/* Written literally: any pointer would lead into bytes no longer in the packet. */
	assert_int_equal(out[before], 3);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.ar, 1);
	assert_name(p.rr[0].owner, "ns1.newzone.test.");
}

static void test_put_rrset_owner_does_not_fit(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 25 + 5, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "long-owner-name.test.");
	nb_rrset(&nb, DNS_TYPE_A, 60);
	nb_rr_a(&nb, 1, 1, 1, 1);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	unsigned names_before = r.names_used;
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, 0, &rrset, UINT32_MAX,
	                                NULL), CD_ESPACE);
	assert_int_equal(r.len, 25);
	assert_int_equal(r.names_used, names_before);
	/* A pointer owner alone fits, but not the RR header after it. */
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, 12, &rrset, UINT32_MAX,
	                                NULL), CD_ESPACE);
	assert_int_equal(r.len, 25);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
}

static void test_put_rrset_exact_fit(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 25 + 16, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_A, 60);
	nb_rr_a(&nb, 1, 1, 1, 1);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, 12, &rrset, UINT32_MAX,
	                                NULL), CD_OK);
	assert_int_equal(r.len, 25 + 16);
}

static void test_put_rrset_respects_opt_reserve(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, true);
	resp_t r;
	/* One A RR (16 bytes) fits in the limit but not once the OPT's 11 are kept free. */
	size_t limit = 25 + 16 + 5;
	resp_init(&r, out, limit, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_A, 60);
	nb_rr_a(&nb, 1, 1, 1, 1);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, 12, &rrset, UINT32_MAX,
	                                NULL), CD_ESPACE);
	resp_set_flag(&r, DNS_FLAG_TC, true);
	resp_put_opt(&r, 1232, 0, false);
	size_t len = resp_finish(&r);
	assert_true(len <= limit);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 0);
	assert_int_equal(p.ar, 1);
	assert_true(p.flags & DNS_FLAG_TC);
}

/* =================== resp_put_opt =================== */

static void test_put_opt_layout(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, true);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	size_t at = r.len;
	resp_put_opt(&r, 1232, 0, true);
	assert_int_equal(r.reserve, 0);
	assert_int_equal(r.count[SECTION_ADDITIONAL], 1);
	size_t len = resp_finish(&r);
	assert_int_equal(len, at + EDNS_OPT_SIZE);
	static const uint8_t want[] = { 0, 0, 41, 0x04, 0xD0, 0, 0, 0x80, 0, 0, 0 };
	assert_memory_equal(out + at, want, sizeof(want));
	assert_int_equal(wire_read_u16(out + 10), 1);

	ldns_pkt *lp = NULL;
	assert_int_equal(ldns_wire2pkt(&lp, out, len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_edns_udp_size(lp), 1232);
	assert_true(ldns_pkt_edns_do(lp));
	assert_int_equal(ldns_pkt_edns_version(lp), 0);
	ldns_pkt_free(lp);
}

static void test_put_opt_extended_rcode(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, true);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	resp_set_rcode(&r, DNS_RCODE_BADVERS);
	size_t at = r.len;
	resp_put_opt(&r, 4096, DNS_RCODE_BADVERS >> 4, false);
	size_t len = resp_finish(&r);
	static const uint8_t want[] = { 0, 0, 41, 0x10, 0x00, 1, 0, 0, 0, 0, 0 };
	assert_memory_equal(out + at, want, sizeof(want));
	assert_int_equal(wire_read_u16(out + 2) & 0x000F, 0);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.ar, 1);
	assert_int_equal(p.rr[0].type, DNS_TYPE_OPT);
}

static void test_put_opt_after_records(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, true);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	static nodebuf_t nb;
	nb_init(&nb, "example.");
	nb_rrset(&nb, DNS_TYPE_A, 60);
	nb_rr_a(&nb, 1, 1, 1, 1);
	rrset_t rrset = nb_get(&nb, DNS_TYPE_A);
	assert_int_equal(resp_put_rrset(&r, SECTION_ADDITIONAL, nb.node.owner, 12, &rrset,
	                                UINT32_MAX, NULL), CD_OK);
	resp_put_opt(&r, 512, 0, false);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.ar, 2);
	assert_int_equal(p.rr[1].type, DNS_TYPE_OPT);
}

/* =================== compression limits =================== */

static void test_put_rrset_no_pointers_beyond_0x4000(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_ANY, false);
	resp_t r;
	resp_init(&r, out, 65535, qq.pkt, &qq.q);
	/* About 20000 bytes of TXT first. */
	static nodebuf_t big;
	nb_init(&big, "example.");
	nb_rrset(&big, DNS_TYPE_TXT, 60);
	uint8_t txt[256];
	txt[0] = 255;
	memset(txt + 1, 't', 255);
	for (int i = 0; i < 80; i++) {
		nb_rr(&big, txt, sizeof(txt));
	}
	rrset_t bigset = nb_get(&big, DNS_TYPE_TXT);
	assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, big.node.owner, 12, &bigset,
	                                UINT32_MAX, NULL), CD_OK);
	assert_true(r.len > 0x4000);
	/* Then names first written beyond 0x4000, used twice. */
	static nodebuf_t ns;
	nb_init(&ns, "far.example.");
	nb_rrset(&ns, DNS_TYPE_NS, 60);
	nb_rr_name(&ns, "ns.far.example.");
	nb_rr_name(&ns, "ns.far.example.");
	rrset_t nsset = nb_get(&ns, DNS_TYPE_NS);
	assert_int_equal(resp_put_rrset(&r, SECTION_AUTHORITY, ns.node.owner, 0, &nsset,
	                                UINT32_MAX, NULL), CD_OK);
	assert_int_equal(resp_put_rrset(&r, SECTION_AUTHORITY, ns.node.owner, 0, &nsset,
	                                UINT32_MAX, NULL), CD_OK);
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, 80);
	assert_int_equal(p.ns, 4);
	for (int i = 0; i < 4; i++) {
		assert_name(p.rr[80 + i].owner, "far.example.");
		assert_name(p.rr[80 + i].names[0], "ns.far.example.");
	}
	/* Every pointer in the packet lands below 0x4000 and before itself. */
	for (size_t i = 0; i < p.nrr; i++) {
		size_t pos = p.rr[i].owner_off;
		while ((out[pos] & 0xC0) != 0xC0 && out[pos] != 0) {
			pos += 1 + out[pos];
		}
		if ((out[pos] & 0xC0) == 0xC0) {
			size_t target = wire_read_u16(out + pos) & 0x3FFF;
			assert_true(target < pos);
		}
	}
}

static void test_put_rrset_many_names_beyond_table(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 65535, qq.pkt, &qq.q);
	enum { N = 150 };
	static nodebuf_t nb;
	for (int i = 0; i < N; i++) {
		char name[64];
		snprintf(name, sizeof(name), "host%d.sub%d.example.", i, i % 7);
		nb_init(&nb, name);
		nb_rrset(&nb, DNS_TYPE_CNAME, 60);
		snprintf(name, sizeof(name), "t%d.sub%d.example.", i, (i + 3) % 7);
		nb_rr_name(&nb, name);
		rrset_t rrset = nb_get(&nb, DNS_TYPE_CNAME);
		assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, nb.node.owner, 0, &rrset,
		                                UINT32_MAX, NULL), CD_OK);
		assert_true(r.names_used <= RESP_COMPRESS_MAX);
	}
	size_t len = resp_finish(&r);
	presp_t p;
	check_response(out, len, &p);
	assert_int_equal(p.an, N);
	for (int i = 0; i < N; i++) {
		char name[64];
		snprintf(name, sizeof(name), "host%d.sub%d.example.", i, i % 7);
		assert_name(p.rr[i].owner, name);
		snprintf(name, sizeof(name), "t%d.sub%d.example.", i, (i + 3) % 7);
		assert_name(p.rr[i].names[0], name);
	}
}

/* =================== resp_put_name =================== */

static void test_put_name_returns_reusable_offset(void **state)
{
	(void)state;
	query_t qq;
	make_query(&qq, 0, "www.example.", DNS_TYPE_A, false);
	resp_t r;
	resp_init(&r, out, 512, qq.pkt, &qq.q);
	uint8_t name[DNS_MAX_NAME];
	u_name("www.example.", name);
	size_t before = r.len;
	assert_int_equal(resp_put_name(&r, name, r.limit), 12);   /* whole name already there */
	assert_int_equal(r.len, before + 2);
	u_name("new.example.", name);
	before = r.len;
	assert_int_equal(resp_put_name(&r, name, r.limit), (int)before);
	assert_int_equal(r.len, before + 4 + 2);
	/* Now new.example. itself is a target. */
	size_t again = r.len;
	assert_int_equal(resp_put_name(&r, name, r.limit), (int)before);
	assert_int_equal(wire_read_u16(out + again), 0xC000 | before);
	/* And does not fit when the limit says so. */
	u_name("x.y.z.", name);
	assert_int_equal(resp_put_name(&r, name, r.len + 3), CD_ESPACE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* query_parse */
		cmocka_unit_test(test_query_minimal_ok),
		cmocka_unit_test(test_query_short_packet_dropped),
		cmocka_unit_test(test_query_response_dropped),
		cmocka_unit_test(test_query_qdcount_zero_formerr),
		cmocka_unit_test(test_query_qdcount_two_formerr),
		cmocka_unit_test(test_query_compressed_qname_formerr),
		cmocka_unit_test(test_query_truncated_question_formerr),
		cmocka_unit_test(test_query_label_64_formerr),
		cmocka_unit_test(test_query_trailing_garbage_formerr),
		cmocka_unit_test(test_query_unknown_opcode_notimp),
		cmocka_unit_test(test_query_unknown_opcode_without_question_notimp),
		cmocka_unit_test(test_query_notify_ok_with_soa_in_answer),
		cmocka_unit_test(test_query_ancount_without_records_formerr),
		cmocka_unit_test(test_query_opt_parsed),
		cmocka_unit_test(test_query_opt_do_bit_clear),
		cmocka_unit_test(test_query_opt_small_payload_raised),
		cmocka_unit_test(test_query_opt_version_badvers),
		cmocka_unit_test(test_query_two_opts_formerr),
		cmocka_unit_test(test_query_opt_nonroot_owner_formerr),
		cmocka_unit_test(test_query_opt_truncated_formerr),
		cmocka_unit_test(test_query_opt_with_options_ok),
		cmocka_unit_test(test_query_badvers_loses_to_formerr),
		cmocka_unit_test(test_query_tsig_located),
		cmocka_unit_test(test_query_tsig_not_last_formerr),
		/* resp_init and the header */
		cmocka_unit_test(test_resp_init_echoes_id_and_question),
		cmocka_unit_test(test_resp_init_copies_rd_cd_only),
		cmocka_unit_test(test_resp_init_copies_opcode),
		cmocka_unit_test(test_resp_init_without_question),
		cmocka_unit_test(test_resp_init_reserves_opt_room),
		cmocka_unit_test(test_resp_init_resets_all_state),
		cmocka_unit_test(test_resp_set_rcode),
		cmocka_unit_test(test_resp_set_flag_tc_and_aa),
		/* resp_put_rrset */
		cmocka_unit_test(test_put_rrset_owner_pointer_to_qname),
		cmocka_unit_test(test_put_rrset_owner_compressed_to_question_suffix),
		cmocka_unit_test(test_put_rrset_owner_partial_compression),
		cmocka_unit_test(test_put_rrset_later_rrs_point_at_first_owner),
		cmocka_unit_test(test_put_rrset_compression_is_case_insensitive),
		cmocka_unit_test(test_put_rrset_ns_rdata_compressed),
		cmocka_unit_test(test_put_rrset_cname_rdata_compressed),
		cmocka_unit_test(test_put_rrset_cname_target_equal_to_earlier_name),
		cmocka_unit_test(test_put_rrset_ptr_rdata_compressed),
		cmocka_unit_test(test_put_rrset_mx_rdata_compressed),
		cmocka_unit_test(test_put_rrset_soa_rdata_compressed),
		cmocka_unit_test(test_put_rrset_srv_not_compressed),
		cmocka_unit_test(test_put_rrset_other_types_verbatim),
		cmocka_unit_test(test_put_rrset_srv_target_not_a_compression_target),
		cmocka_unit_test(test_put_rrset_ttl_cap),
		cmocka_unit_test(test_put_rrset_counts_per_section),
		/* rollback */
		cmocka_unit_test(test_put_rrset_rolls_back_partial_rrset),
		cmocka_unit_test(test_put_rrset_espace_then_smaller_fits),
		cmocka_unit_test(test_put_rrset_rollback_forgets_compression_names),
		cmocka_unit_test(test_put_rrset_owner_does_not_fit),
		cmocka_unit_test(test_put_rrset_exact_fit),
		cmocka_unit_test(test_put_rrset_respects_opt_reserve),
		/* OPT */
		cmocka_unit_test(test_put_opt_layout),
		cmocka_unit_test(test_put_opt_extended_rcode),
		cmocka_unit_test(test_put_opt_after_records),
		/* compression limits */
		cmocka_unit_test(test_put_rrset_no_pointers_beyond_0x4000),
		cmocka_unit_test(test_put_rrset_many_names_beyond_table),
		cmocka_unit_test(test_put_name_returns_reusable_offset),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
