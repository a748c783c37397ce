#include "db/node.h"

#include <string.h>

#include "common/error.h"
#include "dns/dname.h"
#include "dns/wire.h"

#define ACL_ENTRY_SIZE 18

int zone_record_decode(const uint8_t *data, size_t len, zone_record_t *zone)
{
	if (len < 10) {
		return CD_EMALF;
	}
	if (data[0] != ZONE_RECORD_VERSION) {
		return CD_EVERSION;
	}
	zone->id = wire_read_u32(data + 1);
	zone->serial = wire_read_u32(data + 5);
	zone->apex_len = data[9];
	zone->apex = data + 10;
	size_t pos = 10 + zone->apex_len;
	if (pos + 1 > len) {
		return CD_EMALF;
	}
	if (dname_wire_length(zone->apex, zone->apex_len) != (int)zone->apex_len) {
		return CD_EMALF;
	}
	zone->acl_count = data[pos];
	zone->acl = data + pos + 1;
	if (pos + 1 + (size_t)zone->acl_count * ACL_ENTRY_SIZE > len) {
		return CD_EMALF;
	}
	return CD_OK;
}

size_t zone_record_size(size_t apex_len, unsigned acl_count)
{
	return 11 + apex_len + (size_t)acl_count * ACL_ENTRY_SIZE;
}

size_t zone_record_encode(uint8_t *buf, uint32_t id, uint32_t serial, const uint8_t *apex,
                          size_t apex_len, const zone_acl_entry_t *acl, unsigned acl_count)
{
	buf[0] = ZONE_RECORD_VERSION;
	wire_write_u32(buf + 1, id);
	wire_write_u32(buf + 5, serial);
	buf[9] = (uint8_t)apex_len;
	memcpy(buf + 10, apex, apex_len);
	size_t pos = 10 + apex_len;
	buf[pos++] = (uint8_t)acl_count;
	for (unsigned i = 0; i < acl_count; i++) {
		buf[pos++] = acl[i].family;
		buf[pos++] = acl[i].prefix_len;
		memcpy(buf + pos, acl[i].addr, 16);
		pos += 16;
	}
	return pos;
}

