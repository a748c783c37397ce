#include "dns/response.h"

#include <string.h>

#include "common/error.h"
#include "dns/dname.h"
#include "dns/wire.h"

static inline uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Remembers every label position of a name written literally at offset. */
static void remember_name(resp_t *r, size_t offset)
{
	const uint8_t *p = r->pkt + offset;
	/* Count labels until the root or a pointer (whose target is remembered already). */
	uint8_t labels[DNS_MAX_NAME / 2];
	uint16_t offsets[DNS_MAX_NAME / 2];
	unsigned n = 0;
	unsigned tail = 0;
	while (*p != 0 && (*p & 0xC0) != 0xC0) {
		offsets[n] = (uint16_t)(p - r->pkt);
		n++;
		p += 1 + *p;
	}
	if ((*p & 0xC0) == 0xC0) {
		size_t target = ((size_t)(p[0] & 0x3F) << 8) | p[1];
		for (unsigned i = 0; i < r->names_used; i++) {
			if (r->names[i].offset == target) {
				tail = r->names[i].labels;
				break;
			}
		}
	}
	for (unsigned i = 0; i < n; i++) {
		labels[i] = (uint8_t)(n - i + tail);
	}
	for (unsigned i = 0; i < n && r->names_used < RESP_COMPRESS_MAX; i++) {
		if (offsets[i] >= 0x4000) {
			break;   /* beyond what a pointer can reach */
		}
		r->names[r->names_used].offset = offsets[i];
		r->names[r->names_used].labels = labels[i];
		r->names_used++;
	}
}

/* Does the name in the packet at offset equal the wire name (case-insensitive)? */
static bool packet_name_equals(const resp_t *r, size_t offset, const uint8_t *name)
{
	const uint8_t *p = r->pkt + offset;
	for (int hops = 0; hops < 64;) {
		if ((*p & 0xC0) == 0xC0) {
			p = r->pkt + (((size_t)(p[0] & 0x3F) << 8) | p[1]);
			hops++;
			continue;
		}
		if (*p != *name) {
			return false;
		}
		uint8_t len = *p;
		if (len == 0) {
			return true;
		}
		for (uint8_t i = 1; i <= len; i++) {
			if (lower(p[i]) != lower(name[i])) {
				return false;
			}
		}
		p += 1 + len;
		name += 1 + len;
	}
	return false;
}

int resp_put_name(resp_t *r, const uint8_t *name, size_t limit)
{
	size_t start = r->len;
	int labels = dname_label_count(name);
	const uint8_t *suffix = name;
	for (int skip = 0; skip <= labels; skip++) {
		if (skip == labels) {
			/* Nothing matched: the root label ends the name. */
			if (start + (size_t)(suffix - name) + 1 > limit) {
				return CD_ESPACE;
			}
			memcpy(r->pkt + start, name, (size_t)(suffix - name));
			r->pkt[start + (size_t)(suffix - name)] = 0;
			r->len = start + (size_t)(suffix - name) + 1;
			break;
		}
		int want = labels - skip;
		int match = -1;
		for (unsigned i = 0; i < r->names_used; i++) {
			if (r->names[i].labels == want &&
			    packet_name_equals(r, r->names[i].offset, suffix)) {
				match = (int)r->names[i].offset;
				break;
			}
		}
		if (match >= 0) {
			size_t prefix = (size_t)(suffix - name);
			if (start + prefix + 2 > limit) {
				return CD_ESPACE;
			}
			memcpy(r->pkt + start, name, prefix);
			wire_write_u16(r->pkt + start + prefix, (uint16_t)(0xC000 | match));
			r->len = start + prefix + 2;
			if (prefix == 0) {
				return match;   /* the whole name was there: later pointers go to it */
			}
			break;
		}
		suffix += 1 + *suffix;
	}
	remember_name(r, start);
	return (int)start;
}

void resp_init(resp_t *r, uint8_t *buf, size_t limit, const uint8_t *query, const dns_query_t *q)
{
	memset(r, 0, offsetof(resp_t, names));
	r->tc = false;
	r->pkt = buf;
	r->limit = limit;
	wire_write_u16(buf, q->id);
	uint16_t flags = DNS_FLAG_QR | (uint16_t)(q->opcode << 11) |
	                 (q->flags & (DNS_FLAG_RD | DNS_FLAG_CD));
	wire_write_u16(buf + 2, flags);
	memset(buf + 4, 0, 8);
	r->len = DNS_HEADER_SIZE;
	if (q->has_question) {
		memcpy(buf + DNS_HEADER_SIZE, query + DNS_HEADER_SIZE, q->question_len);
		r->len += q->question_len;
		wire_write_u16(buf + 4, 1);
		remember_name(r, DNS_HEADER_SIZE);
	}
	if (q->has_edns) {
		/* Room for the OPT record, and for the cookie the server adds to it. */
		r->reserve = EDNS_OPT_SIZE + (q->cookie != NULL ? EDNS_COOKIE_ANSWER_SIZE : 0);
	}
}

