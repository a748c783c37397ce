#include "dns/answer.h"

#include <string.h>

#include "common/error.h"
#include "dns/dname.h"
#include "dns/response.h"
#include "dns/wire.h"

typedef struct {
	db_reader_t *reader;
	const dns_query_t *q;
	const answer_opts_t *opts;
	resp_t resp;
	uint16_t rcode;
	bool aa;
	bool failed;
	/* CNAMEs synthesized from DNAMEs (RFC 6672): header and rdata, per chain link. */
	uint8_t synth[ANSWER_CNAME_CHAIN_MAX + 1][8 + 2 + DNS_MAX_NAME];
	unsigned synth_used;
	/* Scratch for the name being resolved: zones key, then node key. */
	uint8_t zkey[1 + DNAME_KEY_MAX];
	uint8_t nkey[4 + DNAME_KEY_MAX + 2];
} answer_t;

/* Where resolving one name in the chain left us. */
typedef struct {
	bool follow;                 /* a CNAME was answered: resolve target next */
	const uint8_t *target;       /* its wire name (in LMDB memory) */
	uint16_t target_offset;      /* where it was written in the response */
} step_t;

/* A located name: its zone and the part of its key below the apex. */
typedef struct {
	zone_record_t zone;
	uint8_t *rel;                /* inside answer_t.nkey, 4 bytes of room before */
	size_t rel_len;
} located_t;

static bool locate(answer_t *a, const uint8_t *name, located_t *loc)
{
	a->zkey[0] = 0x00;
	size_t keylen = dname_to_key(name, a->zkey + 1);
	size_t apex_keylen;
	if (db_find_zone(a->reader, a->zkey, keylen, &loc->zone, &apex_keylen) != CD_OK) {
		return false;
	}
	/* DS lives on the parent side of a cut (RFC 4035 3.1.4.1): at the apex of
	 * a zone whose parent we host too, answer from the parent. */
	if (a->q->qtype == DNS_TYPE_DS && apex_keylen == keylen && keylen > 0) {
		size_t parent = keylen - 1;
		while (parent > 0 && a->zkey[parent] != 0x00) {
			parent--;
		}
		zone_record_t up;
		size_t up_keylen;
		if (db_find_zone(a->reader, a->zkey, parent, &up, &up_keylen) == CD_OK) {
			loc->zone = up;
			apex_keylen = up_keylen;
		}
	}
	loc->rel_len = keylen - apex_keylen;
	loc->rel = a->nkey + 4;
	memcpy(loc->rel, a->zkey + 1 + apex_keylen, loc->rel_len);
	return true;
}

/* Length of the parent's relative key: drop the last label. */
static size_t parent_len(const uint8_t *rel, size_t len)
{
	if (len == 0) {
		return 0;
	}
	len--;
	while (len > 0 && rel[len - 1] != 0x00) {
		len--;
	}
	return len;
}

static node_lookup_t get_node(answer_t *a, const located_t *loc, size_t rel_len, node_t *node)
{
	if (rel_len == 0) {
		return db_get_apex(a->reader, loc->zone.id, node);
	}
	return db_get_node(a->reader, loc->zone.id, loc->rel, rel_len, node);
}

/* The apex SOA in authority, TTL capped by its MINIMUM field (RFC 2308 3). */
static void put_negative_soa(answer_t *a, const located_t *loc)
{
	node_t apex;
	rrset_t soa;
	if (get_node(a, loc, 0, &apex) != NODE_LOOKUP_FOUND ||
	    !node_find_rrset(&apex, DNS_TYPE_SOA, &soa)) {
		return;
	}
	const uint8_t *rdata;
	uint16_t rdlen;
	size_t pos = 0;
	uint32_t minimum = UINT32_MAX;
	if (rrset_next_rr(&soa, &pos, &rdata, &rdlen) && rdlen >= 4) {
		minimum = wire_read_u32(rdata + rdlen - 4);
	}
	if (resp_put_rrset(&a->resp, SECTION_AUTHORITY, apex.owner, 0, &soa, minimum, NULL) ==
	    CD_ESPACE) {
		a->resp.tc = true;
	}
}

/*
 * A and AAAA of name from the same zone into additional; glue (data below a
 * cut) only when glue is set, for referrals.  Returns false if required and cut.
 */
