#include "acme/caa.h"

#include <ldns/ldns.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "acme/dns01.h"
#include "common/error.h"
#include "db/node.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "zonefile/zonefile.h"

#define CAA_MAX 32

typedef struct {
	unsigned flags;
	char tag[32];
	char value[512];
} caa_rr_t;

/* CAA rdata: flags, tag length, tag, value. */
static bool parse_caa(const uint8_t *rd, size_t len, caa_rr_t *out)
{
	if (len < 2 || rd[1] == 0 || (size_t)rd[1] + 2 > len || rd[1] >= sizeof(out->tag)) {
		return false;
	}
	out->flags = rd[0];
	memcpy(out->tag, rd + 2, rd[1]);
	out->tag[rd[1]] = '\0';
	size_t vlen = len - 2 - rd[1];
	if (vlen >= sizeof(out->value)) {
		vlen = sizeof(out->value) - 1;
	}
	memcpy(out->value, rd + 2 + rd[1], vlen);
	out->value[vlen] = '\0';
	return true;
}

/*
 * The CAA RRset at name: from our own data when the name is ours (following
 * our CNAMEs), else from the resolver.  Returns the count, or -1 when the
 * look-up failed.
 */
static int lookup_caa(db_t *db, ldns_resolver *res, const uint8_t *name, caa_rr_t *out)
{
	MDB_txn *txn;
	if (db_read_begin(db, &txn) == CD_OK) {
		zone_record_t zone;
		node_t node;
		bool found;
		if (zone_store_lookup(db, txn, name, &zone, &node, &found) == CD_OK &&
		    !(found && (node.flags & (NODE_DELEG | NODE_OCCLUDED)))) {
			/* Ours (not delegated away): what we hold is the truth. */
			int n = 0;
			rrset_t caa;
			if (found && node_find_rrset(&node, DNS_TYPE_CAA, &caa)) {
				size_t pos = 0;
				const uint8_t *rd;
				uint16_t rdlen;
				while (n < CAA_MAX && rrset_next_rr(&caa, &pos, &rd, &rdlen)) {
					n += parse_caa(rd, rdlen, &out[n]);
				}
			}
			mdb_txn_abort(txn);
			return n;
		}
		mdb_txn_abort(txn);
	}
	if (res == NULL) {
		return -1;
	}
	ldns_rdf *qname = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME,
	                                        (size_t)dname_wire_length(name, DNS_MAX_NAME), name);
	ldns_pkt *pkt = qname ? ldns_resolver_query(res, qname, LDNS_RR_TYPE_CAA, LDNS_RR_CLASS_IN,
	                                            LDNS_RD) : NULL;
	ldns_rdf_deep_free(qname);
	if (pkt == NULL || (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR &&
	                    ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NXDOMAIN)) {
		ldns_pkt_free(pkt);
		return -1;
	}
	int n = 0;
	ldns_rr_list *answer = ldns_pkt_answer(pkt);
	ldns_buffer *buf = ldns_buffer_new(1024);
	for (size_t i = 0; buf && i < ldns_rr_list_rr_count(answer) && n < CAA_MAX; i++) {
		ldns_rr *rr = ldns_rr_list_rr(answer, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CAA) {
			continue;   /* the CNAMEs the resolver followed */
		}
		ldns_buffer_clear(buf);
		if (ldns_rr_rdata2buffer_wire(buf, rr) == LDNS_STATUS_OK) {
			n += parse_caa(ldns_buffer_begin(buf), ldns_buffer_position(buf), &out[n]);
		}
	}
	ldns_buffer_free(buf);
	ldns_pkt_free(pkt);
	return n;
}

static void trim(char *s)
{
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
		s[--len] = '\0';
	}
	size_t lead = strspn(s, " \t");
	memmove(s, s + lead, strlen(s + lead) + 1);
}

/* Does one issue/issuewild value allow this CA and account (RFC 8659 4.2, RFC 8657)? */
static bool value_allows(const char *value, const char *const *ids, size_t n, const char *account)
{
	char copy[512];
	snprintf(copy, sizeof(copy), "%s", value);
	char *save = NULL;
	char *domain = strtok_r(copy, ";", &save);
	if (domain == NULL || copy[0] == ';') {
		return false;   /* ";" alone: nobody may issue */
	}
	trim(domain);
	bool ours = false;
	for (size_t i = 0; i < n; i++) {
		ours |= strcasecmp(domain, ids[i]) == 0;
	}
	if (!ours) {
		return false;
	}
	for (char *param = strtok_r(NULL, ";", &save); param != NULL; param = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(param, '=');
		if (eq == NULL) {
			continue;
		}
		*eq = '\0';
		char *key = param, *val = eq + 1;
		trim(key);
		trim(val);
		if (strcmp(key, "accounturi") == 0 && account != NULL && strcmp(val, account) != 0) {
			return false;
		}
		if (strcmp(key, "validationmethods") == 0) {
			bool dns01 = false;
			char *s2 = NULL;
			for (char *m = strtok_r(val, ",", &s2); m != NULL; m = strtok_r(NULL, ",", &s2)) {
				trim(m);
				dns01 |= strcmp(m, "dns-01") == 0;
			}
			if (!dns01) {
				return false;
			}
		}
	}
	return true;
}

