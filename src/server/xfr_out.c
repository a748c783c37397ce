#include "server/xfr_out.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "common/log.h"
#include "db/journal.h"
#include "db/node.h"
#include "db/zone_conf.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "dns/response.h"
#include "dns/tsig.h"
#include "dns/wire.h"

/* Messages are kept under 16 KiB so every name can be a compression target. */
#define XFR_MESSAGE_SOFT_LIMIT 16384
#define XFR_MESSAGE_HARD_LIMIT (65535 - TSIG_RR_MAX)

typedef enum {
	XFR_FIRST_SOA, XFR_NODES, XFR_JOURNAL, XFR_LAST_SOA, XFR_DONE
} xfr_phase_t;

struct xfr_out {
	db_t *db;
	MDB_txn *txn;
	zone_node_iter_t iter;
	uint8_t query[DNS_HEADER_SIZE + DNS_MAX_NAME + 4];
	dns_query_t q;
	char zone_name[DNAME_STR_MAX];
	char peer[INET6_ADDRSTRLEN + 8];
	node_t apex;
	rrset_t soa;
	uint32_t serial;
	xfr_phase_t phase;
	/* AXFR walk */
	bool have_node;
	node_t node;
	size_t rrset_pos;
	/* IXFR: the journal entries from the client's serial on */
	bool ixfr;
	bool up_to_date;
	uint32_t client_serial;
	journal_entry_t *entries;
	size_t nentries, entry, entry_cap;
	int entry_part;            /* 0: removed RRs, 1: added RRs */
	size_t entry_pos;
	/* TSIG */
	bool signed_stream;
	tsig_ctx_t tsig;
	size_t rr_count;
	unsigned messages;
};

static void peer_text(const struct sockaddr *peer, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		port = ntohs(in->sin_port);
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, len, "%s#%u", addr, port);
}

static bool peer_in_acl(const zone_record_t *zone, const struct sockaddr *peer)
{
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
		return zone_acl_allows(zone, 4, (const uint8_t *)&in->sin_addr);
	}
	if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
		return zone_acl_allows(zone, 6, (const uint8_t *)&in6->sin6_addr);
	}
	return false;
}

static bool same_address(const char *text, const struct sockaddr *peer)
{
	uint8_t a[16];
	if (peer->sa_family == AF_INET && inet_pton(AF_INET, text, a) == 1) {
		return memcmp(a, &((const struct sockaddr_in *)peer)->sin_addr, 4) == 0;
	}
	if (peer->sa_family == AF_INET6 && inet_pton(AF_INET6, text, a) == 1) {
		return memcmp(a, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16) == 0;
	}
	return false;
}

static bool same_key(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 0 && a[la - 1] == '.') {
		la--;
	}
	if (lb > 0 && b[lb - 1] == '.') {
		lb--;
	}
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Applies the rules in xfr_out.h. */
static bool transfer_allowed(const zone_record_t *zone, const json_t *conf,
                             const struct sockaddr *peer, const char *signed_by)
{
	if (peer_in_acl(zone, peer)) {
		return true;
	}
	size_t i;
	json_t *sec;
	json_array_foreach(json_object_get(conf, "secondaries"), i, sec) {
		const char *key = json_string_value(json_object_get(sec, "tsig"));
		const char *addr = json_string_value(json_object_get(sec, "address"));
		if (key != NULL) {
			if (signed_by != NULL && same_key(key, signed_by)) {
				return true;
			}
		} else if (addr != NULL && same_address(addr, peer)) {
			return true;
		}
	}
	return false;
}

typedef struct {
	db_t *db;
	MDB_txn *txn;
} lookup_ctx_t;

static int lookup_key(void *arg, const char *name, tsig_key_t *key)
{
	lookup_ctx_t *l = arg;
	return tsig_store_get(l->db, l->txn, name, key);
}

/* The SOA serial a client sent in the authority section of its IXFR request. */
static bool ixfr_client_serial(const uint8_t *pkt, size_t len, const dns_query_t *q,
                               uint32_t *serial)
{
	size_t pos = DNS_HEADER_SIZE + q->question_len;
	if (wire_read_u16(pkt + 6) != 0 || wire_read_u16(pkt + 8) < 1) {
		return false;
	}
	uint8_t name[DNS_MAX_NAME];
	if (dname_unpack(pkt, len, &pos, name) < 0 || pos + 10 > len ||
	    wire_read_u16(pkt + pos) != DNS_TYPE_SOA) {
		return false;
	}
	pos += 10;
	if (dname_unpack(pkt, len, &pos, name) < 0 || dname_unpack(pkt, len, &pos, name) < 0 ||
	    pos + 4 > len) {
		return false;
	}
	*serial = wire_read_u32(pkt + pos);
	return true;
}

