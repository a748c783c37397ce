#pragma once
/*
 * Building a response in a caller-owned buffer: header, echoed question,
 * RRsets copied from their stored wire form with name compression (RFC 1035
 * 4.1.4), EDNS OPT, and truncation at RRset boundaries.  No allocation.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/node.h"
#include "dns/query.h"

#define RESP_COMPRESS_MAX 64
#define EDNS_OPT_SIZE 11

typedef enum { SECTION_ANSWER = 0, SECTION_AUTHORITY = 1, SECTION_ADDITIONAL = 2 } section_t;

typedef struct {
	uint16_t offset;   /* where a name (suffix) starts in the packet */
	uint8_t labels;    /* its label count */
} resp_name_t;

typedef struct {
	uint8_t *pkt;
	size_t limit;          /* the response may not exceed this (UDP size or 65535) */
	size_t len;
	size_t reserve;        /* kept free for the OPT record */
	uint16_t count[3];
	unsigned names_used;
	resp_name_t names[RESP_COMPRESS_MAX];
	bool tc;
} resp_t;

/*
 * Starts a response to q in buf (capacity cap >= 512): header with the query's
 * id, opcode, RD and CD, QR set, and the question echoed byte for byte.
 * limit is the largest size the response may have.
 */
void resp_init(resp_t *r, uint8_t *buf, size_t limit, const uint8_t *query, const dns_query_t *q);

/* Offset of the echoed qname, usable as a compression target (always 12). */
#define RESP_QNAME_OFFSET 12

void resp_set_rcode(resp_t *r, uint16_t rcode);
void resp_set_flag(resp_t *r, uint16_t flag, bool on);

/*
 * Appends the RRs of rrset to a section.  The owner is written as a pointer to
 * owner_offset when that is non-zero and reachable (< 0x4000), else by
 * compressing owner (wire name), which must then name the same owner.
 * ttl_cap lowers the TTL when smaller (UINT32_MAX: none).  Names in the rdata
 * of RFC 1035 types are compressed too.  When the RRset does not fit, nothing
 * is written and CD_ESPACE is returned.
 * *target_offset (may be NULL) receives the offset of the first RR's rdata
 * name for single-name types (CNAME, NS, PTR) or of MX's exchange.
 */
int resp_put_rrset(resp_t *r, section_t section, const uint8_t *owner, uint16_t owner_offset,
                   const rrset_t *rrset, uint32_t ttl_cap, uint16_t *target_offset);

/* Appends the OPT record (RFC 6891) using the reserved room. */
void resp_put_opt(resp_t *r, uint16_t payload, uint8_t ext_rcode, bool do_bit);

/* Writes the section counts.  Returns the response length. */
size_t resp_finish(resp_t *r);

/*
 * Writes a wire name at the end with compression.  Returns an offset where the
 * whole name can be pointed at (where it was written, or the earlier copy it
 * points to), or CD_ESPACE.
 */
int resp_put_name(resp_t *r, const uint8_t *name, size_t limit);
