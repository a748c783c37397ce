#pragma once
/*
 * Outgoing zone transfers over TCP: AXFR (RFC 5936) and IXFR (RFC 1995) from
 * the journal, falling back to a full transfer when the journal does not
 * reach back to the client's serial.  A transfer keeps its own LMDB read
 * transaction, so it streams one consistent version of the zone however long
 * the client takes, while writers and queries carry on.
 *
 * Who may transfer: an address in the zone's transfer ACL; a configured
 * secondary's address when that secondary has no TSIG key; or a request
 * signed (RFC 8945) with the TSIG key of one of the zone's secondaries.  A
 * signed request's answer is signed, every message of it.
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
 * returns the rcode to answer with: NOTAUTH (not a zone apex of ours, or a
 * TSIG that does not verify: *tsig_error then says why), REFUSED (not
 * allowed), SERVFAIL.
 */
int xfr_out_begin(db_t *db, const struct sockaddr *peer, const uint8_t *pkt, size_t len,
                  const dns_query_t *q, xfr_out_t **out, uint16_t *tsig_error);

/*
 * Builds the next message into buf (room for 65535 bytes).  Returns its
 * length; *last is set on the final message.  Returns 0 on failure (the
 * connection should be closed).
 */
size_t xfr_out_next(xfr_out_t *x, uint8_t *buf, bool *last);

/* For the log line at the end of a transfer. */
void xfr_out_describe(const xfr_out_t *x, char *buf, size_t len);

void xfr_out_free(xfr_out_t *x);