static bool put_addresses(answer_t *a, const located_t *loc, const uint8_t *name, bool glue,
                          bool required)
{
	if (!dname_is_subdomain(name, loc->zone.apex)) {
		return true;
	}
	uint8_t key[DNAME_KEY_MAX];
	size_t keylen = dname_to_key(name, key);
	uint8_t apex_key[DNAME_KEY_MAX];
	size_t apex_keylen = dname_to_key(loc->zone.apex, apex_key);
	size_t rel_len = keylen - apex_keylen;
	uint8_t nkey[4 + DNAME_KEY_MAX];
	memcpy(nkey + 4, key + apex_keylen, rel_len);
	node_t node;
	if (db_get_node(a->reader, loc->zone.id, nkey + 4, rel_len, &node) != NODE_LOOKUP_FOUND) {
		return true;
	}
	if ((node.flags & NODE_OCCLUDED) && !glue) {
		return true;   /* below a cut: not our data to give, except as glue in a referral */
	}
	static const uint16_t types[] = { DNS_TYPE_A, DNS_TYPE_AAAA };
	for (size_t i = 0; i < 2; i++) {
		rrset_t rrset;
		if (node_find_rrset(&node, types[i], &rrset) &&
		    resp_put_rrset(&a->resp, SECTION_ADDITIONAL, node.owner, 0, &rrset, UINT32_MAX,
		                   NULL) != CD_OK && required) {
			return false;
		}
	}
	return true;
}

/* Offset of the name inside the rdata of types that get additional processing. */
static int additional_name_offset(uint16_t type)
{
	switch (type) {
	case DNS_TYPE_NS: return 0;
	case DNS_TYPE_MX: return 2;
	case DNS_TYPE_SRV: return 6;
	default: return -1;
	}
}

static void put_additional(answer_t *a, const located_t *loc, const rrset_t *rrset)
{
	int at = additional_name_offset(rrset->type);
	if (at < 0) {
		return;
	}
	size_t pos = 0;
	const uint8_t *rdata;
	uint16_t rdlen;
	const uint8_t *done[16];   /* one host named twice (two MX) gets its addresses once */
	size_t ndone = 0;
	while (rrset_next_rr(rrset, &pos, &rdata, &rdlen)) {
		if ((size_t)at >= rdlen || dname_wire_length(rdata + at, rdlen - (size_t)at) <= 0) {
			continue;
		}
		bool seen = false;
		for (size_t i = 0; i < ndone && !seen; i++) {
			seen = dname_equal(done[i], rdata + at);
		}
		if (seen) {
			continue;
		}
		if (ndone < sizeof(done) / sizeof(done[0])) {
			done[ndone++] = rdata + at;
		}
		put_addresses(a, loc, rdata + at, false, false);
	}
}

/* Referral from the zone cut at node: NS in authority, glue in additional. */
static void put_referral(answer_t *a, const located_t *loc, const node_t *cut)
{
	rrset_t ns;
	if (!node_find_rrset(cut, DNS_TYPE_NS, &ns)) {
		return;
	}
	if (a->resp.count[SECTION_ANSWER] == 0) {
		a->aa = false;   /* a referral is not authoritative data (RFC 1034 4.3.2 3b) */
	}
	if (resp_put_rrset(&a->resp, SECTION_AUTHORITY, cut->owner, 0, &ns, UINT32_MAX, NULL) !=
	    CD_OK) {
		a->resp.tc = true;
		return;
	}
	rrset_t ds;
	if (node_find_rrset(cut, DNS_TYPE_DS, &ds)) {
		resp_put_rrset(&a->resp, SECTION_AUTHORITY, cut->owner, 0, &ds, UINT32_MAX, NULL);
	}
	size_t pos = 0;
	const uint8_t *rdata;
	uint16_t rdlen;
	while (rrset_next_rr(&ns, &pos, &rdata, &rdlen)) {
		/* Glue below the cut is required to reach the child (RFC 9471): if it
		 * does not fit, the client must retry over TCP. */
		bool required = dname_is_subdomain(rdata, cut->owner);
		if (!put_addresses(a, loc, rdata, true, required)) {
			a->resp.tc = true;
		}
	}
}

/* Finds the zone cut above an occluded name and refers to it. */
static void refer_from_above(answer_t *a, const located_t *loc, size_t rel_len)
{
	for (;;) {
		rel_len = parent_len(loc->rel, rel_len);
		node_t node;
		if (get_node(a, loc, rel_len, &node) == NODE_LOOKUP_FOUND &&
		    (node.flags & NODE_DELEG)) {
			put_referral(a, loc, &node);
			return;
		}
		if (rel_len == 0) {
			return;   /* inconsistent flags: answer nothing rather than loop */
		}
	}
}

