#pragma once
/*
 * Receiving NOTIFY (RFC 1996) for zones this daemon follows as a secondary.
 * Accepted from the zone's primary address, or signed with the primary's
 * TSIG key (required when one is configured); the answer mirrors the
 * request (signed when it was).  Called on a worker thread; reads the zone
 * configuration in its own short read transaction.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "db/db.h"
#include "dns/query.h"

/*
 * Builds the answer to a NOTIFY into out (cap >= 512).  Returns its length,
 * sets *rcode, and sets *accepted when the primary's zone should be checked now.
 */
size_t notify_in_answer(db_t *db, const struct sockaddr *peer, const uint8_t *pkt, size_t len,
                        const dns_query_t *q, uint8_t *out, size_t cap, uint16_t *rcode,
                        bool *accepted);