void caa_check(db_t *db, const char *resolver, const char *identifier, const char *const *ca_ids,
               size_t n, const char *account_url, caa_result_t *res)
{
	memset(res, 0, sizeof(*res));
	bool wildcard = strncmp(identifier, "*.", 2) == 0;
	const char *base = wildcard ? identifier + 2 : identifier;
	uint8_t name[DNS_MAX_NAME];
	if (zonefile_parse_name(base, name) < 0) {
		res->verdict = CAA_UNKNOWN;
		snprintf(res->detail, sizeof(res->detail), "'%s' is not a domain name", identifier);
		return;
	}
	ldns_resolver *r = dns01_make_resolver(resolver);
	caa_rr_t set[CAA_MAX];
	int count = 0;
	const uint8_t *at = name;
	/* Climb toward the TLD until a non-empty CAA RRset: the relevant one (RFC 8659 3). */
	while (dname_label_count(at) >= 1) {
		count = lookup_caa(db, r, at, set);
		if (count != 0) {
			break;
		}
		at = dname_skip_labels(at, 1);
	}
	ldns_resolver_deep_free(r);
	char at_text[DNAME_STR_MAX];
	dname_to_str(at, at_text, sizeof(at_text));
	if (count < 0) {
		res->verdict = CAA_UNKNOWN;
		snprintf(res->detail, sizeof(res->detail), "the CAA records of %s cannot be looked up; "
		         "the CA will check them itself", at_text);
		return;
	}
	if (count == 0) {
		res->verdict = CAA_ALLOWED;
		snprintf(res->detail, sizeof(res->detail), "no CAA records for %s or above: any CA may issue",
		         base);
		return;
	}
	snprintf(res->owner, sizeof(res->owner), "%s", at_text);
	const char *tag = "issue";
	for (int i = 0; wildcard && i < count; i++) {
		if (strcasecmp(set[i].tag, "issuewild") == 0) {
			tag = "issuewild";   /* issuewild, when present, alone governs wildcards */
		}
	}
	bool any = false, allowed = false;
	for (int i = 0; i < count; i++) {
		bool known = strcasecmp(set[i].tag, "issue") == 0 || strcasecmp(set[i].tag, "issuewild") == 0 ||
		             strcasecmp(set[i].tag, "iodef") == 0 || strcasecmp(set[i].tag, "contactemail") == 0 ||
		             strcasecmp(set[i].tag, "contactphone") == 0;
		if ((set[i].flags & 0x80) && !known) {
			res->verdict = CAA_FORBIDDEN;
			snprintf(res->detail, sizeof(res->detail), "%s has a critical CAA property '%s' that no "
			         "CA understands: nobody may issue (RFC 8659 4.1)", at_text, set[i].tag);
			snprintf(res->suggestion, sizeof(res->suggestion), "remove the CAA record '%s CAA %u %s "
			         "\"%s\"'", at_text, set[i].flags, set[i].tag, set[i].value);
			return;
		}
		if (strcasecmp(set[i].tag, tag) == 0) {
			any = true;
			allowed |= value_allows(set[i].value, ca_ids, n, account_url);
		}
	}
	if (!any || allowed) {
		res->verdict = CAA_ALLOWED;
		snprintf(res->detail, sizeof(res->detail), any ? "CAA at %s allows %s" :
		         "CAA at %s has no %s property: any CA may issue", at_text, any ? ca_ids[0] : tag);
		return;
	}
	res->verdict = CAA_FORBIDDEN;
	snprintf(res->detail, sizeof(res->detail), "the CAA records at %s do not allow %s to issue %s%s",
	         at_text, ca_ids[0], wildcard ? "wildcard certificates for " : "for ", base);
	snprintf(res->suggestion, sizeof(res->suggestion), "add the record '%s CAA 0 %s \"%s\"'",
	         at_text, tag, ca_ids[0]);
}
