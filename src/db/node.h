#pragma once
/*
 * Stored formats of zone records and name nodes, and their decoding.
 *
 * Node value (names database), all integers big-endian:
 *   u8  flags            NODE_DELEG, NODE_OCCLUDED
 *   u8  owner length L
 *   L   owner name, uncompressed wire format
 *   then RRsets, ordered by type, each:
 *     u16 type, u16 class, u32 ttl    -- exactly the wire layout after an owner
 *     u16 rr count, u16 byte length N of what follows
 *     N   count x (u16 rdlength, rdata) -- exactly the wire layout of the RR tail
 * so the answer builder copies an RR as: owner pointer, 8 header bytes, rdata.
 *
 * Zone record (zones database):
 *   u8  version (1)
 *   u32 zone id, u32 serial
 *   u8  apex length L, L bytes apex name
 *   u8  transfer ACL entry count, each: u8 family (4|6), u8 prefix length, 16 bytes address
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_DELEG     0x01   /* has NS and is not the apex: a zone cut */
#define NODE_OCCLUDED  0x02   /* strictly below a zone cut: only glue lives here */

#define RRSET_HEADER_SIZE 12
#define ZONE_RECORD_VERSION 1
#define ZONE_ACL_MAX 32

typedef struct {
	uint8_t family;      /* 4 or 6 */
	uint8_t prefix_len;
	uint8_t addr[16];
} zone_acl_entry_t;

typedef struct {
	uint32_t id;
	uint32_t serial;
	const uint8_t *apex;       /* wire name */
	size_t apex_len;
	unsigned acl_count;
	const uint8_t *acl;        /* acl_count x 18 bytes, decode with zone_acl_get() */
} zone_record_t;

typedef struct {
	uint8_t flags;
	const uint8_t *owner;      /* wire name */
	const uint8_t *rrsets;     /* first RRset */
	size_t rrsets_len;
} node_t;

typedef struct {
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t count;
	const uint8_t *header;     /* the 8 bytes type|class|ttl */
	const uint8_t *rdata;      /* count x (u16 rdlength, rdata) */
	size_t rdata_len;
} rrset_t;

/* Decodes a zone record.  Returns 0, CD_EVERSION or CD_EMALF. */
int zone_record_decode(const uint8_t *data, size_t len, zone_record_t *zone);

/* Encodes a zone record into buf (at least zone_record_size bytes).  Returns the length. */
size_t zone_record_encode(uint8_t *buf, uint32_t id, uint32_t serial, const uint8_t *apex,
                          size_t apex_len, const zone_acl_entry_t *acl, unsigned acl_count);
size_t zone_record_size(size_t apex_len, unsigned acl_count);

/* Reads ACL entry i of a decoded zone record. */
void zone_acl_get(const zone_record_t *zone, unsigned i, zone_acl_entry_t *entry);

/* True when the address (4 or 16 bytes per family) matches some ACL entry. */
bool zone_acl_allows(const zone_record_t *zone, int family, const uint8_t *addr);

/* Decodes a node value.  Returns 0 or CD_EMALF. */
int node_decode(const uint8_t *data, size_t len, node_t *node);

/*
 * Iterates the RRsets of a node: *pos starts at 0.  Returns true and fills
 * rrset while there is one more.
 */
bool node_next_rrset(const node_t *node, size_t *pos, rrset_t *rrset);

/* Finds the RRset of one type.  Returns true when present. */
bool node_find_rrset(const node_t *node, uint16_t type, rrset_t *rrset);

/* True when the node holds no RRset at all. */
static inline bool node_is_empty(const node_t *node)
{
	return node->rrsets_len == 0;
}

/*
 * Iterates the RRs of an RRset: *pos starts at 0.  Returns true and sets rdata
 * (without its length prefix) and rdlen while there is one more.
 */
bool rrset_next_rr(const rrset_t *rrset, size_t *pos, const uint8_t **rdata, uint16_t *rdlen);

/*
 * Encoding a node value, RRset by RRset.  The caller provides a buffer large
 * enough: node_value_bound() of what it will write.  RRsets must be written in
 * ascending type order, each RR's rdata uncompressed.
 */
typedef struct {
	uint8_t *buf;
	size_t len;
	size_t rrset_start;   /* header offset of the open RRset */
	uint16_t rrset_count;
} node_writer_t;

void node_writer_begin(node_writer_t *w, uint8_t *buf, uint8_t flags, const uint8_t *owner,
                       size_t owner_len);
void node_writer_rrset_begin(node_writer_t *w, uint16_t type, uint16_t rclass, uint32_t ttl);
void node_writer_rr(node_writer_t *w, const uint8_t *rdata, uint16_t rdlen);
/* Closes the RRset.  Returns false when it exceeds 65535 bytes of rdata (then it is unusable). */
bool node_writer_rrset_end(node_writer_t *w);
/* Lowers the TTL of the open RRset. */
void node_writer_rrset_ttl(node_writer_t *w, uint32_t ttl);
static inline size_t node_writer_len(const node_writer_t *w)
{
	return w->len;
}

/* Reads the SERIAL field of SOA rdata.  Returns 0 or CD_EMALF. */
int soa_rdata_serial(const uint8_t *rdata, size_t rdlen, uint32_t *serial);
/* Offset of the SERIAL field in SOA rdata, or CD_EMALF. */
int soa_rdata_serial_offset(const uint8_t *rdata, size_t rdlen);
