/*
 * fuzz_tsig: TSIG (src/dns/tsig.c, RFC 8945) on arbitrary messages, with
 * fixed keys: "fuzz-key." hmac-sha256 (the one tests/fuzz/make-seeds.py signs
 * the seed messages with), "sha512-key." hmac-sha512 and "md5-key." hmac-md5.
 *
 * For each input:
 *   - tsig_verify_request gives 0 or one of BADSIG, BADKEY, BADTIME, names
 *     the key in a terminated string, and keeps a MAC that fits;
 *   - a TSIG error answer (tsig_append_error) to a request with a TSIG record
 *     stays within its buffer and is a well-formed message with one more RR;
 *   - what we sign we verify: a well-formed message (any TSIG last, as in
 *     every message we build) re-signed with fuzz-key now
 *     (tsig_sign_request) passes tsig_verify_request, and a response signed
 *     over that request's MAC (tsig_sign_response) passes ldns's check.
 */
#include <ldns/ldns.h>
#include <strings.h>

#include "common/error.h"
#include "dns/query.h"
#include "dns/response.h"
#include "dns/tsig.h"
#include "dns/wire.h"

#include "dns_check.h"
#include "fuzzing.h"

static const tsig_key_t keys[] = {
	{ "fuzz-key.", "hmac-sha256", "Y2VydGRucyBmdXp6IHRzaWcga2V5LCAzMiBieXRlcyE=" },
	{ "sha512-key.", "hmac-sha512", "Y2VydGRucyBmdXp6IHRzaWcga2V5LCAzMiBieXRlcyE=" },
	{ "md5-key.", "hmac-md5", "Y2VydGRucyBmdXp6IHRzaWcga2V5LCAzMiBieXRlcyE=" },
};

static int lookup(void *ctx, const char *name, tsig_key_t *key)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcasecmp(name, keys[i].name) == 0) {
			*key = keys[i];
			return CD_OK;
		}
	}
	return CD_ENOTFOUND;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static uint8_t buf[65535];
static uint8_t resp_buf[65535];

static void check_error_answer(const uint8_t *data, size_t size)
{
	dns_query_t q;
	if (query_parse(data, size, &q) == QUERY_DROP || q.tsig == NULL) {
		return;
	}
	uint8_t *out = resp_buf;
	size_t cap = 512;
	resp_t r;
	resp_init(&r, out, cap, data, &q);
	size_t len = resp_finish(&r);
	size_t n = tsig_append_error(out, len, cap, data, size, q.tsig, TSIG_ERR_BADSIG);
	FUZZ_CHECK(n >= len && n <= cap, "error answer of %zu bytes (was %zu, cap %zu)", n, len, cap);
	dns_check_t c;
	FUZZ_CHECK(dns_check_message(out, n, &c), "the TSIG error answer is malformed");
	FUZZ_CHECK(n == len || c.count[3] == 1, "ARCOUNT %u after appending the TSIG", c.count[3]);
}

static void check_sign_round_trip(const uint8_t *data, size_t size)
{
	if (size < DNS_HEADER_SIZE || size > sizeof(buf) - TSIG_RR_MAX) {
		return;
	}
	/* Only messages ldns writes back byte for byte (signing goes through ldns;
	 * what we sign is always a message we built, which it does write back):
	 * well formed, any TSIG last. */
	dns_check_t c;
	if (!dns_check_message(data, size, &c) || (c.tsig_count > 0 && !(c.tsig_count == 1 &&
	                                                                 c.tsig_last))) {
		return;
	}
	ldns_pkt *probe = NULL;
	if (ldns_wire2pkt(&probe, data, size) != LDNS_STATUS_OK) {
		return;
	}
	uint8_t *again = NULL;
	size_t again_len = 0;
	bool faithful = ldns_pkt2wire(&again, probe, &again_len) == LDNS_STATUS_OK &&
	                again_len == size && memcmp(again, data, size) == 0;
	free(again);
	ldns_pkt_free(probe);
	if (!faithful) {
		return;
	}
	memcpy(buf, data, size);
	tsig_ctx_t signer;
	size_t signed_len = tsig_sign_request(&signer, &keys[0], buf, size, sizeof(buf));
	if (signed_len == 0) {
		return;   /* ldns could not write it back (e.g. over 65535 bytes with the TSIG) */
	}
	dns_query_t sq;
	if (query_parse(buf, signed_len, &sq) == QUERY_DROP || sq.tsig == NULL) {
		return;   /* refused before its TSIG (e.g. a malformed COOKIE): never verified */
	}
	tsig_ctx_t tc;
	char key_name[1100];
	int ret = tsig_verify_request(buf, signed_len, lookup, NULL, &tc, key_name, sizeof(key_name));
	FUZZ_CHECK(ret == 0, "a message we signed does not verify: TSIG error %d (key %s)", ret,
	           key_name);
	FUZZ_CHECK(tc.mac_len == signer.mac_len && memcmp(tc.mac, signer.mac, tc.mac_len) == 0,
	           "the verified request MAC differs from the one signed");

	/* A response to it, signed over the request MAC, as xfr_out does. */
	dns_query_t q;
	if (query_parse(buf, signed_len, &q) == QUERY_DROP) {
		return;
	}
	resp_t r;
	resp_init(&r, resp_buf, 512, buf, &q);
	size_t len = resp_finish(&r);
	size_t rlen = tsig_sign_response(&tc, resp_buf, len, sizeof(resp_buf));
	FUZZ_CHECK(rlen > len, "cannot sign a %zu-byte response", len);
	ldns_pkt *p = NULL;
	FUZZ_CHECK(ldns_wire2pkt(&p, resp_buf, rlen) == LDNS_STATUS_OK, "signed response unparsable");
	ldns_rdf *mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, signer.mac_len, signer.mac);
	FUZZ_CHECK(mac != NULL, "out of memory");
	bool ok = ldns_pkt_tsig_verify(p, resp_buf, rlen, keys[0].name, keys[0].secret, mac);
	FUZZ_CHECK(ok, "the signed response does not verify over the request MAC");
	ldns_rdf_deep_free(mac);
	ldns_pkt_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65535) {
		return 0;
	}
	tsig_ctx_t tc;
	char key_name[1100];
	int ret = tsig_verify_request(data, size, lookup, NULL, &tc, key_name, sizeof(key_name));
	FUZZ_CHECK(ret == 0 || ret == TSIG_ERR_BADSIG || ret == TSIG_ERR_BADKEY ||
	           ret == TSIG_ERR_BADTIME, "tsig_verify_request returned %d", ret);
	FUZZ_CHECK(memchr(key_name, '\0', sizeof(key_name)) != NULL, "key name not terminated");
	FUZZ_CHECK(tc.mac_len <= sizeof(tc.mac), "MAC of %zu bytes kept", tc.mac_len);
	if (ret == 0) {
		FUZZ_CHECK(tc.mac_len > 0, "verified without a MAC");
	}
	check_error_answer(data, size);
	check_sign_round_trip(data, size);
	return 0;
}
