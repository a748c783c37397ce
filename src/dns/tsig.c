#include "dns/tsig.h"

#include <ldns/ldns.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/error.h"
#include "dns/dname.h"
#include "dns/query.h"
#include "dns/wire.h"

/* ldns names its algorithms as absolute domain names. */
static const char *tsig_ldns_alg_name(const char *alg, char *buf, size_t len)
{
	if (strcasecmp(alg, "hmac-md5") == 0) {
		return "hmac-md5.sig-alg.reg.int.";
	}
	snprintf(buf, len, "%s.", alg);
	return buf;
}

static void copy_mac(tsig_ctx_t *tc, const ldns_rr *tsig)
{
	const ldns_rdf *mac = tsig ? ldns_rr_rdf(tsig, 3) : NULL;
	tc->mac_len = 0;
	if (mac != NULL && ldns_rdf_size(mac) <= sizeof(tc->mac)) {
		memcpy(tc->mac, ldns_rdf_data(mac), ldns_rdf_size(mac));
		tc->mac_len = ldns_rdf_size(mac);
	}
}

/*
 * True when the request's one TSIG record is its last RR (RFC 8945 5.1).
 * ldns keeps only the last of several TSIG records and leaks the others.
 */
static bool tsig_is_last(const uint8_t *wire, size_t len)
{
	dns_query_t q;
	if (query_parse(wire, len, &q) == QUERY_DROP || q.tsig == NULL) {
		return false;
	}
	size_t pos = (size_t)(q.tsig - wire);
	uint8_t name[DNS_MAX_NAME];
	if (dname_unpack(wire, len, &pos, name) < 0 || pos + 10 > len) {
		return false;
	}
	return pos + 10 + wire_read_u16(wire + pos + 8) == len;
}

int tsig_verify_request(const uint8_t *wire, size_t len, tsig_lookup_cb lookup, void *lctx,
                        tsig_ctx_t *tc, char *key_name, size_t key_name_len)
{
	memset(tc, 0, sizeof(*tc));
	key_name[0] = '\0';
	ldns_pkt *pkt = NULL;
	if (!tsig_is_last(wire, len) || ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK) {
		return TSIG_ERR_BADSIG;
	}
	int ret = TSIG_ERR_BADKEY;
	const ldns_rr *tsig = ldns_pkt_tsig(pkt);
	if (tsig == NULL || ldns_rr_rd_count(tsig) < 7) {
		goto out;
	}
	char *owner = ldns_rdf2str(ldns_rr_owner(tsig));
	char *alg = ldns_rdf2str(ldns_rr_rdf(tsig, 0));
	if (owner != NULL) {
		snprintf(key_name, key_name_len, "%s", owner);
	}
	bool found = owner != NULL && alg != NULL && lookup(lctx, owner, &tc->key) == CD_OK;
	if (found) {
		char buf[64];
		const char *want = tsig_ldns_alg_name(tc->key.algorithm, buf, sizeof(buf));
		found = strcasecmp(want, alg) == 0;
	}
	free(owner);
	free(alg);
	if (!found) {
		goto out;
	}
	ret = TSIG_ERR_BADSIG;
	if (!ldns_pkt_tsig_verify(pkt, wire, len, tc->key.name, tc->key.secret, NULL)) {
		goto out;
	}
	/* Time Signed is a 48-bit number of seconds (RFC 8945 4.2). */
	const ldns_rdf *t = ldns_rr_rdf(tsig, 1);
	if (ldns_rdf_size(t) != 6) {
		goto out;
	}
	const uint8_t *tb = ldns_rdf_data(t);
	uint64_t signed_at = 0;
	for (int i = 0; i < 6; i++) {
		signed_at = signed_at << 8 | tb[i];
	}
	uint16_t fudge = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 2));
	int64_t now = (int64_t)time(NULL);
	if (now - (int64_t)signed_at > fudge || (int64_t)signed_at - now > fudge) {
		ret = TSIG_ERR_BADTIME;
		goto out;
	}
	copy_mac(tc, tsig);
	ret = 0;