static int collect_entry(void *arg, const journal_entry_t *e)
{
	xfr_out_t *x = arg;
	if (x->nentries == x->entry_cap) {
		size_t ncap = x->entry_cap ? x->entry_cap * 2 : 16;
		journal_entry_t *n = realloc(x->entries, ncap * sizeof(*n));
		if (n == NULL) {
			return CD_ENOMEM;
		}
		x->entries = n;
		x->entry_cap = ncap;
	}
	x->entries[x->nentries++] = *e;
	return 0;
}

int xfr_out_begin(db_t *db, const struct sockaddr *peer, const uint8_t *pkt, size_t len,
                  const dns_query_t *q, xfr_out_t **out, uint16_t *tsig_error)
{
	*tsig_error = 0;
	xfr_out_t *x = calloc(1, sizeof(*x));
	if (x == NULL) {
		return DNS_RCODE_SERVFAIL;
	}
	x->db = db;
	int rcode = DNS_RCODE_SERVFAIL;
	json_t *conf = NULL;
	const char *kind = q->qtype == DNS_TYPE_IXFR ? "IXFR" : "AXFR";
	peer_text(peer, x->peer, sizeof(x->peer));
	dname_to_str(q->qname, x->zone_name, sizeof(x->zone_name));
	if (db_read_begin(db, &x->txn) != CD_OK) {
		goto fail;
	}
	zone_record_t zone;
	int ret = zone_store_get(db, x->txn, q->qname, &zone);
	if (ret != CD_OK) {
		rcode = ret == CD_ENOTFOUND ? DNS_RCODE_NOTAUTH : DNS_RCODE_SERVFAIL;
		if (ret == CD_ENOTFOUND) {
			log_info("%s of %s from %s: not a zone of ours", kind, x->zone_name, x->peer);
		}
		goto fail;
	}
	char key_name[1024] = "";
	if (q->tsig != NULL) {
		lookup_ctx_t l = { db, x->txn };
		int err = tsig_verify_request(pkt, len, lookup_key, &l, &x->tsig, key_name,
		                              sizeof(key_name));
		if (err != 0) {
			log_info("%s of %s from %s refused: TSIG key '%s': %s", kind, x->zone_name,
			         x->peer, key_name, err == TSIG_ERR_BADKEY ? "unknown key or algorithm"
			         : err == TSIG_ERR_BADTIME ? "signature time outside the fudge"
			         : "signature does not verify (wrong secret?)");
			rcode = DNS_RCODE_NOTAUTH;
			*tsig_error = (uint16_t)err;
			goto fail;
		}
		x->signed_stream = true;
	}
	conf = zone_conf_get(db, x->txn, q->qname);
	if (conf == NULL || !transfer_allowed(&zone, conf, peer, x->signed_stream ? key_name : NULL)) {
		log_info("%s of %s from %s refused: not in the transfer ACL and not a secondary%s",
		         kind, x->zone_name, x->peer,
		         x->signed_stream ? " using this key" : " (or the secondary needs TSIG)");
		rcode = DNS_RCODE_REFUSED;
		goto fail;
	}
	x->serial = zone.serial;
	if (zone_node_iter_init(&x->iter, db, x->txn, zone.id) != CD_OK ||
	    zone_node_iter_next(&x->iter, &x->apex) != CD_OK ||
	    !node_find_rrset(&x->apex, DNS_TYPE_SOA, &x->soa)) {
		goto fail;
	}
	x->have_node = true;      /* the apex is the first node of a full transfer */
	x->node = x->apex;
	if (q->qtype == DNS_TYPE_IXFR && ixfr_client_serial(pkt, len, q, &x->client_serial)) {
		if ((int32_t)(x->client_serial - x->serial) >= 0) {
			x->up_to_date = true;   /* RFC 1995 2: answer with the current SOA alone */
			x->ixfr = true;
		} else if (journal_walk_from(db, x->txn, zone.id, x->client_serial, x->serial,
		                             collect_entry, x) == CD_OK) {
			x->ixfr = true;
		}
	}
	memcpy(x->query, pkt, DNS_HEADER_SIZE + q->question_len);
	x->q = *q;
	x->q.qname = x->query + DNS_HEADER_SIZE;
	json_decref(conf);
	*out = x;
	return 0;
fail:
	json_decref(conf);
	xfr_out_free(x);
	return rcode;
}

/* Appends the node's RRsets from x->rrset_pos; false when the message is full. */
static bool put_node(xfr_out_t *x, resp_t *r)
{
	rrset_t rrset;
	size_t pos = x->rrset_pos;
	while (node_next_rrset(&x->node, &pos, &rrset)) {
		if (rrset.type == DNS_TYPE_SOA && x->node.owner == x->apex.owner) {
			x->rrset_pos = pos;
			continue;   /* the SOA opens and closes the transfer */
		}
		if (resp_put_rrset(r, SECTION_ANSWER, x->node.owner, 0, &rrset, UINT32_MAX, NULL) !=
		    CD_OK) {
			return false;
		}
		x->rr_count += rrset.count;
		x->rrset_pos = pos;
	}
	return true;
}