void zone_acl_get(const zone_record_t *zone, unsigned i, zone_acl_entry_t *entry)
{
	const uint8_t *p = zone->acl + (size_t)i * ACL_ENTRY_SIZE;
	entry->family = p[0];
	entry->prefix_len = p[1];
	memcpy(entry->addr, p + 2, 16);
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8;
	if (memcmp(a, b, bytes) != 0) {
		return false;
	}
	unsigned rest = bits % 8;
	if (rest == 0) {
		return true;
	}
	uint8_t mask = (uint8_t)(0xFF << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool zone_acl_allows(const zone_record_t *zone, int family, const uint8_t *addr)
{
	for (unsigned i = 0; i < zone->acl_count; i++) {
		zone_acl_entry_t entry;
		zone_acl_get(zone, i, &entry);
		if (entry.family == family && prefix_match(entry.addr, addr, entry.prefix_len)) {
			return true;
		}
	}
	return false;
}

int node_decode(const uint8_t *data, size_t len, node_t *node)
{
	if (len < 3) {
		return CD_EMALF;
	}
	node->flags = data[0];
	size_t owner_len = data[1];
	if (2 + owner_len > len) {
		return CD_EMALF;
	}
	node->owner = data + 2;
	if (dname_wire_length(node->owner, owner_len) != (int)owner_len) {
		return CD_EMALF;   /* a corrupt value must not send name code past its end */
	}
	node->rrsets = data + 2 + owner_len;
	node->rrsets_len = len - 2 - owner_len;
	return CD_OK;
}

bool node_next_rrset(const node_t *node, size_t *pos, rrset_t *rrset)
{
	if (*pos + RRSET_HEADER_SIZE > node->rrsets_len) {
		return false;
	}
	const uint8_t *p = node->rrsets + *pos;
	rrset->header = p;
	rrset->type = wire_read_u16(p);
	rrset->rclass = wire_read_u16(p + 2);
	rrset->ttl = wire_read_u32(p + 4);
	rrset->count = wire_read_u16(p + 8);
	rrset->rdata_len = wire_read_u16(p + 10);
	rrset->rdata = p + RRSET_HEADER_SIZE;
	if (*pos + RRSET_HEADER_SIZE + rrset->rdata_len > node->rrsets_len) {
		return false;   /* corrupt: stop rather than read past the value */
	}
	*pos += RRSET_HEADER_SIZE + rrset->rdata_len;
	return true;
}

bool node_find_rrset(const node_t *node, uint16_t type, rrset_t *rrset)
{
	size_t pos = 0;
	while (node_next_rrset(node, &pos, rrset)) {
		if (rrset->type == type) {
			return true;
		}
	}
	return false;
}

bool rrset_next_rr(const rrset_t *rrset, size_t *pos, const uint8_t **rdata, uint16_t *rdlen)
{
	if (*pos + 2 > rrset->rdata_len) {
		return false;
	}
	uint16_t len = wire_read_u16(rrset->rdata + *pos);
	if (*pos + 2 + len > rrset->rdata_len) {
		return false;
	}
	*rdata = rrset->rdata + *pos + 2;
	*rdlen = len;
	*pos += 2 + (size_t)len;
	return true;
}

void node_writer_begin(node_writer_t *w, uint8_t *buf, uint8_t flags, const uint8_t *owner,
                       size_t owner_len)
{
	w->buf = buf;
	buf[0] = flags;
	buf[1] = (uint8_t)owner_len;
	memcpy(buf + 2, owner, owner_len);
	w->len = 2 + owner_len;
	w->rrset_start = 0;
	w->rrset_count = 0;
}

void node_writer_rrset_begin(node_writer_t *w, uint16_t type, uint16_t rclass, uint32_t ttl)
{
	uint8_t *h = w->buf + w->len;
	wire_write_u16(h, type);
	wire_write_u16(h + 2, rclass);
	wire_write_u32(h + 4, ttl);
	w->rrset_start = w->len;
	w->rrset_count = 0;
	w->len += RRSET_HEADER_SIZE;
}

void node_writer_rrset_ttl(node_writer_t *w, uint32_t ttl)
{
	wire_write_u32(w->buf + w->rrset_start + 4, ttl);
}

void node_writer_rr(node_writer_t *w, const uint8_t *rdata, uint16_t rdlen)
{
	wire_write_u16(w->buf + w->len, rdlen);
	memcpy(w->buf + w->len + 2, rdata, rdlen);
	w->len += 2 + (size_t)rdlen;
	w->rrset_count++;
}

bool node_writer_rrset_end(node_writer_t *w)
{
	size_t len = w->len - w->rrset_start - RRSET_HEADER_SIZE;
	uint8_t *h = w->buf + w->rrset_start;
	wire_write_u16(h + 8, w->rrset_count);
	if (len > 65535) {
		wire_write_u16(h + 8, 0);
		wire_write_u16(h + 10, 0);
		w->len = w->rrset_start + RRSET_HEADER_SIZE;
		return false;
	}
	wire_write_u16(h + 10, (uint16_t)len);
	return true;
}

int soa_rdata_serial_offset(const uint8_t *rdata, size_t rdlen)
{
	int m = dname_wire_length(rdata, rdlen);
	if (m < 0) {
		return CD_EMALF;
	}
	int n = dname_wire_length(rdata + m, rdlen - (size_t)m);
	if (n < 0 || (size_t)(m + n) + 20 != rdlen) {
		return CD_EMALF;
	}
	return m + n;
}

int soa_rdata_serial(const uint8_t *rdata, size_t rdlen, uint32_t *serial)
{
	int off = soa_rdata_serial_offset(rdata, rdlen);
	if (off < 0) {
		return off;
	}
	*serial = wire_read_u32(rdata + off);
	return CD_OK;
}
