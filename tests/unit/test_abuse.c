/*
 * Unit tests of the abuse defences: SipHash-2-4 (src/common/siphash.c), DNS
 * cookies (src/dns/cookie.c and the COOKIE option in src/dns/query.c),
 * response rate limiting (src/server/rrl.c) and the per-source TCP
 * connection count (src/server/conn_limit.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/siphash.h"
#include "dns/cookie.h"
#include "dns/query.h"
#include "dns/response.h"
#include "dns/wire.h"
#include "server/conn_limit.h"
#include "server/rrl.h"

#include "unit_util.h"

/* Decodes hex text into bytes; fails the test on bad input.  Returns the byte count. */
static size_t hex(const char *text, uint8_t *out)
{
	size_t n = strlen(text);
	assert_int_equal(n % 2, 0);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		assert_int_equal(sscanf(text + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n / 2;
}

static struct sockaddr_storage addr4(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	in->sin_family = AF_INET;
	in->sin_port = htons(5353);
	assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage addr6(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
	in->sin6_family = AF_INET6;
	in->sin6_port = htons(5353);
	assert_int_equal(inet_pton(AF_INET6, text, &in->sin6_addr), 1);
	return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* =================== SipHash-2-4 =================== */

/* The reference implementation's vectors: key 00..0f, message 00..(i-1), output bytes. */
static const uint8_t sip_vectors[64][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 }, { 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 },
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d }, { 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 },
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf }, { 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 },
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb }, { 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab },
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 }, { 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e },
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a }, { 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 },
	{ 0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75 }, { 0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14 },
	{ 0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7 }, { 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 },
	{ 0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f }, { 0x94, 0x47, 0xbe, 0x2c, 0xf5, 0xe9, 0x9a, 0x69 },
	{ 0x9c, 0xd3, 0x8d, 0x96, 0xf0, 0xb3, 0xc1, 0x4b }, { 0xbd, 0x61, 0x79, 0xa7, 0x1d, 0xc9, 0x6d, 0xbb },
	{ 0x98, 0xee, 0xa2, 0x1a, 0xf2, 0x5c, 0xd6, 0xbe }, { 0xc7, 0x67, 0x3b, 0x2e, 0xb0, 0xcb, 0xf2, 0xd0 },
	{ 0x88, 0x3e, 0xa3, 0xe3, 0x95, 0x67, 0x53, 0x93 }, { 0xc8, 0xce, 0x5c, 0xcd, 0x8c, 0x03, 0x0c, 0xa8 },
	{ 0x94, 0xaf, 0x49, 0xf6, 0xc6, 0x50, 0xad, 0xb8 }, { 0xea, 0xb8, 0x85, 0x8a, 0xde, 0x92, 0xe1, 0xbc },
	{ 0xf3, 0x15, 0xbb, 0x5b, 0xb8, 0x35, 0xd8, 0x17 }, { 0xad, 0xcf, 0x6b, 0x07, 0x63, 0x61, 0x2e, 0x2f },
	{ 0xa5, 0xc9, 0x1d, 0xa7, 0xac, 0xaa, 0x4d, 0xde }, { 0x71, 0x65, 0x95, 0x87, 0x66, 0x50, 0xa2, 0xa6 },
	{ 0x28, 0xef, 0x49, 0x5c, 0x53, 0xa3, 0x87, 0xad }, { 0x42, 0xc3, 0x41, 0xd8, 0xfa, 0x92, 0xd8, 0x32 },
	{ 0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71 }, { 0xe3, 0x78, 0x59, 0xf9, 0x46, 0x23, 0xf3, 0xa7 },
	{ 0x38, 0x12, 0x05, 0xbb, 0x1a, 0xb0, 0xe0, 0x12 }, { 0xae, 0x97, 0xa1, 0x0f, 0xd4, 0x34, 0xe0, 0x15 },
	{ 0xb4, 0xa3, 0x15, 0x08, 0xbe, 0xff, 0x4d, 0x31 }, { 0x81, 0x39, 0x62, 0x29, 0xf0, 0x90, 0x79, 0x02 },
	{ 0x4d, 0x0c, 0xf4, 0x9e, 0xe5, 0xd4, 0xdc, 0xca }, { 0x5c, 0x73, 0x33, 0x6a, 0x76, 0xd8, 0xbf, 0x9a },
	{ 0xd0, 0xa7, 0x04, 0x53, 0x6b, 0xa9, 0x3e, 0x0e }, { 0x92, 0x59, 0x58, 0xfc, 0xd6, 0x42, 0x0c, 0xad },
	{ 0xa9, 0x15, 0xc2, 0x9b, 0xc8, 0x06, 0x73, 0x18 }, { 0x95, 0x2b, 0x79, 0xf3, 0xbc, 0x0a, 0xa6, 0xd4 },
	{ 0xf2, 0x1d, 0xf2, 0xe4, 0x1d, 0x45, 0x35, 0xf9 }, { 0x87, 0x57, 0x75, 0x19, 0x04, 0x8f, 0x53, 0xa9 },
	{ 0x10, 0xa5, 0x6c, 0xf5, 0xdf, 0xcd, 0x9a, 0xdb }, { 0xeb, 0x75, 0x09, 0x5c, 0xcd, 0x98, 0x6c, 0xd0 },
	{ 0x51, 0xa9, 0xcb, 0x9e, 0xcb, 0xa3, 0x12, 0xe6 }, { 0x96, 0xaf, 0xad, 0xfc, 0x2c, 0xe6, 0x66, 0xc7 },
	{ 0x72, 0xfe, 0x52, 0x97, 0x5a, 0x43, 0x64, 0xee }, { 0x5a, 0x16, 0x45, 0xb2, 0x76, 0xd5, 0x92, 0xa1 },
	{ 0xb2, 0x74, 0xcb, 0x8e, 0xbf, 0x87, 0x87, 0x0a }, { 0x6f, 0x9b, 0xb4, 0x20, 0x3d, 0xe7, 0xb3, 0x81 },
	{ 0xea, 0xec, 0xb2, 0xa3, 0x0b, 0x22, 0xa8, 0x7f }, { 0x99, 0x24, 0xa4, 0x3c, 0xc1, 0x31, 0x57, 0x24 },
	{ 0xbd, 0x83, 0x8d, 0x3a, 0xaf, 0xbf, 0x8d, 0xb7 }, { 0x0b, 0x1a, 0x2a, 0x32, 0x65, 0xd5, 0x1a, 0xea },
	{ 0x13, 0x50, 0x79, 0xa3, 0x23, 0x1c, 0xe6, 0x60 }, { 0x93, 0x2b, 0x28, 0x46, 0xe4, 0xd7, 0x06, 0x66 },
	{ 0xe1, 0x91, 0x5f, 0x5c, 0xb1, 0xec, 0xa4, 0x6c }, { 0xf3, 0x25, 0x96, 0x5c, 0xa1, 0x6d, 0x62, 0x9f },
	{ 0x57, 0x5f, 0xf2, 0x8e, 0x60, 0x38, 0x1b, 0xe5 }, { 0x72, 0x45, 0x06, 0xeb, 0x4c, 0x32, 0x8a, 0x95 },
};

