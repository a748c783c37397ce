#pragma once
/*
 * The authoritative answer algorithm (RFC 1034 4.3.2, RFC 2181, RFC 2308,
 * RFC 4592, RFC 6604, RFC 6891, RFC 8482) over the LMDB store.  It reads
 * through a db_reader_t whose snapshot the caller has renewed, writes into a
 * caller-owned buffer, and allocates nothing.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/reader.h"
#include "dns/query.h"

#define ANSWER_DEFAULT_UDP_PAYLOAD 1232   /* what we advertise and cap UDP answers at */
#define ANSWER_CNAME_CHAIN_MAX 12

/* What response rate limiting needs to know about an answer beyond its bytes. */
typedef struct {
	const uint8_t *wildcard;   /* owner of the wildcard that synthesized the answer, or NULL;
	                              valid until the reader's snapshot is reset */
} answer_info_t;

typedef struct {
	bool tcp;                /* TCP: no size cap but 65535, ANY answered in full */
	uint16_t udp_payload;    /* our maximum UDP response (>= 512) */
	answer_info_t *info;     /* when not NULL, filled in by every answer_query */
} answer_opts_t;

/*
 * Answers a parsed query (verdict from query_parse) in out[0..cap), cap >= 65535
 * for TCP and >= udp_payload for UDP.  Returns the response length (0: send
 * nothing) and sets *rcode to the (extended) rcode answered, for statistics.
 */
size_t answer_query(db_reader_t *reader, const uint8_t *pkt, const dns_query_t *q,
                    query_verdict_t verdict, uint8_t *out, size_t cap,
                    const answer_opts_t *opts, uint16_t *rcode);
