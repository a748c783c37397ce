#include "dns/query.h"

#include <string.h>

#include "common/error.h"
#include "dns/dname.h"
#include "dns/wire.h"

/* Skips one RR (owner possibly compressed) at *pos.  Returns false when malformed. */
static bool skip_rr(const uint8_t *pkt, size_t len, size_t *pos, uint16_t *type,
                    size_t *owner_start)
{
	size_t p = *pos;
	*owner_start = p;
	/* Skip the owner without following pointers: a pointer ends the name. */
	size_t name_len = 0;
	for (;;) {
		if (p >= len) {
			return false;
		}
		uint8_t l = pkt[p];
		if ((l & 0xC0) == 0xC0) {
			p += 2;
			break;
		}
		if (l > DNS_MAX_LABEL) {
			return false;
		}
		p += 1 + (size_t)l;
		name_len += 1 + (size_t)l;
		if (name_len > DNS_MAX_NAME) {
			return false;
		}
		if (l == 0) {
			break;
		}
	}
	if (p + 10 > len) {
		return false;
	}
	*type = wire_read_u16(pkt + p);
	uint16_t rdlen = wire_read_u16(pkt + p + 8);
	p += 10;
	if (p + rdlen > len) {
		return false;
	}
	*pos = p + rdlen;
	return true;
}

static query_verdict_t formerr(dns_query_t *q)
{
	q->rcode = DNS_RCODE_FORMERR;
	return QUERY_ERROR;
}

/*
 * Walks the options of an OPT record and keeps the COOKIE option.  False when
 * an option runs past the record, or a COOKIE is neither a client cookie alone
 * (8 bytes) nor one with a server cookie of 8-32 bytes (RFC 7873 5.2.2).
 */
static bool parse_edns_options(dns_query_t *q, const uint8_t *opt, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		if (len - pos < 4) {
			return false;
		}
		uint16_t code = wire_read_u16(opt + pos);
		uint16_t olen = wire_read_u16(opt + pos + 2);
		pos += 4;
		if (olen > len - pos) {
			return false;
		}
		if (code == EDNS_OPTION_COOKIE && q->cookie == NULL) {
			if (olen != COOKIE_CLIENT_SIZE && (olen < 16 || olen > 40)) {
				return false;
			}
			q->cookie = opt + pos;
			q->cookie_len = (uint8_t)olen;
		}
		pos += olen;
	}
	return true;
}

/* Skips one question entry (name possibly compressed, type, class). */
static bool skip_question(const uint8_t *pkt, size_t len, size_t *pos)
{
	uint8_t name[DNS_MAX_NAME];
	if (dname_unpack(pkt, len, pos, name) < 0 || *pos + 4 > len) {
		return false;
	}
	*pos += 4;
	return true;
}

query_verdict_t query_parse(const uint8_t *pkt, size_t len, dns_query_t *q)
{
	memset(q, 0, sizeof(*q));
	if (len < DNS_HEADER_SIZE) {
		return QUERY_DROP;
	}
	q->id = wire_read_u16(pkt);
	q->flags = wire_read_u16(pkt + 2);
	if (q->flags & DNS_FLAG_QR) {
		return QUERY_DROP;   /* never answer a response: no reflection loops */
	}
	q->opcode = (uint8_t)((q->flags >> 11) & 0x0F);
	uint16_t qdcount = wire_read_u16(pkt + 4);
	uint16_t ancount = wire_read_u16(pkt + 6);
	uint16_t nscount = wire_read_u16(pkt + 8);
	uint16_t arcount = wire_read_u16(pkt + 10);

	size_t pos = DNS_HEADER_SIZE;
	if (qdcount == 1) {
		int qlen = dname_wire_length(pkt + pos, len - pos);
		if (qlen < 0 || pos + (size_t)qlen + 4 > len) {
			return formerr(q);   /* also catches compression pointers in the question */
		}
		q->qname = pkt + pos;
		q->qname_len = (size_t)qlen;
		pos += (size_t)qlen;
		q->qtype = wire_read_u16(pkt + pos);
		q->qclass = wire_read_u16(pkt + pos + 2);
		pos += 4;
		q->question_len = pos - DNS_HEADER_SIZE;
		q->has_question = true;
	} else {
		/* Still find the OPT, so even this error answer speaks EDNS (RFC 6891 7). */
		for (unsigned i = 0; i < qdcount; i++) {
			if (!skip_question(pkt, len, &pos)) {
				return formerr(q);
			}
		}
	}

	/* Answer and authority sections are skipped (a NOTIFY may carry an SOA). */
	unsigned skip = (unsigned)ancount + nscount;
	for (unsigned i = 0; i < skip; i++) {
		uint16_t type;
		size_t owner;
		if (!skip_rr(pkt, len, &pos, &type, &owner)) {
			return formerr(q);
		}
	}
	for (unsigned i = 0; i < arcount; i++) {
		uint16_t type;
		size_t owner;
		size_t rr_start = pos;
		if (!skip_rr(pkt, len, &pos, &type, &owner)) {
			return formerr(q);
		}
		if (q->tsig != NULL) {
			return formerr(q);   /* TSIG must be the last record (RFC 8945 5.1) */
		}
		if (type == DNS_TYPE_OPT) {
			if (q->has_edns || pkt[owner] != 0) {
				return formerr(q);   /* one OPT, owned by the root (RFC 6891 6.1.1) */
			}
			const uint8_t *rr = pkt + owner + 1;
			q->has_edns = true;
			uint16_t payload = wire_read_u16(rr + 2);
			q->edns_payload = payload < 512 ? 512 : payload;
			q->edns_version = rr[5];
			q->edns_do = (rr[6] & 0x80) != 0;
			if (!parse_edns_options(q, rr + 10, wire_read_u16(rr + 8))) {
				return formerr(q);
			}
		} else if (type == DNS_TYPE_TSIG) {
			q->tsig = pkt + rr_start;
		}
	}
	if (pos != len) {
		return formerr(q);   /* trailing garbage */
	}
	if (q->opcode != DNS_OPCODE_QUERY && q->opcode != DNS_OPCODE_NOTIFY) {
		q->rcode = DNS_RCODE_NOTIMP;
		return QUERY_ERROR;
	}
	if (qdcount == 0 && q->cookie != NULL && q->opcode == DNS_OPCODE_QUERY &&
	    q->edns_version == 0) {
		/* Asking only for a server cookie (RFC 7873 5.4): an empty NOERROR
		 * answer, to which the caller adds the cookie. */
		q->rcode = DNS_RCODE_NOERROR;
		return QUERY_ERROR;
	}
	if (qdcount != 1) {
		return formerr(q);
	}
	if (q->has_edns && q->edns_version > 0) {
		q->rcode = DNS_RCODE_BADVERS;
		return QUERY_ERROR;
	}
	return QUERY_OK;
}
