#pragma once
/*
 * Outgoing zone transfers (AXFR, RFC 5936) over TCP.  The transfer keeps its
 * own LMDB read transaction, so it streams one consistent version of the zone
 * however long the client takes, while writers and queries carry on.  IXFR
 * requests are answered with the full zone, which RFC 1995 section 4 allows.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "db/db.h"
#include "dns/query.h"

typedef struct xfr_out xfr_out_t;

/*
 * Checks a transfer request from peer.  On success returns 0 and *out; else
 * returns the rcode to answer with: NOTAUTH (not a zone apex of ours),
 * REFUSED (peer not in the zone's transfer ACL), SERVFAIL (database error).
 */
int xfr_out_begin(db_t *db, const struct sockaddr *peer, const uint8_t *pkt,
                  const dns_query_t *q, xfr_out_t **out);

/*
 * Builds the next message into buf (room for 65535 bytes).  Returns its
 * length; *last is set on the final message.  Returns 0 on a database error
 * (the connection should be closed).
 */
size_t xfr_out_next(xfr_out_t *x, uint8_t *buf, bool *last);

/* Number of RRs sent so far, and the zone's serial, for the log. */
size_t xfr_out_rr_count(const xfr_out_t *x);
uint32_t xfr_out_serial(const xfr_out_t *x);

void xfr_out_free(xfr_out_t *x);
