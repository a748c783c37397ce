#pragma once
/*
 * Parsing a DNS query in place: header, the one question, and the EDNS OPT
 * record (RFC 6891).  Nothing is copied or allocated; qname points into the
 * packet.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDNS_OPTION_COOKIE 10
#define COOKIE_CLIENT_SIZE 8
/* Room a COOKIE option takes in our answers: option code and length, the
 * client cookie and our 16-byte server cookie (RFC 9018).  Answers to a query
 * with a cookie keep it free (response.c), so the option fits under the limit. */
#define EDNS_COOKIE_ANSWER_SIZE (4 + COOKIE_CLIENT_SIZE + 16)

typedef enum {
	QUERY_OK = 0,        /* answer it */
	QUERY_ERROR,         /* answer with q->rcode (FORMERR, NOTIMP, BADVERS; NOERROR to a
	                        query with no question but a COOKIE, RFC 7873 5.4) */
	QUERY_DROP,          /* do not answer: no header, or a response packet */
} query_verdict_t;

typedef struct {
	uint16_t id;
	uint16_t flags;           /* the second header word as received */
	uint8_t opcode;
	bool has_question;        /* qname/qtype/qclass are valid */
	const uint8_t *qname;     /* uncompressed wire name inside the packet */
	size_t qname_len;
	uint16_t qtype;
	uint16_t qclass;
	size_t question_len;      /* bytes of the question section, for echoing */
	bool has_edns;
	uint16_t edns_payload;    /* requestor's UDP payload size, at least 512 */
	uint8_t edns_version;
	bool edns_do;
	uint16_t rcode;           /* with QUERY_ERROR: the (possibly extended) rcode */
	const uint8_t *tsig;      /* start of a TSIG RR in the additional section, or NULL */
	const uint8_t *cookie;    /* data of the EDNS COOKIE option (RFC 7873), or NULL */
	uint8_t cookie_len;       /* 8 (client cookie only) or 16-40 (with a server cookie) */
} dns_query_t;

/* Parses pkt[0..len).  Fills q as far as it could parse; see query_verdict_t. */
query_verdict_t query_parse(const uint8_t *pkt, size_t len, dns_query_t *q);