static bool put_answer_rrset(answer_t *a, const uint8_t *owner, uint16_t owner_offset,
                             const rrset_t *rrset, uint16_t *target)
{
	int ret = resp_put_rrset(&a->resp, SECTION_ANSWER, owner, owner_offset, rrset, UINT32_MAX,
	                         target);
	if (ret == CD_ESPACE) {
		a->resp.tc = true;
	} else if (ret != CD_OK) {
		a->rcode = DNS_RCODE_SERVFAIL;   /* corrupt stored data: retrying over TCP won't help */
		a->failed = true;
	}
	return ret == CD_OK;
}

/*
 * Answers from a node that exists in the zone, or a wildcard standing in for
 * it: owner is the name being resolved, owner_offset where it already stands
 * in the response.
 */
static step_t answer_from_node(answer_t *a, const located_t *loc, const node_t *node,
                               const uint8_t *owner, uint16_t owner_offset)
{
	step_t step = { 0 };
	uint16_t qtype = a->q->qtype;
	rrset_t rrset;
	if (qtype == DNS_TYPE_ANY) {
		/* RFC 8482: over UDP one RRset stands for all; TCP gets the full set. */
		size_t pos = 0;
		bool any = false;
		while (node_next_rrset(node, &pos, &rrset)) {
			any = true;
			if (!put_answer_rrset(a, owner, owner_offset, &rrset, NULL) ||
			    !a->opts->tcp) {
				break;
			}
		}
		if (!any) {
			put_negative_soa(a, loc);
		}
		return step;
	}
	if (node_find_rrset(node, qtype, &rrset)) {
		if (put_answer_rrset(a, owner, owner_offset, &rrset, NULL)) {
			put_additional(a, loc, &rrset);
		}
		return step;
	}
	if (node_find_rrset(node, DNS_TYPE_CNAME, &rrset)) {
		uint16_t target_offset = 0;
		if (put_answer_rrset(a, owner, owner_offset, &rrset, &target_offset)) {
			const uint8_t *rdata;
			uint16_t rdlen;
			size_t pos = 0;
			if (rrset_next_rr(&rrset, &pos, &rdata, &rdlen) &&
			    dname_wire_length(rdata, rdlen) > 0) {
				step.follow = true;
				step.target = rdata;
				step.target_offset = target_offset;
			}
		}
		return step;
	}
	put_negative_soa(a, loc);   /* NODATA (RFC 2308 2.2) */
	return step;
}

/*
 * RFC 6672 3.2: below a DNAME owner, answer the DNAME and a CNAME from the
 * name to its counterpart below the DNAME target (TTL of the DNAME), then
 * resolve that as any CNAME.  A result over 255 bytes is YXDOMAIN.
 */
static step_t synthesize_from_dname(answer_t *a, const node_t *owner_node, const rrset_t *dname,
                                    const uint8_t *name, uint16_t name_offset)
{
	step_t none = { 0 };
	const uint8_t *target;
	uint16_t target_len;
	size_t pos = 0;
	if (!rrset_next_rr(dname, &pos, &target, &target_len) ||
	    dname_wire_length(target, target_len) != (int)target_len ||
	    a->synth_used >= ANSWER_CNAME_CHAIN_MAX + 1) {
		a->rcode = DNS_RCODE_SERVFAIL;
		a->failed = true;
		return none;
	}
	if (!put_answer_rrset(a, owner_node->owner, 0, dname, NULL)) {
		return none;
	}
	int keep = dname_label_count(name) - dname_label_count(owner_node->owner);
	const uint8_t *suffix = dname_skip_labels(name, keep);
	size_t prefix = (size_t)(suffix - name);
	if (prefix + target_len > DNS_MAX_NAME) {
		a->rcode = DNS_RCODE_YXDOMAIN;
		return none;
	}
	uint8_t *s = a->synth[a->synth_used++];
	wire_write_u16(s, DNS_TYPE_CNAME);
	wire_write_u16(s + 2, dname->rclass);
	wire_write_u32(s + 4, dname->ttl);
	wire_write_u16(s + 8, (uint16_t)(prefix + target_len));
	memcpy(s + 10, name, prefix);
	memcpy(s + 10 + prefix, target, target_len);
	rrset_t cname = {
		.type = DNS_TYPE_CNAME, .rclass = dname->rclass, .ttl = dname->ttl, .count = 1,
		.header = s, .rdata = s + 8, .rdata_len = 2 + prefix + target_len,
	};
	uint16_t target_offset = 0;
	if (!put_answer_rrset(a, name, name_offset, &cname, &target_offset)) {
		return none;
	}
	return (step_t){ .follow = true, .target = s + 10, .target_offset = target_offset };
}