void resp_set_rcode(resp_t *r, uint16_t rcode)
{
	uint16_t flags = wire_read_u16(r->pkt + 2);
	flags = (uint16_t)((flags & ~0x000F) | (rcode & 0x0F));
	wire_write_u16(r->pkt + 2, flags);
}

void resp_set_flag(resp_t *r, uint16_t flag, bool on)
{
	uint16_t flags = wire_read_u16(r->pkt + 2);
	flags = on ? (flags | flag) : (uint16_t)(flags & ~flag);
	wire_write_u16(r->pkt + 2, flags);
}

/* Copies rdata, compressing the names of RFC 1035 types. */
static int put_rdata(resp_t *r, uint16_t type, const uint8_t *rdata, uint16_t rdlen,
                     size_t limit, int *name_offset)
{
	size_t name_at;       /* offset of the first compressible name in rdata */
	int names;
	switch (type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		name_at = 0;
		names = 1;
		break;
	case DNS_TYPE_MX:
		name_at = 2;
		names = 1;
		break;
	case DNS_TYPE_SOA:
		name_at = 0;
		names = 2;
		break;
	default:
		if (r->len + rdlen > limit) {
			return CD_ESPACE;
		}
		memcpy(r->pkt + r->len, rdata, rdlen);
		r->len += rdlen;
		return CD_OK;
	}
	if (r->len + name_at > limit || name_at > rdlen) {
		return CD_ESPACE;
	}
	memcpy(r->pkt + r->len, rdata, name_at);
	r->len += name_at;
	size_t pos = name_at;
	for (int i = 0; i < names; i++) {
		int len = dname_wire_length(rdata + pos, rdlen - pos);
		if (len < 0) {
			return CD_EMALF;
		}
		int off = resp_put_name(r, rdata + pos, limit);
		if (off < 0) {
			return off;
		}
		if (i == 0 && name_offset != NULL) {
			*name_offset = off;
		}
		pos += (size_t)len;
	}
	size_t rest = rdlen - pos;
	if (r->len + rest > limit) {
		return CD_ESPACE;
	}
	memcpy(r->pkt + r->len, rdata + pos, rest);
	r->len += rest;
	return CD_OK;
}

int resp_put_rrset(resp_t *r, section_t section, const uint8_t *owner, uint16_t owner_offset,
                   const rrset_t *rrset, uint32_t ttl_cap, uint16_t *target_offset)
{
	size_t limit = r->limit - r->reserve;
	size_t saved_len = r->len;
	unsigned saved_names = r->names_used;
	size_t pos = 0;
	const uint8_t *rdata;
	uint16_t rdlen;
	uint16_t written = 0;
	int ret = CD_OK;
	while (rrset_next_rr(rrset, &pos, &rdata, &rdlen)) {
		if (owner_offset != 0 && owner_offset < 0x4000) {
			if (r->len + 2 > limit) {
				ret = CD_ESPACE;
				break;
			}
			wire_write_u16(r->pkt + r->len, (uint16_t)(0xC000 | owner_offset));
			r->len += 2;
		} else {
			int off = resp_put_name(r, owner, limit);
			if (off < 0) {
				ret = off;
				break;
			}
			/* Later RRs of the set point at the first one's owner. */
			owner_offset = (uint16_t)off;
		}
		if (r->len + 10 > limit) {
			ret = CD_ESPACE;
			break;
		}
		uint8_t *hdr = r->pkt + r->len;
		memcpy(hdr, rrset->header, 8);
		if (rrset->ttl > ttl_cap) {
			wire_write_u32(hdr + 4, ttl_cap);
		}
		r->len += 10;
		size_t rd_start = r->len;
		int name_off = -1;
		ret = put_rdata(r, rrset->type, rdata, rdlen, limit, &name_off);
		if (ret != CD_OK) {
			break;
		}
		wire_write_u16(hdr + 8, (uint16_t)(r->len - rd_start));
		if (written == 0 && target_offset != NULL && name_off >= 0) {
			*target_offset = (uint16_t)name_off;
		}
		written++;
	}
	if (ret != CD_OK) {
		r->len = saved_len;
		r->names_used = saved_names;
		return ret;
	}
	r->count[section] += written;
	return CD_OK;
}

void resp_put_opt(resp_t *r, uint16_t payload, uint8_t ext_rcode, bool do_bit)
{
	uint8_t *p = r->pkt + r->len;
	p[0] = 0;                                 /* owner: root */
	wire_write_u16(p + 1, DNS_TYPE_OPT);
	wire_write_u16(p + 3, payload);
	p[5] = ext_rcode;
	p[6] = 0;                                 /* version 0 */
	wire_write_u16(p + 7, do_bit ? 0x8000 : 0);
	wire_write_u16(p + 9, 0);                 /* no options */
	r->len += EDNS_OPT_SIZE;
	r->reserve = 0;
	r->count[SECTION_ADDITIONAL]++;
}

size_t resp_finish(resp_t *r)
{
	wire_write_u16(r->pkt + 6, r->count[SECTION_ANSWER]);
	wire_write_u16(r->pkt + 8, r->count[SECTION_AUTHORITY]);
	wire_write_u16(r->pkt + 10, r->count[SECTION_ADDITIONAL]);
	return r->len;
}