out:
	ldns_pkt_free(pkt);
	return ret;
}

static size_t sign(tsig_ctx_t *tc, uint8_t *buf, size_t len, size_t cap, bool timers_only)
{
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, buf, len) != LDNS_STATUS_OK) {
		return 0;
	}
	/* A TSIG the message carries already is replaced: ldns would sign over it. */
	ldns_rr_free(ldns_pkt_tsig(pkt));
	ldns_pkt_set_tsig(pkt, NULL);
	size_t out_len = 0;
	uint8_t *out = NULL;
	ldns_rdf *prev = NULL;
	if (tc->mac_len > 0) {
		prev = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, tc->mac_len, tc->mac);
	}
	char abuf[64];
	const char *alg = tsig_ldns_alg_name(tc->key.algorithm, abuf, sizeof(abuf));
	if (ldns_pkt_tsig_sign_next(pkt, tc->key.name, tc->key.secret, TSIG_FUDGE, alg, prev,
	                            timers_only) == LDNS_STATUS_OK &&
	    ldns_pkt2wire(&out, pkt, &out_len) == LDNS_STATUS_OK && out_len <= cap) {
		memcpy(buf, out, out_len);
		copy_mac(tc, ldns_pkt_tsig(pkt));
	} else {
		out_len = 0;
	}
	free(out);
	ldns_rdf_deep_free(prev);
	ldns_pkt_free(pkt);
	return out_len;
}

size_t tsig_sign_response(tsig_ctx_t *tc, uint8_t *buf, size_t len, size_t cap)
{
	/* RFC 8945 5.3.1: later messages of a stream cover the previous MAC and the timers. */
	size_t n = sign(tc, buf, len, cap, tc->messages > 0);
	tc->messages++;
	return n;
}

size_t tsig_sign_request(tsig_ctx_t *tc, const tsig_key_t *key, uint8_t *buf, size_t len,
                         size_t cap)
{
	memset(tc, 0, sizeof(*tc));
	tc->key = *key;
	return sign(tc, buf, len, cap, false);
}

size_t tsig_append_error(uint8_t *buf, size_t len, size_t cap, const uint8_t *pkt,
                         size_t pkt_len, const uint8_t *request, uint16_t error)
{
	size_t pos = (size_t)(request - pkt);
	uint8_t key[DNS_MAX_NAME], alg[DNS_MAX_NAME];
	int klen = dname_unpack(pkt, pkt_len, &pos, key);
	if (klen < 0 || pos + 10 > pkt_len) {
		return len;
	}
	pos += 10;   /* type, class, ttl, rdlength */
	int alen = dname_unpack(pkt, pkt_len, &pos, alg);
	if (alen < 0 || len + (size_t)klen + 10 + (size_t)alen + 16 > cap) {
		return len;
	}
	uint8_t *p = buf + len;
	memcpy(p, key, (size_t)klen);
	p += klen;
	wire_write_u16(p, DNS_TYPE_TSIG);
	wire_write_u16(p + 2, DNS_CLASS_ANY);
	wire_write_u32(p + 4, 0);
	wire_write_u16(p + 8, (uint16_t)(alen + 16));
	p += 10;
	memcpy(p, alg, (size_t)alen);
	p += alen;
	uint64_t now = (uint64_t)time(NULL);
	for (int i = 0; i < 6; i++) {
		p[i] = (uint8_t)(now >> (8 * (5 - i)));
	}
	wire_write_u16(p + 6, TSIG_FUDGE);
	wire_write_u16(p + 8, 0);                        /* MAC size: none */
	wire_write_u16(p + 10, wire_read_u16(pkt));      /* original ID */
	wire_write_u16(p + 12, error);
	wire_write_u16(p + 14, 0);                       /* other length */
	wire_write_u16(buf + 10, (uint16_t)(wire_read_u16(buf + 10) + 1));
	return (size_t)(p + 16 - buf);
}
