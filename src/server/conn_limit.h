#pragma once
/*
 * TCP connections per source, counted across all workers: a source (an IPv4
 * address, or an IPv6 /64, which one host may hold entirely) may keep at most
 * N connections open at once.  RFC 7766 6.2.2 allows such a cap and asks that
 * it be loose, since one address may be many clients behind a NAT.
 *
 * One table shared by the workers, sized at start for every connection the
 * server can hold; a mutex guards it for the few instructions of an accept or
 * a close.  Nothing here runs per query.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define CONN_LIMIT_DEFAULT_PER_SOURCE 32

typedef struct conn_limit conn_limit_t;

/*
 * Creates the table for per_source (>= 1) connections per source and up to
 * max_conns connections in all.  Returns 0, CD_ENOMEM or CD_EIO (no random
 * hash key).
 */
int conn_limit_create(unsigned per_source, size_t max_conns, conn_limit_t **out);

void conn_limit_destroy(conn_limit_t *l);

/*
 * Counts a new connection from peer.  Returns false, counting nothing, when
 * its source already holds per_source connections.  Thread-safe.
 */
bool conn_limit_acquire(conn_limit_t *l, const struct sockaddr *peer);

/* Uncounts a connection that conn_limit_acquire counted.  Thread-safe. */
void conn_limit_release(conn_limit_t *l, const struct sockaddr *peer);
