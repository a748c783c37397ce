#include "server/xfr_out.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "db/node.h"
#include "db/zone_store.h"
#include "dns/dname.h"
#include "dns/response.h"
#include "dns/wire.h"

/* Messages are kept under 16 KiB so every name can be a compression target. */
#define XFR_MESSAGE_SOFT_LIMIT 16384

typedef enum { XFR_FIRST_SOA, XFR_NODES, XFR_LAST_SOA, XFR_DONE } xfr_phase_t;

struct xfr_out {
	MDB_txn *txn;
	zone_node_iter_t iter;
	uint8_t query[DNS_HEADER_SIZE + DNS_MAX_NAME + 4];
	dns_query_t q;
	node_t apex;
	rrset_t soa;
	uint32_t serial;
	xfr_phase_t phase;
	bool have_node;
	node_t node;
	size_t rrset_pos;
	size_t rr_count;
	unsigned messages;
};

static bool peer_allowed(const zone_record_t *zone, const struct sockaddr *peer)
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

int xfr_out_begin(db_t *db, const struct sockaddr *peer, const uint8_t *pkt,
                  const dns_query_t *q, xfr_out_t **out)
{
	xfr_out_t *x = calloc(1, sizeof(*x));
	if (x == NULL) {
		return DNS_RCODE_SERVFAIL;
	}
	int rcode = DNS_RCODE_SERVFAIL;
	if (db_read_begin(db, &x->txn) != CD_OK) {
		goto fail;
	}
	zone_record_t zone;
	char name[DNAME_STR_MAX];
	dname_to_str(q->qname, name, sizeof(name));
	int ret = zone_store_get(db, x->txn, q->qname, &zone);
	if (ret != CD_OK) {
		rcode = ret == CD_ENOTFOUND ? DNS_RCODE_NOTAUTH : DNS_RCODE_SERVFAIL;
		goto fail;
	}
	if (!peer_allowed(&zone, peer)) {
		log_info("zone %s: transfer refused: the client is not in the zone's transfer ACL",
		         name);
		rcode = DNS_RCODE_REFUSED;
		goto fail;
	}
	x->serial = zone.serial;
	if (zone_node_iter_init(&x->iter, db, x->txn, zone.id) != CD_OK ||
	    zone_node_iter_next(&x->iter, &x->apex) != CD_OK ||
	    !node_find_rrset(&x->apex, DNS_TYPE_SOA, &x->soa)) {
		goto fail;
	}
	x->have_node = true;      /* the apex is the first node to send */
	x->node = x->apex;
	memcpy(x->query, pkt, DNS_HEADER_SIZE + q->question_len);
	x->q = *q;
	x->q.qname = x->query + DNS_HEADER_SIZE;
	*out = x;
	return 0;
fail:
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

static bool put_soa(xfr_out_t *x, resp_t *r)
{
	if (resp_put_rrset(r, SECTION_ANSWER, x->apex.owner, 0, &x->soa, UINT32_MAX, NULL) != CD_OK) {
		return false;
	}
	x->rr_count++;
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
	xfr_phase_t phase = x->phase;
	size_t saved_pos = x->rrset_pos;
	bool saved_have = x->have_node;
	node_t saved_node = x->node;
	size_t saved_count = x->rr_count;
	bool full = false;
	while (!full && x->phase != XFR_DONE) {
		switch (x->phase) {
		case XFR_FIRST_SOA:
			if (!put_soa(x, &r)) {
				full = true;
				break;
			}
			x->phase = XFR_NODES;
			break;
		case XFR_NODES:
			if (!x->have_node) {
				int ret = zone_node_iter_next(&x->iter, &x->node);
				if (ret == CD_ENOTFOUND) {
					x->phase = XFR_LAST_SOA;
					break;
				}
				if (ret != CD_OK) {
					return 0;
				}
				x->have_node = true;
				x->rrset_pos = 0;
			}
			if (!put_node(x, &r)) {
				full = true;
				break;
			}
			x->have_node = false;
			break;
		case XFR_LAST_SOA:
			if (!put_soa(x, &r)) {
				full = true;
				break;
			}
			x->phase = XFR_DONE;
			break;
		case XFR_DONE:
			break;
		}
	}
	if (full && r.count[SECTION_ANSWER] == 0) {
		if (limit == 65535) {
			log_error("zone transfer: an RRset does not fit in one message");
			return 0;
		}
		/* One RRset larger than the soft limit: give this message the full 64 KiB. */
		x->phase = phase;
		x->rrset_pos = saved_pos;
		x->have_node = saved_have;
		x->node = saved_node;
		x->rr_count = saved_count;
		limit = 65535;
		goto retry;
	}
	x->messages++;
	*last = x->phase == XFR_DONE;
	return resp_finish(&r);
}

size_t xfr_out_rr_count(const xfr_out_t *x)
{
	return x->rr_count;
}

uint32_t xfr_out_serial(const xfr_out_t *x)
{
	return x->serial;
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
	free(x);
}
