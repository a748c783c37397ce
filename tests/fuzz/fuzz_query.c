/*
 * fuzz_query: the query path -- query_parse (src/dns/query.c), the answer
 * algorithm (src/dns/answer.c) and the response builder (src/dns/response.c)
 * -- on arbitrary packets, against fixed zones in a real LMDB database:
 * tests/fuzz/zones/fuzz.test.zone (DNAME, CNAME chains and loops, wildcards,
 * delegations with glue, _acme-challenge aliases, big nodes) and the
 * integration suite's alpha.test, beta.test and hosted.alpha.test.
 *
 * Each input is one query, answered as over UDP (our payload 1232 and 512)
 * and as over TCP, each into a buffer of exactly the size the caller gives.
 * Beyond "no crash", every answer must:
 *   - be empty exactly when query_parse says QUERY_DROP;
 *   - fit the size limit (the requestor's EDNS payload, ours, 512 without
 *     EDNS; 65535 over TCP);
 *   - echo the ID, opcode, RD, and the question byte for byte;
 *   - be a well-formed message (tests/fuzz/dns_check.h, and ldns parses it);
 *   - carry one OPT, last, when the query had one;
 *   - over UDP without TC, answer exactly as TCP does (same rcode, AA and
 *     answer section), except for ANY (RFC 8482) and transfers.
 */
#include <ldns/ldns.h>

#include "common/error.h"
#include "db/db.h"
#include "db/reader.h"
#include "dns/answer.h"
#include "dns/query.h"
#include "dns/wire.h"
#include "zonefile/zonefile.h"

#include "dns_check.h"
#include "fuzzing.h"
#include "scratch_db.h"

typedef struct {
	fuzz_db_t store;
	uint8_t *udp_buf;
	uint8_t *udp512_buf;
	uint8_t *tcp_buf;
} fixture_t;

static fixture_t *fx;

static void fixture_free(void)
{
	if (fx == NULL) {
		return;
	}
	fuzz_db_close(&fx->store);
	free(fx->udp_buf);
	free(fx->udp512_buf);
	free(fx->tcp_buf);
	free(fx);
	fx = NULL;
}

static void import(const char *path)
{
	zonefile_import_opts_t opts = { 0 };
	zonefile_import_result_t res;
	int ret = zonefile_import(fx->store.db, path, &opts, &res);
	FUZZ_CHECK(ret == CD_OK, "cannot import the fixture zone %s: %s", path, cd_strerror(ret));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx = calloc(1, sizeof(*fx));
	FUZZ_CHECK(fx != NULL, "out of memory");
	fuzz_db_open(&fx->store, "fuzz-query", (size_t)64 << 20);
	import(FUZZ_SRCDIR "/zones/fuzz.test.zone");
	import(FUZZ_SRCDIR "/../integration/zones/alpha.test.zone");
	import(FUZZ_SRCDIR "/../integration/zones/beta.test.zone");
	import(FUZZ_SRCDIR "/../integration/zones/hosted.alpha.test.zone");
	fx->udp_buf = malloc(ANSWER_DEFAULT_UDP_PAYLOAD);
	fx->udp512_buf = malloc(512);
	fx->tcp_buf = malloc(65535);
	FUZZ_CHECK(fx->udp_buf && fx->udp512_buf && fx->tcp_buf, "out of memory");
	atexit(fixture_free);
	return 0;
}

typedef struct {
	size_t len;
	uint16_t rcode;
	dns_check_t c;
} answered_t;

static bool is_transfer_or_meta(uint16_t qtype)
{
	return qtype == DNS_TYPE_ANY || qtype == DNS_TYPE_OPT ||
	       (qtype >= 128 && qtype <= 255);
}