/* Resolves one name of the chain within the zone it belongs to. */
static step_t resolve_in_zone(answer_t *a, located_t *loc, const uint8_t *name,
                              uint16_t owner_offset)
{
	step_t none = { 0 };
	node_t node;
	node_lookup_t found = get_node(a, loc, loc->rel_len, &node);
	if (found == NODE_LOOKUP_FOUND) {
		if (node.flags & NODE_OCCLUDED) {
			refer_from_above(a, loc, loc->rel_len);
			return none;
		}
		if ((node.flags & NODE_DELEG) && a->q->qtype != DNS_TYPE_DS) {
			put_referral(a, loc, &node);
			return none;
		}
		return answer_from_node(a, loc, &node, name, owner_offset);
	}

	/* The name has no node: find its closest encloser, watching for zone cuts. */
	size_t encloser = SIZE_MAX;
	if (found == NODE_LOOKUP_ENT) {
		encloser = loc->rel_len;
	}
	size_t len = loc->rel_len;
	while (len > 0) {
		len = parent_len(loc->rel, len);
		node_t up;
		node_lookup_t l = get_node(a, loc, len, &up);
		if (l == NODE_LOOKUP_NONE) {
			continue;
		}
		if (encloser == SIZE_MAX) {
			encloser = len;
		}
		if (l == NODE_LOOKUP_FOUND) {
			if (up.flags & NODE_DELEG) {
				put_referral(a, loc, &up);
				return none;
			}
			if (up.flags & NODE_OCCLUDED) {
				refer_from_above(a, loc, len);
				return none;
			}
			rrset_t dname;
			if (node_find_rrset(&up, DNS_TYPE_DNAME, &dname)) {
				return synthesize_from_dname(a, &up, &dname, name, owner_offset);
			}
			break;   /* authoritative data above: no cut in between */
		}
	}
	if (found == NODE_LOOKUP_ENT) {
		put_negative_soa(a, loc);   /* empty non-terminal: NODATA (RFC 8020 2) */
		return none;
	}
	if (encloser == SIZE_MAX) {
		a->rcode = DNS_RCODE_SERVFAIL;   /* no apex node: the zone is damaged */
		a->failed = true;
		return none;
	}

	/* RFC 4592: the source of synthesis is "*" below the closest encloser. */
	uint8_t *star = loc->rel + encloser;
	star[0] = '*';
	star[1] = 0x00;
	node_t wild;
	node_lookup_t w = encloser == 0 ? db_get_apex_wildcard(a->reader, loc->zone.id, &wild)
	                                : get_node(a, loc, encloser + 2, &wild);
	if (w == NODE_LOOKUP_FOUND && !node_is_empty(&wild)) {
		if (a->opts->info != NULL && a->opts->info->wildcard == NULL) {
			a->opts->info->wildcard = wild.owner;   /* for rate limiting: one bucket per wildcard */
		}
		return answer_from_node(a, loc, &wild, name, owner_offset);
	}
	if (w != NODE_LOOKUP_NONE) {
		put_negative_soa(a, loc);   /* the wildcard is an empty non-terminal: NODATA (RFC 4592 4.9) */
		return none;
	}
	a->rcode = DNS_RCODE_NXDOMAIN;
	put_negative_soa(a, loc);
	return none;
}

static void resolve_chain(answer_t *a)
{
	const uint8_t *visited[ANSWER_CNAME_CHAIN_MAX + 1];
	const uint8_t *name = a->q->qname;
	uint16_t offset = RESP_QNAME_OFFSET;
	for (int depth = 0; depth <= ANSWER_CNAME_CHAIN_MAX; depth++) {
		for (int i = 0; i < depth; i++) {
			if (dname_equal(visited[i], name)) {
				return;   /* CNAME loop: stop with what we have */
			}
		}
		visited[depth] = name;
		located_t loc;
		if (!locate(a, name, &loc)) {
			if (depth == 0) {
				a->rcode = DNS_RCODE_REFUSED;   /* not ours; we never recurse */
			}
			return;   /* the chain leaves our zones: the resolver continues */
		}
		if (depth == 0) {
			a->aa = true;
		}
		a->rcode = DNS_RCODE_NOERROR;   /* RFC 6604: the rcode describes the last name */
		step_t step = resolve_in_zone(a, &loc, name, offset);
		if (!step.follow || a->resp.tc || a->failed) {
			return;
		}
		name = step.target;
		offset = step.target_offset;
	}
}

