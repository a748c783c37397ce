#pragma once
/*
 * Response rate limiting (RRL) of UDP answers, after BIND's and Knot's.
 * Every answer is charged to a token bucket keyed by the client's network
 * (IPv4 /24 and IPv6 /56 by default), the kind of answer, and what it is about:
 *
 *   positive answers and NODATA     the qname and qtype
 *   answers synthesized by a wildcard  the wildcard and qtype (random names
 *                                   below one wildcard share a bucket)
 *   NXDOMAIN                        the zone (owner of the SOA in authority)
 *   referrals                       the delegation (owner of the NS in authority)
 *   errors (REFUSED, FORMERR, ...)  nothing: one bucket per network
 *
 * A bucket holds one second's worth of the rate and refills continuously.
 * Over the rate an answer is dropped, except every slip-th one, which is sent
 * truncated (TC=1, empty sections) so that a real client retries over TCP,
 * while a spoofed victim receives nothing larger than the query.  TCP answers,
 * and queries with a valid server cookie, are never charged (the caller's
 * part).
 *
 * Each worker owns one table: fixed size, allocated at start, no lock and no
 * allocation per answer.  SO_REUSEPORT spreads a network's queries over the
 * workers by source port, so each worker's table grants rate/workers.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/query.h"

#define RRL_DEFAULT_RATE 200       /* as NSD; see doc/hosting.md */
#define RRL_DEFAULT_SLIP 2
#define RRL_DEFAULT_IPV4_PREFIX 24
#define RRL_DEFAULT_IPV6_PREFIX 56
#define RRL_RATE_MAX 1000000
#define RRL_SLIP_MAX 100
#define RRL_TABLE_BUCKETS 65536    /* per worker, 16 bytes each */

typedef struct {
	unsigned rate;          /* answers per second per network and bucket; 0: off */
	unsigned slip;          /* every slip-th limited answer is sent truncated; 0: none */
	unsigned ipv4_prefix;   /* 1-32 */
	unsigned ipv6_prefix;   /* 1-128 */
	unsigned workers;       /* tables sharing the rate (>= 1) */
} rrl_config_t;

typedef enum {
	RRL_SEND = 0,           /* within the rate: send the answer */
	RRL_DROP,               /* over the rate: send nothing */
	RRL_SLIP,               /* over the rate: send it truncated (rrl_slip) */
} rrl_action_t;

typedef struct rrl_table rrl_table_t;

/* Creates a worker's table (cfg->rate > 0) with a random hash key.  Returns 0, CD_ENOMEM or CD_EIO. */
int rrl_create(const rrl_config_t *cfg, rrl_table_t **out);

void rrl_destroy(rrl_table_t *t);

/*
 * Charges one answer to its bucket: peer the client, q its parsed query,
 * resp[0..len) the answer about to be sent, rcode its (extended) rcode,
 * wildcard the owner of the wildcard that synthesized it or NULL, now_ms a
 * monotonic clock in milliseconds.
 */
rrl_action_t rrl_charge(rrl_table_t *t, const struct sockaddr *peer, const dns_query_t *q,
                        const uint8_t *resp, size_t len, uint16_t rcode, const uint8_t *wildcard,
                        uint64_t now_ms);

/*
 * Rewrites the answer resp[0..len) in place into the slipped form: answer,
 * authority and additional sections emptied, the question and the OPT record
 * (with its cookie) kept, and TC set.  With badcookie (the query carried a
 * client cookie, and the OPT record now carries our server cookie), the rcode
 * becomes BADCOOKIE instead of setting TC: the client retries over UDP with
 * that cookie, which exempts it (RFC 7873 5.2.3, as BIND does).  Returns the
 * new length.
 */
size_t rrl_slip(uint8_t *resp, size_t len, bool badcookie);