static void test_siphash_matches_all_64_reference_vectors(void **state)
{
	(void)state;
	uint8_t key[16], msg[64];
	for (int i = 0; i < 16; i++) {
		key[i] = (uint8_t)i;
	}
	for (int i = 0; i < 64; i++) {
		msg[i] = (uint8_t)i;
	}
	for (size_t len = 0; len < 64; len++) {
		uint8_t out[8];
		siphash_put(out, siphash24(key, msg, len));
		assert_memory_equal(out, sip_vectors[len], 8);
	}
}

static void test_siphash_does_not_depend_on_alignment(void **state)
{
	(void)state;
	uint8_t key[16], buf[80];
	for (int i = 0; i < 16; i++) {
		key[i] = (uint8_t)i;
	}
	for (size_t shift = 1; shift < 8; shift++) {
		for (int i = 0; i < 63; i++) {
			buf[shift + (size_t)i] = (uint8_t)i;
		}
		uint8_t out[8];
		siphash_put(out, siphash24(key, buf + shift, 63));
		assert_memory_equal(out, sip_vectors[63], 8);
	}
}

/* =================== cookies =================== */

/* RFC 9018 Appendix A: the secrets, client cookies and addresses of the examples. */
#define A1_SECRET "e5e973e5a6b2a43f48e7dc849e37bfcf"
#define A4_OLD_SECRET "dd3bdf9344b678b185a6f5cb60fca715"
#define A4_NEW_SECRET "445536bcd2513298075a5d379663c962"

static void expect_server_cookie(const char *secret_hex, const char *client_hex,
                                 const struct sockaddr_storage *peer, uint32_t at,
                                 const char *want_hex)
{
	uint8_t secret[16], client[8], want[16], got[16];
	hex(secret_hex, secret);
	hex(client_hex, client);
	hex(want_hex, want);
	const uint8_t *addr;
	size_t addr_len;
	if (peer->ss_family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
		addr_len = 4;
	} else {
		addr = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
		addr_len = 16;
	}
	cookie_make(secret, client, addr, addr_len, at, got);
	assert_memory_equal(got, want, 16);
}

static void test_cookie_make_gives_the_rfc9018_example_cookies(void **state)
{
	(void)state;
	struct sockaddr_storage a1 = addr4("198.51.100.100");
	struct sockaddr_storage a3 = addr4("203.0.113.203");
	struct sockaddr_storage a4 = addr6("2001:db8:220:1:59de:d0f4:8769:82b8");
	expect_server_cookie(A1_SECRET, "2464c4abcf10c957", &a1, 1559731985,
	                     "010000005cf79f111f8130c3eee29480");
	expect_server_cookie(A1_SECRET, "2464c4abcf10c957", &a1, 1559734385,
	                     "010000005cf7a871d4a564a1442aca77");
	expect_server_cookie(A1_SECRET, "fc93fc62807ddb86", &a3, 1559734700,
	                     "010000005cf7a9acf73a7810aca2381e");
	expect_server_cookie(A4_NEW_SECRET, "22681ab97d52c298", &a4, 1559741961,
	                     "010000005cf7c609a6bb79d16625507a");
}