static void answer_and_check(const uint8_t *pkt, size_t size, const dns_query_t *q,
                             query_verdict_t verdict, bool tcp, uint16_t our_payload,
                             uint8_t *out, size_t cap, answered_t *a)
{
	answer_opts_t opts = { .tcp = tcp, .udp_payload = our_payload };
	a->len = answer_query(&fx->store.reader, pkt, q, verdict, out, cap, &opts, &a->rcode);
	db_reader_reset(&fx->store.reader);
	const char *how = tcp ? "TCP" : our_payload == 512 ? "UDP/512" : "UDP";

	if (verdict == QUERY_DROP) {
		FUZZ_CHECK(a->len == 0, "%s: a dropped query got a %zu-byte answer", how, a->len);
		return;
	}
	size_t limit = 65535;
	if (!tcp) {
		limit = q->has_edns ? q->edns_payload : 512;
		limit = limit < our_payload ? limit : our_payload;
	}
	FUZZ_CHECK(a->len >= DNS_HEADER_SIZE, "%s: answer of %zu bytes", how, a->len);
	FUZZ_CHECK(a->len <= limit, "%s: answer of %zu bytes over the limit %zu", how, a->len, limit);
	FUZZ_CHECK(dns_check_message(out, a->len, &a->c), "%s: the answer is not a well-formed "
	           "message (qtype %u, rcode %u)", how, q->qtype, a->rcode);
	FUZZ_CHECK(a->c.id == q->id, "%s: ID %u answered as %u", how, q->id, a->c.id);
	FUZZ_CHECK(a->c.flags & DNS_FLAG_QR, "%s: QR not set", how);
	FUZZ_CHECK(((a->c.flags >> 11) & 0xF) == q->opcode, "%s: opcode not echoed", how);
	FUZZ_CHECK((a->c.flags & DNS_FLAG_RD) == (q->flags & DNS_FLAG_RD), "%s: RD not echoed", how);
	FUZZ_CHECK((a->c.flags & 0xF) == (a->rcode & 0xF), "%s: header rcode %u, reported %u", how,
	           a->c.flags & 0xF, a->rcode);
	if (q->has_question) {
		FUZZ_CHECK(a->c.count[0] == 1, "%s: QDCOUNT %u", how, a->c.count[0]);
		FUZZ_CHECK(memcmp(out + DNS_HEADER_SIZE, pkt + DNS_HEADER_SIZE, q->question_len) == 0,
		           "%s: the question is not echoed byte for byte", how);
	} else {
		FUZZ_CHECK(a->c.count[0] == 0, "%s: QDCOUNT %u without a question", how, a->c.count[0]);
	}
	if (q->has_edns) {
		FUZZ_CHECK(a->c.opt_at != 0 && a->c.opt_last, "%s: an EDNS query answered without a "
		           "final OPT record", how);
		FUZZ_CHECK(out[a->c.opt_at + 5] == (uint8_t)(a->rcode >> 4), "%s: extended rcode", how);
	} else {
		FUZZ_CHECK(a->c.opt_at == 0 && a->rcode < 16, "%s: OPT or extended rcode %u without "
		           "EDNS in the query", how, a->rcode);
	}
	ldns_pkt *p = NULL;
	ldns_status s = ldns_wire2pkt(&p, out, a->len);
	FUZZ_CHECK(s == LDNS_STATUS_OK, "%s: ldns cannot parse the answer: %s", how,
	           ldns_get_errorstr_by_id(s));
	ldns_pkt_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65535) {
		return 0;   /* no transport carries more */
	}
	dns_query_t q;
	query_verdict_t verdict = query_parse(data, size, &q);
	FUZZ_CHECK(verdict == QUERY_OK || verdict == QUERY_ERROR || verdict == QUERY_DROP,
	           "verdict %d", (int)verdict);
	if (q.has_question) {
		FUZZ_CHECK(q.qname == data + DNS_HEADER_SIZE && DNS_HEADER_SIZE + q.question_len <= size &&
		           q.question_len == q.qname_len + 4, "the question lies outside the packet");
	}
	if (q.tsig != NULL) {
		FUZZ_CHECK(q.tsig >= data + DNS_HEADER_SIZE && q.tsig < data + size, "TSIG pointer "
		           "outside the packet");
	}

	answered_t tcp, udp, udp512;
	answer_and_check(data, size, &q, verdict, true, ANSWER_DEFAULT_UDP_PAYLOAD, fx->tcp_buf,
	                 65535, &tcp);
	answer_and_check(data, size, &q, verdict, false, ANSWER_DEFAULT_UDP_PAYLOAD, fx->udp_buf,
	                 ANSWER_DEFAULT_UDP_PAYLOAD, &udp);
	answer_and_check(data, size, &q, verdict, false, 512, fx->udp512_buf, 512, &udp512);

	/* Over UDP, an answer that was not truncated is the TCP answer. */
	if (verdict == QUERY_OK && q.opcode == DNS_OPCODE_QUERY && !is_transfer_or_meta(q.qtype)) {
		const answered_t *udps[2] = { &udp, &udp512 };
		const uint8_t *bufs[2] = { fx->udp_buf, fx->udp512_buf };
		for (int i = 0; i < 2; i++) {
			const answered_t *u = udps[i];
			if (u->c.flags & DNS_FLAG_TC) {
				continue;
			}
			FUZZ_CHECK(u->rcode == tcp.rcode, "UDP rcode %u, TCP rcode %u", u->rcode, tcp.rcode);
			FUZZ_CHECK((u->c.flags & DNS_FLAG_AA) == (tcp.c.flags & DNS_FLAG_AA),
			           "AA differs between UDP and TCP");
			size_t ulen = u->c.section[2] - u->c.section[1];
			size_t tlen = tcp.c.section[2] - tcp.c.section[1];
			FUZZ_CHECK(u->c.count[1] == tcp.c.count[1] && ulen == tlen &&
			           memcmp(bufs[i] + u->c.section[1], fx->tcp_buf + tcp.c.section[1],
			                  ulen) == 0,
			           "an untruncated UDP answer section differs from TCP's (%u vs %u RRs)",
			           u->c.count[1], tcp.c.count[1]);
		}
	}
	return 0;
}