/* Appends journal RRs of the current entry part from x->entry_pos; false when full. */
static bool put_journal_part(xfr_out_t *x, resp_t *r)
{
	const journal_entry_t *e = &x->entries[x->entry];
	const uint8_t *rrs = x->entry_part == 0 ? e->removed : e->added;
	size_t len = x->entry_part == 0 ? e->removed_len : e->added_len;
	const uint8_t *owner, *header, *rdata;
	uint16_t rdlen;
	size_t pos = x->entry_pos;
	while (journal_next_rr(rrs, len, &pos, &owner, &header, &rdata, &rdlen)) {
		rrset_t one = {
			.type = wire_read_u16(header), .rclass = wire_read_u16(header + 2),
			.ttl = wire_read_u32(header + 4), .count = 1, .header = header,
			.rdata = header + 8, .rdata_len = 2 + (size_t)rdlen,
		};
		if (resp_put_rrset(r, SECTION_ANSWER, owner, 0, &one, UINT32_MAX, NULL) != CD_OK) {
			return false;
		}
		x->rr_count++;
		x->entry_pos = pos;
	}
	return true;
}

static bool put_soa(xfr_out_t *x, resp_t *r)
{
	if (resp_put_rrset(r, SECTION_ANSWER, x->apex.owner, 0, &x->soa, UINT32_MAX, NULL) != CD_OK) {
		return false;
	}
	x->rr_count++;
	return true;
}

/* One step of the stream; false when the message is full. */
static bool step(xfr_out_t *x, resp_t *r, bool *failed)
{
	switch (x->phase) {
	case XFR_FIRST_SOA:
		if (!put_soa(x, r)) {
			return false;
		}
		x->phase = x->up_to_date ? XFR_DONE : x->ixfr ? XFR_JOURNAL : XFR_NODES;
		return true;
	case XFR_NODES:
		if (!x->have_node) {
			int ret = zone_node_iter_next(&x->iter, &x->node);
			if (ret == CD_ENOTFOUND) {
				x->phase = XFR_LAST_SOA;
				return true;
			}
			if (ret != CD_OK) {
				*failed = true;
				return true;
			}
			x->have_node = true;
			x->rrset_pos = 0;
		}
		if (!put_node(x, r)) {
			return false;
		}
		x->have_node = false;
		return true;
	case XFR_JOURNAL:
		if (x->entry >= x->nentries) {
			x->phase = XFR_LAST_SOA;
			return true;
		}
		if (!put_journal_part(x, r)) {
			return false;
		}
		x->entry_pos = 0;
		if (x->entry_part == 0) {
			x->entry_part = 1;
		} else {
			x->entry_part = 0;
			x->entry++;
		}
		return true;
	case XFR_LAST_SOA:
		if (!put_soa(x, r)) {
			return false;
		}
		x->phase = XFR_DONE;
		return true;
	case XFR_DONE:
		return true;
	}
	return true;
}

size_t xfr_out_next(xfr_out_t *x, uint8_t *buf, bool *last)
{
	dns_query_t q = x->q;
	q.has_question = x->messages == 0;   /* the question is echoed in the first message */
	q.has_edns = false;
	resp_t r;
	size_t limit = XFR_MESSAGE_SOFT_LIMIT;
retry:
	resp_init(&r, buf, limit, x->query, &q);
	resp_set_flag(&r, DNS_FLAG_AA, true);
	bool full = false, failed = false;
	while (!full && !failed && x->phase != XFR_DONE) {
		full = !step(x, &r, &failed);
	}
	if (failed) {
		return 0;
	}
	if (full && r.count[SECTION_ANSWER] == 0) {
		if (limit == XFR_MESSAGE_HARD_LIMIT) {
			log_error("transfer of %s: an RRset does not fit in one message", x->zone_name);
			return 0;
		}
		/* One RRset larger than the soft limit: this message gets the full 64 KiB.
		 * Nothing was written, so the walk is still where it stopped. */
		limit = XFR_MESSAGE_HARD_LIMIT;
		goto retry;
	}
	x->messages++;
	*last = x->phase == XFR_DONE;
	size_t len = resp_finish(&r);
	if (x->signed_stream) {
		len = tsig_sign_response(&x->tsig, buf, len, 65535);
		if (len == 0) {
			log_error("transfer of %s: signing with TSIG failed", x->zone_name);
		}
	}
	return len;
}

void xfr_out_describe(const xfr_out_t *x, char *buf, size_t len)
{
	const char *kind = !x->ixfr ? "AXFR" : x->up_to_date ? "IXFR (up to date)" : "IXFR";
	snprintf(buf, len, "%s of %s serial %u to %s: %zu records in %u messages%s", kind,
	         x->zone_name, x->serial, x->peer, x->rr_count, x->messages,
	         x->signed_stream ? ", TSIG-signed" : "");
}

void xfr_out_free(xfr_out_t *x)
{
	if (x == NULL) {
		return;
	}
	zone_node_iter_close(&x->iter);
	if (x->txn != NULL) {
		mdb_txn_abort(x->txn);
	}
	free(x->entries);
	free(x);
}