/* A query for www.example. A with an OPT record holding a COOKIE option of the given bytes. */
static size_t cookie_query(uint8_t *buf, const uint8_t *cookie, size_t cookie_len)
{
	size_t len = u_query(buf, 0x4242, 0, "www.example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = u_add_opt(buf, len, 1232, 0, false);
	uint8_t *rdlen = buf + len - 2;
	wire_write_u16(buf + len, EDNS_OPTION_COOKIE);
	wire_write_u16(buf + len + 2, (uint16_t)cookie_len);
	memcpy(buf + len + 4, cookie, cookie_len);
	wire_write_u16(rdlen, (uint16_t)(4 + cookie_len));
	return len + 4 + cookie_len;
}

static cookie_secrets_t secrets_of(const char *first, const char *second)
{
	cookie_secrets_t s;
	memset(&s, 0, sizeof(s));
	hex(first, s.secret[0]);
	s.count = 1;
	if (second != NULL) {
		hex(second, s.secret[1]);
		s.count = 2;
	}
	return s;
}

/* Parses a query carrying cookie_hex and judges it from peer at now. */
static cookie_verdict_t judge(const cookie_secrets_t *s, const char *cookie_hex,
                              const struct sockaddr_storage *peer, uint32_t now, cookie_t *out)
{
	uint8_t cookie[40], pkt[512];
	size_t n = hex(cookie_hex, cookie);
	size_t len = cookie_query(pkt, cookie, n);
	dns_query_t q;
	assert_int_equal(query_parse(pkt, len, &q), QUERY_OK);
	assert_non_null(q.cookie);
	assert_int_equal(q.cookie_len, n);
	cookie_check(s, &q, SA(*peer), now, out);
	return out->verdict;
}

static void test_cookie_client_only_gets_a_fresh_server_cookie(void **state)
{
	(void)state;
	cookie_secrets_t s = secrets_of(A1_SECRET, NULL);
	struct sockaddr_storage a1 = addr4("198.51.100.100");
	cookie_t c;
	assert_int_equal(judge(&s, "2464c4abcf10c957", &a1, 1559731985, &c), COOKIE_CLIENT_ONLY);
	uint8_t want[16];
	hex("010000005cf79f111f8130c3eee29480", want);
	assert_memory_equal(c.server, want, 16);
}

static void test_cookie_valid_and_recent_is_echoed_unchanged(void **state)
{
	(void)state;
	cookie_secrets_t s = secrets_of(A1_SECRET, NULL);
	struct sockaddr_storage a1 = addr4("198.51.100.100");
	cookie_t c;
	assert_int_equal(judge(&s, "2464c4abcf10c957010000005cf79f111f8130c3eee29480", &a1,
	                       1559731985 + 600, &c), COOKIE_VALID);
	uint8_t want[16];
	hex("010000005cf79f111f8130c3eee29480", want);
	assert_memory_equal(c.server, want, 16);
}

static void test_cookie_older_than_half_an_hour_is_valid_and_renewed(void **state)
{
	(void)state;
	cookie_secrets_t s = secrets_of(A1_SECRET, NULL);
	struct sockaddr_storage a1 = addr4("198.51.100.100");
	cookie_t c;
	/* RFC 9018 A.2: 40 minutes later. */
	assert_int_equal(judge(&s, "2464c4abcf10c957010000005cf79f111f8130c3eee29480", &a1,
	                       1559734385, &c), COOKIE_VALID);
	uint8_t want[16];
	hex("010000005cf7a871d4a564a1442aca77", want);
	assert_memory_equal(c.server, want, 16);
}

static void test_cookie_accepted_up_to_an_hour_old_and_five_minutes_ahead(void **state)
{
	(void)state;
	cookie_secrets_t s = secrets_of(A1_SECRET, NULL);
	struct sockaddr_storage a1 = addr4("198.51.100.100");
	const char *ck = "2464c4abcf10c957010000005cf79f111f8130c3eee29480";
	uint32_t made = 1559731985;
	cookie_t c;
	assert_int_equal(judge(&s, ck, &a1, made + 3600, &c), COOKIE_VALID);
	assert_int_equal(judge(&s, ck, &a1, made + 3601, &c), COOKIE_BAD);
	assert_int_equal(judge(&s, ck, &a1, made - 300, &c), COOKIE_VALID);
	assert_int_equal(judge(&s, ck, &a1, made - 301, &c), COOKIE_BAD);
	/* A cookie from our future is never echoed: the client gets one made now. */
	assert_int_equal(judge(&s, ck, &a1, made - 10, &c), COOKIE_VALID);
	assert_int_equal(wire_read_u32(c.server + 4), made - 10);
}

static void test_cookie_from_another_address_or_altered_is_bad(void **state)
{
	(void)state;
	cookie_secrets_t s = secrets_of(A1_SECRET, NULL);
	struct sockaddr_storage other = addr4("198.51.100.101");
	struct sockaddr_storage a1 = addr4("198.51.100.100");
	cookie_t c;
	assert_int_equal(judge(&s, "2464c4abcf10c957010000005cf79f111f8130c3eee29480", &other,
	                       1559731985, &c), COOKIE_BAD);
	/* A bad cookie is replaced by a good one for this client. */
	assert_int_equal(c.server[0], 1);
	assert_int_equal(wire_read_u32(c.server + 4), 1559731985);
	/* Another client cookie, another hash, another timestamp, another version. */
	assert_int_equal(judge(&s, "2464c4abcf10c958010000005cf79f111f8130c3eee29480", &a1,
	                       1559731985, &c), COOKIE_BAD);
	assert_int_equal(judge(&s, "2464c4abcf10c957010000005cf79f111f8130c3eee29481", &a1,
	                       1559731985, &c), COOKIE_BAD);
	assert_int_equal(judge(&s, "2464c4abcf10c957010000005cf79f121f8130c3eee29480", &a1,
	                       1559731985, &c), COOKIE_BAD);
	assert_int_equal(judge(&s, "2464c4abcf10c957020000005cf79f111f8130c3eee29480", &a1,
	                       1559731985, &c), COOKIE_BAD);
	/* Server cookies of other lengths are someone else's format. */
	assert_int_equal(judge(&s, "2464c4abcf10c957010000005cf79f11", &a1, 1559731985, &c),
	                 COOKIE_BAD);
}

static void test_cookie_with_reserved_bytes_set_verifies_and_is_renewed(void **state)
{
	(void)state;
	cookie_secrets_t s = secrets_of(A1_SECRET, NULL);
	struct sockaddr_storage a3 = addr4("203.0.113.203");
	cookie_t c;
	/* RFC 9018 A.3: the hash covers the reserved bytes as sent. */
	assert_int_equal(judge(&s, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", &a3,
	                       1559727985 + 60, &c), COOKIE_VALID);
	assert_memory_equal(c.server, "\x01\x00\x00\x00", 4);   /* ours have them zero */
}

static void test_cookie_made_with_a_retired_secret_is_valid_and_renewed(void **state)
{
	(void)state;
	/* RFC 9018 A.4: the new secret makes cookies, the old one is still accepted. */
	cookie_secrets_t s = secrets_of(A4_NEW_SECRET, A4_OLD_SECRET);
	struct sockaddr_storage a4 = addr6("2001:db8:220:1:59de:d0f4:8769:82b8");
	cookie_t c;
	assert_int_equal(judge(&s, "22681ab97d52c298010000005cf7c57926556bd0934c72f8", &a4,
	                       1559741961, &c), COOKIE_VALID);
	uint8_t want[16];
	hex("010000005cf7c609a6bb79d16625507a", want);
	assert_memory_equal(c.server, want, 16);
	cookie_secrets_t only_new = secrets_of(A4_NEW_SECRET, NULL);
	assert_int_equal(judge(&only_new, "22681ab97d52c298010000005cf7c57926556bd0934c72f8", &a4,
	                       1559741961, &c), COOKIE_BAD);
}

static void test_query_cookie_option_lengths_other_than_8_or_16_to_40_are_formerr(void **state)
{
	(void)state;
	uint8_t cookie[48], pkt[512];
	memset(cookie, 0x5a, sizeof(cookie));
	for (size_t n = 0; n <= 44; n++) {
		size_t len = cookie_query(pkt, cookie, n);
		dns_query_t q;
		query_verdict_t v = query_parse(pkt, len, &q);
		if (n == 8 || (n >= 16 && n <= 40)) {
			assert_int_equal(v, QUERY_OK);
			assert_int_equal(q.cookie_len, n);
		} else {
			assert_int_equal(v, QUERY_ERROR);
			assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
			assert_true(q.has_edns);   /* so the FORMERR carries an OPT */
		}
	}
}

static void test_query_option_running_past_the_opt_record_is_formerr(void **state)
{
	(void)state;
	uint8_t cookie[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t pkt[512];
	size_t len = cookie_query(pkt, cookie, 8);
	wire_write_u16(pkt + len - 8 - 2, 9);   /* the option claims one byte more than there is */
	dns_query_t q;
	assert_int_equal(query_parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
	/* Other options are skipped, not mistaken for a cookie. */
	len = u_query(pkt, 1, 0, "www.example.", DNS_TYPE_A, DNS_CLASS_IN);
	len = u_add_opt(pkt, len, 1232, 0, false);
	static const uint8_t opts[] = { 0, 3, 0, 0, 0, 12, 0, 2, 0, 0, 0, 10, 0, 8, 9, 9, 9, 9, 9, 9, 9, 9 };
	memcpy(pkt + len, opts, sizeof(opts));
	wire_write_u16(pkt + len - 2, sizeof(opts));
	assert_int_equal(query_parse(pkt, len + sizeof(opts), &q), QUERY_OK);
	assert_int_equal(q.cookie_len, 8);
	assert_memory_equal(q.cookie, "\x09\x09\x09\x09\x09\x09\x09\x09", 8);
}

static void test_query_without_question_but_with_cookie_is_answered_noerror(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t len = u_header(pkt, 7, 0, 0, 0, 0, 0);
	len = u_add_opt(pkt, len, 1232, 0, false);
	wire_write_u16(pkt + len - 2, 12);
	wire_write_u16(pkt + len, EDNS_OPTION_COOKIE);
	wire_write_u16(pkt + len + 2, 8);
	memset(pkt + len + 4, 0x11, 8);
	len += 12;
	dns_query_t q;
	assert_int_equal(query_parse(pkt, len, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_NOERROR);
	assert_false(q.has_question);
	/* Without a cookie, no question stays FORMERR. */
	size_t plain = u_add_opt(pkt, u_header(pkt, 7, 0, 0, 0, 0, 0), 1232, 0, false);
	assert_int_equal(query_parse(pkt, plain, &q), QUERY_ERROR);
	assert_int_equal(q.rcode, DNS_RCODE_FORMERR);
}

/* Builds the answer the response builder makes for q: header, question, empty OPT. */
static size_t bare_answer(const uint8_t *query, const dns_query_t *q, uint8_t *out, size_t limit)
{
	resp_t r;
	resp_init(&r, out, limit, query, q);
	resp_set_rcode(&r, q->rcode);
	resp_put_opt(&r, 1232, (uint8_t)(q->rcode >> 4), false);
	return resp_finish(&r);
}

static void test_cookie_put_appends_client_and_server_cookie_to_the_opt(void **state)
{
	(void)state;
	cookie_secrets_t s = secrets_of(A1_SECRET, NULL);
	struct sockaddr_storage a1 = addr4("198.51.100.100");
	uint8_t cookie[8], pkt[512], out[512];
	hex("2464c4abcf10c957", cookie);
	size_t qlen = cookie_query(pkt, cookie, 8);
	dns_query_t q;
	assert_int_equal(query_parse(pkt, qlen, &q), QUERY_OK);
	cookie_t c;
	cookie_check(&s, &q, SA(a1), 1559731985, &c);
	size_t len = bare_answer(pkt, &q, out, sizeof(out));
	size_t with = cookie_put(&q, &c, out, len, sizeof(out));
	assert_int_equal(with, len + EDNS_COOKIE_ANSWER_SIZE);
	assert_int_equal(wire_read_u16(out + len - 2), 28);               /* OPT rdlength */
	assert_int_equal(wire_read_u16(out + len), EDNS_OPTION_COOKIE);
	assert_int_equal(wire_read_u16(out + len + 2), 24);
	uint8_t want[24];
	hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480", want);
	assert_memory_equal(out + len + 4, want, 24);
	/* No room left: the answer goes out without the cookie rather than overflowing. */
	assert_int_equal(cookie_put(&q, &c, out, len, len + 27), len);
}

static void test_response_builder_keeps_room_for_the_cookie(void **state)
{
	(void)state;
	uint8_t cookie[8] = { 0 }, pkt[512];
	size_t qlen = cookie_query(pkt, cookie, 8);
	dns_query_t q;
	assert_int_equal(query_parse(pkt, qlen, &q), QUERY_OK);
	resp_t r;
	uint8_t out[512];
	resp_init(&r, out, 512, pkt, &q);
	assert_int_equal(r.reserve, EDNS_OPT_SIZE + EDNS_COOKIE_ANSWER_SIZE);
}

static void test_cookie_query_without_question_and_bad_cookie_is_badcookie(void **state)
{
	(void)state;
	cookie_secrets_t s = secrets_of(A1_SECRET, NULL);
	struct sockaddr_storage a1 = addr4("198.51.100.100");
	uint8_t pkt[512], out[512], ck[24];
	const char *texts[] = { "2464c4abcf10c957", "2464c4abcf10c957010000005cf79f111f8130c3eee29480",
	                        "2464c4abcf10c957010000005cf79f111f8130c3eee29481" };
	const uint16_t rcodes[] = { DNS_RCODE_NOERROR, DNS_RCODE_NOERROR, DNS_RCODE_BADCOOKIE };
	for (size_t i = 0; i < 3; i++) {
		size_t n = hex(texts[i], ck);
		size_t len = u_add_opt(pkt, u_header(pkt, 7, 0, 0, 0, 0, 0), 1232, 0, false);
		wire_write_u16(pkt + len - 2, (uint16_t)(4 + n));
		wire_write_u16(pkt + len, EDNS_OPTION_COOKIE);
		wire_write_u16(pkt + len + 2, (uint16_t)n);
		memcpy(pkt + len + 4, ck, n);
		dns_query_t q;
		assert_int_equal(query_parse(pkt, len + 4 + n, &q), QUERY_ERROR);
		cookie_t c;
		cookie_check(&s, &q, SA(a1), 1559731985 + 5, &c);
		size_t alen = cookie_put(&q, &c, out, bare_answer(pkt, &q, out, sizeof(out)), sizeof(out));
		uint16_t rcode = (uint16_t)((out[alen - 39 + 5] << 4) | (out[3] & 0x0F));
		assert_int_equal(rcode, rcodes[i]);
		assert_int_equal(wire_read_u16(out + 4), 0);   /* still no question */
	}
}

/* Writes text into a fresh temporary file; returns its path (static buffer). */
static const char *temp_file(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/cdns-cookie-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_cookie_secret_file_is_read_and_checked(void **state)
{
	(void)state;
	cookie_secrets_t s;
	char err[512];
	const char *p = temp_file("# rolled over on 2024-05-01\n" A4_NEW_SECRET "\n\n  " A4_OLD_SECRET "  \n");
	assert_int_equal(cookie_secrets_load(&s, p, err, sizeof(err)), CD_OK);
	assert_int_equal(s.count, 2);
	uint8_t want[16];
	hex(A4_NEW_SECRET, want);
	assert_memory_equal(s.secret[0], want, 16);
	unlink(p);

	p = temp_file(A4_NEW_SECRET "\n" "e5e973e5a6b2a43f48e7dc849e37bfc\n");   /* 31 digits */
	assert_int_equal(cookie_secrets_load(&s, p, err, sizeof(err)), CD_ESYNTAX);
	assert_non_null(strstr(err, p));
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(s.count, 0);
	unlink(p);

	p = temp_file("# nothing yet\n");
	assert_int_equal(cookie_secrets_load(&s, p, err, sizeof(err)), CD_ESYNTAX);
	unlink(p);

	p = temp_file(A1_SECRET "\n" A1_SECRET "\n" A1_SECRET "\n" A1_SECRET "\n" A1_SECRET "\n");
	assert_int_equal(cookie_secrets_load(&s, p, err, sizeof(err)), CD_ESYNTAX);
	assert_non_null(strstr(err, "line 5"));
	unlink(p);

	assert_int_equal(cookie_secrets_load(&s, "/nonexistent/cookie.secret", err, sizeof(err)), CD_EIO);
	assert_non_null(strstr(err, "/nonexistent/cookie.secret"));
}

static void test_cookie_secrets_generated_at_start_differ(void **state)
{
	(void)state;
	cookie_secrets_t a, b;
	assert_int_equal(cookie_secrets_generate(&a), CD_OK);
	assert_int_equal(cookie_secrets_generate(&b), CD_OK);
	assert_int_equal(a.count, 1);
	assert_memory_not_equal(a.secret[0], b.secret[0], 16);
}

/* =================== response rate limiting =================== */

typedef struct {
	uint8_t query[512];
	size_t query_len;
	dns_query_t q;
	uint8_t resp[512];
	size_t resp_len;
	uint16_t rcode;
} rrl_case_t;

/*
 * A query for qname/qtype and its answer: rcode, AA, ancount answer records,
 * and, when auth_owner is given, one authority record owned by it.
 */
static void make_case(rrl_case_t *c, const char *qname, uint16_t qtype, uint16_t rcode, bool aa,
                      unsigned ancount, const char *auth_owner)
{
	c->query_len = u_query(c->query, 0x1111, 0, qname, qtype, DNS_CLASS_IN);
	assert_int_equal(query_parse(c->query, c->query_len, &c->q), QUERY_OK);
	memcpy(c->resp, c->query, c->query_len);
	uint16_t flags = (uint16_t)(DNS_FLAG_QR | (aa ? DNS_FLAG_AA : 0) | rcode);
	u_header(c->resp, 0x1111, flags, 1, (uint16_t)ancount, auth_owner ? 1 : 0, 0);
	size_t len = c->query_len;
	for (unsigned i = 0; i < ancount; i++) {
		static const uint8_t rr[] = { 0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };
		memcpy(c->resp + len, rr, sizeof(rr));
		len += sizeof(rr);
	}
	if (auth_owner != NULL) {
		len += u_name(auth_owner, c->resp + len);
		static const uint8_t tail[] = { 0, 6, 0, 1, 0, 0, 0, 60, 0, 0 };
		memcpy(c->resp + len, tail, sizeof(tail));
		len += sizeof(tail);
	}
	c->resp_len = len;
	c->rcode = rcode;
}

static rrl_table_t *make_rrl(unsigned rate, unsigned slip, unsigned workers)
{
	rrl_config_t cfg = { .rate = rate, .slip = slip, .ipv4_prefix = 24, .ipv6_prefix = 56,
	                     .workers = workers };
	rrl_table_t *t = NULL;
	assert_int_equal(rrl_create(&cfg, &t), CD_OK);
	return t;
}

static rrl_action_t charge(rrl_table_t *t, const rrl_case_t *c, const struct sockaddr_storage *peer,
                           uint64_t now)
{
	return rrl_charge(t, SA(*peer), &c->q, c->resp, c->resp_len, c->rcode, NULL, now);
}

/* How many of n identical answers at one instant are sent. */
static unsigned sent_of(rrl_table_t *t, const rrl_case_t *c, const struct sockaddr_storage *peer,
                        uint64_t now, unsigned n)
{
	unsigned sent = 0;
	for (unsigned i = 0; i < n; i++) {
		sent += charge(t, c, peer, now) == RRL_SEND;
	}
	return sent;
}

static void test_rrl_sends_one_second_of_the_rate_then_drops_and_slips_alternately(void **state)
{
	(void)state;
	rrl_table_t *t = make_rrl(10, 2, 1);
	rrl_case_t c;
	make_case(&c, "www.example.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	struct sockaddr_storage peer = addr4("192.0.2.7");
	for (int i = 0; i < 10; i++) {
		assert_int_equal(charge(t, &c, &peer, 5000), RRL_SEND);
	}
	for (int i = 0; i < 6; i++) {
		assert_int_equal(charge(t, &c, &peer, 5000), i % 2 == 0 ? RRL_DROP : RRL_SLIP);
	}
	rrl_destroy(t);
}

static void test_rrl_refills_at_the_rate_up_to_one_second(void **state)
{
	(void)state;
	rrl_table_t *t = make_rrl(10, 0, 1);
	rrl_case_t c;
	make_case(&c, "www.example.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	struct sockaddr_storage peer = addr4("192.0.2.7");
	assert_int_equal(sent_of(t, &c, &peer, 1000, 50), 10);
	assert_int_equal(sent_of(t, &c, &peer, 1099, 5), 0);    /* 99 ms: not yet one answer */
	assert_int_equal(sent_of(t, &c, &peer, 1100, 5), 1);    /* 100 ms: one answer at 10/s */
	assert_int_equal(sent_of(t, &c, &peer, 1400, 5), 3);
	assert_int_equal(sent_of(t, &c, &peer, 60000, 50), 10); /* a long pause: one second's worth */
	rrl_destroy(t);
}

static void test_rrl_slip_0_drops_all_and_slip_1_truncates_all(void **state)
{
	(void)state;
	rrl_case_t c;
	make_case(&c, "www.example.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	struct sockaddr_storage peer = addr4("192.0.2.7");
	for (unsigned slip = 0; slip <= 1; slip++) {
		rrl_table_t *t = make_rrl(5, slip, 1);
		assert_int_equal(sent_of(t, &c, &peer, 0, 5), 5);
		for (int i = 0; i < 10; i++) {
			assert_int_equal(charge(t, &c, &peer, 0), slip == 0 ? RRL_DROP : RRL_SLIP);
		}
		rrl_destroy(t);
	}
}

static void test_rrl_buckets_are_per_network_of_the_configured_size(void **state)
{
	(void)state;
	rrl_table_t *t = make_rrl(5, 0, 1);
	rrl_case_t c;
	make_case(&c, "www.example.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	struct sockaddr_storage a = addr4("192.0.2.7"), same24 = addr4("192.0.2.200");
	struct sockaddr_storage other24 = addr4("192.0.3.7");
	assert_int_equal(sent_of(t, &c, &a, 0, 5), 5);
	assert_int_equal(sent_of(t, &c, &same24, 0, 5), 0);
	assert_int_equal(sent_of(t, &c, &other24, 0, 10), 5);
	struct sockaddr_storage v6 = addr6("2001:db8:1:100::1"), same56 = addr6("2001:db8:1:1ff::9");
	struct sockaddr_storage other56 = addr6("2001:db8:1:200::1");
	assert_int_equal(sent_of(t, &c, &v6, 0, 5), 5);
	assert_int_equal(sent_of(t, &c, &same56, 0, 5), 0);
	assert_int_equal(sent_of(t, &c, &other56, 0, 10), 5);
	rrl_destroy(t);
}

static void test_rrl_positive_answers_count_per_name_and_type_case_insensitively(void **state)
{
	(void)state;
	rrl_table_t *t = make_rrl(5, 0, 1);
	struct sockaddr_storage peer = addr4("192.0.2.7");
	rrl_case_t www, WWW, www_aaaa, mail;
	make_case(&www, "www.example.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	make_case(&WWW, "wWw.EXAMPLE.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	make_case(&www_aaaa, "www.example.", DNS_TYPE_AAAA, DNS_RCODE_NOERROR, true, 1, NULL);
	make_case(&mail, "mail.example.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	assert_int_equal(sent_of(t, &www, &peer, 0, 5), 5);
	assert_int_equal(sent_of(t, &WWW, &peer, 0, 5), 0);       /* 0x20 case games share it */
	assert_int_equal(sent_of(t, &www_aaaa, &peer, 0, 10), 5);
	assert_int_equal(sent_of(t, &mail, &peer, 0, 10), 5);
	rrl_destroy(t);
}

static void test_rrl_nxdomain_counts_per_zone_whatever_the_name(void **state)
{
	(void)state;
	rrl_table_t *t = make_rrl(5, 0, 1);
	struct sockaddr_storage peer = addr4("192.0.2.7");
	char name[64];
	unsigned sent = 0;
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "rnd%d.example.", i);
		rrl_case_t c;
		make_case(&c, name, DNS_TYPE_A, DNS_RCODE_NXDOMAIN, true, 0, "Example.");
		sent += charge(t, &c, &peer, 0) == RRL_SEND;
	}
	assert_int_equal(sent, 5);
	rrl_case_t other;
	make_case(&other, "rnd.other.", DNS_TYPE_A, DNS_RCODE_NXDOMAIN, true, 0, "other.");
	assert_int_equal(sent_of(t, &other, &peer, 0, 10), 5);
	rrl_destroy(t);
}

static void test_rrl_referrals_count_per_delegation(void **state)
{
	(void)state;
	rrl_table_t *t = make_rrl(5, 0, 1);
	struct sockaddr_storage peer = addr4("192.0.2.7");
	unsigned sent = 0;
	char name[64];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "host%d.sub.example.", i);
		rrl_case_t c;
		make_case(&c, name, DNS_TYPE_A, DNS_RCODE_NOERROR, false, 0, "sub.example.");
		sent += charge(t, &c, &peer, 0) == RRL_SEND;
	}
	assert_int_equal(sent, 5);
	rrl_destroy(t);
}

static void test_rrl_errors_count_together_per_network(void **state)
{
	(void)state;
	rrl_table_t *t = make_rrl(5, 0, 1);
	struct sockaddr_storage peer = addr4("192.0.2.7");
	static const uint16_t rcodes[] = { DNS_RCODE_REFUSED, DNS_RCODE_FORMERR, DNS_RCODE_SERVFAIL,
	                                   DNS_RCODE_NOTIMP };
	unsigned sent = 0;
	char name[64];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "victim%d.example.", i);
		rrl_case_t c;
		make_case(&c, name, DNS_TYPE_A, rcodes[i % 4], false, 0, NULL);
		sent += charge(t, &c, &peer, 0) == RRL_SEND;
	}
	assert_int_equal(sent, 5);
	/* ... but apart from the answers to good queries. */
	rrl_case_t ok;
	make_case(&ok, "www.example.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	assert_int_equal(sent_of(t, &ok, &peer, 0, 10), 5);
	rrl_destroy(t);
}

static void test_rrl_wildcard_answers_count_per_wildcard(void **state)
{
	(void)state;
	rrl_table_t *t = make_rrl(5, 0, 1);
	struct sockaddr_storage peer = addr4("192.0.2.7");
	uint8_t wild[64];
	u_name("*.wild.example.", wild);
	unsigned sent = 0;
	char name[64];
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "r%d.wild.example.", i);
		rrl_case_t c;
		make_case(&c, name, DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
		sent += rrl_charge(t, SA(peer), &c.q, c.resp, c.resp_len, c.rcode, wild, 0) == RRL_SEND;
	}
	assert_int_equal(sent, 5);
	rrl_destroy(t);
}

static void test_rrl_rate_is_shared_by_the_workers(void **state)
{
	(void)state;
	rrl_table_t *t = make_rrl(10, 0, 2);
	rrl_case_t c;
	make_case(&c, "www.example.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	struct sockaddr_storage peer = addr4("192.0.2.7");
	assert_int_equal(sent_of(t, &c, &peer, 0, 50), 5);
	assert_int_equal(sent_of(t, &c, &peer, 200, 50), 1);   /* 5 per second per worker */
	rrl_destroy(t);
	/* A rate below one per worker still lets one answer through now and then. */
	t = make_rrl(1, 0, 4);
	assert_int_equal(sent_of(t, &c, &peer, 0, 10), 1);
	assert_int_equal(sent_of(t, &c, &peer, 1000, 10), 0);
	assert_int_equal(sent_of(t, &c, &peer, 4000, 10), 1);
	rrl_destroy(t);
}

static void test_rrl_many_networks_do_not_share_buckets(void **state)
{
	(void)state;
	/* More networks than one set holds: each still gets its own full bucket. */
	rrl_table_t *t = make_rrl(3, 0, 1);
	rrl_case_t c;
	make_case(&c, "www.example.", DNS_TYPE_A, DNS_RCODE_NOERROR, true, 1, NULL);
	char text[32];
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 1000; i++) {
			snprintf(text, sizeof(text), "10.%d.%d.1", i / 256, i % 256);
			struct sockaddr_storage peer = addr4(text);
			assert_int_equal(sent_of(t, &c, &peer, 0, 5), round == 0 ? 3 : 0);
		}
	}
	rrl_destroy(t);
}

static void test_rrl_slip_keeps_question_and_opt_and_sets_tc(void **state)
{
	(void)state;
	uint8_t ck[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t pkt[512], out[512];
	size_t qlen = cookie_query(pkt, ck, 8);
	dns_query_t q;
	assert_int_equal(query_parse(pkt, qlen, &q), QUERY_OK);
	for (int badcookie = 0; badcookie <= 1; badcookie++) {
		/* An answer with one A record in answer, then OPT + cookie. */
		resp_t r;
		resp_init(&r, out, sizeof(out), pkt, &q);
		resp_set_flag(&r, DNS_FLAG_AA, true);
		uint8_t node_rrset[] = { 0, 1, 0, 1, 0, 0, 0, 60, 0, 1, 0, 6, 0, 4, 192, 0, 2, 1 };
		rrset_t rrset = { .type = 1, .rclass = 1, .ttl = 60, .count = 1, .header = node_rrset,
		                  .rdata = node_rrset + 8 + 4, .rdata_len = 6 };
		assert_int_equal(resp_put_rrset(&r, SECTION_ANSWER, q.qname, RESP_QNAME_OFFSET, &rrset,
		                                UINT32_MAX, NULL), CD_OK);
		resp_put_opt(&r, 1232, 0, false);
		size_t len = resp_finish(&r);
		cookie_secrets_t s = secrets_of(A1_SECRET, NULL);
		struct sockaddr_storage peer = addr4("192.0.2.7");
		cookie_t c;
		cookie_check(&s, &q, SA(peer), 1000, &c);
		len = cookie_put(&q, &c, out, len, sizeof(out));
		size_t slipped = rrl_slip(out, len, badcookie);
		assert_int_equal(slipped, DNS_HEADER_SIZE + q.question_len + EDNS_OPT_SIZE + 28);
		assert_int_equal(wire_read_u16(out + 4), 1);
		assert_int_equal(wire_read_u16(out + 6), 0);
		assert_int_equal(wire_read_u16(out + 8), 0);
		assert_int_equal(wire_read_u16(out + 10), 1);
		assert_memory_equal(out + DNS_HEADER_SIZE, pkt + DNS_HEADER_SIZE, q.question_len);
		const uint8_t *opt = out + DNS_HEADER_SIZE + q.question_len;
		assert_int_equal(wire_read_u16(opt + 1), DNS_TYPE_OPT);
		assert_memory_equal(opt + EDNS_OPT_SIZE + 4, ck, 8);
		uint16_t rcode = (uint16_t)((opt[5] << 4) | (out[3] & 0x0F));
		if (badcookie) {
			assert_int_equal(rcode, DNS_RCODE_BADCOOKIE);
			assert_false(out[2] & (DNS_FLAG_TC >> 8));
		} else {
			assert_int_equal(rcode, DNS_RCODE_NOERROR);
			assert_true(out[2] & (DNS_FLAG_TC >> 8));
		}
	}
}

static void test_rrl_slip_without_edns_is_header_and_question(void **state)
{
	(void)state;
	rrl_case_t c;
	make_case(&c, "www.example.", DNS_TYPE_A, DNS_RCODE_NXDOMAIN, true, 2, "example.");
	size_t len = rrl_slip(c.resp, c.resp_len, false);
	assert_int_equal(len, c.query_len);
	assert_int_equal(wire_read_u16(c.resp + 6) + wire_read_u16(c.resp + 8) +
	                 wire_read_u16(c.resp + 10), 0);
	assert_true(c.resp[2] & (DNS_FLAG_TC >> 8));
	assert_int_equal(c.resp[3] & 0x0F, DNS_RCODE_NXDOMAIN);
}

/* =================== TCP connections per source =================== */

static void test_conn_limit_caps_each_source_and_frees_slots_on_release(void **state)
{
	(void)state;
	conn_limit_t *l = NULL;
	assert_int_equal(conn_limit_create(3, 100, &l), CD_OK);
	struct sockaddr_storage a = addr4("192.0.2.7"), b = addr4("192.0.2.8");
	for (int i = 0; i < 3; i++) {
		assert_true(conn_limit_acquire(l, SA(a)));
	}
	assert_false(conn_limit_acquire(l, SA(a)));
	assert_true(conn_limit_acquire(l, SA(b)));   /* another address: its own count */
	conn_limit_release(l, SA(a));
	assert_true(conn_limit_acquire(l, SA(a)));
	assert_false(conn_limit_acquire(l, SA(a)));
	/* One IPv6 /64 is one source. */
	struct sockaddr_storage v6a = addr6("2001:db8::1"), v6b = addr6("2001:db8::ffff:2");
	struct sockaddr_storage v6c = addr6("2001:db8:0:1::1");
	assert_true(conn_limit_acquire(l, SA(v6a)));
	assert_true(conn_limit_acquire(l, SA(v6b)));
	assert_true(conn_limit_acquire(l, SA(v6a)));
	assert_false(conn_limit_acquire(l, SA(v6b)));
	assert_true(conn_limit_acquire(l, SA(v6c)));
	conn_limit_destroy(l);
}

static void test_conn_limit_matches_a_simple_count_under_churn(void **state)
{
	(void)state;
	/* A small table and many sources: probing, collisions and removals get exercised. */
	enum { SOURCES = 40, PER_SOURCE = 2 };
	conn_limit_t *l = NULL;
	assert_int_equal(conn_limit_create(PER_SOURCE, 8, &l), CD_OK);   /* 64 slots */
	unsigned held[SOURCES] = { 0 };
	unsigned total = 0;
	srand(7);
	char text[32];
	for (int step = 0; step < 20000; step++) {
		int i = rand() % SOURCES;
		snprintf(text, sizeof(text), "198.51.100.%d", i);
		struct sockaddr_storage peer = addr4(text);
		if (rand() % 2 && held[i] > 0) {
			conn_limit_release(l, SA(peer));
			held[i]--;
			total--;
		} else if (total < SOURCES * PER_SOURCE / 2) {
			bool ok = conn_limit_acquire(l, SA(peer));
			assert_int_equal(ok, held[i] < PER_SOURCE);
			held[i] += ok;
			total += ok;
		}
	}
	conn_limit_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_matches_all_64_reference_vectors),
		cmocka_unit_test(test_siphash_does_not_depend_on_alignment),
		cmocka_unit_test(test_cookie_make_gives_the_rfc9018_example_cookies),
		cmocka_unit_test(test_cookie_client_only_gets_a_fresh_server_cookie),
		cmocka_unit_test(test_cookie_valid_and_recent_is_echoed_unchanged),
		cmocka_unit_test(test_cookie_older_than_half_an_hour_is_valid_and_renewed),
		cmocka_unit_test(test_cookie_accepted_up_to_an_hour_old_and_five_minutes_ahead),
		cmocka_unit_test(test_cookie_from_another_address_or_altered_is_bad),
		cmocka_unit_test(test_cookie_with_reserved_bytes_set_verifies_and_is_renewed),
		cmocka_unit_test(test_cookie_made_with_a_retired_secret_is_valid_and_renewed),
		cmocka_unit_test(test_query_cookie_option_lengths_other_than_8_or_16_to_40_are_formerr),
		cmocka_unit_test(test_query_option_running_past_the_opt_record_is_formerr),
		cmocka_unit_test(test_query_without_question_but_with_cookie_is_answered_noerror),
		cmocka_unit_test(test_cookie_put_appends_client_and_server_cookie_to_the_opt),
		cmocka_unit_test(test_response_builder_keeps_room_for_the_cookie),
		cmocka_unit_test(test_cookie_query_without_question_and_bad_cookie_is_badcookie),
		cmocka_unit_test(test_cookie_secret_file_is_read_and_checked),
		cmocka_unit_test(test_cookie_secrets_generated_at_start_differ),
		cmocka_unit_test(test_rrl_sends_one_second_of_the_rate_then_drops_and_slips_alternately),
		cmocka_unit_test(test_rrl_refills_at_the_rate_up_to_one_second),
		cmocka_unit_test(test_rrl_slip_0_drops_all_and_slip_1_truncates_all),
		cmocka_unit_test(test_rrl_buckets_are_per_network_of_the_configured_size),
		cmocka_unit_test(test_rrl_positive_answers_count_per_name_and_type_case_insensitively),
		cmocka_unit_test(test_rrl_nxdomain_counts_per_zone_whatever_the_name),
		cmocka_unit_test(test_rrl_referrals_count_per_delegation),
		cmocka_unit_test(test_rrl_errors_count_together_per_network),
		cmocka_unit_test(test_rrl_wildcard_answers_count_per_wildcard),
		cmocka_unit_test(test_rrl_rate_is_shared_by_the_workers),
		cmocka_unit_test(test_rrl_many_networks_do_not_share_buckets),
		cmocka_unit_test(test_rrl_slip_keeps_question_and_opt_and_sets_tc),
		cmocka_unit_test(test_rrl_slip_without_edns_is_header_and_question),
		cmocka_unit_test(test_conn_limit_caps_each_source_and_frees_slots_on_release),
		cmocka_unit_test(test_conn_limit_matches_a_simple_count_under_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