/*
 * IXFR over UDP (RFC 1995 2): the current SOA alone tells the client to use
 * TCP for the changes (or that it is current).  Only for our zone apexes.
 */
static void answer_ixfr_udp(answer_t *a)
{
	located_t loc;
	node_t apex;
	rrset_t soa;
	if (db_reader_renew(a->reader) != CD_OK) {
		a->rcode = DNS_RCODE_SERVFAIL;
		return;
	}
	if (!locate(a, a->q->qname, &loc)) {
		a->rcode = DNS_RCODE_REFUSED;
		return;
	}
	if (loc.rel_len != 0) {
		a->rcode = DNS_RCODE_NOTAUTH;   /* not a zone apex */
		return;
	}
	if (get_node(a, &loc, 0, &apex) == NODE_LOOKUP_FOUND &&
	    node_find_rrset(&apex, DNS_TYPE_SOA, &soa)) {
		a->aa = true;
		put_answer_rrset(a, a->q->qname, RESP_QNAME_OFFSET, &soa, NULL);
	}
}

static bool qtype_is_meta(uint16_t qtype)
{
	return qtype == DNS_TYPE_OPT || (qtype >= 128 && qtype <= 255 && qtype != DNS_TYPE_ANY);
}

size_t answer_query(db_reader_t *reader, const uint8_t *pkt, const dns_query_t *q,
                    query_verdict_t verdict, uint8_t *out, size_t cap,
                    const answer_opts_t *opts, uint16_t *rcode)
{
	if (verdict == QUERY_DROP) {
		return 0;
	}
	/* Only the small state is cleared: the scratch buffers (several KiB) are
	 * written before they are read, and clearing them per query would cost. */
	answer_t state;
	answer_t *a = &state;
	a->reader = reader;
	a->q = q;
	a->opts = opts;
	a->rcode = DNS_RCODE_NOERROR;
	a->aa = false;
	a->failed = false;
	a->synth_used = 0;
	if (opts->info != NULL) {
		opts->info->wildcard = NULL;
	}
	size_t limit = 65535;
	if (!opts->tcp) {
		size_t client = q->has_edns ? q->edns_payload : 512;
		limit = client < opts->udp_payload ? client : opts->udp_payload;
	}
	if (limit > cap) {
		limit = cap;
	}
	resp_init(&a->resp, out, limit, pkt, q);

	if (verdict == QUERY_ERROR) {
		a->rcode = q->rcode;
	} else if (q->opcode != 0) {
		a->rcode = DNS_RCODE_NOTIMP;     /* NOTIFY is for secondaries: not handled here */
	} else if (q->qclass != DNS_CLASS_IN) {
		a->rcode = DNS_RCODE_REFUSED;
	} else if (q->qtype == DNS_TYPE_OPT || q->qtype == DNS_TYPE_TSIG) {
		a->rcode = DNS_RCODE_FORMERR;
	} else if (q->qtype == DNS_TYPE_IXFR && !opts->tcp) {
		answer_ixfr_udp(a);
	} else if (q->qtype == DNS_TYPE_AXFR || q->qtype == DNS_TYPE_IXFR) {
		/* Zone transfers are TCP-only and handled by the transfer code. */
		a->rcode = opts->tcp ? DNS_RCODE_REFUSED : DNS_RCODE_FORMERR;
	} else if (qtype_is_meta(q->qtype)) {
		a->rcode = DNS_RCODE_NOTIMP;
	} else if (db_reader_renew(reader) != CD_OK) {
		a->rcode = DNS_RCODE_SERVFAIL;
	} else {
		resolve_chain(a);
	}

	resp_set_flag(&a->resp, DNS_FLAG_AA, a->aa);
	resp_set_flag(&a->resp, DNS_FLAG_TC, a->resp.tc);
	resp_set_rcode(&a->resp, a->rcode);
	if (q->has_edns) {
		resp_put_opt(&a->resp, opts->udp_payload, (uint8_t)(a->rcode >> 4), q->edns_do);
	}
	*rcode = a->rcode;
	return resp_finish(&a->resp);
}
